/*
 * nfs4_xdr_lock.c - byte-range locks: LOCK, LOCKT, LOCKU (RFC 8881
 * sections 18.10-18.12).  NFSv4.1 ignores the lock and open seqids; they are
 * sent as 0.  See include/nfs4/nfs4_xdr.h.
 */
#include <errno.h>
#include <string.h>
#include "nfs4/nfs4_xdr.h"
#include "nfs4_xdr_int.h"

/* lock_owner4: clientid + owner<NFS4_OPAQUE_LIMIT> */
static int enc_lock_owner(struct xdr *x, const struct nfs4_lock_owner *o)
{
	if (xdr_put_u64(x, o->clientid) || xdr_put_opaque(x, o->owner, o->owner_len))
		return -EMSGSIZE;
	return 0;
}

static bool bad_owner(const struct nfs4_lock_owner *o)
{
	return o->owner_len > NFS4_OPAQUE_LIMIT || (o->owner_len && !o->owner);
}

/* LOCK4denied: offset, length, locktype, lock_owner4 (owner length kept). */
static int dec_denied(struct xdr *x, struct nfs4_lock_denied *d)
{
	const uint8_t *p;

	if (xdr_get_u64(x, &d->offset) || xdr_get_u64(x, &d->length) || xdr_get_u32(x, &d->type) ||
	    xdr_get_u64(x, &d->clientid) || xdr_get_opaque(x, &p, &d->owner_len, NFS4_OPAQUE_LIMIT))
		return -EBADMSG;
	return 0;
}

/* The status, with LOCK4denied decoded on NFS4ERR_DENIED. */
static int dec_status_denied(struct xdr *x, uint32_t op, struct nfs4_lock_denied *denied)
{
	struct nfs4_lock_denied tmp;
	int rc;

	if (!denied)
		denied = &tmp;
	memset(denied, 0, sizeof(*denied));
	rc = nfs4_xdr_dec_op(x, op);
	if (rc == -NFS4ERR_DENIED && dec_denied(x, denied))
		return -EBADMSG;
	return rc;
}

int nfs4_enc_lock(struct xdr *x, const struct nfs4_lock_args *a)
{
	if (a->new_lock_owner && bad_owner(&a->owner))
		return -EINVAL;
	if (nfs4_xdr_enc_op(x, OP_LOCK) || xdr_put_u32(x, a->locktype) ||
	    xdr_put_bool(x, a->reclaim) || xdr_put_u64(x, a->offset) || xdr_put_u64(x, a->length) ||
	    xdr_put_bool(x, a->new_lock_owner))
		return -EMSGSIZE;
	if (a->new_lock_owner) {
		/* open_to_lock_owner4: open_seqid, open_stateid, lock_seqid, lock_owner */
		if (xdr_put_u32(x, 0) || nfs4_xdr_enc_stateid(x, &a->open_stateid) ||
		    xdr_put_u32(x, 0) || enc_lock_owner(x, &a->owner))
			return -EMSGSIZE;
	} else {
		/* exist_lock_owner4: lock_stateid, lock_seqid */
		if (nfs4_xdr_enc_stateid(x, &a->lock_stateid) || xdr_put_u32(x, 0))
			return -EMSGSIZE;
	}
	return 0;
}

int nfs4_dec_lock(struct xdr *x, struct nfs4_stateid *lock_sid, struct nfs4_lock_denied *denied)
{
	int rc = dec_status_denied(x, OP_LOCK, denied);

	if (rc)
		return rc;
	return nfs4_xdr_dec_stateid(x, lock_sid);
}

int nfs4_enc_lockt(struct xdr *x, uint32_t locktype, uint64_t offset, uint64_t length,
		   const struct nfs4_lock_owner *owner)
{
	if (bad_owner(owner))
		return -EINVAL;
	if (nfs4_xdr_enc_op(x, OP_LOCKT) || xdr_put_u32(x, locktype) || xdr_put_u64(x, offset) ||
	    xdr_put_u64(x, length) || enc_lock_owner(x, owner))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_lockt(struct xdr *x, struct nfs4_lock_denied *denied)
{
	return dec_status_denied(x, OP_LOCKT, denied);
}

int nfs4_enc_locku(struct xdr *x, uint32_t locktype, const struct nfs4_stateid *lock_sid,
		   uint64_t offset, uint64_t length)
{
	if (nfs4_xdr_enc_op(x, OP_LOCKU) || xdr_put_u32(x, locktype) ||
	    xdr_put_u32(x, 0) /* seqid */ || nfs4_xdr_enc_stateid(x, lock_sid) ||
	    xdr_put_u64(x, offset) || xdr_put_u64(x, length))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_locku(struct xdr *x, struct nfs4_stateid *lock_sid)
{
	int rc = nfs4_xdr_dec_op(x, OP_LOCKU);

	if (rc)
		return rc;
	return nfs4_xdr_dec_stateid(x, lock_sid);
}
