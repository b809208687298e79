/*
 * nfs4_client.h - an NFSv4.1 client: one client id and session on one mount
 * target (RFC 8881 sections 2.10, 18.35-18.37, 18.46), and the procedures
 * fs/ needs, each one COMPOUND built from nfs4_xdr.h encoders.
 *
 * Contract
 *  - nfs4_client_start() connects, EXCHANGE_ID, CREATE_SESSION (fore
 *    channel sized for rsize/wsize), RECLAIM_COMPLETE, and starts the lease
 *    renewer (a SEQUENCE when nothing else went out for lease/3).  Errors
 *    come back as a one-line message for the user.
 *  - Every procedure takes the caller's credential (AUTH_SYS) and returns
 *    0, -NFS4ERR_<x> (server status of the failing op) or -errno (transport
 *    or malformed reply).  fs/ maps with nfs4_err_to_errno().
 *  - Recovery lives here, in one place: NFS4ERR_DELAY/GRACE are retried with
 *    backoff; a lost connection is re-established and the compound resent
 *    (same slot and sequence: the server's reply cache answers a duplicate);
 *    BADSESSION/DEADSESSION/STALE_CLIENTID re-create the client and session.
 *    "hard" retries for ever; "soft" gives up with -ETIMEDOUT after
 *    timeo x (retrans + 1).
 *  - Slots: up to the negotiated number of requests run concurrently; more
 *    callers wait for a free slot.
 *  - Threads: all procedures are safe from any thread.  No lock of this
 *    module is held while calling back into fs/.
 *  - Open and lock state: nfs4/nfs4_state.h.  nfs4_open_name() and
 *    nfs4_close() here are a plain OPEN/CLOSE with a fresh open-owner, for
 *    tools and a create-then-close (mknod of a regular file).
 */
#ifndef EFS_NFS4_CLIENT_H
#define EFS_NFS4_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/transport.h"
#include "rpc/rpc_clnt.h"
#include "nfs4/nfs4_types.h"
#include "nfs4/nfs4_xdr.h"

struct nfs4_client_cfg {
	struct transport_cfg transport; /* host, port, tls (strings copied) */
	uint32_t rsize, wsize;		/* requested; the server may lower them */
	unsigned int timeo_ds;		/* nfs(5) timeo, tenths of a second */
	unsigned int retrans;		/* nfs(5) retrans */
	bool soft;			/* soft: fail after timeo x (retrans+1) */
	bool softerr;			/* soft fails with ETIMEDOUT instead of EIO */
	const char *owner_id;		/* unique client identity (co_ownerid) */
	int (*resolve)(void *arg, char *host, size_t hostsz); /* re-resolution */
	void *resolve_arg;
};

