/*
 * test_nfs4_xdr_enc.c - every NFSv4.1 encoder against a hand-written byte
 * vector (RFC 5662 XDR), and against every buffer too small to hold it.
 */
#include "test_nfs4_xdr_util.h"
#include "nfs4/nfs4_xdr.h"

static const uint8_t sessionid[16] = {SESSIONID};
static const struct nfs4_stateid sid = {
	1, {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab}};

#define CHECK(fn, ...)                                       \
	do {                                                 \
		static const uint8_t exp_[] = {__VA_ARGS__}; \
		check_encoder(fn, exp_, sizeof(exp_));       \
	} while (0)

/* ---- compound and session ---- */

static int c_compound(struct xdr *x)
{
	size_t off;
	int rc = nfs4_enc_compound_hdr(x, "t", 1, &off);

	if (!rc)
		rc = nfs4_enc_putrootfh(x);
	if (!rc)
		rc = nfs4_enc_getfh(x);
	if (!rc)
		rc = nfs4_enc_compound_end(x, off, 2);
	return rc;
}

static void test_compound(void **state)
{
	(void)state;
	CHECK(c_compound, 0x00, 0x00, 0x00, 0x01, 't', 0x00, 0x00, 0x00, /* tag "t" + pad */
	      0x00, 0x00, 0x00, 0x01,					 /* minorversion 1 */
	      0x00, 0x00, 0x00, 0x02,					 /* 2 ops (patched) */
	      0x00, 0x00, 0x00, 0x18,					 /* OP_PUTROOTFH 24 */
	      0x00, 0x00, 0x00, 0x0a);					 /* OP_GETFH 10 */
}

static int c_sequence(struct xdr *x)
{
	struct nfs4_sequence_args a = {
		.seqid = 7, .slotid = 2, .highest_slotid = 3, .cachethis = true};

	memcpy(a.sessionid, sessionid, sizeof(sessionid));
	return nfs4_enc_sequence(x, &a);
}

static void test_sequence(void **state)
{
	(void)state;
	CHECK(c_sequence, 0x00, 0x00, 0x00, 0x35, /* OP_SEQUENCE 53 */
	      SESSIONID,			  /* sa_sessionid[16] */
	      0x00, 0x00, 0x00, 0x07,		  /* sa_sequenceid */
	      0x00, 0x00, 0x00, 0x02,		  /* sa_slotid */
	      0x00, 0x00, 0x00, 0x03,		  /* sa_highest_slotid */
	      0x00, 0x00, 0x00, 0x01);		  /* sa_cachethis TRUE */
}

static int c_exchange_id(struct xdr *x)
{
	struct nfs4_exchange_id_args a = {.verifier = {VERF},
					  .owner = (const uint8_t *)"efs",
					  .owner_len = 3,
					  .flags = EXCHGID4_FLAG_USE_NON_PNFS,
					  .impl_domain = "d",
					  .impl_name = "n"};

	return nfs4_enc_exchange_id(x, &a);
}

static int c_exchange_id_noimpl(struct xdr *x)
{
	struct nfs4_exchange_id_args a = {
		.verifier = {VERF}, .owner = (const uint8_t *)"abcd", .owner_len = 4, .flags = 0};

	return nfs4_enc_exchange_id(x, &a);
}

static void test_exchange_id(void **state)
{
	(void)state;
	CHECK(c_exchange_id, U32(42),	/* OP_EXCHANGE_ID */
	      VERF,			/* co_verifier */
	      U32(3), 'e', 'f', 's', 0, /* co_ownerid<> */
	      U32(0x00010000),		/* eia_flags USE_NON_PNFS */
	      U32(0),			/* spa_how SP4_NONE */
	      U32(1),			/* eia_client_impl_id<1>: one */
	      U32(1), 'd', 0, 0, 0,	/* nii_domain */
	      U32(1), 'n', 0, 0, 0,	/* nii_name */
	      U64(0), U32(0));		/* nii_date */
	CHECK(c_exchange_id_noimpl, U32(42), VERF, U32(4), 'a', 'b', 'c',
	      'd',	      /* owner, no padding */
	      U32(0), U32(0), /* flags, SP4_NONE */
	      U32(0));	      /* no impl id */
}

