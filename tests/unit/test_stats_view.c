/*
 * test_stats_view.c - the stats xattr parser behind `efs-fuse stats`
 * (src/stats_view.c): good text, malformed lines, the key cap.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "stats_view.h"

static struct stats_sample s;

static int parse(const char *text)
{
	return stats_view_parse(text, strlen(text), &s);
}

static void test_parse(void **state)
{
	int found;

	assert_int_equal(parse("compounds 12\nproc.OPEN 100\nwb.used_bytes 0\n"), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(stats_view_get(&s, "proc.OPEN", &found), 100);
	assert_true(found);
	assert_int_equal(stats_view_get(&s, "compounds", NULL), 12);
	assert_int_equal(stats_view_get(&s, "proc.CLOSE", &found), 0);
	assert_false(found);
	/* no final newline, empty lines, 64-bit values */
	assert_int_equal(parse("\n\nrpc.bytes_in 18446744073709551615"), 0);
	assert_int_equal(s.n, 1);
	assert_true(stats_view_get(&s, "rpc.bytes_in", NULL) == UINT64_MAX);
	assert_int_equal(parse(""), 0);
	assert_int_equal(s.n, 0);
}

static void test_parse_bad(void **state)
{
	assert_int_equal(parse("compounds\n"), -EINVAL);
	assert_int_equal(parse("compounds x\n"), -EINVAL);
	assert_int_equal(parse("compounds -1\n"), -EINVAL);
	assert_int_equal(parse(" 5\n"), -EINVAL);
	assert_int_equal(parse("a 1 2\n"), -EINVAL);
	assert_int_equal(parse("compounds 99999999999999999999999\n"), -EINVAL);
	{
		char key[200];

		memset(key, 'k', sizeof(key));
		snprintf(key + 100, sizeof(key) - 100, " 1\n");
		assert_int_equal(parse(key), -EINVAL); /* a key longer than 63 */
	}
}

static void test_cap(void **state)
{
	static char text[STATS_VIEW_MAX_KEYS * 2 * 16];
	size_t used = 0;

	for (int i = 0; i < STATS_VIEW_MAX_KEYS * 2; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "k%d %d\n", i, i);
	assert_int_equal(parse(text), 0);
	assert_int_equal(s.n, STATS_VIEW_MAX_KEYS);
	assert_int_equal(stats_view_get(&s, "k0", NULL), 0);
	assert_int_equal(stats_view_get(&s, "k255", NULL), 255);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
