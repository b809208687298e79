/*
 * fs_lock.c - POSIX and flock locks as NFSv4 byte-range locks: LOCK,
 * LOCKT, LOCKU (RFC 8881 sections 18.10-18.12).
 *
 * One NFS lock state per (file, kernel lock owner), seeded from the open
 * state of the efs_file that first locked; kept in the inode's list under
 * inode->lk_mutex, which serialises the lock RPCs of one file (the lock
 * stateid's seqid changes with each).  A blocking lock polls a refused
 * LOCK with backoff, without holding the mutex while it sleeps.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include "fs/fs_int.h"

#define LOCK_POLL_MIN_MS 50
#define LOCK_POLL_MAX_MS 1000

static uint64_t nfs_len(uint64_t len)
{
	return len == 0 ? UINT64_MAX : len;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static struct efs_lock *find_lock(struct efs_inode *in, uint64_t owner)
{
	struct efs_lock *l;

	for (l = in->locks; l; l = l->next)
		if (l->owner == owner)
			return l;
	return NULL;
}

static void drop_lock(struct efs_inode *in, struct efs_lock *dead)
{
	struct efs_lock **pp;

	for (pp = &in->locks; *pp; pp = &(*pp)->next) {
		if (*pp == dead) {
			*pp = dead->next;
			free(dead);
			return;
		}
	}
}

static int unlock_owner(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
			uint64_t owner, uint64_t start, uint64_t len)
{
	struct efs_lock *l;
	int r = 0;

	pthread_mutex_lock(&in->lk_mutex);
	l = find_lock(in, owner);
	if (l && l->ls.have_stateid) {
		r = nfs4_locku(fs->clnt, cr, &l->file->st, &l->ls, WRITE_LT, start, nfs_len(len));
		if (r == -NFS4ERR_LOCK_RANGE)
			r = 0; /* nothing locked there */
	}
	pthread_mutex_unlock(&in->lk_mutex);
	return efs_errno(r);
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
		return unlock_owner(fs, cr, in, owner, start, len);
	if (type == F_WRLCK)
		lt = wait ? WRITEW_LT : WRITE_LT;
	else if (type == F_RDLCK)
		lt = wait ? READW_LT : READ_LT;
	else
		return -EINVAL;
	/* A lock needs this open's state on the server (a flush may have closed it). */
	r = efs_file_ensure_open(fs, cr, f);
	if (r)
		return r;
	for (;;) {
		struct nfs4_lock_denied denied;
		struct efs_lock *l;

		pthread_mutex_lock(&in->lk_mutex);
		l = find_lock(in, owner);
		if (!l) {
			l = calloc(1, sizeof(*l));
			if (!l) {
				pthread_mutex_unlock(&in->lk_mutex);
				return -ENOMEM;
			}
			l->owner = owner;
			l->file = f;
			l->ls.lock_owner = owner;
			l->next = in->locks;
			in->locks = l;
		}
		r = nfs4_lock(fs->clnt, cr, &l->file->st, &l->ls, lt, start, nfs_len(len), &denied);
		if (r && !l->ls.have_stateid)
			drop_lock(in, l);
		pthread_mutex_unlock(&in->lk_mutex);
		if (r != -NFS4ERR_DENIED || !wait)
			break;
		sleep_ms(delay);
		delay = delay * 2 > LOCK_POLL_MAX_MS ? LOCK_POLL_MAX_MS : delay * 2;
	}
	if (r == -NFS4ERR_DENIED)
		return -EAGAIN;
	if (r)
		return efs_errno(r);
	/* a lock revalidates: what we and the kernel cached may be another
	 * client's past (read-ahead and keep_cache are dropped too) */
	efs_io_invalidate(in);
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

	r = nfs4_lockt(fs->clnt, cr, &f->st.fh, owner, lt, *start, nfs_len(*len), &denied);
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

int efs_lock_release_owner(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
			   uint64_t owner)
{
	bool held;

	pthread_mutex_lock(&in->lk_mutex);
	held = find_lock(in, owner) != NULL;
	pthread_mutex_unlock(&in->lk_mutex);
	return held ? unlock_owner(fs, cr, in, owner, 0, 0) : 0;
}

void efs_lock_release_file(struct efs_fs *fs, struct efs_file *f)
{
	struct efs_inode *in = f->inode;
	struct efs_lock **pp;

	pthread_mutex_lock(&in->lk_mutex);
	for (pp = &in->locks; *pp;) {
		struct efs_lock *l = *pp;

		if (l->file != f) {
			pp = &l->next;
			continue;
		}
		if (l->ls.have_stateid)
			nfs4_locku(fs->clnt, &f->cred, &f->st, &l->ls, WRITE_LT, 0, UINT64_MAX);
		*pp = l->next;
		free(l);
	}
	pthread_mutex_unlock(&in->lk_mutex);
}
