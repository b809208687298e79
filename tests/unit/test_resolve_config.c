/* Unit tests: efs-fuse.conf parsing and precedence (include/resolve/config.h, ini.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "resolve/config.h"
#include "resolve/ini.h"

static char tmpdir[] = "/tmp/test_resolve_config.XXXXXX";
static char err[512];

static const char *const env_vars[] = {
	"AWS_REGION",
	"AWS_DEFAULT_REGION",
	"AWS_EC2_METADATA_DISABLED",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT",
	"AWS_ENDPOINT_URL_EFS",
	"EFS_FUSE_CONFIG",
	"XDG_CONFIG_HOME",
};

static int clean_env(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);
	return 0;
}

/* Write text to tmpdir/name and point EFS_FUSE_CONFIG at it. */
static void use_config(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	setenv("EFS_FUSE_CONFIG", path, 1);
}

static int load(struct resolve_config *cfg, const char *region, const char *dnsserver)
{
	struct resolve_cmdline cl = {.region = region, .dnsserver = dnsserver};

	err[0] = '\0';
	return resolve_config_load(cfg, &cl, err, sizeof(err));
}

static void test_defaults(void **state)
{
	struct resolve_config cfg;

	use_config("empty.conf", "# nothing\n");
	assert_int_equal(load(&cfg, NULL, NULL), 0);
	assert_string_equal(cfg.region, "");
	assert_int_equal(cfg.region_from, RCFG_DEFAULT);
	assert_string_equal(cfg.dns_name_format, "{az}.{fs_id}.efs.{region}.{dns_name_suffix}");
	assert_string_equal(cfg.dns_name_suffix, "amazonaws.com");
	assert_true(cfg.fallback_enabled);
	assert_true(cfg.imds_enabled);
	assert_string_equal(cfg.imds_endpoint, "http://169.254.169.254");
	assert_string_equal(cfg.efs_api_endpoint,
			    "https://elasticfilesystem.{region}.{dns_name_suffix}");
	assert_int_equal(cfg.dns_timeout_ms, 5000);
	assert_string_equal(cfg.dnsserver, "");
}

static const char full_conf[] =
	"# efs-fuse test config\n"
	"[mount]\n"
	"region = us-east-1\n"
	"dns_name_suffix = example.test\n"
	"  ; indented comment\n"
	"fall_back_to_mount_target_ip_address_enabled = false\n"
	"imds_enabled = yes\n"
	"imds_endpoint = http://127.0.0.1:9\n"
	"dns_timeout_ms = 1500\n"
	"dnsserver = 127.0.0.1:5353\n"
	"\n"
	"[mount.cn-north-1]\n"
	"dns_name_suffix = amazonaws.com.cn\n"
	"dnsserver = 10.0.0.2\n"
	"\n"
	"[mount.us-gov-west-1]\n"
	"fall_back_to_mount_target_ip_address_enabled = true\n"
	"efs_api_endpoint = https://elasticfilesystem-fips.{region}.{dns_name_suffix}\n"
	"\n"
	"[other-module]\n"
	"whatever = 1\n";

static void test_mount_section(void **state)
{
	struct resolve_config cfg;

	use_config("full.conf", full_conf);
	assert_int_equal(load(&cfg, NULL, NULL), 0);
	assert_string_equal(cfg.region, "us-east-1");
	assert_int_equal(cfg.region_from, RCFG_MOUNT);
	assert_string_equal(cfg.dns_name_suffix, "example.test");
	assert_false(cfg.fallback_enabled);
	assert_true(cfg.imds_enabled);
	assert_string_equal(cfg.imds_endpoint, "http://127.0.0.1:9");
	assert_int_equal(cfg.dns_timeout_ms, 1500);
	assert_string_equal(cfg.dnsserver, "127.0.0.1:5353");
	assert_int_equal(cfg.dnsserver_from, RCFG_MOUNT);
}

