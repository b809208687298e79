/*
 * wbcache.c - write-back data cache; see include/cache/wbcache.h.
 *
 * A chunk covers [index * csize, (index + 1) * csize) of one file, where
 * csize is the negotiated wsize.  Its bytes that the server has not yet
 * committed are described by up to MAX_RANGES byte ranges.  States:
 *   DIRTY    ranges not yet written (or changed since)
 *   QUEUED   on the flush queue
 *   WRITING  a flusher is sending its ranges (buffer is read-only)
 *   UNSTABLE written UNSTABLE4; kept until a COMMIT with the same verifier
 * A COMMIT frees UNSTABLE chunks whose verifier matches, and sends the
 * others back to DIRTY (the server lost them: RFC 8881 section 18.3.3).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "cache/wbcache.h"
#include "nfs4/nfs4_err.h"
#include "util/log.h"

#define MAX_RANGES 8
#define GROW_STEP  (64 * 1024)

enum chunk_state { WB_DIRTY, WB_QUEUED, WB_WRITING, WB_UNSTABLE };

struct wb_range {
	uint32_t lo, hi;
};

struct wb_chunk {
	struct wb_file *file;
	uint64_t index;
	uint8_t *data;
	size_t alloc;
	struct wb_range r[MAX_RANGES];
	unsigned int nr;
	enum chunk_state state;
	uint8_t verf[NFS4_VERIFIER_SIZE];
	uint64_t done_seq; /* file->done_seq when it became UNSTABLE */
	struct rpc_cred cred;
	struct nfs4_open *op;	/* the last writer's open (a reference) */
	struct wb_chunk *next;	/* in file->chunks */
	struct wb_chunk *qnext; /* in wb->queue */
};

struct wb_file {
	struct wbcache *wb;
	struct nfs4_fh fh;
	struct wb_chunk *chunks; /* unordered list */
	struct wb_chunk *last;	 /* last chunk written to: sequential fast path */
	unsigned int inflight;	 /* chunks QUEUED or WRITING */
	size_t unstable_bytes;
	uint64_t done_seq; /* bumped per completed WRITE of a chunk */
	bool committing;
	int error;	 /* first error since the last flush, -errno */
	uint64_t fileid; /* for the log */
};

struct wbcache {
	struct nfs4_client *c;
	uint32_t csize;
	size_t cap, used, peak;
	pthread_mutex_t lock;
	pthread_cond_t cv;  /* any state change */
	pthread_cond_t qcv; /* the queue got work, or stopping */
	struct wb_chunk *qhead, *qtail;
	pthread_t *threads;
	unsigned int nthreads;
	bool stopping;
	struct wbcache_stats stats;
};

static void *flusher_main(void *arg);

struct wbcache *wbcache_new(struct nfs4_client *c, const struct wbcache_cfg *cfg)
{
	struct wbcache *wb = calloc(1, sizeof(*wb));
	unsigned int i;

	if (!wb)
		return NULL;
	wb->c = c;
	wb->csize = nfs4_client_wsize(c);
	wb->cap = cfg->cap ? cfg->cap : 256u << 20;
	if (wb->cap < 2 * (size_t)wb->csize)
		wb->cap = 2 * (size_t)wb->csize;
	pthread_mutex_init(&wb->lock, NULL);
	pthread_cond_init(&wb->cv, NULL);
	pthread_cond_init(&wb->qcv, NULL);
	wb->nthreads = cfg->flushers ? cfg->flushers : 4;
	wb->threads = calloc(wb->nthreads, sizeof(*wb->threads));
	if (!wb->threads) {
		free(wb);
		return NULL;
	}
	for (i = 0; i < wb->nthreads; i++) {
		if (pthread_create(&wb->threads[i], NULL, flusher_main, wb)) {
			wb->nthreads = i;
			break;
		}
	}
	return wb;
}

void wbcache_free(struct wbcache *wb)
{
	unsigned int i;

	if (!wb)
		return;
	pthread_mutex_lock(&wb->lock);
	wb->stopping = true;
	pthread_cond_broadcast(&wb->qcv);
	pthread_mutex_unlock(&wb->lock);
	for (i = 0; i < wb->nthreads; i++)
		pthread_join(wb->threads[i], NULL);
	free(wb->threads);
	pthread_mutex_destroy(&wb->lock);
	pthread_cond_destroy(&wb->cv);
	pthread_cond_destroy(&wb->qcv);
	free(wb);
}

