/*
 * nfs4_compound.c - build one COMPOUND behind a SEQUENCE and run it on a
 * session slot, with the one recovery switch of the client (RFC 8881
 * sections 2.10.6 and 15.1; the Linux client's nfs41_sequence_process and
 * nfs4_do_handle_exception are the model).
 *
 *  - DELAY / GRACE: back off (capped exponential) and retry.
 *  - A lost connection, a timeout, a garbled reply: the slot is
 *    *interrupted* (the server may or may not have run the request); the
 *    request is sent again on a slot whose sequence id a lone SEQUENCE
 *    probe established first, and marked `resent` so that the procedure
 *    can recognise the result of its own first transmission (servers such
 *    as EFS keep no reply cache across connections).
 *  - A reply is only taken when its SEQUENCE result names the session,
 *    slot and sequence id the request was sent with.
 *  - BADSESSION / DEADSESSION / STALE_CLIENTID: nfs4_session_recover().
 *    BADSLOT: the slot table shrinks.  CONN_NOT_BOUND_TO_SESSION:
 *    BIND_CONN_TO_SESSION.  SEQ_MISORDERED: the slot is re-synchronised.
 *  - The server's target_highest_slotid caps the slots used.
 *  - hard retries until the client stops; soft gives up after
 *    timeo x (retrans + 1) with -EIO (softerr: -ETIMEDOUT); a request
 *    whose FUSE caller was interrupted gives up with -EINTR.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "nfs4_client_int.h"
#include "nfs4/nfs4_err.h"
#include "util/log.h"

#define SEQ_ARGS_SIZE	36 /* opnum + sessionid + seqid + slotid + highest + cachethis */
#define DELAY_MIN_MS	20
#define DELAY_MAX_MS	2000
#define CONN_MIN_MS	100
#define CONN_MAX_MS	5000
#define PROBE_MAX_TRIES 8

int nfs4_compound_init(struct nfs4_compound *cp, struct nfs4_client *c, enum nfs4_proc_id proc,
		       size_t argcap, bool idempotent)
{
	struct nfs4_sequence_args zero = {0};
	int rc;

	memset(cp, 0, sizeof(*cp));
	cp->c = c;
	cp->proc = proc;
	cp->idempotent = idempotent;
	cp->cachethis = !idempotent;
	rc = xdr_alloc(&cp->args, argcap + 64);
	if (rc)
		return rc;
	rc = nfs4_enc_compound_hdr(&cp->args, "", NFS4_MINOR_VERSION, &cp->nops_off);
	cp->seq_off = xdr_mark(&cp->args);
	if (!rc)
		rc = nfs4_compound_op(cp, nfs4_enc_sequence(&cp->args, &zero));
	if (rc)
		xdr_free_buf(&cp->args);
	return rc;
}

void nfs4_compound_fini(struct nfs4_compound *cp)
{
	if (cp->rep.buf)
		rpc_reply_free(&cp->rep);
	xdr_free_buf(&cp->args);
}

static bool is_conn_error(int rc)
{
	return rc == -ECONNRESET || rc == -ENOTCONN || rc == -ECONNREFUSED || rc == -EPIPE ||
	       rc == -ETIMEDOUT || rc == -EHOSTUNREACH || rc == -ENETUNREACH ||
	       rc == -ECONNABORTED || rc == -EPROTO || rc == -EBADMSG || rc == -EIO ||
	       rc == -EAGAIN || rc == -ENETDOWN;
}

static void count(struct nfs4_client *c, enum nfs4_proc_id proc, uint32_t nops, bool retry)
{
	pthread_mutex_lock(&c->stats_lock);
	if (retry) {
		c->stats.retries++;
	} else {
		c->stats.compounds++;
		c->stats.ops += nops;
		c->stats.per_proc[proc]++;
	}
	pthread_mutex_unlock(&c->stats_lock);
}

/*
 * The kernel's messages, once per outage: "not responding, still trying"
 * at the first failed transmission, "OK" at the next answer (the retries
 * in between are at debug level).
 */
static void note_trouble(struct nfs4_client *c, int rc)
{
	if (__atomic_exchange_n(&c->not_responding, true, __ATOMIC_ACQ_REL))
		efs_log(EFS_LOG_DEBUG, "server %s: %s, retrying", c->host, nfs4_err_name(rc));
	else
		efs_log(EFS_LOG_WARN, "server %s not responding (%s), still trying", c->host,
			nfs4_err_name(rc));
}

