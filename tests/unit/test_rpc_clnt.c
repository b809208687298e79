/*
 * test_rpc_clnt.c - the RPC client against a scripted fake server on a
 * 127.0.0.1 ephemeral port (in this file).  The server thread reads
 * record-marked calls and either answers at once ("auto") or queues them for
 * the test to answer in any order, drop the connection, or send garbage.
 * Every wait is on a condition (with a generous deadline that fails the
 * test loudly), never a sleep.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "rpc/rpc_clnt.h"

#define PROG	    100003
#define VERS	    4
#define MAX_Q	    256
#define WAIT_MS	    10000 /* deadline for a condition that must come true */
#define RESULT(arg) ((arg)*2u + 1u)

/* ---- the fake server ---- */

struct fcall {
	uint32_t xid, proc, arg;
	size_t len; /* record length */
};

struct fsrv {
	int lfd;
	unsigned int port;
	pthread_t th;
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond;
	int cfd;		    /* current connection or -1 */
	unsigned int conns, closed; /* accepted / finished connections */
	bool auto_reply;	    /* answer each call at once */
	unsigned int ncalls;	    /* calls received in total */
	struct fcall q[MAX_Q];	    /* calls waiting for the test */
	unsigned int qn;
	char bad[160]; /* first malformed call seen, if any */
	uint32_t flavor, uid, gid, ngroups, groups[16];
	char machine[256];
};

static void deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait (lock held) until cond holds; fail the test after WAIT_MS. */
#define WAIT_LOCKED(lk, cv, pred)                                                               \
	do {                                                                                    \
		struct timespec dl_;                                                            \
		deadline(&dl_, WAIT_MS);                                                        \
		while (!(pred)) {                                                               \
			if (pthread_cond_timedwait((cv), (lk), &dl_) == ETIMEDOUT && !(pred)) { \
				pthread_mutex_unlock(lk);                                       \
				fail_msg("timed out waiting for %s", #pred);                    \
			}                                                                       \
		}                                                                               \
	} while (0)

#define SRV_WAIT(s, pred)                                  \
	do {                                               \
		pthread_mutex_lock(&(s)->lock);            \
		WAIT_LOCKED(&(s)->lock, &(s)->cond, pred); \
		pthread_mutex_unlock(&(s)->lock);          \
	} while (0)

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static size_t put32(uint8_t *p, size_t off, uint32_t v)
{
	p[off] = v >> 24;
	p[off + 1] = v >> 16;
	p[off + 2] = v >> 8;
	p[off + 3] = v;
	return off + 4;
}

/* Accepted reply body (no record mark): 8-byte verifier, stat, result. */
static size_t build_reply(uint8_t *p, uint32_t xid, uint32_t stat, uint32_t result)
{
	size_t o = 0;

	o = put32(p, o, xid);
	o = put32(p, o, 1); /* REPLY */
	o = put32(p, o, 0); /* MSG_ACCEPTED */
	o = put32(p, o, 0); /* verifier flavor */
	o = put32(p, o, 8); /* verifier body, skipped by the client */
	o = put32(p, o, 0x11111111);
	o = put32(p, o, 0x22222222);
	o = put32(p, o, stat);
	o = put32(p, o, result);
	return o;
}

/* Lock held. */
static void srv_send_locked(struct fsrv *s, const void *p, size_t len)
{
	if (s->cfd >= 0)
		write_full(s->cfd, p, len);
}

static void srv_reply_stat_locked(struct fsrv *s, uint32_t xid, uint32_t stat, uint32_t result)
{
	uint8_t b[64];
	size_t n = build_reply(b + 4, xid, stat, result);

	rpc_rm_put_header(b, (uint32_t)n, true);
	srv_send_locked(s, b, n + 4);
}

static void srv_reply(struct fsrv *s, uint32_t xid, uint32_t result)
{
	pthread_mutex_lock(&s->lock);
	srv_reply_stat_locked(s, xid, 0, result);
	pthread_mutex_unlock(&s->lock);
}

static void srv_raw(struct fsrv *s, const void *p, size_t len)
{
	pthread_mutex_lock(&s->lock);
	srv_send_locked(s, p, len);
	pthread_mutex_unlock(&s->lock);
}

static void srv_set_auto(struct fsrv *s, bool on)
{
	pthread_mutex_lock(&s->lock);
	s->auto_reply = on;
	pthread_mutex_unlock(&s->lock);
}

static void srv_drop(struct fsrv *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->cfd >= 0)
		shutdown(s->cfd, SHUT_RDWR);
	pthread_mutex_unlock(&s->lock);
}

/* Wait for n queued calls and take them, oldest first. */
static void srv_take(struct fsrv *s, unsigned int n, struct fcall *out)
{
	pthread_mutex_lock(&s->lock);
	WAIT_LOCKED(&s->lock, &s->cond, s->qn >= n);
	memcpy(out, s->q, n * sizeof(*out));
	memmove(s->q, s->q + n, (s->qn - n) * sizeof(*out));
	s->qn -= n;
	pthread_mutex_unlock(&s->lock);
}