void wbcache_get_stats(struct wbcache *wb, struct wbcache_stats *st)
{
	pthread_mutex_lock(&wb->lock);
	*st = wb->stats;
	st->used = wb->used;
	st->peak = wb->peak;
	pthread_mutex_unlock(&wb->lock);
}

struct wb_file *wb_file_new(struct wbcache *wb, const struct nfs4_fh *fh)
{
	struct wb_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->wb = wb;
	f->fh = *fh;
	return f;
}

/* Unlink and free a chunk; wb->lock held, chunk not QUEUED/WRITING. */
static void chunk_free(struct wb_chunk *ch)
{
	struct wb_file *f = ch->file;
	struct wbcache *wb = f->wb;
	struct wb_chunk **pp;

	for (pp = &f->chunks; *pp; pp = &(*pp)->next)
		if (*pp == ch) {
			*pp = ch->next;
			break;
		}
	if (f->last == ch)
		f->last = NULL;
	if (ch->state == WB_UNSTABLE)
		f->unstable_bytes -= ch->alloc;
	wb->used -= ch->alloc;
	if (ch->op)
		nfs4_open_put(wb->c, ch->op);
	free(ch->data);
	free(ch);
	pthread_cond_broadcast(&wb->cv);
}

/* Bytes of a chunk the server does not have yet (its ranges). */
static uint64_t chunk_bytes(const struct wb_chunk *ch)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < ch->nr; i++)
		n += ch->r[i].hi - ch->r[i].lo;
	return n ? n : ch->alloc;
}

/*
 * A chunk's data cannot reach the server (err: -NFS4ERR_x or -errno): the
 * error goes to the file's next flush, the loss to the log (file and bytes)
 * and to the lost_bytes counter.  wb->lock held; not in flight.
 */
static void chunk_lost(struct wb_chunk *ch, int err)
{
	struct wb_file *f = ch->file;
	uint64_t n = chunk_bytes(ch);

	if (!f->error)
		f->error = err == -EIO ? -EIO : -nfs4_err_to_errno(err);
	f->wb->stats.lost_bytes += n;
	efs_log(EFS_LOG_ERR, "write-back: file %llu: %llu bytes at %llu not written: %s",
		(unsigned long long)f->fileid, (unsigned long long)n,
		(unsigned long long)(ch->index * f->wb->csize + (ch->nr ? ch->r[0].lo : 0)),
		nfs4_err_name(err));
	ch->state = WB_DIRTY; /* chunk_free() expects not-in-flight */
	chunk_free(ch);
}

void wb_file_set_fileid(struct wb_file *f, uint64_t fileid)
{
	pthread_mutex_lock(&f->wb->lock);
	f->fileid = fileid;
	pthread_mutex_unlock(&f->wb->lock);
}

void wb_file_free(struct wb_file *f)
{
	struct wbcache *wb;

	if (!f)
		return;
	wb = f->wb;
	pthread_mutex_lock(&wb->lock);
	while (f->inflight || f->committing)
		pthread_cond_wait(&wb->cv, &wb->lock);
	while (f->chunks)
		chunk_free(f->chunks);
	pthread_mutex_unlock(&wb->lock);
	free(f);
}

void wb_file_set_fh(struct wb_file *f, const struct nfs4_fh *fh)
{
	pthread_mutex_lock(&f->wb->lock);
	f->fh = *fh;
	pthread_mutex_unlock(&f->wb->lock);
}

static struct wb_chunk *chunk_find(struct wb_file *f, uint64_t index)
{
	struct wb_chunk *ch;

	if (f->last && f->last->index == index)
		return f->last;
	for (ch = f->chunks; ch; ch = ch->next)
		if (ch->index == index)
			return ch;
	return NULL;
}

static void enqueue(struct wb_chunk *ch)
{
	struct wbcache *wb = ch->file->wb;

	ch->state = WB_QUEUED;
	ch->qnext = NULL;
	if (wb->qtail)
		wb->qtail->qnext = ch;
	else
		wb->qhead = ch;
	wb->qtail = ch;
	ch->file->inflight++;
	pthread_cond_signal(&wb->qcv);
}