static int c_create_session(struct xdr *x)
{
	struct nfs4_create_session_args a = {
		.clientid = 0x1122334455667788ull,
		.seqid = 1,
		.flags = CREATE_SESSION4_FLAG_CONN_BACK_CHAN,
		.fore = {0, 1049600, 1049600, 4096, 16, 64},
		.back = {0, 4096, 4096, 0, 2, 1},
		.cb_program = 0x40000000,
		.uid = 1000,
		.gid = 100,
	};

	return nfs4_enc_create_session(x, &a);
}

static void test_create_session(void **state)
{
	(void)state;
	CHECK(c_create_session, U32(43),	  /* OP_CREATE_SESSION */
	      U64(0x1122334455667788ull),	  /* csa_clientid */
	      U32(1),				  /* csa_sequence */
	      U32(2),				  /* csa_flags CONN_BACK_CHAN */
	      U32(0), U32(1049600), U32(1049600), /* fore: headerpad, maxreq, maxresp */
	      U32(4096), U32(16), U32(64),	  /* resp_cached, maxops, maxreqs */
	      U32(0),				  /* ca_rdma_ird<1>: none */
	      U32(0), U32(4096), U32(4096),	  /* back channel */
	      U32(0), U32(2), U32(1), U32(0), U32(0x40000000), /* csa_cb_program */
	      U32(1),					       /* csa_sec_parms<>: one */
	      U32(1),					       /* AUTH_SYS */
	      U32(0),					       /* stamp */
	      U32(0),					       /* machinename "" */
	      U32(1000), U32(100),			       /* uid, gid */
	      U32(0));					       /* gids<> */
}

static int c_destroy_session(struct xdr *x)
{
	return nfs4_enc_destroy_session(x, sessionid);
}

static int c_destroy_clientid(struct xdr *x)
{
	return nfs4_enc_destroy_clientid(x, CLIENTID);
}

static int c_reclaim_complete(struct xdr *x)
{
	return nfs4_enc_reclaim_complete(x, false);
}

static void test_destroy_reclaim(void **state)
{
	(void)state;
	CHECK(c_destroy_session, U32(44), SESSIONID);
	CHECK(c_destroy_clientid, U32(57), U64(CLIENTID));
	CHECK(c_reclaim_complete, U32(58), U32(0));
}

/* ---- file handles and names ---- */

static int c_putfh(struct xdr *x)
{
	struct nfs4_fh fh = {5, {1, 2, 3, 4, 5}};

	return nfs4_enc_putfh(x, &fh);
}

static int c_putrootfh(struct xdr *x)
{
	return nfs4_enc_putrootfh(x);
}

static int c_getfh(struct xdr *x)
{
	return nfs4_enc_getfh(x);
}

static int c_savefh(struct xdr *x)
{
	return nfs4_enc_savefh(x);
}

static int c_restorefh(struct xdr *x)
{
	return nfs4_enc_restorefh(x);
}

static int c_lookupp(struct xdr *x)
{
	return nfs4_enc_lookupp(x);
}

static int c_readlink(struct xdr *x)
{
	return nfs4_enc_readlink(x);
}

static void test_fh_ops(void **state)
{
	(void)state;
	CHECK(c_putfh, U32(22), U32(5), 1, 2, 3, 4, 5, 0, 0, 0); /* nfs_fh4 + 3 pad */
	CHECK(c_putrootfh, U32(24));
	CHECK(c_getfh, U32(10));
	CHECK(c_savefh, U32(32));
	CHECK(c_restorefh, U32(31));
	CHECK(c_lookupp, U32(16));
	CHECK(c_readlink, U32(27));
}

static int c_lookup(struct xdr *x)
{
	return nfs4_enc_lookup(x, "abc");
}

static int c_remove(struct xdr *x)
{
	return nfs4_enc_remove(x, "x");
}

static int c_rename(struct xdr *x)
{
	return nfs4_enc_rename(x, "a", "bcde");
}

static int c_link(struct xdr *x)
{
	return nfs4_enc_link(x, "l");
}

