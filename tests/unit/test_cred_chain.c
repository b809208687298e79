/*
 * test_cred_chain.c - the -o iam credential chain (src/resolve/cred_*.c):
 * its order for every combination of options and environment, timestamps
 * and credential documents, credential_process, and the profile rules
 * (static keys, credential_process, role_arn without a source).  The
 * network sources are exercised against stand-ins in tests/integration/iam.
 */
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

#include "resolve/cred_chain.h"
#include "resolve/cred_sources.h"

static char tmpdir[] = "/tmp/test_cred_chain.XXXXXX";
static char path[512], err[1200];

static const char *const chain_env[] = {
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN",
	"AWS_ROLE_ARN",
	"AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_ACCESS_KEY_ID",
	"AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN",
	"AWS_PROFILE",
	"AWS_SHARED_CREDENTIALS_FILE",
	"AWS_CONFIG_FILE",
	"AWS_REGION",
	"AWS_DEFAULT_REGION",
	"AWS_EC2_METADATA_DISABLED",
	"AWS_ENDPOINT_URL_STS",
	NULL,
};

static const char *file(const char *name, const char *text, mode_t mode)
{
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static int setup(void **state)
{
	for (int i = 0; chain_env[i]; i++)
		unsetenv(chain_env[i]);
	setenv("HOME", tmpdir, 1);
	/* no instance metadata, no efs-fuse.conf of the machine */
	setenv("EFS_FUSE_CONFIG", file("efs-fuse.conf", "[mount]\nimds_enabled = false\n", 0644),
	       1);
	return 0;
}

static int plan(const struct cred_chain_opts *o, enum cred_kind *k)
{
	return cred_chain_plan(o, k, CRED_CHAIN_MAX);
}

#define ASSERT_PLAN(o, ...)                                                    \
	do {                                                                   \
		enum cred_kind want_[] = {__VA_ARGS__}, got_[CRED_CHAIN_MAX];  \
		int n_ = plan(o, got_);                                        \
		assert_int_equal(n_, (int)(sizeof(want_) / sizeof(want_[0]))); \
		assert_memory_equal(got_, want_, sizeof(want_));               \
	} while (0)

static void test_plan_order(void **state)
{
	struct cred_chain_opts o = {0};

	ASSERT_PLAN(&o, CRED_PROFILE, CRED_IMDS);
	setenv("AWS_ACCESS_KEY_ID", "AK", 1);
	ASSERT_PLAN(&o, CRED_ENV, CRED_PROFILE, CRED_IMDS);
	setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
	ASSERT_PLAN(&o, CRED_ENV, CRED_PROFILE, CRED_IMDS); /* no token file: no web identity */
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/t", 1);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/v1", 1);
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x", 1);
	ASSERT_PLAN(&o, CRED_ECS, CRED_POD_IDENTITY, CRED_WEB_IDENTITY, CRED_ENV, CRED_PROFILE,
		    CRED_IMDS);
	/* explicit choices are alone */
	o.awsprofile = "dev";
	ASSERT_PLAN(&o, CRED_PROFILE);
	o.rolearn = "arn:aws:iam::1:role/r";
	o.jwtpath = "/t";
	ASSERT_PLAN(&o, CRED_WEB_IDENTITY);
	o.awscredsuri = "/v2/credentials/y";
	ASSERT_PLAN(&o, CRED_ECS);
	assert_string_equal(cred_kind_name(CRED_POD_IDENTITY), "EKS Pod Identity");
}

static void test_parse_time(void **state)
{
	time_t t;

	assert_int_equal(cred_parse_time("2026-01-02T03:04:05Z", &t), 0);
	assert_int_equal(t, 1767323045);
	assert_int_equal(cred_parse_time("2026-01-02T03:04:05.123456Z", &t), 0);
	assert_int_equal(t, 1767323045);
	assert_int_equal(cred_parse_time("2026-01-02T05:04:05+02:00", &t), 0);
	assert_int_equal(t, 1767323045);
	assert_int_equal(cred_parse_time("2026-01-02", &t), -EINVAL);
	assert_int_equal(cred_parse_time("2026-13-02T03:04:05Z", &t), -EINVAL);
	assert_int_equal(cred_parse_time("2026-01-02T03:04:05", &t), -EINVAL);
}

