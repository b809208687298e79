/*
 * wbcache.h - the write-back data cache (issue: caching, consistency and
 * durability).  write(2) data lands here and returns; flusher threads send
 * it as large UNSTABLE4 WRITEs, several in flight; wb_file_flush() (every
 * close and fsync) returns only when the file's data is written and
 * COMMITted with a matching verifier (RFC 8881 sections 18.32, 18.3).
 *
 * Contract
 *  - Data is kept per inode (struct wb_file) in chunks of wsize bytes.  A
 *    chunk keeps its bytes until a COMMIT confirms them: if the server's
 *    write verifier changes (it restarted and lost unstable data), the
 *    chunk is written again; a flush gives up with -EIO after three rounds
 *    of changing verifiers (a misbehaving server must not loop it).
 *  - Memory: every chunk's buffer counts against cfg->cap.  A writer that
 *    would exceed it waits for write-back (and commits) to free room; the
 *    daemon does not grow past the cap plus one chunk per writer thread.
 *  - Errors: a failed WRITE or COMMIT (ENOSPC, EDQUOT, EIO, ESTALE, EACCES,
 *    ...) is recorded on the file and returned, once, by the next
 *    wb_file_flush(); the affected bytes are dropped.  Never silently lost.
 *  - Each chunk remembers the credential and the open (nfs4_state.h, a
 *    reference) of its last writer and writes through it, so a stateid
 *    replaced by recovery is picked up.
 *  - Threads: all calls are safe from any thread.  One mutex (wb->lock)
 *    protects every chunk, file and queue; it is never held across an RPC.
 *    Lock order: callers' fs/ locks before wb->lock; wbcache never calls up.
 */
#ifndef EFS_CACHE_WBCACHE_H
#define EFS_CACHE_WBCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "nfs4/nfs4_client.h"
#include "nfs4/nfs4_state.h"

struct wbcache_cfg {
	size_t cap;	       /* bytes of cached file data, all files */
	unsigned int flushers; /* write-back threads = WRITEs in flight */
};

struct wbcache_stats {
	uint64_t writes, write_bytes, commits, resends;
	uint64_t lost_bytes; /* dropped after a write-back error (each logged with its file) */
	size_t used, peak;
};

struct wbcache;
struct wb_file;

struct wbcache *wbcache_new(struct nfs4_client *c, const struct wbcache_cfg *cfg);
/* Stops the flushers.  Files must have been flushed and freed. */
void wbcache_free(struct wbcache *wb);
void wbcache_get_stats(struct wbcache *wb, struct wbcache_stats *st);

struct wb_file *wb_file_new(struct wbcache *wb, const struct nfs4_fh *fh);
/* Discards whatever is still cached (call wb_file_flush() first). */
void wb_file_free(struct wb_file *f);
/* The server's fileid, named in the log when its data cannot be written. */
void wb_file_set_fileid(struct wb_file *f, uint64_t fileid);
/* The file handle changed (e.g. re-looked-up after ESTALE). */
void wb_file_set_fh(struct wb_file *f, const struct nfs4_fh *fh);

/* Copy len bytes at off into the cache; may wait for room. 0 or -errno. */
int wb_file_write(struct wb_file *f, const struct rpc_cred *cr, struct nfs4_open *op, uint64_t off,
		  const void *buf, size_t len);
/* Write out and COMMIT everything cached; the first write-back error since
 * the last flush, or 0. */
int wb_file_flush(struct wb_file *f);
/* Write out (no COMMIT) cached data overlapping [off, off+len), so a READ
 * from the server sees it.  Errors stay pending for wb_file_flush(). */
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
 * error is recorded for wb_file_flush() like a flusher's.
 */
void wb_file_small_done(struct wb_file *f, struct wb_small *sm, int rc);
/* One past the last cached byte, or 0 when nothing is cached. */
uint64_t wb_file_end(struct wb_file *f);
/* True while the file has bytes the server has not committed. */
bool wb_file_busy(struct wb_file *f);

#endif