static void test_name_ops(void **state)
{
	(void)state;
	CHECK(c_lookup, U32(15), U32(3), 'a', 'b', 'c', 0);
	CHECK(c_remove, U32(28), U32(1), 'x', 0, 0, 0);
	CHECK(c_rename, U32(29), U32(1), 'a', 0, 0, 0, /* oldname */
	      U32(4), 'b', 'c', 'd', 'e');	       /* newname */
	CHECK(c_link, U32(11), U32(1), 'l', 0, 0, 0);
}

static int c_create_lnk(struct xdr *x)
{
	struct nfs4_sattr sa = {.set = NFS4_SET_MODE, .mode = 0777};
	struct nfs4_create_args a = {.type = NF4LNK, .linkdata = "tgt", .name = "ln", .sattr = &sa};

	return nfs4_enc_create(x, &a);
}

static int c_create_chr(struct xdr *x)
{
	struct nfs4_create_args a = {.type = NF4CHR, .major = 1, .minor = 3, .name = "c"};

	return nfs4_enc_create(x, &a);
}

static int c_create_dir(struct xdr *x)
{
	struct nfs4_sattr sa = {.set = NFS4_SET_MODE | NFS4_SET_GID, .mode = 0755, .gid = 7};
	struct nfs4_create_args a = {.type = NF4DIR, .name = "d", .sattr = &sa};

	return nfs4_enc_create(x, &a);
}

static void test_create(void **state)
{
	(void)state;
	CHECK(c_create_lnk, U32(6),	    /* OP_CREATE */
	      U32(5),			    /* NF4LNK */
	      U32(3), 't', 'g', 't', 0,	    /* linkdata */
	      U32(2), 'l', 'n', 0, 0,	    /* objname */
	      U32(2), U32(0), U32(1u << 1), /* bitmap: MODE (33) */
	      U32(4), U32(0777));	    /* attrlist */
	CHECK(c_create_chr, U32(6), U32(4), /* NF4CHR */
	      U32(1), U32(3),		    /* specdata1, specdata2 */
	      U32(1), 'c', 0, 0, 0,	    /* objname */
	      U32(0), U32(0));		    /* empty fattr4 */
	CHECK(c_create_dir, U32(6), U32(2), /* NF4DIR: no body */
	      U32(1), 'd', 0, 0, 0, U32(2), U32(0),
	      U32((1u << 1) | (1u << 5)), /* MODE, OWNER_GROUP */
	      U32(12), U32(0755), U32(1), '7', 0, 0, 0);
}

/* ---- attributes ---- */

static int c_getattr(struct xdr *x)
{
	return nfs4_enc_getattr(x, &nfs4_bitmap_stat);
}

static int c_setattr_all(struct xdr *x)
{
	struct nfs4_sattr sa = {
		.set = NFS4_SET_SIZE | NFS4_SET_MODE | NFS4_SET_UID | NFS4_SET_GID |
		       NFS4_SET_ATIME | NFS4_SET_MTIME_NOW,
		.mode = 0100644, /* file type bits are not sent */
		.uid = 1000,
		.gid = 50,
		.size = 0x100000000ull,
		.atime = {1700000000, 5},
	};

	return nfs4_enc_setattr(x, NULL, &sa);
}

static int c_setattr_times(struct xdr *x)
{
	struct nfs4_sattr sa = {
		.set = NFS4_SET_ATIME_NOW | NFS4_SET_MTIME,
		.mtime = {-1, 999999999},
	};

	return nfs4_enc_setattr(x, &sid, &sa);
}

static int c_access(struct xdr *x)
{
	return nfs4_enc_access(x, 0x3f);
}

