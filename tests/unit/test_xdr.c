/* test_xdr.c - the bounded XDR buffer (include/util/xdr.h). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
#include "util/xdr.h"

/* A decoder over an exact-size heap copy (valgrind/ASan see overreads). */
struct dec {
	struct xdr x;
	uint8_t *p;
};

static void dec_open(struct dec *d, const void *v, size_t n)
{
	d->p = malloc(n ? n : 1);
	assert_non_null(d->p);
	if (n)
		memcpy(d->p, v, n);
	xdr_init_decode(&d->x, d->p, n);
}

static void dec_close(struct dec *d)
{
	free(d->p);
}

static void test_put_basic(void **state)
{
	static const uint8_t exp[] = {
		0x12, 0x34, 0x56, 0x78,				/* u32 */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* u64 */
		0x00, 0x00, 0x00, 0x01,				/* bool true */
		0x00, 0x00, 0x00, 0x00,				/* bool false */
		'a',  'b',  'c',  0x00,				/* fixed 3 + 1 pad */
		0x00, 0x00, 0x00, 0x05,				/* opaque len 5 */
		'h',  'e',  'l',  'l',	'o',  0x00, 0x00, 0x00, /* bytes + 3 pad */
		0x00, 0x00, 0x00, 0x02,				/* string len 2 */
		'h',  'i',  0x00, 0x00,				/* bytes + 2 pad */
		0x00, 0x00, 0x00, 0x00,				/* empty opaque */
	};
	uint8_t buf[128];
	struct xdr x;

	(void)state;
	memset(buf, 0xEE, sizeof(buf));
	xdr_init_encode(&x, buf, sizeof(buf));
	assert_int_equal(xdr_put_u32(&x, 0x12345678), 0);
	assert_int_equal(xdr_put_u64(&x, 0x0102030405060708ull), 0);
	assert_int_equal(xdr_put_bool(&x, true), 0);
	assert_int_equal(xdr_put_bool(&x, false), 0);
	assert_int_equal(xdr_put_fixed(&x, "abc", 3), 0);
	assert_int_equal(xdr_put_opaque(&x, "hello", 5), 0);
	assert_int_equal(xdr_put_string(&x, "hi"), 0);
	assert_int_equal(xdr_put_opaque(&x, NULL, 0), 0);
	assert_int_equal(xdr_mark(&x), sizeof(exp));
	assert_memory_equal(buf, exp, sizeof(exp));
}

/* Padding bytes are zero even when the storage held garbage. */
static void test_put_padding_zeroed(void **state)
{
	uint8_t buf[16];
	struct xdr x;
	uint8_t *p;

	(void)state;
	memset(buf, 0xFF, sizeof(buf));
	xdr_init_encode(&x, buf, sizeof(buf));
	p = xdr_reserve_opaque(&x, 1);
	assert_non_null(p);
	assert_ptr_equal(p, buf + 4);
	assert_int_equal(buf[5], 0);
	assert_int_equal(buf[6], 0);
	assert_int_equal(buf[7], 0);
	assert_int_equal(x.len, 8);
	assert_int_equal(xdr_put_fixed(&x, "\x01\x02", 2), 0);
	assert_int_equal(buf[8], 1);
	assert_int_equal(buf[9], 2);
	assert_int_equal(buf[10], 0);
	assert_int_equal(buf[11], 0);
}

static void test_put_overflow(void **state)
{
	uint8_t buf[12];
	struct xdr x;

	(void)state;
	memset(buf, 0xAA, sizeof(buf));
	xdr_init_encode(&x, buf, 7);
	assert_int_equal(xdr_put_u64(&x, 1), -EMSGSIZE);
	assert_int_equal(x.len, 0);
	assert_int_equal(xdr_put_u32(&x, 1), 0);
	assert_int_equal(xdr_put_u32(&x, 1), -EMSGSIZE);
	assert_int_equal(xdr_put_bool(&x, true), -EMSGSIZE);
	assert_int_equal(xdr_put_fixed(&x, "abcd", 4), -EMSGSIZE);
	/* 1 byte fits the cap but its padding does not */
	assert_int_equal(xdr_put_fixed(&x, "a", 1), -EMSGSIZE);
	assert_int_equal(xdr_put_opaque(&x, "", 0), -EMSGSIZE);
	assert_int_equal(xdr_put_string(&x, "x"), -EMSGSIZE);
	assert_int_equal(x.len, 4);
	/* nothing written past the cap */
	assert_int_equal(buf[7], 0xAA);
	assert_int_equal(buf[11], 0xAA);

	/* a reserve that fails leaves the encoder as it was */
	xdr_init_encode(&x, buf, 12);
	assert_null(xdr_reserve_opaque(&x, 9));
	assert_int_equal(x.len, 0);
	/* huge lengths: no wraparound of the padded size */
	assert_null(xdr_reserve_opaque(&x, UINT32_MAX));
	assert_null(xdr_reserve_opaque(&x, UINT32_MAX - 2));
	assert_int_equal(x.len, 0);
	assert_int_equal(xdr_put_fixed(&x, buf, SIZE_MAX), -EMSGSIZE);
	assert_int_equal(xdr_put_fixed(&x, buf, SIZE_MAX - 2), -EMSGSIZE);
	assert_int_equal(x.len, 0);
}

