/* test_rpc_rm.c - record marking (RFC 5531 section 11): header bits and reassembly. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "rpc/rpc_clnt.h"

static void test_header_bits(void **state)
{
	uint8_t h[4];

	rpc_rm_put_header(h, 0x1234, true);
	assert_memory_equal(h, "\x80\x00\x12\x34", 4);
	rpc_rm_put_header(h, 5, false);
	assert_memory_equal(h, "\x00\x00\x00\x05", 4);
	rpc_rm_put_header(h, 0x7fffffff, false);
	assert_memory_equal(h, "\x7f\xff\xff\xff", 4);
	rpc_rm_put_header(h, 0x7fffffff, true);
	assert_memory_equal(h, "\xff\xff\xff\xff", 4);
	/* the length never leaks into the last-fragment bit */
	rpc_rm_put_header(h, 0x80000001u, false);
	assert_memory_equal(h, "\x00\x00\x00\x01", 4);
	rpc_rm_put_header(h, 0, true);
	assert_memory_equal(h, "\x80\x00\x00\x00", 4);
}

/* Two fragments: "abc" (more follow) then "defg" (last), then a second record "xy". */
static const uint8_t stream[] = {0x00, 0x00, 0x00, 0x03, 'a',  'b',  'c',  0x80, 0x00, 0x00, 0x04,
				 'd',  'e',  'f',  'g',	 0x80, 0x00, 0x00, 0x02, 'x',  'y'};
#define FIRST_LEN 15 /* bytes of the first record on the wire */

static void test_one_byte_feeds(void **state)
{
	struct rpc_rm_reader r;
	size_t i, len, records = 0;
	uint8_t *rec;
	bool done;

	rpc_rm_reader_init(&r, 64);
	for (i = 0; i < sizeof(stream); i++) {
		ssize_t n = rpc_rm_reader_feed(&r, stream + i, 1, &done);

		assert_int_equal(n, 1);
		if (i == FIRST_LEN - 1 || i == sizeof(stream) - 1) {
			assert_true(done);
			rec = rpc_rm_reader_take(&r, &len);
			assert_non_null(rec);
			if (records == 0) {
				assert_int_equal(len, 7);
				assert_memory_equal(rec, "abcdefg", 7);
			} else {
				assert_int_equal(len, 2);
				assert_memory_equal(rec, "xy", 2);
			}
			free(rec);
			records++;
		} else {
			assert_false(done);
		}
	}
	assert_int_equal(records, 2);
	rpc_rm_reader_fini(&r);
}

