/*
 * fake_nfs4_srv.h - a scripted NFSv4.1 server for unit tests, on a
 * 127.0.0.1 ephemeral port.
 *
 * It decodes record-marked ONC RPC calls (NULL and COMPOUND), runs the
 * session and state operations the client sends (EXCHANGE_ID,
 * CREATE_SESSION, SEQUENCE with a per-slot reply cache, open and lock
 * state with stateids that go STALE across a restart, a grace period) and
 * encodes the replies by hand.  A script of rules injects faults: drop the
 * connection before or after executing a call, never answer, answer with
 * a SEQUENCE or operation status, answer with a wrong slot / sequence id /
 * session, restart, forget every session.
 *
 * Threads: one server thread serves one connection at a time.  Everything
 * in struct fsrv below `lock` is protected by it; tests read the call log
 * with the lock held (fsrv_lock) or through the helpers.
 */
#ifndef EFS_TESTS_FAKE_NFS4_SRV_H
#define EFS_TESTS_FAKE_NFS4_SRV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "nfs4/nfs4_const.h"

#define FSRV_MAX_OPS	  16
#define FSRV_SLOTS	  8 /* fore channel slots granted */
#define FSRV_MAX_RULES	  16
#define FSRV_NOREPLY	  0xffffffffu /* fsrv_call.status: nothing was sent */
#define FSRV_LONE_SEQ	  0xfffffff0u /* fsrv_rule.op: a compound of SEQUENCE alone */
#define FSRV_ANY	  0u	      /* fsrv_rule.op: any compound */
#define FSRV_MAX_FILES	  16
#define FSRV_FILE_SIZE	  65536
#define FSRV_MAX_STATES	  64
#define FSRV_MAX_SESSIONS 8
#define FSRV_MAX_CLIENTS  4

enum fsrv_act {
	FA_NONE,
	FA_DROP_AFTER,	     /* execute, then cut the connection instead of answering */
	FA_DROP_BEFORE,	     /* cut the connection without executing */
	FA_SILENT,	     /* never answer this call (not executed) */
	FA_SEQ_STATUS,	     /* SEQUENCE fails with status; nothing executed */
	FA_OP_STATUS,	     /* execute up to the matched op, which fails with status */
	FA_BAD_SLOT,	     /* execute; the reply's SEQUENCE names another slot */
	FA_BAD_SEQID,	     /* ... another sequence id */
	FA_BAD_SESSION,	     /* ... another session */
	FA_KILL_SESSIONS,    /* forget every session first (BADSESSION) */
	FA_RESTART,	     /* restart first, with a grace period */
	FA_RESTART_NO_GRACE, /* restart first, no grace period (leases expired) */
	FA_DEFER,	     /* execute; the reply waits for fsrv.defer_batch or idleness */
};

struct fsrv_rule {
	uint32_t op;	    /* compounds containing op (FSRV_ANY, FSRV_LONE_SEQ) */
	unsigned int skip;  /* matching compounds let through first */
	unsigned int times; /* then applied this many times (0: for ever) */
	enum fsrv_act act;
	uint32_t status;
	unsigned int seen, applied;
};

/* What the server saw, one entry per call received. */
struct fsrv_call {
	unsigned int conn; /* connection number, from 1 */
	uint32_t proc;
	uint32_t nops, ops[FSRV_MAX_OPS];
	bool has_seq;
	uint8_t sessionid[NFS4_SESSIONID_SIZE];
	uint32_t slot, seqid, highest;
	bool cachethis;
	uint32_t status;  /* compound status sent, FSRV_NOREPLY if none */
	bool replay;	  /* answered from the slot's reply cache */
	bool false_retry; /* a cached reply for a request that differs from it */
	bool injected;	  /* a rule changed this call */
	uint32_t claim;	  /* OPEN: claim type */
	bool lock_reclaim;
	uint32_t file;	   /* file index of the current fh at the first I/O or state op */
	bool anon_stateid; /* READ/WRITE with the all-zero stateid */
	uint8_t ds_id[NFS4_SESSIONID_SIZE]; /* DESTROY_SESSION's argument */
	struct timespec when;		    /* CLOCK_MONOTONIC */
};

struct fsrv_slot {
	uint32_t seqid; /* last sequence id processed */
	bool cachethis; /* the reply of seqid is kept in full */
	uint8_t *rep;	/* COMPOUND4res of seqid */
	size_t rep_len;
	uint8_t *req; /* the ops after SEQUENCE of seqid, for false-retry checks */
	size_t req_len;
	bool lone;	   /* seqid was a lone SEQUENCE */
	unsigned int conn; /* connection it came on */
};

