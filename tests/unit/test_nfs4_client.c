/*
 * test_nfs4_client.c - the NFSv4.1 compound, session and state code
 * (src/nfs4/nfs4_compound.c, nfs4_session.c, nfs4_state.c) driven through
 * the real nfs4_client against the scripted fake server of
 * fake_nfs4_srv.c: interrupted slots, SEQ_MISORDERED, BADSESSION with many
 * calls in flight, the server's target slot, reclaim after a restart, lost
 * locks, soft mounts, stopping while the server is silent, and the number
 * of calls a failing server receives.
 *
 * Every wait is on a condition with a deadline (a test fails instead of
 * hanging); nothing sleeps to synchronise.  Client calls that may hang on
 * a bug run on a helper thread; the main thread stops the client when
 * their deadline passes, so that a failure is reported, not a hang.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "fake_nfs4_srv.h"
#include "nfs4/nfs4_client.h"
#include "nfs4/nfs4_state.h"
#include "util/log.h"

#define WAIT_MS 8000 /* a condition that must come true does so well before */

static const struct rpc_cred cr1 = {.uid = 1000, .gid = 1000};
static const struct rpc_cred cr2 = {.uid = 1001, .gid = 1001};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- fixture ---- */

struct fix {
	struct fsrv *s;
	struct nfs4_client *c;
	struct nfs4_fh root, fa, fb;
	uint32_t ia, ib; /* the server's file indexes of a and b */
	bool shut;
};

struct fix_opts {
	unsigned int timeo_ds, retrans;
	uint32_t lease; /* seconds, as the server announces it (0: 60) */
	bool soft, softerr;
};

static void fix_start(struct fix *f, const struct fix_opts *o)
{
	static unsigned int n;
	struct nfs4_client_cfg cfg = {0};
	struct nfs4_attr attr;
	char owner[64], err[256];
	int rc;

	memset(f, 0, sizeof(*f));
	f->s = fsrv_start();
	assert_non_null(f->s);
	if (o && o->lease)
		f->s->lease = o->lease;
	snprintf(owner, sizeof(owner), "efs-fuse-unit-%d-%u", (int)getpid(), ++n);
	cfg.transport.host = "127.0.0.1";
	cfg.transport.port = f->s->port;
	cfg.transport.connect_timeout_ms = 2000;
	cfg.rsize = cfg.wsize = 65536;
	cfg.timeo_ds = o && o->timeo_ds ? o->timeo_ds : 50;
	cfg.retrans = o ? o->retrans : 2;
	cfg.soft = o && o->soft;
	cfg.softerr = o && o->softerr;
	cfg.owner_id = owner;
	f->c = nfs4_client_new(&cfg);
	assert_non_null(f->c);
	rc = nfs4_client_start(f->c, err, sizeof(err));
	if (rc)
		fail_msg("start: %d %s", rc, err);
	rc = nfs4_client_mount(f->c, "/", &f->root, &attr, err, sizeof(err));
	if (rc)
		fail_msg("mount: %d %s", rc, err);
	fsrv_lock(f->s);
	fsrv_file_locked(f->s, "a");
	fsrv_file_locked(f->s, "b");
	fsrv_unlock(f->s);
	assert_int_equal(nfs4_lookup(f->c, &cr1, &f->root, "a", &f->fa, &attr), 0);
	assert_int_equal(nfs4_lookup(f->c, &cr1, &f->root, "b", &f->fb, &attr), 0);
	fsrv_lock(f->s);
	f->ia = fsrv_file_locked(f->s, "a");
	f->ib = fsrv_file_locked(f->s, "b");
	memcpy(f->s->data[f->ia], "AAAAAAAAAAAAAAAA", 16);
	f->s->size[f->ia] = 16;
	memcpy(f->s->data[f->ib], "BBBBBBBBBBBBBBBB", 16);
	f->s->size[f->ib] = 16;
	fsrv_unlock(f->s);
}

static void fix_shutdown(struct fix *f)
{
	if (!f->shut)
		nfs4_client_shutdown(f->c);
	f->shut = true;
}

static void fix_stop(struct fix *f)
{
	fix_shutdown(f);
	nfs4_client_free(f->c);
	fsrv_stop(f->s);
}

/* What every test expects of the conversation, whatever it injected. */
static void assert_server_clean(struct fix *f)
{
	fsrv_lock(f->s);
	if (f->s->bad[0]) {
		fsrv_unlock(f->s);
		fail_msg("malformed call: %s", f->s->bad);
	}
	if (f->s->false_retries) {
		unsigned int n = f->s->false_retries;

		fsrv_unlock(f->s);
		fail_msg("%u cached replies answered a different request", n);
	}
	if (f->s->misordered) {
		unsigned int n = f->s->misordered;

		fsrv_unlock(f->s);
		fail_msg("the client sent %u requests with a wrong sequence id", n);
	}
	fsrv_unlock(f->s);
}

/* Calls matching op in [from, to) answered with status (FSRV_ANY: any). */
static unsigned int count_status(struct fix *f, uint32_t op, unsigned int from, uint32_t status)
{
	unsigned int n = 0;

	fsrv_lock(f->s);
	for (unsigned int i = from; i < f->s->ncalls; i++)
		if ((op == FSRV_ANY || fsrv_call_has(&f->s->log[i], op)) &&
		    f->s->log[i].status == status)
			n++;
	fsrv_unlock(f->s);
	return n;
}

/* Index of the first call from `from` on containing op, or -1. */
static int find_call(struct fix *f, uint32_t op, unsigned int from)
{
	int r = -1;

	fsrv_lock(f->s);
	for (unsigned int i = from; i < f->s->ncalls && r < 0; i++)
		if (op == FSRV_LONE_SEQ ? f->s->log[i].nops == 1 && f->s->log[i].has_seq
					: fsrv_call_has(&f->s->log[i], op))
			r = (int)i;
	fsrv_unlock(f->s);
	return r;
}

static bool pred_ncalls(struct fsrv *s, void *arg)
{
	return s->ncalls >= *(unsigned int *)arg;
}

/* ---- client calls on helper threads ---- */

enum job_kind { J_READ, J_WRITE, J_OPEN, J_READ_LOOP };

