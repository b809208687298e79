/* Unit tests: AWS credential files and the credential chain (no instance metadata). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "resolve/credentials.h"
#include "resolve/ini.h"

static char tmpdir[] = "/tmp/test_resolve_creds.XXXXXX";
static char cred_path[300], conf_path[300], err[512];

static const char creds_text[] = "[default]\n"
				 "aws_access_key_id = AKIDDEFAULT\n"
				 "aws_secret_access_key = secretdefault\n"
				 "\n"
				 "# a session profile\n"
				 "[temp]\n"
				 "aws_access_key_id=ASIATEMP\n"
				 "aws_secret_access_key=secret/temp+x==\n"
				 "aws_session_token = FwoGZXIvYXdzEJr//////////token==\n"
				 "[half]\n"
				 "aws_access_key_id = AKIDHALF\n";

static const char config_text[] = "[default]\n"
				  "region = us-east-1\n"
				  "[profile dev]\n"
				  "region = eu-west-1\n"
				  "aws_access_key_id = AKIDDEV\n"
				  "aws_secret_access_key = secretdev\n"
				  "s3 =\n"
				  "  max_concurrent_requests = 20\n"
				  "[profile temp]\n"
				  "aws_access_key_id = AKIDCONFIGTEMP\n"
				  "aws_secret_access_key = notthisone\n"
				  "[dev]\n"
				  "aws_access_key_id = NOTAPROFILE\n"
				  "aws_secret_access_key = x\n";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
	setenv("AWS_CONFIG_FILE", conf_path, 1);
	write_file(cred_path, creds_text);
	write_file(conf_path, config_text);
	return 0;
}

static void test_profile_parsing(void **state)
{
	struct aws_credentials c;
	struct ini creds, conf;

	ini_init(&creds);
	ini_init(&conf);
	assert_int_equal(
		ini_parse(&creds, creds_text, strlen(creds_text), "credentials", err, sizeof(err)),
		0);
	assert_int_equal(
		ini_parse(&conf, config_text, strlen(config_text), "config", err, sizeof(err)), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(credentials_from_profile(&creds, &conf, "default", &c, err, sizeof(err)),
			 0);
	assert_string_equal(c.access_key_id, "AKIDDEFAULT");
	assert_string_equal(c.secret_access_key, "secretdefault");
	assert_string_equal(c.session_token, "");
	/* credentials file beats config file for the same profile */
	assert_int_equal(credentials_from_profile(&creds, &conf, "temp", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "ASIATEMP");
	assert_string_equal(c.secret_access_key, "secret/temp+x==");
	assert_string_equal(c.session_token, "FwoGZXIvYXdzEJr//////////token==");
	/* config file: [profile NAME], not [NAME] */
	assert_int_equal(credentials_from_profile(&creds, &conf, "dev", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIDDEV");
	assert_non_null(strstr(c.source, "config file [profile dev]"));
	/* half a key pair is an error that says which half is missing */
	assert_int_equal(credentials_from_profile(&creds, &conf, "half", &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "aws_secret_access_key"));
	/* unknown profile */
	assert_int_equal(credentials_from_profile(&creds, &conf, "prod", &c, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(credentials_from_profile(&creds, &conf, "a]b", &c, err, sizeof(err)),
			 -EINVAL);
}

static void test_chain_env_first(void **state)
{
	struct aws_credentials c;

	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	setenv("AWS_SESSION_TOKEN", "tokenenv", 1);
	assert_int_equal(credentials_find(NULL, NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIDENV");
	assert_string_equal(c.session_token, "tokenenv");
	assert_string_equal(c.source, "environment");
	/* -o awsprofile beats the environment */
	assert_int_equal(credentials_find("dev", NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIDDEV");
	assert_string_equal(c.session_token, "");
}

static void test_chain_profiles(void **state)
{
	struct aws_credentials c;

	assert_int_equal(credentials_find(NULL, NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIDDEFAULT");
	assert_non_null(strstr(c.source, "profile default"));
	setenv("AWS_PROFILE", "temp", 1);
	assert_int_equal(credentials_find(NULL, NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "ASIATEMP");
	/* -o awsprofile beats AWS_PROFILE */
	assert_int_equal(credentials_find("dev", NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIDDEV");
	/* a named profile that does not exist is an error naming the files */
	assert_int_equal(credentials_find("prod", NULL, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "awsprofile=prod"));
	assert_non_null(strstr(err, cred_path));
	/* only one half in the environment: not used */
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	unsetenv("AWS_PROFILE");
	assert_int_equal(credentials_find(NULL, NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "AKIDDEFAULT");
}

static void test_chain_nothing(void **state)
{
	struct aws_credentials c;

	unlink(cred_path);
	unlink(conf_path);
	assert_int_equal(credentials_find(NULL, NULL, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "AWS_ACCESS_KEY_ID"));
	assert_non_null(strstr(err, "instance metadata is disabled"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile_parsing),
		cmocka_unit_test_setup(test_chain_env_first, setup),
		cmocka_unit_test_setup(test_chain_profiles, setup),
		cmocka_unit_test_setup(test_chain_nothing, setup),
	};
	int rc;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cred_path, sizeof(cred_path), "%s/credentials", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/config", tmpdir);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(cred_path);
	unlink(conf_path);
	rmdir(tmpdir);
	return rc;
}
