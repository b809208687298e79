/*
 * rpc_clnt.h - ONC RPC v2 client (RFC 5531) over one record-marked stream
 * connection, with many calls in flight, replies demultiplexed by xid.
 *
 * Contract
 *  - rpc_clnt_new() only allocates; the connection is opened lazily by the
 *    first call and reopened after a loss (each reconnect asks cfg->resolve,
 *    when set, for a fresh address first).  cfg strings are copied.
 *  - Calls: the caller encodes the procedure arguments into a struct xdr;
 *    the client adds the record mark, call header and AUTH_SYS credential,
 *    sends (senders are serialised), and matches the reply by xid.
 *    A request is never retransmitted on the same connection (RFC 8881
 *    section 2.9.2): if the connection is lost, every pending call completes
 *    with -ECONNRESET and the caller decides whether to resend.
 *  - rpc_clnt_call() blocks until the reply, the connection is lost,
 *    timeout_ms passes (-ETIMEDOUT; timeout_ms <= 0 waits for ever), or the
 *    credential says the caller was interrupted (-EINTR, asked every 50 ms).
 *  - rpc_clnt_call_async() queues the call and returns at once; done() runs
 *    exactly once on the receiver thread (or the caller's thread on a send
 *    failure) and must not block; it takes ownership of *rep.
 *  - Reply: on 0, rep->body is a decoder positioned at the procedure results;
 *    the caller frees it with rpc_reply_free().  Denied or unaccepted
 *    replies map to -EACCES (auth), -EPROTONOSUPPORT (prog/vers),
 *    -EBADMSG (garbage/malformed).
 *  - Errors: 0 or negative errno.  Bounds: a reply record larger than
 *    cfg->max_record is a protocol error that drops the connection.
 *  - Threads: one receiver thread per live connection; everything is safe
 *    to call from any thread.  Lock order: clnt->conn_lock, then
 *    clnt->pend_lock; the send lock is independent and never held while
 *    waiting for a reply.
 *
 * Details (src/rpc/rpc_clnt.c)
 *  - cred == NULL sends an AUTH_NONE credential (for NULL pings); otherwise
 *    AUTH_SYS with cfg->machinename (cut to 255 bytes); ngroups > 16 is
 *    -EINVAL.  The verifier is always AUTH_NONE.
 *  - Accept status SYSTEM_ERR maps to -EIO; DENIED (AUTH_ERROR or
 *    RPC_MISMATCH) to -EACCES; PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL to
 *    -EPROTONOSUPPORT; GARBAGE_ARGS and malformed headers to -EBADMSG.
 *  - rpc_clnt_call_async(): a nonzero return means nothing was queued and
 *    done() will not run (connect failure, -EINVAL, -ENOMEM, -ESHUTDOWN while
 *    rpc_clnt_free() runs).  On 0, done() runs exactly once; in this
 *    implementation always on a receiver thread, also after a send failure
 *    (the broken connection's receiver fails its calls with -ECONNRESET).
 *    done() may issue new calls but must not call rpc_clnt_free().
 *  - A connect failure is returned as is (no retry loop here): -ECONNREFUSED,
 *    -ETIMEDOUT, -EHOSTUNREACH, the resolve callback's error, ...
 *  - rpc_clnt_free() must not race with calls from other threads; it waits
 *    for a connect in progress, shuts every connection down and joins the
 *    receivers, so every done() has run when it returns.
 *  - Replies are read from the socket straight into the record buffer
 *    (rpc_rm_reader_direct/commit) once inside a large fragment: a 1 MiB
 *    READ reply is not copied on its way in.
 */
#ifndef EFS_RPC_CLNT_H
#define EFS_RPC_CLNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/xdr.h"
#include "net/transport.h"

#define RPC_AUTH_SYS_MAX_GROUPS 16

struct rpc_cred {
	uint32_t uid, gid;
	uint32_t ngroups; /* <= RPC_AUTH_SYS_MAX_GROUPS */
	uint32_t groups[RPC_AUTH_SYS_MAX_GROUPS];
	/*
	 * Optional: whether the calling request was interrupted (FUSE_INTERRUPT,
	 * a signal to the caller).  Waits for a reply end with -EINTR soon
	 * after it says so.  Valid for the duration of one call only: code
	 * that keeps a credential beyond the call stores rpc_cred_keep().
	 */
	bool (*cancelled)(void *arg);
	void *cancel_arg;
};

static inline bool rpc_cred_cancelled(const struct rpc_cred *cr)
{
	return cr && cr->cancelled && cr->cancelled(cr->cancel_arg);
}

/* A copy of *cr to keep (without the caller's interrupt flag). */
static inline struct rpc_cred rpc_cred_keep(const struct rpc_cred *cr)
{
	struct rpc_cred k = *cr;

	k.cancelled = NULL;
	k.cancel_arg = NULL;
	return k;
}

struct rpc_reply {
	uint8_t *buf; /* the whole reply record (owned) */
	size_t len;
	struct xdr body; /* decoder over the procedure results */
};