static void srv_note_bad(struct fsrv *s, const char *why)
{
	if (!s->bad[0])
		snprintf(s->bad, sizeof(s->bad), "%s", why);
}

/* Parse one call record (lock held). */
static void srv_handle(struct fsrv *s, const uint8_t *rec, size_t len)
{
	struct xdr x;
	uint32_t xid, mtype, rpcvers, prog, vers, proc, flavor, blen, vflavor, vlen, arg = 0;
	unsigned int i;

	xdr_init_decode(&x, rec, len);
	if (xdr_get_u32(&x, &xid) || xdr_get_u32(&x, &mtype) || xdr_get_u32(&x, &rpcvers) ||
	    xdr_get_u32(&x, &prog) || xdr_get_u32(&x, &vers) || xdr_get_u32(&x, &proc) ||
	    xdr_get_u32(&x, &flavor) || xdr_get_u32(&x, &blen)) {
		srv_note_bad(s, "truncated call header");
		return;
	}
	if (mtype != 0 || rpcvers != 2 || prog != PROG || vers != VERS)
		srv_note_bad(s, "bad call header fields");
	s->flavor = flavor;
	if (flavor == 1) {
		size_t end = x.pos + blen;
		uint32_t stamp;

		if (xdr_get_u32(&x, &stamp) || xdr_get_string(&x, s->machine, sizeof(s->machine)) ||
		    xdr_get_u32(&x, &s->uid) || xdr_get_u32(&x, &s->gid) ||
		    xdr_get_u32(&x, &s->ngroups) || s->ngroups > 16) {
			srv_note_bad(s, "bad AUTH_SYS body");
			return;
		}
		for (i = 0; i < s->ngroups; i++)
			if (xdr_get_u32(&x, &s->groups[i]))
				srv_note_bad(s, "truncated groups");
		if (x.pos != end)
			srv_note_bad(s, "AUTH_SYS body length does not match its contents");
	} else if (xdr_skip(&x, XDR_PAD(blen))) {
		srv_note_bad(s, "truncated credential");
		return;
	}
	if (xdr_get_u32(&x, &vflavor) || xdr_get_u32(&x, &vlen) || vflavor != 0 || vlen != 0)
		srv_note_bad(s, "verifier is not AUTH_NONE");
	if (xdr_remaining(&x) >= 4)
		xdr_get_u32(&x, &arg);
	s->ncalls++;
	if (s->auto_reply) {
		srv_reply_stat_locked(s, xid, 0, RESULT(arg));
	} else if (s->qn < MAX_Q) {
		s->q[s->qn++] = (struct fcall){xid, proc, arg, len};
	} else {
		srv_note_bad(s, "queue overflow");
	}
}

static void srv_serve(struct fsrv *s, int fd)
{
	for (;;) {
		uint8_t h[4];
		uint32_t v;
		uint8_t *rec;

		if (read_full(fd, h, 4))
			return;
		v = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
		if (!(v & RPC_RM_LAST) || (v & ~RPC_RM_LAST) > (8u << 20)) {
			pthread_mutex_lock(&s->lock);
			srv_note_bad(s, "call not sent as one last fragment");
			pthread_mutex_unlock(&s->lock);
			return;
		}
		v &= ~RPC_RM_LAST;
		rec = malloc(v ? v : 1);
		if (!rec || read_full(fd, rec, v)) {
			free(rec);
			return;
		}
		pthread_mutex_lock(&s->lock);
		srv_handle(s, rec, v);
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		free(rec);
	}
}

static void *srv_main(void *arg)
{
	struct fsrv *s = arg;

	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL; /* listening socket shut down */
		}
		pthread_mutex_lock(&s->lock);
		s->cfd = fd;
		s->conns++;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		srv_serve(s, fd);
		pthread_mutex_lock(&s->lock);
		s->cfd = -1;
		s->qn = 0; /* the calls of that connection are gone */
		s->closed++;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		close(fd);
	}
}

static struct fsrv *srv_start(void)
{
	struct fsrv *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t slen = sizeof(sa);
	int one = 1;

	assert_non_null(s);
	s->cfd = -1;
	s->auto_reply = true;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 8), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &slen), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
	return s;
}

