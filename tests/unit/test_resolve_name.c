/* Unit tests: dns_name_format expansion (include/resolve/dns_name.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "resolve/config.h"
#include "resolve/dns.h"
#include "resolve/dns_name.h"

static char out[256], err[256];

static int build(const char *fmt, const char *fs, const char *region, const char *az,
		 const char *suffix)
{
	struct dns_name_fields f = {fs, region, az, suffix};

	out[0] = err[0] = '\0';
	return dns_name_build(out, sizeof(out), fmt, &f, err, sizeof(err));
}

static void test_default_format(void **state)
{
	assert_int_equal(build(RESOLVE_DEFAULT_DNS_NAME_FORMAT, "fs-12345678", "us-east-1", NULL,
			       "amazonaws.com"),
			 0);
	assert_string_equal(out, "fs-12345678.efs.us-east-1.amazonaws.com");
	assert_int_equal(build(RESOLVE_DEFAULT_DNS_NAME_FORMAT, "fs-12345678", "us-east-1", "",
			       "amazonaws.com"),
			 0);
	assert_string_equal(out, "fs-12345678.efs.us-east-1.amazonaws.com");
	assert_int_equal(build(RESOLVE_DEFAULT_DNS_NAME_FORMAT, "fs-12345678", "us-east-1",
			       "us-east-1b", "amazonaws.com"),
			 0);
	assert_string_equal(out, "us-east-1b.fs-12345678.efs.us-east-1.amazonaws.com");
	/* China */
	assert_int_equal(build(RESOLVE_DEFAULT_DNS_NAME_FORMAT, "fs-abcdef01", "cn-north-1", NULL,
			       "amazonaws.com.cn"),
			 0);
	assert_string_equal(out, "fs-abcdef01.efs.cn-north-1.amazonaws.com.cn");
}

static void test_custom_formats(void **state)
{
	assert_int_equal(build("{fs_id}.{region}.efs.internal", "fs-12345678", "eu-west-1",
			       "eu-west-1a", "x"),
			 0);
	assert_string_equal(out, "fs-12345678.eu-west-1.efs.internal");
	/* efs-utils drops "{az}." wherever it is when no az is given */
	assert_int_equal(build("{fs_id}.{az}.{region}.{dns_name_suffix}", "fs-12345678",
			       "us-east-1", NULL, "example.test"),
			 0);
	assert_string_equal(out, "fs-12345678.us-east-1.example.test");
	/* literal text, no fields */
	assert_int_equal(build("nfs.example.test", "fs-12345678", NULL, NULL, NULL), 0);
	assert_string_equal(out, "nfs.example.test");
}

static void test_errors(void **state)
{
	assert_int_equal(build("{fs_id}.{zone}.example", "fs-12345678", "r", NULL, "s"), -EINVAL);
	assert_non_null(strstr(err, "{zone}"));
	assert_int_equal(build("{fs_id.example", "fs-12345678", "r", NULL, "s"), -EINVAL);
	assert_non_null(strstr(err, "without"));
	assert_int_equal(build("fs_id}.example", "fs-12345678", "r", NULL, "s"), -EINVAL);
	/* {az} not followed by a dot cannot be dropped */
	assert_int_equal(build("{fs_id}.{az}-x.example", "fs-12345678", "r", NULL, "s"), -EINVAL);
	assert_non_null(strstr(err, "-o az="));
	/* region needed but unknown */
	assert_int_equal(
		build(RESOLVE_DEFAULT_DNS_NAME_FORMAT, "fs-12345678", NULL, NULL, "amazonaws.com"),
		-EINVAL);
	assert_non_null(strstr(err, "region"));
	/* the result must be a DNS name */
	assert_int_equal(build("{fs_id}..{region}", "fs-12345678", "us-east-1", NULL, "s"),
			 -EINVAL);
	assert_int_equal(build("{fs_id} x", "fs-12345678", "us-east-1", NULL, "s"), -EINVAL);
	/* too long for the buffer */
	{
		char fmt[400];

		memset(fmt, 'a', sizeof(fmt) - 1);
		fmt[sizeof(fmt) - 1] = '\0';
		assert_int_equal(build(fmt, "fs-12345678", "r", NULL, "s"), -ENAMETOOLONG);
	}
}

static void test_validators(void **state)
{
	assert_true(dns_name_is_fs_id("fs-12345678"));
	assert_true(dns_name_is_fs_id("fs-0123456789abcdef0"));
	assert_false(dns_name_is_fs_id("fs-1234567"));
	assert_false(dns_name_is_fs_id("fs-1234567G"));
	assert_false(dns_name_is_fs_id("fs-ABCDEF01"));
	assert_false(dns_name_is_fs_id("fsap-12345678"));
	assert_false(dns_name_is_fs_id("fs-12345678.evil"));
	assert_true(dns_name_is_hostname("nfs.example.test"));
	assert_true(dns_name_is_hostname("localhost"));
	assert_true(dns_name_is_hostname("a.b.c."));
	assert_false(dns_name_is_hostname("-a.b"));
	assert_false(dns_name_is_hostname("a..b"));
	assert_false(dns_name_is_hostname("a b"));
	assert_false(dns_name_is_hostname(""));
	assert_true(dns_is_numeric("127.0.0.1"));
	assert_true(dns_is_numeric("::1"));
	assert_true(dns_is_numeric("fe80::1"));
	assert_false(dns_is_numeric("[::1]"));
	assert_false(dns_is_numeric("127.0.0"));
	assert_false(dns_is_numeric("localhost"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_format),
		cmocka_unit_test(test_custom_formats),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_validators),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
