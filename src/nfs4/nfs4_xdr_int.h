/*
 * nfs4_xdr_int.h - small inline helpers shared by the nfs4_xdr_*.c files
 * (private to the codec; the public contract is include/nfs4/nfs4_xdr.h).
 *
 * Encoders return 0 or -EMSGSIZE (-EINVAL for arguments no valid request
 * can carry, e.g. a file handle longer than NFS4_FHSIZE).  Decoders return 0
 * or -EBADMSG; nfs4_xdr_dec_op() may also return -NFS4ERR_<x>.
 */
#ifndef EFS_NFS4_XDR_INT_H
#define EFS_NFS4_XDR_INT_H

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include "util/xdr.h"
#include "nfs4/nfs4_types.h"

/* NFS4 component4 names are bounded by this (NAME_MAX). */
#define NFS4_XDR_NAME_MAX 255
/* bitmap4 words accepted on decode (words past NFS4_BITMAP_WORDS ignored). */
#define NFS4_XDR_BITMAP_MAX 8

/* nfs_argop4 header: the operation number. */
static inline int nfs4_xdr_enc_op(struct xdr *x, uint32_t op)
{
	return xdr_put_u32(x, op);
}

/*
 * nfs_resop4 header: operation number and status.  0 on NFS4_OK,
 * -NFS4ERR_<x> on a server error, -EBADMSG when truncated or when the
 * operation number is not op.  A server that did not understand the request
 * answers OP_ILLEGAL/NFS4ERR_OP_ILLEGAL: that status is returned as is.
 */
static inline int nfs4_xdr_dec_op(struct xdr *x, uint32_t op)
{
	uint32_t opnum, status;

	if (xdr_get_u32(x, &opnum) || xdr_get_u32(x, &status))
		return -EBADMSG;
	if (opnum != op && (opnum != OP_ILLEGAL || status == NFS4_OK))
		return -EBADMSG;
	if (status > INT_MAX)
		return -EBADMSG;
	return -(int)status;
}

/* stateid4: seqid + other[12]; sid NULL encodes the anonymous stateid. */
static inline int nfs4_xdr_enc_stateid(struct xdr *x, const struct nfs4_stateid *sid)
{
	static const struct nfs4_stateid anon;

	if (!sid)
		sid = &anon;
	if (xdr_put_u32(x, sid->seqid) || xdr_put_fixed(x, sid->other, NFS4_OTHER_SIZE))
		return -EMSGSIZE;
	return 0;
}

static inline int nfs4_xdr_dec_stateid(struct xdr *x, struct nfs4_stateid *sid)
{
	if (xdr_get_u32(x, &sid->seqid) || xdr_get_fixed_copy(x, sid->other, NFS4_OTHER_SIZE))
		return -EBADMSG;
	return 0;
}

/* nfstime4: int64 seconds + uint32 nseconds. */
static inline int nfs4_xdr_enc_time(struct xdr *x, const struct nfs4_time *t)
{
	if (xdr_put_u64(x, (uint64_t)t->sec) || xdr_put_u32(x, t->nsec))
		return -EMSGSIZE;
	return 0;
}

/* nseconds >= 1e9 is malformed. */
static inline int nfs4_xdr_dec_time(struct xdr *x, struct nfs4_time *t)
{
	uint64_t s;
	uint32_t ns;

	if (xdr_get_u64(x, &s) || xdr_get_u32(x, &ns) || ns >= 1000000000u)
		return -EBADMSG;
	t->sec = (int64_t)s;
	t->nsec = ns;
	return 0;
}

/* change_info4: atomic bool, before, after (skipped). */
static inline int nfs4_xdr_skip_change_info(struct xdr *x)
{
	return xdr_skip(x, 4 + 8 + 8);
}

/* A counted opaque of at most max bytes, skipped. */
static inline int nfs4_xdr_skip_opaque(struct xdr *x, uint32_t max)
{
	const uint8_t *p;
	uint32_t n;

	return xdr_get_opaque(x, &p, &n, max);
}

/* nfsace4: type, flag, access_mask, who (skipped). */
static inline int nfs4_xdr_skip_ace(struct xdr *x)
{
	if (xdr_skip(x, 12) || nfs4_xdr_skip_opaque(x, NFS4_OPAQUE_LIMIT))
		return -EBADMSG;
	return 0;
}

/* component4 from a C string. */
static inline int nfs4_xdr_enc_name(struct xdr *x, const char *name)
{
	return xdr_put_string(x, name);
}

/* bitmap4, skipped (at most NFS4_XDR_BITMAP_MAX words). */
static inline int nfs4_xdr_skip_bitmap(struct xdr *x)
{
	uint32_t n;

	if (xdr_get_u32(x, &n) || n > NFS4_XDR_BITMAP_MAX || xdr_skip(x, (size_t)n * 4))
		return -EBADMSG;
	return 0;
}

#endif
