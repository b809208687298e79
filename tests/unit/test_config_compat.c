/*
 * test_config_compat.c - efs-utils compatibility of the configuration
 * (src/resolve/config.c): an efs-utils.conf read as is, stunnel_cafile as
 * cafile, unknown keys a warning, an unreadable per-user file skipped, and
 * efs-fuse.conf(5) naming every key the code knows.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolve/config.h"

static char path[64];
static char err[512];

/* An efs-utils.conf of the shape efs-utils ships (keys and sections). */
static const char efs_utils_conf[] =
	"# efs-utils configuration\n"
	"[DEFAULT]\n"
	"logging_level = INFO\n"
	"logging_max_bytes = 1048576\n"
	"logging_file_count = 10\n"
	"state_file_dir_mode = 750\n"
	"\n"
	"[mount]\n"
	"dns_name_format = {az}.{fs_id}.efs.{region}.{dns_name_suffix}\n"
	"dns_name_suffix = amazonaws.com\n"
	"#region = us-east-1\n"
	"stunnel_debug_enabled = false\n"
	"#stunnel_logs_file = /var/log/amazon/efs/{fs_id}.stunnel.log\n"
	"stunnel_cafile = /etc/amazon/efs/efs-utils.crt\n"
	"stunnel_check_cert_hostname = true\n"
	"stunnel_check_cert_validity = false\n"
	"port_range_lower_bound = 20049\n"
	"port_range_upper_bound = 20449\n"
	"optimize_readahead = true\n"
	"fall_back_to_mount_target_ip_address_enabled = true\n"
	"disable_fetch_ec2_metadata_token = false\n"
	"\n"
	"[mount.cn-north-1]\n"
	"dns_name_suffix = amazonaws.com.cn\n"
	"\n"
	"[mount.us-iso-east-1]\n"
	"dns_name_suffix = c2s.ic.gov\n"
	"stunnel_cafile = /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem\n"
	"\n"
	"[mount-watchdog]\n"
	"enabled = true\n"
	"poll_interval_sec = 1\n"
	"\n"
	"[cloudwatch-log]\n"
	"log_group_name = /aws/efs/utils\n"
	"retention_in_days = 14\n";

static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	setenv("EFS_FUSE_CONFIG", path, 1);
}

static int setup(void **state)
{
	int fd;

	strcpy(path, "/tmp/efs-conf-compat-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	unsetenv("XDG_CONFIG_HOME");
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	unsetenv("EFS_FUSE_CONFIG");
	return 0;
}

static int load(struct resolve_config *cfg, const char *region)
{
	struct resolve_cmdline cl = {.region = region};

	err[0] = '\0';
	return resolve_config_load(cfg, &cl, err, sizeof(err));
}

static void test_efs_utils_conf_as_is(void **state)
{
	struct resolve_config cfg;
	char ca[256];

	write_conf(efs_utils_conf);
	if (load(&cfg, NULL) != 0)
		fail_msg("efs-utils.conf refused: %s", err);
	assert_string_equal(cfg.dns_name_format, "{az}.{fs_id}.efs.{region}.{dns_name_suffix}");
	assert_string_equal(cfg.dns_name_suffix, "amazonaws.com");
	assert_true(cfg.fallback_enabled);
	/* stunnel_cafile is cafile */
	assert_string_equal(cfg.cafile, "/etc/amazon/efs/efs-utils.crt");
	/* [mount.REGION] overrides work as in efs-utils */
	assert_int_equal(load(&cfg, "cn-north-1"), 0);
	assert_string_equal(cfg.dns_name_suffix, "amazonaws.com.cn");
	assert_int_equal(load(&cfg, "us-iso-east-1"), 0);
	assert_string_equal(cfg.dns_name_suffix, "c2s.ic.gov");
	assert_string_equal(cfg.cafile, "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem");
	/* the quiet lookup main.c uses */
	assert_int_equal(resolve_config_cafile("us-iso-east-1", ca, sizeof(ca)), 0);
	assert_string_equal(ca, "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem");
	assert_int_equal(resolve_config_cafile(NULL, ca, sizeof(ca)), 0);
	assert_string_equal(ca, "/etc/amazon/efs/efs-utils.crt");
}

static void test_cafile_key(void **state)
{
	struct resolve_config cfg;

	/* our own name wins over efs-utils' */
	write_conf("[mount]\nstunnel_cafile = /a.pem\ncafile = /b.pem\n");
	assert_int_equal(load(&cfg, NULL), 0);
	assert_string_equal(cfg.cafile, "/b.pem");
	write_conf("[mount]\nregion = us-east-1\n");
	assert_int_equal(load(&cfg, NULL), 0);
	assert_string_equal(cfg.cafile, "");
}

static void test_unknown_key_warns(void **state)
{
	struct resolve_config cfg;

	write_conf("[mount]\nno_such_setting = 1\ndns_name_suffix = example.test\n");
	if (load(&cfg, NULL) != 0)
		fail_msg("unknown key refused: %s", err);
	assert_string_equal(cfg.dns_name_suffix, "example.test");
	/* bad values of known keys stay errors */
	write_conf("[mount]\ndns_timeout_ms = soon\n");
	assert_int_equal(load(&cfg, NULL), -EINVAL);
	assert_non_null(strstr(err, "dns_timeout_ms"));
}

/* mount(8) runs a `user` mount with HOME=/root: the per-user file is unreadable. */
static void test_unreadable_user_config(void **state)
{
	struct resolve_config cfg;
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	unsetenv("EFS_FUSE_CONFIG");
	/* ENOTDIR stands for EACCES here: the tests run as root */
	setenv("HOME", "/etc/passwd", 1);
	if (load(&cfg, "us-east-1") != 0)
		fail_msg("an unreadable per-user file is fatal: %s", err);
	assert_string_equal(cfg.region, "us-east-1");
	if (home) {
		setenv("HOME", home, 1);
		free(home);
	}
}

/* efs-fuse.conf(5) names every key config.c knows. */
static void test_man_names_every_key(void **state)
{
	FILE *f = fopen(TOP_SRCDIR "/man/efs-fuse.conf.5", "r");
	static char page[65536];
	const char *k;
	size_t n;

	assert_non_null(f);
	n = fread(page, 1, sizeof(page) - 1, f);
	fclose(f);
	page[n] = '\0';
	for (size_t i = 0; (k = resolve_config_key_name(i)) != NULL; i++)
		if (!strstr(page, k))
			fail_msg("man/efs-fuse.conf.5 does not mention key '%s'", k);
	assert_non_null(strstr(page, "efs-utils.conf"));
	assert_non_null(strstr(page, "stunnel_cafile"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_efs_utils_conf_as_is),
		cmocka_unit_test(test_cafile_key),
		cmocka_unit_test(test_unknown_key_warns),
		cmocka_unit_test(test_unreadable_user_config),
		cmocka_unit_test(test_man_names_every_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