/* Queue every DIRTY chunk of f (overlapping [lo, hi) if hi > lo). */
static void queue_dirty(struct wb_file *f, uint64_t lo, uint64_t hi)
{
	uint64_t cs = f->wb->csize;
	struct wb_chunk *ch;

	for (ch = f->chunks; ch; ch = ch->next) {
		if (ch->state != WB_DIRTY)
			continue;
		if (hi > lo && (ch->index * cs >= hi || (ch->index + 1) * cs <= lo))
			continue;
		enqueue(ch);
	}
}

/* Add [lo, hi) to the chunk's ranges, merging; false when out of slots. */
static bool ranges_add(struct wb_chunk *ch, uint32_t lo, uint32_t hi)
{
	unsigned int i, j;

	for (i = 0; i < ch->nr; i++) {
		if (hi < ch->r[i].lo || lo > ch->r[i].hi)
			continue;
		/* Overlapping or adjacent: absorb and re-merge with the rest. */
		lo = lo < ch->r[i].lo ? lo : ch->r[i].lo;
		hi = hi > ch->r[i].hi ? hi : ch->r[i].hi;
		ch->r[i] = ch->r[--ch->nr];
		i = (unsigned int)-1;
	}
	if (ch->nr == MAX_RANGES)
		return false;
	/* Keep ranges sorted by lo (insertion). */
	for (j = ch->nr; j > 0 && ch->r[j - 1].lo > lo; j--)
		ch->r[j] = ch->r[j - 1];
	ch->r[j].lo = lo;
	ch->r[j].hi = hi;
	ch->nr++;
	return true;
}

static bool ranges_can_add(const struct wb_chunk *ch, uint32_t lo, uint32_t hi)
{
	unsigned int i;

	if (ch->nr < MAX_RANGES)
		return true;
	for (i = 0; i < ch->nr; i++)
		if (!(hi < ch->r[i].lo || lo > ch->r[i].hi))
			return true;
	return false;
}

#define MAX_RESEND_ROUNDS 3

/*
 * COMMIT the file and settle its UNSTABLE chunks.  Called without wb->lock,
 * with f->committing set by the caller; clears it.  give_up: a verifier
 * mismatch is -EIO instead of another resend (a server whose verifier never
 * settles must not keep a flush looping for ever).  Returns the number of
 * chunks sent back for rewriting.
 */
static unsigned int commit_file(struct wb_file *f, bool give_up)
{
	unsigned int resent = 0;
	struct wbcache *wb = f->wb;
	struct wb_chunk *ch, *next;
	struct rpc_cred cred;
	struct nfs4_fh fh;
	uint8_t verf[NFS4_VERIFIER_SIZE];
	uint64_t upto;
	bool found = false;
	int rc;

	pthread_mutex_lock(&wb->lock);
	upto = f->done_seq;
	fh = f->fh;
	for (ch = f->chunks; ch; ch = ch->next)
		if (ch->state == WB_UNSTABLE) {
			cred = ch->cred;
			found = true;
			break;
		}
	pthread_mutex_unlock(&wb->lock);
	rc = found ? nfs4_commit(wb->c, &cred, &fh, 0, 0, verf) : 0;
	pthread_mutex_lock(&wb->lock);
	if (found)
		wb->stats.commits++;
	for (ch = f->chunks; found && ch; ch = next) {
		next = ch->next;
		if (ch->state != WB_UNSTABLE || ch->done_seq > upto)
			continue;
		if (rc) {
			chunk_lost(ch, rc);
		} else if (memcmp(ch->verf, verf, sizeof(verf)) == 0) {
			chunk_free(ch);
		} else if (give_up) {
			efs_log(EFS_LOG_ERR,
				"write-back: the server's write verifier keeps changing");
			chunk_lost(ch, -EIO);
		} else {
			resent++;
			/* The server lost unstable data: write it again. */
			f->unstable_bytes -= ch->alloc;
			ch->state = WB_DIRTY;
			wb->stats.resends++;
			enqueue(ch);
		}
	}
	if (rc)
		efs_log(EFS_LOG_WARN, "write-back COMMIT failed: %s", nfs4_err_name(rc));
	f->committing = false;
	pthread_cond_broadcast(&wb->cv);
	pthread_mutex_unlock(&wb->lock);
	return resent;
}

