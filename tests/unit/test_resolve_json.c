/* Unit tests: the bounded JSON reader and the DescribeMountTargets parser / picker. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "resolve/efs_api.h"
#include "resolve/json.h"

static char err[1024];

/* The documented response (EFS API reference, DescribeMountTargets), three AZs. */
static const char describe_ok[] =
	"{\n"
	"    \"MountTargets\": [\n"
	"        {\n"
	"            \"OwnerId\": \"251839141158\",\n"
	"            \"MountTargetId\": \"fsmt-55a4413c\",\n"
	"            \"FileSystemId\": \"fs-01234567\",\n"
	"            \"SubnetId\": \"subnet-01234567\",\n"
	"            \"LifeCycleState\": \"available\",\n"
	"            \"IpAddress\": \"172.31.22.183\",\n"
	"            \"NetworkInterfaceId\": \"eni-01234567\",\n"
	"            \"AvailabilityZoneId\": \"use2-az2\",\n"
	"            \"AvailabilityZoneName\": \"us-east-2b\",\n"
	"            \"VpcId\": \"vpc-01234567\"\n"
	"        },\n"
	"        {\"OwnerId\": \"251839141158\", \"MountTargetId\": \"fsmt-11111111\",\n"
	"         \"FileSystemId\": \"fs-01234567\", \"SubnetId\": \"subnet-1\",\n"
	"         \"LifeCycleState\": \"creating\", \"IpAddress\": \"172.31.1.1\",\n"
	"         \"AvailabilityZoneId\": \"use2-az1\", \"AvailabilityZoneName\": "
	"\"us-east-2a\"},\n"
	"        {\"MountTargetId\": \"fsmt-33333333\", \"FileSystemId\": \"fs-01234567\",\n"
	"         \"LifeCycleState\": \"available\", \"IpAddress\": \"172.31.3.3\",\n"
	"         \"AvailabilityZoneId\": \"use2-az3\", \"AvailabilityZoneName\": \"us-east-2c\",\n"
	"         \"Ipv6Address\": null, \"Extra\": {\"nested\": [1, 2.5e3, -0.1, true, false]}}\n"
	"    ],\n"
	"    \"Marker\": null\n"
	"}\n";