static void note_ok(struct nfs4_client *c)
{
	if (__atomic_load_n(&c->not_responding, __ATOMIC_ACQUIRE) &&
	    __atomic_exchange_n(&c->not_responding, false, __ATOMIC_ACQ_REL))
		efs_log(EFS_LOG_NOTICE, "server %s OK", c->host);
}

/* One finished compound: latency counters, and the -d trace line. */
static void note_done(struct nfs4_client *c, const struct nfs4_compound *cp,
		      const struct timespec *start, uint32_t status)
{
	struct timespec now;
	uint64_t us;
	unsigned int k = 0;

	note_ok(c);
	nfs4_now(&now);
	us = (uint64_t)((now.tv_sec - start->tv_sec) * 1000000L +
			(now.tv_nsec - start->tv_nsec) / 1000);
	while (k + 1 < NFS4_LAT_BUCKETS && (us >> (k + 1)) != 0)
		k++;
	pthread_mutex_lock(&c->stats_lock);
	c->stats.lat_count[cp->proc]++;
	c->stats.lat_sum_us[cp->proc] += us;
	c->stats.lat_hist[cp->proc][k]++;
	pthread_mutex_unlock(&c->stats_lock);
	if (efs_log_debug())
		efs_log(EFS_LOG_DEBUG, "nfs4: %s (%u ops) %s in %.3f ms%s",
			nfs4_proc_name(cp->proc), cp->nops, nfs4_err_name(-(int)status),
			(double)us / 1000.0, cp->resent ? ", re-sent" : "");
}

#define SEQ4_FLAGS_REVOKED                                                                \
	(SEQ4_STATUS_EXPIRED_ALL_STATE_REVOKED | SEQ4_STATUS_EXPIRED_SOME_STATE_REVOKED | \
	 SEQ4_STATUS_ADMIN_STATE_REVOKED | SEQ4_STATUS_RECALLABLE_STATE_REVOKED)
#define SEQ4_FLAGS_ACTED_ON (SEQ4_FLAGS_REVOKED | SEQ4_STATUS_RESTART_RECLAIM_NEEDED)

/*
 * SEQUENCE's status flags (RFC 8881 section 18.46.3): revoked state is
 * checked, a missing RECLAIM_COMPLETE sent again, both by the renewer thread (not on the
 * caller's path, and once however many replies carry the flag).
 */
static void note_status_flags(struct nfs4_client *c, uint32_t flags)
{
	bool kick = false;

	pthread_mutex_lock(&c->lock);
	if ((flags & SEQ4_FLAGS_REVOKED) && !c->check_state) {
		c->check_state = kick = true;
		efs_log(EFS_LOG_WARN, "server %s revoked state (flags 0x%x): checking our stateids",
			c->host, flags);
	}
	if ((flags & SEQ4_STATUS_RESTART_RECLAIM_NEEDED) && !c->restart_seen)
		c->restart_seen = kick = true;
	if (kick)
		pthread_cond_broadcast(&c->renew_cv);
	pthread_mutex_unlock(&c->lock);
}

/* Where a compound's retries stand: when it started, its backoffs. */
struct attempt {
	struct timespec start;
	unsigned int delay_ms, conn_ms;
	unsigned int recoveries, recover_ms; /* session recoveries, their backoff */
	long soft_ms;			     /* 0: hard */
};

/*
 * Recover the session for this compound.  The first time at once; again
 * (the server keeps refusing the new session or client id) only after a
 * capped exponential backoff, so that a failing server does not get
 * CREATE_SESSION/EXCHANGE_ID in a tight loop.
 */
static int recover(struct nfs4_client *c, const struct rpc_cred *cr, struct attempt *at,
		   uint32_t gen, int why)
{
	if (at->recoveries++) {
		int rc = nfs4_backoff(c, cr, &at->recover_ms, CONN_MAX_MS);

		if (rc)
			return rc;
	}
	return nfs4_session_recover(c, cr, gen, why);
}