static void test_whole_buffer_stops_at_record_end(void **state)
{
	struct rpc_rm_reader r;
	uint8_t *rec;
	size_t len;
	bool done;
	ssize_t n;

	rpc_rm_reader_init(&r, 64);
	n = rpc_rm_reader_feed(&r, stream, sizeof(stream), &done);
	assert_int_equal(n, FIRST_LEN);
	assert_true(done);
	/* Feeding again before take consumes nothing. */
	n = rpc_rm_reader_feed(&r, stream + n, sizeof(stream) - FIRST_LEN, &done);
	assert_int_equal(n, 0);
	assert_true(done);
	rec = rpc_rm_reader_take(&r, &len);
	assert_int_equal(len, 7);
	assert_memory_equal(rec, "abcdefg", 7);
	free(rec);
	/* Nothing ready now. */
	assert_null(rpc_rm_reader_take(&r, &len));
	assert_int_equal(len, 0);
	n = rpc_rm_reader_feed(&r, stream + FIRST_LEN, sizeof(stream) - FIRST_LEN, &done);
	assert_int_equal(n, sizeof(stream) - FIRST_LEN);
	assert_true(done);
	rec = rpc_rm_reader_take(&r, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(rec, "xy", 2);
	free(rec);
	rpc_rm_reader_fini(&r);
}

static void test_many_fragments(void **state)
{
	/* 100 fragments of 3 bytes each, the last one marked */
	uint8_t buf[100 * 7];
	struct rpc_rm_reader r;
	size_t i, off = 0, len;
	uint8_t *rec;
	bool done;

	for (i = 0; i < 100; i++) {
		rpc_rm_put_header(buf + off, 3, i == 99);
		buf[off + 4] = (uint8_t)i;
		buf[off + 5] = (uint8_t)(i + 1);
		buf[off + 6] = (uint8_t)(i + 2);
		off += 7;
	}
	rpc_rm_reader_init(&r, 300);
	/* in uneven pieces */
	for (i = 0; i < off;) {
		size_t k = off - i < 13 ? off - i : 13;
		ssize_t n = rpc_rm_reader_feed(&r, buf + i, k, &done);

		assert_true(n > 0);
		i += (size_t)n;
		assert_true(done == (i == off));
	}
	rec = rpc_rm_reader_take(&r, &len);
	assert_int_equal(len, 300);
	for (i = 0; i < 100; i++) {
		assert_int_equal(rec[3 * i], (uint8_t)i);
		assert_int_equal(rec[3 * i + 2], (uint8_t)(i + 2));
	}
	free(rec);
	rpc_rm_reader_fini(&r);
}

static void test_oversize_single_fragment(void **state)
{
	struct rpc_rm_reader r;
	uint8_t h[4];
	bool done;

	rpc_rm_reader_init(&r, 16);
	rpc_rm_put_header(h, 17, true);
	assert_int_equal(rpc_rm_reader_feed(&r, h, 4, &done), -EMSGSIZE);
	assert_false(done);
	rpc_rm_reader_fini(&r);

	/* the largest header possible */
	rpc_rm_reader_init(&r, 1u << 20);
	assert_int_equal(rpc_rm_reader_feed(&r, (const uint8_t *)"\xff\xff\xff\xff", 4, &done),
			 -EMSGSIZE);
	rpc_rm_reader_fini(&r);
}

static void test_oversize_across_fragments(void **state)
{
	uint8_t buf[4 + 10 + 4];
	struct rpc_rm_reader r;
	bool done;

	memset(buf, 'z', sizeof(buf));
	rpc_rm_put_header(buf, 10, false);
	rpc_rm_put_header(buf + 14, 7, true); /* 10 + 7 > 16 */
	rpc_rm_reader_init(&r, 16);
	assert_int_equal(rpc_rm_reader_feed(&r, buf, 14, &done), 14);
	assert_false(done);
	assert_int_equal(rpc_rm_reader_feed(&r, buf + 14, 4, &done), -EMSGSIZE);
	rpc_rm_reader_fini(&r);
}

static void test_exactly_max(void **state)
{
	uint8_t buf[4 + 16];
	struct rpc_rm_reader r;
	uint8_t *rec;
	size_t len;
	bool done;

	memset(buf, 'q', sizeof(buf));
	rpc_rm_put_header(buf, 16, true);
	rpc_rm_reader_init(&r, 16);
	assert_int_equal(rpc_rm_reader_feed(&r, buf, sizeof(buf), &done), sizeof(buf));
	assert_true(done);
	rec = rpc_rm_reader_take(&r, &len);
	assert_int_equal(len, 16);
	assert_memory_equal(rec, "qqqqqqqqqqqqqqqq", 16);
	free(rec);
	rpc_rm_reader_fini(&r);
}

static void test_empty_last_fragment(void **state)
{
	/* "ab" not last, then an empty last fragment */
	static const uint8_t s[] = {0, 0, 0, 2, 'a', 'b', 0x80, 0, 0, 0};
	struct rpc_rm_reader r;
	uint8_t *rec;
	size_t len;
	bool done;

	rpc_rm_reader_init(&r, 16);
	assert_int_equal(rpc_rm_reader_feed(&r, s, sizeof(s), &done), sizeof(s));
	assert_true(done);
	rec = rpc_rm_reader_take(&r, &len);
	assert_non_null(rec);
	assert_int_equal(len, 2);
	assert_memory_equal(rec, "ab", 2);
	free(rec);
	rpc_rm_reader_fini(&r);
}

static void test_fini_frees_partial(void **state)
{
	static const uint8_t s[] = {0x80, 0, 0, 8, 'a', 'b', 'c'};
	struct rpc_rm_reader r;
	bool done;

	rpc_rm_reader_init(&r, 16);
	assert_int_equal(rpc_rm_reader_feed(&r, s, sizeof(s), &done), sizeof(s));
	assert_false(done);
	rpc_rm_reader_fini(&r); /* valgrind: no leak of the partial record */
}

/* The zero-copy path: header by feed, body read in place, in two pieces. */
static void test_direct_commit(void **state)
{
	static const uint8_t s2[] = {0x80, 0, 0, 10, 0, 0, 0, 1, 'r', 'e', 's', 't', '!', '!'};
	struct rpc_rm_reader r;
	uint8_t *dst, *rec;
	size_t room, len;
	bool done;

	rpc_rm_reader_init(&r, 64);
	/* before any header: no direct room */
	assert_null(rpc_rm_reader_direct(&r, &room));
	assert_int_equal(room, 0);
	assert_int_equal(rpc_rm_reader_feed(&r, s2, 4, &done), 4);
	assert_false(done);
	dst = rpc_rm_reader_direct(&r, &room);
	assert_non_null(dst);
	assert_int_equal(room, 10);
	memcpy(dst, s2 + 4, 6);
	rpc_rm_reader_commit(&r, 6, &done);
	assert_false(done);
	dst = rpc_rm_reader_direct(&r, &room);
	assert_int_equal(room, 4);
	memcpy(dst, s2 + 10, 4);
	rpc_rm_reader_commit(&r, 4, &done);
	assert_true(done);
	/* a finished record offers no room until taken */
	assert_null(rpc_rm_reader_direct(&r, &room));
	rec = rpc_rm_reader_take(&r, &len);
	assert_int_equal(len, 10);
	assert_memory_equal(rec, s2 + 4, 10);
	free(rec);
	rpc_rm_reader_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_bits),
		cmocka_unit_test(test_one_byte_feeds),
		cmocka_unit_test(test_whole_buffer_stops_at_record_end),
		cmocka_unit_test(test_many_fragments),
		cmocka_unit_test(test_oversize_single_fragment),
		cmocka_unit_test(test_oversize_across_fragments),
		cmocka_unit_test(test_exactly_max),
		cmocka_unit_test(test_empty_last_fragment),
		cmocka_unit_test(test_fini_frees_partial),
		cmocka_unit_test(test_direct_commit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
