/*
 * nfs4_compound.c - build one COMPOUND behind a SEQUENCE and run it on a
 * session slot, with the one recovery switch of the client (RFC 8881
 * sections 2.10.6 and 15.1): DELAY/GRACE back off and retry, a lost
 * connection resends on the same slot and sequence id (the server's reply
 * cache answers a duplicate), a dead session is re-created.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "nfs4_client_int.h"
#include "nfs4/nfs4_err.h"
#include "util/log.h"

#define SEQ_ARGS_SIZE 36 /* opnum + sessionid + seqid + slotid + highest + cachethis */

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

/* Take a free slot of the current session; blocks while none is free. */
static int slot_get(struct nfs4_client *c, struct nfs4_sequence_args *sa, uint32_t *gen)
{
	uint32_t i, dead;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		if (c->stopping && !c->have_session) {
			pthread_mutex_unlock(&c->lock);
			return -ESHUTDOWN;
		}
		if (c->have_session && !c->recovering) {
			for (i = 0; i < c->nslots; i++)
				if (!c->slots[i].busy && !c->slots[i].dead)
					break;
			if (i < c->nslots)
				break;
			for (i = 0, dead = 0; i < c->nslots; i++)
				dead += c->slots[i].dead;
			if (dead == c->nslots) {
				pthread_mutex_unlock(&c->lock);
				return -EIO;
			}
		}
		pthread_cond_wait(&c->slot_cv, &c->lock);
	}
	c->slots[i].busy = true;
	memcpy(sa->sessionid, c->sessionid, NFS4_SESSIONID_SIZE);
	sa->slotid = i;
	sa->seqid = c->slots[i].seqid;
	sa->highest_slotid = c->nslots - 1;
	*gen = c->gen;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* Release a slot; bump: the server processed the sequence id. */
static void slot_put(struct nfs4_client *c, uint32_t slotid, uint32_t gen, bool bump, bool dead)
{
	pthread_mutex_lock(&c->lock);
	if (gen == c->gen && slotid < NFS4_MAX_SLOTS) {
		if (bump)
			c->slots[slotid].seqid++;
		if (dead)
			c->slots[slotid].dead = true;
	}
	if (slotid < NFS4_MAX_SLOTS)
		c->slots[slotid].busy = false;
	if (bump)
		nfs4_now(&c->last_ok);
	pthread_cond_broadcast(&c->slot_cv);
	pthread_mutex_unlock(&c->lock);
}

static int patch_sequence(struct nfs4_compound *cp, const struct nfs4_sequence_args *sa)
{
	struct xdr tmp;

	xdr_init_encode(&tmp, cp->args.buf + cp->seq_off, SEQ_ARGS_SIZE);
	return nfs4_enc_sequence(&tmp, sa);
}

