/*
 * fs_io.c - open files: OPEN/CLOSE (RFC 8881 sections 18.16, 18.2), READ
 * (18.22), WRITE (18.32) and COMMIT (18.3) with the write verifier check.
 * The open state is nfs4/nfs4_state.h's: shared by the opens of one file by
 * one credential, released (OPEN_DOWNGRADE / CLOSE) at FUSE RELEASE.
 *
 * Data path (issues 3, 10): ordinary writes land in the inode's data object
 * (cache/wbcache.h) and are sent as UNSTABLE4 WRITEs in the background;
 * flush (every close) and fsync return once the inode's data is written
 * and COMMITted, and report the write-back errors this open file
 * description has not seen (errseq: fsync consumes, close reports).
 * O_APPEND writes at the local end of file, which counts cached writes.  O_SYNC/O_DSYNC/O_DIRECT
 * opens, and noac mounts, write FILE_SYNC4 at once.  Reads go through the open's read-ahead
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

static struct wb_file *inode_wb(struct efs_fs *fs, struct efs_inode *in);

static struct efs_file *file_new(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
				 struct nfs4_open *op, int flags)
{
	struct wb_file *wb = inode_wb(fs, in);

	struct efs_file *f = wb ? calloc(1, sizeof(*f)) : NULL;

	if (!f)
		return NULL;
	f->wb_since = wb_file_err_sample(wb);
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
	uint64_t zc, copied;
	int n;

	if (*used >= len)
		return;
	wbcache_get_stats(fs->wb, &st);
	n = snprintf(buf + *used, len - *used,
		     "wb.writes %llu\nwb.write_bytes %llu\nwb.commits %llu\nwb.resends %llu\n"
		     "wb.used_bytes %zu\nwb.peak_bytes %zu\nwb.aged %llu\nwb.cap_waits %llu\n"
		     "wb.lost_bytes %llu\n",
		     (unsigned long long)st.writes, (unsigned long long)st.write_bytes,
		     (unsigned long long)st.commits, (unsigned long long)st.resends, st.used,
		     st.peak, (unsigned long long)st.aged, (unsigned long long)st.cap_waits,
		     (unsigned long long)st.lost_bytes);
	*used += n > 0 ? (size_t)n : 0;
	if (*used >= len)
		return;
	ra_pool_get_stats(fs->ra, &zc, &copied);
	n = snprintf(buf + *used, len - *used,
		     "ra.workers %u\nra.zero_copy_bytes %llu\nra.copied_bytes %llu\n",
		     ra_pool_workers(fs->ra), (unsigned long long)zc, (unsigned long long)copied);
	*used += n > 0 ? (size_t)n : 0;
}

void efs_fs_dump(struct efs_fs *fs, void (*line)(void *arg, const char *text), void *arg)
{
	wbcache_dump(fs->wb, line, arg);
}

int efs_io_init(struct efs_fs *fs)
{
	struct wbcache_cfg wc = {
		.cap = fs->cfg.cache_size ? fs->cfg.cache_size : (uint64_t)256 << 20,
		.flushers = 8,
		.age_ms = (fs->cfg.wb_age ? fs->cfg.wb_age : 30) * 1000u,
	};

	fs->wb = wbcache_new(fs->clnt, &wc);
	fs->ra = ra_pool_new(fs->clnt, 64u << 20, 4, 32);
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

static struct wb_file *inode_wb_peek(struct efs_inode *in)
{
	struct wb_file *wb;

	pthread_mutex_lock(&in->lock);
	wb = in->wb;
	pthread_mutex_unlock(&in->lock);
	return wb;
}

/* The inode's data object, created by the first open; NULL on ENOMEM. */
static struct wb_file *inode_wb(struct efs_fs *fs, struct efs_inode *in)
{
	struct wb_file *wb;
	uint64_t size;