static void test_credentials_json(void **state)
{
	static const char a[] = "{\"AccessKeyId\":\"ASIA1\",\"SecretAccessKey\":\"s\","
				"\"Token\":\"t\",\"Expiration\":\"2026-01-02T03:04:05Z\"}";
	static const char b[] = "{\"AccessKeyId\":\"ASIA2\",\"SecretAccessKey\":\"s\","
				"\"SessionToken\":\"t2\",\"Expiration\":1.767323045E9}";
	static const char c[] = "{\"AccessKeyId\":\"ASIA3\",\"Token\":\"t\"}";
	struct json_tok toks[32];
	struct json_doc d;
	struct aws_credentials cr;

	assert_int_equal(json_parse(&d, a, strlen(a), toks, 32), 0);
	assert_int_equal(cred_from_json(&d, 0, "Token", 1, &cr), 0);
	assert_string_equal(cr.session_token, "t");
	assert_int_equal(cr.expiration, 1767323045);
	assert_int_equal(json_parse(&d, b, strlen(b), toks, 32), 0);
	assert_int_equal(cred_from_json(&d, 0, "SessionToken", 1, &cr), 0);
	assert_int_equal(cr.expiration, 1767323045);
	assert_int_equal(cred_from_json(&d, 0, "Token", 1, &cr), -EBADMSG);
	assert_int_equal(json_parse(&d, c, strlen(c), toks, 32), 0);
	assert_int_equal(cred_from_json(&d, 0, "Token", 0, &cr), -EBADMSG);
}

