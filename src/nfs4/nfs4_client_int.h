/*
 * nfs4_client_int.h - private to src/nfs4/: the client structure, the slot
 * table and the compound runner shared by the session and procedure files.
 *
 * Locking: c->lock protects the session identity (clientid, sessionid,
 * generation), the slot table and the recovery flag; c->stats_lock the
 * counters.  Neither is ever held across an RPC.  Order: lock, then
 * stats_lock.
 */
#ifndef EFS_NFS4_CLIENT_INT_H
#define EFS_NFS4_CLIENT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "nfs4/nfs4_client.h"

#define NFS4_MAX_SLOTS	       64
#define NFS4_COMPOUND_OVERHEAD 8192 /* header + small ops around READ/WRITE data */

/*
 * A session slot (RFC 8881 section 2.10.6.1).  A call whose fate is unknown
 * (timed out, interrupted, garbled reply, connection lost before the reply)
 * leaves its slot *interrupted*: before the slot carries another request, a
 * lone SEQUENCE probe finds out which sequence id the server expects, so a
 * reply cached for the old request is never taken for a new one.
 */
struct nfs4_slot {
	uint32_t seqid; /* next sequence id to send on this slot */
	bool busy;
	bool interrupted;
};

/* The client's lifecycle; every wait and retry loop checks it. */
enum nfs4_life { NFS4_RUNNING, NFS4_RECOVERING, NFS4_STOPPING };

struct nfs4_state_table; /* nfs4_state.c */

struct nfs4_client {
	struct nfs4_client_cfg cfg;
	char *host, *tls_name, *cafile, *owner_id; /* owned copies of cfg strings */
	struct rpc_clnt *rpc;
	uint8_t verifier[NFS4_VERIFIER_SIZE];

	pthread_mutex_t lock;
	pthread_cond_t slot_cv; /* a slot was released, the session or the lifecycle changed */
	uint64_t clientid;	/* protected by lock */
	uint32_t create_seq;	/* CREATE_SESSION sequence id */
	uint8_t sessionid[NFS4_SESSIONID_SIZE];
	bool have_session;
	uint32_t gen; /* bumped by every session (re)creation */
	enum nfs4_life life;
	bool recovering;	 /* a thread re-creates the session / client id */
	bool stop_done;		 /* nfs4_client_shutdown() took over from the stopper */
	bool aborted;		 /* the stopper abandoned the calls in flight */
	bool not_responding;	 /* atomic: an outage was logged, "OK" not yet */
	int solo_tmo_ms;	 /* session-management calls' timeout (0: timeo) */
	bool check_state;	 /* SEQUENCE said state was revoked: the renewer checks */
	bool restart_seen;	 /* SEQUENCE said RESTART_RECLAIM_NEEDED: RECLAIM_COMPLETE again */
	bool reclaiming;	 /* new client id: opens and locks are being reclaimed */
	struct timespec stop_at; /* STOPPING: retries end at this time (monotonic) */
	struct nfs4_slot slots[NFS4_MAX_SLOTS];
	uint32_t nslots; /* slots the session has */
	uint32_t target; /* highest slot id to use (server's target_highest_slotid) */
	uint32_t rsize, wsize, lease;
	struct timespec last_ok; /* when the last successful SEQUENCE was *sent* */

	/* lease renewer */
	pthread_t renewer;
	bool renewer_running; /* protected by lock */
	pthread_cond_t renew_cv;

	/* open and lock state (nfs4_state.c), its own lock */
	struct nfs4_state_table *st;

	atomic_uint_fast64_t next_owner;

	pthread_mutex_t stats_lock;
	struct nfs4_stats stats;
};

/* One COMPOUND being built and run. */
struct nfs4_compound {
	struct nfs4_client *c;
	struct xdr args;
	size_t nops_off, seq_off;
	uint32_t nops;
	enum nfs4_proc_id proc;
	bool cachethis;
	bool idempotent;
	bool resent;	      /* sent again after its first transmission's fate was unknown */
	bool machine;	      /* session housekeeping: runs during recovery, no reclaim wait */
	struct rpc_reply rep; /* valid after nfs4_compound_run() returned 0 */
	struct xdr *res;      /* decoder positioned after SEQUENCE */
};

/*
 * Start a compound: allocates an argument buffer of argcap bytes and encodes
 * the header and a SEQUENCE placeholder.  0 or -ENOMEM.
 */
int nfs4_compound_init(struct nfs4_compound *cp, struct nfs4_client *c, enum nfs4_proc_id proc,
		       size_t argcap, bool idempotent);
