/*
 * fs_io.c - open files: OPEN/CLOSE (RFC 8881 sections 18.16, 18.2), READ
 * (18.22), WRITE (18.32) and COMMIT (18.3) with the write verifier check.
 * The open state is nfs4/nfs4_state.h's: shared by the opens of one file by
 * one credential, released (OPEN_DOWNGRADE / CLOSE) at FUSE RELEASE.
 *
 * Data path (issue 3): ordinary writes land in the write-back cache
 * (cache/wbcache.h) and are sent as UNSTABLE4 WRITEs in the background;
 * flush (every close) and fsync return once the inode's data is written
 * and COMMITted.  O_SYNC/O_DSYNC/O_DIRECT opens, and noac mounts, write
 * FILE_SYNC4 at once.  Reads go through the open's read-ahead
 * (cache/readahead.h), after pushing cached writes they overlap.  The
 * kernel keeps its page cache across opens while the change attribute is
 * the one it was filled at (keep_cache).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

static int commit(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f);

static struct efs_file *file_new(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
				 struct nfs4_open *op, int flags)
{
	struct efs_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->inode = in;
	f->op = op;
	f->share = share_access(flags);
	f->cred = rpc_cred_keep(cr);
	f->flags = flags;
	f->sync = (flags & (O_SYNC | O_DSYNC | O_DIRECT)) != 0 || fs->cfg.sync_writes;
	if (!(flags & O_DIRECT) && (flags & O_ACCMODE) != O_WRONLY)
		f->ra = ra_file_new(fs->ra, op);
	pthread_mutex_lock(&in->lock);
	in->nopen++;
	f->ra_gen = in->data_gen;
	pthread_mutex_unlock(&in->lock);
	pthread_mutex_init(&f->lock, NULL);
	pthread_mutex_lock(&fs->files_lock);
	efs_list_add(&fs->files, &f->link);
	pthread_mutex_unlock(&fs->files_lock);
	return f;
}

/* wb.* lines of the stats xattr (the fs->stats_extra hook). */
static void wb_stats(void *arg, char *buf, size_t len, size_t *used)
{
	struct efs_fs *fs = arg;
	struct wbcache_stats st;
	int n;

	if (*used >= len)
		return;
	wbcache_get_stats(fs->wb, &st);
	n = snprintf(buf + *used, len - *used,
		     "wb.writes %llu\nwb.write_bytes %llu\nwb.commits %llu\nwb.resends %llu\n"
		     "wb.used_bytes %zu\nwb.peak_bytes %zu\nwb.lost_bytes %llu\n",
		     (unsigned long long)st.writes, (unsigned long long)st.write_bytes,
		     (unsigned long long)st.commits, (unsigned long long)st.resends, st.used,
		     st.peak, (unsigned long long)st.lost_bytes);
	*used += n > 0 ? (size_t)n : 0;
}

int efs_io_init(struct efs_fs *fs)
{
	struct wbcache_cfg wc = {
		.cap = fs->cfg.cache_size ? fs->cfg.cache_size : (uint64_t)256 << 20,
		.flushers = 8,
	};

	fs->wb = wbcache_new(fs->clnt, &wc);
	fs->ra = ra_pool_new(fs->clnt, 64u << 20, 4);
	if (!fs->wb || !fs->ra) {
		efs_io_fini(fs);
		return -ENOMEM;
	}
	fs->stats_extra = wb_stats;
	fs->stats_extra_arg = fs;
	return 0;
}

void efs_io_fini(struct efs_fs *fs)
{
	wbcache_free(fs->wb);
	ra_pool_free(fs->ra);
	fs->wb = NULL;
	fs->ra = NULL;
}

/* The inode's write-back file, created on first use; NULL on ENOMEM. */
static struct wb_file *inode_wb(struct efs_fs *fs, struct efs_inode *in)
{
	struct wb_file *wb;

	pthread_mutex_lock(&in->lock);
	if (!in->wb) {
		in->wb = wb_file_new(fs->wb, &in->fh);
		if (in->wb)
			wb_file_set_fileid(in->wb, in->fileid);
	}
	wb = in->wb;
	pthread_mutex_unlock(&in->lock);
	return wb;
}

static struct wb_file *inode_wb_peek(struct efs_inode *in)
{
	struct wb_file *wb;

	pthread_mutex_lock(&in->lock);
	wb = in->wb;
	pthread_mutex_unlock(&in->lock);
	return wb;
}

