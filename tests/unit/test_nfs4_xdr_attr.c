/*
 * test_nfs4_xdr_attr.c - bitmap4 and fattr4 (src/nfs4/nfs4_xdr_attr.c):
 * the request bitmaps, decoding every stat attribute, skipping attributes we
 * do not keep, stopping at unknown ones, owner mapping, hostile input, and
 * fattr4 encoding for SETATTR.
 */
#include "test_nfs4_xdr_util.h"
#include "nfs4/nfs4_xdr.h"

#define VEC(name, ...) static const uint8_t name[] = {__VA_ARGS__}
#define RUN(fn, v)     run_decoder(fn, v, sizeof(v))
#define TRUNC(fn, v)   check_truncations(fn, v, sizeof(v))

static struct nfs4_attr g_a;

static int d_fattr(struct xdr *x)
{
	return nfs4_dec_fattr(x, &g_a);
}

/* fattr4 from a bitmap and an attrlist body; returns the length. */
static size_t build_fattr(uint8_t *out, const uint32_t *w, uint32_t nw, const uint8_t *body,
			  size_t blen)
{
	struct xdr x;
	uint32_t i;

	xdr_init_encode(&x, out, 4096);
	assert_int_equal(xdr_put_u32(&x, nw), 0);
	for (i = 0; i < nw; i++)
		assert_int_equal(xdr_put_u32(&x, w[i]), 0);
	assert_int_equal(xdr_put_opaque(&x, body, (uint32_t)blen), 0);
	return x.len;
}

static int dec_built(const uint32_t *w, uint32_t nw, const uint8_t *body, size_t blen)
{
	uint8_t buf[4096];
	size_t n = build_fattr(buf, w, nw, body, blen);

	return run_decoder(d_fattr, buf, n);
}

/* ---- bitmaps ---- */

static void test_bitmap_constants(void **state)
{
	(void)state;
	/* TYPE 1, CHANGE 3, SIZE 4, FSID 8, FILEID 20 */
	assert_int_equal(nfs4_bitmap_stat.w[0], 0x0010011a);
	/* MODE 33, NUMLINKS 35, OWNER 36, OWNER_GROUP 37, RAWDEV 41, SPACE_USED 45,
	 * TIME_ACCESS 47, TIME_METADATA 52, TIME_MODIFY 53 */
	assert_int_equal(nfs4_bitmap_stat.w[1], 0x0030a23a);
	assert_int_equal(nfs4_bitmap_stat.w[2], 0);
	/* + RDATTR_ERROR 11, FILEHANDLE 19 */
	assert_int_equal(nfs4_bitmap_readdir.w[0], 0x0018091a);
	assert_int_equal(nfs4_bitmap_readdir.w[1], 0x0030a23a);
	/* FILES_AVAIL 21, FILES_FREE 22, FILES_TOTAL 23, MAXNAME 29 */
	assert_int_equal(nfs4_bitmap_statfs.w[0], 0x20e00000);
	/* SPACE_AVAIL 42, SPACE_FREE 43, SPACE_TOTAL 44 */
	assert_int_equal(nfs4_bitmap_statfs.w[1], 0x00001c00);
	/* SUPPORTED_ATTRS 0, FH_EXPIRE_TYPE 2, LEASE_TIME 10, MAXREAD 30, MAXWRITE 31 */
	assert_int_equal(nfs4_bitmap_fsinfo.w[0], 0xc0000405);
	assert_int_equal(nfs4_bitmap_fsinfo.w[1], 0);
}

static const struct nfs4_bitmap bm_sparse = {{1, 0, 4}};
static const struct nfs4_bitmap bm_zero = {{0, 0, 0}};

static int e_bm_sparse(struct xdr *x)
{
	return nfs4_enc_bitmap(x, &bm_sparse);
}

static int e_bm_zero(struct xdr *x)
{
	return nfs4_enc_bitmap(x, &bm_zero);
}

static void test_bitmap_encode(void **state)
{
	static const uint8_t sparse[] = {U32(3), U32(1), U32(0), U32(4)};
	static const uint8_t zero[] = {U32(0)}; /* trailing zero words are not sent */

	(void)state;
	check_encoder(e_bm_sparse, sparse, sizeof(sparse));
	check_encoder(e_bm_zero, zero, sizeof(zero));
}