static bool is_conn_error(int rc)
{
	return rc == -ECONNRESET || rc == -ENOTCONN || rc == -ECONNREFUSED || rc == -EPIPE ||
	       rc == -ETIMEDOUT || rc == -EHOSTUNREACH || rc == -ENETUNREACH ||
	       rc == -ECONNABORTED || rc == -EPROTO;
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

int nfs4_compound_run(struct nfs4_compound *cp, const struct rpc_cred *cr)
{
	struct nfs4_client *c = cp->c;
	struct nfs4_sequence_args sa = {.cachethis = cp->cachethis};
	struct nfs4_sequence_res sr;
	struct timespec start;
	unsigned int delay_ms = 20, conn_ms = 100;
	long soft_limit = (long)c->cfg.timeo_ds * 100 * (c->cfg.retrans + 1);
	bool have_slot = false;
	uint32_t gen = 0, status, nres;
	int rc;

	rc = nfs4_enc_compound_end(&cp->args, cp->nops_off, cp->nops);
	if (rc)
		return rc;
	nfs4_now(&start);
	for (;;) {
		if (!have_slot) {
			rc = slot_get(c, &sa, &gen);
			if (rc)
				return rc;
			have_slot = true;
			rc = patch_sequence(cp, &sa);
			if (rc)
				goto out_put;
		}
		if (cp->rep.buf)
			rpc_reply_free(&cp->rep);
		rc = rpc_clnt_call(c->rpc, cr, NFS4_PROC_COMPOUND, &cp->args, &cp->rep,
				   nfs4_timeout_ms(c));
		if (rc) {
			if (!is_conn_error(rc))
				goto out_put;
			/* Keep the slot: resend the same sequence id (replay). */
			if (c->cfg.soft && nfs4_ms_since(&start) >= soft_limit) {
				slot_put(c, sa.slotid, gen, false, true);
				efs_log(EFS_LOG_WARN, "server %s not responding, timed out (soft)",
					c->host);
				return -ETIMEDOUT;
			}
			if (rc == -ETIMEDOUT)
				rpc_clnt_disconnect(c->rpc);
			efs_log(rc == -ETIMEDOUT ? EFS_LOG_WARN : EFS_LOG_INFO,
				"server %s: %s, retrying", c->host, nfs4_err_name(rc));
			count(c, cp->proc, 0, true);
			nfs4_sleep_ms(conn_ms);
			conn_ms = conn_ms * 2 > 5000 ? 5000 : conn_ms * 2;
			continue;
		}
		conn_ms = 100;
		rc = nfs4_dec_compound_hdr(&cp->rep.body, &status, &nres);
		if (rc)
			goto out_put;
		rc = nfs4_dec_sequence(&cp->rep.body, &sr);
		if (rc == -NFS4ERR_DELAY) {
			/* Not processed: same slot and sequence id again. */
			count(c, cp->proc, 0, true);
			nfs4_sleep_ms(delay_ms);
			delay_ms = delay_ms * 2 > 2000 ? 2000 : delay_ms * 2;
			continue;
		}
		if (rc == -NFS4ERR_BADSESSION || rc == -NFS4ERR_DEADSESSION ||
		    rc == -NFS4ERR_STALE_CLIENTID || rc == -NFS4ERR_BADSLOT ||
		    rc == -NFS4ERR_SEQ_MISORDERED || rc == -NFS4ERR_CONN_NOT_BOUND_TO_SESSION) {
			slot_put(c, sa.slotid, gen, false, false);
			have_slot = false;
			count(c, cp->proc, 0, true);
			nfs4_session_recover(c, gen, rc);
			if (c->cfg.soft && nfs4_ms_since(&start) >= soft_limit)
				return -ETIMEDOUT;
			continue;
		}
		if (rc == -NFS4ERR_RETRY_UNCACHED_REP) {
			/* Processed but not cached: move on to a fresh id. */
			slot_put(c, sa.slotid, gen, true, false);
			have_slot = false;
			if (!cp->idempotent)
				return -EIO;
			continue;
		}
		if (rc)
			goto out_put;
		slot_put(c, sa.slotid, gen, true, false);
		have_slot = false;
		count(c, cp->proc, cp->nops, false);
		if (status == NFS4ERR_DELAY || status == NFS4ERR_GRACE) {
			count(c, cp->proc, 0, true);
			if (c->cfg.soft && nfs4_ms_since(&start) >= soft_limit)
				return -(int)status;
			nfs4_sleep_ms(delay_ms);
			delay_ms = delay_ms * 2 > 2000 ? 2000 : delay_ms * 2;
			continue;
		}
		if (sr.status_flags &
		    (SEQ4_STATUS_EXPIRED_ALL_STATE_REVOKED | SEQ4_STATUS_RESTART_RECLAIM_NEEDED))
			efs_log(EFS_LOG_WARN, "server %s revoked state (flags 0x%x)", c->host,
				sr.status_flags);
		cp->res = &cp->rep.body;
		return 0;
	}
out_put:
	/* The server may or may not have processed this sequence id. */
	if (have_slot)
		slot_put(c, sa.slotid, gen, false, true);
	return rc;
}
