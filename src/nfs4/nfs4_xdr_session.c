/*
 * nfs4_xdr_session.c - COMPOUND header and the session operations:
 * SEQUENCE (RFC 8881 section 18.46), EXCHANGE_ID (18.35), CREATE_SESSION
 * (18.36), DESTROY_SESSION (18.37), DESTROY_CLIENTID (18.50) and
 * RECLAIM_COMPLETE (18.51).  See include/nfs4/nfs4_xdr.h.
 */
#include <errno.h>
#include <string.h>
#include "nfs4/nfs4_xdr.h"
#include "nfs4_xdr_int.h"

/* state_protect_how4 */
#define SP4_MACH_CRED 1
#define SP4_SSV	      2
/* callback_sec_parms4 flavour */
#define NFS4_AUTH_SYS 1

/* ---- COMPOUND ---- */

int nfs4_enc_compound_hdr(struct xdr *x, const char *tag, uint32_t minorversion, size_t *nops_off)
{
	if (xdr_put_string(x, tag ? tag : "") || xdr_put_u32(x, minorversion))
		return -EMSGSIZE;
	*nops_off = xdr_mark(x);
	return xdr_put_u32(x, 0);
}

int nfs4_enc_compound_end(struct xdr *x, size_t nops_off, uint32_t nops)
{
	return xdr_patch_u32(x, nops_off, nops);
}

int nfs4_dec_compound_hdr(struct xdr *x, uint32_t *status, uint32_t *nres)
{
	if (xdr_get_u32(x, status) || nfs4_xdr_skip_opaque(x, NFS4_OPAQUE_LIMIT) ||
	    xdr_get_u32(x, nres))
		return -EBADMSG;
	return 0;
}

/* ---- SEQUENCE ---- */