static void srv_stop(struct fsrv *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	srv_drop(s);
	pthread_join(s->th, NULL);
	close(s->lfd);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

/* Async completions. */
struct done_rec {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int n;
	int err[MAX_Q];
	uint32_t res[MAX_Q];
	bool called[MAX_Q], twice;
	bool on_submitter; /* a done() ran on a thread that submitted calls */
	pthread_t submitters[16];
	unsigned int nsub;
};

struct done_slot {
	struct done_rec *r;
	unsigned int idx;
};

static void done_init(struct done_rec *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
}

static void done_fini(struct done_rec *r)
{
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
}

/* ---- client side fixtures ---- */

struct fix {
	struct fsrv *s;
	struct rpc_clnt *c;
	pthread_mutex_t lock; /* gens, ngens, nresolve */
	unsigned int gens[16], ngens, nresolve;
	int resolve_err;
	struct done_rec *r; /* async completions; destroyed after the client */
};

static const struct rpc_cred cred = {.uid = 1000, .gid = 100, .ngroups = 3, .groups = {1, 2, 3}};

static void on_connect(void *arg, unsigned int gen)
{
	struct fix *f = arg;

	pthread_mutex_lock(&f->lock);
	if (f->ngens < 16)
		f->gens[f->ngens] = gen;
	f->ngens++;
	pthread_mutex_unlock(&f->lock);
}

static int resolve_loopback(void *arg, char *host, size_t hostsz)
{
	struct fix *f = arg;
	int err;

	pthread_mutex_lock(&f->lock);
	f->nresolve++;
	err = f->resolve_err;
	pthread_mutex_unlock(&f->lock);
	if (err)
		return err;
	snprintf(host, hostsz, "127.0.0.1");
	return 0;
}

static struct rpc_clnt *new_client(struct fix *f, const char *host, unsigned int port,
				   bool with_resolve)
{
	struct rpc_clnt_cfg cfg = {0};

	cfg.transport.host = host;
	cfg.transport.port = port;
	cfg.transport.connect_timeout_ms = 5000;
	cfg.prog = PROG;
	cfg.vers = VERS;
	cfg.max_record = 1 << 20;
	cfg.machinename = "testhost";
	cfg.on_connect = on_connect;
	cfg.on_connect_arg = f;
	if (with_resolve) {
		cfg.resolve = resolve_loopback;
		cfg.resolve_arg = f;
	}
	return rpc_clnt_new(&cfg);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	pthread_mutex_init(&f->lock, NULL);
	f->r = malloc(sizeof(*f->r));
	if (!f->r)
		return -1;
	done_init(f->r);
	f->s = srv_start();
	f->c = new_client(f, "127.0.0.1", f->s->port, false);
	if (!f->c)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	rpc_clnt_free(f->c); /* joins the receivers: no done() runs after this */
	srv_stop(f->s);
	done_fini(f->r);
	free(f->r);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return 0;
}

static void assert_server_happy(struct fix *f)
{
	pthread_mutex_lock(&f->s->lock);
	if (f->s->bad[0]) {
		pthread_mutex_unlock(&f->s->lock);
		fail_msg("fake server saw a malformed call: %s", f->s->bad);
	}
	pthread_mutex_unlock(&f->s->lock);
}

/* One sync call with argument arg; returns rc, *result on success. */
static int call_arg(struct rpc_clnt *c, uint32_t arg, uint32_t *result, int timeout_ms)
{
	uint8_t ab[4];
	struct xdr args;
	struct rpc_reply rep;
	int rc;

	xdr_init_encode(&args, ab, sizeof(ab));
	xdr_put_u32(&args, arg);
	rc = rpc_clnt_call(c, &cred, 1, &args, &rep, timeout_ms);
	if (rc)
		return rc;
	*result = 0;
	rc = xdr_get_u32(&rep.body, result);
	if (rc == 0 && xdr_remaining(&rep.body) != 0)
		rc = -EBADMSG;
	rpc_reply_free(&rep);
	return rc;
}

static void done_cb(void *arg, int err, struct rpc_reply *rep)
{
	struct done_slot *sl = arg;
	struct done_rec *r = sl->r;
	uint32_t v = 0;
	unsigned int i;

	if (err == 0 && (xdr_get_u32(&rep->body, &v) || xdr_remaining(&rep->body)))
		err = -EBADMSG;
	rpc_reply_free(rep);
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->nsub; i++)
		if (pthread_equal(pthread_self(), r->submitters[i]))
			r->on_submitter = true;
	if (r->called[sl->idx])
		r->twice = true;
	r->called[sl->idx] = true;
	r->err[sl->idx] = err;
	r->res[sl->idx] = v;
	r->n++;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void done_wait(struct done_rec *r, unsigned int n)
{
	pthread_mutex_lock(&r->lock);
	WAIT_LOCKED(&r->lock, &r->cond, r->n >= n);
	pthread_mutex_unlock(&r->lock);
}

static int async_arg(struct rpc_clnt *c, struct done_slot *sl, uint32_t arg)
{
	uint8_t ab[4];
	struct xdr args;

	xdr_init_encode(&args, ab, sizeof(ab));
	xdr_put_u32(&args, arg);
	return rpc_clnt_call_async(c, &cred, 1, &args, done_cb, sl);
}

/* Sync calls from worker threads. */
struct worker {
	pthread_t th;
	struct rpc_clnt *c;
	uint32_t base;
	unsigned int n;
	int timeout_ms;
	int rc[8];
	uint32_t res[8];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned int i;

	for (i = 0; i < w->n; i++)
		w->rc[i] = call_arg(w->c, w->base + i, &w->res[i], w->timeout_ms);
	return NULL;
}

static void worker_start(struct worker *w, struct rpc_clnt *c, uint32_t base, unsigned int n)
{
	memset(w, 0, sizeof(*w));
	w->c = c;
	w->base = base;
	w->n = n;
	assert_int_equal(pthread_create(&w->th, NULL, worker_main, w), 0);
}

/* ---- tests ---- */

static void test_roundtrip_and_cred(void **state)
{
	struct fix *f = *state;
	struct rpc_stats st;
	uint32_t r = 0, i;

	for (i = 0; i < 3; i++) {
		assert_int_equal(call_arg(f->c, 10 + i, &r, 5000), 0);
		assert_int_equal(r, RESULT(10 + i));
	}
	assert_server_happy(f);
	pthread_mutex_lock(&f->s->lock);
	assert_int_equal(f->s->flavor, 1);
	assert_string_equal(f->s->machine, "testhost");
	assert_int_equal(f->s->uid, 1000);
	assert_int_equal(f->s->gid, 100);
	assert_int_equal(f->s->ngroups, 3);
	assert_int_equal(f->s->groups[2], 3);
	assert_int_equal(f->s->conns, 1);
	pthread_mutex_unlock(&f->s->lock);
	rpc_clnt_get_stats(f->c, &st);
	assert_int_equal(st.calls, 3);
	assert_int_equal(st.replies, 3);
	assert_int_equal(st.reconnects, 0);
	/* each call: mark 4, header 24, cred flavor+length 8, stamp 4, "testhost" 4+8,
	 * uid+gid 8, 3 groups 4+12, verf 8, arg 4 */
	assert_int_equal(st.bytes_out, 3 * (4 + 24 + 8 + 4 + 12 + 8 + 16 + 8 + 4));
	assert_int_equal(st.bytes_in, 3 * (4 + 36));
	assert_int_equal(f->ngens, 1);
	assert_int_equal(f->gens[0], 1);
}

struct submitter {
	pthread_t th;
	struct rpc_clnt *c;
	struct done_slot *slots;
	unsigned int first, n;
	int rc;
	pthread_barrier_t *go;
};

static void *submitter_main(void *arg)
{
	struct submitter *sb = arg;
	unsigned int i;

	pthread_barrier_wait(sb->go);
	for (i = 0; i < sb->n; i++) {
		int rc = async_arg(sb->c, &sb->slots[sb->first + i], sb->first + i);

		if (rc)
			sb->rc = rc;
	}
	return NULL;
}

/* 64 async calls from 8 threads, all in flight, answered in reverse order. */
static void test_out_of_order_async(void **state)
{
	struct fix *f = *state;
	struct done_slot slots[64];
	struct submitter sb[8];
	struct done_rec *r = f->r;
	struct fcall q[64];
	pthread_barrier_t go;
	unsigned int i;
	uint32_t seen_xid[64];

	srv_set_auto(f->s, false);
	pthread_barrier_init(&go, NULL, 8);
	for (i = 0; i < 64; i++)
		slots[i] = (struct done_slot){r, i};
	for (i = 0; i < 8; i++) {
		sb[i] = (struct submitter){
			.c = f->c, .slots = slots, .first = 8 * i, .n = 8, .go = &go};
		assert_int_equal(pthread_create(&sb[i].th, NULL, submitter_main, &sb[i]), 0);
		r->submitters[r->nsub++] = sb[i].th;
	}
	for (i = 0; i < 8; i++) {
		pthread_join(sb[i].th, NULL);
		assert_int_equal(sb[i].rc, 0);
	}
	srv_take(f->s, 64, q);
	/* Nothing answered yet: every call is in flight at once. */
	pthread_mutex_lock(&r->lock);
	assert_int_equal(r->n, 0);
	pthread_mutex_unlock(&r->lock);
	for (i = 0; i < 64; i++) {
		unsigned int j;

		seen_xid[i] = q[i].xid;
		for (j = 0; j < i; j++)
			assert_int_not_equal(seen_xid[j], q[i].xid);
	}
	for (i = 64; i-- > 0;)
		srv_reply(f->s, q[i].xid, RESULT(q[i].arg));
	done_wait(r, 64);
	for (i = 0; i < 64; i++) {
		assert_true(r->called[i]);
		assert_int_equal(r->err[i], 0);
		assert_int_equal(r->res[i], RESULT(i));
	}
	assert_false(r->twice);
	assert_false(r->on_submitter);
	assert_server_happy(f);
	pthread_barrier_destroy(&go);
}

/* 8 threads x 4 sync calls; each round of 8 answered in a scrambled order. */
static void test_out_of_order_sync_threads(void **state)
{
	static const unsigned int perm[8] = {5, 2, 7, 0, 3, 6, 1, 4};
	struct fix *f = *state;
	struct worker w[8];
	struct fcall q[8];
	struct rpc_stats st;
	unsigned int i, round;

	srv_set_auto(f->s, false);
	for (i = 0; i < 8; i++)
		worker_start(&w[i], f->c, 1000 * (i + 1), 4);
	for (round = 0; round < 4; round++) {
		srv_take(f->s, 8, q);
		for (i = 0; i < 8; i++)
			srv_reply(f->s, q[perm[i]].xid, RESULT(q[perm[i]].arg));
	}
	for (i = 0; i < 8; i++) {
		unsigned int k;

		pthread_join(w[i].th, NULL);
		for (k = 0; k < 4; k++) {
			assert_int_equal(w[i].rc[k], 0);
			assert_int_equal(w[i].res[k], RESULT(1000 * (i + 1) + k));
		}
	}
	rpc_clnt_get_stats(f->c, &st);
	assert_int_equal(st.calls, 32);
	assert_int_equal(st.replies, 32);
	assert_server_happy(f);
}

/* The server drops the connection with calls pending; the next call reconnects. */
static void test_drop_then_reconnect(void **state)
{
	struct fix *f = *state;
	struct worker w[4];
	struct done_slot slots[2];
	struct done_rec *r = f->r;
	struct fcall q[6];
	struct rpc_stats st;
	uint32_t res = 0;
	unsigned int i;

	srv_set_auto(f->s, false);
	for (i = 0; i < 4; i++)
		worker_start(&w[i], f->c, 100 * i, 1);
	for (i = 0; i < 2; i++) {
		slots[i] = (struct done_slot){r, i};
		assert_int_equal(async_arg(f->c, &slots[i], 7), 0);
	}
	srv_take(f->s, 6, q); /* all six reached the server */
	srv_drop(f->s);
	for (i = 0; i < 4; i++) {
		pthread_join(w[i].th, NULL);
		assert_int_equal(w[i].rc[0], -ECONNRESET);
	}
	done_wait(r, 2);
	assert_int_equal(r->err[0], -ECONNRESET);
	assert_int_equal(r->err[1], -ECONNRESET);
	assert_false(r->twice);

	srv_set_auto(f->s, true);
	assert_int_equal(call_arg(f->c, 77, &res, 5000), 0);
	assert_int_equal(res, RESULT(77));
	rpc_clnt_get_stats(f->c, &st);
	assert_int_equal(st.reconnects, 1);
	assert_int_equal(st.replies, 1);
	pthread_mutex_lock(&f->s->lock);
	assert_int_equal(f->s->conns, 2);
	pthread_mutex_unlock(&f->s->lock);
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->ngens, 2);
	assert_int_equal(f->gens[0], 1);
	assert_int_equal(f->gens[1], 2);
	pthread_mutex_unlock(&f->lock);
	assert_server_happy(f);
}

