/*
 * wbcache.h - the write-back data cache and the per-inode data object
 * (issues 3 and 10).  write(2) data lands here and returns; flusher threads
 * send it as large UNSTABLE4 WRITEs, several in flight; wb_file_flush()
 * (every close and fsync) returns only when the file's data is written and
 * COMMITted with a matching verifier (RFC 8881 sections 18.32, 18.3).
 *
 * Contract
 *  - One struct wb_file per inode (the inode's data object): it owns that
 *    file's write-back chunks, the file's *local size* and its write-back
 *    error sequence.  It lives as long as the inode, not as long as an open
 *    (FUSE RELEASE does not free it); wb_file_free() waits for the file's
 *    writes and commits in flight.
 *  - Data is kept in chunks of wsize bytes.  A chunk keeps its bytes until a
 *    COMMIT confirms them: if the server's write verifier changes (it
 *    restarted and lost unstable data), the chunk is written again; a flush
 *    gives up with -EIO after three rounds of changing verifiers.
 *  - Local size (wb_file_size*): the size the file has for this client: the
 *    server's size, raised by cached writes, lowered by truncate.  An
 *    attribute refresh (wb_file_size_seen*) may move it anywhere but never
 *    below the end of data not yet on the server, nor back to a state older
 *    than one already taken (replies are ordered by the change attribute,
 *    and by wb_file_land_seq() samples where the caller has one).  O_APPEND writes reserve their
 * offset at the local end of file (wb_file_append_reserve), so appenders never overwrite.
 *  - Errors (errseq, the kernel's model): a failed WRITE or COMMIT is
 *    recorded with a new sequence number; the affected bytes are dropped.
 *    An open file description samples the sequence at open
 *    (wb_file_err_sample) and wb_file_err_check() reports to it, once per
 *    advance, every error recorded since: fsync advances its sample, close
 *    reports without advancing, so a close on another descriptor or a
 *    child's close-on-exec does not consume it.  An error nobody has seen
 *    yet is also reported to the next open (as errseq_sample()).
 *  - Memory: every chunk's buffer counts against cfg->cap.  A writer that
 *    would exceed it queues the oldest dirty data of any file and waits only
 *    for data in flight (WRITEs, COMMITs) to free room; the wait ends with
 *    -EINTR when the caller's credential says it was interrupted.  Dirty
 *    data older than cfg->age_ms is written and committed in the background.
 *  - Each chunk remembers the credential and the open (nfs4_state.h, a
 *    reference) of its last writer and writes through it.
 *  - Threads: all calls are safe from any thread.  One mutex (wb->lock)
 *    protects every chunk, file and queue; it is never held across an RPC.
 *    Lock order: callers' fs/ locks (inode->lock) before wb->lock; wbcache
 *    never calls up.
 */
#ifndef EFS_CACHE_WBCACHE_H
#define EFS_CACHE_WBCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "nfs4/nfs4_client.h"
#include "nfs4/nfs4_state.h"

#define WB_SIZE_SETTLE_MS 2000

struct wbcache_cfg {
	size_t cap;	       /* bytes of cached file data, all files */
	unsigned int flushers; /* write-back threads = WRITEs in flight */
	unsigned int age_ms;   /* dirty data older than this is written back (0: 30 s) */
};

struct wbcache_stats {
	uint64_t writes, write_bytes, commits, resends, aged, cap_waits;
	uint64_t lost_bytes; /* dropped after a write-back error (each logged with its file) */
	size_t used, peak;
};

struct wbcache;
struct wb_file;

struct wbcache *wbcache_new(struct nfs4_client *c, const struct wbcache_cfg *cfg);
/* Stops the flushers.  Files must have been flushed and freed. */
void wbcache_free(struct wbcache *wb);
void wbcache_get_stats(struct wbcache *wb, struct wbcache_stats *st);
/* State dump: bytes cached and in flight, dirty bytes per file (fileid, age). */
void wbcache_dump(struct wbcache *wb, void (*line)(void *arg, const char *text), void *arg);

/* The data object of a file whose server size is size. */
struct wb_file *wb_file_new(struct wbcache *wb, const struct nfs4_fh *fh, uint64_t size);
/* Discards whatever is still cached (call wb_file_flush() first). */
void wb_file_free(struct wb_file *f);
/* The server's fileid, named in the log when its data cannot be written. */
void wb_file_set_fileid(struct wb_file *f, uint64_t fileid);
/* The file handle changed (e.g. re-looked-up after ESTALE). */
void wb_file_set_fh(struct wb_file *f, const struct nfs4_fh *fh);