struct job {
	struct fix *f;
	enum job_kind kind;
	const struct rpc_cred *cr;
	struct nfs4_open *op;
	uint32_t share;
	int loops;
	char buf[64];
	uint32_t got;
	int rc;
	long took_ms;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

static void *job_main(void *arg)
{
	struct job *j = arg;
	long t0 = now_ms();
	bool eof;
	int rc = 0;

	switch (j->kind) {
	case J_READ:
		rc = nfs4_read_open(j->f->c, j->cr, j->op, 0, 16, j->buf, &j->got, &eof);
		break;
	case J_WRITE: {
		uint32_t written, committed;
		uint8_t verf[8];

		rc = nfs4_write_open(j->f->c, j->cr, j->op, 0, j->buf, 16, FILE_SYNC4, &written,
				     &committed, verf);
		break;
	}
	case J_OPEN:
		rc = nfs4_open_by_fh(j->f->c, j->cr, &j->f->fa, j->share, &j->op, NULL);
		break;
	case J_READ_LOOP:
		for (int i = 0; i < j->loops && !rc; i++) {
			memset(j->buf, 0, sizeof(j->buf));
			rc = nfs4_read_open(j->f->c, j->cr, j->op, 0, 16, j->buf, &j->got, &eof);
			if (!rc && (j->got != 16 || memcmp(j->buf, "AAAAAAAAAAAAAAAA", 16) != 0))
				rc = -EILSEQ;
		}
		break;
	}
	pthread_mutex_lock(&j->mu);
	j->rc = rc;
	j->took_ms = now_ms() - t0;
	j->done = true;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

static void job_start(struct job *j, struct fix *f, enum job_kind kind, const struct rpc_cred *cr,
		      struct nfs4_open *op)
{
	pthread_condattr_t ca;

	j->f = f;
	j->kind = kind;
	j->cr = cr;
	j->op = op;
	j->done = false;
	pthread_mutex_init(&j->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cv, &ca);
	pthread_condattr_destroy(&ca);
	assert_int_equal(pthread_create(&j->th, NULL, job_main, j), 0);
}

/* Wait up to ms for the job; true when it finished. */
static bool job_wait(struct job *j, int ms)
{
	struct timespec dl;
	bool done;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&j->mu);
	while (!j->done)
		if (pthread_cond_timedwait(&j->cv, &j->mu, &dl) == ETIMEDOUT)
			break;
	done = j->done;
	pthread_mutex_unlock(&j->mu);
	return done;
}

/*
 * Join a job that must finish within ms.  If it does not, the client is
 * stopped (so that the thread comes back) and the test fails.
 */
static void job_finish(struct job *j, int ms, const char *what)
{
	bool done = job_wait(j, ms);

	if (!done) {
		nfs4_client_stop(j->f->c, 0);
		job_wait(j, 10000);
	}
	pthread_join(j->th, NULL);
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	if (!done)
		fail_msg("%s did not finish within %d ms (client stopped)", what, ms);
}

static struct nfs4_open *open_fh(struct fix *f, const struct rpc_cred *cr, const struct nfs4_fh *fh,
				 uint32_t share)
{
	struct nfs4_open *op = NULL;
	int rc = nfs4_open_by_fh(f->c, cr, fh, share, &op, NULL);

	if (rc)
		fail_msg("OPEN: %d", rc);
	return op;
}

static int read16(struct fix *f, struct nfs4_open *op, char *buf)
{
	uint32_t got = 0;
	bool eof;
	int rc;

	memset(buf, 0, 17);
	rc = nfs4_read_open(f->c, &cr1, op, 0, 16, buf, &got, &eof);
	if (!rc && got != 16)
		return -EILSEQ;
	return rc;
}

static int write16(struct fix *f, struct nfs4_open *op, const char *data)
{
	uint32_t written, committed;
	uint8_t verf[8];

	return nfs4_write_open(f->c, &cr1, op, 0, data, 16, FILE_SYNC4, &written, &committed, verf);
}

/* ---- tests ---- */

static unsigned int open_states(struct fix *f, uint32_t file, uint32_t *share)
{
	unsigned int n = 0;

	fsrv_lock(f->s);
	for (int i = 0; i < FSRV_MAX_STATES; i++)
		if (f->s->states[i].used && f->s->states[i].kind == 1 &&
		    f->s->states[i].file == file) {
			n++;
			if (share)
				*share = f->s->states[i].share;
		}
	fsrv_unlock(f->s);
	return n;
}

/* Shared opens per credential, upgrade, downgrade, close, locks on two files, shutdown. */
static void test_open_state_and_shutdown(void **unused)
{
	struct fix f;
	struct nfs4_open *r, *rw, *o2, *b;
	struct nfs4_lock_denied d;
	uint32_t share = 0;
	char buf[17];
	int ds, dc;

	(void)unused;
	fix_start(&f, NULL);
	r = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	rw = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_BOTH);
	assert_ptr_equal(r, rw); /* one open state per (file, credential) */
	assert_int_equal(open_states(&f, f.ia, &share), 1);
	assert_int_equal(share, OPEN4_SHARE_ACCESS_BOTH);
	o2 = open_fh(&f, &cr2, &f.fa, OPEN4_SHARE_ACCESS_READ);
	assert_ptr_not_equal(o2, r);
	assert_int_equal(open_states(&f, f.ia, NULL), 2); /* another open-owner */

	assert_int_equal(write16(&f, rw, "0123456789abcdef"), 0);
	assert_int_equal(read16(&f, r, buf), 0);
	assert_memory_equal(buf, "0123456789abcdef", 16);

