/*
 * readahead.c - sequential prefetch for one open file; see
 * include/cache/readahead.h.  Segments are rsize bytes, aligned.  The
 * segment a reader needs right now is loaded by the reader itself (no queue
 * latency); the ones ahead of it are loaded by the pool's workers.
 *
 * Zero copy (issue 10): a segment is the READ reply record itself (struct
 * ra_buf around it, reference-counted); readers get views into it
 * (ra_file_read_views) that the FUSE reply sends from.  Only a segment that
 * took several READs (a short answer before end of file) is copied into a
 * buffer of its own.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "cache/readahead.h"

struct ra_buf {
	_Atomic unsigned int refs;
	void *mem; /* freed with the last reference */
	uint8_t *data;
	size_t len;
};

struct ra_buf *ra_buf_alloc(size_t len)
{
	struct ra_buf *b = malloc(sizeof(*b));

	if (!b)
		return NULL;
	b->mem = malloc(len ? len : 1);
	if (!b->mem) {
		free(b);
		return NULL;
	}
	atomic_init(&b->refs, 1);
	b->data = b->mem;
	b->len = len;
	return b;
}

struct ra_buf *ra_buf_wrap(void *mem, const uint8_t *data, size_t len)
{
	struct ra_buf *b = malloc(sizeof(*b));

	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	b->mem = mem;
	b->data = (uint8_t *)data;
	b->len = len;
	return b;
}

uint8_t *ra_buf_data(struct ra_buf *b)
{
	return b->data;
}

struct ra_buf *ra_buf_get(struct ra_buf *b)
{
	atomic_fetch_add(&b->refs, 1);
	return b;
}

void ra_buf_put(struct ra_buf *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
		free(b->mem);
		free(b);
	}
}

enum seg_state { SEG_FREE, SEG_LOADING, SEG_READY, SEG_FAILED };

struct ra_seg {
	enum seg_state state;
	uint64_t off;
	uint32_t len;
	bool eof;
	int err;
	unsigned int gen;
	struct ra_buf *buf; /* READY: the bytes (a reference) */
};

struct ra_file {
	struct ra_pool *pool;
	struct nfs4_open *op; /* the open it reads through (a reference) */
	pthread_mutex_t lock; /* protects everything below */
	pthread_cond_t cv;
	struct rpc_cred cred; /* the last reader's */
	struct ra_seg seg[RA_MAX_SEGMENTS];
	uint64_t next_off;
	unsigned int window;
	unsigned int loading;
	unsigned int gen;
	uint64_t eof_off; /* UINT64_MAX until a READ saw end of file */
	bool seq;	  /* counted in pool->nseq (window > 0) */
};

struct ra_job {
	struct ra_file *f;
	unsigned int slot, gen;
	struct ra_job *next;
};

struct ra_pool {
	struct nfs4_client *c;
	uint32_t segsize;
	size_t cap, used; /* bytes of segment buffers (under lock) */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct ra_job *head, *tail;
	pthread_t *threads; /* max_threads slots, nthreads started */
	unsigned int nthreads, max_threads;
	unsigned int min_threads; /* started at creation */
	unsigned int idle;	  /* workers waiting for a job */
	unsigned int nseq;	  /* files read sequentially right now */
	bool stopping;
	_Atomic uint64_t zc_bytes, copied_bytes; /* served from a reply record / copied */
};

/*
 * Read [off, off+size) into dst, looping over short reads until EOF: the
 * rest of a segment after a short answer, or a request no segment can hold.
 */
static int read_direct(struct ra_pool *p, const struct rpc_cred *cr, struct ra_file *f,
		       uint64_t off, size_t size, uint8_t *dst, uint32_t *len, bool *eof)
{
	uint32_t have = 0, got;
	int rc = 0;

	*eof = false;
	while (have < size && !*eof) {
		uint32_t want = size - have > p->segsize ? p->segsize : (uint32_t)(size - have);

		rc = nfs4_read_open(p->c, cr, f->op, off + have, want, dst + have, &got, eof);
		if (rc)
			break;
		if (got == 0)
			*eof = true;
		have += got;
	}
	*len = have;
	atomic_fetch_add(&p->copied_bytes, have);
	return rc;
}

/*
 * Load the segment at off: one READ whose reply record becomes the segment
 * (no copy); after a short answer before EOF the rest is read into a copy.
 */
static int load_seg(struct ra_pool *p, const struct rpc_cred *cr, struct ra_file *f, uint64_t off,
		    struct ra_buf **out, uint32_t *len, bool *eof)
{
	const uint8_t *data;
	struct ra_buf *b;
	uint32_t got = 0, more = 0;
	void *rec;
	int rc;

