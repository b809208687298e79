/*
 * test_nfs4_xdr_dec.c - every NFSv4.1 decoder against hand-built replies
 * (RFC 5662 XDR): success, server errors, results carried on error, and
 * hostile input (huge lengths, oversize handles and names, every
 * truncation of every valid reply -> -EBADMSG).
 */
#include "test_nfs4_xdr_util.h"
#include "nfs4/nfs4_xdr.h"

#define VEC(name, ...) static const uint8_t name[] = {__VA_ARGS__}
#define RUN(fn, v)     run_decoder(fn, v, sizeof(v))
#define TRUNC(fn, v)   check_truncations(fn, v, sizeof(v))

static const uint8_t sessionid[16] = {SESSIONID};
static const uint8_t verf8[8] = {VERF};
static const uint8_t other[12] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
				  0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab};

/* change_info4 {atomic TRUE, before 1, after 2} */
#define CINFO U32(1), U64(1), U64(2)
/* nfsace4 {ALLOW, 0, 0, "EVERYONE@"} */
#define ACE U32(0), U32(0), U32(0), U32(9), 'E', 'V', 'E', 'R', 'Y', 'O', 'N', 'E', '@', 0, 0, 0

/* ---- results of the wrappers, checked by the tests ---- */
static uint32_t g_status, g_nres;
static struct nfs4_sequence_res g_seq;
static struct nfs4_exchange_id_res g_eid;
static struct nfs4_create_session_res g_cs;
static struct nfs4_fh g_fh;
static char g_link[8];
static struct nfs4_attr g_attr;
static uint32_t g_supp, g_acc;
static struct nfs4_open_res g_open;
static struct nfs4_stateid g_sid;
static bool g_eof;
static const uint8_t *g_data;
static uint32_t g_len, g_count, g_committed;
static uint8_t g_verf[8];
static struct nfs4_lock_denied g_denied;

static int d_compound(struct xdr *x)
{
	return nfs4_dec_compound_hdr(x, &g_status, &g_nres);
}

static int d_sequence(struct xdr *x)
{
	return nfs4_dec_sequence(x, &g_seq);
}

static int d_exchange_id(struct xdr *x)
{
	return nfs4_dec_exchange_id(x, &g_eid);
}

static int d_create_session(struct xdr *x)
{
	return nfs4_dec_create_session(x, &g_cs);
}

static int d_destroy_session(struct xdr *x)
{
	return nfs4_dec_destroy_session(x);
}

static int d_destroy_clientid(struct xdr *x)
{
	return nfs4_dec_destroy_clientid(x);
}

static int d_reclaim_complete(struct xdr *x)
{
	return nfs4_dec_reclaim_complete(x);
}

static int d_putfh(struct xdr *x)
{
	return nfs4_dec_putfh(x);
}

static int d_putrootfh(struct xdr *x)
{
	return nfs4_dec_putrootfh(x);
}

static int d_savefh(struct xdr *x)
{
	return nfs4_dec_savefh(x);
}

static int d_restorefh(struct xdr *x)
{
	return nfs4_dec_restorefh(x);
}

static int d_getfh(struct xdr *x)
{
	return nfs4_dec_getfh(x, &g_fh);
}

static int d_lookup(struct xdr *x)
{
	return nfs4_dec_lookup(x);
}

static int d_lookupp(struct xdr *x)
{
	return nfs4_dec_lookupp(x);
}

static int d_remove(struct xdr *x)
{
	return nfs4_dec_remove(x);
}

static int d_rename(struct xdr *x)
{
	return nfs4_dec_rename(x);
}

static int d_link(struct xdr *x)
{
	return nfs4_dec_link(x);
}

static int d_create(struct xdr *x)
{
	return nfs4_dec_create(x);
}

static int d_readlink(struct xdr *x)
{
	return nfs4_dec_readlink(x, g_link, sizeof(g_link));
}

static int d_getattr(struct xdr *x)
{
	return nfs4_dec_getattr(x, &g_attr);
}

static int d_setattr(struct xdr *x)
{
	return nfs4_dec_setattr(x);
}

static int d_access(struct xdr *x)
{
	return nfs4_dec_access(x, &g_supp, &g_acc);
}

static int d_open(struct xdr *x)
{
	return nfs4_dec_open(x, &g_open);
}

static int d_close(struct xdr *x)
{
	return nfs4_dec_close(x, &g_sid);
}

static int d_delegreturn(struct xdr *x)
{
	return nfs4_dec_delegreturn(x);
}

static int d_free_stateid(struct xdr *x)
{
	return nfs4_dec_free_stateid(x);
}

static int d_read(struct xdr *x)
{
	return nfs4_dec_read(x, &g_eof, &g_data, &g_len, 16);
}

static int d_write(struct xdr *x)
{
	return nfs4_dec_write(x, &g_count, &g_committed, g_verf);
}

