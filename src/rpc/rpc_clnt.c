/*
 * rpc_clnt.c - the ONC RPC client: one record-marked stream connection with
 * many calls in flight, replies matched by xid (RFC 5531); see
 * include/rpc/rpc_clnt.h for the contract.
 *
 * Objects
 *  - struct rpc_conn: one transport plus its receiver thread.  The client
 *    holds a reference to the current one; each sender holds one while it
 *    writes.  A connection that broke (or was replaced) is "retired": its
 *    transport is shut down, its receiver fails the calls sent on it with
 *    -ECONNRESET and exits; the connection is reaped (thread joined,
 *    transport closed) once its receiver exited and nobody holds it.
 *  - struct rpc_call: one call waiting for its reply, in a hash table keyed
 *    by xid.  Sync calls live on the caller's stack and wait on their own
 *    condition variable; async calls are heap-allocated and freed after
 *    done() ran.
 *
 * Locks (order: conn_lock, then pend_lock; send_lock independent)
 *  - conn_lock:  conn, conns list, connecting/connect_seq/connect_err/msg,
 *                closing, gen, every conn's refs.
 *  - pend_lock:  the xid table, next_xid, every call's queued/completed/err/
 *                rep fields, every conn's dead flag.
 *  - send_lock:  serialises writes to the transport (one record at a time).
 *  The receiver thread takes only pend_lock, and none while calling done(),
 *  so done() may issue new calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "rpc/rpc_clnt.h"
#include "util/log.h"

#define RPC_HASH_SIZE	    256u
#define RPC_HDR_MAX	    512 /* record mark + call header + AUTH_SYS, rounded up */
#define RPC_RECV_CHUNK	    (64 * 1024)
#define RPC_DIRECT_MIN	    (8 * 1024) /* read fragments this big in place */
#define RPC_HOST_MAX	    256
#define RPC_DEFAULT_RECORD  (4u << 20)
#define RPC_CONNECT_RETRIES 3 /* fresh connections that die before a call is queued */

struct rpc_conn {
	struct rpc_clnt *clnt;
	struct transport *t;
	pthread_t rx;
	unsigned int gen;
	int refs;	       /* conn_lock */
	bool dead;	       /* pend_lock: receiver failed its calls, no new ones */
	bool broken;	       /* pend_lock: shut down, to be replaced */
	bool rx_exited;	       /* pend_lock: receiver thread finished */
	struct rpc_conn *next; /* conn_lock: clnt->conns */
};

struct rpc_call {
	struct rpc_call *next; /* pend_lock: hash chain */
	uint32_t xid;
	struct rpc_conn *conn; /* sent on this connection */
	bool queued;	       /* pend_lock: in the xid table */
	struct timespec since; /* when it was queued (for the state dump) */
	bool completed;	       /* pend_lock: err/rep are final (sync) */
	int err;
	struct rpc_reply rep;
	/* sync */
	pthread_cond_t cond;
	/* async (done != NULL) */
	rpc_done_fn done;
	void *arg;
};

struct rpc_clnt {
	/* configuration, immutable after new() */
	struct transport_cfg tcfg;
	char *host, *tls_name, *cafile, *machinename;
	uint32_t prog, vers;
	size_t max_record;
	int (*resolve)(void *arg, char *host, size_t hostsz);
	void *resolve_arg;
	void (*on_connect)(void *arg, unsigned int generation);
	void *on_connect_arg;

	pthread_mutex_t conn_lock;
	pthread_cond_t conn_cond; /* connecting went false */
	struct rpc_conn *conn;	  /* current connection (holds a ref) */
	struct rpc_conn *conns;	  /* all connections not yet reaped */
	bool connecting, closing;
	bool aborted;		  /* rpc_clnt_abort(): no new connections */
	unsigned int connect_seq; /* completed connect attempts */
	int connect_err;	  /* result of the last attempt */
	char connect_msg[256];	  /* its message, for waiters */
	unsigned int gen;	  /* successful connections so far */

	pthread_mutex_t send_lock;

	pthread_mutex_t pend_lock;
	struct rpc_call *table[RPC_HASH_SIZE];
	uint32_t next_xid;

	struct rpc_stats stats; /* atomic */
};

