/*
 * nfs4_err.h - the one table that maps NFS4ERR_* to errno (RFC 8881
 * section 15.1), used once, at the fs/ boundary.
 *
 * Inside nfs4/ a status travels as a negative value: either -NFS4ERR_<x>
 * (server status) or -errno (transport / decode failures such as
 * -ETIMEDOUT, -ECONNRESET, -EBADMSG).  nfs4_err_to_errno() turns either kind
 * into a positive errno suitable for fuse_reply_err(); 0 stays 0.
 */
#ifndef EFS_NFS4_ERR_H
#define EFS_NFS4_ERR_H

/* e is 0, -NFS4ERR_x or -errno; returns 0 or a positive errno. */
int nfs4_err_to_errno(int e);
/* Name for logs: "NFS4ERR_DELAY", or strerror-like text for -errno. */
const char *nfs4_err_name(int e);
/* True when e is a server status (NFS4ERR_*) rather than a local errno. */
int nfs4_err_is_nfs(int e);

#endif
/*
 * Note: nfsstat4 values below 10000 (1, 2, 5, 6, 13, 17, 18, 20, 21, 22, 27,
 * 28, 30, 31, 63, 66, 69, 70) are read as NFS4ERR_* by the table, so local
 * code must only pass errnos outside that set (EBADMSG, ETIMEDOUT,
 * ECONNRESET, ENOTCONN, ECONNREFUSED, EPIPE, ENOMEM, EMSGSIZE, EPROTO,
 * EINTR, EAGAIN, EHOSTUNREACH, ERANGE, ...). EIO (5) means the same in both.
 */