	*out = NULL;
	*len = 0;
	rc = nfs4_read_open_rec(p->c, cr, f->op, off, p->segsize, &rec, &data, &got, eof);
	if (rc)
		return rc;
	if (got == p->segsize || *eof || got == 0) {
		b = ra_buf_wrap(rec, data, got);
		if (!b) {
			free(rec);
			return -ENOMEM;
		}
		atomic_fetch_add(&p->zc_bytes, got);
		*out = b;
		*len = got;
		if (got == 0)
			*eof = true;
		return 0;
	}
	b = ra_buf_alloc(p->segsize);
	if (!b) {
		free(rec);
		return -ENOMEM;
	}
	memcpy(b->data, data, got);
	atomic_fetch_add(&p->copied_bytes, got);
	free(rec);
	rc = read_direct(p, cr, f, off + got, p->segsize - got, b->data + got, &more, eof);
	if (rc) {
		ra_buf_put(b);
		return rc;
	}
	*out = b;
	*len = got + more;
	return 0;
}

void ra_pool_get_stats(struct ra_pool *p, uint64_t *zc_bytes, uint64_t *copied_bytes)
{
	*zc_bytes = atomic_load(&p->zc_bytes);
	*copied_bytes = atomic_load(&p->copied_bytes);
}

static void seg_settle(struct ra_file *f, unsigned int slot, unsigned int gen, int rc,
		       struct ra_buf *buf, uint32_t len, bool eof)
{
	struct ra_seg *s = &f->seg[slot];

	if (s->gen != gen || s->state != SEG_LOADING) {
		ra_buf_put(buf);
		return;
	}
	s->buf = rc ? NULL : buf;
	if (rc)
		ra_buf_put(buf);
	s->state = rc ? SEG_FAILED : SEG_READY;
	s->err = rc;
	s->len = len;
	s->eof = eof;
	/* Data loaded before an invalidation says nothing about today's EOF. */
	if (!rc && eof && s->gen == f->gen && s->off + len < f->eof_off)
		f->eof_off = s->off + len;
}

static void *worker_main(void *arg)
{
	struct ra_pool *p = arg;
	struct ra_job *j;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stopping) {
			p->idle++;
			pthread_cond_wait(&p->cv, &p->lock);
			p->idle--;
		}
		if (!p->head)
			break;
		j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);

		struct ra_file *f = j->f;
		struct rpc_cred cr;
		struct ra_seg *s = &f->seg[j->slot];
		struct ra_buf *buf = NULL;
		uint64_t off;
		uint32_t len = 0;
		bool eof = false;
		int rc = 0;

		pthread_mutex_lock(&f->lock);
		cr = f->cred;
		off = s->off;
		pthread_mutex_unlock(&f->lock);
		/* The slot stays ours while it is LOADING. */
		rc = load_seg(p, &cr, f, off, &buf, &len, &eof);
		pthread_mutex_lock(&f->lock);
		seg_settle(f, j->slot, j->gen, rc, buf, len, eof);
		f->loading--;
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&f->lock);
		free(j);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct ra_pool *ra_pool_new(struct nfs4_client *c, size_t cap, unsigned int workers,
			    unsigned int max_workers)
{
	struct ra_pool *p = calloc(1, sizeof(*p));
	unsigned int i;

	if (!p)
		return NULL;
	p->c = c;
	p->segsize = nfs4_client_rsize(c);
	p->cap = cap;
	p->min_threads = workers ? workers : 1;
	p->max_threads = max_workers > p->min_threads ? max_workers : p->min_threads;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->threads = calloc(p->max_threads, sizeof(*p->threads));
	if (!p->threads) {
		free(p);
		return NULL;
	}
	for (i = 0; i < p->min_threads; i++) {
		if (pthread_create(&p->threads[i], NULL, worker_main, p))
			break;
		p->nthreads++;
	}
	return p;
}

unsigned int ra_pool_workers(struct ra_pool *p)
{
	unsigned int n;

	pthread_mutex_lock(&p->lock);
	n = p->nthreads;
	pthread_mutex_unlock(&p->lock);
	return n;
}

/*
 * A job was queued: start another worker when none is idle and there are
 * fewer than RA_WORKERS_PER_READER per sequential reader.  p->lock held.
 */
static void pool_grow(struct ra_pool *p)
{
	unsigned int want = p->nseq * RA_WORKERS_PER_READER;

	if (want < p->min_threads)
		want = p->min_threads;
	if (want > p->max_threads)
		want = p->max_threads;
	if (p->idle || p->nthreads >= want || p->stopping)
		return;
	if (pthread_create(&p->threads[p->nthreads], NULL, worker_main, p) == 0)
		p->nthreads++;
}