static struct nfs4_bitmap g_bm;

static int d_bitmap(struct xdr *x)
{
	return nfs4_dec_bitmap(x, &g_bm);
}

static void test_bitmap_decode(void **state)
{
	VEC(five, U32(5), U32(1), U32(2), U32(3), U32(4), U32(5), U32(0xcafe));
	VEC(eight, U32(8), U32(1), U32(2), U32(3), U32(4), U32(5), U32(6), U32(7), U32(8));
	VEC(nine, U32(9), U32(1), U32(2), U32(3), U32(4), U32(5), U32(6), U32(7), U32(8), U32(9));
	VEC(none, U32(0));
	VEC(huge, U32(0xffffffff), U32(1));
	uint8_t hundred[4 + 400];
	struct xdr x;

	(void)state;
	xdr_init_decode(&x, five, sizeof(five));
	assert_int_equal(nfs4_dec_bitmap(&x, &g_bm), 0);
	assert_int_equal(g_bm.w[0], 1);
	assert_int_equal(g_bm.w[2], 3);
	/* words past the third are consumed and ignored */
	assert_int_equal(xdr_remaining(&x), 4);
	TRUNC(d_bitmap, eight);
	assert_int_equal(RUN(d_bitmap, eight), 0);
	assert_int_equal(RUN(d_bitmap, nine), -EBADMSG);
	assert_int_equal(RUN(d_bitmap, none), 0);
	assert_int_equal(g_bm.w[0], 0);
	assert_int_equal(RUN(d_bitmap, huge), -EBADMSG);
	memset(hundred, 0xff, sizeof(hundred));
	memcpy(hundred, (const uint8_t[]){U32(100)}, 4);
	assert_int_equal(run_decoder(d_bitmap, hundred, sizeof(hundred)), -EBADMSG);
	assert_int_equal(run_decoder(d_fattr, hundred, sizeof(hundred)), -EBADMSG);
}

/* ---- fattr4 decode ---- */

/* Every attribute nfs4_bitmap_readdir asks for, as a server sends them. */
VEC(all_stat, U32(2), U32(0x0018091a), U32(0x0030a23a), /* bitmap4 */
    U32(140),						/* attrlist4 length */
    U32(1),						/*  1 type NF4REG */
    U64(0x1122334455667788ull),				/*  3 change */
    U64(4097),						/*  4 size */
    U64(1), U64(2),					/*  8 fsid major, minor */
    U32(0),						/* 11 rdattr_error NFS4_OK */
    U32(3), 9, 8, 7, 0,					/* 19 filehandle */
    U64(0xfedcba9876543210ull),				/* 20 fileid */
    U32(0104755),					/* 33 mode (type bits dropped) */
    U32(2),						/* 35 numlinks */
    U32(4), '1', '0', '0', '0',				/* 36 owner "1000" */
    U32(11), 's', 't', 'a', 'f', 'f', '@', 'l', 'o', 'c', 'a', 'l', 0, /* 37 group */
    U32(8), U32(1),						       /* 41 rawdev */
    U64(8192),							       /* 45 space_used */
    U64(1700000000), U32(1),					       /* 47 time_access */
    U64(1700000001), U32(2),					       /* 52 time_metadata */
    U64(0xfffffffffffffffbull), U32(999999999));		       /* 53 time_modify: -5 s */

