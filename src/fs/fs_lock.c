/*
 * fs_lock.c - POSIX and flock locks as NFSv4 byte-range locks: LOCK,
 * LOCKT, LOCKU (RFC 8881 sections 18.10-18.12).
 *
 * The lock state (lock-owner per open-owner and kernel lock owner, lock
 * stateids, the ranges held, their reclaim) lives in nfs4/nfs4_state.h;
 * here a POSIX request becomes one call on the open of the descriptor.  A
 * blocking lock polls a refused LOCK with backoff; the wait ends when the
 * caller is interrupted (FUSE_INTERRUPT: cr->cancel) or the mount stops.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include "fs/fs_int.h"

#define LOCK_POLL_MIN_MS 50
#define LOCK_POLL_MAX_MS 1000

static uint64_t nfs_len(uint64_t len)
{
	return len == 0 ? UINT64_MAX : len;
}

/* Sleep ms unless the caller is interrupted first: -EINTR then. */
static int wait_ms(const struct rpc_cred *cr, unsigned int ms)
{
	while (ms > 0) {
		unsigned int step = ms > 50 ? 50 : ms;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)step * 1000000L};

		if (rpc_cred_cancelled(cr))
			return -EINTR;
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		ms -= step;
	}
	return rpc_cred_cancelled(cr) ? -EINTR : 0;
}

int efs_fs_setlk(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, uint64_t owner,
		 int type, uint64_t start, uint64_t len, bool wait)
{
	struct efs_inode *in = f->inode;
	unsigned delay = LOCK_POLL_MIN_MS;
	uint32_t lt;
	int r;

	/*
	 * As the Linux NFS client does: our cached writes reach the server
	 * before a lock changes hands, so the next holder reads them.
	 */
	r = efs_io_flush_inode(fs, in);
	if (r)
		return r;
	if (type == F_UNLCK)
		return efs_errno(nfs4_unlock_open(fs->clnt, cr, f->op, owner, start, nfs_len(len)));
	if (type == F_WRLCK)
		lt = wait ? WRITEW_LT : WRITE_LT;
	else if (type == F_RDLCK)
		lt = wait ? READW_LT : READ_LT;
	else
		return -EINVAL;
	for (;;) {
		struct nfs4_lock_denied denied;

		r = nfs4_lock_open(fs->clnt, cr, f->op, owner, lt, start, nfs_len(len), &denied);
		if (r != -NFS4ERR_DENIED || !wait)
			break;
		r = wait_ms(cr, delay);
		if (r)
			return r;
		delay = delay * 2 > LOCK_POLL_MAX_MS ? LOCK_POLL_MAX_MS : delay * 2;
	}
	if (r == -NFS4ERR_DENIED)
		return -EAGAIN;
	if (r)
		return efs_errno(r);
	/* a lock revalidates: what we and the kernel cached may be another
	 * client's past (read-ahead and keep_cache are dropped too) */
	efs_io_invalidate(in);
	efs_inode_invalidate(in);
	if (fs->inval)
		fs->inval(fs->inval_arg, efs_inode_nodeid(fs, in), true);
	return 0;
}

int efs_fs_getlk(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, uint64_t owner,
		 int *type, uint64_t *start, uint64_t *len)
{
	struct nfs4_lock_denied denied = {0};
	uint32_t lt = *type == F_WRLCK ? WRITE_LT : READ_LT;
	int r;

	r = nfs4_lockt_open(fs->clnt, cr, f->op, owner, lt, *start, nfs_len(*len), &denied);
	if (r == 0) {
		*type = F_UNLCK;
		return 0;
	}
	if (r != -NFS4ERR_DENIED)
		return efs_errno(r);
	*type = (denied.type == WRITE_LT || denied.type == WRITEW_LT) ? F_WRLCK : F_RDLCK;
	*start = denied.offset;
	*len = denied.length == UINT64_MAX ? 0 : denied.length;
	return 0;
}

int efs_lock_release_owner(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f,
			   uint64_t owner)
{
	if (!nfs4_open_has_locks(fs->clnt, f->op, owner))
		return 0;
	return efs_errno(nfs4_unlock_open(fs->clnt, cr, f->op, owner, 0, UINT64_MAX));
}

/*
 * ---- blocking lock waits off the FUSE workers ----
 * A waiter is retried by one thread with a per-waiter backoff (50 ms
 * doubling to LOCK_POLL_MAX_MS), so a lock released elsewhere reaches a
 * waiter within about a second while 200 waiters cost at most 200 LOCKs
 * per second.  A waiter ends when granted, on an error, when its caller is
 * interrupted (cr->cancelled) or when the mount stops: done() runs once, on
 * the waiter thread, with 0 or -errno.
 */
struct efs_lock_waiter {
	struct efs_lock_waiter *next;
	struct efs_file *f;
	struct rpc_cred cr; /* with the caller's interrupt test: valid until done() */
	uint64_t owner, start, len;
	int type;
	unsigned int delay_ms;
	struct timespec next_try;
	void (*done)(void *arg, int r);
	void *arg;
};