/*
 * Copy len bytes at off into the cache; may wait for room (cr->cancelled
 * ends the wait with -EINTR).  Raises the local size.  0 or -errno.
 */
int wb_file_write(struct wb_file *f, const struct rpc_cred *cr, struct nfs4_open *op, uint64_t off,
		  const void *buf, size_t len);
/*
 * Write out and COMMIT everything cached.  Returns -errno of an error
 * recorded while it ran (others stay for wb_file_err_check), or 0; -EINTR
 * when cr (may be NULL) says the caller was interrupted (a killed process's
 * close): the data stays cached and is written later.
 */
int wb_file_flush(struct wb_file *f, const struct rpc_cred *cr);
/* Write out (no COMMIT) cached data overlapping [off, off+len), so a READ
 * from the server sees it.  Errors are recorded, not returned. */
int wb_file_writeout(struct wb_file *f, uint64_t off, uint64_t len);
/*
 * The end of a small file: when everything cached for the file is one
 * contiguous dirty range of at most max bytes (nothing in flight or
 * unstable), lend it to the caller to send in one FILE_SYNC4 WRITE: the
 * chunk stays in the cache, in flight, until wb_file_small_done().
 * Returns 1 when lent (data valid until then), 0 when the cache holds
 * something else.
 */
struct wb_small {
	uint64_t off;
	uint32_t len;
	const void *data;
	struct rpc_cred cred;
	struct nfs4_open *op; /* the chunk's: valid until small_done */
	struct wb_chunk *chunk;
};
int wb_file_take_small(struct wb_file *f, uint32_t max, struct wb_small *out);
/*
 * rc 0: the data is stable on the server, the chunk is freed; -EAGAIN: not
 * sent (short or unstable answer), the chunk is dirty again; any other
 * error (-NFS4ERR_x / -errno) is recorded like a flusher's.
 */
void wb_file_small_done(struct wb_file *f, struct wb_small *sm, int rc);
/* One past the last cached byte, or 0 when nothing is cached. */
uint64_t wb_file_end(struct wb_file *f);
/* True while the file has bytes the server has not committed. */
bool wb_file_busy(struct wb_file *f);

/* ---- local size ---- */
uint64_t wb_file_size(struct wb_file *f);
/*
 * An attribute reply says the server's size is server (change: its change
 * attribute, NULL if it had none): the local size now.  Replies are ordered
 * by the change attribute, as the Linux client does: within
 * WB_SIZE_SETTLE_MS, a reply with an older change attribute than the last
 * one taken, or with the same one while our data landed since, is stale and
 * does not move the size (it still never goes below cached data).
 */
uint64_t wb_file_size_seen(struct wb_file *f, uint64_t server, const uint64_t *change);
/* A sample taken before an attribute request (wb_file_size_seen_since). */
uint64_t wb_file_land_seq(struct wb_file *f);
/*
 * The same for a reply to a request sent after wb_file_land_seq() returned
 * sample: exact (close-to-open): only data that landed since counts.
 */
uint64_t wb_file_size_seen_since(struct wb_file *f, uint64_t server, uint64_t sample,
				 const uint64_t *change);
/* Truncated (or extended) to size on the server by this client. */
void wb_file_size_set(struct wb_file *f, uint64_t size);
/* Reserve len bytes at the local end of file for an O_APPEND write. */
uint64_t wb_file_append_reserve(struct wb_file *f, size_t len);
/* The reserved write at off wrote only done bytes (shrinks a tail reservation). */
void wb_file_append_unreserve(struct wb_file *f, uint64_t off, size_t len, size_t done);

/* ---- errors (errseq) ---- */
/* Record a write-back error (-errno) for every open description. */
void wb_file_err_record(struct wb_file *f, int err);
/* The sample a new open file description starts from. */
uint64_t wb_file_err_sample(struct wb_file *f);
/*
 * -errno when an error was recorded after *since (the latest one), else 0.
 * advance: move *since past it (fsync); otherwise it is reported again at
 * the description's next check (a close that is not the last).
 */
int wb_file_err_check(struct wb_file *f, uint64_t *since, bool advance);

#endif