/* A soft mount's request gave up: -EIO, or -ETIMEDOUT with softerr. */
static int soft_expired(struct nfs4_client *c, const struct attempt *at)
{
	if (!at->soft_ms || nfs4_ms_since(&at->start) < at->soft_ms)
		return 0;
	efs_log(EFS_LOG_WARN, "server %s not responding, timed out (%s)", c->host,
		c->cfg.softerr ? "softerr" : "soft");
	return c->cfg.softerr ? -ETIMEDOUT : -EIO;
}

/*
 * Take a free slot of the current session (at most target); waits while
 * none is free or the session is being recovered.  A machine compound
 * (session housekeeping: RECLAIM_COMPLETE, reclaims) also runs while the
 * state is being reclaimed; others wait for that too.
 */
static int slot_get(struct nfs4_client *c, const struct rpc_cred *cr, bool machine,
		    const struct attempt *at, struct nfs4_sequence_args *sa, uint32_t *gen,
		    bool *interrupted)
{
	uint32_t i;
	int rc;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		if (c->have_session && !c->recovering && (machine || !c->reclaiming)) {
			for (i = 0; i <= c->target && i < c->nslots; i++)
				if (!c->slots[i].busy)
					break;
			if (i <= c->target && i < c->nslots)
				break;
		}
		rc = soft_expired(c, at);
		if (!rc)
			rc = nfs4_wait_locked(c, cr, 200);
		if (rc) {
			pthread_mutex_unlock(&c->lock);
			return rc;
		}
	}
	c->slots[i].busy = true;
	memcpy(sa->sessionid, c->sessionid, NFS4_SESSIONID_SIZE);
	sa->slotid = i;
	sa->seqid = c->slots[i].seqid;
	sa->highest_slotid = c->target;
	*interrupted = c->slots[i].interrupted;
	*gen = c->gen;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

enum slot_fate { SLOT_DONE, SLOT_UNUSED, SLOT_INTERRUPTED };

/*
 * Release a slot.  DONE: the server processed sa->seqid (next one is +1);
 * UNUSED: it did not (the same id is next); INTERRUPTED: unknown.
 * sent: when the request went out (the lease counts from there).
 */
static void slot_put(struct nfs4_client *c, const struct nfs4_sequence_args *sa, uint32_t gen,
		     enum slot_fate fate, const struct timespec *sent)
{
	struct nfs4_slot *s = &c->slots[sa->slotid];

	pthread_mutex_lock(&c->lock);
	if (gen == c->gen) {
		if (fate == SLOT_DONE) {
			s->seqid = sa->seqid + 1;
			s->interrupted = false;
		} else if (fate == SLOT_INTERRUPTED) {
			s->interrupted = true;
		} else {
			s->seqid = sa->seqid;
		}
		if (fate == SLOT_DONE && sent &&
		    (sent->tv_sec > c->last_ok.tv_sec ||
		     (sent->tv_sec == c->last_ok.tv_sec && sent->tv_nsec > c->last_ok.tv_nsec)))
			c->last_ok = *sent;
	}
	s->busy = false;
	pthread_cond_broadcast(&c->slot_cv);
	pthread_mutex_unlock(&c->lock);
}