static void test_attr_ops(void **state)
{
	(void)state;
	CHECK(c_getattr, U32(9), U32(2), U32(0x0010011a), U32(0x0030a23a));
	CHECK(c_setattr_all, U32(34), /* OP_SETATTR */
	      ZERO_SID,		      /* anonymous stateid */
	      U32(2),		      /* bitmap: 2 words */
	      U32(1u << 4),	      /* SIZE (4) */
	      U32(0x00410032),	      /* MODE 33, OWNER 36, GROUP 37, ATIME_SET 48, MTIME_SET 54 */
	      U32(48),		      /* attrlist length */
	      U64(0x100000000ull),    /* size */
	      U32(0644),	      /* mode */
	      U32(4), '1', '0', '0', '0',      /* owner */
	      U32(2), '5', '0', 0, 0,	       /* owner_group */
	      U32(1), U64(1700000000), U32(5), /* SET_TO_CLIENT_TIME4 + nfstime4 */
	      U32(0));			       /* SET_TO_SERVER_TIME4 */
	CHECK(c_setattr_times, U32(34), SID_BYTES, U32(2), U32(0), U32((1u << 16) | (1u << 22)),
	      U32(20), U32(0),					   /* atime: server */
	      U32(1), U64(0xffffffffffffffffull), U32(999999999)); /* mtime -1 s */
	CHECK(c_access, U32(3), U32(0x3f));
}

/* ---- open state ---- */

static int c_open_guarded(struct xdr *x)
{
	struct nfs4_sattr sa = {.set = NFS4_SET_MODE, .mode = 0600};
	struct nfs4_open_args a = {
		.share_access = OPEN4_SHARE_ACCESS_BOTH,
		.share_deny = OPEN4_SHARE_DENY_NONE,
		.clientid = CLIENTID,
		.owner = (const uint8_t *)"ow",
		.owner_len = 2,
		.opentype = OPEN4_CREATE,
		.createmode = GUARDED4,
		.sattr = &sa,
		.claim = CLAIM_NULL,
		.name = "f",
	};

	return nfs4_enc_open(x, &a);
}

static int c_open_excl(struct xdr *x)
{
	struct nfs4_open_args a = {
		.share_access = OPEN4_SHARE_ACCESS_WRITE,
		.clientid = CLIENTID,
		.owner = (const uint8_t *)"ow",
		.owner_len = 2,
		.opentype = OPEN4_CREATE,
		.createmode = EXCLUSIVE4_1,
		.verifier = {VERF},
		.claim = CLAIM_NULL,
		.name = "f",
	};

	return nfs4_enc_open(x, &a);
}

static int c_open_fh(struct xdr *x)
{
	struct nfs4_open_args a = {
		.share_access = OPEN4_SHARE_ACCESS_READ | OPEN4_SHARE_ACCESS_WANT_NO_DELEG,
		.clientid = CLIENTID,
		.owner = (const uint8_t *)"ow",
		.owner_len = 2,
		.opentype = OPEN4_NOCREATE,
		.claim = CLAIM_FH,
	};

	return nfs4_enc_open(x, &a);
}

static int c_open_prev(struct xdr *x)
{
	struct nfs4_open_args a = {
		.share_access = OPEN4_SHARE_ACCESS_READ,
		.clientid = CLIENTID,
		.owner = (const uint8_t *)"owner",
		.owner_len = 5,
		.opentype = OPEN4_NOCREATE,
		.claim = CLAIM_PREVIOUS,
		.delegate_type = OPEN_DELEGATE_READ,
	};

	return nfs4_enc_open(x, &a);
}

static void test_open(void **state)
{
	(void)state;
	CHECK(c_open_guarded, U32(18),			       /* OP_OPEN */
	      U32(0),					       /* seqid (unused in 4.1) */
	      U32(3), U32(0),				       /* share_access BOTH, deny NONE */
	      U64(CLIENTID), U32(2), 'o', 'w', 0, 0,	       /* open_owner4 */
	      U32(1),					       /* OPEN4_CREATE */
	      U32(1),					       /* GUARDED4 */
	      U32(2), U32(0), U32(1u << 1), U32(4), U32(0600), /* createattrs: mode */
	      U32(0),					       /* CLAIM_NULL */
	      U32(1), 'f', 0, 0, 0);			       /* file */
	CHECK(c_open_excl, U32(18), U32(0), U32(2), U32(0), U64(CLIENTID), U32(2), 'o', 'w', 0, 0,
	      U32(1),	      /* OPEN4_CREATE */
	      U32(3),	      /* EXCLUSIVE4_1 */
	      VERF,	      /* cva_verf */
	      U32(0), U32(0), /* cva_attrs: empty fattr4 */
	      U32(0), U32(1), 'f', 0, 0, 0);
	CHECK(c_open_fh, U32(18), U32(0), U32(0x401), U32(0), U64(CLIENTID), U32(2), 'o', 'w', 0, 0,
	      U32(0),  /* OPEN4_NOCREATE */
	      U32(4)); /* CLAIM_FH */
	CHECK(c_open_prev, U32(18), U32(0), U32(1), U32(0), U64(CLIENTID), U32(5), 'o', 'w', 'n',
	      'e', 'r', 0, 0, 0, U32(0), /* OPEN4_NOCREATE */
	      U32(1), U32(1));		 /* CLAIM_PREVIOUS, OPEN_DELEGATE_READ */
}