static void stat_add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static char *dup_or_null(const char *s, bool *fail)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*fail = true;
	return d;
}

static uint32_t random_u32(void)
{
	uint32_t v;
	struct timespec ts;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec ^ ((uint32_t)getpid() << 16);
}

struct rpc_clnt *rpc_clnt_new(const struct rpc_clnt_cfg *cfg)
{
	struct rpc_clnt *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;
	bool fail = false;

	if (!c)
		return NULL;
	c->tcfg = cfg->transport;
	c->host = dup_or_null(cfg->transport.host, &fail);
	c->tls_name = dup_or_null(cfg->transport.tls_name, &fail);
	c->cafile = dup_or_null(cfg->transport.cafile, &fail);
	c->machinename = dup_or_null(cfg->machinename ? cfg->machinename : "", &fail);
	if (fail) {
		free(c->host);
		free(c->tls_name);
		free(c->cafile);
		free(c->machinename);
		free(c);
		return NULL;
	}
	if (strlen(c->machinename) > 255)
		c->machinename[255] = '\0';
	c->tcfg.host = c->host;
	c->tcfg.tls_name = c->tls_name;
	c->tcfg.cafile = c->cafile;
	c->prog = cfg->prog;
	c->vers = cfg->vers;
	c->max_record = cfg->max_record ? cfg->max_record : RPC_DEFAULT_RECORD;
	c->resolve = cfg->resolve;
	c->resolve_arg = cfg->resolve_arg;
	c->on_connect = cfg->on_connect;
	c->on_connect_arg = cfg->on_connect_arg;
	pthread_mutex_init(&c->conn_lock, NULL);
	pthread_mutex_init(&c->send_lock, NULL);
	pthread_mutex_init(&c->pend_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->conn_cond, &ca);
	pthread_condattr_destroy(&ca);
	c->next_xid = random_u32();
	return c;
}

/* ---- the xid table (pend_lock held) ---- */

static struct rpc_call **slot_of(struct rpc_clnt *c, uint32_t xid)
{
	return &c->table[xid % RPC_HASH_SIZE];
}

static struct rpc_call *table_find(struct rpc_clnt *c, uint32_t xid)
{
	struct rpc_call *k;

	for (k = *slot_of(c, xid); k; k = k->next)
		if (k->xid == xid)
			return k;
	return NULL;
}

static void table_insert(struct rpc_clnt *c, struct rpc_call *call)
{
	struct rpc_call **s;

	do
		call->xid = c->next_xid++;
	while (table_find(c, call->xid));
	s = slot_of(c, call->xid);
	call->next = *s;
	*s = call;
	call->queued = true;
	clock_gettime(CLOCK_MONOTONIC, &call->since);
}

static void table_remove(struct rpc_clnt *c, struct rpc_call *call)
{
	struct rpc_call **pp;

	for (pp = slot_of(c, call->xid); *pp; pp = &(*pp)->next) {
		if (*pp == call) {
			*pp = call->next;
			break;
		}
	}
	call->next = NULL;
	call->queued = false;
}

/*
 * Deliver a result.  A sync call is completed under pend_lock and signalled;
 * an async call's done() runs here with no lock held.  The call must already
 * be out of the table.
 */
static void call_complete(struct rpc_clnt *c, struct rpc_call *call, int err, struct rpc_reply *rep)
{
	struct rpc_reply none = {0};

	if (!rep)
		rep = &none;
	if (call->done) {
		call->done(call->arg, err, rep);
		free(call);
		return;
	}
	pthread_mutex_lock(&c->pend_lock);
	call->err = err;
	call->rep = *rep;
	call->completed = true;
	pthread_cond_signal(&call->cond);
	pthread_mutex_unlock(&c->pend_lock);
}

/* ---- connections ---- */

/* conn_lock held.  Marks a connection for replacement and wakes its receiver. */
static void conn_retire_locked(struct rpc_clnt *c, struct rpc_conn *conn)
{
	pthread_mutex_lock(&c->pend_lock);
	conn->broken = true;
	pthread_mutex_unlock(&c->pend_lock);
	transport_shutdown(conn->t);
}

static void conn_put_locked(struct rpc_conn *conn)
{
	conn->refs--;
}