static int d_commit(struct xdr *x)
{
	return nfs4_dec_commit(x, g_verf);
}

static int d_lock(struct xdr *x)
{
	return nfs4_dec_lock(x, &g_sid, &g_denied);
}

static int d_lock_nodenied(struct xdr *x)
{
	return nfs4_dec_lock(x, &g_sid, NULL);
}

static int d_lockt(struct xdr *x)
{
	return nfs4_dec_lockt(x, &g_denied);
}

static int d_locku(struct xdr *x)
{
	return nfs4_dec_locku(x, &g_sid);
}

/* ---- compound and status handling ---- */

static void test_compound_hdr(void **state)
{
	VEC(ok, U32(10008),	      /* status NFS4ERR_DELAY */
	    U32(3), 'a', 'b', 'c', 0, /* tag */
	    U32(2));		      /* resarray count */
	VEC(hugetag, U32(0), U32(0xffffffff), 0, 0, 0, 0, U32(1));
	VEC(longtag, U32(0), U32(1025));

	(void)state;
	assert_int_equal(RUN(d_compound, ok), 0);
	assert_int_equal(g_status, NFS4ERR_DELAY);
	assert_int_equal(g_nres, 2);
	TRUNC(d_compound, ok);
	assert_int_equal(RUN(d_compound, hugetag), -EBADMSG);
	assert_int_equal(RUN(d_compound, longtag), -EBADMSG);
}

static void test_op_header(void **state)
{
	VEC(wrong_op, U32(OP_PUTFH), U32(0));
	VEC(illegal, U32(OP_ILLEGAL), U32(NFS4ERR_OP_ILLEGAL));
	VEC(illegal_ok, U32(OP_ILLEGAL), U32(0));
	VEC(huge_status, U32(OP_SEQUENCE), U32(0x80000000));
	VEC(badsession, U32(53), U32(10052));

	(void)state;
	assert_int_equal(RUN(d_sequence, wrong_op), -EBADMSG);
	assert_int_equal(RUN(d_sequence, illegal), -NFS4ERR_OP_ILLEGAL);
	assert_int_equal(RUN(d_sequence, illegal_ok), -EBADMSG);
	assert_int_equal(RUN(d_sequence, huge_status), -EBADMSG);
	assert_int_equal(RUN(d_sequence, badsession), -NFS4ERR_BADSESSION);
	TRUNC(d_sequence, badsession);
}

/* ---- session ---- */

static void test_sequence(void **state)
{
	VEC(ok, U32(53), U32(0), /* OP_SEQUENCE, NFS4_OK */
	    SESSIONID,		 /* sr_sessionid */
	    U32(7), U32(2),	 /* sr_sequenceid, sr_slotid */
	    U32(31), U32(15),	 /* sr_highest_slotid, sr_target_highest_slotid */
	    U32(0x40));		 /* sr_status_flags ADMIN_STATE_REVOKED */

	(void)state;
	assert_int_equal(RUN(d_sequence, ok), 0);
	assert_memory_equal(g_seq.sessionid, sessionid, 16);
	assert_int_equal(g_seq.seqid, 7);
	assert_int_equal(g_seq.slotid, 2);
	assert_int_equal(g_seq.highest_slotid, 31);
	assert_int_equal(g_seq.target_highest_slotid, 15);
	assert_int_equal(g_seq.status_flags, SEQ4_STATUS_ADMIN_STATE_REVOKED);
	TRUNC(d_sequence, ok);
}

static void test_exchange_id(void **state)
{
	VEC(ok, U32(42), U32(0), U64(0xabcdef0123456789ull), /* eir_clientid */
	    U32(1),					     /* eir_sequenceid */
	    U32(0x80010000),			/* eir_flags CONFIRMED_R | USE_NON_PNFS */
	    U32(0),				/* SP4_NONE */
	    U64(5), U32(4), 'g', 'a', 'n', 'e', /* server_owner4 */
	    U32(3), 's', 'c', 'p', 0,		/* eir_server_scope */
	    U32(1),				/* eir_server_impl_id<1> */
	    U32(3), 'o', 'r', 'g', 0,		/* nii_domain */
	    U32(2), 'n', 'm', 0, 0,		/* nii_name */
	    U64(1), U32(2));			/* nii_date */
	VEC(mach_cred, U32(42), U32(0), U64(9), U32(1), U32(0), U32(1), /* SP4_MACH_CRED */
	    U32(1), U32(0x1), U32(0),	     /* spo_must_enforce, spo_must_allow */
	    U64(0), U32(0), U32(0), U32(0)); /* owner, scope, no impl id */
	VEC(ssv, U32(42), U32(0), U64(9), U32(1), U32(0), U32(2), U32(0), U32(0), U32(0));
	VEC(two_impl, U32(42), U32(0), U64(9), U32(1), U32(0), U32(0), U64(0), U32(0), U32(0),
	    U32(2), U32(0), U32(0), U64(0), U32(0), U32(0), U32(0), U64(0), U32(0));
	VEC(huge_major, U32(42), U32(0), U64(9), U32(1), U32(0), U32(0), U64(0), U32(0xffffffff),
	    U32(0), U32(0));
	VEC(clid_inuse, U32(42), U32(10017));

	(void)state;
	assert_int_equal(RUN(d_exchange_id, ok), 0);
	assert_true(g_eid.clientid == 0xabcdef0123456789ull);
	assert_int_equal(g_eid.seqid, 1);
	assert_int_equal(g_eid.flags, 0x80010000);
	assert_int_equal(g_eid.state_protect, SP4_NONE);
	TRUNC(d_exchange_id, ok);
	assert_int_equal(RUN(d_exchange_id, mach_cred), 0);
	assert_int_equal(g_eid.state_protect, 1);
	TRUNC(d_exchange_id, mach_cred);
	assert_int_equal(RUN(d_exchange_id, ssv), -EBADMSG);
	assert_int_equal(RUN(d_exchange_id, two_impl), -EBADMSG);
	assert_int_equal(RUN(d_exchange_id, huge_major), -EBADMSG);
	assert_int_equal(RUN(d_exchange_id, clid_inuse), -NFS4ERR_CLID_INUSE);
}

