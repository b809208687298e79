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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cache/wbcache.h"
#include "nfs4/nfs4_err.h"
#include "util/log.h"

#define MAX_RANGES 8
#define GROW_STEP  (64 * 1024)
#define TICK_MS	   1000 /* the flushers' age check */
#define WAIT_MS	   100	/* a waiting writer re-checks its interrupt flag */

enum chunk_state { WB_DIRTY, WB_QUEUED, WB_WRITING, WB_UNSTABLE };

struct wb_range {
	uint32_t lo, hi;
};

struct wb_chunk {
	struct wb_file *file;
	uint64_t index;
	uint8_t *data;
	size_t alloc;
	size_t qbytes; /* counted in wb->inflight_bytes while QUEUED/WRITING */
	struct wb_range r[MAX_RANGES];
	unsigned int nr;
	enum chunk_state state;
	bool aged;	   /* queued for its age: commit once written */
	uint64_t dirty_ms; /* when it became DIRTY (on wb->dirty) */
	uint8_t verf[NFS4_VERIFIER_SIZE];
	uint64_t done_seq; /* file->done_seq when it became UNSTABLE */
	struct rpc_cred cred;
	struct nfs4_open *op;		/* the last writer's open (a reference) */
	struct wb_chunk *next;		/* in file->chunks */
	struct wb_chunk *qnext;		/* in wb->queue */
	struct wb_chunk *dprev, *dnext; /* in wb->dirty, oldest first, while DIRTY */
	bool on_dirty;
};

struct wb_file {
	struct wbcache *wb;
	struct nfs4_fh fh;
	struct wb_chunk *chunks; /* unordered list */
	struct wb_chunk *last;	 /* last chunk written to: sequential fast path */
	unsigned int inflight;	 /* chunks QUEUED or WRITING */
	size_t unstable_bytes;
	uint64_t unstable_ms; /* when unstable_bytes became > 0 */
	uint64_t done_seq;    /* bumped per completed WRITE of a chunk */
	bool committing, commit_again;
	struct wb_file *uprev, *unext; /* in wb->unstable while unstable_bytes > 0 */
	bool on_unstable;
	/* local size */
	uint64_t size;
	uint64_t settle_end; /* end of the data that landed since the last exact size */
	uint64_t land_seq;   /* bumped whenever data reaches the server */
	/*
	 * Reply ordering (as the Linux client's, by the change attribute): the
	 * newest change attribute a size was taken from, when, and whether our
	 * data landed after it (a reply with that same change predates it).
	 */
	uint64_t known_change, change_ms;
	bool have_change, landed_unseen;
	/* errseq */
	int err;
	uint64_t err_seq;
	bool err_seen;
	uint64_t fileid; /* for the log */
};

struct wbcache {
	struct nfs4_client *c;
	uint32_t csize;
	size_t cap, used, peak;
	unsigned int age_ms;
	pthread_mutex_t lock;
	pthread_cond_t cv;  /* any state change */
	pthread_cond_t qcv; /* the queue got work, or stopping */
	struct wb_chunk *qhead, *qtail;
	struct wb_chunk *dhead, *dtail; /* DIRTY chunks of every file, oldest first */
	struct wb_file *uhead, *utail;	/* files with UNSTABLE data, oldest first */
	size_t inflight_bytes;		/* chunks QUEUED or WRITING */
	unsigned int waiters;		/* writers waiting for room */
	pthread_t *threads;
	unsigned int nthreads;
	bool stopping;
	struct wbcache_stats stats;
};

static void *flusher_main(void *arg);
static unsigned int commit_file(struct wb_file *f, bool give_up);

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void wait_ms(pthread_cond_t *cv, pthread_mutex_t *m, unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(cv, m, &ts);
}

static void cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
}

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
	wb->age_ms = cfg->age_ms ? cfg->age_ms : 30000;
	pthread_mutex_init(&wb->lock, NULL);
	cond_init_mono(&wb->cv);
	cond_init_mono(&wb->qcv);
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
	pthread_cond_broadcast(&wb->cv);
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

struct wb_file *wb_file_new(struct wbcache *wb, const struct nfs4_fh *fh, uint64_t size)
{
	struct wb_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->wb = wb;
	f->fh = *fh;
	f->size = size;
	return f;
}

/* ---- the lists; wb->lock held ---- */