/* The server's answer to how many slots it wants used. */
static void slot_target(struct nfs4_client *c, uint32_t gen, const struct nfs4_sequence_res *sr)
{
	uint32_t t = sr->target_highest_slotid;

	pthread_mutex_lock(&c->lock);
	if (gen == c->gen) {
		if (t >= c->nslots)
			t = c->nslots - 1;
		if (t != c->target) {
			efs_log(EFS_LOG_DEBUG, "session: server target slot %u (was %u)", t,
				c->target);
			c->target = t;
			pthread_cond_broadcast(&c->slot_cv);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

/* BADSLOT: the server does not have slots from slotid up. */
static void slot_shrink(struct nfs4_client *c, uint32_t gen, uint32_t slotid)
{
	pthread_mutex_lock(&c->lock);
	if (gen == c->gen && slotid > 0 && slotid <= c->target)
		c->target = slotid - 1;
	pthread_mutex_unlock(&c->lock);
}

static int patch_sequence(struct xdr *args, size_t off, const struct nfs4_sequence_args *sa)
{
	struct xdr tmp;

	xdr_init_encode(&tmp, args->buf + off, SEQ_ARGS_SIZE);
	return nfs4_enc_sequence(&tmp, sa);
}

/* The SEQUENCE result must be the one for the request (RFC 8881 section 18.46.3). */
static int check_sequence(const struct nfs4_sequence_args *sa, const struct nfs4_sequence_res *sr)
{
	if (memcmp(sa->sessionid, sr->sessionid, NFS4_SESSIONID_SIZE) != 0 ||
	    sa->slotid != sr->slotid || sa->seqid != sr->seqid)
		return -EBADMSG;
	return 0;
}

/*
 * An interrupted slot: find the sequence id the server expects with a lone
 * SEQUENCE.  First seqid (the interrupted request was not processed: a
 * reply of ours, one result) -- unless the reply is another, cached,
 * compound (more than one result, or an error status of a later op): then
 * the old request was processed and seqid + 1 is next.  SEQ_MISORDERED at
 * seqid means the server moved past it: seqid + 1.  Returns 0 with the
 * slot's sequence id in sa->seqid, or a status for the caller's switch.
 */
static int slot_probe(struct nfs4_client *c, const struct rpc_cred *cr,
		      struct nfs4_sequence_args *sa)
{
	struct nfs4_sequence_args pa = *sa;
	struct nfs4_sequence_res sr;
	struct rpc_reply rep = {0};
	struct xdr args;
	uint32_t status, nres;
	size_t nops_off, seq_off;
	int rc, tries;

	pa.cachethis = false;
	rc = xdr_alloc(&args, 128);
	if (rc)
		return rc;
	rc = nfs4_enc_compound_hdr(&args, "", NFS4_MINOR_VERSION, &nops_off);
	seq_off = xdr_mark(&args);
	if (!rc)
		rc = nfs4_enc_sequence(&args, &pa);
	if (!rc)
		rc = nfs4_enc_compound_end(&args, nops_off, 1);
	for (tries = 0; !rc && tries < PROBE_MAX_TRIES; tries++) {
		rc = patch_sequence(&args, seq_off, &pa);
		if (!rc)
			rc = rpc_clnt_call(c->rpc, cr, NFS4_PROC_COMPOUND, &args, &rep,
					   nfs4_timeout_ms(c));
		if (rc)
			break;
		count(c, NFS4_PROC_ID_SEQUENCE, 1, false);
		rc = nfs4_dec_compound_hdr(&rep.body, &status, &nres);
		if (!rc)
			rc = nfs4_dec_sequence(&rep.body, &sr);
		if (!rc)
			rc = check_sequence(&pa, &sr);
		rpc_reply_free(&rep);
		if (rc == 0 || rc == -NFS4ERR_RETRY_UNCACHED_REP ||
		    rc == -NFS4ERR_SEQ_FALSE_RETRY) {
			/* Ours (one result) or a replayed longer one: either way
			 * pa.seqid is now processed.  A retry of an uncached
			 * request (ganesha: RETRY_UNCACHED_REP; Linux nfsd:
			 * SEQ_FALSE_RETRY for a lone SEQUENCE) says the same. */
			xdr_free_buf(&args);
			sa->seqid = pa.seqid + 1;
			return 0;
		}
		if (rc == -NFS4ERR_SEQ_MISORDERED && pa.seqid == sa->seqid) {
			pa.seqid = sa->seqid + 1; /* the old request was processed */
			continue;
		}
		if (rc == -NFS4ERR_DELAY) {
			unsigned int ms = 50u << (tries < 5 ? tries : 5);
			int w = nfs4_backoff(c, cr, &ms, DELAY_MAX_MS);

			if (w)
				rc = w;
			else
				continue;
		}
		break;
	}
	xdr_free_buf(&args);
	return rc;
}

/* What the switch decided for the current transmission. */
enum verdict { V_RETURN, V_RETRY_SAME, V_RETRY_NEW, V_RECOVER };

int nfs4_compound_run(struct nfs4_compound *cp, const struct rpc_cred *cr)
{
	struct nfs4_client *c = cp->c;
	struct nfs4_sequence_args sa = {.cachethis = cp->cachethis};
	struct nfs4_sequence_res sr;
	struct attempt at = {
		.delay_ms = DELAY_MIN_MS, .conn_ms = CONN_MIN_MS, .recover_ms = CONN_MIN_MS};
	struct timespec sent;
	bool have_slot = false, interrupted;
	uint32_t gen = 0, status, nres;
	int rc, stop;

	if (c->cfg.soft)
		at.soft_ms = (long)c->cfg.timeo_ds * 100 * (c->cfg.retrans + 1);
	rc = nfs4_enc_compound_end(&cp->args, cp->nops_off, cp->nops);
	if (rc)
		return rc;
	nfs4_now(&at.start);
	for (;;) {
		stop = nfs4_should_stop(c, cr);
		if (!stop)
			stop = soft_expired(c, &at);
		if (stop) {
			rc = stop;
			goto out_interrupted;
		}
		if (!have_slot) {
			rc = slot_get(c, cr, cp->machine, &at, &sa, &gen, &interrupted);
			if (rc)
				return rc;
			have_slot = true;
			if (interrupted) {
				rc = slot_probe(c, cr, &sa);
				if (rc == -NFS4ERR_SEQ_MISORDERED || rc == -NFS4ERR_BADSESSION ||
				    rc == -NFS4ERR_DEADSESSION || rc == -NFS4ERR_STALE_CLIENTID ||
				    rc == -NFS4ERR_BADSLOT ||
				    rc == -NFS4ERR_CONN_NOT_BOUND_TO_SESSION)
					goto session_error;
				if (rc == -EINTR || rc == -ESHUTDOWN)
					goto out_interrupted;
				if (rc)
					goto transport_error;
				pthread_mutex_lock(&c->lock);
				if (gen == c->gen) {
					c->slots[sa.slotid].seqid = sa.seqid;
					c->slots[sa.slotid].interrupted = false;
				}
				pthread_mutex_unlock(&c->lock);
			}
			rc = patch_sequence(&cp->args, cp->seq_off, &sa);
			if (rc)
				goto out_unused;
		}
		if (cp->rep.buf)
			rpc_reply_free(&cp->rep);
		nfs4_now(&sent);
		rc = rpc_clnt_call(c->rpc, cr, NFS4_PROC_COMPOUND, &cp->args, &cp->rep,
				   nfs4_timeout_ms(c));
		if (rc && !is_conn_error(rc))
			goto out_interrupted; /* -EINTR, -ESHUTDOWN, -EACCES, ... */
		if (rc)
			goto transport_error;
		rc = nfs4_dec_compound_hdr(&cp->rep.body, &status, &nres);
		if (!rc)
			rc = nfs4_dec_sequence(&cp->rep.body, &sr);
		if (!rc)
			rc = check_sequence(&sa, &sr);
		if (rc == -EBADMSG) {
			efs_log(EFS_LOG_WARN, "server %s: malformed or mismatched reply, resending",
				c->host);
			goto transport_error;
		}
		if (rc == -NFS4ERR_DELAY) {
			/* Not processed (or still in progress): same slot and id. */
			count(c, cp->proc, 0, true);
			rc = nfs4_backoff(c, cr, &at.delay_ms, DELAY_MAX_MS);
			if (rc)
				goto out_interrupted;
			continue;
		}
		if (rc == -NFS4ERR_RETRY_UNCACHED_REP ||
		    (rc == 0 && status == NFS4ERR_RETRY_UNCACHED_REP)) {
			/* Processed, reply not kept: a new request on a new id. */
			slot_put(c, &sa, gen, SLOT_DONE, NULL);
			have_slot = false;
			cp->resent = true;
			count(c, cp->proc, 0, true);
			continue;
		}
		if (rc)
			goto session_error;
		slot_target(c, gen, &sr);
		slot_put(c, &sa, gen, SLOT_DONE, &sent);
		have_slot = false;
		count(c, cp->proc, cp->nops, false);
		if (sr.status_flags & SEQ4_FLAGS_ACTED_ON)
			note_status_flags(c, sr.status_flags);
		if (status == NFS4ERR_DELAY || (status == NFS4ERR_GRACE && !cp->machine)) {
			count(c, cp->proc, 0, true);
			rc = nfs4_backoff(c, cr, &at.delay_ms, DELAY_MAX_MS);
			if (rc)
				return rc;
			continue;
		}
		if ((status == NFS4ERR_BADSESSION || status == NFS4ERR_DEADSESSION ||
		     status == NFS4ERR_STALE_CLIENTID) &&
		    !cp->machine) {
			rc = recover(c, cr, &at, gen, -(int)status);
			if (rc)
				return rc;
			continue;
		}
		note_done(c, cp, &at.start, status);
		cp->res = &cp->rep.body;
		return 0;

	transport_error:
		/* The server may or may not have run it: interrupted slot, resend. */
		slot_put(c, &sa, gen, SLOT_INTERRUPTED, NULL);
		have_slot = false;
		cp->resent = true;
		if (rc == -ETIMEDOUT || rc == -EBADMSG)
			rpc_clnt_disconnect(c->rpc);
		note_trouble(c, rc);
		count(c, cp->proc, 0, true);
		rc = nfs4_backoff(c, cr, &at.conn_ms, CONN_MAX_MS);
		if (rc)
			return rc;
		continue;

	session_error:
		count(c, cp->proc, 0, true);
		if (rc == -NFS4ERR_BADSLOT) {
			slot_shrink(c, gen, sa.slotid);
			slot_put(c, &sa, gen, SLOT_UNUSED, NULL);
			have_slot = false;
			continue;
		}
		if (rc == -NFS4ERR_CONN_NOT_BOUND_TO_SESSION) {
			/* Not processed: bind this connection, then the same id. */
			slot_put(c, &sa, gen, SLOT_UNUSED, NULL);
			have_slot = false;
			if (nfs4_session_bind_conn(c) == 0)
				continue;
			rc = -NFS4ERR_BADSESSION;
		}
		if (have_slot) {
			slot_put(c, &sa, gen,
				 rc == -NFS4ERR_SEQ_MISORDERED ? SLOT_INTERRUPTED : SLOT_UNUSED,
				 NULL);
			have_slot = false;
		}
		if (rc == -NFS4ERR_SEQ_MISORDERED && !interrupted) {
			/* Probe the slot before its next use. */
			interrupted = true;
			continue;
		}
		if (rc == -NFS4ERR_BADSESSION || rc == -NFS4ERR_DEADSESSION ||
		    rc == -NFS4ERR_STALE_CLIENTID || rc == -NFS4ERR_SEQ_MISORDERED) {
			rc = recover(c, cr, &at, gen, rc);
			if (rc)
				return rc;
			continue;
		}
		return rc;
	}
out_unused:
	if (have_slot)
		slot_put(c, &sa, gen, SLOT_UNUSED, NULL);
	return rc;
out_interrupted:
	/* Given up (interrupted, stopping, soft): the request's fate is unknown. */
	if (have_slot)
		slot_put(c, &sa, gen, SLOT_INTERRUPTED, NULL);
	return rc;
}

int nfs4_compound_run_once(struct nfs4_compound *cp, const struct rpc_cred *cr, int timeout_ms)
{
	struct nfs4_client *c = cp->c;
	struct nfs4_sequence_args sa = {.cachethis = false};
	struct nfs4_sequence_res sr;
	uint32_t i, gen, status, nres;
	int rc;

	rc = nfs4_enc_compound_end(&cp->args, cp->nops_off, cp->nops);
	if (rc)
		return rc;
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->nslots; i++)
		if (!c->slots[i].busy && !c->slots[i].interrupted)
			break;
	if (!c->have_session || i == c->nslots) {
		pthread_mutex_unlock(&c->lock);
		return -EBUSY;
	}
	c->slots[i].busy = true;
	memcpy(sa.sessionid, c->sessionid, NFS4_SESSIONID_SIZE);
	sa.slotid = i;
	sa.seqid = c->slots[i].seqid;
	sa.highest_slotid = c->target;
	gen = c->gen;
	pthread_mutex_unlock(&c->lock);
	rc = patch_sequence(&cp->args, cp->seq_off, &sa);
	if (!rc)
		rc = rpc_clnt_call(c->rpc, cr, NFS4_PROC_COMPOUND, &cp->args, &cp->rep, timeout_ms);
	if (rc) {
		slot_put(c, &sa, gen, SLOT_INTERRUPTED, NULL);
		return rc;
	}
	rc = nfs4_dec_compound_hdr(&cp->rep.body, &status, &nres);
	if (!rc)
		rc = nfs4_dec_sequence(&cp->rep.body, &sr);
	if (!rc)
		rc = check_sequence(&sa, &sr);
	slot_put(c, &sa, gen, rc == 0 ? SLOT_DONE : SLOT_INTERRUPTED, NULL);
	if (rc == 0) {
		count(c, cp->proc, cp->nops, false);
		cp->res = &cp->rep.body;
	}
	return rc;
}