static void test_region_section_suffix(void **state)
{
	struct resolve_config cfg;

	use_config("full.conf", full_conf);
	/* China: the per-region suffix wins over [mount] */
	assert_int_equal(load(&cfg, "cn-north-1", NULL), 0);
	assert_string_equal(cfg.region, "cn-north-1");
	assert_int_equal(cfg.region_from, RCFG_CMDLINE);
	assert_string_equal(cfg.dns_name_suffix, "amazonaws.com.cn");
	assert_string_equal(cfg.dnsserver, "10.0.0.2");
	assert_int_equal(cfg.dnsserver_from, RCFG_REGION);
	/* keys the region section does not set come from [mount] */
	assert_false(cfg.fallback_enabled);
	assert_int_equal(cfg.dns_timeout_ms, 1500);

	/* GovCloud: another section, another override */
	assert_int_equal(load(&cfg, "us-gov-west-1", NULL), 0);
	assert_string_equal(cfg.dns_name_suffix, "example.test");
	assert_true(cfg.fallback_enabled);
	assert_string_equal(cfg.efs_api_endpoint,
			    "https://elasticfilesystem-fips.{region}.{dns_name_suffix}");

	/* a region without a section: [mount] only */
	assert_int_equal(load(&cfg, "eu-west-1", NULL), 0);
	assert_string_equal(cfg.dns_name_suffix, "example.test");
	assert_string_equal(cfg.dnsserver, "127.0.0.1:5353");
}

static void test_region_precedence(void **state)
{
	struct resolve_config cfg;

	use_config("full.conf", full_conf);
	setenv("AWS_DEFAULT_REGION", "eu-west-2", 1);
	assert_int_equal(load(&cfg, NULL, NULL), 0);
	assert_string_equal(cfg.region, "eu-west-2");
	assert_int_equal(cfg.region_from, RCFG_ENV);

	setenv("AWS_REGION", "cn-north-1", 1);
	assert_int_equal(load(&cfg, NULL, NULL), 0);
	assert_string_equal(cfg.region, "cn-north-1");
	/* the region from the environment selects [mount.cn-north-1] */
	assert_string_equal(cfg.dns_name_suffix, "amazonaws.com.cn");

	assert_int_equal(load(&cfg, "ap-south-1", NULL), 0);
	assert_string_equal(cfg.region, "ap-south-1");
	assert_int_equal(cfg.region_from, RCFG_CMDLINE);
	assert_string_equal(cfg.dns_name_suffix, "example.test");

	/* an empty variable does not count */
	setenv("AWS_REGION", "", 1);
	unsetenv("AWS_DEFAULT_REGION");
	assert_int_equal(load(&cfg, NULL, NULL), 0);
	assert_string_equal(cfg.region, "us-east-1");
	assert_int_equal(cfg.region_from, RCFG_MOUNT);

	/* a bad region name is refused, whoever gave it */
	assert_int_equal(load(&cfg, "US_EAST_1", NULL), -EINVAL);
	assert_non_null(strstr(err, "-o region"));
	assert_non_null(strstr(err, "US_EAST_1"));
}

static void test_env_and_cmdline_beat_files(void **state)
{
	struct resolve_config cfg;

	use_config("full.conf", full_conf);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1234", 1);
	setenv("AWS_ENDPOINT_URL_EFS", "http://127.0.0.1:4321", 1);
	assert_int_equal(load(&cfg, NULL, "127.0.0.9"), 0);
	assert_false(cfg.imds_enabled);
	assert_string_equal(cfg.imds_endpoint, "http://127.0.0.1:1234");
	assert_string_equal(cfg.efs_api_endpoint, "http://127.0.0.1:4321");
	assert_string_equal(cfg.dnsserver, "127.0.0.9");
	assert_int_equal(cfg.dnsserver_from, RCFG_CMDLINE);
	/* also over a region section */
	assert_int_equal(load(&cfg, "cn-north-1", "127.0.0.9:53"), 0);
	assert_string_equal(cfg.dnsserver, "127.0.0.9:53");

	setenv("AWS_EC2_METADATA_DISABLED", "maybe", 1);
	assert_int_equal(load(&cfg, NULL, NULL), -EINVAL);
	assert_non_null(strstr(err, "AWS_EC2_METADATA_DISABLED"));
}