/* The file's window opened or closed; f->lock held. */
static void set_seq(struct ra_file *f, bool seq)
{
	struct ra_pool *p = f->pool;

	if (f->seq == seq)
		return;
	f->seq = seq;
	pthread_mutex_lock(&p->lock);
	if (seq)
		p->nseq++;
	else
		p->nseq--;
	pthread_mutex_unlock(&p->lock);
}

void ra_pool_free(struct ra_pool *p)
{
	unsigned int i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cv);
	free(p);
}

struct ra_file *ra_file_new(struct ra_pool *p, struct nfs4_open *op)
{
	struct ra_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->pool = p;
	f->op = op;
	nfs4_open_hold(op);
	f->eof_off = UINT64_MAX;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cv, NULL);
	return f;
}

/* Release a READY/FAILED slot's buffer; f->lock held. */
static void seg_drop(struct ra_file *f, struct ra_seg *s)
{
	struct ra_pool *p = f->pool;

	if (s->state == SEG_FREE || s->state == SEG_LOADING)
		return;
	ra_buf_put(s->buf); /* a reader's view may keep the bytes a while */
	s->buf = NULL;
	s->state = SEG_FREE;
	pthread_mutex_lock(&p->lock);
	p->used -= p->segsize;
	pthread_mutex_unlock(&p->lock);
}

void ra_file_invalidate(struct ra_file *f)
{
	unsigned int i;

	pthread_mutex_lock(&f->lock);
	f->gen++;
	for (i = 0; i < RA_MAX_SEGMENTS; i++)
		seg_drop(f, &f->seg[i]);
	f->eof_off = UINT64_MAX;
	f->window = 0;
	set_seq(f, false);
	pthread_mutex_unlock(&f->lock);
}

void ra_file_free(struct ra_file *f)
{
	unsigned int i;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	while (f->loading)
		pthread_cond_wait(&f->cv, &f->lock);
	for (i = 0; i < RA_MAX_SEGMENTS; i++)
		seg_drop(f, &f->seg[i]); /* loading == 0: every segment is settled */
	set_seq(f, false);
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cv);
	nfs4_open_put(f->pool->c, f->op);
	free(f);
}

static struct ra_seg *seg_find(struct ra_file *f, uint64_t off)
{
	unsigned int i;

	for (i = 0; i < RA_MAX_SEGMENTS; i++)
		if (f->seg[i].state != SEG_FREE && f->seg[i].off == off && f->seg[i].gen == f->gen)
			return &f->seg[i];
	return NULL;
}

/*
 * Claim a slot for offset off: a free one, else a settled one wholly
 * behind `behind`.  must: allocate even past the pool cap (the reader's
 * own segment).  f->lock held.
 */
static struct ra_seg *seg_claim(struct ra_file *f, uint64_t off, uint64_t behind, bool must)
{
	struct ra_pool *p = f->pool;
	struct ra_seg *s = NULL;
	unsigned int i;

	for (i = 0; i < RA_MAX_SEGMENTS && !s; i++)
		if (f->seg[i].state == SEG_FREE)
			s = &f->seg[i];
	for (i = 0; i < RA_MAX_SEGMENTS && !s; i++)
		if ((f->seg[i].state == SEG_READY || f->seg[i].state == SEG_FAILED) &&
		    (f->seg[i].off + p->segsize <= behind || f->seg[i].gen != f->gen)) {
			seg_drop(f, &f->seg[i]);
			s = &f->seg[i];
		}
	if (!s)
		return NULL;
	pthread_mutex_lock(&p->lock);
	if (!must && p->used + p->segsize > p->cap) {
		pthread_mutex_unlock(&p->lock);
		return NULL;
	}
	p->used += p->segsize;
	pthread_mutex_unlock(&p->lock);
	s->buf = NULL;
	s->state = SEG_LOADING;
	s->off = off;
	s->len = 0;
	s->eof = false;
	s->err = 0;
	s->gen = f->gen;
	return s;
}

static void prefetch(struct ra_file *f, uint64_t from)
{
	struct ra_pool *p = f->pool;
	uint64_t off = from - from % p->segsize;
	unsigned int k;

	for (k = 0; k < f->window; k++, off += p->segsize) {
		struct ra_seg *s;
		struct ra_job *j;

		if (off >= f->eof_off)
			break;
		if (seg_find(f, off))
			continue;
		s = seg_claim(f, off, from - from % p->segsize, false);
		if (!s)
			break;
		j = calloc(1, sizeof(*j));
		if (!j) {
			s->state = SEG_READY; /* nothing loaded: give it back */
			seg_drop(f, s);
			break;
		}
		j->f = f;
		j->slot = (unsigned int)(s - f->seg);
		j->gen = s->gen;
		f->loading++;
		pthread_mutex_lock(&p->lock);
		if (p->tail)
			p->tail->next = j;
		else
			p->head = j;
		p->tail = j;
		pthread_cond_signal(&p->cv);
		pool_grow(p);
		pthread_mutex_unlock(&p->lock);
	}
}

