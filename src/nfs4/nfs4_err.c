/*
 * nfs4_err.c - NFS4ERR_* to errno (RFC 8881 section 15.1); see
 * include/nfs4/nfs4_err.h.
 *
 * The mapping follows the Linux NFS client (nfs4_stat_to_errno() and
 * nfs4_map_errors()), with the kernel-internal errnos it uses (EBADHANDLE,
 * ENOTSUPP, EBADCOOKIE, ETOOSMALL, EBADTYPE, ENOTSYNC) replaced by the
 * userspace errno an application can understand.  Statuses the client
 * recovers from (DELAY, GRACE, stale client/session/stateid) still get an
 * errno, for when recovery gives up.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np */
#endif
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include "nfs4/nfs4_const.h"
#include "nfs4/nfs4_err.h"

struct nfs4_err_ent {
	int stat;
	int err;
	const char *name;
};

#define E(s, e)          \
	{                \
		s, e, #s \
	}

/* Sorted by status (the enum order), looked up by binary search. */
static const struct nfs4_err_ent nfs4_errtbl[] = {
	E(NFS4ERR_PERM, EPERM),
	E(NFS4ERR_NOENT, ENOENT),
	E(NFS4ERR_IO, EIO),
	E(NFS4ERR_NXIO, ENXIO),
	E(NFS4ERR_ACCESS, EACCES),
	E(NFS4ERR_EXIST, EEXIST),
	E(NFS4ERR_XDEV, EXDEV),
	E(NFS4ERR_NOTDIR, ENOTDIR),
	E(NFS4ERR_ISDIR, EISDIR),
	E(NFS4ERR_INVAL, EINVAL),
	E(NFS4ERR_FBIG, EFBIG),
	E(NFS4ERR_NOSPC, ENOSPC),
	E(NFS4ERR_ROFS, EROFS),
	E(NFS4ERR_MLINK, EMLINK),
	E(NFS4ERR_NAMETOOLONG, ENAMETOOLONG),
	E(NFS4ERR_NOTEMPTY, ENOTEMPTY),
	E(NFS4ERR_DQUOT, EDQUOT),
	E(NFS4ERR_STALE, ESTALE),
	E(NFS4ERR_BADHANDLE, ESTALE),
	E(NFS4ERR_BAD_COOKIE, EINVAL),
	E(NFS4ERR_NOTSUPP, EOPNOTSUPP),
	E(NFS4ERR_TOOSMALL, EINVAL),
	E(NFS4ERR_SERVERFAULT, EIO),
	E(NFS4ERR_BADTYPE, EINVAL),
	E(NFS4ERR_DELAY, EAGAIN),
	E(NFS4ERR_SAME, EIO),
	E(NFS4ERR_DENIED, EAGAIN),
	E(NFS4ERR_EXPIRED, EIO),
	E(NFS4ERR_LOCKED, EACCES),
	E(NFS4ERR_GRACE, EAGAIN),
	E(NFS4ERR_FHEXPIRED, ESTALE),
	E(NFS4ERR_SHARE_DENIED, EACCES),
	E(NFS4ERR_WRONGSEC, EPERM),
	E(NFS4ERR_CLID_INUSE, EIO),
	E(NFS4ERR_RESOURCE, EREMOTEIO),
	E(NFS4ERR_MOVED, EIO),
	E(NFS4ERR_NOFILEHANDLE, EIO),
	E(NFS4ERR_MINOR_VERS_MISMATCH, EPROTONOSUPPORT),
	E(NFS4ERR_STALE_CLIENTID, EIO),
	E(NFS4ERR_STALE_STATEID, EIO),
	E(NFS4ERR_OLD_STATEID, EIO),
	E(NFS4ERR_BAD_STATEID, EIO),
	E(NFS4ERR_BAD_SEQID, EIO),
	E(NFS4ERR_NOT_SAME, EIO),
	E(NFS4ERR_LOCK_RANGE, EINVAL),
	E(NFS4ERR_SYMLINK, ELOOP),
	E(NFS4ERR_RESTOREFH, EIO),
	E(NFS4ERR_LEASE_MOVED, EIO),
	E(NFS4ERR_ATTRNOTSUPP, EOPNOTSUPP),
	E(NFS4ERR_NO_GRACE, ENOLCK),
	E(NFS4ERR_RECLAIM_BAD, ENOLCK),
	E(NFS4ERR_RECLAIM_CONFLICT, ENOLCK),
	E(NFS4ERR_BADXDR, EIO),
	E(NFS4ERR_LOCKS_HELD, EIO),
	E(NFS4ERR_OPENMODE, EBADF),
	E(NFS4ERR_BADOWNER, EINVAL),
	E(NFS4ERR_BADCHAR, EINVAL),
	E(NFS4ERR_BADNAME, EINVAL),
	E(NFS4ERR_BAD_RANGE, EINVAL),
	E(NFS4ERR_LOCK_NOTSUPP, ENOLCK),
	E(NFS4ERR_OP_ILLEGAL, EOPNOTSUPP),
	E(NFS4ERR_DEADLOCK, EDEADLK),
	E(NFS4ERR_FILE_OPEN, EBUSY),
	E(NFS4ERR_ADMIN_REVOKED, EIO),
	E(NFS4ERR_CB_PATH_DOWN, EIO),
	E(NFS4ERR_BADIOMODE, EIO),
	E(NFS4ERR_BADLAYOUT, EIO),
	E(NFS4ERR_BAD_SESSION_DIGEST, EIO),
	E(NFS4ERR_BADSESSION, EIO),
	E(NFS4ERR_BADSLOT, EIO),
	E(NFS4ERR_COMPLETE_ALREADY, EIO),
	E(NFS4ERR_CONN_NOT_BOUND_TO_SESSION, EIO),
	E(NFS4ERR_DELEG_ALREADY_WANTED, EIO),
	E(NFS4ERR_BACK_CHAN_BUSY, EIO),
	E(NFS4ERR_LAYOUTTRYLATER, EREMOTEIO),
	E(NFS4ERR_LAYOUTUNAVAILABLE, EIO),
	E(NFS4ERR_NOMATCHING_LAYOUT, EIO),
	E(NFS4ERR_RECALLCONFLICT, EREMOTEIO),
	E(NFS4ERR_UNKNOWN_LAYOUT_TYPE, EIO),
	E(NFS4ERR_SEQ_MISORDERED, EIO),
	E(NFS4ERR_SEQUENCE_POS, EIO),
	E(NFS4ERR_REQ_TOO_BIG, EIO),
	E(NFS4ERR_REP_TOO_BIG, EIO),
	E(NFS4ERR_REP_TOO_BIG_TO_CACHE, EIO),
	E(NFS4ERR_RETRY_UNCACHED_REP, EIO),
	E(NFS4ERR_UNSAFE_COMPOUND, EIO),
	E(NFS4ERR_TOO_MANY_OPS, EIO),
	E(NFS4ERR_OP_NOT_IN_SESSION, EIO),
	E(NFS4ERR_HASH_ALG_UNSUPP, EIO),
	E(NFS4ERR_CLIENTID_BUSY, EIO),
	E(NFS4ERR_PNFS_IO_HOLE, EIO),
	E(NFS4ERR_SEQ_FALSE_RETRY, EIO),
	E(NFS4ERR_BAD_HIGH_SLOT, EIO),
	E(NFS4ERR_DEADSESSION, EIO),
	E(NFS4ERR_ENCR_ALG_UNSUPP, EIO),
	E(NFS4ERR_PNFS_NO_LAYOUT, EIO),
	E(NFS4ERR_NOT_ONLY_OP, EIO),
	E(NFS4ERR_WRONG_CRED, EPERM),
	E(NFS4ERR_WRONG_TYPE, EINVAL),
	E(NFS4ERR_DIRDELEG_UNAVAIL, EIO),
	E(NFS4ERR_REJECT_DELEG, EIO),
	E(NFS4ERR_RETURNCONFLICT, EREMOTEIO),
	E(NFS4ERR_DELEG_REVOKED, EIO),
};