static void test_fattr_all_stat(void **state)
{
	const uint64_t want =
		NFS4_ATTR_BIT(FATTR4_TYPE) | NFS4_ATTR_BIT(FATTR4_CHANGE) |
		NFS4_ATTR_BIT(FATTR4_SIZE) | NFS4_ATTR_BIT(FATTR4_FSID) |
		NFS4_ATTR_BIT(FATTR4_RDATTR_ERROR) | NFS4_ATTR_BIT(FATTR4_FILEHANDLE) |
		NFS4_ATTR_BIT(FATTR4_FILEID) | NFS4_ATTR_BIT(FATTR4_MODE) |
		NFS4_ATTR_BIT(FATTR4_NUMLINKS) | NFS4_ATTR_BIT(FATTR4_OWNER) |
		NFS4_ATTR_BIT(FATTR4_OWNER_GROUP) | NFS4_ATTR_BIT(FATTR4_RAWDEV) |
		NFS4_ATTR_BIT(FATTR4_SPACE_USED) | NFS4_ATTR_BIT(FATTR4_TIME_ACCESS) |
		NFS4_ATTR_BIT(FATTR4_TIME_METADATA) | NFS4_ATTR_BIT(FATTR4_TIME_MODIFY);
	struct xdr x;

	(void)state;
	xdr_init_decode(&x, all_stat, sizeof(all_stat));
	assert_int_equal(nfs4_dec_fattr(&x, &g_a), 0);
	assert_int_equal(xdr_remaining(&x), 0);
	assert_true(g_a.valid == want);
	assert_int_equal(g_a.type, NF4REG);
	assert_true(g_a.change == 0x1122334455667788ull);
	assert_int_equal(g_a.size, 4097);
	assert_int_equal(g_a.fsid_major, 1);
	assert_int_equal(g_a.fsid_minor, 2);
	assert_int_equal(g_a.rdattr_error, 0);
	assert_int_equal(g_a.fh.len, 3);
	assert_memory_equal(g_a.fh.data, "\x09\x08\x07", 3);
	assert_true(g_a.fileid == 0xfedcba9876543210ull);
	assert_int_equal(g_a.mode, 04755);
	assert_int_equal(g_a.nlink, 2);
	assert_int_equal(g_a.uid, 1000);
	assert_int_equal(g_a.gid, 65534);
	assert_int_equal(g_a.rdev_major, 8);
	assert_int_equal(g_a.rdev_minor, 1);
	assert_int_equal(g_a.space_used, 8192);
	assert_int_equal(g_a.atime.sec, 1700000000);
	assert_int_equal(g_a.atime.nsec, 1);
	assert_int_equal(g_a.ctime.sec, 1700000001);
	assert_int_equal(g_a.ctime.nsec, 2);
	assert_true(g_a.mtime.sec == -5);
	assert_int_equal(g_a.mtime.nsec, 999999999);
	TRUNC(d_fattr, all_stat);
}

/* A declared attrlist shorter than its attributes is malformed. */
static void test_fattr_short_attrlist(void **state)
{
	uint8_t v[sizeof(all_stat)];
	uint32_t len;

	(void)state;
	memcpy(v, all_stat, sizeof(v));
	for (len = 0; len < 140; len++) {
		memcpy(v + 12, (const uint8_t[]){U32(len)}, 4);
		/* the opaque is followed by the rest, which is now trailing data */
		if (run_decoder(d_fattr, v, sizeof(v)) != -EBADMSG)
			fail_msg("attrlist length %u accepted", len);
	}
}

static void test_fattr_fsinfo_statfs(void **state)
{
	VEC(body, U32(2), U32(0xffffffff), U32(0x00ffffff), /*  0 supported_attrs (skipped) */
	    U32(0),					    /*  2 fh_expire_type (skipped) */
	    U32(90),					    /* 10 lease_time */
	    U64(1000), U64(2000), U64(3000),		    /* 21-23 files avail/free/total */
	    U32(255),					    /* 29 maxname */
	    U64(1048576), U64(2097152),			    /* 30 maxread, 31 maxwrite */
	    U64(10), U64(20), U64(30));			    /* 42-44 space avail/free/total */
	const uint32_t w[2] = {0xe0e00405, 0x1c00};

	(void)state;
	assert_int_equal(dec_built(w, 2, body, sizeof(body)), 0);
	assert_int_equal(g_a.lease_time, 90);
	assert_int_equal(g_a.files_avail, 1000);
	assert_int_equal(g_a.files_free, 2000);
	assert_int_equal(g_a.files_total, 3000);
	assert_int_equal(g_a.maxname, 255);
	assert_int_equal(g_a.maxread, 1048576);
	assert_int_equal(g_a.maxwrite, 2097152);
	assert_int_equal(g_a.space_avail, 10);
	assert_int_equal(g_a.space_free, 20);
	assert_int_equal(g_a.space_total, 30);
	assert_false(g_a.valid & NFS4_ATTR_BIT(FATTR4_SUPPORTED_ATTRS));
	assert_true(g_a.valid & NFS4_ATTR_BIT(FATTR4_MAXWRITE));
	/* one byte short: the last attribute is incomplete */
	assert_int_equal(dec_built(w, 2, body, sizeof(body) - 4), -EBADMSG);
}

