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

#endif
