/*
 * nfs4_state.h - open and lock state of one NFSv4.1 client, owned here so
 * that fs/ never sees a stateid (RFC 8881 sections 8, 9, 18.10-18.12,
 * 18.16, 18.18; the Linux client's nfs4state.c is the model).
 *
 * Objects
 *  - open-owner: one per credential (uid, gid) of the mount.
 *  - struct nfs4_open: the open state of one file for one open-owner.  All
 *    the FUSE opens of that file by that credential share it: a second
 *    OPEN upgrades it (the server returns the same stateid, seqid + 1),
 *    nfs4_open_release() of one of them OPEN_DOWNGRADEs it to what the
 *    others still need, the last one CLOSEs it.  I/O uses its stateid with
 *    seqid 0 ("the current one", section 8.2.2), so I/O never races a
 *    seqid change.
 *  - lock state: one lock-owner per (open-owner, kernel lock owner), one
 *    lock stateid per (open, lock-owner); the ranges granted are kept so
 *    they can be reclaimed.  Any number of files may be locked by one
 *    process.
 *
 * Recovery (driven by the session code, nfs4_session.c)
 *  - After a server restart (new client id) every open is reclaimed with
 *    CLAIM_PREVIOUS and every lock with reclaim = true inside the grace
 *    period, then RECLAIM_COMPLETE.  An open the server refuses to
 *    reclaim (NO_GRACE, RECLAIM_BAD: the lease had expired) is opened
 *    again with CLAIM_FH; its locks are lost.
 *  - A stateid error on I/O (BAD_STATEID, EXPIRED, ADMIN_REVOKED, ...)
 *    retries when recovery replaced the stateid meanwhile; otherwise the
 *    open is opened again if it held no locks.
 *  - An open whose lock was lost is *lost*: every READ, WRITE and LOCK
 *    through it fails with -EIO until it is released (the Linux client's
 *    behaviour); the anonymous stateid is never used behind the
 *    application's back.
 *
 * Lifetime and threads
 *  - nfs4_open_by_*() return a reference; nfs4_open_hold()/put() add and
 *    drop more (a cache that writes through the open holds one).  The
 *    memory lives until the last reference; the server state until the
 *    last share was released.
 *  - One mutex per open serialises its OPEN/OPEN_DOWNGRADE/CLOSE/LOCK/LOCKU
 *    RPCs (held across them); a table mutex (leaf, never held across an
 *    RPC) protects the table and every open's stateid snapshot.
 *  - Errors: 0, -NFS4ERR_x or -errno, as every procedure of nfs4_client.h.
 */
#ifndef EFS_NFS4_STATE_H
#define EFS_NFS4_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include "nfs4/nfs4_client.h"

struct nfs4_open;

/* OPEN an existing file by handle (CLAIM_FH) with share_access (OPEN4_SHARE_ACCESS_*). */
int nfs4_open_by_fh(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		    uint32_t share_access, struct nfs4_open **op, struct nfs4_attr *attr);
/*
 * OPEN by name in dir (CLAIM_NULL), creating it with create (UNCHECKED4,
 * or GUARDED4 with exclusive; sa the initial attributes).  ci (may be
 * NULL) gets the directory's change_info4.
 */
int nfs4_open_by_name(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		      const char *name, uint32_t share_access, bool create, bool exclusive,
		      const struct nfs4_sattr *sa, struct nfs4_open **op, struct nfs4_attr *attr,
		      struct nfs4_change_info *ci);
/*
 * One FUSE open of share_access is gone: OPEN_DOWNGRADE or CLOSE as the
 * remaining opens allow, release its locks when it was the last (cr: for
 * those RPCs), and drop the reference nfs4_open_by_*() returned.
 */
int nfs4_open_release(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		      uint32_t share_access);
void nfs4_open_hold(struct nfs4_open *op);
void nfs4_open_put(struct nfs4_client *c, struct nfs4_open *op);
void nfs4_open_get_fh(struct nfs4_open *op, struct nfs4_fh *fh);
/* A lock of this open was lost: its I/O fails with -EIO. */
bool nfs4_open_lost(struct nfs4_open *op);

/* I/O through an open (NULL: the anonymous stateid, for opens we do not have). */
int nfs4_read_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		   uint64_t off, uint32_t count, void *buf, uint32_t *got, bool *eof);
/* The same without a copy: *data points into the reply record *rec (free() it). */
int nfs4_read_open_rec(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		       uint64_t off, uint32_t count, void **rec, const uint8_t **data,
		       uint32_t *got, bool *eof);
int nfs4_write_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		    uint64_t off, const void *buf, uint32_t len, uint32_t stable, uint32_t *written,
		    uint32_t *committed, uint8_t verf[NFS4_VERIFIER_SIZE]);
/* SETATTR with the open's stateid (size changes); op may be NULL. */
int nfs4_setattr_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		      const struct nfs4_fh *fh, const struct nfs4_sattr *sa,
		      struct nfs4_attr *attr);

/*
 * Byte-range locks of kernel lock owner `owner` through op.  locktype
 * READ_LT/WRITE_LT (or the W variants); len UINT64_MAX = to the end.
 * -NFS4ERR_DENIED when refused (denied filled).  Unlock of a range never
 * locked is 0.
 */
int nfs4_lock_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		   uint64_t owner, uint32_t locktype, uint64_t off, uint64_t len,
		   struct nfs4_lock_denied *denied);
int nfs4_unlock_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		     uint64_t owner, uint64_t off, uint64_t len);
int nfs4_lockt_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		    uint64_t owner, uint32_t locktype, uint64_t off, uint64_t len,
		    struct nfs4_lock_denied *denied);
/* True while owner holds a lock through op. */
bool nfs4_open_has_locks(struct nfs4_client *c, struct nfs4_open *op, uint64_t owner);

/* Counters: opens held, locks held, reclaimed, lost (for the stats xattr). */
struct nfs4_state_stats {
	uint64_t opens, lock_states, reclaimed_opens, reclaimed_locks, lost_opens;
};
void nfs4_state_get_stats(struct nfs4_client *c, struct nfs4_state_stats *st);

#endif