/* Count one more operation after its encoder returned rc; returns rc. */
static inline int nfs4_compound_op(struct nfs4_compound *cp, int rc)
{
	if (rc == 0)
		cp->nops++;
	return rc;
}
/*
 * Send with a session slot and retry as nfs4_client.h describes.  On 0,
 * cp->res decodes the results after SEQUENCE.  Returns 0, -NFS4ERR_x of the
 * compound when a retryable status persisted (soft), or -errno.  A non-OK
 * compound status is NOT an error here: the per-op decoders report it.
 */
int nfs4_compound_run(struct nfs4_compound *cp, const struct rpc_cred *cr);
void nfs4_compound_fini(struct nfs4_compound *cp);
/*
 * One transmission on a free slot, no waiting, no retry, no lifecycle
 * check (the last words of a stopping client: DESTROY_SESSION).  0 with
 * cp->res set, -EBUSY when no slot is free, or the error.
 */
int nfs4_compound_run_once(struct nfs4_compound *cp, const struct rpc_cred *cr, int timeout_ms);

/* Session (nfs4_session.c). */
int nfs4_session_establish(struct nfs4_client *c, bool new_client, char *err, size_t errlen);
/*
 * Recover from why (BADSESSION, DEADSESSION, STALE_CLIENTID, ...) seen on
 * session generation seen_gen: one thread re-creates the session (and the
 * client id, then reclaims open and lock state); the others wait.  Returns
 * 0 when the caller should retry, or -ESHUTDOWN/-EINTR/-ETIMEDOUT (soft)
 * when it must give up.
 */
int nfs4_session_recover(struct nfs4_client *c, const struct rpc_cred *cr, uint32_t seen_gen,
			 int why);
/* BIND_CONN_TO_SESSION on the current connection (CONN_NOT_BOUND_TO_SESSION). */
int nfs4_session_bind_conn(struct nfs4_client *c);
void nfs4_machine_cred(struct rpc_cred *cr);
int nfs4_timeout_ms(const struct nfs4_client *c);
void nfs4_now(struct timespec *ts);
long nfs4_ms_since(const struct timespec *ts);
/*
 * Wait up to ms on c->slot_cv with c->lock held (returns with it held).
 * Returns early, with -ESHUTDOWN once the client stops retrying, -EINTR when
 * the caller's request was interrupted; else 0.
 */
int nfs4_wait_locked(struct nfs4_client *c, const struct rpc_cred *cr, unsigned int ms);
/* The same without c->lock held (a backoff sleep). */
int nfs4_backoff(struct nfs4_client *c, const struct rpc_cred *cr, unsigned int *ms,
		 unsigned int max_ms);
/* -ESHUTDOWN when retries must end (STOPPING past its deadline), -EINTR, or 0. */
int nfs4_should_stop(struct nfs4_client *c, const struct rpc_cred *cr);

/* nfs4_proc_io.c: pieces shared with nfs4_state.c. */
#define NFS4_OWNER_LEN 20 /* tag[4] + two 64-bit ids */
void nfs4_make_owner(uint8_t out[NFS4_OWNER_LEN], const char tag[4], uint64_t id, uint64_t id2);
uint64_t nfs4_clientid_of(struct nfs4_client *c);
/* A status that says the stateid used is no longer valid. */
bool nfs4_stateid_error(int rc);
/*
 * One OPEN (a->owner set by the caller) + GETFH (+ GETATTR when attr).
 * machine: part of state recovery (runs while reclaiming).  *resent (may
 * be NULL): the request had to be sent again (its first answer was lost).
 */
int nfs4_do_open(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *start,
		 struct nfs4_open_args *a, bool machine, struct nfs4_open_state *st,
		 struct nfs4_attr *attr, bool *resent);

/* State (nfs4_state.c): called by the session code after a new client id. */
int nfs4_state_table_new(struct nfs4_client *c);
void nfs4_state_table_free(struct nfs4_client *c);
/* Reclaim every open and lock (CLAIM_PREVIOUS, reclaim=true) in the grace period. */
void nfs4_state_reclaim(struct nfs4_client *c);
/*
 * The server says it revoked state (SEQ4_STATUS_*_REVOKED): TEST_STATEID
 * every open and lock stateid; FREE_STATEID the dead ones, mark their opens
 * lost (locks) or open them again.  Runs on the renewer thread.
 */
void nfs4_state_check(struct nfs4_client *c);
/* One line per open for the state dump (nfs4_client_dump). */
void nfs4_state_dump(struct nfs4_client *c, void (*line)(void *arg, const char *text), void *arg);
/* After RECLAIM_COMPLETE: open again (CLAIM_FH) what could not be reclaimed. */
void nfs4_state_reopen_lost(struct nfs4_client *c);

#endif