/* A record header announcing 2 GiB: the client drops the connection. */
static void test_huge_record_header(void **state)
{
	struct fix *f = *state;
	struct done_slot slot;
	struct done_rec *r = f->r;
	struct fcall q;
	uint32_t res = 0;
	struct rpc_stats st;

	srv_set_auto(f->s, false);
	slot = (struct done_slot){r, 0};
	assert_int_equal(async_arg(f->c, &slot, 5), 0);
	srv_take(f->s, 1, &q);
	srv_raw(f->s, "\xff\xff\xff\xff", 4);
	done_wait(r, 1);
	assert_int_equal(r->err[0], -ECONNRESET);
	/* the client closed its side */
	SRV_WAIT(f->s, f->s->closed == 1);
	srv_set_auto(f->s, true);
	assert_int_equal(call_arg(f->c, 6, &res, 5000), 0);
	assert_int_equal(res, RESULT(6));
	rpc_clnt_get_stats(f->c, &st);
	assert_int_equal(st.reconnects, 1);
}

/* A record just over max_record (1 MiB), sent in two fragments. */
static void test_oversize_fragments(void **state)
{
	struct fix *f = *state;
	struct done_slot slot;
	struct done_rec *r = f->r;
	struct fcall q;
	uint8_t h[4];
	uint8_t *junk = calloc(1, 600 * 1024);

	assert_non_null(junk);
	srv_set_auto(f->s, false);
	slot = (struct done_slot){r, 0};
	assert_int_equal(async_arg(f->c, &slot, 5), 0);
	srv_take(f->s, 1, &q);
	put32(junk, 0, q.xid);
	rpc_rm_put_header(h, 600 * 1024, false);
	srv_raw(f->s, h, 4);
	srv_raw(f->s, junk, 600 * 1024);
	rpc_rm_put_header(h, 600 * 1024, true);
	srv_raw(f->s, h, 4);
	done_wait(r, 1);
	assert_int_equal(r->err[0], -ECONNRESET);
	SRV_WAIT(f->s, f->s->closed == 1);
	free(junk);
}

