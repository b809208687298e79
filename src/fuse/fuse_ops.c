/*
 * fuse_ops.c - the libfuse3 low-level handlers: each builds the caller's
 * credential, calls one efs_fs function, and replies exactly once.  A
 * failure is logged here, once (debug level for the expected errnos).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include "fuse/fuse_int.h"
#include "util/log.h"

static struct efs_fs *req_fs(fuse_req_t req)
{
	return ((struct efs_fuse *)fuse_req_userdata(req))->fs;
}

static bool expected_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ESTALE:
	case EEXIST:
	case ENOTEMPTY:
	case ENOTDIR:
	case EISDIR:
	case EACCES:
	case EPERM:
	case ENAMETOOLONG:
	case EROFS:
	case EINVAL:
	case EAGAIN:
	case EXDEV:
	case ENOSYS:
	case EOPNOTSUPP:
		return true;
	default:
		return false;
	}
}

/* r is 0 or -errno; replies and logs failures. */
static void reply_status(fuse_req_t req, const char *op, fuse_ino_t ino, const char *name, int r)
{
	if (r < 0) {
		int e = -r;

		efs_log(expected_errno(e) ? EFS_LOG_DEBUG : EFS_LOG_WARN, "%s: inode %llu%s%s: %s",
			op, (unsigned long long)efs_fs_fileid(req_fs(req), ino),
			name ? " name " : "", name ? name : "", strerror(e));
	}
	fuse_reply_err(req, r < 0 ? -r : 0);
}

static void to_param(const struct efs_entry *e, struct fuse_entry_param *fe)
{
	memset(fe, 0, sizeof(*fe));
	fe->ino = e->ino;
	fe->generation = e->generation;
	fe->attr = e->st;
	fe->attr_timeout = e->attr_timeout;
	fe->entry_timeout = e->entry_timeout;
}

/* Reply with a new entry; an undelivered reply gives the reference back. */
static void reply_entry(fuse_req_t req, const char *op, fuse_ino_t parent, const char *name, int r,
			const struct efs_entry *e)
{
	struct efs_fs *fs = req_fs(req);
	struct fuse_entry_param fe;

	if (r < 0) {
		reply_status(req, op, parent, name, r);
		return;
	}
	to_param(e, &fe);
	if (fuse_reply_entry(req, &fe) != 0 && e->ino)
		efs_fs_forget(fs, e->ino, 1);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct efs_fs *fs = ((struct efs_fuse *)userdata)->fs;
	unsigned want = FUSE_CAP_DONT_MASK | FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO |
			FUSE_CAP_ASYNC_READ | FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_PARALLEL_DIROPS;
	unsigned before = conn->want;

	conn->want |= want & conn->capable;
	efs_log(EFS_LOG_DEBUG,
		"fuse init: capable 0x%x, libfuse default 0x%x, asked 0x%x, missing 0x%x",
		conn->capable, before, want, want & ~conn->capable);
	conn->want &=
		~(unsigned)(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
			    FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_WRITEBACK_CACHE);
	if (!(conn->capable & FUSE_CAP_DONT_MASK))
		efs_log(EFS_LOG_WARN, "kernel lacks FUSE_CAP_DONT_MASK: umask applied twice");
	conn->max_write = efs_fs_wsize(fs);
	conn->max_read = efs_fs_rsize(fs); /* must match the max_read mount option */
	if (conn->max_readahead < efs_fs_rsize(fs))
		conn->max_readahead = efs_fs_rsize(fs);
	conn->time_gran = 1;
	efs_log(EFS_LOG_DEBUG, "fuse init: proto %u.%u, max_write %u, max_readahead %u, want 0x%x",
		conn->proto_major, conn->proto_minor, conn->max_write, conn->max_readahead,
		conn->want);
}