static void dirty_del(struct wb_chunk *ch)
{
	struct wbcache *wb = ch->file->wb;

	if (!ch->on_dirty)
		return;
	if (ch->dprev)
		ch->dprev->dnext = ch->dnext;
	else
		wb->dhead = ch->dnext;
	if (ch->dnext)
		ch->dnext->dprev = ch->dprev;
	else
		wb->dtail = ch->dprev;
	ch->dprev = ch->dnext = NULL;
	ch->on_dirty = false;
}

/* The chunk is DIRTY from now on (kept in place if it already was). */
static void set_dirty(struct wb_chunk *ch)
{
	struct wbcache *wb = ch->file->wb;

	ch->state = WB_DIRTY;
	if (ch->on_dirty)
		return;
	ch->dirty_ms = now_ms();
	ch->dnext = NULL;
	ch->dprev = wb->dtail;
	if (wb->dtail)
		wb->dtail->dnext = ch;
	else
		wb->dhead = ch;
	wb->dtail = ch;
	ch->on_dirty = true;
}

static void unstable_add(struct wb_file *f, size_t n)
{
	struct wbcache *wb = f->wb;

	f->unstable_bytes += n;
	if (f->on_unstable || !f->unstable_bytes)
		return;
	f->unstable_ms = now_ms();
	f->unext = NULL;
	f->uprev = wb->utail;
	if (wb->utail)
		wb->utail->unext = f;
	else
		wb->uhead = f;
	wb->utail = f;
	f->on_unstable = true;
}

static void unstable_sub(struct wb_file *f, size_t n)
{
	struct wbcache *wb = f->wb;

	f->unstable_bytes -= n;
	if (f->unstable_bytes || !f->on_unstable)
		return;
	if (f->uprev)
		f->uprev->unext = f->unext;
	else
		wb->uhead = f->unext;
	if (f->unext)
		f->unext->uprev = f->uprev;
	else
		wb->utail = f->uprev;
	f->uprev = f->unext = NULL;
	f->on_unstable = false;
}

/* ---- errors ---- */

static void err_record_locked(struct wb_file *f, int err)
{
	if (err >= 0)
		err = -EIO;
	f->err = err;
	f->err_seq++;
	f->err_seen = false;
}

void wb_file_err_record(struct wb_file *f, int err)
{
	pthread_mutex_lock(&f->wb->lock);
	err_record_locked(f, err);
	pthread_mutex_unlock(&f->wb->lock);
}

uint64_t wb_file_err_sample(struct wb_file *f)
{
	uint64_t s;

	pthread_mutex_lock(&f->wb->lock);
	s = f->err_seq;
	if (s && !f->err_seen)
		s--; /* nobody has seen the latest error: this open will */
	pthread_mutex_unlock(&f->wb->lock);
	return s;
}

int wb_file_err_check(struct wb_file *f, uint64_t *since, bool advance)
{
	int rc = 0;

	pthread_mutex_lock(&f->wb->lock);
	if (f->err_seq != *since) {
		rc = f->err;
		f->err_seen = true;
		if (advance)
			*since = f->err_seq;
	}
	pthread_mutex_unlock(&f->wb->lock);
	return rc;
}

/* ---- local size ---- */

static uint64_t chunk_end(const struct wb_chunk *ch)
{
	return ch->nr ? ch->file->wb->csize * ch->index + ch->r[ch->nr - 1].hi : 0;
}

/* The end of the data not yet on the server; wb->lock held. */
static uint64_t cached_end(struct wb_file *f)
{
	uint64_t end = 0, e;
	struct wb_chunk *ch;

	for (ch = f->chunks; ch; ch = ch->next) {
		e = chunk_end(ch);
		if (e > end)
			end = e;
	}
	return end;
}

uint64_t wb_file_size(struct wb_file *f)
{
	uint64_t s;

	pthread_mutex_lock(&f->wb->lock);
	s = f->size;
	pthread_mutex_unlock(&f->wb->lock);
	return s;
}

/* Take a reply's size; wb->lock held. */
static void size_take(struct wb_file *f, uint64_t server, uint64_t floor, const uint64_t *change)
{
	f->size = server > floor ? server : floor;
	if (change) {
		if (!f->have_change || *change != f->known_change)
			f->landed_unseen = false;
		f->known_change = *change;
		f->have_change = true;
		f->change_ms = now_ms();
	}
}