static void test_create_session(void **state)
{
	VEC(ok, U32(43), U32(0), SESSIONID, U32(1), U32(2), /* csr_sequence, csr_flags */
	    U32(0), U32(1049600), U32(1049600), U32(8192), U32(8), U32(30), /* fore */
	    U32(0),							    /* ca_rdma_ird: none */
	    U32(0), U32(4096), U32(4096), U32(0), U32(2), U32(1),	    /* back */
	    U32(1), U32(7));						    /* ca_rdma_ird: one */
	VEC(two_ird, U32(43), U32(0), SESSIONID, U32(1), U32(2), U32(0), U32(1), U32(1), U32(1),
	    U32(1), U32(1), U32(2), U32(7), U32(7));
	VEC(stale, U32(43), U32(10022));

	(void)state;
	assert_int_equal(RUN(d_create_session, ok), 0);
	assert_memory_equal(g_cs.sessionid, sessionid, 16);
	assert_int_equal(g_cs.seqid, 1);
	assert_int_equal(g_cs.flags, CREATE_SESSION4_FLAG_CONN_BACK_CHAN);
	assert_int_equal(g_cs.fore.maxrequestsize, 1049600);
	assert_int_equal(g_cs.fore.maxresponsesize, 1049600);
	assert_int_equal(g_cs.fore.maxresponsesize_cached, 8192);
	assert_int_equal(g_cs.fore.maxops, 8);
	assert_int_equal(g_cs.fore.maxreqs, 30);
	assert_int_equal(g_cs.back.maxrequestsize, 4096);
	assert_int_equal(g_cs.back.maxreqs, 1);
	TRUNC(d_create_session, ok);
	assert_int_equal(RUN(d_create_session, two_ird), -EBADMSG);
	assert_int_equal(RUN(d_create_session, stale), -NFS4ERR_STALE_CLIENTID);
}

static void test_status_only(void **state)
{
	VEC(ds_ok, U32(44), U32(0));
	VEC(ds_err, U32(44), U32(10052));
	VEC(dc_busy, U32(57), U32(10074));
	VEC(rc_ok, U32(58), U32(0));
	VEC(rc_already, U32(58), U32(10054));
	VEC(putfh_stale, U32(22), U32(70));
	VEC(putfh_ok, U32(22), U32(0));
	VEC(putroot_ok, U32(24), U32(0));
	VEC(save_ok, U32(32), U32(0));
	VEC(restore_err, U32(31), U32(10030));
	VEC(lookup_noent, U32(15), U32(2));
	VEC(lookupp_ok, U32(16), U32(0));
	VEC(delegreturn_ok, U32(8), U32(0));
	VEC(free_stateid_err, U32(45), U32(10012));

	(void)state;
	assert_int_equal(RUN(d_destroy_session, ds_ok), 0);
	assert_int_equal(RUN(d_destroy_session, ds_err), -NFS4ERR_BADSESSION);
	assert_int_equal(RUN(d_destroy_clientid, dc_busy), -NFS4ERR_CLIENTID_BUSY);
	assert_int_equal(RUN(d_reclaim_complete, rc_ok), 0);
	assert_int_equal(RUN(d_reclaim_complete, rc_already), -NFS4ERR_COMPLETE_ALREADY);
	assert_int_equal(RUN(d_putfh, putfh_stale), -NFS4ERR_STALE);
	assert_int_equal(RUN(d_putfh, putfh_ok), 0);
	assert_int_equal(RUN(d_putrootfh, putroot_ok), 0);
	assert_int_equal(RUN(d_savefh, save_ok), 0);
	assert_int_equal(RUN(d_restorefh, restore_err), -NFS4ERR_RESTOREFH);
	assert_int_equal(RUN(d_lookup, lookup_noent), -NFS4ERR_NOENT);
	assert_int_equal(RUN(d_lookupp, lookupp_ok), 0);
	assert_int_equal(RUN(d_delegreturn, delegreturn_ok), 0);
	assert_int_equal(RUN(d_free_stateid, free_stateid_err), -NFS4ERR_LOCKED);
	/* an operation number for another op */
	assert_int_equal(RUN(d_putrootfh, putfh_ok), -EBADMSG);
	TRUNC(d_putfh, putfh_ok);
	TRUNC(d_reclaim_complete, rc_already);
}