/* Replies with an unknown xid and a record too short for an xid are ignored. */
static void test_unknown_xid_ignored(void **state)
{
	struct fix *f = *state;
	struct done_slot slot;
	struct done_rec *r = f->r;
	struct fcall q;
	uint8_t b[64];
	size_t n;
	struct rpc_stats st;

	srv_set_auto(f->s, false);
	slot = (struct done_slot){r, 0};
	assert_int_equal(async_arg(f->c, &slot, 9), 0);
	srv_take(f->s, 1, &q);
	n = build_reply(b + 4, q.xid ^ 0x5a5a5a5a, 0, 1234);
	rpc_rm_put_header(b, (uint32_t)n, true);
	srv_raw(f->s, b, n + 4);
	srv_raw(f->s, "\x80\x00\x00\x02\xab\xcd", 6);
	srv_reply(f->s, q.xid, RESULT(9));
	done_wait(r, 1);
	assert_int_equal(r->err[0], 0);
	assert_int_equal(r->res[0], RESULT(9));
	rpc_clnt_get_stats(f->c, &st);
	assert_int_equal(st.replies, 1);
	assert_int_equal(st.reconnects, 0);
	pthread_mutex_lock(&f->s->lock);
	assert_int_equal(f->s->conns, 1);
	pthread_mutex_unlock(&f->s->lock);
}