/* conn_lock held.  Unlinks reapable connections into *out. */
static void conns_collect_locked(struct rpc_clnt *c, struct rpc_conn **out, bool all)
{
	struct rpc_conn **pp = &c->conns;

	pthread_mutex_lock(&c->pend_lock);
	while (*pp) {
		struct rpc_conn *k = *pp;

		if (k != c->conn && k->refs == 0 && (all || k->rx_exited)) {
			*pp = k->next;
			k->next = *out;
			*out = k;
		} else {
			pp = &k->next;
		}
	}
	pthread_mutex_unlock(&c->pend_lock);
}

/* No locks held.  Joins (promptly: their receivers exited or were shut down). */
static void conns_reap(struct rpc_conn *list)
{
	while (list) {
		struct rpc_conn *k = list;

		list = k->next;
		pthread_join(k->rx, NULL);
		transport_close(k->t);
		free(k);
	}
}

static void handle_record(struct rpc_clnt *c, struct rpc_conn *conn, uint8_t *rec, size_t len)
{
	struct rpc_reply rep = {.buf = rec, .len = len};
	struct rpc_call *call;
	uint32_t xid, xid2;
	int err;

	if (rpc_peek_xid(rec, len, &xid)) {
		efs_log(EFS_LOG_DEBUG, "rpc: dropping a %zu-byte record without xid", len);
		free(rec);
		return;
	}
	pthread_mutex_lock(&c->pend_lock);
	call = table_find(c, xid);
	if (call && call->conn == conn)
		table_remove(c, call);
	else
		call = NULL;
	pthread_mutex_unlock(&c->pend_lock);
	if (!call) {
		efs_log(EFS_LOG_DEBUG, "rpc: dropping reply with unknown xid 0x%08x (%zu bytes)",
			xid, len);
		free(rec);
		return;
	}
	stat_add(&c->stats.replies, 1);
	xdr_init_decode(&rep.body, rec, len);
	err = rpc_dec_reply_hdr(&rep.body, &xid2);
	if (efs_log_debug())
		efs_log(EFS_LOG_DEBUG, "rpc: reply xid 0x%08x len %zu: %d", xid, len, err);
	if (err) {
		free(rec);
		call_complete(c, call, err, NULL);
		return;
	}
	call_complete(c, call, 0, &rep);
}

/* Receiver failed: fail every call sent on this connection. */
static void conn_fail_calls(struct rpc_clnt *c, struct rpc_conn *conn, int err)
{
	struct rpc_call *async = NULL, *call, **pp;
	unsigned int i;

	pthread_mutex_lock(&c->pend_lock);
	conn->dead = true;
	conn->broken = true;
	for (i = 0; i < RPC_HASH_SIZE; i++) {
		pp = &c->table[i];
		while ((call = *pp)) {
			if (call->conn != conn) {
				pp = &call->next;
				continue;
			}
			*pp = call->next;
			call->queued = false;
			if (call->done) {
				call->next = async;
				async = call;
			} else {
				call->next = NULL;
				call->err = err;
				call->completed = true;
				pthread_cond_signal(&call->cond);
			}
		}
	}
	pthread_mutex_unlock(&c->pend_lock);
	while (async) {
		call = async;
		async = call->next;
		call->next = NULL;
		call_complete(c, call, err, NULL);
	}
}

/* Logs why recv() ended (n <= 0). */
static void rx_log_end(struct rpc_clnt *c, struct rpc_conn *conn, ssize_t n)
{
	bool broken;

	pthread_mutex_lock(&c->pend_lock);
	broken = conn->broken;
	pthread_mutex_unlock(&c->pend_lock);
	if (n == 0 || broken)
		efs_log(EFS_LOG_DEBUG, "rpc: connection %u closed", conn->gen);
	else
		efs_log(EFS_LOG_INFO, "rpc: connection %u lost: %s", conn->gen, strerror((int)-n));
}

/* A record is complete: hand it to its call.  False when out of memory. */
static bool rx_take(struct rpc_clnt *c, struct rpc_conn *conn, struct rpc_rm_reader *rd)
{
	size_t len;
	uint8_t *rec = rpc_rm_reader_take(rd, &len);

	if (!rec)
		return false;
	handle_record(c, conn, rec, len);
	return true;
}