static void test_json_basics(void **state)
{
	static const char text[] = " {\"a\": [1, {\"b\": \"x\\\"y\\u00e9\\ud83d\\ude00\"}, []],"
				   " \"c\": {}, \"d\": \"\\/\\n\"} ";
	struct json_tok toks[32];
	struct json_doc d;
	char buf[64];
	int a, item, c;

	assert_int_equal(json_parse(&d, text, strlen(text), toks, 32), 0);
	assert_int_equal(toks[0].type, JSON_OBJECT);
	assert_int_equal(toks[0].count, 3);
	a = json_object_get(&d, 0, "a");
	assert_true(a > 0);
	assert_int_equal(toks[a].type, JSON_ARRAY);
	assert_int_equal(toks[a].count, 3);
	item = json_array_item(&d, (unsigned int)a, 1);
	assert_true(item > 0);
	assert_int_equal(json_get_string(&d, (unsigned int)item, "b", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "x\"y\xc3\xa9\xf0\x9f\x98\x80");
	assert_int_equal(json_array_item(&d, (unsigned int)a, 3), -ENOENT);
	item = json_array_item(&d, (unsigned int)a, 2);
	assert_int_equal(toks[item].type, JSON_ARRAY);
	assert_int_equal(toks[item].count, 0);
	c = json_object_get(&d, 0, "c");
	assert_int_equal(toks[c].type, JSON_OBJECT);
	assert_int_equal(json_get_string(&d, 0, "d", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/\n");
	assert_int_equal(json_object_get(&d, 0, "zz"), -ENOENT);
	assert_int_equal(json_object_get(&d, (unsigned int)a, "b"), -EINVAL);
	/* a number is not a string */
	item = json_array_item(&d, (unsigned int)a, 0);
	assert_int_equal(json_string_copy(&d, (unsigned int)item, buf, sizeof(buf)), -EINVAL);
	/* truncation is refused */
	assert_int_equal(json_get_string(&d, 0, "d", buf, 2), -E2BIG);
}

static void test_json_hostile(void **state)
{
	static const char *const bad[] = {
		"",
		"   ",
		"{",
		"{\"a\"",
		"{\"a\":",
		"{\"a\":1",
		"{\"a\":1,}",
		"[1,]",
		"[1 2]",
		"{a:1}",
		"{\"a\":01}",
		"{\"a\":-}",
		"{\"a\":1.}",
		"{\"a\":1e}",
		"{\"a\":tru}",
		"{\"a\":nul}",
		"\"abc",
		"\"a\\x\"",
		"\"a\\u12\"",
		"\"a\\u12G4\"",
		"\"tab\there\"",
		"{} {}",
		"{}x",
		"{\"a\":1}}",
		"]",
		"'single'",
	};
	struct json_tok toks[64];
	struct json_doc d;
	char deep[200], buf[16];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = json_parse(&d, bad[i], strlen(bad[i]), toks, 64);

		if (rc != -EBADMSG)
			fail_msg("input \"%s\": rc %d, want -EBADMSG", bad[i], rc);
	}
	/* NUL inside the text */
	assert_int_equal(json_parse(&d, "{\"a\":\"b\0c\"}", 11, toks, 64), -EBADMSG);
	/* nesting deeper than the cap */
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_int_equal(json_parse(&d, deep, 200, toks, 64), -E2BIG);
	/* just inside the cap is fine (with enough tokens) */
	{
		struct json_tok many[JSON_MAX_DEPTH];

		assert_int_equal(json_parse(&d, deep + 100 - JSON_MAX_DEPTH, 2 * JSON_MAX_DEPTH,
					    many, JSON_MAX_DEPTH),
				 0);
	}
	/* more tokens than the array holds */
	assert_int_equal(json_parse(&d, "[1,2,3,4,5]", 11, toks, 5), -E2BIG);
	/* \u0000 is refused when copied */
	assert_int_equal(json_parse(&d, "{\"a\":\"x\\u0000y\"}", 16, toks, 64), 0);
	assert_int_equal(json_get_string(&d, 0, "a", buf, sizeof(buf)), -EINVAL);
	/* a lone surrogate becomes U+FFFD, not garbage */
	assert_int_equal(json_parse(&d, "\"\\ud800x\"", 9, toks, 64), 0);
	assert_int_equal(json_string_copy(&d, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "\xef\xbf\xbdx");
}

static void test_describe_parse(void **state)
{
	struct efs_mount_target mt[EFS_API_MAX_TARGETS];
	unsigned int n;

	assert_int_equal(efs_api_parse_mount_targets(describe_ok, strlen(describe_ok),
						     "fs-01234567", mt, EFS_API_MAX_TARGETS, &n,
						     err, sizeof(err)),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(mt[0].id, "fsmt-55a4413c");
	assert_string_equal(mt[0].fs_id, "fs-01234567");
	assert_string_equal(mt[0].subnet_id, "subnet-01234567");
	assert_string_equal(mt[0].state, "available");
	assert_string_equal(mt[0].ip, "172.31.22.183");
	assert_string_equal(mt[0].az_id, "use2-az2");
	assert_string_equal(mt[0].az_name, "us-east-2b");
	assert_string_equal(mt[1].state, "creating");
	assert_string_equal(mt[2].subnet_id, "");
	/* another file system's targets are skipped */
	assert_int_equal(efs_api_parse_mount_targets(describe_ok, strlen(describe_ok),
						     "fs-99999999", mt, EFS_API_MAX_TARGETS, &n,
						     err, sizeof(err)),
			 0);
	assert_int_equal(n, 0);
	/* cap respected */
	assert_int_equal(efs_api_parse_mount_targets(describe_ok, strlen(describe_ok), NULL, mt, 2,
						     &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 2);
	/* empty list */
	assert_int_equal(efs_api_parse_mount_targets("{\"MountTargets\":[]}", 19, "fs-01234567", mt,
						     EFS_API_MAX_TARGETS, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 0);
}

static void test_describe_hostile(void **state)
{
	static const char *const bad[] = {
		"<html>503 Service Unavailable</html>",
		"{}",
		"{\"MountTargets\": {}}",
		"{\"MountTargets\": \"x\"}",
		"{\"MountTargets\": [1]}",
		"{\"MountTargets\": [{\"FileSystemId\": \"fs-01234567\"}]}",
		"{\"MountTargets\": [{\"MountTargetId\": 5, \"FileSystemId\": \"fs-01234567\","
		" \"LifeCycleState\": \"available\"}]}",
		"{\"MountTargets\": [{\"MountTargetId\": \"m\", \"FileSystemId\": \"fs-01234567\","
		" \"LifeCycleState\": \"available\", \"IpAddress\": \"1.2.3.4; rm -rf /\"}]}",
		"{\"MountTargets\": [{\"MountTargetId\": \"m\", \"FileSystemId\": \"fs-01234567\","
		" \"LifeCycleState\": \"available\", \"IpAddress\": [\"1.2.3.4\"]}]}",
		"{\"MountTargets\": [{\"MountTargetId\": \"m\", \"FileSystemId\": \"fs-01234567\","
		" \"LifeCycleState\": \"available\", \"AvailabilityZoneId\": "
		"\"use1-az1use1-az1use1-az1use1-az1use1-az1\"}]}",
		"{\"MountTargets\": [",
	};
	struct efs_mount_target mt[4];
	unsigned int n;
	size_t i;
	char *huge;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = efs_api_parse_mount_targets(bad[i], strlen(bad[i]), "fs-01234567", mt, 4,
						     &n, err, sizeof(err));

		if (rc != -EBADMSG)
			fail_msg("input %zu \"%s\": rc %d, want -EBADMSG", i, bad[i], rc);
		assert_true(strlen(err) > 0);
	}
	/* a response with more tokens than the parser's cap */
	huge = malloc(64 * 1024);
	assert_non_null(huge);
	strcpy(huge, "{\"MountTargets\": [");
	for (i = 0; i < 3000; i++)
		strcat(huge, i ? ",1" : "1");
	strcat(huge, "]}");
	assert_int_equal(efs_api_parse_mount_targets(huge, strlen(huge), "fs-01234567", mt, 4, &n,
						     err, sizeof(err)),
			 -EBADMSG);
	free(huge);
}

static void test_pick(void **state)
{
	struct efs_mount_target mt[EFS_API_MAX_TARGETS];
	unsigned int n;
	int i;

	assert_int_equal(efs_api_parse_mount_targets(describe_ok, strlen(describe_ok),
						     "fs-01234567", mt, EFS_API_MAX_TARGETS, &n,
						     err, sizeof(err)),
			 0);
	i = efs_api_pick(mt, n, "fs-01234567", "use2-az3", NULL, err, sizeof(err));
	assert_int_equal(i, 2);
	i = efs_api_pick(mt, n, "fs-01234567", "use2-az2", NULL, err, sizeof(err));
	assert_int_equal(i, 0);
	/* -o az= matches the name and beats the instance's zone id */
	i = efs_api_pick(mt, n, "fs-01234567", "use2-az2", "us-east-2c", err, sizeof(err));
	assert_int_equal(i, 2);
	/* the target in use2-az1 is still creating: not usable, and the message says why */
	i = efs_api_pick(mt, n, "fs-01234567", "use2-az1", NULL, err, sizeof(err));
	assert_int_equal(i, -ENOENT);
	assert_non_null(strstr(err, "use2-az1"));
	assert_non_null(strstr(err, "creating"));
	assert_non_null(strstr(err, "172.31.22.183"));
	assert_non_null(strstr(err, "-o az=NAME"));
	i = efs_api_pick(mt, 0, "fs-01234567", "use2-az1", NULL, err, sizeof(err));
	assert_int_equal(i, -ENOENT);
	assert_non_null(strstr(err, "no mount targets"));
	/* a tiny error buffer is still NUL-terminated */
	{
		char small[16];

		i = efs_api_pick(mt, n, "fs-01234567", "nowhere", NULL, small, sizeof(small));
		assert_int_equal(i, -ENOENT);
		assert_true(strlen(small) < sizeof(small));
	}
}

/* Every prefix and many single-byte mutations of the real response: an error or a
 * result, never a crash or an overread (run under valgrind/ASan to see overreads). */
static void test_describe_mutations(void **state)
{
	static const char subst[] = {'"', '\\', '{', '}', '[', ']', ',', ':', '\0', 0x01, 'u', '0'};
	struct efs_mount_target mt[EFS_API_MAX_TARGETS];
	size_t len = strlen(describe_ok), cut, pos, k;
	unsigned int n, ok = 0;
	int rc;

	for (cut = 0; cut < len; cut++) {
		/* exact-size heap copy so an overread is visible to memory checkers */
		char *p = malloc(cut ? cut : 1);

		assert_non_null(p);
		memcpy(p, describe_ok, cut);
		rc = efs_api_parse_mount_targets(p, cut, "fs-01234567", mt, EFS_API_MAX_TARGETS, &n,
						 err, sizeof(err));
		/* only the full text (or it minus trailing whitespace) is valid JSON */
		if (rc == 0)
			assert_true(cut >= len - 2);
		else
			assert_int_equal(rc, -EBADMSG);
		free(p);
	}
	for (pos = 0; pos < len; pos++) {
		for (k = 0; k < sizeof(subst); k++) {
			char *p = malloc(len);

			assert_non_null(p);
			memcpy(p, describe_ok, len);
			p[pos] = subst[k];
			rc = efs_api_parse_mount_targets(p, len, "fs-01234567", mt,
							 EFS_API_MAX_TARGETS, &n, err, sizeof(err));
			assert_true(rc == 0 || rc == -EBADMSG);
			if (rc == 0) {
				assert_true(n <= 3);
				ok++;
			}
			free(p);
		}
	}
	assert_true(ok > 0); /* some mutations (inside string values) still parse */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_basics),    cmocka_unit_test(test_json_hostile),
		cmocka_unit_test(test_describe_parse), cmocka_unit_test(test_describe_hostile),
		cmocka_unit_test(test_pick),	       cmocka_unit_test(test_describe_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
