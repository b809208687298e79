/*
 * test_mount_opts_iam.c - the IAM and access point options of the command
 * line (src/mount_opts.c): iam, accesspoint=, awscredsuri=, rolearn=,
 * jwtpath= and the rules efs-utils applies to them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mount_opts.h"

static char mnt[] = "/tmp/efs-opts-iam-XXXXXX";
static char err[256];

static int parse(struct mount_opts *o, const char *opts)
{
	char *argv[] = {"efs-fuse", "fs-12345678", mnt, "-o", (char *)opts, NULL};

	return mount_opts_parse(5, argv, o, err, sizeof(err));
}

static void ok(struct mount_opts *o, const char *opts)
{
	if (parse(o, opts) != 0)
		fail_msg("-o %s: %s", opts, err);
}

static void bad(const char *opts, const char *msg)
{
	struct mount_opts o;

	assert_int_equal(parse(&o, opts), -EINVAL);
	if (!strstr(err, msg))
		fail_msg("-o %s: got \"%s\", want \"%s\"", opts, err, msg);
	mount_opts_free(&o);
}

static void test_iam_and_access_point_imply_tls(void **state)
{
	struct mount_opts o;

	ok(&o, "iam");
	assert_true(o.iam);
	assert_true(o.tls);
	assert_null(o.accesspoint);
	mount_opts_free(&o);
	ok(&o, "accesspoint=fsap-0123456789abcdef0");
	assert_false(o.iam);
	assert_true(o.tls);
	assert_string_equal(o.accesspoint, "fsap-0123456789abcdef0");
	mount_opts_free(&o);
	ok(&o, "tls,iam,accesspoint=fsap-0123456789abcdef0,awsprofile=dev");
	assert_true(o.iam && o.tls);
	assert_string_equal(o.awsprofile, "dev");
	mount_opts_free(&o);
	ok(&o, "notls");
	assert_false(o.tls);
	mount_opts_free(&o);
}

static void test_credential_options(void **state)
{
	struct mount_opts o;

	ok(&o, "iam,awscredsuri=/v2/credentials/abc");
	assert_string_equal(o.awscredsuri, "/v2/credentials/abc");
	mount_opts_free(&o);
	ok(&o, "iam,rolearn=arn:aws:iam::123456789012:role/r,jwtpath=/var/run/token");
	assert_string_equal(o.rolearn, "arn:aws:iam::123456789012:role/r");
	assert_string_equal(o.jwtpath, "/var/run/token");
	mount_opts_free(&o);
}

static void test_rules(void **state)
{
	bad("accesspoint=fsap-123", "bad value for accesspoint: 'fsap-123' (expected fsap- and 17");
	bad("accesspoint=fsap-0123456789ABCDEF0", "lowercase hex");
	bad("iam,notls", "iam needs TLS: drop notls");
	bad("notls,accesspoint=fsap-0123456789abcdef0", "accesspoint needs TLS");
	bad("awscredsuri=/v2/x", "awscredsuri needs -o iam");
	bad("iam,awscredsuri=v2/x", "starting with '/'");
	bad("iam,awscredsuri=/v2/x,awsprofile=dev", "mutually exclusive");
	bad("iam,rolearn=arn:aws:iam::1:role/r", "rolearn and jwtpath go together");
	bad("iam,jwtpath=/t", "rolearn and jwtpath go together");
	bad("iam,rolearn=role/r,jwtpath=/t", "expected an IAM role ARN");
	bad("rolearn=arn:aws:iam::1:role/r,jwtpath=/t", "rolearn needs -o iam");
	bad("iam=1", "option 'iam' takes no value");
}

static void test_help_names_them(void **state)
{
	char out[8192] = "";
	FILE *f = fmemopen(out, sizeof(out) - 1, "w");

	mount_opts_usage(f, "efs-fuse");
	fclose(f);
	assert_non_null(strstr(out, "accesspoint=fsap-ID"));
	assert_non_null(strstr(out, "awscredsuri=/PATH"));
	assert_non_null(strstr(out, "rolearn=ARN,jwtpath=FILE"));
	assert_null(strstr(out, "not supported yet"));
}

static int group_setup(void **state)
{
	return mkdtemp(mnt) ? 0 : -1;
}

static int group_teardown(void **state)
{
	return rmdir(mnt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iam_and_access_point_imply_tls),
		cmocka_unit_test(test_credential_options),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_help_names_them),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