#define NFS4_ERRTBL_LEN (sizeof(nfs4_errtbl) / sizeof(nfs4_errtbl[0]))

/* First status of the NFSv4-only range; unknown values there are NFS4ERR. */
#define NFS4ERR_FIRST_V4 10000
/* Largest errno value Linux uses; above it (and below 10000) is garbage. */
#define ERRNO_MAX 4095
/*
 * Largest errno the kernel accepts in a FUSE reply that we pass through
 * (EHWPOISON is 133): a status above it that is not in the table came from
 * a misbehaving server and is an I/O error to the user.
 */
#define ERRNO_PASS_MAX 133

static const struct nfs4_err_ent *lookup(int stat)
{
	size_t lo = 0, hi = NFS4_ERRTBL_LEN;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (nfs4_errtbl[mid].stat == stat)
			return &nfs4_errtbl[mid];
		if (nfs4_errtbl[mid].stat < stat)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* |e|, with INT_MIN (no positive counterpart) as garbage (-1). */
static int magnitude(int e)
{
	if (e == INT_MIN)
		return -1;
	return e < 0 ? -e : e;
}

int nfs4_err_to_errno(int e)
{
	const struct nfs4_err_ent *ent;
	int v = magnitude(e);

	if (v == 0)
		return 0;
	ent = lookup(v);
	if (ent)
		return ent->err;
	if (v < 0 || v >= NFS4ERR_FIRST_V4 || v > ERRNO_PASS_MAX)
		return EIO;
	/* a local errno: malformed replies are an I/O error to the user */
	if (v == EBADMSG || v == EPROTO)
		return EIO;
	return v;
}

int nfs4_err_is_nfs(int e)
{
	int v = magnitude(e);

	if (v <= 0)
		return 0;
	return v >= NFS4ERR_FIRST_V4 || lookup(v) != NULL;
}

const char *nfs4_err_name(int e)
{
	const struct nfs4_err_ent *ent;
	const char *s;
	int v = magnitude(e);

	if (v == 0)
		return "NFS4_OK";
	ent = lookup(v);
	if (ent)
		return ent->name;
	if (v >= NFS4ERR_FIRST_V4)
		return "NFS4ERR_unknown";
	if (v < 0 || v > ERRNO_MAX)
		return "unknown error";
	s = strerrorname_np(v);
	return s ? s : "unknown error";
}