static void test_apply_region(void **state)
{
	struct resolve_cmdline cl = {0};
	struct resolve_config cfg;
	struct ini ini;

	static const char text[] = "[mount]\ndns_name_suffix = a.test\n"
				   "[mount.cn-northwest-1]\ndns_name_suffix = amazonaws.com.cn\n";

	ini_init(&ini);
	assert_int_equal(ini_parse(&ini, text, strlen(text), "mem", err, sizeof(err)), 0);
	assert_int_equal(resolve_config_build(&cfg, &ini, &cl, err, sizeof(err)), 0);
	assert_string_equal(cfg.region, "");
	assert_string_equal(cfg.dns_name_suffix, "a.test");
	assert_int_equal(resolve_config_apply_region(&cfg, &ini, &cl, "cn-northwest-1", RCFG_IMDS,
						     err, sizeof(err)),
			 0);
	assert_string_equal(cfg.region, "cn-northwest-1");
	assert_int_equal(cfg.region_from, RCFG_IMDS);
	assert_string_equal(cfg.dns_name_suffix, "amazonaws.com.cn");
	assert_int_equal(
		resolve_config_apply_region(&cfg, &ini, &cl, "x y", RCFG_IMDS, err, sizeof(err)),
		-EINVAL);
}

static void expect_error(const char *text, int rc, const char *needle1, const char *needle2)
{
	struct resolve_config cfg;

	use_config("bad.conf", text);
	assert_int_equal(load(&cfg, NULL, NULL), rc);
	if (needle1 && !strstr(err, needle1))
		fail_msg("\"%s\" not in \"%s\"", needle1, err);
	if (needle2 && !strstr(err, needle2))
		fail_msg("\"%s\" not in \"%s\"", needle2, err);
}

static void test_errors(void **state)
{
	/* an unknown key is a warning (efs-utils.conf must work as is), not an error */
	expect_error("[mount]\ndns_name_sufix = x\n", 0, NULL, NULL);
	expect_error("[mount]\nimds_enabled = perhaps\n", -EINVAL, "bad.conf:2", "true or false");
	expect_error("[mount]\n\n\ndns_timeout_ms = 5s\n", -EINVAL, "bad.conf:4", "milliseconds");
	expect_error("[mount]\ndns_timeout_ms = 1\n", -EINVAL, "dns_timeout_ms", NULL);
	expect_error("[mount.us-east-1]\nregion = us-west-2\n", -EINVAL, "belongs in [mount]",
		     NULL);
	expect_error("[mount.US East]\ndnsserver = 1.2.3.4\n", -EINVAL, "[mount.REGION]", NULL);
	expect_error("[mount]\nimds_endpoint = 169.254.169.254\n", -EINVAL, "http://", NULL);
	expect_error("[mount\nregion = us-east-1\n", -EINVAL, "bad.conf:1", "section");
	expect_error("[mount]\njust words\n", -EINVAL, "bad.conf:2", "key = value");

	/* EFS_FUSE_CONFIG names a file that must exist */
	{
		struct resolve_config cfg;

		setenv("EFS_FUSE_CONFIG", "/nonexistent/efs-fuse.conf", 1);
		assert_int_equal(load(&cfg, NULL, NULL), -ENOENT);
		assert_non_null(strstr(err, "/nonexistent/efs-fuse.conf"));
	}
}

static void test_user_file(void **state)
{
	struct resolve_config cfg;
	char dir[300], path[400];
	FILE *f;

	/* No EFS_FUSE_CONFIG: the per-user file under XDG_CONFIG_HOME is read. */
	snprintf(dir, sizeof(dir), "%s/xdg/efs-fuse", tmpdir);
	snprintf(path, sizeof(path), "%s/xdg", tmpdir);
	assert_int_equal(mkdir(path, 0700) == 0 || errno == EEXIST, 1);
	assert_int_equal(mkdir(dir, 0700) == 0 || errno == EEXIST, 1);
	snprintf(path, sizeof(path), "%s/efs-fuse.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[mount]\nregion = sa-east-1\n", f);
	fclose(f);
	snprintf(dir, sizeof(dir), "%s/xdg", tmpdir);
	setenv("XDG_CONFIG_HOME", dir, 1);
	if (access(RESOLVE_SYSTEM_CONFIG, F_OK) == 0)
		skip(); /* a system file on this host could set other things */
	assert_int_equal(load(&cfg, NULL, NULL), 0);
	assert_string_equal(cfg.region, "sa-east-1");
	assert_non_null(strstr(cfg.files, "xdg/efs-fuse/efs-fuse.conf"));
	unlink(path);
}