/* A call times out; its late reply is dropped; the connection stays usable. */
static void test_timeout_and_late_reply(void **state)
{
	struct fix *f = *state;
	struct fcall q;
	uint32_t res = 0;
	struct rpc_stats st;
	struct timespec t0, t1;
	long ms;

	srv_set_auto(f->s, false);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(call_arg(f->c, 3, &res, 150), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 140);
	srv_take(f->s, 1, &q);
	srv_reply(f->s, q.xid, 0xdead); /* late */
	srv_set_auto(f->s, true);
	assert_int_equal(call_arg(f->c, 4, &res, 5000), 0);
	assert_int_equal(res, RESULT(4));
	rpc_clnt_get_stats(f->c, &st);
	assert_int_equal(st.replies, 1);
	assert_int_equal(st.reconnects, 0);
}

/* Reply split into 3 fragments and written in small pieces. */
static void test_fragmented_reply(void **state)
{
	struct fix *f = *state;
	struct done_slot slot;
	struct done_rec *r = f->r;
	struct fcall q;
	uint8_t body[64], w[80];
	size_t n, o = 0, i;

	srv_set_auto(f->s, false);
	slot = (struct done_slot){r, 0};
	assert_int_equal(async_arg(f->c, &slot, 21), 0);
	srv_take(f->s, 1, &q);
	n = build_reply(body, q.xid, 0, RESULT(21)); /* 36 bytes: 5 + 20 + 11 */
	rpc_rm_put_header(w + o, 5, false);
	memcpy(w + o + 4, body, 5);
	o += 9;
	rpc_rm_put_header(w + o, 20, false);
	memcpy(w + o + 4, body + 5, 20);
	o += 24;
	rpc_rm_put_header(w + o, (uint32_t)(n - 25), true);
	memcpy(w + o + 4, body + 25, n - 25);
	o += 4 + n - 25;
	for (i = 0; i < o; i += 3)
		srv_raw(f->s, w + i, o - i < 3 ? o - i : 3);
	done_wait(r, 1);
	assert_int_equal(r->err[0], 0);
	assert_int_equal(r->res[0], RESULT(21));
}

/* RPC-level errors map to errno, and the connection stays up. */
static void test_reply_errors(void **state)
{
	struct fix *f = *state;
	struct worker w;
	struct fcall q;
	uint8_t b[32];
	size_t n = 0;

	srv_set_auto(f->s, false);
	worker_start(&w, f->c, 1, 3);
	srv_take(f->s, 1, &q);
	pthread_mutex_lock(&f->s->lock);
	srv_reply_stat_locked(f->s, q.xid, 3, 0); /* PROC_UNAVAIL */
	pthread_mutex_unlock(&f->s->lock);
	srv_take(f->s, 1, &q);
	n = put32(b, 4, q.xid);
	n = put32(b, n, 1); /* REPLY */
	n = put32(b, n, 1); /* MSG_DENIED */
	n = put32(b, n, 1); /* AUTH_ERROR */
	n = put32(b, n, 2); /* AUTH_REJECTEDCRED */
	rpc_rm_put_header(b, (uint32_t)(n - 4), true);
	srv_raw(f->s, b, n);
	srv_take(f->s, 1, &q);
	pthread_mutex_lock(&f->s->lock);
	srv_reply_stat_locked(f->s, q.xid, 5, 0); /* SYSTEM_ERR */
	pthread_mutex_unlock(&f->s->lock);
	pthread_join(w.th, NULL);
	assert_int_equal(w.rc[0], -EPROTONOSUPPORT);
	assert_int_equal(w.rc[1], -EACCES);
	assert_int_equal(w.rc[2], -EIO);
	pthread_mutex_lock(&f->s->lock);
	assert_int_equal(f->s->conns, 1);
	pthread_mutex_unlock(&f->s->lock);
}