static void *rx_main(void *arg)
{
	struct rpc_conn *conn = arg;
	struct rpc_clnt *c = conn->clnt;
	struct rpc_rm_reader rd;
	uint8_t *buf = malloc(RPC_RECV_CHUNK);

	rpc_rm_reader_init(&rd, c->max_record);
	while (buf) {
		size_t room;
		uint8_t *dst = rpc_rm_reader_direct(&rd, &room);
		ssize_t n, off = 0;
		bool done;

		if (dst && room >= RPC_DIRECT_MIN) {
			/* Inside a big fragment: read it in place, no copy. */
			n = transport_recv(conn->t, dst, room);
			if (n <= 0) {
				rx_log_end(c, conn, n);
				break;
			}
			stat_add(&c->stats.bytes_in, (uint64_t)n);
			rpc_rm_reader_commit(&rd, (size_t)n, &done);
			if (done && !rx_take(c, conn, &rd))
				break;
			continue;
		}
		n = transport_recv(conn->t, buf, RPC_RECV_CHUNK);
		if (n <= 0) {
			rx_log_end(c, conn, n);
			break;
		}
		stat_add(&c->stats.bytes_in, (uint64_t)n);
		while (off < n) {
			ssize_t k = rpc_rm_reader_feed(&rd, buf + off, (size_t)(n - off), &done);

			if (k < 0) {
				efs_log(EFS_LOG_WARN,
					"rpc: dropping connection %u: %s (reply record over %zu "
					"bytes?)",
					conn->gen, strerror((int)-k), c->max_record);
				goto out;
			}
			off += k;
			if (done && !rx_take(c, conn, &rd))
				goto out;
		}
	}
out:
	transport_shutdown(conn->t);
	conn_fail_calls(c, conn, -ECONNRESET); /* also marks it broken and dead */
	rpc_rm_reader_fini(&rd);
	free(buf);
	pthread_mutex_lock(&c->pend_lock);
	conn->rx_exited = true;
	pthread_mutex_unlock(&c->pend_lock);
	return NULL;
}

/* conn_lock held. */
static bool conn_usable(struct rpc_clnt *c, struct rpc_conn *conn)
{
	bool ok;

	if (!conn)
		return false;
	pthread_mutex_lock(&c->pend_lock);
	ok = !conn->broken;
	pthread_mutex_unlock(&c->pend_lock);
	return ok;
}

/*
 * Open a new connection; no locks held.  On success *out is a connection
 * with its receiver running and one reference (the client's).
 */