/* Wait for room for `need` more bytes; wb->lock held (may be dropped). */
static int make_room(struct wb_file *f, size_t need)
{
	struct wbcache *wb = f->wb;

	while (wb->used + need > wb->cap) {
		if (wb->stopping)
			return -ESHUTDOWN;
		/* Push our own dirty data out; a COMMIT frees UNSTABLE chunks. */
		queue_dirty(f, 0, 0);
		if (!f->inflight && !f->committing && f->unstable_bytes) {
			f->committing = true;
			pthread_mutex_unlock(&wb->lock);
			commit_file(f, false);
			pthread_mutex_lock(&wb->lock);
			continue;
		}
		pthread_cond_wait(&wb->cv, &wb->lock);
	}
	return 0;
}

/* Grow the chunk buffer to hold hi bytes; wb->lock held, may be dropped. */
static int chunk_grow(struct wb_chunk *ch, uint32_t hi)
{
	struct wbcache *wb = ch->file->wb;
	size_t want, old = ch->alloc;
	uint8_t *p;
	int rc;

	if (hi <= ch->alloc)
		return 0;
	want = ((size_t)hi + GROW_STEP - 1) / GROW_STEP * GROW_STEP;
	if (want < 2 * old)
		want = 2 * old;
	if (want > wb->csize)
		want = wb->csize;
	rc = make_room(ch->file, want - old);
	if (rc)
		return rc;
	if (ch->alloc != old || ch->state == WB_WRITING)
		return -EAGAIN; /* changed while we waited: caller retries */
	p = realloc(ch->data, want);
	if (!p)
		return -ENOMEM;
	memset(p + old, 0, want - old);
	ch->data = p;
	ch->alloc = want;
	wb->used += want - old;
	if (ch->state == WB_UNSTABLE)
		ch->file->unstable_bytes += want - old;
	if (wb->used > wb->peak)
		wb->peak = wb->used;
	return 0;
}

static struct wb_chunk *chunk_new(struct wb_file *f, uint64_t index)
{
	struct wb_chunk *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return NULL;
	ch->file = f;
	ch->index = index;
	ch->state = WB_DIRTY;
	ch->next = f->chunks;
	f->chunks = ch;
	return ch;
}

int wb_file_write(struct wb_file *f, const struct rpc_cred *cr, struct nfs4_open *op, uint64_t off,
		  const void *buf, size_t len)
{
	struct wbcache *wb = f->wb;
	const uint8_t *src = buf;
	struct wb_chunk *ch;
	uint64_t cs = wb->csize;
	int rc = 0;

	pthread_mutex_lock(&wb->lock);
	while (len) {
		uint64_t index = off / cs;
		uint32_t lo = (uint32_t)(off % cs);
		uint32_t n = (uint32_t)(len < cs - lo ? len : cs - lo);
		uint32_t hi = lo + n;

		ch = chunk_find(f, index);
		if (ch && ch->state == WB_WRITING) {
			pthread_cond_wait(&wb->cv, &wb->lock);
			continue;
		}
		if (ch && !ranges_can_add(ch, lo, hi)) {
			/* Too fragmented: write it out and commit, then retry. */
			if (ch->state == WB_DIRTY)
				enqueue(ch);
			if (ch->state == WB_UNSTABLE && !f->committing && !f->inflight) {
				f->committing = true;
				pthread_mutex_unlock(&wb->lock);
				commit_file(f, false);
				pthread_mutex_lock(&wb->lock);
			} else {
				pthread_cond_wait(&wb->cv, &wb->lock);
			}
			continue;
		}
		if (!ch) {
			rc = make_room(f, GROW_STEP);
			if (rc)
				break;
			if (chunk_find(f, index))
				continue; /* someone else created it meanwhile */
			ch = chunk_new(f, index);
			if (!ch) {
				rc = -ENOMEM;
				break;
			}
		}
		rc = chunk_grow(ch, hi);
		if (rc == -EAGAIN) {
			rc = 0;
			continue;
		}
		if (rc)
			break;
		memcpy(ch->data + lo, src, n);
		ranges_add(ch, lo, hi);
		if (ch->state == WB_UNSTABLE) {
			f->unstable_bytes -= ch->alloc;
			ch->state = WB_DIRTY;
		}
		ch->cred = rpc_cred_keep(cr);
		if (ch->op != op) {
			nfs4_open_hold(op);
			if (ch->op)
				nfs4_open_put(wb->c, ch->op);
			ch->op = op;
		}
		f->last = ch;
		/* A full chunk streams out at once. */
		if (ch->state == WB_DIRTY && ch->nr == 1 && ch->r[0].lo == 0 && ch->r[0].hi == cs)
			enqueue(ch);
		off += n;
		src += n;
		len -= n;
	}
	pthread_mutex_unlock(&wb->lock);
	return rc;
}

