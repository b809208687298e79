/*
 * test_nfs4_xdr_util.h - helpers for the codec tests: big-endian byte
 * macros for writing expected vectors, and checkers that run an encoder
 * into every too-small buffer and a decoder over every truncation of a
 * reply.  Buffers are malloc'ed at their exact size so that valgrind or
 * ASan catches any access past them.
 */
#ifndef TEST_NFS4_XDR_UTIL_H
#define TEST_NFS4_XDR_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
#include "util/xdr.h"

/* XDR words as bytes, most significant first. */
#define U32(v)                                                          \
	(uint8_t)((uint32_t)(v) >> 24), (uint8_t)((uint32_t)(v) >> 16), \
		(uint8_t)((uint32_t)(v) >> 8), (uint8_t)(uint32_t)(v)
#define U64(v) U32((uint64_t)(v) >> 32), U32((uint64_t)(v)&0xffffffffu)

/* Fixtures shared by the codec tests. */
#define SESSIONID                                                                                 \
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, \
		0x1f
#define VERF 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08
/* stateid4 {seqid 1, other a0..ab} */
#define SID_BYTES U32(1), 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab
#define ZERO_SID  U32(0), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define CLIENTID  0x0102030405060708ull

typedef int (*xdr_case_fn)(struct xdr *x);

/* fn encodes exactly exp[0..n) and refuses (-EMSGSIZE) every smaller cap. */
static inline void check_encoder(xdr_case_fn fn, const uint8_t *exp, size_t n)
{
	uint8_t *buf = malloc(n + 64);
	struct xdr x;
	size_t cap;

	assert_non_null(buf);
	memset(buf, 0xAA, n + 64);
	xdr_init_encode(&x, buf, n + 64);
	assert_int_equal(fn(&x), 0);
	assert_int_equal(x.len, n);
	assert_memory_equal(buf, exp, n);
	free(buf);

	for (cap = 0; cap < n; cap++) {
		buf = malloc(cap ? cap : 1);
		assert_non_null(buf);
		xdr_init_encode(&x, buf, cap);
		assert_int_equal(fn(&x), -EMSGSIZE);
		assert_true(x.len <= cap);
		free(buf);
	}
}

/* Decode v[0..n) from an exact-size heap copy. */
static inline int run_decoder(xdr_case_fn fn, const uint8_t *v, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	struct xdr x;
	int rc;

	assert_non_null(p);
	if (n)
		memcpy(p, v, n);
	xdr_init_decode(&x, p, n);
	rc = fn(&x);
	assert_true(x.pos <= n);
	free(p);
	return rc;
}

/* Every strict prefix of a valid reply is -EBADMSG. */
static inline void check_truncations(xdr_case_fn fn, const uint8_t *v, size_t n)
{
	size_t len;

	for (len = 0; len < n; len++) {
		int rc = run_decoder(fn, v, len);

		if (rc != -EBADMSG)
			fail_msg("truncated at %zu of %zu: rc %d, expected -EBADMSG", len, n, rc);
	}
}

#endif