static void test_patch(void **state)
{
	uint8_t buf[8];
	struct xdr x;
	size_t off;

	(void)state;
	xdr_init_encode(&x, buf, sizeof(buf));
	off = xdr_mark(&x);
	assert_int_equal(xdr_put_u32(&x, 0), 0);
	assert_int_equal(xdr_patch_u32(&x, off, 0xdeadbeef), 0);
	assert_int_equal(buf[0], 0xde);
	assert_int_equal(buf[3], 0xef);
	/* only over bytes already written */
	assert_int_equal(xdr_patch_u32(&x, 4, 1), -EMSGSIZE);
	assert_int_equal(xdr_patch_u32(&x, 1, 1), -EMSGSIZE);
	assert_int_equal(xdr_patch_u32(&x, SIZE_MAX, 1), -EMSGSIZE);
}

static void test_alloc_reset(void **state)
{
	struct xdr x;

	(void)state;
	assert_int_equal(xdr_alloc(&x, 8), 0);
	assert_true(x.owned);
	assert_int_equal(xdr_put_u64(&x, 7), 0);
	assert_int_equal(xdr_put_u32(&x, 7), -EMSGSIZE);
	xdr_reset(&x);
	assert_int_equal(x.len, 0);
	assert_int_equal(xdr_put_u32(&x, 7), 0);
	xdr_free_buf(&x);
	assert_null(x.buf);
	xdr_free_buf(&x); /* safe on a zeroed struct */
}

static void test_get_basic(void **state)
{
	static const uint8_t v[] = {
		0x12, 0x34, 0x56, 0x78,				/* u32 */
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, /* u64 */
		0x00, 0x00, 0x00, 0x01,				/* bool */
		'x',  'y',  0x00, 0x00,				/* fixed 2 */
		0x00, 0x00, 0x00, 0x03, 'a',  'b',  'c',  0x00, /* opaque 3 */
		0x00, 0x00, 0x00, 0x02, 'o',  'k',  0x00, 0x00, /* string 2 */
	};
	struct dec d;
	const uint8_t *p;
	uint32_t u, n;
	uint64_t q;
	bool b;
	char s[3];
	char two[2];

	(void)state;
	dec_open(&d, v, sizeof(v));
	assert_int_equal(xdr_get_u32(&d.x, &u), 0);
	assert_int_equal(u, 0x12345678);
	assert_int_equal(xdr_get_u64(&d.x, &q), 0);
	assert_true(q == 0xffffffff00000001ull);
	assert_int_equal(xdr_get_bool(&d.x, &b), 0);
	assert_true(b);
	assert_int_equal(xdr_get_fixed_copy(&d.x, two, 2), 0);
	assert_memory_equal(two, "xy", 2);
	assert_int_equal(xdr_get_opaque(&d.x, &p, &n, 3), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "abc", 3);
	assert_int_equal(xdr_get_string(&d.x, s, sizeof(s)), 0);
	assert_string_equal(s, "ok");
	assert_int_equal(xdr_remaining(&d.x), 0);
	assert_int_equal(xdr_get_u32(&d.x, &u), -EBADMSG);
	xdr_rewind(&d.x);
	assert_int_equal(xdr_remaining(&d.x), sizeof(v));
	dec_close(&d);
}