int ra_file_read_views(struct ra_file *f, const struct rpc_cred *cr, uint64_t off, size_t size,
		       struct ra_view *v, unsigned int maxv, unsigned int *nv, size_t *got)
{
	struct ra_pool *p = f->pool;
	uint64_t pos = off, end = off + size;
	int rc = 0;

	*got = 0;
	*nv = 0;
	pthread_mutex_lock(&f->lock);
	f->cred = rpc_cred_keep(cr);
	if (off == f->next_off || seg_find(f, off - off % p->segsize))
		f->window = f->window ? (f->window * 2 > RA_MAX_SEGMENTS - 1 ? RA_MAX_SEGMENTS - 1
									     : f->window * 2)
				      : 2;
	else
		f->window = 0;
	set_seq(f, f->window > 0);
	f->next_off = end;

	while (pos < end && *nv < maxv) {
		uint64_t segoff = pos - pos % p->segsize;
		struct ra_seg *s = seg_find(f, segoff);
		uint32_t in, n;

		if (pos >= f->eof_off)
			break;
		if (!s) {
			unsigned int gen;

			s = seg_claim(f, segoff, segoff, true);
			if (!s) {
				/*
				 * Every slot holds data ahead of us (concurrent
				 * readers out of order): read this part directly.
				 */
				size_t want = end - pos;
				struct ra_buf *b = ra_buf_alloc(want);
				uint32_t len = 0;
				bool eof = false;
				int lrc;

				if (!b) {
					rc = -ENOMEM;
					break;
				}
				pthread_mutex_unlock(&f->lock);
				lrc = read_direct(p, cr, f, pos, want, b->data, &len, &eof);
				pthread_mutex_lock(&f->lock);
				if (lrc || !len) {
					ra_buf_put(b);
					rc = lrc;
					break;
				}
				v[*nv].buf = b;
				v[*nv].data = b->data;
				v[*nv].len = len;
				(*nv)++;
				pos += len;
				break;
			}
			gen = s->gen;
			f->loading++;
			pthread_mutex_unlock(&f->lock);
			{
				struct ra_buf *b = NULL;
				uint32_t len = 0;
				bool eof = false;
				int lrc = load_seg(p, cr, f, segoff, &b, &len, &eof);

				pthread_mutex_lock(&f->lock);
				seg_settle(f, (unsigned int)(s - f->seg), gen, lrc, b, len, eof);
			}
			f->loading--;
			pthread_cond_broadcast(&f->cv);
			continue;
		}
		if (s->state == SEG_LOADING) {
			pthread_cond_wait(&f->cv, &f->lock);
			continue;
		}
		if (s->state == SEG_FAILED) {
			rc = s->err;
			seg_drop(f, s);
			break;
		}
		in = (uint32_t)(pos - segoff);
		if (in >= s->len)
			break; /* end of file inside this segment */
		n = s->len - in;
		if (n > end - pos)
			n = (uint32_t)(end - pos);
		v[*nv].buf = ra_buf_get(s->buf);
		v[*nv].data = s->buf->data + in;
		v[*nv].len = n;
		(*nv)++;
		pos += n;
		if (s->len < p->segsize && pos >= segoff + s->len)
			break;
	}
	*got = pos - off;
	if (f->window && !rc)
		prefetch(f, end);
	pthread_mutex_unlock(&f->lock);
	if (*got)
		return 0;
	return rc;
}

void ra_views_release(struct ra_view *v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		ra_buf_put(v[i].buf);
}

int ra_file_read(struct ra_file *f, const struct rpc_cred *cr, uint64_t off, size_t size, void *buf,
		 size_t *got)
{
	struct ra_view v[8];
	uint8_t *dst = buf;
	size_t done = 0, n;
	unsigned int nv, i;
	int rc = 0;

	while (done < size) {
		rc = ra_file_read_views(f, cr, off + done, size - done, v, 8, &nv, &n);
		for (i = 0; i < nv; i++) {
			memcpy(dst + done, v[i].data, v[i].len);
			done += v[i].len;
		}
		ra_views_release(v, nv);
		if (rc || n == 0 || nv < 8)
			break;
	}
	*got = done;
	return done ? 0 : rc;
}
