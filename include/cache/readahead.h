/*
 * readahead.h - sequential read detection and prefetch for one open file.
 *
 * The kernel hands FUSE reads of at most 128 KiB (its bdi read-ahead) one or
 * two at a time; a network file system needs several MiB in flight.  A
 * struct ra_file watches the offsets read through one open: once reads are
 * sequential it keeps a window of rsize-sized segments ahead of the reader
 * loading in parallel (window grows from 2 to RA_MAX_SEGMENTS segments), and
 * serves reads from them.  Random reads bypass it (one READ each).
 *
 * Contract
 *  - Segments are private to the open and dropped at ra_file_free(), or by
 *    ra_file_invalidate() (the file was written through this mount, or its
 *    change attribute moved).  Close-to-open is therefore preserved: a new
 *    open never sees an older open's data.
 *  - Memory: every segment counts against the ra_pool cap; past it no
 *    prefetch is started (reads still work, synchronously).
 *  - Errors: 0 or -NFS4ERR_x / -errno from the READ that failed (fs/ maps).
 *  - Threads: ra_pool workers run the prefetch READs (their number follows
 *    the number of sequential readers, see ra_pool_new); every call is safe
 *    from any thread; one mutex per ra_file protects its segments and is
 *    never held across an RPC.  Lock order: ra_file.lock, then pool lock.
 */
#ifndef EFS_CACHE_READAHEAD_H
#define EFS_CACHE_READAHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "nfs4/nfs4_client.h"
#include "nfs4/nfs4_state.h"

#define RA_MAX_SEGMENTS 8
/* Prefetch workers per file being read sequentially (up to max_workers). */
#define RA_WORKERS_PER_READER 2

struct ra_pool;
struct ra_file;

/*
 * workers are started at once; more start, up to max_workers, while every
 * worker is busy and there are fewer than RA_WORKERS_PER_READER per file
 * read sequentially (they stay until ra_pool_free).
 */
struct ra_pool *ra_pool_new(struct nfs4_client *c, size_t cap, unsigned int workers,
			    unsigned int max_workers);
unsigned int ra_pool_workers(struct ra_pool *p);
void ra_pool_free(struct ra_pool *p);

/* Read-ahead of one open file, reading through op (a reference is held). */
struct ra_file *ra_file_new(struct ra_pool *p, struct nfs4_open *op);
/* Waits for this file's prefetches to finish, then frees everything. */
void ra_file_free(struct ra_file *f);
void ra_file_invalidate(struct ra_file *f);

/*
 * Read size bytes at off into buf with cred cr.  *got < size only at end of
 * file.  Sequential readers are served from prefetched segments.
 */
int ra_file_read(struct ra_file *f, const struct rpc_cred *cr, uint64_t off, size_t size, void *buf,
		 size_t *got);

/*
 * Zero copy: a reference-counted buffer, the READ reply record a segment
 * was received in (or a copy when a segment took several READs).  A view
 * is a reference plus the bytes it covers; release it after the FUSE reply
 * went out.  Any thread may put the last reference.
 */
struct ra_buf;
struct ra_view {
	struct ra_buf *buf;
	const uint8_t *data;
	size_t len;
};
struct ra_buf *ra_buf_alloc(size_t len); /* one reference; NULL on ENOMEM */
/* Take ownership of mem (free()d with the last reference); data..data+len in it. */
struct ra_buf *ra_buf_wrap(void *mem, const uint8_t *data, size_t len);
uint8_t *ra_buf_data(struct ra_buf *b);
struct ra_buf *ra_buf_get(struct ra_buf *b);
void ra_buf_put(struct ra_buf *b); /* NULL is fine */
/*
 * ra_file_read() without the copy: up to maxv views (*nv) of *got bytes at
 * off; *got < size at end of file or when maxv views were not enough.
 */
int ra_file_read_views(struct ra_file *f, const struct rpc_cred *cr, uint64_t off, size_t size,
		       struct ra_view *v, unsigned int maxv, unsigned int *nv, size_t *got);
void ra_views_release(struct ra_view *v, unsigned int n);
/* Bytes served from reply records (no copy) and bytes copied, since start. */
void ra_pool_get_stats(struct ra_pool *p, uint64_t *zc_bytes, uint64_t *copied_bytes);

#endif
