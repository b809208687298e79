/*
 * test_rpc_msg.c - ONC RPC call header with AUTH_SYS and reply header
 * decoding (RFC 5531 sections 8-9, appendix A), against hand-written bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "rpc/rpc_clnt.h"

static void test_call_header_auth_sys(void **state)
{
	static const uint8_t want[] = {
		0x01, 0x02, 0x03, 0x04, /* xid */
		0x00, 0x00, 0x00, 0x00, /* CALL */
		0x00, 0x00, 0x00, 0x02, /* rpcvers 2 */
		0x00, 0x01, 0x86, 0xa3, /* prog 100003 */
		0x00, 0x00, 0x00, 0x04, /* vers 4 */
		0x00, 0x00, 0x00, 0x01, /* proc 1 (COMPOUND) */
		0x00, 0x00, 0x00, 0x01, /* cred flavor AUTH_SYS */
		0x00, 0x00, 0x00, 0x24, /* cred body length 36 */
		0x5f, 0x5e, 0x10, 0x00, /* stamp */
		0x00, 0x00, 0x00, 0x05, /* machinename length 5 */
		'h',  'o',  's',  't',	/* */
		'1',  0x00, 0x00, 0x00, /* + padding */
		0x00, 0x00, 0x03, 0xe8, /* uid 1000 */
		0x00, 0x00, 0x00, 0x64, /* gid 100 */
		0x00, 0x00, 0x00, 0x02, /* 2 groups */
		0x00, 0x00, 0x00, 0x0a, /* 10 */
		0x00, 0x00, 0x00, 0x14, /* 20 */
		0x00, 0x00, 0x00, 0x00, /* verf flavor AUTH_NONE */
		0x00, 0x00, 0x00, 0x00, /* verf length 0 */
	};
	struct rpc_cred cr = {.uid = 1000, .gid = 100, .ngroups = 2, .groups = {10, 20}};
	uint8_t buf[512];
	struct xdr x;

	xdr_init_encode(&x, buf, sizeof(buf));
	assert_int_equal(rpc_enc_call_hdr(&x, 0x01020304, 100003, 4, 1, &cr, 0x5f5e1000, "host1"),
			 0);
	assert_int_equal(x.len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void test_call_header_no_groups_empty_name(void **state)
{
	static const uint8_t want_tail[] = {
		0x00, 0x00, 0x00, 0x01, /* AUTH_SYS */
		0x00, 0x00, 0x00, 0x14, /* body 20 */
		0x00, 0x00, 0x00, 0x07, /* stamp */
		0x00, 0x00, 0x00, 0x00, /* empty machinename */
		0x00, 0x00, 0x00, 0x00, /* uid 0 */
		0x00, 0x00, 0x00, 0x00, /* gid 0 */
		0x00, 0x00, 0x00, 0x00, /* no groups */
		0x00, 0x00, 0x00, 0x00, /* verf */
		0x00, 0x00, 0x00, 0x00,
	};
	struct rpc_cred cr = {0};
	uint8_t buf[512];
	struct xdr x;

	xdr_init_encode(&x, buf, sizeof(buf));
	assert_int_equal(rpc_enc_call_hdr(&x, 9, 100003, 4, 0, &cr, 7, NULL), 0);
	assert_int_equal(x.len, 24 + sizeof(want_tail));
	assert_memory_equal(buf + 24, want_tail, sizeof(want_tail));
}

static void test_call_header_auth_none(void **state)
{
	static const uint8_t want[] = {
		0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0x86, 0xa3,
		0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	0, /* cred AUTH_NONE */
		0, 0, 0, 0, 0, 0, 0, 0,				   /* verf AUTH_NONE */
	};
	uint8_t buf[128];
	struct xdr x;

	xdr_init_encode(&x, buf, sizeof(buf));
	assert_int_equal(rpc_enc_call_hdr(&x, 7, 100003, 4, 0, NULL, 1, "ignored"), 0);
	assert_int_equal(x.len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void test_call_header_limits(void **state)
{
	struct rpc_cred cr = {.uid = 1, .gid = 1, .ngroups = RPC_AUTH_SYS_MAX_GROUPS};
	char name[300];
	uint8_t buf[512];
	struct xdr x;
	unsigned int i;

	for (i = 0; i < RPC_AUTH_SYS_MAX_GROUPS; i++)
		cr.groups[i] = i + 100;
	memset(name, 'm', 255);
	name[255] = '\0';
	xdr_init_encode(&x, buf, sizeof(buf));
	/* 16 groups and a 255-byte name: the largest header, 24+8+4+260+12+64+8 */
	assert_int_equal(rpc_enc_call_hdr(&x, 1, 2, 3, 4, &cr, 5, name), 0);
	assert_int_equal(x.len, 24 + 8 + 4 + 260 + 12 + 64 + 8);
	/* 17 groups */
	cr.ngroups = RPC_AUTH_SYS_MAX_GROUPS + 1;
	xdr_init_encode(&x, buf, sizeof(buf));
	assert_int_equal(rpc_enc_call_hdr(&x, 1, 2, 3, 4, &cr, 5, "h"), -EINVAL);
	cr.ngroups = 1;
	/* 256-byte machinename */
	memset(name, 'm', 256);
	name[256] = '\0';
	xdr_init_encode(&x, buf, sizeof(buf));
	assert_int_equal(rpc_enc_call_hdr(&x, 1, 2, 3, 4, &cr, 5, name), -EINVAL);
	/* buffer too small */
	xdr_init_encode(&x, buf, 40);
	assert_int_equal(rpc_enc_call_hdr(&x, 1, 2, 3, 4, &cr, 5, "host"), -EMSGSIZE);
}

/* Reply builders. */
static size_t put32(uint8_t *p, size_t off, uint32_t v)
{
	p[off] = v >> 24;
	p[off + 1] = v >> 16;
	p[off + 2] = v >> 8;
	p[off + 3] = v;
	return off + 4;
}

/* accepted reply with an 8-byte verifier body, accept_stat, then a result word */
static size_t accepted(uint8_t *p, uint32_t xid, uint32_t stat)
{
	size_t o = 0;

	o = put32(p, o, xid);
	o = put32(p, o, 1); /* REPLY */
	o = put32(p, o, 0); /* MSG_ACCEPTED */
	o = put32(p, o, 6); /* verf flavor (RPCSEC_GSS, say) */
	o = put32(p, o, 8); /* verf body length */
	o = put32(p, o, 0xaaaaaaaa);
	o = put32(p, o, 0xbbbbbbbb);
	o = put32(p, o, stat);
	return o;
}

static void test_reply_success(void **state)
{
	uint8_t p[64];
	size_t n = accepted(p, 0xcafef00d, 0);
	struct xdr x;
	uint32_t xid = 0, v;

	n = put32(p, n, 0x12345678);
	xdr_init_decode(&x, p, n);
	assert_int_equal(rpc_dec_reply_hdr(&x, &xid), 0);
	assert_int_equal(xid, 0xcafef00d);
	assert_int_equal(xdr_remaining(&x), 4);
	assert_int_equal(xdr_get_u32(&x, &v), 0);
	assert_int_equal(v, 0x12345678);
}

static void test_reply_accept_errors(void **state)
{
	static const struct {
		uint32_t stat;
		int err;
	} cases[] = {
		{1, -EPROTONOSUPPORT}, /* PROG_UNAVAIL */
		{2, -EPROTONOSUPPORT}, /* PROG_MISMATCH */
		{3, -EPROTONOSUPPORT}, /* PROC_UNAVAIL */
		{4, -EBADMSG},	       /* GARBAGE_ARGS */
		{5, -EIO},	       /* SYSTEM_ERR */
		{6, -EBADMSG},	       /* not an accept_stat */
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t p[64];
		size_t n = accepted(p, 42, cases[i].stat);
		struct xdr x;
		uint32_t xid = 0;

		n = put32(p, n, 4); /* PROG_MISMATCH low */
		n = put32(p, n, 4); /* high */
		xdr_init_decode(&x, p, n);
		assert_int_equal(rpc_dec_reply_hdr(&x, &xid), cases[i].err);
		assert_int_equal(xid, 42);
	}
}

static void test_reply_denied(void **state)
{
	uint8_t p[64];
	size_t n;
	struct xdr x;
	uint32_t xid;

	/* AUTH_ERROR, AUTH_TOOWEAK */
	n = put32(p, 0, 7);
	n = put32(p, n, 1);
	n = put32(p, n, 1);
	n = put32(p, n, 1);
	n = put32(p, n, 5);
	xdr_init_decode(&x, p, n);
	assert_int_equal(rpc_dec_reply_hdr(&x, &xid), -EACCES);
	assert_int_equal(xid, 7);
	/* RPC_MISMATCH 2..2 */
	n = put32(p, 0, 8);
	n = put32(p, n, 1);
	n = put32(p, n, 1);
	n = put32(p, n, 0);
	n = put32(p, n, 2);
	n = put32(p, n, 2);
	xdr_init_decode(&x, p, n);
	assert_int_equal(rpc_dec_reply_hdr(&x, &xid), -EACCES);
	/* unknown reject_stat */
	n = put32(p, 0, 8);
	n = put32(p, n, 1);
	n = put32(p, n, 1);
	n = put32(p, n, 9);
	xdr_init_decode(&x, p, n);
	assert_int_equal(rpc_dec_reply_hdr(&x, &xid), -EBADMSG);
}

static void test_reply_malformed(void **state)
{
	uint8_t p[600];
	size_t n, k;
	struct xdr x;
	uint32_t xid;

	/* a CALL is not a reply */
	n = put32(p, 0, 1);
	n = put32(p, n, 0);
	n = put32(p, n, 0);
	xdr_init_decode(&x, p, n);
	assert_int_equal(rpc_dec_reply_hdr(&x, &xid), -EBADMSG);
	/* reply_stat neither accepted nor denied */
	n = put32(p, 0, 1);
	n = put32(p, n, 1);
	n = put32(p, n, 2);
	xdr_init_decode(&x, p, n);
	assert_int_equal(rpc_dec_reply_hdr(&x, &xid), -EBADMSG);
	/* every truncation of a success header */
	n = accepted(p, 3, 0);
	for (k = 0; k < n; k++) {
		xdr_init_decode(&x, p, k);
		assert_int_equal(rpc_dec_reply_hdr(&x, &xid), -EBADMSG);
	}
	/* a denied reply cut before its reject_stat */
	n = put32(p, 0, 1);
	n = put32(p, n, 1);
	n = put32(p, n, 1);
	xdr_init_decode(&x, p, n);
	assert_int_equal(rpc_dec_reply_hdr(&x, &xid), -EBADMSG);
	/* verifier body over 400 bytes */
	n = put32(p, 0, 1);
	n = put32(p, n, 1);
	n = put32(p, n, 0);
	n = put32(p, n, 0);
	n = put32(p, n, 404);
	memset(p + n, 0, 404);
	n += 404;
	n = put32(p, n, 0);
	xdr_init_decode(&x, p, n);
	assert_int_equal(rpc_dec_reply_hdr(&x, &xid), -EBADMSG);
	/* verifier length pointing past the end */
	n = put32(p, 0, 1);
	n = put32(p, n, 1);
	n = put32(p, n, 0);
	n = put32(p, n, 0);
	n = put32(p, n, 200);
	xdr_init_decode(&x, p, n);
	assert_int_equal(rpc_dec_reply_hdr(&x, &xid), -EBADMSG);
}

static void test_peek_xid(void **state)
{
	uint32_t xid = 0;

	assert_int_equal(rpc_peek_xid((const uint8_t *)"\xde\xad\xbe\xef\x00", 5, &xid), 0);
	assert_int_equal(xid, 0xdeadbeef);
	assert_int_equal(rpc_peek_xid((const uint8_t *)"\xde\xad\xbe", 3, &xid), -EBADMSG);
	assert_int_equal(rpc_peek_xid(NULL, 0, &xid), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call_header_auth_sys),
		cmocka_unit_test(test_call_header_no_groups_empty_name),
		cmocka_unit_test(test_call_header_auth_none),
		cmocka_unit_test(test_call_header_limits),
		cmocka_unit_test(test_reply_success),
		cmocka_unit_test(test_reply_accept_errors),
		cmocka_unit_test(test_reply_denied),
		cmocka_unit_test(test_reply_malformed),
		cmocka_unit_test(test_peek_xid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