static int c_close(struct xdr *x)
{
	return nfs4_enc_close(x, &sid);
}

static int c_delegreturn(struct xdr *x)
{
	return nfs4_enc_delegreturn(x, &sid);
}

static int c_free_stateid(struct xdr *x)
{
	return nfs4_enc_free_stateid(x, &sid);
}

static void test_stateid_ops(void **state)
{
	(void)state;
	CHECK(c_close, U32(4), U32(0) /* seqid */, SID_BYTES);
	CHECK(c_delegreturn, U32(8), SID_BYTES);
	CHECK(c_free_stateid, U32(45), SID_BYTES);
}

/* ---- data ---- */

static int c_read(struct xdr *x)
{
	return nfs4_enc_read(x, &sid, 0x12345, 65536);
}

static int c_write(struct xdr *x)
{
	return nfs4_enc_write(x, &sid, 4096, FILE_SYNC4, "hello", 5);
}

static int c_write_empty(struct xdr *x)
{
	return nfs4_enc_write(x, NULL, 0, UNSTABLE4, NULL, 0);
}

static int c_commit(struct xdr *x)
{
	return nfs4_enc_commit(x, 0, 0);
}

static void test_data_ops(void **state)
{
	(void)state;
	CHECK(c_read, U32(25), SID_BYTES, U64(0x12345), U32(65536));
	CHECK(c_write, U32(38), SID_BYTES, U64(4096), U32(2), /* FILE_SYNC4 */
	      U32(5), 'h', 'e', 'l', 'l', 'o', 0, 0, 0);      /* data + zero pad */
	CHECK(c_write_empty, U32(38), ZERO_SID, U64(0), U32(0), U32(0));
	CHECK(c_commit, U32(5), U64(0), U32(0));
}

static int c_readdir(struct xdr *x)
{
	static const uint8_t verf[8] = {VERF};

	return nfs4_enc_readdir(x, 5, verf, 8192, 32768, &nfs4_bitmap_readdir);
}

static int c_readdir_first(struct xdr *x)
{
	return nfs4_enc_readdir(x, 0, NULL, 512, 4096, &nfs4_bitmap_stat);
}

static void test_readdir(void **state)
{
	(void)state;
	CHECK(c_readdir, U32(26), U64(5), VERF, U32(8192), U32(32768), U32(2), U32(0x0018091a),
	      U32(0x0030a23a)); /* stat + FILEHANDLE + RDATTR_ERROR */
	CHECK(c_readdir_first, U32(26), U64(0), 0, 0, 0, 0, 0, 0, 0, 0, U32(512), U32(4096), U32(2),
	      U32(0x0010011a), U32(0x0030a23a));
}

/* ---- locks ---- */

static int c_lock_new(struct xdr *x)
{
	struct nfs4_lock_args a = {
		.locktype = WRITE_LT,
		.offset = 0,
		.length = UINT64_MAX,
		.new_lock_owner = true,
		.open_stateid = sid,
		.owner = {CLIENTID, (const uint8_t *)"lk", 2},
	};

	return nfs4_enc_lock(x, &a);
}

static int c_lock_existing(struct xdr *x)
{
	struct nfs4_lock_args a = {
		.locktype = READW_LT,
		.reclaim = true,
		.offset = 10,
		.length = 20,
		.lock_stateid = sid,
	};

	return nfs4_enc_lock(x, &a);
}