struct rpc_clnt_cfg {
	struct transport_cfg transport; /* strings are copied */
	uint32_t prog, vers;
	size_t max_record;	 /* largest reply record accepted, bytes */
	const char *machinename; /* AUTH_SYS machinename (copied) */
	/* Optional: fill host (size hostsz) with the address to use for a
	 * (re)connection; 0 or -errno.  Called without locks held. */
	int (*resolve)(void *arg, char *host, size_t hostsz);
	void *resolve_arg;
	/* Optional: called after each successful (re)connection, from the
	 * calling thread, before the call that triggered it is sent. */
	void (*on_connect)(void *arg, unsigned int generation);
	void *on_connect_arg;
};

/* Counters, for the benchmark and tests. */
struct rpc_stats {
	uint64_t calls, replies, bytes_out, bytes_in, reconnects;
};

typedef void (*rpc_done_fn)(void *arg, int err, struct rpc_reply *rep);

struct rpc_clnt;

struct rpc_clnt *rpc_clnt_new(const struct rpc_clnt_cfg *cfg);
/* Fails pending calls with -ECONNRESET, stops the receiver, frees. */
void rpc_clnt_free(struct rpc_clnt *c);

/* Open the connection now (used at mount time for a clear error). */
int rpc_clnt_connect(struct rpc_clnt *c, char *err, size_t errlen);
/* Drop the current connection (pending calls see -ECONNRESET). */
void rpc_clnt_disconnect(struct rpc_clnt *c);
/*
 * Stop for good: pending calls fail with -ECONNRESET, new calls and
 * connects with -ESHUTDOWN (the client is being shut down and the server
 * does not answer).  rpc_clnt_free() is still needed.
 */
void rpc_clnt_abort(struct rpc_clnt *c);

int rpc_clnt_call(struct rpc_clnt *c, const struct rpc_cred *cred, uint32_t proc,
		  const struct xdr *args, struct rpc_reply *rep, int timeout_ms);
int rpc_clnt_call_async(struct rpc_clnt *c, const struct rpc_cred *cred, uint32_t proc,
			const struct xdr *args, rpc_done_fn done, void *arg);

void rpc_reply_free(struct rpc_reply *rep);
void rpc_clnt_get_stats(struct rpc_clnt *c, struct rpc_stats *st);
/* Calls waiting for their reply now, and the age of the oldest, ms (state dump). */
void rpc_clnt_pending(struct rpc_clnt *c, unsigned int *n, long *oldest_ms);

/* ---- pieces, exposed for unit tests ---- */
/* Record marking (RFC 5531 section 11): 4-byte header, last-fragment bit. */
#define RPC_RM_LAST 0x80000000u
void rpc_rm_put_header(uint8_t hdr[4], uint32_t len, bool last);
/* Reassembles records from fragments with a size cap. */
struct rpc_rm_reader {
	uint8_t *rec;	   /* record being assembled (owned until taken) */
	size_t len, cap;   /* bytes assembled, allocation */
	size_t max_record; /* hard cap */
	uint8_t hdr[4];
	size_t hdr_have;
	uint32_t frag_left;
	bool last, in_frag;
};
void rpc_rm_reader_init(struct rpc_rm_reader *r, size_t max_record);
void rpc_rm_reader_fini(struct rpc_rm_reader *r);
/*
 * Feed n bytes; consumes at most up to the end of the current record.
 * Returns the number of bytes consumed (>= 0) or -EMSGSIZE / -ENOMEM.
 * *done is set when a whole record is ready; take it with
 * rpc_rm_reader_take() before feeding more.
 */
ssize_t rpc_rm_reader_feed(struct rpc_rm_reader *r, const uint8_t *p, size_t n, bool *done);
/* Hands over the assembled record (caller frees) and resets the reader. */
uint8_t *rpc_rm_reader_take(struct rpc_rm_reader *r, size_t *len);
/*
 * Zero-copy path: inside a fragment, where its next bytes go and how many
 * (*room, never past the fragment's end); NULL with *room = 0 when the next
 * bytes are a fragment header (use feed) or a record waits to be taken.
 * After reading n <= *room bytes there, rpc_rm_reader_commit() accounts for
 * them; *done as for feed.
 */
uint8_t *rpc_rm_reader_direct(struct rpc_rm_reader *r, size_t *room);
void rpc_rm_reader_commit(struct rpc_rm_reader *r, size_t n, bool *done);

/* Call header with AUTH_SYS (RFC 5531 section 9 and appendix A). */
int rpc_enc_call_hdr(struct xdr *x, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
		     const struct rpc_cred *cred, uint32_t stamp, const char *machinename);
/* Parse a reply header; on 0, x is positioned at the results and *xid set. */
int rpc_dec_reply_hdr(struct xdr *x, uint32_t *xid);
/* Just the xid of a record (first word); -EBADMSG if shorter. */
int rpc_peek_xid(const uint8_t *rec, size_t len, uint32_t *xid);

#endif