/* Attributes of known size that we do not keep are skipped exactly. */
static void test_fattr_skip_known(void **state)
{
	VEC(body, U32(1), U32(1), U32(0), U32(0), /* 5,6,7,9 bools */
	    U32(1), U32(0), U32(0), U32(0x1f),	  /* 12 acl: one nfsace4 */
	    U32(9), 'E', 'V', 'E', 'R', 'Y', 'O', 'N', 'E', '@', 0, 0, 0,
	    U32(3),						/* 13 aclsupport */
	    U32(1), U32(0), U32(1), U32(1),			/* 15-18 bools */
	    U64(42),						/* 20 fileid */
	    U32(1), U32(3), 'e', 'f', 's', 0,			/* 24 fs_locations: fs_root */
	    U32(1), U32(1), U32(4), 'h', 'o', 's', 't', U32(0), /* one location */
	    U32(1),						/* 26 homogeneous */
	    U64(0xffffffffffffffffull),				/* 27 maxfilesize */
	    U32(32000),						/* 28 maxlink */
	    U32(4), 't', 'e', 'x', 't',				/* 32 mimetype */
	    U32(0644),						/* 33 mode */
	    U32(1),						/* 34 no_trunc */
	    U64(1), U64(2), U64(3),				/* 38-40 quota */
	    U32(0),						/* 46 system */
	    U64(1), U32(0), U64(2), U32(0),			/* 49 time_backup, 50 time_create */
	    U64(0), U32(1),					/* 51 time_delta */
	    U64(5), U32(6),					/* 53 time_modify */
	    U64(99),						/* 55 mounted_on_fileid */
	    U64(0), U32(0),					/* 56 dir_notif_delay */
	    U32(1), U32(0x12));					/* 75 suppattr_exclcreat */
	const uint32_t w[3] = {
		(1u << 5) | (1u << 6) | (1u << 7) | (1u << 9) | (1u << 12) | (1u << 13) |
			(1u << 15) | (1u << 16) | (1u << 17) | (1u << 18) | (1u << 20) |
			(1u << 24) | (1u << 26) | (1u << 27) | (1u << 28),
		(1u << 0) | (1u << 1) | (1u << 2) | (1u << 6) | (1u << 7) | (1u << 8) | (1u << 14) |
			(1u << 17) | (1u << 18) | (1u << 19) | (1u << 21) | (1u << 23) | (1u << 24),
		1u << 11};

	(void)state;
	assert_int_equal(dec_built(w, 3, body, sizeof(body)), 0);
	assert_int_equal(g_a.fileid, 42);
	assert_int_equal(g_a.mode, 0644);
	assert_int_equal(g_a.mtime.sec, 5);
	assert_int_equal(g_a.mtime.nsec, 6);
	assert_true(g_a.valid == (NFS4_ATTR_BIT(FATTR4_FILEID) | NFS4_ATTR_BIT(FATTR4_MODE) |
				  NFS4_ATTR_BIT(FATTR4_TIME_MODIFY)));
	/* the walk reaches the last attribute: cutting it is an error */
	assert_int_equal(dec_built(w, 3, body, sizeof(body) - 4), -EBADMSG);
}