static void test_ini_layering(void **state)
{
	static const char sys[] = "[mount]\nregion = us-east-1\ndns_timeout_ms = 100\n";
	static const char usr[] = "[mount]\nREGION = eu-west-1\n";
	struct ini ini;

	ini_init(&ini);
	assert_int_equal(ini_parse(&ini, sys, strlen(sys), "sys", err, sizeof(err)), 0);
	assert_int_equal(ini_parse(&ini, usr, strlen(usr), "usr", err, sizeof(err)), 0);
	/* later file wins per key, keys are case-insensitive */
	assert_string_equal(ini_get(&ini, "mount", "region"), "eu-west-1");
	assert_string_equal(ini_get(&ini, "mount", "dns_timeout_ms"), "100");
	assert_null(ini_get(&ini, "mount", "dnsserver"));
	assert_null(ini_get(&ini, "Mount", "region")); /* sections are exact */
}

static void test_ini_aws_style(void **state)
{
	static const char text[] = "[default]\r\n"
				   "region=us-east-1\r\n"
				   "s3 =\n"
				   "    max_concurrent_requests = 20\n"
				   "    signature_version = s3v4\n"
				   "output: json\n"
				   "[profile dev]\n"
				   "aws_access_key_id = AKID\n";
	struct ini ini;
	char big[2100];

	ini_init(&ini);
	assert_int_equal(ini_parse(&ini, text, strlen(text), "cfg", err, sizeof(err)), 0);
	assert_string_equal(ini_get(&ini, "default", "region"), "us-east-1");
	assert_string_equal(ini_get(&ini, "default", "s3"), "");
	assert_null(ini_get(&ini, "default", "max_concurrent_requests"));
	assert_string_equal(ini_get(&ini, "default", "output"), "json");
	assert_string_equal(ini_get(&ini, "profile dev", "aws_access_key_id"), "AKID");
	assert_true(ini_has_section(&ini, "profile dev"));
	assert_false(ini_has_section(&ini, "profile prod"));

	/* a line longer than the cap is an error, not a truncation */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ini_init(&ini);
	assert_int_equal(ini_parse(&ini, big, strlen(big), "big", err, sizeof(err)), -E2BIG);
	/* NUL in the text */
	ini_init(&ini);
	assert_int_equal(ini_parse(&ini, "[a]\nk=v\0x\n", 10, "nul", err, sizeof(err)), -EINVAL);
}

static void test_ini_entry_cap(void **state)
{
	struct ini *ini = malloc(sizeof(*ini));
	char text[INI_MAX_ENTRIES * 16 + 64];
	size_t off = 0;
	int i;

	assert_non_null(ini);
	off += (size_t)snprintf(text + off, sizeof(text) - off, "[s]\n");
	for (i = 0; i < INI_MAX_ENTRIES + 1; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "k%d = v\n", i);
	ini_init(ini);
	assert_int_equal(ini_parse(ini, text, off, "many", err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "too many"));
	free(ini);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, clean_env),
		cmocka_unit_test_setup(test_mount_section, clean_env),
		cmocka_unit_test_setup(test_region_section_suffix, clean_env),
		cmocka_unit_test_setup(test_region_precedence, clean_env),
		cmocka_unit_test_setup(test_env_and_cmdline_beat_files, clean_env),
		cmocka_unit_test_setup(test_apply_region, clean_env),
		cmocka_unit_test_setup(test_errors, clean_env),
		cmocka_unit_test_setup(test_user_file, clean_env),
		cmocka_unit_test(test_ini_layering),
		cmocka_unit_test(test_ini_aws_style),
		cmocka_unit_test(test_ini_entry_cap),
	};
	int rc;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return rc;
}