	pthread_mutex_lock(&in->lock);
	if (!in->wb) {
		size = (in->attr_valid && (in->attr.valid & NFS4_ATTR_BIT(FATTR4_SIZE)))
			       ? in->attr.size
			       : 0;
		in->wb = wb_file_new(fs->wb, &in->fh, size);
		if (in->wb)
			wb_file_set_fileid(in->wb, in->fileid);
	}
	wb = in->wb;
	pthread_mutex_unlock(&in->lock);
	return wb;
}

uint64_t efs_io_size_seen_locked(struct efs_inode *in, const struct nfs4_attr *a)
{
	const uint64_t *change = (a->valid & NFS4_ATTR_BIT(FATTR4_CHANGE)) ? &a->change : NULL;

	return in->wb ? wb_file_size_seen(in->wb, a->size, change) : a->size;
}

/*
 * Attributes a were fetched by a request sent after wb_file_land_seq()
 * said sample: the exact local size (close-to-open: an OPEN's GETATTR, the
 * revalidation of an O_APPEND), stored after efs_inode_set_attr().
 */
static void size_from_reply(struct efs_inode *in, const struct nfs4_attr *a, uint64_t sample)
{
	if (!(a->valid & NFS4_ATTR_BIT(FATTR4_SIZE)))
		return;
	pthread_mutex_lock(&in->lock);
	if (in->wb)
		in->attr.size = wb_file_size_seen_since(
			in->wb, a->size, sample,
			(a->valid & NFS4_ATTR_BIT(FATTR4_CHANGE)) ? &a->change : NULL);
	pthread_mutex_unlock(&in->lock);
}

void efs_io_truncated(struct efs_inode *in, uint64_t size)
{
	struct wb_file *wb = inode_wb_peek(in);

	if (wb)
		wb_file_size_set(wb, size);
}

void efs_io_fix_stat(struct efs_inode *in, struct stat *st)
{
	struct wb_file *wb = inode_wb_peek(in);

	if (wb && S_ISREG(st->st_mode))
		st->st_size = (off_t)wb_file_size(wb);
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
	/* a lock or a truncate follows: the next O_APPEND asks the server */
	pthread_mutex_lock(&in->lock);
	in->size_reval = true;
	pthread_mutex_unlock(&in->lock);
	if (!wb)
		return 0;
	r = write_small(fs, wb);
	return r < 0 ? r : wb_file_flush(wb, NULL);
}

/*
 * Store the attributes an OPEN returned; true when the file changed since
 * we last saw it.  The change attribute alone is not enough: a server whose
 * change attribute is a coarse timestamp (ganesha over ext4: a jiffy) may
 * report two states with one value, so the size and mtime count too.
 */
