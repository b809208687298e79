/*
 * fs_io.c - open files: OPEN/CLOSE (RFC 8881 sections 18.16, 18.2), READ
 * (18.22), WRITE (18.32) and COMMIT (18.3) with the write verifier check.
 * Each FUSE open has its own open state (nfs4_open_* uses a fresh
 * open-owner per call).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include "fs/fs_int.h"
#include "util/log.h"

static uint32_t share_access(int flags)
{
	switch (flags & O_ACCMODE) {
	case O_WRONLY:
		return OPEN4_SHARE_ACCESS_WRITE;
	case O_RDWR:
		return OPEN4_SHARE_ACCESS_BOTH;
	default:
		return OPEN4_SHARE_ACCESS_READ;
	}
}

static struct efs_file *file_new(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
				 const struct nfs4_open_state *st, int flags)
{
	struct efs_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->inode = in;
	f->st = *st;
	f->cred = *cr;
	f->flags = flags;
	f->sync = (flags & (O_SYNC | O_DSYNC | O_DIRECT)) != 0;
	pthread_mutex_init(&f->lock, NULL);
	pthread_mutex_lock(&fs->files_lock);
	efs_list_add(&fs->files, &f->link);
	pthread_mutex_unlock(&fs->files_lock);
	return f;
}

uint64_t efs_file_ino(const struct efs_file *f)
{
	return f->inode->fileid;
}

int efs_fs_open(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, int flags,
		struct efs_file **fp)
{
	struct efs_inode *in = efs_inode_get(fs, ino);
	struct nfs4_open_state st;
	struct nfs4_attr a;
	struct nfs4_fh fh;
	uint32_t acc = share_access(flags);
	int r;

	if (fs->cfg.ro && (acc & OPEN4_SHARE_ACCESS_WRITE))
		return -EROFS;
	efs_inode_fh(in, &fh);
	memset(&st, 0, sizeof(st));
	memset(&a, 0, sizeof(a));
	r = nfs4_open_fh(fs->clnt, cr, &fh, acc, &st, &a);
	if (r)
		return efs_errno(r);
	if (st.fh.len == 0)
		st.fh = fh;
	if ((a.valid & NFS4_ATTR_BIT(FATTR4_NUMLINKS)) && a.nlink == 0 &&
	    (a.valid & NFS4_ATTR_BIT(FATTR4_TYPE)) && a.type == NF4REG) {
		/*
		 * Removed on the server (by another client) while the kernel
		 * still has the name: -ESTALE makes the VFS redo the path walk
		 * with LOOKUP_REVAL, so open(2) revalidates the name and fails
		 * with ENOENT (close-to-open).
		 */
		nfs4_close(fs->clnt, cr, &st);
		efs_inode_set_attr(in, &a);
		return -ESTALE;
	}
	if (a.valid && efs_inode_set_attr_changed(in, &a) && fs->inval)
		fs->inval(fs->inval_arg, ino, false); /* close-to-open: kernel attrs are stale */
	*fp = file_new(fs, cr, in, &st, flags);
	if (!*fp) {
		nfs4_close(fs->clnt, cr, &st);
		return -ENOMEM;
	}
	return 0;
}

int efs_fs_create(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name,
		  mode_t mode, mode_t umask, int flags, struct efs_entry *e, struct efs_file **fp)
{
	struct nfs4_sattr sa = {.set = NFS4_SET_MODE, .mode = mode & ~umask & 07777};
	bool excl = (flags & O_EXCL) != 0;
	struct nfs4_open_state st;
	struct efs_inode *in;
	struct nfs4_fh dfh;
	struct nfs4_attr a;
	int r;

	if (strlen(name) > 255)
		return -ENAMETOOLONG;
	if (fs->cfg.ro)
		return -EROFS;
	if ((flags & O_TRUNC) && !excl) {
		/* UNCHECKED4 on an existing file: size 0 truncates it */
		sa.set |= NFS4_SET_SIZE;
		sa.size = 0;
	}
	efs_inode_fh(efs_inode_get(fs, parent), &dfh);
	memset(&st, 0, sizeof(st));
	memset(&a, 0, sizeof(a));
	r = nfs4_open_name(fs->clnt, cr, &dfh, name, share_access(flags), true, excl, &sa, &st, &a);
	if (r)
		return efs_errno(r);
	if (!efs_attr_complete(&a)) {
		r = nfs4_getattr(fs->clnt, cr, &st.fh, &a);
		if (r) {
			r = efs_errno(r);
			goto fail_close;
		}
	}
	r = efs_inode_ref(fs, &st.fh, &a, &in);
	if (r)
		goto fail_close;
	*fp = file_new(fs, cr, in, &st, flags);
	if (!*fp) {
		efs_inode_unref(fs, in, 1);
		r = -ENOMEM;
		goto fail_close;
	}
	efs_fill_entry(fs, in, &a, e);
	return 0;
fail_close:
	nfs4_close(fs->clnt, cr, &st);
	return r;
}