uint64_t wb_file_size_seen(struct wb_file *f, uint64_t server, const uint64_t *change)
{
	uint64_t floor, s;
	bool older = false;

	pthread_mutex_lock(&f->wb->lock);
	floor = cached_end(f);
	if (change && f->have_change && now_ms() - f->change_ms < WB_SIZE_SETTLE_MS)
		older = *change < f->known_change ||
			(*change == f->known_change && f->landed_unseen);
	if (older) {
		/* a reply overtaken by a newer one, or by our own data landing */
		if (f->landed_unseen && f->settle_end > floor)
			floor = f->settle_end;
		if (floor > f->size)
			f->size = floor;
	} else {
		if (!change && f->landed_unseen && f->settle_end > floor &&
		    now_ms() - f->change_ms < WB_SIZE_SETTLE_MS)
			floor = f->settle_end; /* no ordering known: not below what landed */
		size_take(f, server, floor, change);
	}
	s = f->size;
	pthread_mutex_unlock(&f->wb->lock);
	return s;
}

uint64_t wb_file_land_seq(struct wb_file *f)
{
	uint64_t s;

	pthread_mutex_lock(&f->wb->lock);
	s = f->land_seq;
	pthread_mutex_unlock(&f->wb->lock);
	return s;
}

uint64_t wb_file_size_seen_since(struct wb_file *f, uint64_t server, uint64_t sample,
				 const uint64_t *change)
{
	bool landed;
	uint64_t floor, s;

	pthread_mutex_lock(&f->wb->lock);
	floor = cached_end(f);
	landed = f->land_seq != sample;
	if (landed && f->settle_end > floor)
		floor = f->settle_end;
	size_take(f, server, floor, change);
	f->landed_unseen = landed;
	if (!landed)
		f->settle_end = 0; /* the reply is newer than all that landed */
	s = f->size;
	pthread_mutex_unlock(&f->wb->lock);
	return s;
}

void wb_file_size_set(struct wb_file *f, uint64_t size)
{
	pthread_mutex_lock(&f->wb->lock);
	f->size = size;
	if (f->settle_end > size)
		f->settle_end = size;
	pthread_mutex_unlock(&f->wb->lock);
}

uint64_t wb_file_append_reserve(struct wb_file *f, size_t len)
{
	uint64_t off;

	pthread_mutex_lock(&f->wb->lock);
	off = f->size;
	f->size += len;
	pthread_mutex_unlock(&f->wb->lock);
	return off;
}

void wb_file_append_unreserve(struct wb_file *f, uint64_t off, size_t len, size_t done)
{
	pthread_mutex_lock(&f->wb->lock);
	if (f->size == off + len && done < len)
		f->size = off + done;
	pthread_mutex_unlock(&f->wb->lock);
}

/* ---- chunks ---- */

/*
 * Unlink and free a chunk; wb->lock held, chunk not QUEUED/WRITING.
 * landed: its bytes are on the server (the local size must not drop below
 * them on a reply that left the server before they arrived).
 */
static void chunk_free(struct wb_chunk *ch, bool landed)
{
	struct wb_file *f = ch->file;
	struct wbcache *wb = f->wb;
	struct wb_chunk **pp;

	if (landed && chunk_end(ch)) {
		if (chunk_end(ch) > f->settle_end)
			f->settle_end = chunk_end(ch);
		f->landed_unseen = true;
		f->change_ms = now_ms();
		f->land_seq++;
	}
	dirty_del(ch);
	for (pp = &f->chunks; *pp; pp = &(*pp)->next)
		if (*pp == ch) {
			*pp = ch->next;
			break;
		}
	if (f->last == ch)
		f->last = NULL;
	if (ch->state == WB_UNSTABLE)
		unstable_sub(f, ch->alloc);
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

	err_record_locked(f, err == -EIO ? -EIO : -nfs4_err_to_errno(err));
	f->wb->stats.lost_bytes += n;
	efs_log(EFS_LOG_ERR, "write-back: file %llu: %llu bytes at %llu not written: %s",
		(unsigned long long)f->fileid, (unsigned long long)n,
		(unsigned long long)(ch->index * f->wb->csize + (ch->nr ? ch->r[0].lo : 0)),
		nfs4_err_name(err));
	ch->state = WB_DIRTY; /* chunk_free() expects not-in-flight */
	chunk_free(ch, false);
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
		chunk_free(f->chunks, false);
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

	dirty_del(ch);
	ch->state = WB_QUEUED;
	ch->qbytes = ch->alloc;
	wb->inflight_bytes += ch->qbytes;
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

/* Start a COMMIT of f here if none runs; wb->lock held, dropped meanwhile. */
static bool commit_now(struct wb_file *f)
{
	struct wbcache *wb = f->wb;

	if (f->committing) {
		f->commit_again = true;
		return false;
	}
	f->committing = true;
	pthread_mutex_unlock(&wb->lock);
	commit_file(f, false);
	pthread_mutex_lock(&wb->lock);
	return true;
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
	bool found;
	int rc;

	pthread_mutex_lock(&wb->lock);
again:
	found = false;
	f->commit_again = false;
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
			chunk_free(ch, true);
		} else if (give_up) {
			efs_log(EFS_LOG_ERR,
				"write-back: the server's write verifier keeps changing");
			chunk_lost(ch, -EIO);
		} else {
			resent++;
			/* The server lost unstable data: write it again. */
			unstable_sub(f, ch->alloc);
			ch->state = WB_DIRTY;
			wb->stats.resends++;
			enqueue(ch);
		}
	}
	if (rc)
		efs_log(EFS_LOG_WARN, "write-back COMMIT failed: %s", nfs4_err_name(rc));
	if (f->commit_again && !rc && !give_up)
		goto again;
	f->committing = false;
	f->commit_again = false;
	pthread_cond_broadcast(&wb->cv);
	pthread_mutex_unlock(&wb->lock);
	return resent;
}

