/*
 * rpc_msg.c - ONC RPC v2 message headers (RFC 5531 sections 8-9 and
 * appendix A): the call header with an AUTH_SYS credential and an AUTH_NONE
 * verifier, and the reply header with its accept/reject status mapped to
 * errno.  See include/rpc/rpc_clnt.h.
 */
#include <errno.h>
#include <string.h>
#include "rpc/rpc_clnt.h"

enum {
	RPC_MSG_CALL = 0,
	RPC_MSG_REPLY = 1,
	RPC_VERSION = 2,
	RPC_AUTH_NONE = 0,
	RPC_AUTH_SYS = 1,
	RPC_MSG_ACCEPTED = 0,
	RPC_MSG_DENIED = 1,
	/* accept_stat */
	RPC_SUCCESS = 0,
	RPC_PROG_UNAVAIL = 1,
	RPC_PROG_MISMATCH = 2,
	RPC_PROC_UNAVAIL = 3,
	RPC_GARBAGE_ARGS = 4,
	RPC_SYSTEM_ERR = 5,
	/* reject_stat */
	RPC_RPC_MISMATCH = 0,
	RPC_AUTH_ERROR = 1,
};

#define RPC_MAX_AUTH_BYTES  400 /* opaque_auth body limit (RFC 5531 section 8.2) */
#define RPC_MAX_MACHINENAME 255

int rpc_enc_call_hdr(struct xdr *x, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
		     const struct rpc_cred *cred, uint32_t stamp, const char *machinename)
{
	size_t body_len_at;
	uint32_t i;
	int rc = 0;

	if (cred && cred->ngroups > RPC_AUTH_SYS_MAX_GROUPS)
		return -EINVAL;
	if (!machinename)
		machinename = "";
	if (strlen(machinename) > RPC_MAX_MACHINENAME)
		return -EINVAL;

	rc |= xdr_put_u32(x, xid);
	rc |= xdr_put_u32(x, RPC_MSG_CALL);
	rc |= xdr_put_u32(x, RPC_VERSION);
	rc |= xdr_put_u32(x, prog);
	rc |= xdr_put_u32(x, vers);
	rc |= xdr_put_u32(x, proc);
	if (rc)
		return -EMSGSIZE;

	if (!cred) {
		/* AUTH_NONE credential */
		rc |= xdr_put_u32(x, RPC_AUTH_NONE);
		rc |= xdr_put_u32(x, 0);
	} else {
		/* AUTH_SYS: flavor, body length (patched), authsys_parms */
		rc |= xdr_put_u32(x, RPC_AUTH_SYS);
		body_len_at = xdr_mark(x);
		rc |= xdr_put_u32(x, 0);
		rc |= xdr_put_u32(x, stamp);
		rc |= xdr_put_string(x, machinename);
		rc |= xdr_put_u32(x, cred->uid);
		rc |= xdr_put_u32(x, cred->gid);
		rc |= xdr_put_u32(x, cred->ngroups);
		for (i = 0; i < cred->ngroups; i++)
			rc |= xdr_put_u32(x, cred->groups[i]);
		if (rc)
			return -EMSGSIZE;
		rc = xdr_patch_u32(x, body_len_at, (uint32_t)(xdr_mark(x) - body_len_at - 4));
	}
	/* verifier: AUTH_NONE */
	rc |= xdr_put_u32(x, RPC_AUTH_NONE);
	rc |= xdr_put_u32(x, 0);
	return rc ? -EMSGSIZE : 0;
}

/* Skip an opaque_auth (flavor + body of at most 400 bytes). */
static int skip_auth(struct xdr *x)
{
	const uint8_t *p;
	uint32_t flavor, len;

	if (xdr_get_u32(x, &flavor) || xdr_get_opaque(x, &p, &len, RPC_MAX_AUTH_BYTES))
		return -EBADMSG;
	return 0;
}

int rpc_dec_reply_hdr(struct xdr *x, uint32_t *xid)
{
	uint32_t mtype, stat, v;

	if (xdr_get_u32(x, xid) || xdr_get_u32(x, &mtype) || xdr_get_u32(x, &stat))
		return -EBADMSG;
	if (mtype != RPC_MSG_REPLY)
		return -EBADMSG;
	if (stat == RPC_MSG_DENIED) {
		/* RPC_MISMATCH (low, high) or AUTH_ERROR (auth_stat) */
		if (xdr_get_u32(x, &v))
			return -EBADMSG;
		if (v != RPC_RPC_MISMATCH && v != RPC_AUTH_ERROR)
			return -EBADMSG;
		return -EACCES;
	}
	if (stat != RPC_MSG_ACCEPTED)
		return -EBADMSG;
	if (skip_auth(x) || xdr_get_u32(x, &v))
		return -EBADMSG;
	switch (v) {
	case RPC_SUCCESS:
		return 0;
	case RPC_PROG_UNAVAIL:
	case RPC_PROG_MISMATCH:
	case RPC_PROC_UNAVAIL:
		return -EPROTONOSUPPORT;
	case RPC_GARBAGE_ARGS:
		return -EBADMSG;
	case RPC_SYSTEM_ERR:
		return -EIO;
	default:
		return -EBADMSG;
	}
}

int rpc_peek_xid(const uint8_t *rec, size_t len, uint32_t *xid)
{
	if (!rec || len < 4)
		return -EBADMSG;
	*xid = (uint32_t)rec[0] << 24 | (uint32_t)rec[1] << 16 | (uint32_t)rec[2] << 8 | rec[3];
	return 0;
}
