/*
 * nfs4_session.c - client id and session life cycle (RFC 8881 sections
 * 2.4, 2.10, 18.35 EXCHANGE_ID, 18.36 CREATE_SESSION, 18.37
 * DESTROY_SESSION, 18.50 DESTROY_CLIENTID, 18.51 RECLAIM_COMPLETE), the
 * lease renewer, and mount-time root lookup.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include "nfs4_client_int.h"
#include "nfs4/nfs4_err.h"
#include "util/log.h"

#define BACK_CB_PROGRAM	   0x40000000u
#define DESTROY_TIMEOUT_MS 1000 /* each of the last calls at unmount */

void nfs4_now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

long nfs4_ms_since(const struct timespec *ts)
{
	struct timespec now;

	nfs4_now(&now);
	return (now.tv_sec - ts->tv_sec) * 1000 + (now.tv_nsec - ts->tv_nsec) / 1000000;
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void ts_add_ms(struct timespec *ts, long ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int stop_check_locked(struct nfs4_client *c, const struct rpc_cred *cr)
{
	struct timespec now;

	if (rpc_cred_cancelled(cr))
		return -EINTR;
	if (c->life != NFS4_STOPPING)
		return 0;
	nfs4_now(&now);
	return ts_before(&now, &c->stop_at) ? 0 : -ESHUTDOWN;
}

int nfs4_should_stop(struct nfs4_client *c, const struct rpc_cred *cr)
{
	int rc;

	if (rpc_cred_cancelled(cr))
		return -EINTR;
	pthread_mutex_lock(&c->lock);
	rc = stop_check_locked(c, cr);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int nfs4_wait_locked(struct nfs4_client *c, const struct rpc_cred *cr, unsigned int ms)
{
	struct timespec dl, slice;
	int rc = stop_check_locked(c, cr);

	if (rc)
		return rc;
	nfs4_now(&dl);
	ts_add_ms(&dl, ms);
	if (c->life == NFS4_STOPPING && ts_before(&c->stop_at, &dl))
		dl = c->stop_at;
	slice = dl;
	if (cr && cr->cancelled) {
		/* An interrupt does not signal our condition: look every 50 ms. */
		nfs4_now(&slice);
		ts_add_ms(&slice, 50);
		if (ts_before(&dl, &slice))
			slice = dl;
	}
	pthread_cond_timedwait(&c->slot_cv, &c->lock, &slice);
	return stop_check_locked(c, cr);
}

int nfs4_backoff(struct nfs4_client *c, const struct rpc_cred *cr, unsigned int *ms,
		 unsigned int max_ms)
{
	struct timespec until, now;
	int rc = 0;

	nfs4_now(&until);
	ts_add_ms(&until, *ms);
	pthread_mutex_lock(&c->lock);
	for (;;) {
		nfs4_now(&now);
		if (!ts_before(&now, &until))
			break;
		rc = nfs4_wait_locked(c, cr,
				      (unsigned int)((until.tv_sec - now.tv_sec) * 1000 +
						     (until.tv_nsec - now.tv_nsec) / 1000000 + 1));
		if (rc)
			break;
	}
	pthread_mutex_unlock(&c->lock);
	*ms = *ms * 2 > max_ms ? max_ms : *ms * 2;
	return rc;
}

int nfs4_timeout_ms(const struct nfs4_client *c)
{
	return (int)c->cfg.timeo_ds * 100;
}

void nfs4_machine_cred(struct rpc_cred *cr)
{
	memset(cr, 0, sizeof(*cr));
	cr->uid = getuid();
	cr->gid = getgid();
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct nfs4_client *nfs4_client_new(const struct nfs4_client_cfg *cfg)
{
	struct nfs4_client *c = calloc(1, sizeof(*c));
	struct rpc_clnt_cfg rc = {0};
	char host[256];

	if (!c)
		return NULL;
	c->cfg = *cfg;
	c->host = dup_or_null(cfg->transport.host);
	c->tls_name = dup_or_null(cfg->transport.tls_name);
	c->cafile = dup_or_null(cfg->transport.cafile);
	c->owner_id = dup_or_null(cfg->owner_id);
	c->cfg.transport.host = c->host;
	c->cfg.transport.tls_name = c->tls_name;
	c->cfg.transport.cafile = c->cafile;
	c->cfg.owner_id = c->owner_id;
	if (!c->cfg.timeo_ds)
		c->cfg.timeo_ds = 600;
	c->rsize = cfg->rsize ? cfg->rsize : 1048576;
	c->wsize = cfg->wsize ? cfg->wsize : 1048576;
	c->lease = 60;
	if (getrandom(c->verifier, sizeof(c->verifier), 0) != sizeof(c->verifier)) {
		/* No entropy: pid and start time still differ between incarnations. */
		struct timespec now;
		uint64_t v;

		nfs4_now(&now);
		v = (uint64_t)getpid() << 32 ^ (uint64_t)now.tv_sec << 20 ^ (uint64_t)now.tv_nsec;
		memcpy(c->verifier, &v, sizeof(c->verifier));
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->stats_lock, NULL);
	{
		pthread_condattr_t ca;

		/* Every deadline here is CLOCK_MONOTONIC. */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&c->renew_cv, &ca);
		pthread_cond_init(&c->slot_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	atomic_init(&c->next_owner, 1);

	rc.transport = c->cfg.transport;
	rc.prog = NFS4_PROGRAM;
	rc.vers = NFS4_VERSION;
	rc.max_record = (c->rsize > c->wsize ? c->rsize : c->wsize) + 2 * NFS4_COMPOUND_OVERHEAD;
	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	rc.machinename = host;
	rc.resolve = cfg->resolve;
	rc.resolve_arg = cfg->resolve_arg;
	c->rpc = rpc_clnt_new(&rc);
	if (!c->host || !c->owner_id || !c->rpc || nfs4_state_table_new(c)) {
		nfs4_client_free(c);
		return NULL;
	}
	return c;
}

/* A compound of exactly one session-management op, without SEQUENCE. */
struct solo {
	struct xdr args;
	size_t nops_off;
	struct rpc_reply rep;
};

static int solo_begin(struct solo *s)
{
	memset(s, 0, sizeof(*s));
	if (xdr_alloc(&s->args, 4096))
		return -ENOMEM;
	return nfs4_enc_compound_hdr(&s->args, "", NFS4_MINOR_VERSION, &s->nops_off);
}

static int solo_call_tmo(struct nfs4_client *c, struct solo *s, int enc_rc, int timeout_ms)
{
	struct rpc_cred cr;
	uint32_t status, nres;
	int rc = enc_rc;

	if (!rc)
		rc = nfs4_enc_compound_end(&s->args, s->nops_off, 1);
	if (rc)
		return rc;
	nfs4_machine_cred(&cr);
	rc = rpc_clnt_call(c->rpc, &cr, NFS4_PROC_COMPOUND, &s->args, &s->rep, timeout_ms);
	if (rc)
		return rc;
	pthread_mutex_lock(&c->stats_lock);
	c->stats.compounds++;
	c->stats.ops++;
	c->stats.per_proc[NFS4_PROC_ID_SESSION]++;
	pthread_mutex_unlock(&c->stats_lock);
	return nfs4_dec_compound_hdr(&s->rep.body, &status, &nres);
}

static int solo_call(struct nfs4_client *c, struct solo *s, int enc_rc)
{
	return solo_call_tmo(c, s, enc_rc, c->solo_tmo_ms ? c->solo_tmo_ms : nfs4_timeout_ms(c));
}

static void solo_end(struct solo *s)
{
	if (s->rep.buf)
		rpc_reply_free(&s->rep);
	xdr_free_buf(&s->args);
}

static int exchange_id(struct nfs4_client *c)
{
	struct nfs4_exchange_id_args a = {
		.owner = (const uint8_t *)c->owner_id,
		.owner_len = (uint32_t)strlen(c->owner_id),
		.flags = EXCHGID4_FLAG_USE_NON_PNFS,
		.impl_domain = "efs-fuse.invalid",
		.impl_name = "efs-fuse " PACKAGE_VERSION,
	};
	struct nfs4_exchange_id_res r;
	struct solo s;
	int rc;

	memcpy(a.verifier, c->verifier, sizeof(a.verifier));
	rc = solo_begin(&s);
	if (!rc)
		rc = solo_call(c, &s, nfs4_enc_exchange_id(&s.args, &a));
	if (!rc)
		rc = nfs4_dec_exchange_id(&s.rep.body, &r);
	solo_end(&s);
	if (rc)
		return rc;
	pthread_mutex_lock(&c->lock);
	c->clientid = r.clientid;
	c->create_seq = r.seqid;
	pthread_mutex_unlock(&c->lock);
	efs_log(EFS_LOG_DEBUG, "EXCHANGE_ID: clientid %016llx seq %u flags 0x%x",
		(unsigned long long)r.clientid, r.seqid, r.flags);
	return 0;
}

static int create_session(struct nfs4_client *c)
{
	struct nfs4_create_session_args a = {0};
	struct nfs4_create_session_res r;
	struct solo s;
	uint32_t i, max;
	int rc;

	pthread_mutex_lock(&c->lock);
	a.clientid = c->clientid;
	a.seqid = c->create_seq;
	pthread_mutex_unlock(&c->lock);
	a.flags = 0;
	a.fore.maxrequestsize = c->wsize + NFS4_COMPOUND_OVERHEAD;
	a.fore.maxresponsesize = c->rsize + NFS4_COMPOUND_OVERHEAD;
	a.fore.maxresponsesize_cached = 16384;
	a.fore.maxops = 16;
	a.fore.maxreqs = NFS4_MAX_SLOTS;
	a.back.maxrequestsize = 4096;
	a.back.maxresponsesize = 4096;
	a.back.maxresponsesize_cached = 0;
	a.back.maxops = 2;
	a.back.maxreqs = 1;
	a.cb_program = BACK_CB_PROGRAM;
	a.uid = getuid();
	a.gid = getgid();
	rc = solo_begin(&s);
	if (!rc)
		rc = solo_call(c, &s, nfs4_enc_create_session(&s.args, &a));
	if (!rc)
		rc = nfs4_dec_create_session(&s.rep.body, &r);
	solo_end(&s);
	if (rc)
		return rc;
	max = r.fore.maxreqs < 1 ? 1 : r.fore.maxreqs;
	if (max > NFS4_MAX_SLOTS)
		max = NFS4_MAX_SLOTS;
	pthread_mutex_lock(&c->lock);
	c->create_seq++;
	memcpy(c->sessionid, r.sessionid, NFS4_SESSIONID_SIZE);
	c->nslots = max;
	c->target = max - 1;
	for (i = 0; i < NFS4_MAX_SLOTS; i++) {
		c->slots[i].seqid = 1;
		c->slots[i].interrupted = false;
	}
	if (r.fore.maxresponsesize > NFS4_COMPOUND_OVERHEAD &&
	    r.fore.maxresponsesize - NFS4_COMPOUND_OVERHEAD < c->rsize)
		c->rsize = (r.fore.maxresponsesize - NFS4_COMPOUND_OVERHEAD) & ~4095u;
	if (r.fore.maxrequestsize > NFS4_COMPOUND_OVERHEAD &&
	    r.fore.maxrequestsize - NFS4_COMPOUND_OVERHEAD < c->wsize)
		c->wsize = (r.fore.maxrequestsize - NFS4_COMPOUND_OVERHEAD) & ~4095u;
	if (c->rsize < 4096)
		c->rsize = 4096;
	if (c->wsize < 4096)
		c->wsize = 4096;
	c->have_session = true;
	c->gen++;
	nfs4_now(&c->last_ok);
	pthread_cond_broadcast(&c->slot_cv);
	pthread_mutex_unlock(&c->lock);
	efs_log(EFS_LOG_DEBUG, "CREATE_SESSION: %u slots, maxreq %u maxresp %u", max,
		r.fore.maxrequestsize, r.fore.maxresponsesize);
	return 0;
}

static int reclaim_complete(struct nfs4_client *c)
{
	struct nfs4_compound cp;
	struct rpc_cred cr;
	int rc;

	nfs4_machine_cred(&cr);
	rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_SESSION, 256, true);
	if (rc)
		return rc;
	cp.machine = true;
	rc = nfs4_compound_op(&cp, nfs4_enc_reclaim_complete(&cp.args, false));
	if (!rc)
		rc = nfs4_compound_run(&cp, &cr);
	if (!rc)
		rc = nfs4_dec_reclaim_complete(cp.res);
	nfs4_compound_fini(&cp);
	return rc == -NFS4ERR_COMPLETE_ALREADY ? 0 : rc;
}

int nfs4_session_establish(struct nfs4_client *c, bool new_client, char *err, size_t errlen)
{
	int rc;

	if (new_client) {
		rc = exchange_id(c);
		if (rc) {
			snprintf(err, errlen, "EXCHANGE_ID with %s failed: %s", c->host,
				 nfs4_err_name(rc));
			return rc;
		}
	}
	rc = create_session(c);
	if (rc)
		snprintf(err, errlen, "CREATE_SESSION with %s failed: %s", c->host,
			 nfs4_err_name(rc));
	return rc;
}

/* Best effort: the session we replace must not linger on the server. */
static int destroy_session_id(struct nfs4_client *c, const uint8_t id[NFS4_SESSIONID_SIZE],
			      int timeout_ms)
{
	struct solo s;
	int rc = solo_begin(&s);

	if (!rc)
		rc = solo_call_tmo(c, &s, nfs4_enc_destroy_session(&s.args, id), timeout_ms);
	if (!rc)
		rc = nfs4_dec_destroy_session(&s.rep.body);
	solo_end(&s);
	if (rc == -NFS4ERR_CONN_NOT_BOUND_TO_SESSION) {
		/* A connection the session does not know: bind it, then again. */
		rc = solo_begin(&s);
		if (!rc)
			rc = solo_call_tmo(c, &s, nfs4_enc_bind_conn_to_session(&s.args, id),
					   timeout_ms);
		if (!rc)
			rc = nfs4_dec_bind_conn_to_session(&s.rep.body);
		solo_end(&s);
		if (!rc) {
			rc = solo_begin(&s);
			if (!rc)
				rc = solo_call_tmo(c, &s, nfs4_enc_destroy_session(&s.args, id),
						   timeout_ms);
			if (!rc)
				rc = nfs4_dec_destroy_session(&s.rep.body);
			solo_end(&s);
		}
	}
	if (rc && rc != -NFS4ERR_BADSESSION)
		efs_log(EFS_LOG_INFO, "DESTROY_SESSION: %s", nfs4_err_name(rc));
	return rc;
}

/*
 * SEQUENCE + DESTROY_SESSION (RFC 8881 section 18.37.3: allowed as the last
 * op of a compound on its own session): works on a connection the session
 * has not bound explicitly (a server may bind only so many).
 */
static int destroy_session_seq(struct nfs4_client *c, int timeout_ms)
{
	uint8_t id[NFS4_SESSIONID_SIZE];
	struct nfs4_compound cp;
	struct rpc_cred cr;
	int rc;

	pthread_mutex_lock(&c->lock);
	memcpy(id, c->sessionid, sizeof(id));
	pthread_mutex_unlock(&c->lock);
	nfs4_machine_cred(&cr);
	rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_SESSION, 256, true);
	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_destroy_session(&cp.args, id));
	if (!rc)
		rc = nfs4_compound_run_once(&cp, &cr, timeout_ms);
	if (!rc)
		rc = nfs4_dec_destroy_session(cp.res);
	nfs4_compound_fini(&cp);
	if (rc)
		efs_log(EFS_LOG_INFO, "SEQUENCE+DESTROY_SESSION: %s", nfs4_err_name(rc));
	return rc;
}

static int destroy_clientid(struct nfs4_client *c, uint64_t clientid)
{
	struct solo s;
	int rc = solo_begin(&s);

	if (!rc)
		rc = solo_call_tmo(c, &s, nfs4_enc_destroy_clientid(&s.args, clientid),
				   DESTROY_TIMEOUT_MS);
	if (!rc)
		rc = nfs4_dec_destroy_clientid(&s.rep.body);
	solo_end(&s);
	return rc;
}

int nfs4_session_bind_conn(struct nfs4_client *c)
{
	uint8_t id[NFS4_SESSIONID_SIZE];
	struct solo s;
	int rc;

	pthread_mutex_lock(&c->lock);
	memcpy(id, c->sessionid, sizeof(id));
	pthread_mutex_unlock(&c->lock);
	rc = solo_begin(&s);
	if (!rc)
		rc = solo_call(c, &s, nfs4_enc_bind_conn_to_session(&s.args, id));
	if (!rc)
		rc = nfs4_dec_bind_conn_to_session(&s.rep.body);
	solo_end(&s);
	efs_log(rc ? EFS_LOG_WARN : EFS_LOG_INFO, "BIND_CONN_TO_SESSION: %s", nfs4_err_name(rc));
	return rc;
}

int nfs4_session_recover(struct nfs4_client *c, const struct rpc_cred *cr, uint32_t seen_gen,
			 int why)
{
	uint8_t old_id[NFS4_SESSIONID_SIZE];
	char err[256];
	unsigned int backoff = 100;
	bool new_client = why == -NFS4ERR_STALE_CLIENTID;
	bool old_alive = why == -NFS4ERR_SEQ_MISORDERED;
	int rc;

	pthread_mutex_lock(&c->lock);
	while (c->recovering && c->gen == seen_gen) {
		rc = nfs4_wait_locked(c, cr, 1000);
		if (rc) {
			pthread_mutex_unlock(&c->lock);
			return rc;
		}
	}
	if (c->gen != seen_gen) {
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	rc = stop_check_locked(c, NULL);
	if (rc) {
		pthread_mutex_unlock(&c->lock);
		return rc;
	}
	c->recovering = true;
	if (c->life == NFS4_RUNNING)
		c->life = NFS4_RECOVERING;
	memcpy(old_id, c->sessionid, sizeof(old_id));
	pthread_mutex_unlock(&c->lock);

	efs_log(EFS_LOG_NOTICE, "server %s: %s, re-establishing the session", c->host,
		nfs4_err_name(why));
	pthread_mutex_lock(&c->stats_lock);
	c->stats.recoveries++;
	pthread_mutex_unlock(&c->stats_lock);
	if (old_alive)
		destroy_session_id(c, old_id, nfs4_timeout_ms(c));
	for (;;) {
		rc = nfs4_session_establish(c, new_client, err, sizeof(err));
		if (rc == 0)
			break;
		if (!new_client && (rc == -NFS4ERR_STALE_CLIENTID || rc == -NFS4ERR_EXPIRED)) {
			new_client = true;
			continue;
		}
		efs_log(EFS_LOG_WARN, "%s", err);
		pthread_mutex_lock(&c->lock);
		rc = stop_check_locked(c, NULL);
		if (rc || c->cfg.soft) {
			/* soft: this call fails; the next one tries again */
			c->recovering = false;
			if (c->life == NFS4_RECOVERING)
				c->life = NFS4_RUNNING;
			pthread_cond_broadcast(&c->slot_cv);
			pthread_mutex_unlock(&c->lock);
			return rc ? rc : (c->cfg.softerr ? -ETIMEDOUT : -EIO);
		}
		pthread_mutex_unlock(&c->lock);
		rc = nfs4_backoff(c, NULL, &backoff, 5000);
		if (rc == -ESHUTDOWN) {
			pthread_mutex_lock(&c->lock);
			c->recovering = false;
			pthread_cond_broadcast(&c->slot_cv);
			pthread_mutex_unlock(&c->lock);
			return rc;
		}
	}
	pthread_mutex_lock(&c->lock);
	c->recovering = false;
	/* A recovery nested in a reclaim (its session was lost) leaves it on. */
	if (new_client)
		c->reclaiming = true;
	pthread_cond_broadcast(&c->slot_cv);
	pthread_mutex_unlock(&c->lock);
	if (new_client) {
		/* Opens and locks first (grace period), then RECLAIM_COMPLETE. */
		nfs4_state_reclaim(c);
		rc = reclaim_complete(c);
		if (rc)
			efs_log(EFS_LOG_WARN, "RECLAIM_COMPLETE: %s", nfs4_err_name(rc));
		/*
		 * The reclaims are over: other requests may go (a GRACE they
		 * meet is waited out), and so do the reopens of what could not
		 * be reclaimed.
		 */
		pthread_mutex_lock(&c->lock);
		c->reclaiming = false;
		pthread_cond_broadcast(&c->slot_cv);
		pthread_mutex_unlock(&c->lock);
		nfs4_state_reopen_lost(c);
	}
	pthread_mutex_lock(&c->lock);
	if (new_client)
		c->reclaiming = false;
	if (c->life == NFS4_RECOVERING && !c->reclaiming)
		c->life = NFS4_RUNNING;
	pthread_cond_broadcast(&c->slot_cv);
	pthread_mutex_unlock(&c->lock);
	efs_log(EFS_LOG_NOTICE, "server %s: session re-established%s", c->host,
		new_client ? " (new client id, state reclaimed)" : "");
	return 0;
}

/*
 * The renewer's calls end as soon as the client stops (not at the stop
 * deadline): the renewer is also the thread that enforces that deadline.
 * Called with or without c->lock: an atomic read, no lock.
 */
static bool renewer_cancelled(void *arg)
{
	struct nfs4_client *c = arg;

	return __atomic_load_n(&c->life, __ATOMIC_ACQUIRE) == NFS4_STOPPING;
}

static int sequence_ping(struct nfs4_client *c)
{
	struct nfs4_compound cp;
	struct rpc_cred cr;
	int rc;

	nfs4_machine_cred(&cr);
	cr.cancelled = renewer_cancelled;
	cr.cancel_arg = c;
	rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_SEQUENCE, 64, true);
	if (!rc)
		rc = nfs4_compound_run(&cp, &cr);
	nfs4_compound_fini(&cp);
	return rc;
}

/*
 * The lease renewer: a SEQUENCE when nothing else renewed the lease for
 * lease/3.  Once the client is STOPPING it becomes the stopper: at the
 * stop deadline it abandons every call still waiting for the server.
 */
static void *renewer_main(void *arg)
{
	struct nfs4_client *c = arg;
	struct timespec deadline;
	long period_ms;

	pthread_mutex_lock(&c->lock);
	while (c->life != NFS4_STOPPING) {
		period_ms = (long)c->lease * 1000 / 3;
		if (period_ms < 500)
			period_ms = 500;
		nfs4_now(&deadline);
		ts_add_ms(&deadline, period_ms);
		if (!c->check_state && !c->restart_seen)
			pthread_cond_timedwait(&c->renew_cv, &c->lock, &deadline);
		if (c->life == NFS4_STOPPING)
			break;
		if (c->restart_seen) {
			/* Until a RECLAIM_COMPLETE the server keeps saying so (a
			 * failed one after our reclaim): send it again. */
			c->restart_seen = false;
			pthread_mutex_unlock(&c->lock);
			reclaim_complete(c);
			pthread_mutex_lock(&c->lock);
			continue;
		}
		if (c->check_state) {
			c->check_state = false;
			pthread_mutex_unlock(&c->lock);
			nfs4_state_check(c);
			pthread_mutex_lock(&c->lock);
			continue;
		}
		if (nfs4_ms_since(&c->last_ok) < period_ms || c->recovering)
			continue;
		pthread_mutex_unlock(&c->lock);
		if (sequence_ping(c) == 0)
			efs_log(EFS_LOG_DEBUG, "lease renewed");
		pthread_mutex_lock(&c->lock);
	}
	while (!c->stop_done) {
		struct timespec now;

		nfs4_now(&now);
		if (!ts_before(&now, &c->stop_at)) {
			c->aborted = true;
			pthread_mutex_unlock(&c->lock);
			efs_log(EFS_LOG_WARN,
				"server %s: not answering while unmounting; giving up", c->host);
			rpc_clnt_abort(c->rpc);
			pthread_mutex_lock(&c->lock);
			break;
		}
		pthread_cond_timedwait(&c->renew_cv, &c->lock, &c->stop_at);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

void nfs4_client_stop(struct nfs4_client *c, unsigned int grace_ms)
{
	struct timespec at;

	nfs4_now(&at);
	ts_add_ms(&at, grace_ms);
	pthread_mutex_lock(&c->lock);
	if (c->life != NFS4_STOPPING || ts_before(&at, &c->stop_at)) {
		c->stop_at = at;
		__atomic_store_n(&c->life, NFS4_STOPPING, __ATOMIC_RELEASE);
	}
	pthread_cond_broadcast(&c->slot_cv);
	pthread_cond_broadcast(&c->renew_cv);
	pthread_mutex_unlock(&c->lock);
}

int nfs4_client_start(struct nfs4_client *c, char *err, size_t errlen)
{
	int rc = rpc_clnt_connect(c->rpc, err, errlen);

	if (rc)
		return rc;
	rc = nfs4_session_establish(c, true, err, errlen);
	if (rc == -EPROTONOSUPPORT || rc == -NFS4ERR_MINOR_VERS_MISMATCH)
		snprintf(err, errlen, "%s does not speak NFSv4.1 (%s)", c->host, nfs4_err_name(rc));
	if (rc)
		return rc;
	rc = reclaim_complete(c);
	if (rc) {
		snprintf(err, errlen, "RECLAIM_COMPLETE with %s failed: %s", c->host,
			 nfs4_err_name(rc));
		return rc;
	}
	pthread_mutex_lock(&c->lock);
	rc = pthread_create(&c->renewer, NULL, renewer_main, c);
	c->renewer_running = rc == 0;
	pthread_mutex_unlock(&c->lock);
	if (rc) {
		snprintf(err, errlen, "cannot start the lease renewer: %s", strerror(rc));
		return -rc;
	}
	return 0;
}

int nfs4_client_mount(struct nfs4_client *c, const char *path, struct nfs4_fh *root,
		      struct nfs4_attr *attr, char *err, size_t errlen)
{
	struct nfs4_compound cp;
	struct nfs4_attr info;
	struct rpc_cred cr;
	char comp[256];
	const char *p = path, *q;
	int rc, nops = 0;

	nfs4_machine_cred(&cr);
	rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_LOOKUP, 8192, true);
	if (rc)
		goto fail;
	rc = nfs4_compound_op(&cp, nfs4_enc_putrootfh(&cp.args));
	while (!rc && *p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		q = strchr(p, '/');
		if (!q)
			q = p + strlen(p);
		if ((size_t)(q - p) >= sizeof(comp) || ++nops > NFS4_MAX_OPS - 5) {
			rc = -ENAMETOOLONG;
			break;
		}
		memcpy(comp, p, q - p);
		comp[q - p] = '\0';
		rc = nfs4_compound_op(&cp, nfs4_enc_lookup(&cp.args, comp));
		p = q;
	}
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_getfh(&cp.args));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_getattr(&cp.args, &nfs4_bitmap_stat));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_getattr(&cp.args, &nfs4_bitmap_fsinfo));
	if (!rc)
		rc = nfs4_compound_run(&cp, &cr);
	if (!rc)
		rc = nfs4_dec_putrootfh(cp.res);
	for (int i = 0; !rc && i < nops; i++)
		rc = nfs4_dec_lookup(cp.res);
	if (!rc)
		rc = nfs4_dec_getfh(cp.res, root);
	if (!rc)
		rc = nfs4_dec_getattr(cp.res, attr);
	memset(&info, 0, sizeof(info));
	if (!rc)
		rc = nfs4_dec_getattr(cp.res, &info);
	nfs4_compound_fini(&cp);
fail:
	if (rc) {
		if (rc == -NFS4ERR_NOENT)
			snprintf(err, errlen,
				 "the server %s has no export at %s: check the path after ':'",
				 c->host, path);
		else
			snprintf(err, errlen, "cannot look up %s on %s: %s", path, c->host,
				 nfs4_err_name(rc));
		return rc;
	}
	if ((attr->valid & NFS4_ATTR_BIT(FATTR4_TYPE)) && attr->type != NF4DIR) {
		snprintf(err, errlen,
			 "%s on %s is not a directory: give the path of an exported "
			 "directory after ':'",
			 path, c->host);
		return -ENOTDIR;
	}
	pthread_mutex_lock(&c->lock);
	if ((info.valid & NFS4_ATTR_BIT(FATTR4_LEASE_TIME)) && info.lease_time)
		c->lease = info.lease_time;
	if ((info.valid & NFS4_ATTR_BIT(FATTR4_MAXREAD)) && info.maxread && info.maxread < c->rsize)
		c->rsize = info.maxread >= 4096 ? (uint32_t)info.maxread & ~4095u : 4096;
	if ((info.valid & NFS4_ATTR_BIT(FATTR4_MAXWRITE)) && info.maxwrite &&
	    info.maxwrite < c->wsize)
		c->wsize = info.maxwrite >= 4096 ? (uint32_t)info.maxwrite & ~4095u : 4096;
	pthread_cond_broadcast(&c->renew_cv);
	pthread_mutex_unlock(&c->lock);
	efs_log(EFS_LOG_INFO, "mounted %s:%s (rsize %u, wsize %u, lease %u s)", c->host, path,
		c->rsize, c->wsize, c->lease);
	return 0;
}

