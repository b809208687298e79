/*
 * test_wbcache.c - the per-inode data object (cache/wbcache.h) against a
 * fake server: the nfs4_* calls wbcache makes are defined here.  Covers the
 * fair cap (an idle file's dirty data does not stall another writer), an
 * interruptible wait at the cap, background write-back by age, errseq
 * reporting and the local size.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "cache/wbcache.h"
#include "nfs4/nfs4_err.h"

#define CSIZE (64 * 1024)

/* ---- the fake server ---- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool stalled;	   /* WRITEs wait until this is cleared */
	uint64_t written;  /* bytes acknowledged */
	uint64_t by_fh[4]; /* bytes per file handle (fh.data[0]) */
	unsigned commits;
} srv = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

struct nfs4_open {
	struct nfs4_fh fh;
};

uint32_t nfs4_client_wsize(const struct nfs4_client *c)
{
	(void)c;
	return CSIZE;
}

void nfs4_open_hold(struct nfs4_open *op)
{
	(void)op;
}

void nfs4_open_put(struct nfs4_client *c, struct nfs4_open *op)
{
	(void)c;
	(void)op;
}

int nfs4_write_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		    uint64_t off, const void *buf, uint32_t len, uint32_t stable, uint32_t *written,
		    uint32_t *committed, uint8_t verf[NFS4_VERIFIER_SIZE])
{
	(void)c;
	(void)cr;
	(void)off;
	(void)buf;
	pthread_mutex_lock(&srv.lock);
	while (srv.stalled)
		pthread_cond_wait(&srv.cv, &srv.lock);
	srv.written += len;
	srv.by_fh[op->fh.data[0] & 3] += len;
	pthread_mutex_unlock(&srv.lock);
	*written = len;
	*committed = stable;
	memset(verf, 7, NFS4_VERIFIER_SIZE);
	return 0;
}

int nfs4_commit(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		uint64_t off, uint32_t count, uint8_t verf[NFS4_VERIFIER_SIZE])
{
	(void)c;
	(void)cr;
	(void)fh;
	(void)off;
	(void)count;
	pthread_mutex_lock(&srv.lock);
	srv.commits++;
	pthread_mutex_unlock(&srv.lock);
	memset(verf, 7, NFS4_VERIFIER_SIZE);
	return 0;
}

static void stall(bool on)
{
	pthread_mutex_lock(&srv.lock);
	srv.stalled = on;
	pthread_cond_broadcast(&srv.cv);
	pthread_mutex_unlock(&srv.lock);
}

static uint64_t written_by(int fh)
{
	uint64_t n;

	pthread_mutex_lock(&srv.lock);
	n = srv.by_fh[fh];
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Poll cond for up to secs. */
#define WAIT_FOR(cond, secs)                        \
	do {                                        \
		double until_ = now_s() + (secs);   \
		while (!(cond) && now_s() < until_) \
			sleep_ms(5);                \
		assert_true(cond);                  \
	} while (0)

static struct rpc_cred cred0;
static struct nfs4_open opens[4];

static struct wb_file *file(struct wbcache *wb, int i, uint64_t size)
{
	struct nfs4_fh fh = {.len = 1};

	fh.data[0] = (uint8_t)i;
	opens[i].fh = fh;
	return wb_file_new(wb, &fh, size);
}

static int setup(void **state)
{
	(void)state;
	memset(srv.by_fh, 0, sizeof(srv.by_fh));
	srv.written = 0;
	srv.commits = 0;
	srv.stalled = false;
	return 0;
}

static struct wbcache *new_cache(size_t cap, unsigned age_ms)
{
	struct wbcache_cfg cfg = {.cap = cap, .flushers = 2, .age_ms = age_ms};

	return wbcache_new((struct nfs4_client *)&srv, &cfg);
}

/* An idle file holding the whole cap in partial chunks: another writer streams. */
static void test_fair_cap(void **state)
{
	struct wbcache *wb = new_cache(4 * CSIZE, 600000);
	struct wb_file *idle = file(wb, 1, 0), *busy = file(wb, 2, 0);
	static char buf[CSIZE];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) /* CSIZE - 1 each: nothing is a full chunk */
		assert_int_equal(
			wb_file_write(idle, &cred0, &opens[1], (uint64_t)i * CSIZE, buf, CSIZE - 1),
			0);
	assert_int_equal(written_by(1), 0);
	for (i = 0; i < 32; i++)
		assert_int_equal(
			wb_file_write(busy, &cred0, &opens[2], (uint64_t)i * CSIZE, buf, CSIZE), 0);
	/* room came from the oldest dirty data: the idle file's */
	assert_true(written_by(1) > 0);
	assert_int_equal(wb_file_flush(busy, NULL), 0);
	assert_int_equal(written_by(2), 32 * CSIZE);
	assert_int_equal(wb_file_flush(idle, NULL), 0);
	assert_int_equal(written_by(1), 4 * (CSIZE - 1));
	wb_file_free(idle);
	wb_file_free(busy);
	wbcache_free(wb);
}

static bool always(void *arg)
{
	return *(bool *)arg;
}