	/* The write share goes away: OPEN_DOWNGRADE to READ. */
	assert_int_equal(nfs4_open_release(f.c, &cr1, rw, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_int_equal(fsrv_count(f.s, OP_OPEN_DOWNGRADE, 0), 1);
	share = 0;
	open_states(&f, f.ia, &share);
	assert_int_equal(share, OPEN4_SHARE_ACCESS_READ);
	assert_int_equal(nfs4_open_release(f.c, &cr1, r, OPEN4_SHARE_ACCESS_READ), 0);
	assert_int_equal(open_states(&f, f.ia, NULL), 1);

	/* One process (lock owner 5) locks two files. */
	rw = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_BOTH);
	b = open_fh(&f, &cr1, &f.fb, OPEN4_SHARE_ACCESS_BOTH);
	assert_int_equal(nfs4_lock_open(f.c, &cr1, rw, 5, WRITE_LT, 0, 10, &d), 0);
	assert_int_equal(nfs4_lock_open(f.c, &cr1, b, 5, WRITE_LT, 0, 10, &d), 0);
	/* Another owner is refused. */
	assert_int_equal(nfs4_lock_open(f.c, &cr2, o2, 6, WRITE_LT, 5, 1, &d), -NFS4ERR_DENIED);
	assert_int_equal(nfs4_unlock_open(f.c, &cr1, rw, 5, 0, 10), 0);
	assert_int_equal(nfs4_lock_open(f.c, &cr2, o2, 6, READ_LT, 5, 1, &d), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr2, o2, OPEN4_SHARE_ACCESS_READ), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr1, rw, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr1, b, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_int_equal(open_states(&f, f.ia, NULL) + open_states(&f, f.ib, NULL), 0);

	fix_shutdown(&f);
	ds = find_call(&f, OP_DESTROY_SESSION, 0);
	dc = find_call(&f, OP_DESTROY_CLIENTID, 0);
	assert_true(ds >= 0 && dc > ds);
	assert_int_equal(count_status(&f, OP_DESTROY_SESSION, 0, NFS4_OK), 1);
	assert_int_equal(count_status(&f, OP_DESTROY_CLIENTID, 0, NFS4_OK), 1);
	assert_server_clean(&f);
	fix_stop(&f);
}

/*
 * The connection drops after the server executed a WRITE (cached reply):
 * the slot is interrupted, probed with a lone SEQUENCE on the new
 * connection, and the WRITE goes again on the next sequence id.
 */
static void test_interrupted_slot_cached(void **unused)
{
	struct fix f;
	struct nfs4_open *op;
	struct job j = {0};
	unsigned int from;
	int w1, w2, probe;
	struct fsrv_call c1, cp, c2;

	(void)unused;
	fix_start(&f, NULL);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_BOTH);
	from = fsrv_ncalls(f.s);
	fsrv_rule(f.s, OP_WRITE, 0, 1, FA_DROP_AFTER, 0);
	memcpy(j.buf, "interrupted-wrt!", 16);
	job_start(&j, &f, J_WRITE, &cr1, op);
	job_finish(&j, WAIT_MS, "WRITE across a dropped connection");
	assert_int_equal(j.rc, 0);
	w1 = find_call(&f, OP_WRITE, from);
	assert_true(w1 >= 0);
	probe = find_call(&f, FSRV_LONE_SEQ, (unsigned int)w1 + 1);
	w2 = find_call(&f, OP_WRITE, (unsigned int)w1 + 1);
	assert_true(probe > w1);
	assert_true(w2 > probe);
	fsrv_lock(f.s);
	c1 = f.s->log[w1];
	cp = f.s->log[probe];
	c2 = f.s->log[w2];
	fsrv_unlock(f.s);
	assert_int_equal(c1.status, FSRV_NOREPLY);
	assert_true(cp.conn > c1.conn);
	assert_int_equal(cp.slot, c1.slot);
	assert_int_equal(cp.seqid, c1.seqid);
	assert_true(cp.replay); /* the probe found the executed request */
	assert_int_equal(c2.slot, c1.slot);
	assert_int_equal(c2.seqid, c1.seqid + 1);
	assert_false(c2.replay);
	assert_int_equal(c2.status, NFS4_OK);
	fsrv_lock(f.s);
	assert_memory_equal(f.s->data[f.ia], "interrupted-wrt!", 16);
	fsrv_unlock(f.s);
	assert_int_equal(nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

/*
 * The same with an idempotent READ (cachethis = false): the server kept no
 * reply, so the probe of the interrupted slot is answered
 * RETRY_UNCACHED_REP (ganesha) or SEQ_FALSE_RETRY (Linux nfsd).  Either
 * says the old request was processed; the READ must then go through.
 */
static void interrupted_uncached(bool nfsd)
{
	struct fix f;
	struct nfs4_open *op;
	struct job j = {0};
	unsigned int from;
	int r1, r2;
	struct fsrv_call c1, c2;

	fix_start(&f, NULL);
	f.s->nfsd_uncached = nfsd;
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	from = fsrv_ncalls(f.s);
	fsrv_rule(f.s, OP_READ, 0, 1, FA_DROP_AFTER, 0);
	job_start(&j, &f, J_READ, &cr1, op);
	job_finish(&j, 5000, "READ after an interrupted uncached slot");
	assert_int_equal(j.rc, 0);
	assert_int_equal(j.got, 16);
	assert_memory_equal(j.buf, "AAAAAAAAAAAAAAAA", 16);
	r1 = find_call(&f, OP_READ, from);
	r2 = find_call(&f, OP_READ, (unsigned int)r1 + 1);
	assert_true(r1 >= 0 && r2 > r1);
	fsrv_lock(f.s);
	c1 = f.s->log[r1];
	c2 = f.s->log[r2];
	fsrv_unlock(f.s);
	assert_false(c1.cachethis);
	assert_int_equal(c2.status, NFS4_OK);
	assert_false(c2.replay);
	assert_true(c2.slot != c1.slot || c2.seqid == c1.seqid + 1);
	assert_int_equal(nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_READ), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

static void test_interrupted_slot_uncached_ganesha(void **unused)
{
	(void)unused;
	interrupted_uncached(false);
}

static void test_interrupted_slot_uncached_nfsd(void **unused)
{
	(void)unused;
	interrupted_uncached(true);
}

/*
 * SEQ_MISORDERED once: the slot is re-synchronised by a probe, no new
 * session.  Twice: the session is replaced, and the old one destroyed.
 */
static void test_seq_misordered(void **unused)
{
	struct fix f;
	struct nfs4_open *op;
	unsigned int from;
	char buf[17];
	int ds, cs, rd;
	struct fsrv_call d, first;

	(void)unused;
	fix_start(&f, NULL);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	from = fsrv_ncalls(f.s);
	fsrv_rule(f.s, OP_READ, 0, 1, FA_SEQ_STATUS, NFS4ERR_SEQ_MISORDERED);
	assert_int_equal(read16(&f, op, buf), 0);
	assert_memory_equal(buf, "AAAAAAAAAAAAAAAA", 16);
	assert_int_equal(fsrv_count(f.s, OP_CREATE_SESSION, from), 0);
	assert_int_equal(fsrv_count(f.s, FSRV_LONE_SEQ, from), 1);
	assert_int_equal(fsrv_count(f.s, OP_READ, from), 2);

	from = fsrv_ncalls(f.s);
	fsrv_clear_rules(f.s);
	fsrv_rule(f.s, OP_READ, 0, 2, FA_SEQ_STATUS, NFS4ERR_SEQ_MISORDERED);
	assert_int_equal(read16(&f, op, buf), 0);
	assert_memory_equal(buf, "AAAAAAAAAAAAAAAA", 16);
	ds = find_call(&f, OP_DESTROY_SESSION, from);
	cs = find_call(&f, OP_CREATE_SESSION, from);
	assert_true(ds >= 0);
	assert_true(cs > ds);
	rd = find_call(&f, OP_READ, from);
	fsrv_lock(f.s);
	d = f.s->log[ds];
	first = f.s->log[rd];
	fsrv_unlock(f.s);
	assert_memory_equal(d.ds_id, first.sessionid, NFS4_SESSIONID_SIZE);
	assert_int_equal(d.status, NFS4_OK);
	assert_int_equal(fsrv_count(f.s, OP_CREATE_SESSION, from), 1);
	assert_int_equal(nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_READ), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

/* A reply that names another slot, sequence id or session is not taken. */
static void wrong_reply(enum fsrv_act act)
{
	struct fix f;
	struct nfs4_open *op;
	struct job j = {0};
	unsigned int from;

	fix_start(&f, NULL);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_BOTH);
	from = fsrv_ncalls(f.s);
	fsrv_rule(f.s, OP_WRITE, 0, 1, act, 0);
	memcpy(j.buf, "mismatched-reply", 16);
	job_start(&j, &f, J_WRITE, &cr1, op);
	job_finish(&j, 5000, "WRITE after a mismatched reply");
	assert_int_equal(j.rc, 0);
	/* Sent again after the bad answer: executed twice, never a cached reply reused. */
	assert_int_equal(fsrv_count(f.s, OP_WRITE, from), 2);
	assert_true(fsrv_ncalls(f.s) - from >= 3); /* write, probe, write */
	assert_int_equal(nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

static void test_wrong_slot_reply(void **unused)
{
	(void)unused;
	wrong_reply(FA_BAD_SLOT);
}

static void test_wrong_seqid_reply(void **unused)
{
	(void)unused;
	wrong_reply(FA_BAD_SEQID);
}

static void test_wrong_session_reply(void **unused)
{
	(void)unused;
	wrong_reply(FA_BAD_SESSION);
}

#define NTHREADS 6
#define NLOOPS	 25

/*
 * The server forgets its sessions while six threads have reads in flight:
 * one new session (not one per thread), every read succeeds, and every
 * slot of the new session starts at sequence id 1.
 */
static void test_badsession_many_in_flight(void **unused)
{
	struct fix f;
	struct nfs4_open *op;
	struct job j[NTHREADS];
	unsigned int from, kill_at;
	int cs;

	(void)unused;
	fix_start(&f, NULL);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	from = fsrv_ncalls(f.s);
	fsrv_rule(f.s, OP_READ, 40, 1, FA_KILL_SESSIONS, 0);
	memset(j, 0, sizeof(j));
	for (int i = 0; i < NTHREADS; i++) {
		j[i].loops = NLOOPS;
		job_start(&j[i], &f, J_READ_LOOP, &cr1, op);
	}
	for (int i = 0; i < NTHREADS; i++)
		job_finish(&j[i], WAIT_MS, "reads across BADSESSION");
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(j[i].rc, 0);
	assert_int_equal(fsrv_count(f.s, OP_CREATE_SESSION, from), 1);
	assert_int_equal(fsrv_count(f.s, OP_EXCHANGE_ID, from), 0);
	assert_true(count_status(&f, FSRV_ANY, from, NFS4ERR_BADSESSION) >= 1);
	cs = find_call(&f, OP_CREATE_SESSION, from);
	kill_at = (unsigned int)cs;
	/* On the new session, every slot's first request was sequence id 1. */
	fsrv_lock(f.s);
	{
		uint32_t last[FSRV_SLOTS] = {0};
		const uint8_t *sid = NULL;

		for (unsigned int i = kill_at + 1; i < f.s->ncalls; i++) {
			struct fsrv_call *c = &f.s->log[i];

			if (!c->has_seq || c->status == NFS4ERR_BADSESSION)
				continue;
			if (!sid)
				sid = c->sessionid;
			if (memcmp(sid, c->sessionid, NFS4_SESSIONID_SIZE) != 0)
				continue;
			if (c->slot < FSRV_SLOTS && !c->replay) {
				if (c->seqid != last[c->slot] + 1) {
					fsrv_unlock(f.s);
					fail_msg("slot %u: seqid %u after %u", c->slot, c->seqid,
						 last[c->slot]);
				}
				last[c->slot] = c->seqid;
			}
		}
	}
	fsrv_unlock(f.s);
	assert_int_equal(nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_READ), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

static unsigned int max_slot(struct fix *f, unsigned int from, unsigned int *nslots_used)
{
	unsigned int m = 0, used = 0;
	bool seen[FSRV_SLOTS] = {false};

	fsrv_lock(f->s);
	for (unsigned int i = from; i < f->s->ncalls; i++) {
		struct fsrv_call *c = &f->s->log[i];

		if (!c->has_seq || !fsrv_call_has(c, OP_READ))
			continue;
		if (c->slot > m)
			m = c->slot;
		if (c->slot < FSRV_SLOTS && !seen[c->slot]) {
			seen[c->slot] = true;
			used++;
		}
	}
	fsrv_unlock(f->s);
	if (nslots_used)
		*nslots_used = used;
	return m;
}

static void run_readers(struct fix *f, struct nfs4_open *op, int n, int loops)
{
	struct job j[NTHREADS];

	memset(j, 0, sizeof(j));
	for (int i = 0; i < n; i++) {
		j[i].loops = loops;
		job_start(&j[i], f, J_READ_LOOP, &cr1, op);
	}
	for (int i = 0; i < n; i++)
		job_finish(&j[i], WAIT_MS, "concurrent reads");
	for (int i = 0; i < n; i++)
		assert_int_equal(j[i].rc, 0);
}

/*
 * The server lowers target_highest_slotid to 1: later requests use slots 0
 * and 1 only.  When it raises it again, four requests run at once again.
 * (The server holds READ replies until 4 are waiting, or 200 ms of idleness.)
 */
static void test_target_slot_changes(void **unused)
{
	struct fix f;
	struct nfs4_open *op;
	unsigned int from, used;
	char buf[17];

	(void)unused;
	fix_start(&f, NULL);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	fsrv_lock(f.s);
	f.s->defer_batch = 4;
	fsrv_unlock(f.s);
	fsrv_rule(f.s, OP_READ, 0, 0, FA_DEFER, 0);
	from = fsrv_ncalls(f.s);
	run_readers(&f, op, 4, 3);
	max_slot(&f, from, &used);
	assert_true(used >= 4);

	fsrv_clear_rules(f.s);
	fsrv_set_target(f.s, 1);
	assert_int_equal(read16(&f, op, buf), 0); /* its reply carries the new target */
	fsrv_lock(f.s);
	f.s->defer_batch = 2; /* more in flight than the target still flushes */
	fsrv_unlock(f.s);
	fsrv_rule(f.s, OP_READ, 0, 0, FA_DEFER, 0);
	from = fsrv_ncalls(f.s);
	run_readers(&f, op, 4, 3);
	assert_true(max_slot(&f, from, NULL) <= 1);
	{
		uint32_t hi = 0;

		fsrv_lock(f.s);
		for (unsigned int i = from; i < f.s->ncalls; i++)
			if (f.s->log[i].has_seq && f.s->log[i].highest > hi)
				hi = f.s->log[i].highest;
		fsrv_unlock(f.s);
		assert_true(hi <= 1); /* sa_highest_slotid follows the target */
	}

	fsrv_clear_rules(f.s);
	fsrv_set_target(f.s, FSRV_SLOTS - 1);
	assert_int_equal(read16(&f, op, buf), 0);
	fsrv_lock(f.s);
	f.s->defer_batch = 4;
	fsrv_unlock(f.s);
	fsrv_rule(f.s, OP_READ, 0, 0, FA_DEFER, 0);
	from = fsrv_ncalls(f.s);
	run_readers(&f, op, 4, 3);
	max_slot(&f, from, &used);
	assert_true(used >= 4);
	fsrv_clear_rules(f.s);
	assert_int_equal(nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_READ), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

/*
 * A server restart with a grace period: STALE_CLIENTID on CREATE_SESSION,
 * a new client id, every open reclaimed with CLAIM_PREVIOUS and every lock
 * with reclaim = true, then RECLAIM_COMPLETE; I/O and locks work on.
 */
static void reclaim_after_restart(uint32_t seq_status)
{
	struct fix f;
	struct nfs4_open *a, *b, *a2;
	struct nfs4_lock_denied d;
	struct nfs4_state_stats st;
	unsigned int from, nprev = 0, nrl = 0;
	int rc_i, last_reclaim = -1, first_other = -1;
	char buf[17];

	fix_start(&f, NULL);
	a = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_BOTH);
	b = open_fh(&f, &cr2, &f.fb, OPEN4_SHARE_ACCESS_READ);
	assert_int_equal(nfs4_lock_open(f.c, &cr1, a, 7, WRITE_LT, 0, 100, &d), 0);
	from = fsrv_ncalls(f.s);
	fsrv_restart(f.s, true);
	/* Noticed through BADSESSION (then STALE_CLIENTID on CREATE_SESSION), or
	 * through STALE_CLIENTID on the SEQUENCE itself. */
	if (seq_status)
		fsrv_rule(f.s, OP_SEQUENCE, 0, 1, FA_SEQ_STATUS, seq_status);
	assert_int_equal(read16(&f, a, buf), 0);
	assert_memory_equal(buf, "AAAAAAAAAAAAAAAA", 16);
	assert_int_equal(read16(&f, b, buf), 0);
	assert_memory_equal(buf, "BBBBBBBBBBBBBBBB", 16);
	assert_true(fsrv_count(f.s, OP_EXCHANGE_ID, from) == 1);
	rc_i = find_call(&f, OP_RECLAIM_COMPLETE, from);
	assert_true(rc_i >= 0);
	fsrv_lock(f.s);
	for (unsigned int i = from; i < f.s->ncalls; i++) {
		struct fsrv_call *c = &f.s->log[i];

		if (fsrv_call_has(c, OP_OPEN) && c->claim == CLAIM_PREVIOUS) {
			nprev += c->status == NFS4_OK;
			last_reclaim = (int)i;
		}
		if (fsrv_call_has(c, OP_LOCK) && c->lock_reclaim) {
			nrl += c->status == NFS4_OK;
			last_reclaim = (int)i;
		}
		if (first_other < 0 && c->has_seq && c->nops > 1 &&
		    !fsrv_call_has(c, OP_RECLAIM_COMPLETE) && c->status != NFS4ERR_BADSESSION &&
		    c->status != seq_status && !(fsrv_call_has(c, OP_OPEN) && c->claim == 1) &&
		    !(fsrv_call_has(c, OP_LOCK) && c->lock_reclaim))
			first_other = (int)i;
	}
	fsrv_unlock(f.s);
	assert_int_equal(nprev, 2);
	assert_int_equal(nrl, 1);
	assert_true(last_reclaim < rc_i);
	assert_true(first_other > rc_i); /* nothing else went out while reclaiming */
	assert_int_equal(count_status(&f, FSRV_ANY, from, NFS4ERR_GRACE), 0);
	nfs4_state_get_stats(f.c, &st);
	assert_int_equal(st.reclaimed_opens, 2);
	assert_int_equal(st.reclaimed_locks, 1);
	assert_int_equal(st.lost_opens, 0);
	/* The reclaimed lock holds on the server; writes go on through the open. */
	a2 = open_fh(&f, &cr2, &f.fa, OPEN4_SHARE_ACCESS_READ);
	assert_int_equal(nfs4_lock_open(f.c, &cr2, a2, 8, READ_LT, 50, 1, &d), -NFS4ERR_DENIED);
	assert_int_equal(write16(&f, a, "after-restart..."), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr2, a2, OPEN4_SHARE_ACCESS_READ), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr1, a, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr2, b, OPEN4_SHARE_ACCESS_READ), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

static void test_reclaim_after_restart(void **unused)
{
	(void)unused;
	reclaim_after_restart(0);
}

static void test_reclaim_after_stale_clientid(void **unused)
{
	(void)unused;
	reclaim_after_restart(NFS4ERR_STALE_CLIENTID);
}

/*
 * The lease expired while the client was away (restart without grace for
 * it): the reclaim is refused (NO_GRACE), so the locked file's I/O and
 * locks fail with EIO until it is closed; the unlocked file is opened again
 * and works; nothing goes out with the anonymous stateid.
 */
static void test_lost_lock(void **unused)
{
	struct fix f;
	struct nfs4_open *a, *b;
	struct nfs4_lock_denied d;
	struct nfs4_state_stats st;
	unsigned int from, n_io_a = 0, n_anon = 0;
	char buf[17];

	(void)unused;
	fix_start(&f, NULL);
	a = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_BOTH);
	b = open_fh(&f, &cr1, &f.fb, OPEN4_SHARE_ACCESS_BOTH);
	assert_int_equal(nfs4_lock_open(f.c, &cr1, a, 9, WRITE_LT, 0, UINT64_MAX, &d), 0);
	from = fsrv_ncalls(f.s);
	fsrv_restart(f.s, false);
	/* b: recovery, then a reopen with CLAIM_FH, and the read works. */
	assert_int_equal(read16(&f, b, buf), 0);
	assert_memory_equal(buf, "BBBBBBBBBBBBBBBB", 16);
	assert_int_equal(count_status(&f, OP_OPEN, from, NFS4ERR_NO_GRACE), 2);
	assert_true(nfs4_open_lost(a));
	assert_false(nfs4_open_lost(b));
	assert_int_equal(read16(&f, a, buf), -EIO);
	assert_int_equal(write16(&f, a, "must-not-arrive!"), -EIO);
	assert_int_equal(nfs4_lock_open(f.c, &cr1, a, 9, WRITE_LT, 0, 1, &d), -EIO);
	assert_int_equal(write16(&f, b, "b-still-works..."), 0);
	fsrv_lock(f.s);
	for (unsigned int i = from; i < f.s->ncalls; i++) {
		struct fsrv_call *c = &f.s->log[i];

		if ((fsrv_call_has(c, OP_READ) || fsrv_call_has(c, OP_WRITE)) && c->file == f.ia)
			n_io_a++;
		if (c->anon_stateid)
			n_anon++;
	}
	assert_memory_equal(f.s->data[f.ia], "AAAAAAAAAAAAAAAA", 16);
	fsrv_unlock(f.s);
	assert_int_equal(n_io_a, 0);
	assert_int_equal(n_anon, 0);
	nfs4_state_get_stats(f.c, &st);
	assert_int_equal(st.lost_opens, 1);
	/* Closing the lost open ends the EIO; a new open works. */
	nfs4_open_release(f.c, &cr1, a, OPEN4_SHARE_ACCESS_BOTH);
	a = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_BOTH);
	assert_false(nfs4_open_lost(a));
	assert_int_equal(read16(&f, a, buf), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr1, a, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr1, b, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

/* A stateid refused as EXPIRED while a lock is held: EIO, no silent reopen. */
static void test_expired_stateid_with_lock(void **unused)
{
	struct fix f;
	struct nfs4_open *a;
	struct nfs4_lock_denied d;
	unsigned int from;
	char buf[17];

	(void)unused;
	fix_start(&f, NULL);
	a = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_BOTH);
	assert_int_equal(nfs4_lock_open(f.c, &cr1, a, 3, WRITE_LT, 0, 10, &d), 0);
	from = fsrv_ncalls(f.s);
	fsrv_rule(f.s, OP_WRITE, 0, 1, FA_OP_STATUS, NFS4ERR_EXPIRED);
	assert_int_equal(write16(&f, a, "lost-lock-write!"), -EIO);
	assert_int_equal(read16(&f, a, buf), -EIO);
	assert_int_equal(fsrv_count(f.s, OP_WRITE, from), 1);
	assert_int_equal(fsrv_count(f.s, OP_OPEN, from), 0);
	fsrv_lock(f.s);
	for (unsigned int i = from; i < f.s->ncalls; i++)
		if (f.s->log[i].anon_stateid) {
			fsrv_unlock(f.s);
			fail_msg("call %u went out with the anonymous stateid", i);
		}
	assert_memory_equal(f.s->data[f.ia], "AAAAAAAAAAAAAAAA", 16);
	fsrv_unlock(f.s);
	nfs4_open_release(f.c, &cr1, a, OPEN4_SHARE_ACCESS_BOTH);
	assert_server_clean(&f);
	fix_stop(&f);
}

/*
 * The server goes silent with a READ in flight on a hard mount (timeo 60 s):
 * shutdown returns within ~3 s, the READ fails, and nothing storms.
 */
static void test_shutdown_server_silent(void **unused)
{
	struct fix f;
	struct nfs4_open *op;
	struct job j = {0};
	struct fix_opts o = {.timeo_ds = 600, .retrans = 2};
	unsigned int from, want;
	long t0, took;

	(void)unused;
	fix_start(&f, &o);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	from = fsrv_ncalls(f.s);
	fsrv_set_silent(f.s, true);
	job_start(&j, &f, J_READ, &cr1, op);
	want = from + 1;
	assert_true(fsrv_wait(f.s, pred_ncalls, &want, WAIT_MS));
	t0 = now_ms();
	fix_shutdown(&f);
	took = now_ms() - t0;
	job_finish(&j, 2000, "READ after shutdown");
	assert_true(j.rc != 0);
	if (took > 3000)
		fail_msg("shutdown took %ld ms with the server silent", took);
	assert_true(fsrv_ncalls(f.s) - from <= 4);
	nfs4_open_put(f.c, op);
	fix_stop(&f);
}

/* nfs4_client_stop(grace) ends a hard-mount call stuck on a silent server. */
static void test_stop_deadline(void **unused)
{
	struct fix f;
	struct nfs4_open *op;
	struct job j = {0};
	struct fix_opts o = {.timeo_ds = 600, .retrans = 2};
	unsigned int from, want;
	long t0;

	(void)unused;
	fix_start(&f, &o);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	from = fsrv_ncalls(f.s);
	fsrv_set_silent(f.s, true);
	job_start(&j, &f, J_READ, &cr1, op);
	want = from + 1;
	assert_true(fsrv_wait(f.s, pred_ncalls, &want, WAIT_MS));
	t0 = now_ms();
	nfs4_client_stop(f.c, 300);
	job_finish(&j, 2000, "READ after stop");
	assert_int_equal(j.rc, -ESHUTDOWN);
	assert_true(now_ms() - t0 >= 250);
	assert_true(j.took_ms < 2500);
	t0 = now_ms();
	fix_shutdown(&f);
	assert_true(now_ms() - t0 < 1500);
	nfs4_open_put(f.c, op);
	fix_stop(&f);
}

/*
 * A server that keeps failing gets a bounded number of calls: over one
 * second of status (DELAY, BADSESSION, STALE_CLIENTID) or dropped
 * connections, a handful of compounds, not thousands.  After it recovers,
 * the hard-mount call completes.
 */
static void failing_server(enum fsrv_act act, uint32_t status, unsigned int max_calls)
{
	struct fix f;
	struct nfs4_open *op;
	struct job j = {0};
	unsigned int from, n;
	long t0;

	fix_start(&f, NULL);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	from = fsrv_ncalls(f.s);
	fsrv_rule(f.s, OP_READ, 0, 0, act, status);
	t0 = now_ms();
	job_start(&j, &f, J_READ, &cr1, op);
	/* One second of failures (the condition below never comes true early). */
	{
		unsigned int never = UINT32_MAX;

		fsrv_wait(f.s, pred_ncalls, &never, 1000);
	}
	n = fsrv_ncalls(f.s) - from;
	fsrv_clear_rules(f.s);
	job_finish(&j, 7000, "READ after the server recovered");
	assert_int_equal(j.rc, 0);
	if (n > max_calls)
		fail_msg("%u calls in %ld ms to a failing server (act %d status %u)", n,
			 now_ms() - t0, act, status);
	nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_READ);
	fix_stop(&f);
}

static void test_storm_delay(void **unused)
{
	(void)unused;
	failing_server(FA_OP_STATUS, NFS4ERR_DELAY, 12);
}

static void test_storm_badsession(void **unused)
{
	(void)unused;
	failing_server(FA_SEQ_STATUS, NFS4ERR_BADSESSION, 20);
}

static void test_storm_stale_clientid(void **unused)
{
	(void)unused;
	failing_server(FA_SEQ_STATUS, NFS4ERR_STALE_CLIENTID, 30);
}

static void test_storm_drop(void **unused)
{
	(void)unused;
	failing_server(FA_DROP_BEFORE, 0, 12);
}

/*
 * soft: a silent server fails a call with EIO (softerr: ETIMEDOUT) after
 * about timeo x (retrans + 1), and the next call works once it answers.
 */
static void soft_mount(bool softerr)
{
	struct fix f;
	struct nfs4_open *op;
	struct job j = {0};
	struct fix_opts o = {.timeo_ds = 3, .retrans = 1, .soft = true, .softerr = softerr};
	char buf[17];

	fix_start(&f, &o);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	fsrv_set_silent(f.s, true);
	job_start(&j, &f, J_READ, &cr1, op);
	job_finish(&j, 4000, "soft READ on a silent server");
	assert_int_equal(j.rc, softerr ? -ETIMEDOUT : -EIO);
	assert_true(j.took_ms >= 500);
	fsrv_set_silent(f.s, false);
	assert_int_equal(read16(&f, op, buf), 0);
	assert_memory_equal(buf, "AAAAAAAAAAAAAAAA", 16);
	assert_int_equal(read16(&f, op, buf), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_READ), 0);
	fix_stop(&f);
}

static void test_soft_eio(void **unused)
{
	(void)unused;
	soft_mount(false);
}

static void test_softerr_etimedout(void **unused)
{
	(void)unused;
	soft_mount(true);
}

/* CONN_NOT_BOUND_TO_SESSION: BIND_CONN_TO_SESSION, then the call again. */
static void test_conn_not_bound(void **unused)
{
	struct fix f;
	struct nfs4_open *op;
	unsigned int from;
	char buf[17];

	(void)unused;
	fix_start(&f, NULL);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	from = fsrv_ncalls(f.s);
	fsrv_rule(f.s, OP_READ, 0, 1, FA_SEQ_STATUS, NFS4ERR_CONN_NOT_BOUND_TO_SESSION);
	assert_int_equal(read16(&f, op, buf), 0);
	assert_int_equal(count_status(&f, OP_BIND_CONN_TO_SESSION, from, NFS4_OK), 1);
	assert_int_equal(fsrv_count(f.s, OP_CREATE_SESSION, from), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_READ), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

/* An OPEN answered GRACE waits (backing off) and succeeds afterwards. */
static void test_open_grace_retry(void **unused)
{
	struct fix f;
	struct job j = {0};
	unsigned int from;

	(void)unused;
	fix_start(&f, NULL);
	from = fsrv_ncalls(f.s);
	fsrv_rule(f.s, OP_OPEN, 0, 3, FA_OP_STATUS, NFS4ERR_GRACE);
	j.share = OPEN4_SHARE_ACCESS_READ;
	job_start(&j, &f, J_OPEN, &cr1, NULL);
	job_finish(&j, 5000, "OPEN through GRACE");
	assert_int_equal(j.rc, 0);
	assert_int_equal(fsrv_count(f.s, OP_OPEN, from), 4);
	assert_int_equal(nfs4_open_release(f.c, &cr1, j.op, OPEN4_SHARE_ACCESS_READ), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

/* ---- more cases ---- */

static bool cancel_flag;
static pthread_mutex_t cancel_mu = PTHREAD_MUTEX_INITIALIZER;

static bool is_cancelled(void *arg)
{
	bool v;

	(void)arg;
	pthread_mutex_lock(&cancel_mu);
	v = cancel_flag;
	pthread_mutex_unlock(&cancel_mu);
	return v;
}

static void set_cancel(bool v)
{
	pthread_mutex_lock(&cancel_mu);
	cancel_flag = v;
	pthread_mutex_unlock(&cancel_mu);
}

/*
 * A caller interrupted (FUSE_INTERRUPT) while the server sits on its READ
 * gets -EINTR at once; the slot it leaves is probed before its next use,
 * and the next READ on it goes out on the following sequence id.
 */
static void test_interrupted_caller_slot_reuse(void **unused)
{
	struct fix f;
	struct nfs4_open *op;
	struct job j = {0};
	struct rpc_cred icr = cr1;
	unsigned int from, want;
	char buf[17];
	int r1, probe, r2;
	struct fsrv_call c1, cp, c2;

	(void)unused;
	fix_start(&f, NULL);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	icr.cancelled = is_cancelled;
	set_cancel(false);
	from = fsrv_ncalls(f.s);
	fsrv_set_silent(f.s, true);
	job_start(&j, &f, J_READ, &icr, op);
	want = from + 1;
	assert_true(fsrv_wait(f.s, pred_ncalls, &want, WAIT_MS));
	set_cancel(true);
	job_finish(&j, 2000, "interrupted READ");
	set_cancel(false);
	assert_int_equal(j.rc, -EINTR);
	assert_true(j.took_ms < 1500);
	fsrv_set_silent(f.s, false);
	assert_int_equal(read16(&f, op, buf), 0);
	assert_memory_equal(buf, "AAAAAAAAAAAAAAAA", 16);
	r1 = find_call(&f, OP_READ, from);
	r2 = find_call(&f, OP_READ, (unsigned int)r1 + 1);
	probe = find_call(&f, FSRV_LONE_SEQ, (unsigned int)r1 + 1);
	assert_true(r1 >= 0 && probe > r1 && r2 > probe);
	fsrv_lock(f.s);
	c1 = f.s->log[r1];
	cp = f.s->log[probe];
	c2 = f.s->log[r2];
	fsrv_unlock(f.s);
	assert_int_equal(cp.slot, c1.slot);
	assert_int_equal(cp.seqid, c1.seqid);
	assert_false(cp.replay); /* the server never ran the interrupted READ */
	assert_int_equal(c2.slot, c1.slot);
	assert_int_equal(c2.seqid, c1.seqid + 1);
	assert_int_equal(c2.status, NFS4_OK);
	assert_int_equal(nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_READ), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

/* BADSLOT: the call goes again on a slot the server has; no new session. */
static void test_badslot(void **unused)
{
	struct fix f;
	struct nfs4_open *op;
	unsigned int from;
	char buf[17];

	(void)unused;
	fix_start(&f, NULL);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	from = fsrv_ncalls(f.s);
	fsrv_rule(f.s, OP_READ, 0, 1, FA_SEQ_STATUS, NFS4ERR_BADSLOT);
	assert_int_equal(read16(&f, op, buf), 0);
	assert_int_equal(fsrv_count(f.s, OP_READ, from), 2);
	assert_int_equal(fsrv_count(f.s, OP_CREATE_SESSION, from), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_READ), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

/* An idle mount whose server went silent unmounts within ~3 s. */
static void test_shutdown_idle_server_silent(void **unused)
{
	struct fix f;
	struct fix_opts o = {.timeo_ds = 600, .retrans = 2};
	long t0, took;

	(void)unused;
	fix_start(&f, &o);
	fsrv_set_silent(f.s, true);
	t0 = now_ms();
	fix_shutdown(&f);
	took = now_ms() - t0;
	if (took > 3000)
		fail_msg("shutdown took %ld ms with the server silent", took);
	fix_stop(&f);
}

/*
 * A restart while four threads read: one new client id, one CLAIM_PREVIOUS
 * per open (not per thread), RECLAIM_COMPLETE once, every read succeeds.
 */
static void test_restart_under_load(void **unused)
{
	struct fix f;
	struct nfs4_open *op;
	struct job j[4];
	unsigned int from;

	(void)unused;
	fix_start(&f, NULL);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	from = fsrv_ncalls(f.s);
	fsrv_rule(f.s, OP_READ, 20, 1, FA_RESTART, 0);
	memset(j, 0, sizeof(j));
	for (int i = 0; i < 4; i++) {
		j[i].loops = 20;
		job_start(&j[i], &f, J_READ_LOOP, &cr1, op);
	}
	for (int i = 0; i < 4; i++)
		job_finish(&j[i], WAIT_MS, "reads across a restart");
	for (int i = 0; i < 4; i++)
		assert_int_equal(j[i].rc, 0);
	assert_int_equal(fsrv_count(f.s, OP_EXCHANGE_ID, from), 1);
	assert_int_equal(count_status(&f, OP_RECLAIM_COMPLETE, from, NFS4_OK), 1);
	{
		unsigned int nprev = 0;

		fsrv_lock(f.s);
		for (unsigned int i = from; i < f.s->ncalls; i++)
			if (fsrv_call_has(&f.s->log[i], OP_OPEN) &&
			    f.s->log[i].claim == CLAIM_PREVIOUS)
				nprev++;
		fsrv_unlock(f.s);
		assert_int_equal(nprev, 1);
	}
	assert_int_equal(count_status(&f, FSRV_ANY, from, NFS4ERR_GRACE), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_READ), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

/*
 * An exclusive create whose reply was lost with the connection, on a
 * server without a reply cache across connections (EFS): the re-sent
 * GUARDED4 OPEN meets EEXIST, the file is found to be ours and opened.
 */
static void exclusive_create_resent(bool drc_per_conn)
{
	struct fix f;
	struct nfs4_open *op = NULL;
	struct nfs4_sattr sa = {.set = NFS4_SET_MODE, .mode = 0644};
	struct nfs4_attr attr;
	unsigned int from;
	uint32_t file;
	int rc;

	fix_start(&f, NULL);
	f.s->drc_per_conn = drc_per_conn;
	from = fsrv_ncalls(f.s);
	fsrv_rule(f.s, OP_OPEN, 0, 1, FA_DROP_AFTER, 0);
	rc = nfs4_open_by_name(f.c, &cr1, &f.root, "created", OPEN4_SHARE_ACCESS_BOTH, true, true,
			       &sa, &op, &attr, NULL);
	assert_int_equal(rc, 0);
	assert_true(count_status(&f, OP_OPEN, from, NFS4ERR_EXIST) >= 1);
	fsrv_lock(f.s);
	file = fsrv_file_locked(f.s, "created");
	fsrv_unlock(f.s);
	assert_int_equal(open_states(&f, file, NULL), 1);
	assert_int_equal(write16(&f, op, "created-for-sure"), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_int_equal(open_states(&f, file, NULL), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

static void test_exclusive_create_resent_no_drc(void **unused)
{
	(void)unused;
	exclusive_create_resent(true);
}

static void test_exclusive_create_resent_drc(void **unused)
{
	(void)unused;
	exclusive_create_resent(false);
}

/* BAD_STATEID on a READ through an open without locks: opened again, read again. */
static void test_bad_stateid_reopen(void **unused)
{
	struct fix f;
	struct nfs4_open *op;
	unsigned int from;
	char buf[17];
	int rd, reopen;

	(void)unused;
	fix_start(&f, NULL);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	from = fsrv_ncalls(f.s);
	fsrv_rule(f.s, OP_READ, 0, 1, FA_OP_STATUS, NFS4ERR_BAD_STATEID);
	assert_int_equal(read16(&f, op, buf), 0);
	assert_memory_equal(buf, "AAAAAAAAAAAAAAAA", 16);
	rd = find_call(&f, OP_READ, from);
	reopen = find_call(&f, OP_OPEN, from);
	assert_true(rd >= 0 && reopen > rd);
	assert_int_equal(fsrv_count(f.s, OP_READ, from), 2);
	assert_false(nfs4_open_lost(op));
	fsrv_lock(f.s);
	for (unsigned int i = from; i < f.s->ncalls; i++)
		assert_false(f.s->log[i].anon_stateid);
	fsrv_unlock(f.s);
	assert_int_equal(nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_READ), 0);
	assert_int_equal(open_states(&f, f.ia, NULL), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

/*
 * After a restart the open is reclaimed but its lock is refused
 * (RECLAIM_BAD): the lock is lost, I/O through that open fails with EIO.
 */
static void test_lock_reclaim_refused(void **unused)
{
	struct fix f;
	struct nfs4_open *a, *b;
	struct nfs4_lock_denied d;
	char buf[17];

	(void)unused;
	fix_start(&f, NULL);
	a = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_BOTH);
	b = open_fh(&f, &cr1, &f.fb, OPEN4_SHARE_ACCESS_BOTH);
	assert_int_equal(nfs4_lock_open(f.c, &cr1, a, 4, WRITE_LT, 0, 8, &d), 0);
	fsrv_restart(f.s, true);
	fsrv_rule(f.s, OP_LOCK, 0, 1, FA_OP_STATUS, NFS4ERR_RECLAIM_BAD);
	assert_int_equal(read16(&f, b, buf), 0);
	assert_memory_equal(buf, "BBBBBBBBBBBBBBBB", 16);
	assert_int_equal(count_status(&f, OP_LOCK, 0, NFS4ERR_RECLAIM_BAD), 1);
	assert_true(nfs4_open_lost(a));
	assert_int_equal(read16(&f, a, buf), -EIO);
	assert_int_equal(write16(&f, a, "must-not-arrive!"), -EIO);
	fsrv_lock(f.s);
	assert_memory_equal(f.s->data[f.ia], "AAAAAAAAAAAAAAAA", 16);
	fsrv_unlock(f.s);
	nfs4_open_release(f.c, &cr1, a, OPEN4_SHARE_ACCESS_BOTH);
	assert_int_equal(nfs4_open_release(f.c, &cr1, b, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

/*
 * The new session is lost again while the opens are being reclaimed: the
 * reclaim goes on in the next session, and no other request goes out
 * before RECLAIM_COMPLETE (it would get GRACE).
 */
static void test_session_lost_during_reclaim(void **unused)
{
	struct fix f;
	struct nfs4_open *a, *b;
	struct job j = {0};
	unsigned int from, nprev = 0;
	int rc_i, first_grace;
	char buf[17];

	(void)unused;
	fix_start(&f, NULL);
	a = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_BOTH);
	b = open_fh(&f, &cr2, &f.fb, OPEN4_SHARE_ACCESS_READ);
	from = fsrv_ncalls(f.s);
	fsrv_restart(f.s, true);
	/* The second reclaim OPEN finds its session gone. */
	fsrv_rule(f.s, OP_OPEN, 1, 1, FA_KILL_SESSIONS, 0);
	j.loops = 5;
	job_start(&j, &f, J_READ_LOOP, &cr1, a);
	assert_int_equal(read16(&f, b, buf), 0);
	job_finish(&j, WAIT_MS, "reads across a reclaim that lost its session");
	assert_int_equal(j.rc, 0);
	rc_i = find_call(&f, OP_RECLAIM_COMPLETE, from);
	assert_true(rc_i >= 0);
	first_grace = -1;
	fsrv_lock(f.s);
	for (unsigned int i = from; i < f.s->ncalls; i++) {
		if (f.s->log[i].status == NFS4ERR_GRACE && first_grace < 0)
			first_grace = (int)i;
		if (fsrv_call_has(&f.s->log[i], OP_OPEN) && f.s->log[i].claim == CLAIM_PREVIOUS &&
		    f.s->log[i].status == NFS4_OK)
			nprev++;
	}
	fsrv_unlock(f.s);
	assert_int_equal(nprev, 2);
	if (first_grace >= 0)
		fail_msg("call %d was answered GRACE (RECLAIM_COMPLETE at %d)", first_grace, rc_i);
	assert_int_equal(nfs4_open_release(f.c, &cr1, a, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr2, b, OPEN4_SHARE_ACCESS_READ), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

static unsigned int lock_states(struct fix *f, uint32_t file)
{
	unsigned int n = 0;

	fsrv_lock(f->s);
	for (int i = 0; i < FSRV_MAX_STATES; i++)
		if (f->s->states[i].used && f->s->states[i].kind == 2 &&
		    f->s->states[i].file == file && f->s->states[i].nranges)
			n++;
	fsrv_unlock(f->s);
	return n;
}

/*
 * The restart is noticed by the CLOSE (and LOCKU) of the last release:
 * after the reclaim they go with the reclaimed stateids, so that the server
 * is left with no open or lock state of ours.
 */
static void test_close_across_restart(void **unused)
{
	struct fix f;
	struct nfs4_open *a, *b;
	struct nfs4_lock_denied d;

	(void)unused;
	fix_start(&f, NULL);
	a = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_BOTH);
	b = open_fh(&f, &cr1, &f.fb, OPEN4_SHARE_ACCESS_BOTH);
	assert_int_equal(nfs4_lock_open(f.c, &cr1, a, 4, WRITE_LT, 0, 8, &d), 0);
	fsrv_restart(f.s, true);
	assert_int_equal(nfs4_open_release(f.c, &cr1, a, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_int_equal(fsrv_count(f.s, OP_RECLAIM_COMPLETE, 0), 2);
	assert_int_equal(lock_states(&f, f.ia), 0);
	assert_int_equal(open_states(&f, f.ia, NULL), 0);
	/* b was reclaimed and is still open; its downgrade works on the new stateid. */
	assert_int_equal(open_states(&f, f.ib, NULL), 1);
	assert_int_equal(nfs4_open_release(f.c, &cr1, b, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_int_equal(open_states(&f, f.ib, NULL), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

/* The same for an open without locks: its CLOSE is the call that meets the restart. */
static void test_close_unlocked_across_restart(void **unused)
{
	struct fix f;
	struct nfs4_open *b;

	(void)unused;
	fix_start(&f, NULL);
	b = open_fh(&f, &cr1, &f.fb, OPEN4_SHARE_ACCESS_BOTH);
	fsrv_restart(f.s, true);
	assert_int_equal(nfs4_open_release(f.c, &cr1, b, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_int_equal(fsrv_count(f.s, OP_RECLAIM_COMPLETE, 0), 2);
	if (open_states(&f, f.ib, NULL))
		fail_msg("the reclaimed open is left on the server after its CLOSE");
	assert_server_clean(&f);
	fix_stop(&f);
}

/* An unlock that meets the restart: the reclaimed lock is released on the server. */
static void test_unlock_across_restart(void **unused)
{
	struct fix f;
	struct nfs4_open *a, *a2;
	struct nfs4_lock_denied d;

	(void)unused;
	fix_start(&f, NULL);
	a = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_BOTH);
	a2 = open_fh(&f, &cr2, &f.fa, OPEN4_SHARE_ACCESS_BOTH);
	assert_int_equal(nfs4_lock_open(f.c, &cr1, a, 4, WRITE_LT, 0, 8, &d), 0);
	fsrv_restart(f.s, true);
	assert_int_equal(nfs4_unlock_open(f.c, &cr1, a, 4, 0, 8), 0);
	assert_int_equal(fsrv_count(f.s, OP_RECLAIM_COMPLETE, 0), 2);
	if (lock_states(&f, f.ia))
		fail_msg("the reclaimed lock is still held on the server after the unlock");
	assert_int_equal(nfs4_lock_open(f.c, &cr2, a2, 5, WRITE_LT, 0, 8, &d), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr2, a2, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_int_equal(nfs4_open_release(f.c, &cr1, a, OPEN4_SHARE_ACCESS_BOTH), 0);
	assert_int_equal(open_states(&f, f.ia, NULL), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

static bool pred_lone_seq(struct fsrv *s, void *arg)
{
	unsigned int from = *(unsigned int *)arg;

	for (unsigned int i = from; i < s->ncalls; i++)
		if (s->log[i].nops == 1 && s->log[i].has_seq)
			return true;
	return false;
}

/*
 * An idle client renews its lease (a lone SEQUENCE within lease/3), and a
 * renewer whose SEQUENCE keeps failing does not storm the server.
 */
static void test_lease_renewal(void **unused)
{
	struct fix f;
	struct fix_opts o = {.lease = 2};
	unsigned int from, n, never = UINT32_MAX;
	long t0;

	(void)unused;
	fix_start(&f, &o);
	assert_int_equal(nfs4_client_lease_time(f.c), 2);
	from = fsrv_ncalls(f.s);
	t0 = now_ms();
	assert_true(fsrv_wait(f.s, pred_lone_seq, &from, 3000));
	assert_true(now_ms() - t0 < 2000); /* within the lease */
	from = fsrv_ncalls(f.s);
	fsrv_rule(f.s, FSRV_LONE_SEQ, 0, 0, FA_SEQ_STATUS, NFS4ERR_BADSESSION);
	fsrv_wait(f.s, pred_ncalls, &never, 1500);
	n = fsrv_ncalls(f.s) - from;
	fsrv_clear_rules(f.s);
	if (n > 16)
		fail_msg("%u calls in 1.5 s from the lease renewer to a failing server", n);
	assert_server_clean(&f);
	fix_stop(&f);
}

/*
 * Our state cannot be reclaimed (NO_GRACE) but the server is still in its
 * grace period for other clients: the open without locks is opened again
 * once the grace period ends (GRACE is waited out), not declared lost.
 */
static void test_reopen_waits_out_grace(void **unused)
{
	struct fix f;
	struct nfs4_open *b;
	struct job j = {0};
	unsigned int from;

	(void)unused;
	fix_start(&f, NULL);
	b = open_fh(&f, &cr1, &f.fb, OPEN4_SHARE_ACCESS_READ);
	from = fsrv_ncalls(f.s);
	fsrv_restart_others_grace(f.s, 400);
	job_start(&j, &f, J_READ, &cr1, b);
	job_finish(&j, 5000, "READ after a restart in another client's grace period");
	assert_int_equal(j.rc, 0);
	assert_memory_equal(j.buf, "BBBBBBBBBBBBBBBB", 16);
	assert_false(nfs4_open_lost(b));
	assert_int_equal(count_status(&f, OP_OPEN, from, NFS4ERR_NO_GRACE), 1);
	assert_true(count_status(&f, OP_OPEN, from, NFS4_OK) >= 1);
	assert_int_equal(nfs4_open_release(f.c, &cr1, b, OPEN4_SHARE_ACCESS_READ), 0);
	assert_int_equal(open_states(&f, f.ib, NULL), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

/*
 * Four readers while the server, in turn, drops a connection after
 * executing a call, answers SEQ_MISORDERED, mismatches a reply, loses its
 * sessions, answers DELAY and lowers its target: every read completes with
 * the right data, no cached reply answers another request, no sequence id
 * is misordered.
 */
static void test_mixed_faults_under_load(void **unused)
{
	struct fix f;
	struct nfs4_open *op;
	struct job j[4];

	(void)unused;
	fix_start(&f, NULL);
	op = open_fh(&f, &cr1, &f.fa, OPEN4_SHARE_ACCESS_READ);
	fsrv_rule(f.s, OP_READ, 5, 1, FA_DROP_AFTER, 0);
	fsrv_rule(f.s, OP_READ, 12, 2, FA_SEQ_STATUS, NFS4ERR_SEQ_MISORDERED);
	fsrv_rule(f.s, OP_READ, 20, 1, FA_BAD_SEQID, 0);
	fsrv_rule(f.s, OP_READ, 28, 1, FA_KILL_SESSIONS, 0);
	fsrv_rule(f.s, OP_READ, 36, 2, FA_SEQ_STATUS, NFS4ERR_DELAY);
	fsrv_rule(f.s, OP_READ, 44, 1, FA_DROP_BEFORE, 0);
	fsrv_rule(f.s, FSRV_LONE_SEQ, 1, 1, FA_DROP_AFTER, 0);
	fsrv_set_target(f.s, 2);
	memset(j, 0, sizeof(j));
	for (int i = 0; i < 4; i++) {
		j[i].loops = 20;
		job_start(&j[i], &f, J_READ_LOOP, &cr1, op);
	}
	for (int i = 0; i < 4; i++)
		job_finish(&j[i], WAIT_MS, "reads under mixed faults");
	for (int i = 0; i < 4; i++)
		assert_int_equal(j[i].rc, 0);
	assert_int_equal(nfs4_open_release(f.c, &cr1, op, OPEN4_SHARE_ACCESS_READ), 0);
	assert_int_equal(open_states(&f, f.ia, NULL), 0);
	assert_server_clean(&f);
	fix_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_state_and_shutdown),
		cmocka_unit_test(test_interrupted_slot_cached),
		cmocka_unit_test(test_interrupted_slot_uncached_ganesha),
		cmocka_unit_test(test_interrupted_slot_uncached_nfsd),
		cmocka_unit_test(test_seq_misordered),
		cmocka_unit_test(test_wrong_slot_reply),
		cmocka_unit_test(test_wrong_seqid_reply),
		cmocka_unit_test(test_wrong_session_reply),
		cmocka_unit_test(test_badsession_many_in_flight),
		cmocka_unit_test(test_target_slot_changes),
		cmocka_unit_test(test_reclaim_after_restart),
		cmocka_unit_test(test_reclaim_after_stale_clientid),
		cmocka_unit_test(test_lost_lock),
		cmocka_unit_test(test_expired_stateid_with_lock),
		cmocka_unit_test(test_shutdown_server_silent),
		cmocka_unit_test(test_stop_deadline),
		cmocka_unit_test(test_storm_delay),
		cmocka_unit_test(test_storm_badsession),
		cmocka_unit_test(test_storm_stale_clientid),
		cmocka_unit_test(test_storm_drop),
		cmocka_unit_test(test_soft_eio),
		cmocka_unit_test(test_softerr_etimedout),
		cmocka_unit_test(test_conn_not_bound),
		cmocka_unit_test(test_open_grace_retry),
		cmocka_unit_test(test_interrupted_caller_slot_reuse),
		cmocka_unit_test(test_badslot),
		cmocka_unit_test(test_shutdown_idle_server_silent),
		cmocka_unit_test(test_restart_under_load),
		cmocka_unit_test(test_exclusive_create_resent_no_drc),
		cmocka_unit_test(test_exclusive_create_resent_drc),
		cmocka_unit_test(test_bad_stateid_reopen),
		cmocka_unit_test(test_lock_reclaim_refused),
		cmocka_unit_test(test_session_lost_during_reclaim),
		cmocka_unit_test(test_close_across_restart),
		cmocka_unit_test(test_close_unlocked_across_restart),
		cmocka_unit_test(test_unlock_across_restart),
		cmocka_unit_test(test_lease_renewal),
		cmocka_unit_test(test_reopen_waits_out_grace),
		cmocka_unit_test(test_mixed_faults_under_load),
	};

	/* NFS4_TEST_LOG=1: the client's log; NFS4_TEST_FILTER=pattern: some tests. */
	efs_log_set_level(getenv("NFS4_TEST_LOG") ? EFS_LOG_DEBUG : EFS_LOG_ERR - 1);
	if (getenv("NFS4_TEST_FILTER"))
		cmocka_set_test_filter(getenv("NFS4_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