/* The first attribute of unknown size ends decoding; the rest is ignored. */
static void test_fattr_unknown_stops(void **state)
{
	VEC(body, U64(77),		   /* 4 size */
	    0xde, 0xad, 0xbe, 0xef, 0x01); /* 61 fs_status, 65 ...: not parsed */
	const uint32_t w[3] = {1u << 4, 1u << (61 - 32), 1u << (65 - 64)};
	const uint32_t w5[5] = {1u << 4, 0, 0, 0xffffffff, 0xffffffff}; /* words 3, 4 ignored */
	uint8_t buf[128];
	size_t n;

	(void)state;
	assert_int_equal(dec_built(w, 3, body, sizeof(body)), 0);
	assert_true(g_a.valid == NFS4_ATTR_BIT(FATTR4_SIZE));
	assert_int_equal(g_a.size, 77);
	assert_int_equal(dec_built(w5, 5, body, 8), 0);
	assert_int_equal(g_a.size, 77);
	/* the fattr4 is consumed up to its end whatever was parsed */
	n = build_fattr(buf, w, 3, body, sizeof(body));
	memcpy(buf + n, (const uint8_t[]){U32(0x5a5a5a5a)}, 4);
	{
		struct xdr x;
		uint32_t after;

		xdr_init_decode(&x, buf, n + 4);
		assert_int_equal(nfs4_dec_fattr(&x, &g_a), 0);
		assert_int_equal(xdr_get_u32(&x, &after), 0);
		assert_int_equal(after, 0x5a5a5a5a);
	}
}

static void test_fattr_owner_mapping(void **state)
{
	static const struct {
		const char *s;
		uint32_t id;
	} t[] = {
		{"0", 0},
		{"1000", 1000},
		{"4294967295", 4294967295u},
		{"4294967296", 65534},
		{"00000000001", 65534}, /* 11 digits */
		{"", 65534},
		{"12a", 65534},
		{"-1", 65534},
		{" 1", 65534},
		{"root@example.com", 65534},
	};
	const uint32_t w[2] = {0, (1u << 4) | (1u << 5)}; /* OWNER, OWNER_GROUP */
	uint8_t body[64];
	struct xdr x;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		xdr_init_encode(&x, body, sizeof(body));
		assert_int_equal(xdr_put_string(&x, t[i].s), 0);
		assert_int_equal(xdr_put_string(&x, "7"), 0);
		assert_int_equal(dec_built(w, 2, body, x.len), 0);
		if (g_a.uid != t[i].id)
			fail_msg("owner \"%s\" -> %u, expected %u", t[i].s, g_a.uid, t[i].id);
		assert_int_equal(g_a.gid, 7);
	}
}

static void test_fattr_hostile(void **state)
{
	VEC(huge_attrlist, U32(1), U32(1u << 4), U32(0xffffffff), U64(1));
	VEC(nsec_1e9, U32(2), U32(0), U32(1u << (53 - 32)), U32(12), U64(1), U32(1000000000));
	VEC(bad_settime, U32(2), U32(0), U32(1u << (48 - 32)), U32(4), U32(2));
	VEC(owner_1025, U32(2), U32(0), U32(1u << (36 - 32)), U32(8), U32(1025), U32(0));
	VEC(acl_count, U32(1), U32(1u << 12), U32(4), U32(0x10000000));
	VEC(fh_zero, U32(1), U32(1u << 19), U32(4), U32(0));
	uint8_t body[4 + 132];
	const uint32_t wfh[1] = {1u << 19};

	(void)state;
	assert_int_equal(RUN(d_fattr, huge_attrlist), -EBADMSG);
	assert_int_equal(RUN(d_fattr, nsec_1e9), -EBADMSG);
	assert_int_equal(RUN(d_fattr, bad_settime), -EBADMSG);
	assert_int_equal(RUN(d_fattr, owner_1025), -EBADMSG);
	assert_int_equal(RUN(d_fattr, acl_count), -EBADMSG);
	assert_int_equal(RUN(d_fattr, fh_zero), -EBADMSG);
	/* a filehandle attribute of 129 bytes */
	memset(body, 0x11, sizeof(body));
	memcpy(body, (const uint8_t[]){U32(129)}, 4);
	assert_int_equal(dec_built(wfh, 1, body, sizeof(body)), -EBADMSG);
	memcpy(body, (const uint8_t[]){U32(128)}, 4);
	assert_int_equal(dec_built(wfh, 1, body, 4 + 128), 0);
	assert_int_equal(g_a.fh.len, 128);
}