static void *flusher_main(void *arg)
{
	struct wbcache *wb = arg;
	struct wb_chunk *ch;
	struct wb_range r[MAX_RANGES];
	uint8_t verf[NFS4_VERIFIER_SIZE], first[NFS4_VERIFIER_SIZE];
	struct rpc_cred cred;
	struct nfs4_open *op;
	struct wb_file *f;
	unsigned int nr, i;
	uint64_t base, sent;
	bool all_stable, same_verf;
	int rc;

	pthread_mutex_lock(&wb->lock);
	for (;;) {
		while (!wb->qhead && !wb->stopping)
			pthread_cond_wait(&wb->qcv, &wb->lock);
		if (!wb->qhead)
			break;
		ch = wb->qhead;
		wb->qhead = ch->qnext;
		if (!wb->qhead)
			wb->qtail = NULL;
		ch->state = WB_WRITING;
		f = ch->file;
		nr = ch->nr;
		memcpy(r, ch->r, sizeof(r));
		cred = ch->cred;
		op = ch->op; /* the chunk's reference keeps it while WRITING */
		base = ch->index * wb->csize;
		pthread_mutex_unlock(&wb->lock);

		rc = 0;
		sent = 0;
		all_stable = true;
		same_verf = true;
		for (i = 0; i < nr && !rc; i++) {
			uint32_t pos = r[i].lo;

			while (pos < r[i].hi) {
				uint32_t written = 0, committed = UNSTABLE4;

				rc = nfs4_write_open(wb->c, &cred, op, base + pos, ch->data + pos,
						     r[i].hi - pos, UNSTABLE4, &written, &committed,
						     verf);
				if (!rc && written == 0)
					rc = -EIO;
				if (rc)
					break;
				if (sent == 0)
					memcpy(first, verf, sizeof(first));
				else if (memcmp(first, verf, sizeof(first)))
					same_verf = false;
				if (committed != FILE_SYNC4)
					all_stable = false;
				pos += written;
				sent += written;
			}
		}

		pthread_mutex_lock(&wb->lock);
		f->inflight--;
		wb->stats.writes++;
		wb->stats.write_bytes += sent;
		if (rc) {
			chunk_lost(ch, rc);
		} else if (all_stable) {
			ch->state = WB_DIRTY;
			chunk_free(ch);
		} else if (!same_verf) {
			ch->state = WB_DIRTY;
			wb->stats.resends++;
			enqueue(ch);
		} else {
			ch->state = WB_UNSTABLE;
			memcpy(ch->verf, first, sizeof(first));
			ch->done_seq = ++f->done_seq;
			f->unstable_bytes += ch->alloc;
			/* Commit early under memory pressure so the writer streams. */
			if (f->unstable_bytes >= wb->cap / 4 && !f->committing) {
				f->committing = true;
				pthread_cond_broadcast(&wb->cv);
				pthread_mutex_unlock(&wb->lock);
				commit_file(f, false);
				pthread_mutex_lock(&wb->lock);
			}
		}
		pthread_cond_broadcast(&wb->cv);
	}
	pthread_mutex_unlock(&wb->lock);
	return NULL;
}