/* Big arguments go out as one record (send2, no copy), reply matched. */
static void test_large_args(void **state)
{
	struct fix *f = *state;
	size_t big = 512 * 1024;
	struct xdr args;
	struct rpc_reply rep;
	struct rpc_stats st;
	uint32_t v = 0;

	assert_int_equal(xdr_alloc(&args, big), 0);
	xdr_put_u32(&args, 31);
	while (args.len < big)
		xdr_put_u32(&args, 0xabababab);
	assert_int_equal(rpc_clnt_call(f->c, &cred, 1, &args, &rep, 5000), 0);
	assert_int_equal(xdr_get_u32(&rep.body, &v), 0);
	assert_int_equal(v, RESULT(31));
	rpc_reply_free(&rep);
	rpc_clnt_get_stats(f->c, &st);
	assert_true(st.bytes_out > big);
	xdr_free_buf(&args);
	assert_server_happy(f);
}

struct big_worker {
	pthread_t th;
	struct rpc_clnt *c;
	int rc;
	size_t remaining;
	uint32_t first, sum; /* first result word, sum of the rest */
};

static void *big_worker_main(void *arg)
{
	struct big_worker *w = arg;
	struct rpc_reply rep;
	uint32_t v;

	w->rc = rpc_clnt_call(w->c, &cred, 1, NULL, &rep, 0);
	if (w->rc)
		return NULL;
	w->remaining = xdr_remaining(&rep.body);
	xdr_get_u32(&rep.body, &w->first);
	while (xdr_get_u32(&rep.body, &v) == 0)
		w->sum += v;
	rpc_reply_free(&rep);
	return NULL;
}

/* A 900 KiB reply in two fragments, written in odd pieces, arrives intact. */
static void test_large_reply(void **state)
{
	struct fix *f = *state;
	const size_t words = 900 * 256; /* results: 900 KiB */
	size_t hdr = 32, total = hdr + 4 * words, i, split = 300001, o;
	uint8_t *rec = malloc(total), h[4];
	struct big_worker w = {.c = f->c};
	struct fcall q;
	uint32_t sum = 0;

	assert_non_null(rec);
	srv_set_auto(f->s, false);
	assert_int_equal(pthread_create(&w.th, NULL, big_worker_main, &w), 0);
	srv_take(f->s, 1, &q);
	o = build_reply(rec, q.xid, 0, 0xfeedface);
	assert_int_equal(o, hdr + 4);
	for (i = 1; i < words; i++) {
		put32(rec, hdr + 4 * i, (uint32_t)i * 2654435761u);
		sum += (uint32_t)i * 2654435761u;
	}
	rpc_rm_put_header(h, (uint32_t)split, false);
	srv_raw(f->s, h, 4);
	for (o = 0; o < split; o += 70001)
		srv_raw(f->s, rec + o, split - o < 70001 ? split - o : 70001);
	rpc_rm_put_header(h, (uint32_t)(total - split), true);
	srv_raw(f->s, h, 4);
	srv_raw(f->s, rec + split, total - split);
	pthread_join(w.th, NULL);
	assert_int_equal(w.rc, 0);
	assert_int_equal(w.remaining, 4 * words);
	assert_int_equal(w.first, 0xfeedface);
	assert_int_equal(w.sum, sum);
	free(rec);
}

/* Replies whose header after the xid is random: each call ends, with an errno
 * from the documented set or 0, and the connection survives them all. */
static void test_garbage_replies(void **state)
{
	struct fix *f = *state;
	struct done_rec *r = f->r;
	struct done_slot slots[200];
	unsigned int seed = 12345, i;
	struct fcall q;

	srv_set_auto(f->s, false);
	for (i = 0; i < 200; i++) {
		uint8_t b[4 + 4 + 64];
		size_t n = 4 + rand_r(&seed) % 65, k;

		slots[i] = (struct done_slot){r, i};
		assert_int_equal(async_arg(f->c, &slots[i], i), 0);
		srv_take(f->s, 1, &q);
		put32(b, 4, q.xid);
		for (k = 8; k < 4 + n; k++)
			b[k] = (uint8_t)rand_r(&seed);
		if (i % 4 == 0 && n >= 16) /* often a valid REPLY/ACCEPTED prefix */
			memcpy(b + 8, "\0\0\0\1\0\0\0\0", 8);
		rpc_rm_put_header(b, (uint32_t)n, true);
		srv_raw(f->s, b, 4 + n);
		done_wait(r, i + 1);
		switch (r->err[i]) {
		case 0:
		case -EBADMSG:
		case -EPROTONOSUPPORT:
		case -EIO:
		case -EACCES:
			break;
		default:
			fail_msg("garbage reply %u gave %d", i, r->err[i]);
		}
	}
	pthread_mutex_lock(&f->s->lock);
	assert_int_equal(f->s->conns, 1);
	pthread_mutex_unlock(&f->s->lock);
	assert_false(r->twice);
}

