/*
 * test_resolve_config_iam.c - the IAM keys of efs-fuse.conf (issue 9):
 * iam, accesspoint, awsprofile, sts_endpoint, container_credentials_endpoint,
 * their defaults, [mount.REGION] overrides, AWS_ENDPOINT_URL_STS, and the
 * endpoint template expansion.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "resolve/config.h"

static char err[512];

static int build(const char *text, struct resolve_config *cfg)
{
	static struct ini ini;
	struct resolve_cmdline cl = {.region = "eu-west-1"};

	ini_init(&ini);
	assert_int_equal(ini_parse(&ini, text, strlen(text), "conf", err, sizeof(err)), 0);
	return resolve_config_build(cfg, &ini, &cl, err, sizeof(err));
}

static void test_defaults(void **state)
{
	struct resolve_config cfg;
	char url[300];

	unsetenv("AWS_ENDPOINT_URL_STS");
	assert_int_equal(build("", &cfg), 0);
	assert_false(cfg.iam);
	assert_string_equal(cfg.accesspoint, "");
	assert_string_equal(cfg.awsprofile, "");
	assert_string_equal(cfg.container_endpoint, "http://169.254.170.2");
	assert_int_equal(resolve_config_expand(&cfg, cfg.sts_endpoint, "sts_endpoint", url,
					       sizeof(url), err, sizeof(err)),
			 0);
	assert_string_equal(url, "https://sts.eu-west-1.amazonaws.com/");
}

static void test_keys_and_region_override(void **state)
{
	struct resolve_config cfg;

	assert_int_equal(build("[mount]\niam = true\nawsprofile = dev\n"
			       "accesspoint = fsap-0123456789abcdef0\n"
			       "sts_endpoint = http://127.0.0.1:9/\n"
			       "container_credentials_endpoint = http://127.0.0.1:8\n"
			       "[mount.eu-west-1]\nawsprofile = eu\niam = no\n",
			       &cfg),
			 0);
	assert_false(cfg.iam);
	assert_string_equal(cfg.awsprofile, "eu");
	assert_string_equal(cfg.accesspoint, "fsap-0123456789abcdef0");
	assert_string_equal(cfg.sts_endpoint, "http://127.0.0.1:9/");
	assert_string_equal(cfg.container_endpoint, "http://127.0.0.1:8");
	setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:7/", 1);
	assert_int_equal(build("[mount]\nsts_endpoint = http://127.0.0.1:9/\n", &cfg), 0);
	assert_string_equal(cfg.sts_endpoint, "http://127.0.0.1:7/");
	unsetenv("AWS_ENDPOINT_URL_STS");
}

static void test_bad_values(void **state)
{
	struct resolve_config cfg;

	assert_int_equal(build("[mount]\naccesspoint = fsap-12\n", &cfg), -EINVAL);
	assert_non_null(strstr(err, "conf:2: accesspoint \"fsap-12\" is not an access point id"));
	assert_int_equal(build("[mount]\niam = maybe\n", &cfg), -EINVAL);
	assert_non_null(strstr(err, "iam must be true or false"));
	assert_int_equal(build("[mount]\nsts_endpoint = sts.example.com\n", &cfg), -EINVAL);
	assert_non_null(strstr(err, "sts_endpoint must be an http:// or https:// URL"));
	assert_int_equal(build("[mount]\nsts_endpoint = https://{nope}/\n", &cfg), 0);
	{
		char url[300];

		assert_int_equal(resolve_config_expand(&cfg, cfg.sts_endpoint, "sts_endpoint", url,
						       sizeof(url), err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "only {region} and {dns_name_suffix}"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_keys_and_region_override),
		cmocka_unit_test(test_bad_values),
	};

	unsetenv("EFS_FUSE_CONFIG");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