struct efs_lockwait {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	pthread_t thread;
	bool running, stopping;
	struct efs_lock_waiter *list;
	unsigned int n;
};

static void ts_after_ms(struct timespec *ts, unsigned int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool ts_due(const struct timespec *t, const struct timespec *now)
{
	return t->tv_sec < now->tv_sec || (t->tv_sec == now->tv_sec && t->tv_nsec <= now->tv_nsec);
}

static void *lockwait_main(void *arg)
{
	struct efs_fs *fs = arg;
	struct efs_lockwait *lw = fs->lockwait;

	pthread_mutex_lock(&lw->lock);
	for (;;) {
		struct efs_lock_waiter *w = NULL, **pp;
		struct timespec now, wake;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ts_after_ms(&wake, 50); /* interrupts are looked at every 50 ms */
		for (pp = &lw->list; *pp; pp = &(*pp)->next) {
			bool cancel = lw->stopping || rpc_cred_cancelled(&(*pp)->cr);

			if (cancel || ts_due(&(*pp)->next_try, &now)) {
				w = *pp;
				*pp = w->next;
				lw->n--;
				break;
			}
		}
		if (!w) {
			if (lw->stopping && !lw->list)
				break;
			pthread_cond_timedwait(&lw->cv, &lw->lock, &wake);
			continue;
		}
		pthread_mutex_unlock(&lw->lock);
		if (lw->stopping || rpc_cred_cancelled(&w->cr))
			r = -EINTR;
		else
			r = efs_fs_setlk(fs, &w->cr, w->f, w->owner, w->type, w->start, w->len,
					 false);
		pthread_mutex_lock(&lw->lock);
		if (r == -EAGAIN && !lw->stopping) {
			w->delay_ms = w->delay_ms * 2 > LOCK_POLL_MAX_MS ? LOCK_POLL_MAX_MS
									 : w->delay_ms * 2;
			ts_after_ms(&w->next_try, w->delay_ms);
			w->next = lw->list;
			lw->list = w;
			lw->n++;
			continue;
		}
		pthread_mutex_unlock(&lw->lock);
		w->done(w->arg, r == -EAGAIN ? -EINTR : r);
		free(w);
		pthread_mutex_lock(&lw->lock);
	}
	pthread_mutex_unlock(&lw->lock);
	return NULL;
}

int efs_lockwait_init(struct efs_fs *fs)
{
	struct efs_lockwait *lw = calloc(1, sizeof(*lw));
	pthread_condattr_t ca;

	if (!lw)
		return -ENOMEM;
	pthread_mutex_init(&lw->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&lw->cv, &ca);
	pthread_condattr_destroy(&ca);
	fs->lockwait = lw;
	return 0;
}

void efs_fs_stop(struct efs_fs *fs)
{
	struct efs_lockwait *lw = fs->lockwait;
	bool join;

	if (!lw)
		return;
	pthread_mutex_lock(&lw->lock);
	lw->stopping = true;
	join = lw->running;
	lw->running = false;
	pthread_cond_broadcast(&lw->cv);
	pthread_mutex_unlock(&lw->lock);
	if (join)
		pthread_join(lw->thread, NULL);
}

void efs_lockwait_fini(struct efs_fs *fs)
{
	struct efs_lockwait *lw = fs->lockwait;

	if (!lw)
		return;
	efs_fs_stop(fs);
	pthread_mutex_destroy(&lw->lock);
	pthread_cond_destroy(&lw->cv);
	free(lw);
	fs->lockwait = NULL;
}

int efs_fs_setlk_wait(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f,
		      uint64_t owner, int type, uint64_t start, uint64_t len,
		      void (*done)(void *arg, int r), void *arg)
{
	struct efs_lockwait *lw = fs->lockwait;
	struct efs_lock_waiter *w;
	int r = efs_fs_setlk(fs, cr, f, owner, type, start, len, false);

	if (r != -EAGAIN || type == F_UNLCK)
		return r;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->f = f;
	w->cr = *cr; /* the interrupt test stays valid until done() replied */
	w->owner = owner;
	w->type = type;
	w->start = start;
	w->len = len;
	w->delay_ms = LOCK_POLL_MIN_MS;
	ts_after_ms(&w->next_try, w->delay_ms);
	w->done = done;
	w->arg = arg;
	pthread_mutex_lock(&lw->lock);
	if (lw->stopping) {
		pthread_mutex_unlock(&lw->lock);
		free(w);
		return -EINTR;
	}
	if (!lw->running) {
		sigset_t all, old;

		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = pthread_create(&lw->thread, NULL, lockwait_main, fs);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (r) {
			pthread_mutex_unlock(&lw->lock);
			free(w);
			return -r;
		}
		lw->running = true;
	}
	w->next = lw->list;
	lw->list = w;
	lw->n++;
	pthread_cond_broadcast(&lw->cv);
	pthread_mutex_unlock(&lw->lock);
	return 1;
}