static int conn_open(struct rpc_clnt *c, unsigned int gen, struct rpc_conn **out, char *err,
		     size_t errlen)
{
	struct transport_cfg tc = c->tcfg;
	char host[RPC_HOST_MAX];
	struct rpc_conn *conn;
	sigset_t all, old;
	int rc;

	if (c->resolve) {
		host[0] = '\0';
		rc = c->resolve(c->resolve_arg, host, sizeof(host));
		if (rc) {
			snprintf(err, errlen, "cannot resolve %s: %s", c->host ? c->host : "server",
				 strerror(-rc));
			return rc;
		}
		host[sizeof(host) - 1] = '\0';
		tc.host = host;
	}
	if (!tc.host) {
		snprintf(err, errlen, "no server address");
		return -EDESTADDRREQ;
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	err[0] = '\0';
	errno = 0;
	conn->t = transport_connect(&tc, err, errlen);
	if (!conn->t) {
		rc = errno > 0 ? -errno : -ECONNREFUSED;
		free(conn);
		if (!err[0])
			snprintf(err, errlen, "cannot connect to %s port %u", tc.host, tc.port);
		return rc;
	}
	conn->clnt = c;
	conn->gen = gen;
	conn->refs = 1;
	/* The receiver takes no signals: they belong to the daemon's main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&conn->rx, NULL, rx_main, conn);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		transport_close(conn->t);
		free(conn);
		snprintf(err, errlen, "cannot start the receiver thread: %s", strerror(-rc));
		return rc;
	}
	*out = conn;
	return 0;
}

/*
 * Returns the current connection with a reference for the caller, opening
 * one if needed (only one thread connects; the others wait for its result).
 */
static int conn_get(struct rpc_clnt *c, struct rpc_conn **out, char *err, size_t errlen)
{
	struct rpc_conn *conn = NULL, *reap = NULL;
	unsigned int gen;
	int rc;

	pthread_mutex_lock(&c->conn_lock);
	for (;;) {
		if (c->closing || c->aborted) {
			pthread_mutex_unlock(&c->conn_lock);
			snprintf(err, errlen, "client is shutting down");
			return -ESHUTDOWN;
		}
		if (conn_usable(c, c->conn)) {
			c->conn->refs++;
			*out = c->conn;
			pthread_mutex_unlock(&c->conn_lock);
			return 0;
		}
		if (!c->connecting)
			break;
		/* Someone else is connecting: take the outcome of that attempt. */
		{
			unsigned int seq = c->connect_seq;

			while (c->connecting && c->connect_seq == seq)
				pthread_cond_wait(&c->conn_cond, &c->conn_lock);
			if (c->connect_seq != seq && c->connect_err) {
				rc = c->connect_err;
				snprintf(err, errlen, "%s", c->connect_msg);
				pthread_mutex_unlock(&c->conn_lock);
				return rc;
			}
		}
	}
	/* We connect.  Retire the old connection first. */
	c->connecting = true;
	if (c->conn) {
		conn_retire_locked(c, c->conn);
		conn_put_locked(c->conn);
		c->conn = NULL;
	}
	conns_collect_locked(c, &reap, false);
	gen = c->gen + 1; /* only one thread connects at a time */
	pthread_mutex_unlock(&c->conn_lock);
	conns_reap(reap);

	rc = conn_open(c, gen, &conn, err, errlen);

	pthread_mutex_lock(&c->conn_lock);
	c->connecting = false;
	c->connect_seq++;
	c->connect_err = rc;
	snprintf(c->connect_msg, sizeof(c->connect_msg), "%s", rc ? err : "");
	if (rc == 0) {
		if (c->closing) {
			/* rpc_clnt_free() started meanwhile: hand it the connection to reap. */
			conn_retire_locked(c, conn);
			conn->refs = 0;
			conn->next = c->conns;
			c->conns = conn;
			rc = -ESHUTDOWN;
			snprintf(err, errlen, "client is shutting down");
		} else {
			c->gen = conn->gen;
			if (conn->gen > 1)
				stat_add(&c->stats.reconnects, 1);
			conn->next = c->conns;
			c->conns = conn;
			c->conn = conn;
			conn->refs++; /* the caller's */
			*out = conn;
		}
	}
	gen = c->gen;
	pthread_cond_broadcast(&c->conn_cond);
	pthread_mutex_unlock(&c->conn_lock);
	if (rc == 0) {
		efs_log(EFS_LOG_DEBUG, "rpc: connected (generation %u)", gen);
		if (c->on_connect)
			c->on_connect(c->on_connect_arg, gen);
	}
	return rc;
}

static void conn_put(struct rpc_clnt *c, struct rpc_conn *conn)
{
	pthread_mutex_lock(&c->conn_lock);
	conn_put_locked(conn);
	pthread_mutex_unlock(&c->conn_lock);
}

/* A send failed: the stream is unusable, replace it at the next call. */
static void conn_broke(struct rpc_clnt *c, struct rpc_conn *conn)
{
	pthread_mutex_lock(&c->conn_lock);
	conn_retire_locked(c, conn);
	pthread_mutex_unlock(&c->conn_lock);
}

int rpc_clnt_connect(struct rpc_clnt *c, char *err, size_t errlen)
{
	struct rpc_conn *conn;
	char dummy[8];
	int rc;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	rc = conn_get(c, &conn, err, errlen);
	if (rc == 0)
		conn_put(c, conn);
	return rc;
}

void rpc_clnt_abort(struct rpc_clnt *c)
{
	pthread_mutex_lock(&c->conn_lock);
	c->aborted = true;
	if (c->conn)
		conn_retire_locked(c, c->conn);
	pthread_cond_broadcast(&c->conn_cond);
	pthread_mutex_unlock(&c->conn_lock);
}

void rpc_clnt_disconnect(struct rpc_clnt *c)
{
	pthread_mutex_lock(&c->conn_lock);
	if (c->conn)
		conn_retire_locked(c, c->conn);
	pthread_mutex_unlock(&c->conn_lock);
}

/*
 * Queue and send one call.  On 0 the call was put in the table and will
 * complete exactly once: by its reply, by the loss of its connection (the
 * receiver fails every call it was sent on, also after a send failure), or,
 * for a sync call, by its caller's timeout.  Once the call is in the table
 * an async call may be freed at any time, so it is not touched again here.
 * On error nothing was queued.
 */
static int call_start(struct rpc_clnt *c, struct rpc_call *call, const struct rpc_cred *cred,
		      uint32_t proc, const struct xdr *args)
{
	uint8_t hdr[RPC_HDR_MAX];
	size_t alen = args ? args->len : 0;
	struct rpc_conn *conn = NULL;
	struct xdr x;
	char err[256];
	uint32_t xid;
	int rc, tries;

	/* Encode first (xid patched in later): nothing can fail once queued. */
	xdr_init_encode(&x, hdr, sizeof(hdr));
	xdr_put_u32(&x, 0); /* record mark */
	rc = rpc_enc_call_hdr(&x, 0, c->prog, c->vers, proc, cred, (uint32_t)time(NULL),
			      c->machinename);
	if (rc)
		return rc;
	if (alen > (size_t)(~RPC_RM_LAST) - x.len)
		return -EMSGSIZE;
	rpc_rm_put_header(hdr, (uint32_t)(x.len - 4 + alen), true);

	for (tries = 0;; tries++) {
		rc = conn_get(c, &conn, err, sizeof(err));
		if (rc) {
			efs_log(EFS_LOG_DEBUG, "rpc: %s", err);
			return rc;
		}
		pthread_mutex_lock(&c->pend_lock);
		if (!conn->dead)
			break;
		/* Its receiver already gave up: a fresh connection is needed. */
		pthread_mutex_unlock(&c->pend_lock);
		conn_put(c, conn);
		if (tries + 1 >= RPC_CONNECT_RETRIES)
			return -ECONNRESET;
	}
	call->conn = conn;
	table_insert(c, call);
	xid = call->xid;
	pthread_mutex_unlock(&c->pend_lock);

	xdr_patch_u32(&x, 4, xid);
	if (efs_log_debug())
		efs_log(EFS_LOG_DEBUG, "rpc: call xid 0x%08x proc %u len %zu", xid, proc,
			x.len + alen);
	stat_add(&c->stats.calls, 1);

	pthread_mutex_lock(&c->send_lock);
	rc = transport_send2(conn->t, hdr, x.len, alen ? args->buf : NULL, alen);
	pthread_mutex_unlock(&c->send_lock);
	if (rc == 0) {
		stat_add(&c->stats.bytes_out, x.len + alen);
	} else {
		/* The stream may hold half a record: drop it; the receiver then
		 * fails this call and the others sent on it with -ECONNRESET. */
		efs_log(EFS_LOG_INFO, "rpc: send failed on connection %u: %s", conn->gen,
			strerror(-rc));
		conn_broke(c, conn);
	}
	conn_put(c, conn);
	return 0;
}

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool deadline_passed(const struct timespec *dl)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > dl->tv_sec || (now.tv_sec == dl->tv_sec && now.tv_nsec >= dl->tv_nsec);
}

int rpc_clnt_call(struct rpc_clnt *c, const struct rpc_cred *cred, uint32_t proc,
		  const struct xdr *args, struct rpc_reply *rep, int timeout_ms)
{
	struct rpc_call call = {0};
	pthread_condattr_t ca;
	struct timespec dl;
	int rc;

	memset(rep, 0, sizeof(*rep));
	deadline_after(&dl, timeout_ms > 0 ? timeout_ms : 0);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&call.cond, &ca);
	pthread_condattr_destroy(&ca);

	rc = call_start(c, &call, cred, proc, args);
	if (rc)
		goto out;
	pthread_mutex_lock(&c->pend_lock);
	while (!call.completed) {
		struct timespec slice = dl;
		int err = 0;

		if (cred && cred->cancelled) {
			/* Interruptible: wake up every 50 ms to look at the flag. */
			deadline_after(&slice, 50);
			if (timeout_ms > 0 &&
			    (slice.tv_sec > dl.tv_sec ||
			     (slice.tv_sec == dl.tv_sec && slice.tv_nsec > dl.tv_nsec)))
				slice = dl;
		}
		if (timeout_ms > 0 || (cred && cred->cancelled))
			pthread_cond_timedwait(&call.cond, &c->pend_lock, &slice);
		else
			pthread_cond_wait(&call.cond, &c->pend_lock);
		if (call.completed || !call.queued)
			continue;
		if (rpc_cred_cancelled(cred))
			err = -EINTR;
		else if (timeout_ms > 0 && deadline_passed(&dl))
			err = -ETIMEDOUT;
		if (err) {
			table_remove(c, &call);
			call.err = err;
			call.completed = true;
			efs_log(EFS_LOG_DEBUG, "rpc: call xid 0x%08x %s", call.xid,
				err == -EINTR ? "interrupted" : "timed out");
		}
	}
	pthread_mutex_unlock(&c->pend_lock);
	rc = call.err;
	if (rc == 0)
		*rep = call.rep;
out:
	pthread_cond_destroy(&call.cond);
	return rc;
}