/* ---- file handles ---- */

static void test_getfh(void **state)
{
	VEC(ok, U32(10), U32(0), U32(5), 1, 2, 3, 4, 5, 0, 0, 0);
	VEC(empty, U32(10), U32(0), U32(0));
	VEC(huge, U32(10), U32(0), U32(0xffffffff), 1, 2, 3, 4);
	VEC(err, U32(10), U32(10020));
	uint8_t big[12 + 132];
	size_t n;

	(void)state;
	assert_int_equal(RUN(d_getfh, ok), 0);
	assert_int_equal(g_fh.len, 5);
	assert_memory_equal(g_fh.data, "\x01\x02\x03\x04\x05", 5);
	TRUNC(d_getfh, ok);
	assert_int_equal(RUN(d_getfh, empty), -EBADMSG);
	assert_int_equal(RUN(d_getfh, huge), -EBADMSG);
	assert_int_equal(RUN(d_getfh, err), -NFS4ERR_NOFILEHANDLE);
	assert_int_equal(g_fh.len, 0);

	/* 128 bytes is the limit, 129 is hostile */
	memset(big, 0x5a, sizeof(big));
	memcpy(big, (const uint8_t[]){U32(10), U32(0), U32(128)}, 12);
	n = 12 + 128;
	assert_int_equal(run_decoder(d_getfh, big, n), 0);
	assert_int_equal(g_fh.len, 128);
	memcpy(big, (const uint8_t[]){U32(10), U32(0), U32(129)}, 12);
	assert_int_equal(run_decoder(d_getfh, big, sizeof(big)), -EBADMSG);
}

/* ---- names ---- */

static void test_name_ops(void **state)
{
	VEC(remove_ok, U32(28), U32(0), CINFO);
	VEC(remove_err, U32(28), U32(66));
	VEC(rename_ok, U32(29), U32(0), CINFO, CINFO);
	VEC(link_ok, U32(11), U32(0), CINFO);
	VEC(create_ok, U32(6), U32(0), CINFO, U32(2), U32(0), U32(2)); /* attrset: MODE */
	VEC(create_exist, U32(6), U32(17));
	VEC(create_bigbm, U32(6), U32(0), CINFO, U32(100));

	(void)state;
	assert_int_equal(RUN(d_remove, remove_ok), 0);
	TRUNC(d_remove, remove_ok);
	assert_int_equal(RUN(d_remove, remove_err), -NFS4ERR_NOTEMPTY);
	assert_int_equal(RUN(d_rename, rename_ok), 0);
	TRUNC(d_rename, rename_ok);
	assert_int_equal(RUN(d_link, link_ok), 0);
	TRUNC(d_link, link_ok);
	assert_int_equal(RUN(d_create, create_ok), 0);
	TRUNC(d_create, create_ok);
	assert_int_equal(RUN(d_create, create_exist), -NFS4ERR_EXIST);
	assert_int_equal(RUN(d_create, create_bigbm), -EBADMSG);
}