void efs_io_writeout(struct efs_fs *fs, struct efs_inode *in)
{
	struct wb_file *wb = inode_wb_peek(in);

	(void)fs;
	if (wb)
		wb_file_writeout(wb, 0, UINT64_MAX / 2);
}

void efs_io_invalidate(struct efs_inode *in)
{
	pthread_mutex_lock(&in->lock);
	in->data_gen++; /* every open's read-ahead is stale */
	in->kept_valid = false;
	pthread_mutex_unlock(&in->lock);
}

/*
 * When all the inode has cached is one small range, send it as one FILE_SYNC4
 * WRITE (no COMMIT: one round trip), with the writer's credential and open
 * state.  1 sent, 0 nothing of that shape cached, -errno.
 */
static int write_small(struct efs_fs *fs, struct wb_file *wb)
{
	uint8_t verf[NFS4_VERIFIER_SIZE];
	uint32_t written = 0, committed = 0;
	struct wb_small sm;
	int r;

	if (!wb_file_take_small(wb, fs->wsize, &sm))
		return 0;
	r = nfs4_write_open(fs->clnt, &sm.cred, sm.op, sm.off, sm.data, sm.len, FILE_SYNC4,
			    &written, &committed, verf);
	if (!r && (written != sm.len || committed != FILE_SYNC4))
		r = -EAGAIN; /* short or unstable: the ordinary path writes it again */
	wb_file_small_done(wb, &sm, r);
	if (r == -EAGAIN)
		return 0;
	return r ? efs_errno(r) : 1;
}

int efs_io_flush_inode(struct efs_fs *fs, struct efs_inode *in)
{
	struct wb_file *wb = inode_wb_peek(in);
	int r;

	efs_io_invalidate(in);
	if (!wb)
		return 0;
	r = write_small(fs, wb);
	return r < 0 ? r : wb_file_flush(wb);
}

/*
 * keep_cache: the kernel's page cache for this inode was filled while the
 * file had change attribute kept_change; keep it only if that still holds.
 */
static bool keep_cache_at_open(struct efs_inode *in, const struct nfs4_attr *a)
{
	bool keep = false;

	if (!(a->valid & NFS4_ATTR_BIT(FATTR4_CHANGE)))
		return false;
	pthread_mutex_lock(&in->lock);
	if (in->kept_valid && in->kept_change == a->change && (!in->wb || !wb_file_busy(in->wb)))
		keep = true;
	in->kept_change = a->change;
	in->kept_valid = true;
	pthread_mutex_unlock(&in->lock);
	return keep;
}

bool efs_file_keep_cache(const struct efs_file *f)
{
	return f->keep_cache;
}

uint64_t efs_file_ino(const struct efs_file *f)
{
	return f->inode->fileid;
}

int efs_fs_open(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, int flags,
		struct efs_file **fp)
{
	struct efs_inode *in = efs_inode_get(fs, ino);
	struct nfs4_open *op;
	struct nfs4_attr a;
	struct nfs4_fh fh;
	uint32_t acc = share_access(flags);
	int r;

	if (fs->cfg.ro && (acc & OPEN4_SHARE_ACCESS_WRITE))
		return -EROFS;
	efs_inode_fh(in, &fh);
	memset(&a, 0, sizeof(a));
	r = nfs4_open_by_fh(fs->clnt, cr, &fh, acc, &op, &a);
	if (r)
		return efs_errno(r);
	if ((a.valid & NFS4_ATTR_BIT(FATTR4_NUMLINKS)) && a.nlink == 0 &&
	    (a.valid & NFS4_ATTR_BIT(FATTR4_TYPE)) && a.type == NF4REG) {
		/*
		 * Removed on the server (by another client) while the kernel
		 * still has the name: -ESTALE makes the VFS redo the path walk
		 * with LOOKUP_REVAL, so open(2) revalidates the name and fails
		 * with ENOENT (close-to-open).
		 */
		nfs4_open_release(fs->clnt, cr, op, acc);
		efs_inode_set_attr(in, &a);
		return -ESTALE;
	}
	if (a.valid && efs_inode_set_attr_changed(in, &a) && fs->inval)
		fs->inval(fs->inval_arg, ino, false); /* close-to-open: kernel attrs are stale */
	r = efs_open_access_check(fs, cr, in, flags); /* what OPEN does not check */
	if (r) {
		nfs4_open_release(fs->clnt, cr, op, acc);
		return r;
	}
	*fp = file_new(fs, cr, in, op, flags);
	if (!*fp) {
		nfs4_open_release(fs->clnt, cr, op, acc);
		return -ENOMEM;
	}
	(*fp)->keep_cache = keep_cache_at_open(in, &a);
	return 0;
}