static void test_credential_process(void **state)
{
	struct aws_credentials c = {0};
	const char *ok = file("ok.sh",
			      "#!/bin/sh\n[ \"$1\" = \"a b\" ] || exit 7\n"
			      "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\", "
			      "\"SecretAccessKey\": \"sk\", \"SessionToken\": \"tok\", "
			      "\"Expiration\": \"2030-01-01T00:00:00Z\"}'\n",
			      0755);
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "%s \"a b\"", ok);
	assert_int_equal(cred_from_process(cmd, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "ASIAPROC");
	assert_string_equal(c.session_token, "tok");
	assert_int_not_equal(c.expiration, 0);
	snprintf(cmd, sizeof(cmd), "%s unquoted", ok);
	assert_int_equal(cred_from_process(cmd, &c, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "exit status 7"));
	file("v2.sh", "#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\"}'\n", 0755);
	assert_int_equal(cred_from_process(path, &c, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "not credential JSON"));
	assert_int_equal(cred_from_process("/nonexistent/helper", &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot run it"));
}

static void test_profiles(void **state)
{
	struct aws_credentials c = {0};
	char text[800];

	snprintf(text, sizeof(text),
		 "[profile proc]\ncredential_process = %s/ok.sh \"a b\"\n"
		 "[profile role]\nrole_arn = arn:aws:iam::1:role/r\n"
		 "[profile loop1]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = loop2\n"
		 "[profile loop2]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = loop1\n",
		 tmpdir);
	setenv("AWS_CONFIG_FILE", file("config", text, 0644), 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE",
	       file("credentials",
		    "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = s\n", 0644),
	       1);
	assert_int_equal(
		cred_from_profile_files("default", NULL, "us-east-1", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIADEF");
	assert_string_equal(c.source, "profile default");
	assert_int_equal(cred_from_profile_files("proc", NULL, "us-east-1", &c, err, sizeof(err)),
			 0);
	assert_string_equal(c.access_key_id, "ASIAPROC");
	assert_string_equal(c.source, "profile proc (credential_process)");
	assert_int_equal(cred_from_profile_files("role", "http://127.0.0.1:9/", "us-east-1", &c,
						 err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "role_arn needs source_profile"));
	assert_int_equal(cred_from_profile_files("loop1", "http://127.0.0.1:9/", "us-east-1", &c,
						 err, sizeof(err)),
			 -ELOOP);
	assert_int_equal(cred_from_profile_files("nope", NULL, "us-east-1", &c, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "profile nope not in"));
}

static void test_container_uri_rules(void **state)
{
	assert_true(cred_container_uri_allowed("https://creds.example.com/x"));
	assert_true(cred_container_uri_allowed("http://127.0.0.5:8080/v1/credentials"));
	assert_true(cred_container_uri_allowed("http://169.254.170.23/v1/credentials"));
	assert_true(cred_container_uri_allowed("http://[fd00:ec2::23]/v1/credentials"));
	assert_true(cred_container_uri_allowed("http://localhost/x"));
	assert_false(cred_container_uri_allowed("http://creds.example.com/x"));
	assert_false(cred_container_uri_allowed("http://128.0.0.1/x"));
	assert_false(cred_container_uri_allowed("ftp://127.0.0.1/x"));
}

static void test_chain_nothing_found(void **state)
{
	struct cred_chain_opts o = {.region = "us-east-1"};
	struct aws_credentials c;

	assert_int_equal(cred_chain_find(&o, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no AWS credentials for -o iam (tried profile: profile "
				    "default not in"));
	assert_non_null(strstr(err, "; instance role: instance metadata is disabled)"));
	/* an explicit profile: its failure is the whole message */
	o.awsprofile = "dev";
	assert_int_equal(cred_chain_find(&o, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no AWS credentials for -o iam from profile: profile dev"));
}

static void test_chain_environment_and_provider(void **state)
{
	struct cred_chain_opts o = {.region = "us-east-1"};
	struct cred_provider *p;
	struct aws_credentials c;

	setenv("AWS_SECRET_ACCESS_KEY", "sk", 1);
	assert_int_equal(cred_chain_find(&o, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "environment: AWS_SECRET_ACCESS_KEY is set but "
				    "AWS_ACCESS_KEY_ID is not"));
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	setenv("AWS_SESSION_TOKEN", "tok", 1);
	p = cred_provider_new(&o);
	assert_non_null(p);
	assert_int_equal(cred_provider_get(p, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIAENV");
	assert_string_equal(c.session_token, "tok");
	assert_string_equal(c.source, "environment");
	cred_provider_free(p);
}

/* A credential_process that counts its runs and states expiration EXP. */
static void counting_profile(const char *exp)
{
	char script[800], conf[700];

	snprintf(script, sizeof(script),
		 "#!/bin/sh\necho x >> %s/runs\n"
		 "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIACOUNT\", \"SecretAccessKey\": "
		 "\"sk\", \"SessionToken\": \"t\", \"Expiration\": \"%s\"}'\n",
		 tmpdir, exp);
	file("count.sh", script, 0755);
	snprintf(conf, sizeof(conf), "[default]\ncredential_process = %s\n", path);
	setenv("AWS_CONFIG_FILE", file("config", conf, 0644), 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", file("credentials", "", 0644), 1);
	snprintf(path, sizeof(path), "%s/runs", tmpdir);
	unlink(path);
}

static int runs(void)
{
	char p[600], line[16];
	int n = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/runs", tmpdir);
	f = fopen(p, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

static void test_provider_refreshes_before_expiry(void **state)
{
	struct cred_chain_opts o = {.region = "us-east-1"};
	struct aws_credentials c;
	struct cred_provider *p;
	char exp[32];
	time_t t;

	/* far from expiry: one lookup serves every connection */
	counting_profile("2099-01-01T00:00:00Z");
	p = cred_provider_new(&o);
	assert_int_equal(cred_provider_get(p, &c, err, sizeof(err)), 0);
	assert_int_equal(cred_provider_get(p, &c, err, sizeof(err)), 0);
	assert_int_equal(runs(), 1);
	assert_int_equal(c.expiration, 4070908800);
	cred_provider_free(p);
	/* within CRED_REFRESH_MARGIN_S of expiry: looked up again each time */
	t = time(NULL) + CRED_REFRESH_MARGIN_S - 60;
	strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	counting_profile(exp);
	p = cred_provider_new(&o);
	assert_int_equal(cred_provider_get(p, &c, err, sizeof(err)), 0);
	assert_int_equal(cred_provider_get(p, &c, err, sizeof(err)), 0);
	assert_int_equal(runs(), 2);
	/* a failed refresh keeps credentials that have not expired yet */
	unsetenv("AWS_CONFIG_FILE");
	setenv("AWS_CONFIG_FILE", file("config", "", 0644), 1);
	assert_int_equal(cred_provider_get(p, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "ASIACOUNT");
	cred_provider_free(p);
}

static int cleanup_dir(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_plan_order, setup),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_credentials_json),
		cmocka_unit_test_setup(test_credential_process, setup),
		cmocka_unit_test_setup(test_profiles, setup),
		cmocka_unit_test(test_container_uri_rules),
		cmocka_unit_test_setup(test_chain_nothing_found, setup),
		cmocka_unit_test_setup(test_chain_environment_and_provider, setup),
		cmocka_unit_test_setup(test_provider_refreshes_before_expiry, setup),
	};

	if (!mkdtemp(tmpdir))
		return 1;
	return cmocka_run_group_tests(tests, NULL, cleanup_dir);
}