/* rpc_clnt_disconnect() fails pending calls; the next call reconnects. */
static void test_disconnect(void **state)
{
	struct fix *f = *state;
	struct done_slot slot;
	struct done_rec *r = f->r;
	struct fcall q;
	uint32_t res = 0;
	struct rpc_stats st;

	srv_set_auto(f->s, false);
	slot = (struct done_slot){r, 0};
	assert_int_equal(async_arg(f->c, &slot, 1), 0);
	srv_take(f->s, 1, &q);
	rpc_clnt_disconnect(f->c);
	done_wait(r, 1);
	assert_int_equal(r->err[0], -ECONNRESET);
	srv_set_auto(f->s, true);
	assert_int_equal(call_arg(f->c, 2, &res, 5000), 0);
	assert_int_equal(res, RESULT(2));
	rpc_clnt_get_stats(f->c, &st);
	assert_int_equal(st.reconnects, 1);
}

/* rpc_clnt_free() with calls in flight: each done() runs once, with -ECONNRESET. */
static void test_free_fails_pending(void **state)
{
	struct fix *f = *state;
	struct done_slot slots[3];
	struct done_rec *r = f->r;
	struct fcall q[3];
	unsigned int i;

	srv_set_auto(f->s, false);
	for (i = 0; i < 3; i++) {
		slots[i] = (struct done_slot){r, i};
		assert_int_equal(async_arg(f->c, &slots[i], i), 0);
	}
	srv_take(f->s, 3, q);
	rpc_clnt_free(f->c);
	f->c = NULL;
	/* free() returned: every callback already ran */
	pthread_mutex_lock(&r->lock);
	assert_int_equal(r->n, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(r->err[i], -ECONNRESET);
	assert_false(r->twice);
	pthread_mutex_unlock(&r->lock);
	f->c = new_client(f, "127.0.0.1", f->s->port, false); /* for teardown */
	assert_non_null(f->c);
}

static unsigned int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t slen = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &slen), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* Nobody listening: a clear message and the errno, no retry loop. */
static void test_connect_refused(void **state)
{
	struct fix *f = *state;
	unsigned int port = free_port();
	struct rpc_clnt *c = new_client(f, "127.0.0.1", port, false);
	char err[256], want[256];
	uint32_t res;

	assert_non_null(c);
	assert_int_equal(rpc_clnt_connect(c, err, sizeof(err)), -ECONNREFUSED);
	snprintf(want, sizeof(want), "cannot connect to 127.0.0.1 port %u: Connection refused",
		 port);
	assert_string_equal(err, want);
	assert_int_equal(call_arg(c, 1, &res, 1000), -ECONNREFUSED);
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->ngens, 0);
	pthread_mutex_unlock(&f->lock);
	rpc_clnt_free(c);
}

/* cfg->resolve picks the address at every (re)connection. */
static void test_resolve_each_connect(void **state)
{
	struct fix *f = *state;
	struct rpc_clnt *c = new_client(f, "127.0.0.9", f->s->port, true);
	char err[256];
	uint32_t res = 0;

	assert_non_null(c);
	assert_int_equal(call_arg(c, 1, &res, 5000), 0);
	assert_int_equal(res, RESULT(1));
	rpc_clnt_disconnect(c);
	assert_int_equal(call_arg(c, 2, &res, 5000), 0);
	assert_int_equal(res, RESULT(2));
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->nresolve, 2);
	f->resolve_err = -EHOSTUNREACH;
	pthread_mutex_unlock(&f->lock);
	rpc_clnt_disconnect(c);
	assert_int_equal(rpc_clnt_connect(c, err, sizeof(err)), -EHOSTUNREACH);
	assert_non_null(strstr(err, "cannot resolve"));
	rpc_clnt_free(c);
}

static void test_bad_arguments(void **state)
{
	struct fix *f = *state;
	struct rpc_cred cr = {.ngroups = RPC_AUTH_SYS_MAX_GROUPS + 1};
	struct rpc_reply rep;

	assert_int_equal(rpc_clnt_call_async(f->c, &cred, 0, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(rpc_clnt_call(f->c, &cr, 0, NULL, &rep, 1000), -EINVAL);
	/* NULL args and AUTH_NONE work */
	assert_int_equal(rpc_clnt_call(f->c, NULL, 0, NULL, &rep, 5000), 0);
	assert_int_equal(xdr_remaining(&rep.body), 4); /* the fake's result word */
	rpc_reply_free(&rep);
	pthread_mutex_lock(&f->s->lock);
	assert_int_equal(f->s->flavor, 0);
	pthread_mutex_unlock(&f->s->lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_and_cred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_async, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_sync_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_then_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_record_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_fragments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_xid_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_and_late_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fragmented_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_fails_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_each_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