int efs_fs_create(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name,
		  mode_t mode, mode_t umask, int flags, struct efs_entry *e, struct efs_file **fp)
{
	struct nfs4_sattr sa = {.set = NFS4_SET_MODE, .mode = mode & ~umask & 07777};
	bool excl = (flags & O_EXCL) != 0;
	struct nfs4_change_info ci;
	struct nfs4_open *op;
	struct efs_inode *in;
	struct nfs4_fh fh;
	struct nfs4_fh dfh;
	struct nfs4_attr a;
	int r;

	if (strlen(name) > 255)
		return -ENAMETOOLONG;
	if (fs->cfg.ro)
		return -EROFS;
	efs_inode_fh(efs_inode_get(fs, parent), &dfh);
	memset(&a, 0, sizeof(a));
	memset(&ci, 0, sizeof(ci));
	r = nfs4_open_by_name(fs->clnt, cr, &dfh, name, share_access(flags), true, excl, &sa, &op,
			      &a, &ci);
	if (r)
		return efs_errno(r);
	nfs4_open_get_fh(op, &fh);
	if (!excl) {
		/* an existing file: checked as an open, then O_TRUNC (see fs.c) */
		r = efs_create_existing(fs, cr, op, &fh, flags, &ci, &a);
		if (r)
			goto fail_close;
	}
	if (!efs_attr_complete(&a)) {
		r = nfs4_getattr(fs->clnt, cr, &fh, &a);
		if (r) {
			r = efs_errno(r);
			goto fail_close;
		}
	}
	r = efs_inode_ref(fs, &fh, &a, &in);
	efs_dir_note_create(fs, efs_inode_get(fs, parent), name, r, &ci, r ? NULL : in);
	if (r)
		goto fail_close;
	*fp = file_new(fs, cr, in, op, flags);
	if (*fp)
		keep_cache_at_open(in, &a);
	if (!*fp) {
		efs_inode_unref(fs, in, 1);
		r = -ENOMEM;
		goto fail_close;
	}
	efs_fill_entry(fs, in, &a, e);
	return 0;
fail_close:
	nfs4_open_release(fs->clnt, cr, op, share_access(flags));
	return r;
}