struct fsrv_session {
	bool used;
	uint8_t id[NFS4_SESSIONID_SIZE];
	uint64_t clientid;
	uint32_t nslots;
	struct fsrv_slot slots[FSRV_SLOTS];
};

struct fsrv_client {
	bool used;
	uint64_t clientid;
	uint8_t owner[256];
	uint32_t owner_len;
	uint32_t create_seq; /* next CREATE_SESSION sequence id */
	bool reclaimable;    /* known before the restart, inside the grace period */
	bool reclaim_done;
};

struct fsrv_state {
	bool used;
	int kind; /* 1 open, 2 lock */
	uint32_t file;
	uint64_t clientid;
	uint8_t owner[64];
	uint32_t owner_len;
	uint32_t seqid, share;
	uint32_t parent; /* lock: the open state it came from */
	uint32_t nranges;
	struct {
		uint64_t off, len;
		uint32_t type;
	} ranges[8];
};

struct fsrv {
	int lfd;
	unsigned int port;
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int cfd;
	unsigned int conns;
	bool silent;		  /* never answer anything */
	uint32_t target;	  /* target_highest_slotid sent */
	bool nfsd_uncached;	  /* uncached replay answered as Linux nfsd, else as ganesha */
	bool drc_per_conn;	  /* replies are not replayed on another connection (EFS) */
	unsigned int defer_batch; /* FA_DEFER: replies released when this many wait */
	uint32_t lease;
	uint32_t epoch; /* bumped by every restart */
	bool grace;
	long grace_end_ms; /* CLOCK_MONOTONIC ms when the grace period ends (0: reclaims) */
	struct fsrv_rule rules[FSRV_MAX_RULES];
	unsigned int nrules;
	struct fsrv_call *log;
	unsigned int ncalls, logcap;
	unsigned int misordered; /* SEQ_MISORDERED the server itself had to answer */
	unsigned int false_retries;
	char bad[200]; /* first malformed call */
	struct fsrv_client clients[FSRV_MAX_CLIENTS];
	uint8_t prev_owners[FSRV_MAX_CLIENTS][256]; /* owners known before the restart */
	uint32_t prev_owner_len[FSRV_MAX_CLIENTS];
	uint64_t next_client;
	struct fsrv_session sessions[FSRV_MAX_SESSIONS];
	uint32_t next_session;
	struct fsrv_state states[FSRV_MAX_STATES];
	char names[FSRV_MAX_FILES][64]; /* file index -> name (0: the root) */
	uint8_t data[FSRV_MAX_FILES][FSRV_FILE_SIZE];
	uint64_t size[FSRV_MAX_FILES];
	uint8_t *deferred[32]; /* FA_DEFER: records waiting to be sent */
	size_t deferred_len[32];
	unsigned int ndeferred;
};

struct fsrv *fsrv_start(void);
void fsrv_stop(struct fsrv *s);
void fsrv_lock(struct fsrv *s);
void fsrv_unlock(struct fsrv *s);
/* Append a rule (lock taken inside). */
void fsrv_rule(struct fsrv *s, uint32_t op, unsigned int skip, unsigned int times,
	       enum fsrv_act act, uint32_t status);
void fsrv_clear_rules(struct fsrv *s);
void fsrv_set_silent(struct fsrv *s, bool on);
void fsrv_set_target(struct fsrv *s, uint32_t target);
/* A server restart: clients, sessions and state forgotten; grace period if grace. */
void fsrv_restart(struct fsrv *s, bool grace);
/*
 * A restart whose grace period (grace_ms) is for other clients: ours are
 * not reclaimable (NO_GRACE), and other OPENs get GRACE until it ends.
 */
void fsrv_restart_others_grace(struct fsrv *s, int grace_ms);
/* Cut the current connection. */
void fsrv_drop(struct fsrv *s);
/* Wait (up to ms) until pred(s, arg) holds under the lock; false on timeout. */
bool fsrv_wait(struct fsrv *s, bool (*pred)(struct fsrv *s, void *arg), void *arg, int ms);
/* Calls from index from on that contain op (lock taken inside). */
unsigned int fsrv_count(struct fsrv *s, uint32_t op, unsigned int from);
unsigned int fsrv_ncalls(struct fsrv *s);
/* File index of a name (created on first use); lock held or not running. */
uint32_t fsrv_file_locked(struct fsrv *s, const char *name);
bool fsrv_call_has(const struct fsrv_call *c, uint32_t op);

#endif