static bool open_changed(struct efs_inode *in, const struct nfs4_attr *a)
{
	const uint64_t sz = NFS4_ATTR_BIT(FATTR4_SIZE), mt = NFS4_ATTR_BIT(FATTR4_TIME_MODIFY);
	struct nfs4_attr old;
	bool had, changed;

	pthread_mutex_lock(&in->lock);
	had = in->attr_valid;
	old = in->attr;
	pthread_mutex_unlock(&in->lock);
	changed = efs_inode_set_attr_changed(in, a);
	if (had && (a->valid & sz) && (old.valid & sz) && old.size != a->size)
		changed = true;
	if (had && (a->valid & mt) && (old.valid & mt) &&
	    (old.mtime.sec != a->mtime.sec || old.mtime.nsec != a->mtime.nsec))
		changed = true;
	return changed;
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
	struct wb_file *wb = inode_wb(fs, in);
	struct nfs4_open *op;
	struct nfs4_attr a;
	struct nfs4_fh fh;
	uint32_t acc = share_access(flags);
	uint64_t sample;
	bool changed;
	int r;

	if (fs->cfg.ro && (acc & OPEN4_SHARE_ACCESS_WRITE))
		return -EROFS;
	if (!wb)
		return -ENOMEM;
	sample = wb_file_land_seq(wb);
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
	changed = a.valid && open_changed(in, &a);
	if (changed) {
		/*
		 * Close-to-open: the file changed elsewhere.  The kernel's
		 * attributes are stale, and so is what the other opens of
		 * this inode prefetched (their read-ahead would refill the
		 * kernel's pages with the old data).
		 */
		efs_io_invalidate(in);
		if (fs->inval)
			fs->inval(fs->inval_arg, ino, false);
	}
	size_from_reply(in, &a, sample);
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
	(*fp)->keep_cache = keep_cache_at_open(in, &a) && !changed;
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

/* READ straight from the server (O_DIRECT opens): one view per reply record. */
static int read_direct_views(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f,
			     size_t size, uint64_t off, struct ra_view *v, unsigned int maxv,
			     unsigned int *nv, size_t *got)
{
	size_t done = 0;
	int r = 0;

	*nv = 0;
	while (done < size && *nv < maxv) {
		uint32_t cnt = size - done > fs->rsize ? fs->rsize : (uint32_t)(size - done);
		const uint8_t *data;
		struct ra_buf *b;
		uint32_t n = 0;
		bool eof = false;
		void *rec;

		r = nfs4_read_open_rec(fs->clnt, cr, f->op, off + done, cnt, &rec, &data, &n, &eof);
		if (r)
			break;
		if (n > cnt) {
			free(rec);
			r = -EIO;
			break;
		}
		b = n ? ra_buf_wrap(rec, data, n) : NULL; /* it owns the record now */
		if (n && !b) {
			free(rec);
			r = -ENOMEM;
			break;
		}
		if (b) {
			v[*nv].buf = b;
			v[*nv].data = data;
			v[*nv].len = n;
			(*nv)++;
		} else {
			free(rec);
		}
		done += n;
		if (eof || n == 0)
			break;
	}
	*got = done;
	if (done)
		return 0;
	return r ? efs_errno(r) : 0;
}

int efs_fs_read_iov(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, size_t size,
		    uint64_t off, struct efs_read_buf *rb)
{
	struct efs_inode *in = f->inode;
	struct wb_file *wb = inode_wb_peek(in);
	struct ra_view v[EFS_READ_IOV_MAX];
	unsigned int nv = 0, i;
	size_t got = 0;
	uint64_t gen;
	int r;

	rb->niov = 0;
	rb->len = 0;
	/*
	 * Our cached writes must be on the server before it answers a READ:
	 * all of them, not only the requested range, since the read-ahead
	 * loads whole segments (other threads' cached bytes in them would
	 * come back stale, and into the kernel's page cache).
	 */
	if (wb && wb_file_busy(wb))
		wb_file_writeout(wb, 0, UINT64_MAX / 2);
	if (!f->ra) {
		r = read_direct_views(fs, cr, f, size, off, v, EFS_READ_IOV_MAX, &nv, &got);
	} else {
		pthread_mutex_lock(&in->lock);
		gen = in->data_gen;
		pthread_mutex_unlock(&in->lock);
		pthread_mutex_lock(&f->lock);
		if (f->ra_gen != gen) {
			ra_file_invalidate(f->ra);
			f->ra_gen = gen;
		}
		pthread_mutex_unlock(&f->lock);
		r = ra_file_read_views(f->ra, cr, off, size, v, EFS_READ_IOV_MAX, &nv, &got);
		r = r ? efs_errno(r) : 0;
	}
	for (i = 0; i < nv; i++) {
		rb->iov[i].iov_base = (void *)v[i].data;
		rb->iov[i].iov_len = v[i].len;
		rb->hold[i] = v[i].buf;
	}
	rb->niov = nv;
	rb->len = got;
	if (!r && got < size && nv == EFS_READ_IOV_MAX) {
		/* more pieces than views (a tiny rsize): a short read would
		 * be EOF to the kernel, so copy the whole answer instead */
		struct ra_buf *b = ra_buf_alloc(size);
		size_t more = 0;

		if (!b) {
			efs_read_buf_release(rb);
			return -ENOMEM;
		}
		for (i = 0, got = 0; i < nv; i++) {
			memcpy(ra_buf_data(b) + got, v[i].data, v[i].len);
			got += v[i].len;
		}
		efs_read_buf_release(rb);
		r = efs_fs_read(fs, cr, f, ra_buf_data(b) + got, size - got, off + got, &more);
		rb->iov[0].iov_base = ra_buf_data(b);
		rb->iov[0].iov_len = got + more;
		rb->hold[0] = b;
		rb->niov = 1;
		rb->len = got + more;
	}
	return rb->len ? 0 : r;
}

void efs_read_buf_release(struct efs_read_buf *rb)
{
	unsigned int i;

	for (i = 0; i < rb->niov; i++)
		ra_buf_put(rb->hold[i]);
	rb->niov = 0;
	rb->len = 0;
}

int efs_fs_read(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, void *buf,
		size_t size, uint64_t off, size_t *got)
{
	struct efs_read_buf rb;
	unsigned int i;
	size_t done = 0;
	int r = 0;

	while (done < size) {
		r = efs_fs_read_iov(fs, cr, f, size - done, off + done, &rb);
		for (i = 0; i < rb.niov; i++) {
			memcpy((char *)buf + done, rb.iov[i].iov_base, rb.iov[i].iov_len);
			done += rb.iov[i].iov_len;
		}
		i = rb.niov;
		efs_read_buf_release(&rb);
		if (r || i < EFS_READ_IOV_MAX || done == size)
			break; /* fewer views than the most: that was all (EOF) */
	}
	*got = done;
	return done ? 0 : r;
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
		r = wb_file_flush(wb, cr);
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
	/*
	 * A server that answered UNSTABLE4 to FILE_SYNC4 still owes us.  Its
	 * COMMIT failing (or the verifier moving) means bytes we said were
	 * durable may be gone: that error is the write's, and every open file
	 * description sees it at its next fsync/close.
	 */
	if (r == 0 && done > 0) {
		r = commit(fs, cr, f);
		if (r) {
			if (wb)
				wb_file_err_record(wb, r);
			*written = 0;
			return r;
		}
	}
	*written = done;
	return done > 0 ? 0 : r;
}

int efs_fs_write(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, const void *buf,
		 size_t size, uint64_t off, size_t *written)
{
	struct efs_inode *in = f->inode;
	struct wb_file *wb = inode_wb(fs, in);
	bool append = (f->flags & O_APPEND) != 0;
	int r;

	*written = 0;
	if (fs->cfg.ro)
		return -EROFS;
	if (nfs4_open_lost(f->op))
		return -EIO; /* its lock was lost: see nfs4_state.h */
	if (!wb)
		return -ENOMEM;
	if (append) {
		/*
		 * The kernel's offset is its cached i_size, which an attribute
		 * refresh or another client may have moved: append at the
		 * local end of file (the server's size at open or the last
		 * refresh, raised by every cached write), reserved so that
		 * concurrent appenders interleave whole writes.
		 */
		bool reval;

		pthread_mutex_lock(&in->lock);
		reval = in->size_reval;
		in->size_reval = false;
		pthread_mutex_unlock(&in->lock);
		if (!wb_file_busy(wb) && (reval || !efs_inode_attr_fresh(fs, in, NULL, NULL))) {
			/*
			 * Nothing of ours is cached and the size may be
			 * another client's past (a lock was taken, the
			 * attribute timeout ran out): revalidate it, as the
			 * Linux client does for O_APPEND.
			 */
			uint64_t sample = wb_file_land_seq(wb);
			struct nfs4_attr a;
			struct nfs4_fh fh;

			efs_inode_fh(in, &fh);
			memset(&a, 0, sizeof(a));
			r = nfs4_getattr(fs->clnt, cr, &fh, &a);
			if (r)
				return efs_errno(r);
			efs_inode_set_attr(in, &a);
			size_from_reply(in, &a, sample);
		}
		{
			uint64_t kernel_off = off;

			off = wb_file_append_reserve(wb, size);
			if (off != kernel_off) {
				pthread_mutex_lock(&f->lock);
				f->moved_append = true;
				pthread_mutex_unlock(&f->lock);
			}
		}
	}
	efs_io_invalidate(in); /* other opens' read-ahead, keep_cache */
	if (f->sync) {
		r = write_sync(fs, cr, f, buf, size, off, written);
	} else {
		r = wb_file_write(wb, cr, f->op, off, buf, size);
		*written = r ? 0 : size;
	}
	if (append)
		wb_file_append_unreserve(wb, off, size, *written);
	if (*written > 0)
		efs_inode_grow(in, off + *written);
	return r;
}

bool efs_fs_write_moved(struct efs_file *f)
{
	bool moved;

	pthread_mutex_lock(&f->lock);
	moved = f->moved_append;
	f->moved_append = false;
	pthread_mutex_unlock(&f->lock);
	return moved;
}

void efs_fs_write_done(struct efs_fs *fs, uint64_t ino)
{
	if (fs->inval)
		fs->inval(fs->inval_arg, ino, true);
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

/*
 * Everything this open and the inode have cached: written and COMMITted.
 * Returns the sync writes' COMMIT error; write-back errors are in the
 * inode's error sequence (report_errors).
 */
static int flush_all(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f)
{
	struct wb_file *wb = inode_wb_peek(f->inode);
	int r;

	if (wb && wb_file_flush(wb, cr) == -EINTR)
		return -EINTR;
	r = commit(fs, cr, f);
	if (r && wb)
		wb_file_err_record(wb, r);
	return r;
}

/* The write-back error this description has not seen; advance: consume it. */
static int report_errors(struct efs_file *f, bool advance)
{
	struct wb_file *wb = inode_wb_peek(f->inode);
	uint64_t since;
	int r;

	if (!wb)
		return 0;
	pthread_mutex_lock(&f->lock);
	since = f->wb_since;
	pthread_mutex_unlock(&f->lock);
	r = wb_file_err_check(wb, &since, advance);
	if (advance) {
		pthread_mutex_lock(&f->lock);
		if (since > f->wb_since)
			f->wb_since = since;
		pthread_mutex_unlock(&f->lock);
	}
	return r;
}

/*
 * close(2) of a descriptor.  The end of a small file costs one round trip:
 * its cached bytes go as one FILE_SYNC4 WRITE (no COMMIT); the CLOSE waits
 * for RELEASE, off the application's path.  A child's close-on-exec flushes
 * too (close-to-open), but it does not touch the open state, and it does
 * not consume a write-back error: FUSE cannot tell the last close of a
 * description from another one (a dup, a child's), so the close of a
 * writable description reports the error without consuming it (a reader's
 * close reports nothing, as Linux's NFS client); fsync consumes it.
 */
int efs_fs_flush(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f,
		 uint64_t lock_owner)
{
	struct wb_file *wb = inode_wb_peek(f->inode);
	struct rpc_cred keep = rpc_cred_keep(cr);
	int r, r2;

	if (wb && (f->share & OPEN4_SHARE_ACCESS_WRITE))
		write_small(fs, wb); /* an error lands in the error sequence */
	r = flush_all(fs, cr, f);
	r2 = (f->share & OPEN4_SHARE_ACCESS_WRITE) ? report_errors(f, false) : 0;
	r = r2 ? r2 : r;
	/*
	 * Not interruptible: the close of a killed process (its FLUSH is
	 * interrupted at once) must still release the locks it held.
	 */
	r2 = efs_lock_release_owner(fs, &keep, f, lock_owner);
	return r ? r : r2;
}

int efs_fs_fsync(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f)
{
	int r = flush_all(fs, cr, f);
	int r2 = report_errors(f, true);

	return r2 ? r2 : r;
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
	{
		struct wb_file *wb = inode_wb_peek(in);

		/* An error of this last flush stays unseen: the next open sees it. */
		r = wb ? wb_file_flush(wb, NULL) : 0;
		if (r)
			efs_log(EFS_LOG_WARN,
				"release: inode %llu: write-back failed after the last close: %d",
				(unsigned long long)in->fileid, r);
		r = commit(fs, &f->cred, f);
	}
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