/* A writer waiting for room while the server does not answer can be interrupted. */
static void test_cap_wait_interruptible(void **state)
{
	struct wbcache *wb = new_cache(4 * CSIZE, 600000);
	struct wb_file *f = file(wb, 1, 0);
	static char buf[CSIZE];
	bool killed = false;
	struct rpc_cred cr = {.cancelled = always, .cancel_arg = &killed};
	double t0;
	int i, rc = 0;

	(void)state;
	stall(true);
	for (i = 0; i < 4; i++)
		assert_int_equal(wb_file_write(f, &cr, &opens[1], (uint64_t)i * CSIZE, buf, CSIZE),
				 0);
	killed = true; /* set before: the wait must notice it, not hang */
	t0 = now_s();
	rc = wb_file_write(f, &cr, &opens[1], 4 * CSIZE, buf, CSIZE);
	assert_int_equal(rc, -EINTR);
	assert_true(now_s() - t0 < 2);
	assert_int_equal(wb_file_flush(f, &cr), -EINTR); /* a killed process's close */
	stall(false);
	assert_int_equal(wb_file_flush(f, NULL), 0);
	assert_int_equal(written_by(1), 4 * CSIZE);
	wb_file_free(f);
	wbcache_free(wb);
}

/* Dirty data older than age_ms is written and committed in the background. */
static void test_age_writeback(void **state)
{
	struct wbcache *wb = new_cache(16 * CSIZE, 100);
	struct wb_file *f = file(wb, 3, 0);
	struct wbcache_stats st;

	(void)state;
	assert_int_equal(wb_file_write(f, &cred0, &opens[3], 10, "hello", 5), 0);
	WAIT_FOR(written_by(3) == 5, 5);
	WAIT_FOR(!wb_file_busy(f), 5); /* committed: nothing left */
	wbcache_get_stats(wb, &st);
	assert_true(st.aged >= 1);
	assert_true(st.commits >= 1);
	wb_file_free(f);
	wbcache_free(wb);
}

static void test_errseq(void **state)
{
	struct wbcache *wb = new_cache(16 * CSIZE, 600000);
	struct wb_file *f = file(wb, 0, 0);
	uint64_t a = wb_file_err_sample(f), b = wb_file_err_sample(f), c;

	(void)state;
	assert_int_equal(wb_file_err_check(f, &a, true), 0);
	wb_file_err_record(f, -EPERM);
	/* a close (no advance) reports it and leaves it for the next check */
	assert_int_equal(wb_file_err_check(f, &a, false), -EPERM);
	assert_int_equal(wb_file_err_check(f, &a, true), -EPERM);
	assert_int_equal(wb_file_err_check(f, &a, true), 0); /* once */
	assert_int_equal(wb_file_err_check(f, &b, true), -EPERM);
	/* seen: a description opened now does not get it */
	c = wb_file_err_sample(f);
	assert_int_equal(wb_file_err_check(f, &c, true), 0);
	/* not seen by anybody: the next open gets it */
	wb_file_err_record(f, -ENOSPC);
	c = wb_file_err_sample(f);
	assert_int_equal(wb_file_err_check(f, &c, true), -ENOSPC);
	wb_file_free(f);
	wbcache_free(wb);
}

static void test_local_size(void **state)
{
	struct wbcache *wb = new_cache(16 * CSIZE, 600000);
	struct wb_file *f = file(wb, 0, 100);
	uint64_t off, ch;

	(void)state;
	assert_int_equal(wb_file_size(f), 100);
	assert_int_equal(wb_file_write(f, &cred0, &opens[0], 100, "abcdef", 6), 0);
	assert_int_equal(wb_file_size(f), 106);
	/* a refresh that does not include the cached write */
	assert_int_equal(wb_file_size_seen(f, 100, NULL), 106);
	/* appenders reserve whole writes at the local end */
	off = wb_file_append_reserve(f, 10);
	assert_int_equal(off, 106);
	assert_int_equal(wb_file_append_reserve(f, 5), 116);
	wb_file_append_unreserve(f, 116, 5, 0); /* the last one failed */
	assert_int_equal(wb_file_size(f), 116);
	/* replies are ordered by their change attribute */
	assert_int_equal(wb_file_flush(f, NULL), 0); /* our data landed */
	ch = 5;
	assert_int_equal(wb_file_size_seen(f, 116, &ch), 116);
	wb_file_size_set(f, 50); /* truncated; the SETATTR reply says change 6 */
	ch = 6;
	assert_int_equal(wb_file_size_seen(f, 50, &ch), 50);
	ch = 5; /* a reply sent before the truncate arrives late */
	assert_int_equal(wb_file_size_seen(f, 116, &ch), 50);
	ch = 7; /* another client's newer change */
	assert_int_equal(wb_file_size_seen(f, 80, &ch), 80);
	/* an exact reply (requested after the sample) is taken as is */
	ch = 8;
	assert_int_equal(wb_file_size_seen_since(f, 40, wb_file_land_seq(f), &ch), 40);
	wb_file_free(f);
	wbcache_free(wb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fair_cap, setup),
		cmocka_unit_test_setup(test_cap_wait_interruptible, setup),
		cmocka_unit_test_setup(test_age_writeback, setup),
		cmocka_unit_test_setup(test_errseq, setup),
		cmocka_unit_test_setup(test_local_size, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