/* Per-procedure counters, for the benchmark ("round trips per operation"). */
enum nfs4_proc_id {
	NFS4_PROC_ID_NULL,
	NFS4_PROC_ID_LOOKUP,
	NFS4_PROC_ID_GETATTR,
	NFS4_PROC_ID_SETATTR,
	NFS4_PROC_ID_ACCESS,
	NFS4_PROC_ID_READLINK,
	NFS4_PROC_ID_CREATE,
	NFS4_PROC_ID_REMOVE,
	NFS4_PROC_ID_RENAME,
	NFS4_PROC_ID_LINK,
	NFS4_PROC_ID_OPEN,
	NFS4_PROC_ID_CLOSE,
	NFS4_PROC_ID_READ,
	NFS4_PROC_ID_WRITE,
	NFS4_PROC_ID_COMMIT,
	NFS4_PROC_ID_READDIR,
	NFS4_PROC_ID_STATFS,
	NFS4_PROC_ID_LOCK,
	NFS4_PROC_ID_LOCKT,
	NFS4_PROC_ID_LOCKU,
	NFS4_PROC_ID_SEQUENCE,
	NFS4_PROC_ID_SESSION,
	NFS4_PROC_ID_MAX
};
#define NFS4_LAT_BUCKETS 24 /* log2 microseconds: [2^k, 2^(k+1)) us, the last open-ended */
struct nfs4_stats {
	uint64_t compounds; /* round trips (COMPOUNDs answered) */
	uint64_t ops;	    /* operations inside them */
	uint64_t retries;   /* DELAY/GRACE/reconnect resends */
	uint64_t per_proc[NFS4_PROC_ID_MAX];
	/* latency as the caller saw it (retries included), per procedure */
	uint64_t lat_count[NFS4_PROC_ID_MAX], lat_sum_us[NFS4_PROC_ID_MAX];
	uint32_t lat_hist[NFS4_PROC_ID_MAX][NFS4_LAT_BUCKETS];
	uint64_t recoveries; /* sessions re-created (BADSESSION, restarts, ...) */
	struct rpc_stats rpc;
};
/* "OPEN", "READ", ...: the name of a procedure id (the stats keys). */
const char *nfs4_proc_name(enum nfs4_proc_id id);
/* Upper bound of the latency under which a fraction q (0..1) of calls of id fall, us. */
uint64_t nfs4_stats_quantile_us(const struct nfs4_stats *st, enum nfs4_proc_id id, double q);

struct nfs4_open_state {
	struct nfs4_stateid stateid;
	struct nfs4_fh fh;
	uint64_t owner_id; /* the open-owner used */
	uint32_t share_access;
	/* OPEN by name: the directory's change_info4 when have_cinfo */
	bool have_cinfo;
	struct nfs4_change_info cinfo;
};

struct nfs4_client;

struct nfs4_client *nfs4_client_new(const struct nfs4_client_cfg *cfg);
int nfs4_client_start(struct nfs4_client *c, char *err, size_t errlen);
/* PUTROOTFH + LOOKUP per component of path + GETFH + GETATTR. */
int nfs4_client_mount(struct nfs4_client *c, const char *path, struct nfs4_fh *root,
		      struct nfs4_attr *attr, char *err, size_t errlen);
/*
 * The mount is going away: the client is STOPPING.  Calls that reach the
 * server still complete for grace_ms; after that every wait and retry
 * ends (-ESHUTDOWN) and calls still waiting for a reply are abandoned, so
 * nothing can keep the daemon from exiting.  Safe from any thread, more
 * than once (the earliest deadline holds).
 */
void nfs4_client_stop(struct nfs4_client *c, unsigned int grace_ms);
/*
 * nfs4_client_stop() if not yet, then DESTROY_SESSION + DESTROY_CLIENTID
 * (best effort, a short timeout, only while the server answers), stop
 * threads.  Returns within about grace_ms + 2 s whatever the server does.
 */
void nfs4_client_shutdown(struct nfs4_client *c);
void nfs4_client_free(struct nfs4_client *c);
uint32_t nfs4_client_rsize(const struct nfs4_client *c);
uint32_t nfs4_client_wsize(const struct nfs4_client *c);
uint32_t nfs4_client_lease_time(const struct nfs4_client *c);
void nfs4_client_get_stats(struct nfs4_client *c, struct nfs4_stats *st);
/*
 * The state dump (SIGUSR1): one line per call of line(): the session and its
 * slots, calls in flight and the oldest one's age, every open (owner,
 * access, locks, lost).  Takes the client's locks briefly, no RPC.
 */
void nfs4_client_dump(struct nfs4_client *c, void (*line)(void *arg, const char *text), void *arg);

/* ---- procedures (one COMPOUND each unless noted) ---- */
int nfs4_lookup(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		const char *name, struct nfs4_fh *fh, struct nfs4_attr *attr);
int nfs4_lookupp(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		 struct nfs4_fh *fh, struct nfs4_attr *attr);
int nfs4_getattr(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		 struct nfs4_attr *attr);
/* sid NULL: anonymous stateid.  attr (may be NULL) gets the post-op attributes. */
int nfs4_setattr(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		 const struct nfs4_stateid *sid, const struct nfs4_sattr *sa,
		 struct nfs4_attr *attr);