#define SHUTDOWN_GRACE_MS 2000

/* A compound holds a slot, or the session is being re-established; c->lock held. */
static bool calls_in_flight_locked(const struct nfs4_client *c)
{
	if (c->recovering)
		return true;
	for (uint32_t i = 0; i < NFS4_MAX_SLOTS; i++)
		if (c->slots[i].busy)
			return true;
	return false;
}

void nfs4_client_shutdown(struct nfs4_client *c)
{
	uint8_t id[NFS4_SESSIONID_SIZE];
	bool join, had, talk;
	uint64_t clientid;
	int rc;

	nfs4_client_stop(c, SHUTDOWN_GRACE_MS);
	pthread_mutex_lock(&c->lock);
	/*
	 * Calls in flight may finish until the stop deadline; those still
	 * waiting for the server then are abandoned (the renewer, which would
	 * do it, stops watching once stop_done is set).
	 */
	while (calls_in_flight_locked(c) && !c->aborted && nfs4_wait_locked(c, NULL, 100) == 0)
		;
	if (calls_in_flight_locked(c) && !c->aborted) {
		c->aborted = true;
		pthread_mutex_unlock(&c->lock);
		efs_log(EFS_LOG_WARN, "server %s: not answering while unmounting; giving up",
			c->host);
		rpc_clnt_abort(c->rpc);
		pthread_mutex_lock(&c->lock);
	}
	c->stop_done = true;
	join = c->renewer_running;
	c->renewer_running = false;
	had = c->have_session;
	/* Only talk to a server that answered within the last lease. */
	talk = had && !c->aborted && nfs4_ms_since(&c->last_ok) < (long)c->lease * 1000;
	memcpy(id, c->sessionid, sizeof(id));
	clientid = c->clientid;
	pthread_cond_broadcast(&c->renew_cv);
	pthread_mutex_unlock(&c->lock);
	if (join)
		pthread_join(c->renewer, NULL);
	nfs4_state_table_free(c);
	if (!talk) {
		if (had)
			efs_log(EFS_LOG_WARN,
				"server %s unreachable: session and client id left "
				"to expire with the lease",
				c->host);
		return;
	}
	c->solo_tmo_ms = DESTROY_TIMEOUT_MS; /* the last words are short */
	rc = destroy_session_seq(c, DESTROY_TIMEOUT_MS);
	if (rc && nfs4_err_is_nfs(rc) && rc != -EBADMSG)
		rc = destroy_session_id(c, id, DESTROY_TIMEOUT_MS);
	if (rc == 0)
		efs_log(EFS_LOG_NOTICE, "session destroyed");
	if (rc && !nfs4_err_is_nfs(rc)) {
		/* no answer (timed out, connection gone): nothing more to say */
		efs_log(EFS_LOG_WARN,
			"server %s not answering at unmount (%s): client id left to "
			"expire with the lease",
			c->host, nfs4_err_name(rc));
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->have_session = false;
	pthread_cond_broadcast(&c->slot_cv);
	pthread_mutex_unlock(&c->lock);
	rc = destroy_clientid(c, clientid);
	if (rc == -NFS4ERR_CLIENTID_BUSY) {
		/*
		 * The session could not be destroyed from this connection (a
		 * server binds only so many; nfs-ganesha 16, and it keeps dead
		 * ones).  A new incarnation of our client (new verifier, its own
		 * session on this connection) replaces the old record with all
		 * it held; then that one goes.
		 */
		if (getrandom(c->verifier, sizeof(c->verifier), 0) != sizeof(c->verifier))
			c->verifier[0] ^= 0x5a;
		rc = exchange_id(c);
		if (!rc)
			rc = create_session(c);
		if (!rc) {
			pthread_mutex_lock(&c->lock);
			memcpy(id, c->sessionid, sizeof(id));
			clientid = c->clientid;
			pthread_mutex_unlock(&c->lock);
			rc = destroy_session_id(c, id, DESTROY_TIMEOUT_MS);
		}
		if (!rc)
			rc = destroy_clientid(c, clientid);
		if (!rc)
			efs_log(EFS_LOG_NOTICE, "session destroyed (through a new incarnation)");
	}
	if (rc)
		efs_log(EFS_LOG_WARN, "DESTROY_CLIENTID failed: %s", nfs4_err_name(rc));
	else
		efs_log(EFS_LOG_NOTICE, "client id destroyed");
}

void nfs4_client_free(struct nfs4_client *c)
{
	if (!c)
		return;
	if (c->rpc)
		rpc_clnt_free(c->rpc);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->stats_lock);
	pthread_cond_destroy(&c->slot_cv);
	pthread_cond_destroy(&c->renew_cv);
	free(c->host);
	free(c->tls_name);
	free(c->cafile);
	free(c->owner_id);
	free(c);
}