int rpc_clnt_call_async(struct rpc_clnt *c, const struct rpc_cred *cred, uint32_t proc,
			const struct xdr *args, rpc_done_fn done, void *arg)
{
	struct rpc_call *call;
	int rc;

	if (!done)
		return -EINVAL;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->done = done;
	call->arg = arg;
	rc = call_start(c, call, cred, proc, args);
	if (rc)
		free(call);
	return rc;
}

void rpc_reply_free(struct rpc_reply *rep)
{
	if (!rep)
		return;
	free(rep->buf);
	memset(rep, 0, sizeof(*rep));
}

void rpc_clnt_pending(struct rpc_clnt *c, unsigned int *n, long *oldest_ms)
{
	struct timespec now;

	*n = 0;
	*oldest_ms = 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&c->pend_lock);
	for (unsigned int i = 0; i < RPC_HASH_SIZE; i++)
		for (struct rpc_call *call = c->table[i]; call; call = call->next) {
			long age = (now.tv_sec - call->since.tv_sec) * 1000L +
				   (now.tv_nsec - call->since.tv_nsec) / 1000000L;

			(*n)++;
			if (age > *oldest_ms)
				*oldest_ms = age;
		}
	pthread_mutex_unlock(&c->pend_lock);
}

void rpc_clnt_get_stats(struct rpc_clnt *c, struct rpc_stats *st)
{
	st->calls = __atomic_load_n(&c->stats.calls, __ATOMIC_RELAXED);
	st->replies = __atomic_load_n(&c->stats.replies, __ATOMIC_RELAXED);
	st->bytes_out = __atomic_load_n(&c->stats.bytes_out, __ATOMIC_RELAXED);
	st->bytes_in = __atomic_load_n(&c->stats.bytes_in, __ATOMIC_RELAXED);
	st->reconnects = __atomic_load_n(&c->stats.reconnects, __ATOMIC_RELAXED);
}