/* READ straight from the server (O_DIRECT opens, or no read-ahead). */
static int read_direct(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, void *buf,
		       size_t size, uint64_t off, size_t *got)
{
	size_t done = 0;
	int r;

	while (done < size) {
		uint32_t cnt = size - done > fs->rsize ? fs->rsize : (uint32_t)(size - done);
		uint32_t n = 0;
		bool eof = false;

		r = nfs4_read_open(fs->clnt, cr, f->op, off + done, cnt, (char *)buf + done, &n,
				   &eof);
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

int efs_fs_read(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, void *buf,
		size_t size, uint64_t off, size_t *got)
{
	struct efs_inode *in = f->inode;
	struct wb_file *wb = inode_wb_peek(in);
	uint64_t gen;
	int r;

	/* Our cached writes must be on the server before it answers a READ. */
	if (wb && wb_file_busy(wb))
		wb_file_writeout(wb, off, size);
	if (!f->ra)
		return read_direct(fs, cr, f, buf, size, off, got);
	pthread_mutex_lock(&in->lock);
	gen = in->data_gen;
	pthread_mutex_unlock(&in->lock);
	pthread_mutex_lock(&f->lock);
	if (f->ra_gen != gen) {
		ra_file_invalidate(f->ra);
		f->ra_gen = gen;
	}
	pthread_mutex_unlock(&f->lock);
	r = ra_file_read(f->ra, cr, off, size, buf, got);
	return r ? efs_errno(r) : 0;
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

/* Synchronous FILE_SYNC4 writes (O_SYNC/O_DSYNC/O_DIRECT, noac). */
static int write_sync(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f,
		      const void *buf, size_t size, uint64_t off, size_t *written)
{
	struct wb_file *wb = inode_wb_peek(f->inode);
	size_t done = 0;
	int r;

	/* Earlier cached writes first: the sync write must not be overtaken. */
	if (wb) {
		r = wb_file_flush(wb);
		if (r)
			return r;
	}
	while (done < size) {
		uint32_t cnt = size - done > fs->wsize ? fs->wsize : (uint32_t)(size - done);
		uint32_t n = 0, committed = 0;
		uint8_t verf[NFS4_VERIFIER_SIZE];

		r = nfs4_write_open(fs->clnt, cr, f->op, off + done, (const char *)buf + done, cnt,
				    FILE_SYNC4, &n, &committed, verf);
		if (r) {
			r = efs_errno(r);
			break;
		}
		if (n == 0 || n > cnt) {
			r = -EIO;
			break;
		}
		if (committed != FILE_SYNC4)
			note_unstable(f, verf);
		done += n;
	}
	/* A server that answered UNSTABLE4 to FILE_SYNC4 still owes us. */
	if (r == 0)
		r = commit(fs, cr, f);
	*written = done;
	return done > 0 ? 0 : r;
}

int efs_fs_write(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, const void *buf,
		 size_t size, uint64_t off, size_t *written)
{
	struct efs_inode *in = f->inode;
	struct wb_file *wb;
	int r;

	if (fs->cfg.ro)
		return -EROFS;
	if (nfs4_open_lost(f->op))
		return -EIO; /* its lock was lost: see nfs4_state.h */
	if (f->flags & O_APPEND) {
		/*
		 * The kernel's offset is its cached i_size, which another
		 * client may have moved: append at the size the server gave at
		 * open (close-to-open), advanced by the writes since.  The
		 * kernel serialises writes to one inode, so this is stable.
		 */
		pthread_mutex_lock(&in->lock);
		if (in->attr_valid && (in->attr.valid & NFS4_ATTR_BIT(FATTR4_SIZE)))
			off = in->attr.size;
		pthread_mutex_unlock(&in->lock);
	}
	efs_io_invalidate(in); /* other opens' read-ahead, keep_cache */
	if (f->sync) {
		r = write_sync(fs, cr, f, buf, size, off, written);
	} else {
		wb = inode_wb(fs, in);
		r = wb ? wb_file_write(wb, cr, f->op, off, buf, size) : -ENOMEM;
		*written = r ? 0 : size;
	}
	if (*written > 0)
		efs_inode_grow(in, off + *written);
	return r;
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

	{
		struct nfs4_fh fh;

		nfs4_open_get_fh(f->op, &fh);
		r = nfs4_commit(fs->clnt, cr, &fh, 0, 0, cverf);
	}
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

/* Everything this open and the inode have cached: written and COMMITted. */
static int flush_all(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f)
{
	struct wb_file *wb = inode_wb_peek(f->inode);
	int r = wb ? wb_file_flush(wb) : 0;
	int r2 = commit(fs, cr, f);

	return r ? r : r2;
}

/*
 * close(2) of a descriptor.  The end of a small file costs one round trip:
 * its cached bytes go as one FILE_SYNC4 WRITE (no COMMIT); the CLOSE waits
 * for RELEASE, off the application's path.  A child's close-on-exec flushes
 * too (close-to-open), but it does not touch the open state.
 */
int efs_fs_flush(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f,
		 uint64_t lock_owner)
{
	struct wb_file *wb = inode_wb_peek(f->inode);
	int r = 0, r2;

	if (wb && (f->share & OPEN4_SHARE_ACCESS_WRITE))
		r = write_small(fs, wb);
	r = r < 0 ? r : flush_all(fs, cr, f);
	r2 = efs_lock_release_owner(fs, cr, f, lock_owner);
	return r ? r : r2;
}

int efs_fs_fsync(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f)
{
	return flush_all(fs, cr, f);
}

int efs_fs_release(struct efs_fs *fs, struct efs_file *f)
{
	struct efs_inode *in = f->inode;
	int r, r2;

	/*
	 * Flushed before CLOSE: the cached writes may use this open's stateid.
	 * The inode's write-back file stays with the inode (freed with it):
	 * other requests on the inode may be using it right now.
	 */
	r = flush_all(fs, &f->cred, f);
	ra_file_free(f->ra);
	pthread_mutex_lock(&in->lock);
	in->nopen--;
	pthread_mutex_unlock(&in->lock);
	/* Locks of this open go with it (flock's, and POSIX ones of exited owners). */
	r2 = efs_errno(nfs4_open_release(fs->clnt, &f->cred, f->op, f->share));
	pthread_mutex_lock(&fs->files_lock);
	efs_list_del(&f->link);
	pthread_mutex_unlock(&fs->files_lock);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return r ? r : r2;
}