static void test_readlink(void **state)
{
	VEC(ok, U32(27), U32(0), U32(6), '/', 't', 'm', 'p', '/', 'x', 0, 0);
	VEC(toolong, U32(27), U32(0), U32(8), 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
	VEC(nul, U32(27), U32(0), U32(3), 'a', 0, 'b', 0);
	VEC(err, U32(27), U32(22));

	(void)state;
	assert_int_equal(RUN(d_readlink, ok), 0);
	assert_string_equal(g_link, "/tmp/x");
	TRUNC(d_readlink, ok);
	assert_int_equal(RUN(d_readlink, toolong), -EBADMSG); /* 8 bytes + NUL > 8 */
	assert_int_equal(RUN(d_readlink, nul), -EBADMSG);
	assert_int_equal(RUN(d_readlink, err), -NFS4ERR_INVAL);
}

/* ---- attributes ---- */

static void test_getattr_setattr_access(void **state)
{
	VEC(getattr_ok, U32(9), U32(0), U32(1), U32(1u << 4), U32(8), U64(12345));
	VEC(getattr_err, U32(9), U32(13));
	VEC(setattr_ok, U32(34), U32(0), U32(2), U32(0), U32(2));
	VEC(setattr_err, U32(34), U32(1), U32(0)); /* PERM, empty attrsset */
	VEC(setattr_err_noset, U32(34), U32(1));
	VEC(access_ok, U32(3), U32(0), U32(0x3f), U32(0x1f));

	(void)state;
	assert_int_equal(RUN(d_getattr, getattr_ok), 0);
	assert_true(g_attr.valid == NFS4_ATTR_BIT(FATTR4_SIZE));
	assert_int_equal(g_attr.size, 12345);
	TRUNC(d_getattr, getattr_ok);
	assert_int_equal(RUN(d_getattr, getattr_err), -NFS4ERR_ACCESS);
	assert_int_equal(RUN(d_setattr, setattr_ok), 0);
	TRUNC(d_setattr, setattr_ok);
	assert_int_equal(RUN(d_setattr, setattr_err), -NFS4ERR_PERM);
	TRUNC(d_setattr, setattr_err);
	/* attrsset is part of SETATTR4res on every status */
	assert_int_equal(RUN(d_setattr, setattr_err_noset), -EBADMSG);
	assert_int_equal(RUN(d_access, access_ok), 0);
	assert_int_equal(g_supp, 0x3f);
	assert_int_equal(g_acc, 0x1f);
	TRUNC(d_access, access_ok);
}

/* ---- open state ---- */

/* OPEN4resok up to the delegation: stateid, cinfo, rflags, attrset */
#define OPEN_HEAD U32(18), U32(0), SID_BYTES, CINFO, U32(4), U32(1), U32(1u << 4)
/* delegation stateid {seqid 2, other b0..bb} */
#define DSID U32(2), 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb

static void test_open(void **state)
{
	VEC(none, OPEN_HEAD, U32(0));
	VEC(rd, OPEN_HEAD, U32(1), DSID, U32(0) /* recall */, ACE);
	VEC(wr_size, OPEN_HEAD, U32(2), DSID, U32(1), U32(1) /* NFS_LIMIT_SIZE */, U64(1 << 20),
	    ACE);
	VEC(wr_blocks, OPEN_HEAD, U32(2), DSID, U32(0), U32(2) /* NFS_LIMIT_BLOCKS */, U32(10),
	    U32(512), ACE);
	VEC(wr_badlimit, OPEN_HEAD, U32(2), DSID, U32(0), U32(3), U64(0), ACE);
	VEC(ext_contention, OPEN_HEAD, U32(3), U32(1) /* WND4_CONTENTION */, U32(1));
	VEC(ext_resource, OPEN_HEAD, U32(3), U32(2) /* WND4_RESOURCE */, U32(0));
	VEC(ext_notwanted, OPEN_HEAD, U32(3), U32(0) /* WND4_NOT_WANTED: void */);
	VEC(badtype, OPEN_HEAD, U32(4));
	VEC(hugeace, OPEN_HEAD, U32(1), DSID, U32(0), U32(0), U32(0), U32(0), U32(0xfffffffc));
	VEC(denied, U32(18), U32(10015));

	(void)state;
	assert_int_equal(RUN(d_open, none), 0);
	assert_int_equal(g_open.stateid.seqid, 1);
	assert_memory_equal(g_open.stateid.other, other, 12);
	assert_int_equal(g_open.rflags, OPEN4_RESULT_LOCKTYPE_POSIX);
	assert_int_equal(g_open.delegation_type, OPEN_DELEGATE_NONE);
	TRUNC(d_open, none);

	assert_int_equal(RUN(d_open, rd), 0);
	assert_int_equal(g_open.delegation_type, OPEN_DELEGATE_READ);
	assert_int_equal(g_open.delegation_stateid.seqid, 2);
	assert_int_equal(g_open.delegation_stateid.other[11], 0xbb);
	assert_int_equal(g_open.stateid.seqid, 1);
	TRUNC(d_open, rd);

	assert_int_equal(RUN(d_open, wr_size), 0);
	assert_int_equal(g_open.delegation_type, OPEN_DELEGATE_WRITE);
	assert_int_equal(g_open.delegation_stateid.seqid, 2);
	TRUNC(d_open, wr_size);
	assert_int_equal(RUN(d_open, wr_blocks), 0);
	TRUNC(d_open, wr_blocks);
	assert_int_equal(RUN(d_open, wr_badlimit), -EBADMSG);

	assert_int_equal(RUN(d_open, ext_contention), 0);
	assert_int_equal(g_open.delegation_type, OPEN_DELEGATE_NONE_EXT);
	TRUNC(d_open, ext_contention);
	assert_int_equal(RUN(d_open, ext_resource), 0);
	TRUNC(d_open, ext_resource);
	assert_int_equal(RUN(d_open, ext_notwanted), 0);
	TRUNC(d_open, ext_notwanted);

	assert_int_equal(RUN(d_open, badtype), -EBADMSG);
	assert_int_equal(RUN(d_open, hugeace), -EBADMSG);
	assert_int_equal(RUN(d_open, denied), -NFS4ERR_SHARE_DENIED);
}

static void test_close_locku(void **state)
{
	VEC(close_ok, U32(4), U32(0), SID_BYTES);
	VEC(close_err, U32(4), U32(10025));
	VEC(locku_ok, U32(14), U32(0), SID_BYTES);

	(void)state;
	memset(&g_sid, 0, sizeof(g_sid));
	assert_int_equal(RUN(d_close, close_ok), 0);
	assert_int_equal(g_sid.seqid, 1);
	assert_memory_equal(g_sid.other, other, 12);
	TRUNC(d_close, close_ok);
	assert_int_equal(RUN(d_close, close_err), -NFS4ERR_BAD_STATEID);
	memset(&g_sid, 0, sizeof(g_sid));
	assert_int_equal(RUN(d_locku, locku_ok), 0);
	assert_memory_equal(g_sid.other, other, 12);
	TRUNC(d_locku, locku_ok);
}

/* ---- data ---- */

static void test_read_write_commit(void **state)
{
	VEC(read_ok, U32(25), U32(0), U32(1) /* eof */, U32(5), 'h', 'e', 'l', 'l', 'o', 0, 0, 0);
	VEC(read_big, U32(25), U32(0), U32(0), U32(17)); /* more than maxlen 16 */
	VEC(read_huge, U32(25), U32(0), U32(0), U32(0xffffffff), 0, 0, 0, 0);
	VEC(read_badbool, U32(25), U32(0), U32(2), U32(0));
	VEC(read_err, U32(25), U32(10038));
	VEC(write_ok, U32(38), U32(0), U32(4096), U32(2), VERF);
	VEC(commit_ok, U32(5), U32(0), VERF);
	VEC(write_err, U32(38), U32(28));

	(void)state;
	assert_int_equal(RUN(d_read, read_ok), 0);
	assert_true(g_eof);
	assert_int_equal(g_len, 5);
	TRUNC(d_read, read_ok);
	assert_int_equal(RUN(d_read, read_big), -EBADMSG);
	assert_int_equal(RUN(d_read, read_huge), -EBADMSG);
	assert_int_equal(RUN(d_read, read_badbool), -EBADMSG);
	assert_int_equal(RUN(d_read, read_err), -NFS4ERR_OPENMODE);
	assert_int_equal(g_len, 0);

	assert_int_equal(RUN(d_write, write_ok), 0);
	assert_int_equal(g_count, 4096);
	assert_int_equal(g_committed, FILE_SYNC4);
	assert_memory_equal(g_verf, verf8, 8);
	TRUNC(d_write, write_ok);
	assert_int_equal(RUN(d_write, write_err), -NFS4ERR_NOSPC);
	memset(g_verf, 0, 8);
	assert_int_equal(RUN(d_commit, commit_ok), 0);
	assert_memory_equal(g_verf, verf8, 8);
	TRUNC(d_commit, commit_ok);
}

/* READ data is a view into the reply buffer. */
static void test_read_view(void **state)
{
	VEC(v, U32(25), U32(0), U32(0), U32(3), 'a', 'b', 'c', 0);
	struct xdr x;
	bool eof;
	const uint8_t *data;
	uint32_t len;

	(void)state;
	xdr_init_decode(&x, v, sizeof(v));
	assert_int_equal(nfs4_dec_read(&x, &eof, &data, &len, 3), 0);
	assert_false(eof);
	assert_ptr_equal(data, v + 16);
	assert_int_equal(len, 3);
	assert_int_equal(xdr_remaining(&x), 0);
}

/* ---- readdir ---- */

struct collect {
	int n;
	int stop_after;
	uint64_t cookie[8];
	char name[8][256];
	uint32_t type[8];
	uint64_t fileid[8];
};

static int collect_cb(void *arg, const struct nfs4_dirent *e)
{
	struct collect *c = arg;

	assert_true(c->n < 8);
	assert_int_equal(strlen(e->name), e->namelen);
	c->cookie[c->n] = e->cookie;
	strcpy(c->name[c->n], e->name);
	c->type[c->n] = e->attr.type;
	c->fileid[c->n] = e->attr.fileid;
	c->n++;
	if (c->stop_after && c->n == c->stop_after)
		return 42;
	return 0;
}

static struct collect g_dir;

static int d_readdir(struct xdr *x)
{
	memset(&g_dir, 0, sizeof(g_dir));
	memset(g_verf, 0, 8);
	return nfs4_dec_readdir(x, g_verf, collect_cb, &g_dir, &g_eof);
}

/* fattr4 with TYPE and FILEID */
#define TYPE_FILEID(t, id) U32(1), U32((1u << 1) | (1u << 20)), U32(12), U32(t), U64(id)

VEC(dir3, U32(26), U32(0), VERF,			       /* status, cookieverf */
    U32(1), U64(1), U32(1), 'a', 0, 0, 0, TYPE_FILEID(1, 100), /* entry "a" */
    U32(1), U64(2), U32(5), 'h', 'e', 'l', 'l', 'o', 0, 0, 0,  /* entry "hello" */
    TYPE_FILEID(2, 101), U32(1), U64(3), U32(3), 'x', 'y', 'z', 0, U32(0),
    U32(0),  /* "xyz", no attrs */
    U32(0),  /* no more entries */
    U32(1)); /* eof */

static void test_readdir(void **state)
{
	VEC(empty, U32(26), U32(0), VERF, U32(0), U32(0));
	VEC(badcookie, U32(26), U32(10003));
	VEC(slash, U32(26), U32(0), VERF, U32(1), U64(1), U32(3), 'a', '/', 'b', 0, U32(0), U32(0),
	    U32(0), U32(1));
	VEC(noname, U32(26), U32(0), VERF, U32(1), U64(1), U32(0), U32(0), U32(0), U32(0), U32(1));
	VEC(nul, U32(26), U32(0), VERF, U32(1), U64(1), U32(2), 'a', 0, 0, 0, U32(0), U32(0),
	    U32(0), U32(1));
	VEC(badbool, U32(26), U32(0), VERF, U32(7));

	(void)state;
	assert_int_equal(RUN(d_readdir, dir3), 0);
	assert_int_equal(g_dir.n, 3);
	assert_true(g_eof);
	assert_memory_equal(g_verf, verf8, 8);
	assert_string_equal(g_dir.name[0], "a");
	assert_string_equal(g_dir.name[1], "hello");
	assert_string_equal(g_dir.name[2], "xyz");
	assert_int_equal(g_dir.cookie[0], 1);
	assert_int_equal(g_dir.cookie[2], 3);
	assert_int_equal(g_dir.type[0], NF4REG);
	assert_int_equal(g_dir.type[1], NF4DIR);
	assert_int_equal(g_dir.fileid[0], 100);
	assert_int_equal(g_dir.fileid[1], 101);
	assert_int_equal(g_dir.type[2], 0);

	assert_int_equal(RUN(d_readdir, empty), 0);
	assert_int_equal(g_dir.n, 0);
	assert_false(g_eof);
	assert_int_equal(RUN(d_readdir, badcookie), -NFS4ERR_BAD_COOKIE);
	assert_int_equal(RUN(d_readdir, slash), -EBADMSG);
	assert_int_equal(RUN(d_readdir, noname), -EBADMSG);
	assert_int_equal(RUN(d_readdir, nul), -EBADMSG);
	assert_int_equal(RUN(d_readdir, badbool), -EBADMSG);
}

/* A truncated or malformed listing delivers no entry at all. */
static void test_readdir_truncated(void **state)
{
	size_t len;

	(void)state;
	for (len = 0; len < sizeof(dir3); len++) {
		assert_int_equal(run_decoder(d_readdir, dir3, len), -EBADMSG);
		assert_int_equal(g_dir.n, 0);
	}
}

static int d_readdir_stop(struct xdr *x)
{
	memset(&g_dir, 0, sizeof(g_dir));
	g_dir.stop_after = 2;
	return nfs4_dec_readdir(x, g_verf, collect_cb, &g_dir, &g_eof);
}

static void test_readdir_cb_stop(void **state)
{
	(void)state;
	assert_int_equal(RUN(d_readdir_stop, dir3), 42);
	assert_int_equal(g_dir.n, 2);
}

/* Names: 255 bytes is the limit, 256 is hostile. */
static void test_readdir_name_limit(void **state)
{
	uint8_t v[512];
	size_t n, i;
	int namelen;

	(void)state;
	for (namelen = 255; namelen <= 256; namelen++) {
		memcpy(v, (const uint8_t[]){U32(26), U32(0), VERF, U32(1), U64(9), U32(namelen)},
		       32);
		n = 32;
		for (i = 0; i < (size_t)namelen; i++)
			v[n++] = 'n';
		while (n % 4)
			v[n++] = 0;
		memcpy(v + n, (const uint8_t[]){U32(0), U32(0), U32(0), U32(1)}, 16);
		n += 16;
		if (namelen == 255) {
			assert_int_equal(run_decoder(d_readdir, v, n), 0);
			assert_int_equal(g_dir.n, 1);
			assert_int_equal(strlen(g_dir.name[0]), 255);
		} else {
			assert_int_equal(run_decoder(d_readdir, v, n), -EBADMSG);
		}
	}
}

/* Many entries: bounded only by the buffer. */
static int count_cb(void *arg, const struct nfs4_dirent *e)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

static void test_readdir_many(void **state)
{
	enum { N = 1000 };
	static const uint8_t ent[] = {U32(1), U64(7), U32(1), 'e', 0, 0, 0, U32(0), U32(0)};
	size_t sz = 16 + N * sizeof(ent) + 8, n = 0, i;
	uint8_t *v = malloc(sz), verf[8];
	struct xdr x;
	bool eof;
	int count = 0;

	(void)state;
	assert_non_null(v);
	memcpy(v, (const uint8_t[]){U32(26), U32(0), VERF}, 16);
	n = 16;
	for (i = 0; i < N; i++, n += sizeof(ent))
		memcpy(v + n, ent, sizeof(ent));
	memcpy(v + n, (const uint8_t[]){U32(0), U32(1)}, 8);
	n += 8;
	assert_int_equal(n, sz);
	xdr_init_decode(&x, v, n);
	assert_int_equal(nfs4_dec_readdir(&x, verf, count_cb, &count, &eof), 0);
	assert_int_equal(count, N);
	assert_true(eof);
	free(v);
}

/* ---- locks ---- */

static void test_lock(void **state)
{
	VEC(ok, U32(12), U32(0), SID_BYTES);
	VEC(denied, U32(12), U32(10010), U64(100), U64(50), /* offset, length */
	    U32(2),					    /* WRITE_LT */
	    U64(CLIENTID), U32(3), 'o', 'w', 'n', 0);	    /* lock_owner4 */
	VEC(denied_bigowner, U32(12), U32(10010), U64(0), U64(1), U32(1), U64(1), U32(1025));
	VEC(expired, U32(12), U32(10011));
	VEC(lockt_ok, U32(13), U32(0));
	VEC(lockt_denied, U32(13), U32(10010), U64(0), U64(UINT64_MAX), U32(1), U64(7), U32(0));

	(void)state;
	assert_int_equal(RUN(d_lock, ok), 0);
	assert_int_equal(g_sid.seqid, 1);
	TRUNC(d_lock, ok);

	assert_int_equal(RUN(d_lock, denied), -NFS4ERR_DENIED);
	assert_int_equal(g_denied.offset, 100);
	assert_int_equal(g_denied.length, 50);
	assert_int_equal(g_denied.type, WRITE_LT);
	assert_true(g_denied.clientid == CLIENTID);
	assert_int_equal(g_denied.owner_len, 3);
	TRUNC(d_lock, denied);
	assert_int_equal(RUN(d_lock_nodenied, denied), -NFS4ERR_DENIED);
	assert_int_equal(RUN(d_lock, denied_bigowner), -EBADMSG);
	assert_int_equal(RUN(d_lock, expired), -NFS4ERR_EXPIRED);

	assert_int_equal(RUN(d_lockt, lockt_ok), 0);
	assert_int_equal(RUN(d_lockt, lockt_denied), -NFS4ERR_DENIED);
	assert_true(g_denied.length == UINT64_MAX);
	assert_int_equal(g_denied.type, READ_LT);
	assert_int_equal(g_denied.clientid, 7);
	TRUNC(d_lockt, lockt_denied);
}

/* A realistic reply: compound header, SEQUENCE, PUTFH, GETATTR in a row. */
static void test_compound_reply(void **state)
{
	VEC(v, U32(0), U32(0), U32(3), U32(53), U32(0), SESSIONID, U32(1), U32(0), U32(0), U32(0),
	    U32(0), U32(22), U32(0), U32(9), U32(0), U32(1), U32(1u << 4), U32(8), U64(77));
	struct nfs4_sequence_res seq;
	struct nfs4_attr a;
	uint32_t status, nres;
	struct xdr x;

	(void)state;
	xdr_init_decode(&x, v, sizeof(v));
	assert_int_equal(nfs4_dec_compound_hdr(&x, &status, &nres), 0);
	assert_int_equal(nres, 3);
	assert_int_equal(nfs4_dec_sequence(&x, &seq), 0);
	assert_int_equal(nfs4_dec_putfh(&x), 0);
	assert_int_equal(nfs4_dec_getattr(&x, &a), 0);
	assert_int_equal(a.size, 77);
	assert_int_equal(xdr_remaining(&x), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compound_hdr),
		cmocka_unit_test(test_op_header),
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_exchange_id),
		cmocka_unit_test(test_create_session),
		cmocka_unit_test(test_status_only),
		cmocka_unit_test(test_getfh),
		cmocka_unit_test(test_name_ops),
		cmocka_unit_test(test_readlink),
		cmocka_unit_test(test_getattr_setattr_access),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_close_locku),
		cmocka_unit_test(test_read_write_commit),
		cmocka_unit_test(test_read_view),
		cmocka_unit_test(test_readdir),
		cmocka_unit_test(test_readdir_truncated),
		cmocka_unit_test(test_readdir_cb_stop),
		cmocka_unit_test(test_readdir_name_limit),
		cmocka_unit_test(test_readdir_many),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_compound_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