void rpc_clnt_free(struct rpc_clnt *c)
{
	struct rpc_conn *reap = NULL;
	unsigned int i;

	if (!c)
		return;
	pthread_mutex_lock(&c->conn_lock);
	c->closing = true;
	while (c->connecting)
		pthread_cond_wait(&c->conn_cond, &c->conn_lock);
	if (c->conn) {
		conn_retire_locked(c, c->conn);
		conn_put_locked(c->conn);
		c->conn = NULL;
	}
	/* Every connection is shut down; callers are gone, so no refs remain. */
	for (struct rpc_conn *k = c->conns; k; k = k->next)
		conn_retire_locked(c, k);
	conns_collect_locked(c, &reap, true);
	pthread_mutex_unlock(&c->conn_lock);
	/* Joining fails every pending call with -ECONNRESET (the receivers do). */
	conns_reap(reap);

	for (i = 0; i < RPC_HASH_SIZE; i++)
		if (c->table[i])
			efs_log(EFS_LOG_ERR, "rpc: freeing client with calls still pending");
	pthread_mutex_destroy(&c->conn_lock);
	pthread_mutex_destroy(&c->send_lock);
	pthread_mutex_destroy(&c->pend_lock);
	pthread_cond_destroy(&c->conn_cond);
	free(c->host);
	free(c->tls_name);
	free(c->cafile);
	free(c->machinename);
	free(c);
}
