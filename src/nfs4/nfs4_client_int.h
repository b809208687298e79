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

struct nfs4_slot {
	uint32_t seqid; /* next sequence id to send on this slot */
	bool busy;
	bool dead; /* state unknown after a soft timeout: never reused */
};

struct nfs4_client {
	struct nfs4_client_cfg cfg;
	char *host, *tls_name, *cafile, *owner_id; /* owned copies of cfg strings */
	struct rpc_clnt *rpc;
	uint8_t verifier[NFS4_VERIFIER_SIZE];

	pthread_mutex_t lock;
	pthread_cond_t slot_cv; /* a slot was released or the session changed */
	uint64_t clientid;	/* protected by lock */
	uint32_t create_seq;	/* CREATE_SESSION sequence id */
	uint8_t sessionid[NFS4_SESSIONID_SIZE];
	bool have_session;
	uint32_t gen; /* bumped by every session (re)creation */
	bool recovering;
	struct nfs4_slot slots[NFS4_MAX_SLOTS];
	uint32_t nslots;
	uint32_t rsize, wsize, lease;
	struct timespec last_ok; /* last successful SEQUENCE (monotonic) */

	/* lease renewer */
	pthread_t renewer;
	bool renewer_running, stopping; /* protected by lock */
	pthread_cond_t renew_cv;

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

/* Session (nfs4_session.c). */
int nfs4_session_establish(struct nfs4_client *c, bool new_client, char *err, size_t errlen);
void nfs4_session_recover(struct nfs4_client *c, uint32_t seen_gen, int why);
void nfs4_machine_cred(struct rpc_cred *cr);
int nfs4_timeout_ms(const struct nfs4_client *c);
void nfs4_sleep_ms(unsigned int ms);
void nfs4_now(struct timespec *ts);
long nfs4_ms_since(const struct timespec *ts);

#endif