uint32_t nfs4_client_rsize(const struct nfs4_client *c)
{
	return c->rsize;
}

uint32_t nfs4_client_wsize(const struct nfs4_client *c)
{
	return c->wsize;
}

uint32_t nfs4_client_lease_time(const struct nfs4_client *c)
{
	return c->lease;
}

void nfs4_client_get_stats(struct nfs4_client *c, struct nfs4_stats *st)
{
	pthread_mutex_lock(&c->stats_lock);
	*st = c->stats;
	pthread_mutex_unlock(&c->stats_lock);
	rpc_clnt_get_stats(c->rpc, &st->rpc);
}

void nfs4_client_dump(struct nfs4_client *c, void (*line)(void *arg, const char *text), void *arg)
{
	static const char *const life[] = {"running", "recovering", "stopping"};
	unsigned int busy = 0, intr = 0, pend;
	char buf[256];
	long oldest;

	pthread_mutex_lock(&c->lock);
	for (uint32_t i = 0; i < c->nslots; i++) {
		busy += c->slots[i].busy;
		intr += c->slots[i].interrupted;
	}
	snprintf(buf, sizeof(buf),
		 "session: %s, client id %016llx, generation %u, %s%s, slots %u (target %u, "
		 "busy %u, interrupted %u), lease %u s, last renewal %ld ms ago",
		 c->have_session ? "up" : "none", (unsigned long long)c->clientid, c->gen,
		 life[c->life], c->reclaiming ? " (reclaiming)" : "", c->nslots, c->target + 1,
		 busy, intr, c->lease, nfs4_ms_since(&c->last_ok));
	pthread_mutex_unlock(&c->lock);
	line(arg, buf);
	rpc_clnt_pending(c->rpc, &pend, &oldest);
	snprintf(buf, sizeof(buf), "calls in flight: %u, oldest %ld ms", pend, oldest);
	line(arg, buf);
	nfs4_state_dump(c, line, arg);
}