static void test_get_truncated_scalars(void **state)
{
	static const uint8_t v[8] = {0, 0, 0, 1, 0, 0, 0, 2};
	struct dec d;
	size_t n;
	uint32_t u;
	uint64_t q;
	bool b;

	(void)state;
	for (n = 0; n < 4; n++) {
		dec_open(&d, v, n);
		assert_int_equal(xdr_get_u32(&d.x, &u), -EBADMSG);
		assert_int_equal(xdr_get_bool(&d.x, &b), -EBADMSG);
		assert_int_equal(d.x.pos, 0);
		dec_close(&d);
	}
	for (n = 0; n < 8; n++) {
		dec_open(&d, v, n);
		assert_int_equal(xdr_get_u64(&d.x, &q), -EBADMSG);
		assert_int_equal(d.x.pos, 0);
		dec_close(&d);
	}
	/* bool other than 0/1 */
	dec_open(&d, (const uint8_t[]){0, 0, 0, 2}, 4);
	assert_int_equal(xdr_get_bool(&d.x, &b), -EBADMSG);
	dec_close(&d);
}

static void test_get_opaque_bounds(void **state)
{
	/* length 5: 5 bytes + 3 padding = 12 bytes in all */
	static const uint8_t v[] = {0, 0, 0, 5, 'a', 'b', 'c', 'd', 'e', 0, 0, 0};
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c', 'd'};
	static const uint8_t wrap[] = {0xff, 0xff, 0xff, 0xfd, 'a', 'b', 'c', 'd'};
	const uint8_t *p;
	struct dec d;
	uint32_t n;
	size_t len;

	(void)state;
	/* every truncation, including the padding, fails and does not move */
	for (len = 0; len < sizeof(v); len++) {
		dec_open(&d, v, len);
		assert_int_equal(xdr_get_opaque(&d.x, &p, &n, 100), -EBADMSG);
		assert_int_equal(d.x.pos, 0);
		dec_close(&d);
	}
	dec_open(&d, v, sizeof(v));
	/* longer than max */
	assert_int_equal(xdr_get_opaque(&d.x, &p, &n, 4), -EBADMSG);
	assert_int_equal(d.x.pos, 0);
	assert_int_equal(xdr_get_opaque(&d.x, &p, &n, 5), 0);
	assert_int_equal(n, 5);
	dec_close(&d);

	dec_open(&d, huge, sizeof(huge));
	assert_int_equal(xdr_get_opaque(&d.x, &p, &n, UINT32_MAX), -EBADMSG);
	dec_close(&d);
	dec_open(&d, wrap, sizeof(wrap));
	assert_int_equal(xdr_get_opaque(&d.x, &p, &n, UINT32_MAX), -EBADMSG);
	dec_close(&d);

	/* fixed: padding must be present too */
	dec_open(&d, "abcde", 5);
	assert_int_equal(xdr_get_fixed(&d.x, &p, 5), -EBADMSG);
	assert_int_equal(xdr_get_fixed(&d.x, &p, SIZE_MAX), -EBADMSG);
	assert_int_equal(xdr_get_fixed(&d.x, &p, 4), 0);
	assert_int_equal(xdr_skip(&d.x, 2), -EBADMSG);
	assert_int_equal(xdr_skip(&d.x, 1), 0);
	assert_int_equal(xdr_skip(&d.x, SIZE_MAX), -EBADMSG);
	dec_close(&d);
}

static void test_get_string(void **state)
{
	static const uint8_t nul[] = {0, 0, 0, 3, 'a', 0, 'b', 0};
	static const uint8_t four[] = {0, 0, 0, 4, 'a', 'b', 'c', 'd'};
	static const uint8_t empty[] = {0, 0, 0, 0};
	struct dec d;
	char s[5];

	(void)state;
	dec_open(&d, nul, sizeof(nul));
	assert_int_equal(xdr_get_string(&d.x, s, sizeof(s)), -EBADMSG);
	assert_int_equal(d.x.pos, 0);
	dec_close(&d);

	dec_open(&d, four, sizeof(four));
	assert_int_equal(xdr_get_string(&d.x, s, 4), -EBADMSG); /* no room for NUL */
	assert_int_equal(xdr_get_string(&d.x, s, 0), -EBADMSG);
	assert_int_equal(xdr_get_string(&d.x, s, 5), 0);
	assert_string_equal(s, "abcd");
	dec_close(&d);

	dec_open(&d, empty, sizeof(empty));
	assert_int_equal(xdr_get_string(&d.x, s, 1), 0);
	assert_string_equal(s, "");
	dec_close(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_basic),
		cmocka_unit_test(test_put_padding_zeroed),
		cmocka_unit_test(test_put_overflow),
		cmocka_unit_test(test_patch),
		cmocka_unit_test(test_alloc_reset),
		cmocka_unit_test(test_get_basic),
		cmocka_unit_test(test_get_truncated_scalars),
		cmocka_unit_test(test_get_opaque_bounds),
		cmocka_unit_test(test_get_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