static int c_lockt(struct xdr *x)
{
	struct nfs4_lock_owner o = {CLIENTID, (const uint8_t *)"lk", 2};

	return nfs4_enc_lockt(x, WRITE_LT, 100, 1, &o);
}

static int c_locku(struct xdr *x)
{
	return nfs4_enc_locku(x, WRITE_LT, &sid, 0, UINT64_MAX);
}

static void test_locks(void **state)
{
	(void)state;
	CHECK(c_lock_new, U32(12),		      /* OP_LOCK */
	      U32(2), U32(0),			      /* WRITE_LT, reclaim FALSE */
	      U64(0), U64(UINT64_MAX),		      /* offset, length */
	      U32(1),				      /* new_lock_owner TRUE */
	      U32(0), SID_BYTES,		      /* open_seqid, open_stateid */
	      U32(0),				      /* lock_seqid */
	      U64(CLIENTID), U32(2), 'l', 'k', 0, 0); /* lock_owner4 */
	CHECK(c_lock_existing, U32(12), U32(3), U32(1), U64(10), U64(20),
	      U32(0),		  /* new_lock_owner FALSE */
	      SID_BYTES, U32(0)); /* lock_stateid, lock_seqid */
	CHECK(c_lockt, U32(13), U32(2), U64(100), U64(1), U64(CLIENTID), U32(2), 'l', 'k', 0, 0);
	CHECK(c_locku, U32(14), U32(2), U32(0) /* seqid */, SID_BYTES, U64(0), U64(UINT64_MAX));
}

/* ---- arguments no request can carry ---- */

static void test_invalid_args(void **state)
{
	uint8_t buf[512];
	struct xdr x;
	struct nfs4_fh fh = {0};
	struct nfs4_exchange_id_args ea = {.owner = buf, .owner_len = NFS4_OPAQUE_LIMIT + 1};
	struct nfs4_open_args oa = {.opentype = OPEN4_NOCREATE, .claim = 2 /* DELEGATE_CUR */};
	struct nfs4_create_args ca = {.type = NF4REG, .name = "f"};
	struct nfs4_lock_owner lo = {1, buf, NFS4_OPAQUE_LIMIT + 1};

	(void)state;
	memset(buf, 0, sizeof(buf));
	xdr_init_encode(&x, buf, sizeof(buf));
	assert_int_equal(nfs4_enc_putfh(&x, &fh), -EINVAL);
	fh.len = NFS4_FHSIZE + 1;
	assert_int_equal(nfs4_enc_putfh(&x, &fh), -EINVAL);
	assert_int_equal(nfs4_enc_exchange_id(&x, &ea), -EINVAL);
	assert_int_equal(nfs4_enc_lookup(&x, NULL), -EINVAL);
	assert_int_equal(nfs4_enc_create(&x, &ca), -EINVAL);
	ca.type = NF4LNK; /* without linkdata */
	assert_int_equal(nfs4_enc_create(&x, &ca), -EINVAL);
	assert_int_equal(nfs4_enc_lockt(&x, READ_LT, 0, 1, &lo), -EINVAL);
	xdr_reset(&x);
	assert_int_equal(nfs4_enc_open(&x, &oa), -EINVAL);
	oa.claim = CLAIM_NULL; /* without a name */
	assert_int_equal(nfs4_enc_open(&x, &oa), -EINVAL);
	oa.claim = CLAIM_FH;
	oa.opentype = OPEN4_CREATE;
	oa.createmode = 9;
	assert_int_equal(nfs4_enc_open(&x, &oa), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compound),	cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_exchange_id),	cmocka_unit_test(test_create_session),
		cmocka_unit_test(test_destroy_reclaim), cmocka_unit_test(test_fh_ops),
		cmocka_unit_test(test_name_ops),	cmocka_unit_test(test_create),
		cmocka_unit_test(test_attr_ops),	cmocka_unit_test(test_open),
		cmocka_unit_test(test_stateid_ops),	cmocka_unit_test(test_data_ops),
		cmocka_unit_test(test_readdir),		cmocka_unit_test(test_locks),
		cmocka_unit_test(test_invalid_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