/*
 * Wait for room for `need` more bytes; wb->lock held (dropped meanwhile).
 * Fair: the oldest dirty data of any file goes out first, and the writer
 * waits only for data in flight; a file whose data is all UNSTABLE is
 * committed.  -EINTR when the caller was interrupted, -ESHUTDOWN.
 */
static int make_room(struct wb_file *f, const struct rpc_cred *cr, size_t need)
{
	struct wbcache *wb = f->wb;
	bool counted = false;
	int rc = 0;

	while (wb->used + need > wb->cap) {
		size_t excess = wb->used + need - wb->cap;

		if (wb->stopping) {
			rc = -ESHUTDOWN;
			break;
		}
		if (rpc_cred_cancelled(cr)) {
			rc = -EINTR;
			break;
		}
		if (!counted) {
			counted = true;
			wb->waiters++;
			wb->stats.cap_waits++;
		}
		while (wb->inflight_bytes < excess && wb->dhead)
			enqueue(wb->dhead);
		if (wb->inflight_bytes < excess && wb->uhead) {
			struct wb_file *u;

			for (u = wb->uhead; u && u->committing; u = u->unext)
				;
			if (u && commit_now(u))
				continue;
		}
		wait_ms(&wb->cv, &wb->lock, WAIT_MS);
	}
	if (counted)
		wb->waiters--;
	return rc;
}

/* How much a buffer of old bytes must grow to hold hi (0: it does). */
static size_t grow_need(const struct wbcache *wb, size_t old, uint32_t hi, size_t *want)
{
	size_t w;

	if (hi <= old)
		return 0;
	w = ((size_t)hi + GROW_STEP - 1) / GROW_STEP * GROW_STEP;
	if (w < 2 * old)
		w = 2 * old;
	if (w > wb->csize)
		w = wb->csize;
	*want = w;
	return w - old;
}