int nfs4_access(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		uint32_t want, uint32_t *granted);
int nfs4_readlink(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		  char *buf, size_t bufsz);
/* CREATE a non-regular object in dir; fh/attr of the new object. */
int nfs4_create(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		const struct nfs4_create_args *a, struct nfs4_fh *fh, struct nfs4_attr *attr);
int nfs4_remove(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		const char *name);
int nfs4_rename(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *sdir,
		const char *sname, const struct nfs4_fh *ddir, const char *dname);
/* LINK fh as dir/name; attr gets the file's post-op attributes (nlink). */
int nfs4_link(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
	      const struct nfs4_fh *dir, const char *name, struct nfs4_attr *attr);
/*
 * The same, also returning the changed directories' change_info4 (RFC 8881
 * section 3.3.14) so a caller can tell whether only its own operations
 * moved a directory's change attribute.  ci may be NULL.
 */
int nfs4_create_ci(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		   const struct nfs4_create_args *a, struct nfs4_fh *fh, struct nfs4_attr *attr,
		   struct nfs4_change_info *ci);
int nfs4_remove_ci(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		   const char *name, struct nfs4_change_info *ci);
int nfs4_rename_ci(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *sdir,
		   const char *sname, const struct nfs4_fh *ddir, const char *dname,
		   struct nfs4_change_info *sci, struct nfs4_change_info *dci);
int nfs4_link_ci(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		 const struct nfs4_fh *dir, const char *name, struct nfs4_attr *attr,
		 struct nfs4_change_info *ci);
/* statfs attributes of fh's file system into attr (files_*, space_*, maxname). */
int nfs4_statfs(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		struct nfs4_attr *attr);

/*
 * OPEN by name in dir (CLAIM_NULL).  create: OPEN4_CREATE with UNCHECKED4,
 * or GUARDED4 when exclusive (O_EXCL); sa holds the initial mode.
 * On success st and attr describe the opened file.
 */
int nfs4_open_name(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		   const char *name, uint32_t share_access, bool create, bool exclusive,
		   const struct nfs4_sattr *sa, struct nfs4_open_state *st, struct nfs4_attr *attr);
int nfs4_close(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open_state *st);

/* READ up to count bytes at off into buf; *got bytes, *eof. */
/*
 * The same, handing the reply record over instead of copying (zero copy):
 * on 0, *data (*got bytes) points into *rec, which the caller free()s;
 * on error *rec is NULL.
 */
int nfs4_read_rec(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		  const struct nfs4_stateid *sid, uint64_t off, uint32_t count, void **rec,
		  const uint8_t **data, uint32_t *got, bool *eof);
int nfs4_read(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
	      const struct nfs4_stateid *sid, uint64_t off, uint32_t count, void *buf,
	      uint32_t *got, bool *eof);
/* WRITE len bytes; *written, *committed (stable_how4) and verf filled. */
int nfs4_write(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
	       const struct nfs4_stateid *sid, uint64_t off, const void *buf, uint32_t len,
	       uint32_t stable, uint32_t *written, uint32_t *committed,
	       uint8_t verf[NFS4_VERIFIER_SIZE]);
int nfs4_commit(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		uint64_t off, uint32_t count, uint8_t verf[NFS4_VERIFIER_SIZE]);

/*
 * One READDIR round trip from cookie (0 = start) with verifier verf (in/out).
 * plus: also request the file handle and stat attributes of every entry.
 * cb is called per entry (including "." and ".." if the server sends them,
 * which NFSv4 servers do not).
 */
int nfs4_readdir(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		 uint64_t cookie, uint8_t verf[NFS4_VERIFIER_SIZE], uint32_t maxcount, bool plus,
		 nfs4_dirent_cb cb, void *arg, bool *eof);

#endif