static void op_destroy(void *userdata)
{
	(void)userdata;
	efs_log(EFS_LOG_DEBUG, "fuse destroy");
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct rpc_cred cr;
	struct efs_entry e;
	int r;

	efs_fs_count_op(req_fs(req), EFS_OP_LOOKUP);
	efs_fuse_cred(req, &cr);
	r = efs_fs_lookup(req_fs(req), &cr, parent, name, &e);
	if (r == -ENOENT && e.ino == 0 && e.entry_timeout > 0) {
		/* lookupcache=all: the kernel keeps the negative entry */
		struct fuse_entry_param fe;

		memset(&fe, 0, sizeof(fe));
		fe.entry_timeout = e.entry_timeout;
		fuse_reply_entry(req, &fe);
		return;
	}
	reply_entry(req, "lookup", parent, name, r, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	efs_fs_count_op(req_fs(req), EFS_OP_FORGET);
	efs_fs_forget(req_fs(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	size_t i;

	efs_fs_count_op(req_fs(req), EFS_OP_FORGET);
	for (i = 0; i < count; i++)
		efs_fs_forget(req_fs(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rpc_cred cr;
	struct stat st;
	double tmo;
	int r;

	efs_fs_count_op(req_fs(req), EFS_OP_GETATTR);
	(void)fi;
	efs_fuse_cred(req, &cr);
	r = efs_fs_getattr(req_fs(req), &cr, ino, &st, &tmo);
	if (r < 0)
		reply_status(req, "getattr", ino, NULL, r);
	else
		fuse_reply_attr(req, &st, tmo);
}

/* Drop the kernel's dentry parent/name (efs_fs_dir_names callback). */
static void inval_entry(void *arg, uint64_t parent, const char *name)
{
	struct efs_fuse *f = arg;
	int r = fuse_lowlevel_notify_inval_entry(f->se, (fuse_ino_t)parent, name, strlen(name));

	if (r < 0 && r != -ENOENT)
		efs_log(EFS_LOG_DEBUG, "notify_inval_entry %s: %s", name, strerror(-r));
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct efs_file *f = fi ? (struct efs_file *)(uintptr_t)fi->fh : NULL;
	struct efs_fuse *ef = fuse_req_userdata(req);
	struct efs_fs *fs = ef->fs;
	struct rpc_cred cr;
	struct stat st;
	double tmo;
	int set = 0, r;

	efs_fs_count_op(fs, EFS_OP_SETATTR);
	if (to_set & FUSE_SET_ATTR_MODE)
		set |= EFS_SET_MODE;
	if (to_set & FUSE_SET_ATTR_UID)
		set |= EFS_SET_UID;
	if (to_set & FUSE_SET_ATTR_GID)
		set |= EFS_SET_GID;
	if (to_set & FUSE_SET_ATTR_SIZE)
		set |= EFS_SET_SIZE;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		set |= EFS_SET_ATIME_NOW;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		set |= EFS_SET_ATIME;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		set |= EFS_SET_MTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		set |= EFS_SET_MTIME;
	efs_fuse_cred(req, &cr);
	r = efs_fs_setattr(fs, &cr, ino, f, attr, set, &st, &tmo);
	if (r < 0) {
		reply_status(req, "setattr", ino, NULL, r);
		return;
	}
	fuse_reply_attr(req, &st, tmo);
	/*
	 * A directory not everyone may search any more: the kernel must not
	 * serve the names it cached in it (each walk asks us from now on, see
	 * fs.c).  After the reply (req is gone): the kernel takes the
	 * directory's lock.
	 */
	if (S_ISDIR(st.st_mode) && (set & (EFS_SET_MODE | EFS_SET_UID | EFS_SET_GID)) &&
	    (st.st_mode & 0111) != 0111)
		efs_fs_dir_names(fs, ino, inval_entry, ef);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	struct rpc_cred cr;
	int r;

	efs_fs_count_op(req_fs(req), EFS_OP_READLINK);
	efs_fuse_cred(req, &cr);
	r = efs_fs_readlink(req_fs(req), &cr, ino, buf, sizeof(buf));
	if (r < 0)
		reply_status(req, "readlink", ino, NULL, r);
	else
		fuse_reply_readlink(req, buf);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct rpc_cred cr;
	struct efs_entry e;
	int r;

	efs_fs_count_op(req_fs(req), EFS_OP_MKNOD);
	efs_fuse_cred(req, &cr);
	r = efs_fs_mknod(req_fs(req), &cr, parent, name, mode, rdev, fuse_req_ctx(req)->umask, &e);
	reply_entry(req, "mknod", parent, name, r, &e);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct rpc_cred cr;
	struct efs_entry e;
	int r;

	efs_fs_count_op(req_fs(req), EFS_OP_MKDIR);
	efs_fuse_cred(req, &cr);
	r = efs_fs_mkdir(req_fs(req), &cr, parent, name, mode, fuse_req_ctx(req)->umask, &e);
	reply_entry(req, "mkdir", parent, name, r, &e);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct rpc_cred cr;
	struct efs_entry e;
	int r;

	efs_fs_count_op(req_fs(req), EFS_OP_SYMLINK);
	efs_fuse_cred(req, &cr);
	r = efs_fs_symlink(req_fs(req), &cr, link, parent, name, &e);
	reply_entry(req, "symlink", parent, name, r, &e);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct rpc_cred cr;
	struct efs_entry e;
	int r;

	efs_fs_count_op(req_fs(req), EFS_OP_LINK);
	efs_fuse_cred(req, &cr);
	r = efs_fs_link(req_fs(req), &cr, ino, newparent, newname, &e);
	reply_entry(req, "link", newparent, newname, r, &e);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct rpc_cred cr;

	efs_fs_count_op(req_fs(req), EFS_OP_UNLINK);
	efs_fuse_cred(req, &cr);
	reply_status(req, "unlink", parent, name, efs_fs_unlink(req_fs(req), &cr, parent, name));
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct rpc_cred cr;

	efs_fs_count_op(req_fs(req), EFS_OP_RMDIR);
	efs_fuse_cred(req, &cr);
	reply_status(req, "rmdir", parent, name, efs_fs_rmdir(req_fs(req), &cr, parent, name));
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct rpc_cred cr;

	efs_fs_count_op(req_fs(req), EFS_OP_RENAME);
	efs_fuse_cred(req, &cr);
	reply_status(req, "rename", parent, name,
		     efs_fs_rename(req_fs(req), &cr, parent, name, newparent, newname, flags));
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct efs_fs *fs = req_fs(req);
	struct efs_file *f;
	struct rpc_cred cr;
	int r;

	efs_fuse_cred(req, &cr);
	r = efs_fs_open(fs, &cr, ino, fi->flags, &f);
	if (r < 0) {
		reply_status(req, "open", ino, NULL, r);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	/* close-to-open: cached pages survive only an unchanged file */
	fi->keep_cache = efs_file_keep_cache(f);
	if (fi->flags & O_DIRECT)
		fi->direct_io = 1;
	if (fuse_reply_open(req, fi) != 0)
		efs_fs_release(fs, f);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct efs_fs *fs = req_fs(req);
	struct fuse_entry_param fe;
	struct efs_file *f;
	struct rpc_cred cr;
	struct efs_entry e;
	int r;

	efs_fuse_cred(req, &cr);
	r = efs_fs_create(fs, &cr, parent, name, mode, fuse_req_ctx(req)->umask, fi->flags, &e, &f);
	if (r < 0) {
		reply_status(req, "create", parent, name, r);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->keep_cache = 0;
	if (fi->flags & O_DIRECT)
		fi->direct_io = 1;
	e.entry_timeout = efs_fs_entry_timeout(fs, parent);
	to_param(&e, &fe);
	if (fuse_reply_create(req, &fe, fi) != 0) {
		efs_fs_release(fs, f);
		efs_fs_forget(fs, e.ino, 1);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct efs_file *f = (struct efs_file *)(uintptr_t)fi->fh;
	struct efs_read_buf rb;
	struct rpc_cred cr;
	int r;

	efs_fuse_cred(req, &cr);
	/* Sent from the READ replies the data arrived in: no copy here. */
	r = efs_fs_read_iov(req_fs(req), &cr, f, size, (uint64_t)off, &rb);
	if (r < 0)
		reply_status(req, "read", ino, NULL, r);
	else
		fuse_reply_iov(req, rb.iov, (int)rb.niov);
	efs_read_buf_release(&rb);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct efs_file *f = (struct efs_file *)(uintptr_t)fi->fh;
	struct efs_fs *fs = req_fs(req);
	struct rpc_cred cr;
	size_t done = 0;
	bool moved;
	int r;

	efs_fuse_cred(req, &cr);
	r = efs_fs_write(fs, &cr, f, buf, size, (uint64_t)off, &done);
	moved = efs_fs_write_moved(f);
	if (r < 0)
		reply_status(req, "write", ino, NULL, r);
	else
		fuse_reply_write(req, done);
	if (moved) /* after the reply; req and f may be gone: see efs_fs.h */
		efs_fs_write_done(fs, ino);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct efs_file *f = (struct efs_file *)(uintptr_t)fi->fh;
	struct rpc_cred cr;

	efs_fuse_cred(req, &cr);
	reply_status(req, "flush", ino, NULL, efs_fs_flush(req_fs(req), &cr, f, fi->lock_owner));
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct efs_file *f = (struct efs_file *)(uintptr_t)fi->fh;

	reply_status(req, "release", ino, NULL, efs_fs_release(req_fs(req), f));
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct efs_file *f = (struct efs_file *)(uintptr_t)fi->fh;
	struct rpc_cred cr;

	(void)datasync;
	efs_fuse_cred(req, &cr);
	reply_status(req, "fsync", ino, NULL, efs_fs_fsync(req_fs(req), &cr, f));
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct efs_fs *fs = req_fs(req);
	struct efs_dir *d;
	struct rpc_cred cr;
	int r;

	efs_fs_count_op(req_fs(req), EFS_OP_OPENDIR);
	efs_fuse_cred(req, &cr);
	r = efs_fs_opendir(fs, &cr, ino, &d);
	if (r < 0) {
		reply_status(req, "opendir", ino, NULL, r);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0)
		efs_fs_releasedir(fs, d);
}

struct fill_ctx {
	fuse_req_t req;
	char *buf;
	size_t size, pos;
	bool plus;
	uint64_t *inos; /* lookup references handed out (plus) */
	size_t ninos, capinos;
};

static int fill(void *arg, const char *name, const struct efs_entry *e, uint64_t next_off)
{
	struct fill_ctx *c = arg;
	size_t rem = c->size - c->pos, n;

	if (c->plus) {
		struct fuse_entry_param fe;

		if (e->ino && c->ninos == c->capinos) {
			size_t cap = c->capinos ? c->capinos * 2 : 64;
			uint64_t *p = realloc(c->inos, cap * sizeof(*p));

			if (!p)
				return 1;
			c->inos = p;
			c->capinos = cap;
		}
		to_param(e, &fe);
		n = fuse_add_direntry_plus(c->req, c->buf + c->pos, rem, name, &fe,
					   (off_t)next_off);
	} else {
		n = fuse_add_direntry(c->req, c->buf + c->pos, rem, name, &e->st, (off_t)next_off);
	}
	if (n > rem)
		return 1;
	c->pos += n;
	if (c->plus && e->ino)
		c->inos[c->ninos++] = e->ino;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct efs_fs *fs = req_fs(req);
	struct efs_dir *d = (struct efs_dir *)(uintptr_t)fi->fh;
	struct fill_ctx c = {.req = req, .size = size, .plus = plus};
	struct rpc_cred cr;
	size_t i;
	int r;

	c.buf = malloc(size ? size : 1);
	if (!c.buf) {
		reply_status(req, "readdir", ino, NULL, -ENOMEM);
		return;
	}
	efs_fuse_cred(req, &cr);
	r = efs_fs_readdir(fs, &cr, d, (uint64_t)off, plus, fill, &c);
	if (r < 0 && c.pos == 0) {
		for (i = 0; i < c.ninos; i++)
			efs_fs_forget(fs, c.inos[i], 1);
		reply_status(req, plus ? "readdirplus" : "readdir", ino, NULL, r);
	} else if (fuse_reply_buf(req, c.buf, c.pos) != 0) {
		for (i = 0; i < c.ninos; i++)
			efs_fs_forget(fs, c.inos[i], 1);
	}
	free(c.inos);
	free(c.buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	efs_fs_count_op(req_fs(req), EFS_OP_READDIR);
	do_readdir(req, ino, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	efs_fs_count_op(req_fs(req), EFS_OP_READDIRPLUS);
	do_readdir(req, ino, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	efs_fs_count_op(req_fs(req), EFS_OP_RELEASEDIR);
	(void)ino;
	efs_fs_releasedir(req_fs(req), (struct efs_dir *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct rpc_cred cr;
	struct statvfs sv;
	int r;

	efs_fs_count_op(req_fs(req), EFS_OP_STATFS);
	efs_fuse_cred(req, &cr);
	r = efs_fs_statfs(req_fs(req), &cr, ino, &sv);
	if (r < 0)
		reply_status(req, "statfs", ino, NULL, r);
	else
		fuse_reply_statfs(req, &sv);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct rpc_cred cr;

	efs_fs_count_op(req_fs(req), EFS_OP_ACCESS);
	efs_fuse_cred(req, &cr);
	reply_status(req, "access", ino, NULL, efs_fs_access(req_fs(req), &cr, ino, mask));
}

static void op_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock)
{
	struct efs_file *f = (struct efs_file *)(uintptr_t)fi->fh;
	uint64_t start = (uint64_t)lock->l_start, len = (uint64_t)lock->l_len;
	int type = lock->l_type, r;
	struct rpc_cred cr;

	efs_fs_count_op(req_fs(req), EFS_OP_GETLK);
	efs_fuse_cred(req, &cr);
	r = efs_fs_getlk(req_fs(req), &cr, f, fi->lock_owner, &type, &start, &len);
	if (r < 0) {
		reply_status(req, "getlk", ino, NULL, r);
		return;
	}
	lock->l_type = (short)type;
	if (type != F_UNLCK) {
		lock->l_whence = SEEK_SET;
		lock->l_start = (off_t)start;
		lock->l_len = (off_t)len;
		lock->l_pid = 0; /* held on another client or by another owner */
	}
	fuse_reply_lock(req, lock);
}

/* A blocking lock's wait ended (on the lock-wait thread): the one reply (logged
 * against the root: the file is not known here). */
static void lock_wait_done(void *arg, int r)
{
	fuse_req_t req = arg;

	reply_status(req, "setlk", FUSE_ROOT_ID, NULL, r);
}

/*
 * Set a lock; a blocking one (F_SETLKW, flock without LOCK_NB) that must
 * wait is answered later from the lock-wait thread, so waiters never hold
 * a FUSE worker and each can be interrupted.
 */
static void set_lock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int type,
		     uint64_t start, uint64_t len, bool wait, const char *what)
{
	struct efs_file *f = (struct efs_file *)(uintptr_t)fi->fh;
	struct rpc_cred cr;
	int r;

	efs_fuse_cred(req, &cr);
	if (!wait) {
		reply_status(
			req, what, ino, NULL,
			efs_fs_setlk(req_fs(req), &cr, f, fi->lock_owner, type, start, len, false));
		return;
	}
	r = efs_fs_setlk_wait(req_fs(req), &cr, f, fi->lock_owner, type, start, len, lock_wait_done,
			      req);
	if (r != 1)
		reply_status(req, what, ino, NULL, r);
}

static void op_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
		     int sleep)
{
	efs_fs_count_op(req_fs(req), EFS_OP_SETLK);
	set_lock(req, ino, fi, lock->l_type, (uint64_t)lock->l_start, (uint64_t)lock->l_len,
		 sleep != 0, "setlk");
}

/* flock(2): a whole-file lock, as the Linux NFS client maps it. */
static void op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	int type;

	efs_fs_count_op(req_fs(req), EFS_OP_FLOCK);
	switch (op & ~LOCK_NB) {
	case LOCK_SH:
		type = F_RDLCK;
		break;
	case LOCK_EX:
		type = F_WRLCK;
		break;
	case LOCK_UN:
		type = F_UNLCK;
		break;
	default:
		reply_status(req, "flock", ino, NULL, -EINVAL);
		return;
	}
	set_lock(req, ino, fi, type, 0, 0, !(op & LOCK_NB), "flock");
}

/*
 * Extended attributes: only the daemon's counters (EFS_STATS_XATTR), on
 * every inode, not listed.  The size probe (size 0) answers with some
 * room to spare: the counters move between the probe and the read.
 */
#define XATTR_PROBE_SLACK 1024

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct efs_fs *fs = req_fs(req);
	char *buf = NULL;
	int r;

	efs_fs_count_op(fs, EFS_OP_GETXATTR);
	if (size > 0) {
		buf = malloc(size);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	r = efs_fs_getxattr(fs, ino, name, buf, size);
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)r + XATTR_PROBE_SLACK);
	else
		fuse_reply_buf(req, buf, (size_t)r);
	free(buf);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)ino;
	efs_fs_count_op(req_fs(req), EFS_OP_LISTXATTR);
	if (size == 0)
		fuse_reply_xattr(req, 0);
	else
		fuse_reply_buf(req, NULL, 0);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	(void)ino;
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	efs_fs_count_op(req_fs(req), EFS_OP_SETXATTR);
	fuse_reply_err(req, ENOTSUP);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	efs_fs_count_op(req_fs(req), EFS_OP_REMOVEXATTR);
	fuse_reply_err(req, ENOTSUP);
}

/* Counting wrappers of the data-path handlers (whose bodies stay as they are). */
static void cnt_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	efs_fs_count_op(req_fs(req), EFS_OP_OPEN);
	op_open(req, ino, fi);
}

static void cnt_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		       struct fuse_file_info *fi)
{
	struct efs_fs *fs = req_fs(req);
	char copy[NAME_MAX + 1];

	snprintf(copy, sizeof(copy), "%s", name); /* name's buffer may go with the reply */
	efs_fs_count_op(fs, EFS_OP_CREATE);
	efs_fs_create_begin(fs, parent);
	op_create(req, parent, name, mode, fi);
	efs_fs_create_end(fs, parent, copy);
}

static void cnt_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	efs_fs_count_op(req_fs(req), EFS_OP_READ);
	op_read(req, ino, size, off, fi);
}

static void cnt_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	efs_fs_count_op(req_fs(req), EFS_OP_WRITE);
	op_write(req, ino, buf, size, off, fi);
}

static void cnt_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	efs_fs_count_op(req_fs(req), EFS_OP_FLUSH);
	op_flush(req, ino, fi);
}

static void cnt_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	efs_fs_count_op(req_fs(req), EFS_OP_RELEASE);
	op_release(req, ino, fi);
}

static void cnt_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	efs_fs_count_op(req_fs(req), EFS_OP_FSYNC);
	op_fsync(req, ino, datasync, fi);
}

const struct fuse_lowlevel_ops efs_fuse_ops = {
	.init = op_init,
	.destroy = op_destroy,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = cnt_open,
	.create = cnt_create,
	.read = cnt_read,
	.write = cnt_write,
	.flush = cnt_flush,
	.release = cnt_release,
	.fsync = cnt_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
	.access = op_access,
	.getlk = op_getlk,
	.setlk = op_setlk,
	.flock = op_flock,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
};