int efs_fs_read(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, void *buf,
		size_t size, uint64_t off, size_t *got)
{
	size_t done = 0;
	int r;

	while (done < size) {
		uint32_t cnt = size - done > fs->rsize ? fs->rsize : (uint32_t)(size - done);
		uint32_t n = 0;
		bool eof = false;

		r = nfs4_read(fs->clnt, cr, &f->st.fh, &f->st.stateid, off + done, cnt,
			      (char *)buf + done, &n, &eof);
		if (r)
			return efs_errno(r);
		if (n > cnt)
			return -EIO;
		done += n;
		if (eof || n == 0)
			break;
	}
	*got = done;
	return 0;
}

static void note_unstable(struct efs_file *f, const uint8_t verf[NFS4_VERIFIER_SIZE])
{
	pthread_mutex_lock(&f->lock);
	if (!f->have_verf) {
		memcpy(f->verf, verf, NFS4_VERIFIER_SIZE);
		f->have_verf = true;
	} else if (memcmp(f->verf, verf, NFS4_VERIFIER_SIZE) != 0) {
		f->verf_changed = true;
	}
	f->needs_commit = true;
	f->dirty_gen++;
	pthread_mutex_unlock(&f->lock);
}

int efs_fs_write(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, const void *buf,
		 size_t size, uint64_t off, size_t *written)
{
	uint32_t stable = f->sync ? FILE_SYNC4 : UNSTABLE4;
	size_t done = 0;
	int r = 0;

	if (fs->cfg.ro)
		return -EROFS;
	if (f->flags & O_APPEND) {
		/*
		 * The kernel's offset is its cached i_size, which another
		 * client may have moved: append at the size the server gave at
		 * open (close-to-open), advanced by the writes since.  The
		 * kernel serialises writes to one inode, so this is stable.
		 */
		pthread_mutex_lock(&f->inode->lock);
		if (f->inode->attr_valid && (f->inode->attr.valid & NFS4_ATTR_BIT(FATTR4_SIZE)))
			off = f->inode->attr.size;
		pthread_mutex_unlock(&f->inode->lock);
	}
	while (done < size) {
		uint32_t cnt = size - done > fs->wsize ? fs->wsize : (uint32_t)(size - done);
		uint32_t n = 0, committed = 0;
		uint8_t verf[NFS4_VERIFIER_SIZE];

		r = nfs4_write(fs->clnt, cr, &f->st.fh, &f->st.stateid, off + done,
			       (const char *)buf + done, cnt, stable, &n, &committed, verf);
		if (r) {
			r = efs_errno(r);
			break;
		}
		if (n == 0 || n > cnt) {
			r = -EIO;
			break;
		}
		if (committed == UNSTABLE4)
			note_unstable(f, verf);
		done += n;
	}
	if (done > 0)
		efs_inode_grow(f->inode, off + done);
	if (f->sync && r == 0) {
		/* a server that answered UNSTABLE4 to FILE_SYNC4 still owes us */
		r = efs_fs_fsync(fs, cr, f);
	}
	if (done > 0 && r != 0 && !f->sync) {
		*written = done; /* partial write: report what went out */
		return 0;
	}
	if (r)
		return r;
	*written = done;
	return 0;
}

/* COMMIT the whole file if UNSTABLE4 writes are outstanding. */
static int commit(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f)
{
	uint8_t wverf[NFS4_VERIFIER_SIZE], cverf[NFS4_VERIFIER_SIZE];
	bool changed;
	uint64_t gen;
	int r;

	pthread_mutex_lock(&f->lock);
	if (!f->needs_commit) {
		pthread_mutex_unlock(&f->lock);
		return 0;
	}
	gen = f->dirty_gen;
	changed = f->verf_changed;
	memcpy(wverf, f->verf, sizeof(wverf));
	pthread_mutex_unlock(&f->lock);

	r = nfs4_commit(fs->clnt, cr, &f->st.fh, 0, 0, cverf);
	if (r)
		return efs_errno(r);
	if (changed || memcmp(wverf, cverf, sizeof(cverf)) != 0) {
		efs_log(EFS_LOG_ERR,
			"commit: inode %llu: write verifier changed (server restarted?), "
			"unstable data may be lost",
			(unsigned long long)f->inode->fileid);
		r = -EIO;
	}
	pthread_mutex_lock(&f->lock);
	if (f->dirty_gen == gen) {
		f->needs_commit = false;
		f->have_verf = false;
		f->verf_changed = false;
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

int efs_fs_flush(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f,
		 uint64_t lock_owner)
{
	int r = commit(fs, cr, f), r2;

	r2 = efs_lock_release_owner(fs, cr, f->inode, lock_owner);
	return r ? r : r2;
}

int efs_fs_fsync(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f)
{
	return commit(fs, cr, f);
}

int efs_fs_release(struct efs_fs *fs, struct efs_file *f)
{
	int r, r2;

	r = commit(fs, &f->cred, f);
	efs_lock_release_file(fs, f);
	r2 = efs_errno(nfs4_close(fs->clnt, &f->cred, &f->st));
	pthread_mutex_lock(&fs->files_lock);
	efs_list_del(&f->link);
	pthread_mutex_unlock(&fs->files_lock);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return r ? r : r2;
}