/* ---- fattr4 encode ---- */

static int e_full(struct xdr *x)
{
	struct nfs4_sattr sa = {
		.set = NFS4_SET_MTIME | NFS4_SET_ATIME_NOW | NFS4_SET_GID | NFS4_SET_UID |
		       NFS4_SET_MODE | NFS4_SET_SIZE,
		.mode = 07777,
		.uid = 0,
		.gid = 4294967295u,
		.size = 0,
		.mtime = {1, 2},
	};

	return nfs4_enc_fattr(x, &sa);
}

static int e_null(struct xdr *x)
{
	return nfs4_enc_fattr(x, NULL);
}

static int e_size(struct xdr *x)
{
	struct nfs4_sattr sa = {.set = NFS4_SET_SIZE, .size = 0x0102030405060708ull};

	return nfs4_enc_fattr(x, &sa);
}

static int e_now_wins(struct xdr *x)
{
	struct nfs4_sattr sa = {.set = NFS4_SET_ATIME | NFS4_SET_ATIME_NOW, .atime = {9, 9}};

	return nfs4_enc_fattr(x, &sa);
}

static void test_fattr_encode(void **state)
{
	static const uint8_t full[] = {
		U32(2),		 /* bitmap words */
		U32(1u << 4),	 /* SIZE */
		U32(0x00410032), /* MODE, OWNER, OWNER_GROUP, *_SET */
		U32(56),	 /* attrlist length */
		U64(0),		 /* size */
		U32(07777),	 /* mode */
		U32(1),
		'0',
		0,
		0,
		0, /* owner "0" */
		U32(10),
		'4',
		'2',
		'9',
		'4',
		'9',
		'6',
		'7',
		'2',
		'9',
		'5',
		0,
		0,	/* group */
		U32(0), /* atime: SET_TO_SERVER_TIME4 */
		U32(1),
		U64(1),
		U32(2), /* mtime: SET_TO_CLIENT_TIME4 {1, 2} */
	};
	static const uint8_t empty[] = {U32(0), U32(0)};
	static const uint8_t size[] = {U32(1), U32(1u << 4), U32(8), U64(0x0102030405060708ull)};
	static const uint8_t now[] = {U32(2), U32(0), U32(1u << 16), U32(4), U32(0)};

	(void)state;
	check_encoder(e_full, full, sizeof(full));
	check_encoder(e_null, empty, sizeof(empty));
	check_encoder(e_size, size, sizeof(size));
	check_encoder(e_now_wins, now, sizeof(now));
}

/* What we encode, we decode (owner strings back to numbers). */
static void test_fattr_roundtrip(void **state)
{
	struct nfs4_sattr sa = {.set = NFS4_SET_SIZE | NFS4_SET_MODE | NFS4_SET_UID | NFS4_SET_GID,
				.mode = 0640,
				.uid = 1234,
				.gid = 99,
				.size = 5};
	uint8_t buf[256];
	struct xdr x;

	(void)state;
	xdr_init_encode(&x, buf, sizeof(buf));
	assert_int_equal(nfs4_enc_fattr(&x, &sa), 0);
	assert_int_equal(run_decoder(d_fattr, buf, x.len), 0);
	assert_int_equal(g_a.size, 5);
	assert_int_equal(g_a.mode, 0640);
	assert_int_equal(g_a.uid, 1234);
	assert_int_equal(g_a.gid, 99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitmap_constants),
		cmocka_unit_test(test_bitmap_encode),
		cmocka_unit_test(test_bitmap_decode),
		cmocka_unit_test(test_fattr_all_stat),
		cmocka_unit_test(test_fattr_short_attrlist),
		cmocka_unit_test(test_fattr_fsinfo_statfs),
		cmocka_unit_test(test_fattr_skip_known),
		cmocka_unit_test(test_fattr_unknown_stops),
		cmocka_unit_test(test_fattr_owner_mapping),
		cmocka_unit_test(test_fattr_hostile),
		cmocka_unit_test(test_fattr_encode),
		cmocka_unit_test(test_fattr_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