/* Grow the chunk buffer to want bytes; wb->lock held, never dropped. */
static int chunk_grow(struct wb_chunk *ch, size_t want)
{
	struct wbcache *wb = ch->file->wb;
	size_t old = ch->alloc;
	uint8_t *p = realloc(ch->data, want);

	if (!p)
		return -ENOMEM;
	memset(p + old, 0, want - old);
	ch->data = p;
	ch->alloc = want;
	wb->used += want - old;
	if (ch->state == WB_UNSTABLE)
		unstable_add(ch->file, want - old);
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
	set_dirty(ch);
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
	size_t need, want = 0;
	int rc = 0;

	pthread_mutex_lock(&wb->lock);
	while (len) {
		uint64_t index = off / cs;
		uint32_t lo = (uint32_t)(off % cs);
		uint32_t n = (uint32_t)(len < cs - lo ? len : cs - lo);
		uint32_t hi = lo + n;

		if (wb->stopping) {
			rc = -ESHUTDOWN;
			break;
		}
		ch = chunk_find(f, index);
		if (ch && ch->state == WB_WRITING) {
			if (rpc_cred_cancelled(cr)) {
				rc = -EINTR;
				break;
			}
			wait_ms(&wb->cv, &wb->lock, WAIT_MS);
			continue;
		}
		if (ch && !ranges_can_add(ch, lo, hi)) {
			/* Too fragmented: write it out and commit, then retry. */
			if (ch->state == WB_DIRTY)
				enqueue(ch);
			if (!(ch->state == WB_UNSTABLE && !f->inflight && commit_now(f)))
				wait_ms(&wb->cv, &wb->lock, WAIT_MS);
			continue;
		}
		/*
		 * Room first, then look again: while make_room() waits, the
		 * chunk may be written, committed and freed by a flusher.
		 */
		need = grow_need(wb, ch ? ch->alloc : 0, hi, &want);
		if (need && wb->used + need > wb->cap) {
			rc = make_room(f, cr, need);
			if (rc)
				break;
			continue;
		}
		if (!ch) {
			ch = chunk_new(f, index);
			if (!ch) {
				rc = -ENOMEM;
				break;
			}
		}
		if (need) {
			rc = chunk_grow(ch, want);
			if (rc)
				break;
		}
		memcpy(ch->data + lo, src, n);
		ranges_add(ch, lo, hi);
		if (ch->state == WB_UNSTABLE) {
			unstable_sub(f, ch->alloc);
			set_dirty(ch);
		}
		ch->cred = rpc_cred_keep(cr);
		if (ch->op != op) {
			nfs4_open_hold(op);
			if (ch->op)
				nfs4_open_put(wb->c, ch->op);
			ch->op = op;
		}
		f->last = ch;
		if (off + n > f->size)
			f->size = off + n;
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

/* Queue dirty data older than the age limit; wb->lock held. */
static void age_scan(struct wbcache *wb, uint64_t now)
{
	while (wb->dhead && now - wb->dhead->dirty_ms >= wb->age_ms) {
		wb->dhead->aged = true;
		wb->stats.aged++;
		enqueue(wb->dhead);
	}
}

/* Commit the oldest file whose unstable data is older than the limit. */
static bool age_commit(struct wbcache *wb, uint64_t now)
{
	struct wb_file *u;

	for (u = wb->uhead; u; u = u->unext) {
		if (now - u->unstable_ms < wb->age_ms)
			return false;
		if (!u->committing && !u->inflight)
			return commit_now(u);
	}
	return false;
}

/* Send one chunk's ranges; no lock held.  0 or -NFS4ERR_x / -errno. */
static int chunk_send(struct wbcache *wb, struct wb_chunk *ch, const struct wb_range *r,
		      unsigned int nr, const struct rpc_cred *cred, struct nfs4_open *op,
		      uint8_t first[NFS4_VERIFIER_SIZE], uint64_t *sent, bool *all_stable,
		      bool *same_verf)
{
	uint8_t verf[NFS4_VERIFIER_SIZE];
	uint64_t base = ch->index * wb->csize;
	unsigned int i;
	int rc = 0;

	for (i = 0; i < nr && !rc; i++) {
		uint32_t pos = r[i].lo;

		while (pos < r[i].hi) {
			uint32_t written = 0, committed = UNSTABLE4;

			rc = nfs4_write_open(wb->c, cred, op, base + pos, ch->data + pos,
					     r[i].hi - pos, UNSTABLE4, &written, &committed, verf);
			if (!rc && written == 0)
				rc = -EIO;
			if (rc)
				break;
			if (*sent == 0)
				memcpy(first, verf, NFS4_VERIFIER_SIZE);
			else if (memcmp(first, verf, NFS4_VERIFIER_SIZE))
				*same_verf = false;
			if (committed != FILE_SYNC4)
				*all_stable = false;
			pos += written;
			*sent += written;
		}
	}
	return rc;
}

static void *flusher_main(void *arg)
{
	struct wbcache *wb = arg;
	struct wb_chunk *ch;
	struct wb_range r[MAX_RANGES];
	uint8_t first[NFS4_VERIFIER_SIZE];
	struct rpc_cred cred;
	struct nfs4_open *op;
	struct wb_file *f;
	unsigned int nr;
	uint64_t sent, now;
	bool all_stable, same_verf;
	int rc;

	pthread_mutex_lock(&wb->lock);
	for (;;) {
		while (!wb->qhead && !wb->stopping) {
			now = now_ms();
			age_scan(wb, now);
			if (wb->qhead)
				break;
			if (age_commit(wb, now))
				continue;
			wait_ms(&wb->qcv, &wb->lock, TICK_MS);
		}
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
		pthread_mutex_unlock(&wb->lock);

		sent = 0;
		all_stable = true;
		same_verf = true;
		rc = chunk_send(wb, ch, r, nr, &cred, op, first, &sent, &all_stable, &same_verf);

		pthread_mutex_lock(&wb->lock);
		f->inflight--;
		wb->inflight_bytes -= ch->qbytes;
		ch->qbytes = 0;
		wb->stats.writes++;
		wb->stats.write_bytes += sent;
		if (rc) {
			chunk_lost(ch, rc);
		} else if (all_stable) {
			ch->state = WB_DIRTY;
			chunk_free(ch, true);
		} else if (!same_verf) {
			ch->state = WB_DIRTY;
			wb->stats.resends++;
			enqueue(ch);
		} else {
			bool aged = ch->aged;

			ch->aged = false;
			ch->state = WB_UNSTABLE;
			memcpy(ch->verf, first, sizeof(first));
			ch->done_seq = ++f->done_seq;
			unstable_add(f, ch->alloc);
			/*
			 * Commit early under memory pressure (so writers
			 * stream), and data written for its age.
			 */
			if (f->unstable_bytes >= wb->cap / 4 || wb->waiters || aged) {
				pthread_cond_broadcast(&wb->cv);
				commit_now(f);
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

int wb_file_flush(struct wb_file *f, const struct rpc_cred *cr)
{
	struct wbcache *wb = f->wb;
	unsigned int rounds = 0;
	uint64_t seq;
	int rc = 0;

	pthread_mutex_lock(&wb->lock);
	seq = f->err_seq;
	for (;;) {
		queue_dirty(f, 0, 0);
		while ((f->inflight || f->committing) && !rpc_cred_cancelled(cr))
			wait_ms(&wb->cv, &wb->lock, WAIT_MS);
		if (f->inflight || f->committing) {
			pthread_mutex_unlock(&wb->lock);
			return -EINTR;
		}
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
	if (f->err_seq != seq)
		rc = f->err;
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
	    !f->committing && ch->r[0].hi - ch->r[0].lo <= max && ch->op) {
		/* In flight like a flusher's chunk: writers wait, nothing is lost. */
		dirty_del(ch);
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
		chunk_free(ch, true);
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
		e = chunk_end(ch);
		if (e > end)
			end = e;
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

void wbcache_dump(struct wbcache *wb, void (*line)(void *arg, const char *text), void *arg)
{
	struct {
		struct wb_file *f;
		uint64_t bytes, oldest_ms;
	} per[32];
	unsigned int n = 0, i, more = 0;
	uint64_t now = now_ms();
	char buf[160];

	pthread_mutex_lock(&wb->lock);
	for (struct wb_chunk *ch = wb->dhead; ch; ch = ch->dnext) {
		for (i = 0; i < n && per[i].f != ch->file; i++)
			;
		if (i == n) {
			if (n == sizeof(per) / sizeof(per[0])) {
				more++;
				continue;
			}
			per[n].f = ch->file;
			per[n].bytes = 0;
			per[n].oldest_ms = now - ch->dirty_ms; /* the list is oldest first */
			n++;
		}
		per[i].bytes += chunk_bytes(ch);
	}
	snprintf(buf, sizeof(buf), "write-back: %zu bytes cached (cap %zu), %zu in flight",
		 wb->used, wb->cap, (size_t)wb->inflight_bytes);
	for (i = 0; i < n; i++) {
		if (i == 0) {
			pthread_mutex_unlock(&wb->lock);
			line(arg, buf);
			pthread_mutex_lock(&wb->lock);
		}
		snprintf(buf, sizeof(buf), "dirty: file %llu, %llu bytes, oldest %llu ms",
			 (unsigned long long)per[i].f->fileid, (unsigned long long)per[i].bytes,
			 (unsigned long long)per[i].oldest_ms);
		pthread_mutex_unlock(&wb->lock);
		line(arg, buf);
		pthread_mutex_lock(&wb->lock);
	}
	pthread_mutex_unlock(&wb->lock);
	if (n == 0)
		line(arg, buf);
	if (more)
		line(arg, "dirty: (more files not shown)");
}