int nfs4_enc_sequence(struct xdr *x, const struct nfs4_sequence_args *a)
{
	if (nfs4_xdr_enc_op(x, OP_SEQUENCE) ||
	    xdr_put_fixed(x, a->sessionid, NFS4_SESSIONID_SIZE) || xdr_put_u32(x, a->seqid) ||
	    xdr_put_u32(x, a->slotid) || xdr_put_u32(x, a->highest_slotid) ||
	    xdr_put_bool(x, a->cachethis))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_sequence(struct xdr *x, struct nfs4_sequence_res *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc = nfs4_xdr_dec_op(x, OP_SEQUENCE);
	if (rc)
		return rc;
	if (xdr_get_fixed_copy(x, r->sessionid, NFS4_SESSIONID_SIZE) || xdr_get_u32(x, &r->seqid) ||
	    xdr_get_u32(x, &r->slotid) || xdr_get_u32(x, &r->highest_slotid) ||
	    xdr_get_u32(x, &r->target_highest_slotid) || xdr_get_u32(x, &r->status_flags))
		return -EBADMSG;
	return 0;
}

/* ---- EXCHANGE_ID ---- */

int nfs4_enc_exchange_id(struct xdr *x, const struct nfs4_exchange_id_args *a)
{
	static const struct nfs4_time zero;
	bool impl = a->impl_domain || a->impl_name;

	if (a->owner_len > NFS4_OPAQUE_LIMIT || (a->owner_len && !a->owner))
		return -EINVAL;
	if (nfs4_xdr_enc_op(x, OP_EXCHANGE_ID) ||
	    xdr_put_fixed(x, a->verifier, NFS4_VERIFIER_SIZE) ||
	    xdr_put_opaque(x, a->owner, a->owner_len) || xdr_put_u32(x, a->flags) ||
	    xdr_put_u32(x, SP4_NONE) || xdr_put_u32(x, impl ? 1 : 0))
		return -EMSGSIZE;
	if (impl &&
	    (xdr_put_string(x, a->impl_domain ? a->impl_domain : "") ||
	     xdr_put_string(x, a->impl_name ? a->impl_name : "") || nfs4_xdr_enc_time(x, &zero)))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_exchange_id(struct xdr *x, struct nfs4_exchange_id_res *r)
{
	struct nfs4_time date;
	uint32_t n;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = nfs4_xdr_dec_op(x, OP_EXCHANGE_ID);
	if (rc)
		return rc;
	if (xdr_get_u64(x, &r->clientid) || xdr_get_u32(x, &r->seqid) ||
	    xdr_get_u32(x, &r->flags) || xdr_get_u32(x, &r->state_protect))
		return -EBADMSG;
	switch (r->state_protect) {
	case SP4_NONE:
		break;
	case SP4_MACH_CRED: /* spo_must_enforce, spo_must_allow */
		if (nfs4_xdr_skip_bitmap(x) || nfs4_xdr_skip_bitmap(x))
			return -EBADMSG;
		break;
	default: /* SP4_SSV was not asked for */
		return -EBADMSG;
	}
	/* server_owner4 {so_minor_id, so_major_id<>}, eir_server_scope<> */
	if (xdr_skip(x, 8) || nfs4_xdr_skip_opaque(x, NFS4_OPAQUE_LIMIT) ||
	    nfs4_xdr_skip_opaque(x, NFS4_OPAQUE_LIMIT))
		return -EBADMSG;
	/* eir_server_impl_id<1> */
	if (xdr_get_u32(x, &n) || n > 1)
		return -EBADMSG;
	if (n && (nfs4_xdr_skip_opaque(x, NFS4_OPAQUE_LIMIT) ||
		  nfs4_xdr_skip_opaque(x, NFS4_OPAQUE_LIMIT) || nfs4_xdr_dec_time(x, &date)))
		return -EBADMSG;
	return 0;
}

/* ---- CREATE_SESSION ---- */

static int enc_channel(struct xdr *x, const struct nfs4_channel_attrs *c)
{
	if (xdr_put_u32(x, c->headerpadsize) || xdr_put_u32(x, c->maxrequestsize) ||
	    xdr_put_u32(x, c->maxresponsesize) || xdr_put_u32(x, c->maxresponsesize_cached) ||
	    xdr_put_u32(x, c->maxops) || xdr_put_u32(x, c->maxreqs) ||
	    xdr_put_u32(x, 0) /* ca_rdma_ird<1>: none */)
		return -EMSGSIZE;
	return 0;
}

static int dec_channel(struct xdr *x, struct nfs4_channel_attrs *c)
{
	uint32_t n;

	if (xdr_get_u32(x, &c->headerpadsize) || xdr_get_u32(x, &c->maxrequestsize) ||
	    xdr_get_u32(x, &c->maxresponsesize) || xdr_get_u32(x, &c->maxresponsesize_cached) ||
	    xdr_get_u32(x, &c->maxops) || xdr_get_u32(x, &c->maxreqs) || xdr_get_u32(x, &n) ||
	    n > 1 || xdr_skip(x, (size_t)n * 4))
		return -EBADMSG;
	return 0;
}

int nfs4_enc_create_session(struct xdr *x, const struct nfs4_create_session_args *a)
{
	if (nfs4_xdr_enc_op(x, OP_CREATE_SESSION) || xdr_put_u64(x, a->clientid) ||
	    xdr_put_u32(x, a->seqid) || xdr_put_u32(x, a->flags) || enc_channel(x, &a->fore) ||
	    enc_channel(x, &a->back) || xdr_put_u32(x, a->cb_program))
		return -EMSGSIZE;
	/* csa_sec_parms<>: one AUTH_SYS authsys_parms */
	if (xdr_put_u32(x, 1) || xdr_put_u32(x, NFS4_AUTH_SYS) || xdr_put_u32(x, 0) /* stamp */ ||
	    xdr_put_string(x, "") /* machinename */ || xdr_put_u32(x, a->uid) ||
	    xdr_put_u32(x, a->gid) || xdr_put_u32(x, 0) /* gids<> */)
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_create_session(struct xdr *x, struct nfs4_create_session_res *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc = nfs4_xdr_dec_op(x, OP_CREATE_SESSION);
	if (rc)
		return rc;
	if (xdr_get_fixed_copy(x, r->sessionid, NFS4_SESSIONID_SIZE) || xdr_get_u32(x, &r->seqid) ||
	    xdr_get_u32(x, &r->flags) || dec_channel(x, &r->fore) || dec_channel(x, &r->back))
		return -EBADMSG;
	return 0;
}

/* ---- DESTROY_SESSION, DESTROY_CLIENTID, RECLAIM_COMPLETE ---- */

int nfs4_enc_destroy_session(struct xdr *x, const uint8_t sessionid[NFS4_SESSIONID_SIZE])
{
	if (nfs4_xdr_enc_op(x, OP_DESTROY_SESSION) ||
	    xdr_put_fixed(x, sessionid, NFS4_SESSIONID_SIZE))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_destroy_session(struct xdr *x)
{
	return nfs4_xdr_dec_op(x, OP_DESTROY_SESSION);
}

int nfs4_enc_bind_conn_to_session(struct xdr *x, const uint8_t sessionid[NFS4_SESSIONID_SIZE])
{
	if (nfs4_xdr_enc_op(x, OP_BIND_CONN_TO_SESSION) ||
	    xdr_put_fixed(x, sessionid, NFS4_SESSIONID_SIZE) ||
	    xdr_put_u32(x, 1) /* CDFC4_FORE */ || xdr_put_u32(x, 0) /* no RDMA */)
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_bind_conn_to_session(struct xdr *x)
{
	uint8_t sid[NFS4_SESSIONID_SIZE];
	uint32_t dir, rdma;
	int rc = nfs4_xdr_dec_op(x, OP_BIND_CONN_TO_SESSION);

	if (rc)
		return rc;
	if (xdr_get_fixed_copy(x, sid, sizeof(sid)) || xdr_get_u32(x, &dir) ||
	    xdr_get_u32(x, &rdma))
		return -EBADMSG;
	return 0;
}

int nfs4_enc_destroy_clientid(struct xdr *x, uint64_t clientid)
{
	if (nfs4_xdr_enc_op(x, OP_DESTROY_CLIENTID) || xdr_put_u64(x, clientid))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_destroy_clientid(struct xdr *x)
{
	return nfs4_xdr_dec_op(x, OP_DESTROY_CLIENTID);
}

int nfs4_enc_reclaim_complete(struct xdr *x, bool one_fs)
{
	if (nfs4_xdr_enc_op(x, OP_RECLAIM_COMPLETE) || xdr_put_bool(x, one_fs))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_reclaim_complete(struct xdr *x)
{
	return nfs4_xdr_dec_op(x, OP_RECLAIM_COMPLETE);
}