static bool has_state(struct wb_file *f, enum chunk_state st)
{
	struct wb_chunk *ch;

	for (ch = f->chunks; ch; ch = ch->next)
		if (ch->state == st)
			return true;
	return false;
}

int wb_file_flush(struct wb_file *f)
{
	struct wbcache *wb = f->wb;
	unsigned int rounds = 0;
	int rc;

	pthread_mutex_lock(&wb->lock);
	for (;;) {
		queue_dirty(f, 0, 0);
		while (f->inflight || f->committing)
			pthread_cond_wait(&wb->cv, &wb->lock);
		if (has_state(f, WB_DIRTY))
			continue;
		if (has_state(f, WB_UNSTABLE)) {
			f->committing = true;
			pthread_mutex_unlock(&wb->lock);
			if (commit_file(f, rounds >= MAX_RESEND_ROUNDS))
				rounds++;
			pthread_mutex_lock(&wb->lock);
			continue;
		}
		break;
	}
	rc = f->error;
	f->error = 0;
	pthread_mutex_unlock(&wb->lock);
	return rc;
}

int wb_file_writeout(struct wb_file *f, uint64_t off, uint64_t len)
{
	struct wbcache *wb = f->wb;
	uint64_t cs = wb->csize, hi = off + len;
	struct wb_chunk *ch;
	bool busy;

	pthread_mutex_lock(&wb->lock);
	queue_dirty(f, off, hi);
	do {
		busy = false;
		for (ch = f->chunks; ch; ch = ch->next)
			if ((ch->state == WB_QUEUED || ch->state == WB_WRITING) &&
			    ch->index * cs < hi && (ch->index + 1) * cs > off)
				busy = true;
		if (busy)
			pthread_cond_wait(&wb->cv, &wb->lock);
	} while (busy);
	pthread_mutex_unlock(&wb->lock);
	return 0;
}

int wb_file_take_small(struct wb_file *f, uint32_t max, struct wb_small *out)
{
	struct wbcache *wb = f->wb;
	struct wb_chunk *ch;
	int taken = 0;

	pthread_mutex_lock(&wb->lock);
	ch = f->chunks;
	if (ch && !ch->next && ch->state == WB_DIRTY && ch->nr == 1 && !f->inflight &&
	    !f->committing && ch->r[0].hi - ch->r[0].lo <= max && !f->error && ch->op) {
		/* In flight like a flusher's chunk: writers wait, nothing is lost. */
		ch->state = WB_WRITING;
		f->inflight++;
		out->chunk = ch;
		out->off = ch->index * wb->csize + ch->r[0].lo;
		out->len = ch->r[0].hi - ch->r[0].lo;
		out->data = ch->data + ch->r[0].lo;
		out->cred = ch->cred;
		out->op = ch->op;
		taken = 1;
	}
	pthread_mutex_unlock(&wb->lock);
	return taken;
}

void wb_file_small_done(struct wb_file *f, struct wb_small *sm, int rc)
{
	struct wbcache *wb = f->wb;
	struct wb_chunk *ch = sm->chunk;

	pthread_mutex_lock(&wb->lock);
	f->inflight--;
	ch->state = WB_DIRTY;
	if (rc == 0) {
		wb->stats.writes++;
		wb->stats.write_bytes += sm->len;
		chunk_free(ch);
	} else if (rc != -EAGAIN) {
		chunk_lost(ch, rc);
	}
	pthread_cond_broadcast(&wb->cv);
	pthread_mutex_unlock(&wb->lock);
}

uint64_t wb_file_end(struct wb_file *f)
{
	struct wbcache *wb = f->wb;
	struct wb_chunk *ch;
	uint64_t end = 0, e;

	pthread_mutex_lock(&wb->lock);
	for (ch = f->chunks; ch; ch = ch->next) {
		for (unsigned int i = 0; i < ch->nr; i++) {
			e = ch->index * wb->csize + ch->r[i].hi;
			if (e > end)
				end = e;
		}
	}
	pthread_mutex_unlock(&wb->lock);
	return end;
}

bool wb_file_busy(struct wb_file *f)
{
	bool busy;

	pthread_mutex_lock(&f->wb->lock);
	busy = f->chunks != NULL;
	pthread_mutex_unlock(&f->wb->lock);
	return busy;
}
