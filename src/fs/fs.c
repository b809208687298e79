/*
 * fs.c - the per-mount object and the attribute operations: lookup,
 * forget, getattr, setattr, access, statfs.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs/fs_int.h"
#include "util/log.h"

void efs_list_init(struct efs_list *l)
{
	l->prev = l->next = l;
}

void efs_list_add(struct efs_list *head, struct efs_list *l)
{
	l->next = head->next;
	l->prev = head;
	head->next->prev = l;
	head->next = l;
}

void efs_list_del(struct efs_list *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = l;
}

struct efs_fs *efs_fs_new(struct nfs4_client *c, const struct nfs4_fh *root,
			  const struct nfs4_attr *root_attr, const struct efs_fs_cfg *cfg)
{
	struct efs_fs *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	fs->clnt = c;
	fs->cfg = *cfg;
	fs->rsize = nfs4_client_rsize(c);
	fs->wsize = nfs4_client_wsize(c);
	if (fs->rsize == 0)
		fs->rsize = 1048576;
	if (fs->wsize == 0)
		fs->wsize = 1048576;
	if (efs_inode_table_init(fs, root, root_attr) < 0) {
		free(fs);
		return NULL;
	}
	pthread_mutex_init(&fs->files_lock, NULL);
	efs_list_init(&fs->files);
	efs_list_init(&fs->dirs);
	if (efs_io_init(fs) < 0) {
		efs_inode_table_fini(fs);
		pthread_mutex_destroy(&fs->files_lock);
		free(fs);
		return NULL;
	}
	return fs;
}

void efs_fs_free(struct efs_fs *fs)
{
	if (!fs)
		return;
	for (;;) {
		struct efs_file *f = NULL;

		pthread_mutex_lock(&fs->files_lock);
		if (fs->files.next != &fs->files)
			f = (struct efs_file *)fs->files.next; /* link is the first member */
		pthread_mutex_unlock(&fs->files_lock);
		if (!f)
			break;
		efs_fs_release(fs, f);
	}
	for (;;) {
		struct efs_dir *d = NULL;

		pthread_mutex_lock(&fs->files_lock);
		if (fs->dirs.next != &fs->dirs)
			d = (struct efs_dir *)fs->dirs.next;
		pthread_mutex_unlock(&fs->files_lock);
		if (!d)
			break;
		efs_fs_releasedir(fs, d);
	}
	efs_io_fini(fs);
	efs_inode_table_fini(fs);
	pthread_mutex_destroy(&fs->files_lock);
	free(fs);
}

uint32_t efs_fs_rsize(const struct efs_fs *fs)
{
	return fs->rsize;
}

uint32_t efs_fs_wsize(const struct efs_fs *fs)
{
	return fs->wsize;
}

void efs_fs_set_inval(struct efs_fs *fs, efs_inval_fn fn, void *arg)
{
	fs->inval = fn;
	fs->inval_arg = arg;
}

uint64_t efs_fs_fileid(struct efs_fs *fs, uint64_t ino)
{
	return efs_inode_get(fs, ino)->fileid;
}

void efs_fill_entry(struct efs_fs *fs, struct efs_inode *in, const struct nfs4_attr *a,
		    struct efs_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = efs_inode_nodeid(fs, in);
	if (a && efs_attr_complete(a)) {
		efs_attr_to_stat(a, fs->wsize, &e->st);
	} else {
		pthread_mutex_lock(&in->lock);
		efs_attr_to_stat(&in->attr, fs->wsize, &e->st);
		pthread_mutex_unlock(&in->lock);
	}
	e->attr_timeout = fs->cfg.attr_timeout;
	e->entry_timeout = fs->cfg.entry_timeout;
}

int efs_fs_refresh(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
		   struct nfs4_attr *a)
{
	struct nfs4_fh fh;
	int r;

	efs_io_writeout(fs, in); /* the server's size must include our cached writes */
	efs_inode_fh(in, &fh);
	r = nfs4_getattr(fs->clnt, cr, &fh, a);
	if (r)
		return efs_errno(r);
	efs_inode_set_attr(in, a);
	pthread_mutex_lock(&in->lock);
	*a = in->attr;
	pthread_mutex_unlock(&in->lock);
	return 0;
}

int efs_fs_lookup(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name,
		  struct efs_entry *e)
{
	struct efs_inode *dir = efs_inode_get(fs, parent), *in;
	struct nfs4_fh dfh, fh;
	struct nfs4_attr a;
	int r;

	if (strlen(name) > 255)
		return -ENAMETOOLONG;
	efs_inode_fh(dir, &dfh);
	memset(&a, 0, sizeof(a));
	if (strcmp(name, ".") == 0) {
		fh = dfh;
		r = nfs4_getattr(fs->clnt, cr, &fh, &a);
	} else if (strcmp(name, "..") == 0) {
		r = nfs4_lookupp(fs->clnt, cr, &dfh, &fh, &a);
	} else {
		r = nfs4_lookup(fs->clnt, cr, &dfh, name, &fh, &a);
	}
	if (r)
		return efs_errno(r);
	/* A name that leads to a removed file (nlink 0; a server may answer
	 * so from a stale name cache) does not exist. */
	if ((a.valid & NFS4_ATTR_BIT(FATTR4_NUMLINKS)) && a.nlink == 0 &&
	    (a.valid & NFS4_ATTR_BIT(FATTR4_TYPE)) && a.type != NF4DIR)
		return -ENOENT;
	r = efs_inode_ref(fs, &fh, &a, &in);
	if (r)
		return r;
	efs_fill_entry(fs, in, &a, e);
	return 0;
}

void efs_fs_forget(struct efs_fs *fs, uint64_t ino, uint64_t nlookup)
{
	efs_inode_unref(fs, efs_inode_get(fs, ino), nlookup);
}

int efs_fs_getattr(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, struct stat *st,
		   double *timeout)
{
	struct efs_inode *in = efs_inode_get(fs, ino);
	struct nfs4_attr a;
	int r;

	r = efs_fs_refresh(fs, cr, in, &a);
	if (r)
		return r;
	efs_attr_to_stat(&a, fs->wsize, st);
	*timeout = fs->cfg.attr_timeout;
	return 0;
}

int efs_fs_setattr(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, struct efs_file *f,
		   const struct stat *in_st, int to_set, struct stat *st, double *timeout)
{
	struct efs_inode *in = efs_inode_get(fs, ino);
	const struct nfs4_stateid *sid = NULL;
	struct nfs4_sattr sa;
	struct nfs4_attr a;
	struct nfs4_fh fh;
	int r;

	efs_stat_to_sattr(in_st, to_set, &sa);
	if (sa.set == 0)
		return efs_fs_getattr(fs, cr, ino, st, timeout);
	if (fs->cfg.ro)
		return -EROFS;
	if (sa.set & NFS4_SET_SIZE) {
		/* Cached writes go first, so the truncate is ordered after them. */
		r = efs_io_flush_inode(fs, in);
		if (r)
			return r;
	}
	if (f && (sa.set & NFS4_SET_SIZE) && (f->st.share_access & OPEN4_SHARE_ACCESS_WRITE)) {
		sid = &f->st.stateid;
		fh = f->st.fh;
	} else {
		efs_inode_fh(in, &fh);
	}
	memset(&a, 0, sizeof(a));
	r = nfs4_setattr(fs->clnt, cr, &fh, sid, &sa, &a);
	if (r)
		return efs_errno(r);
	if (efs_attr_complete(&a)) {
		efs_inode_set_attr(in, &a);
	} else {
		r = efs_fs_refresh(fs, cr, in, &a);
		if (r)
			return r;
	}
	efs_attr_to_stat(&a, fs->wsize, st);
	*timeout = fs->cfg.attr_timeout;
	return 0;
}

int efs_fs_access(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, int mask)
{
	struct efs_inode *in = efs_inode_get(fs, ino);
	uint32_t want = 0, granted = 0, type;
	struct nfs4_fh fh;
	int r;

	type = efs_inode_type(in);
	if (type == 0 || mask == F_OK) {
		struct nfs4_attr a;

		r = efs_fs_refresh(fs, cr, in, &a);
		if (r)
			return r;
		type = a.type;
	}
	if (mask & R_OK)
		want |= ACCESS4_READ;
	if (mask & W_OK) {
		want |= ACCESS4_MODIFY | ACCESS4_EXTEND;
		if (type == NF4DIR)
			want |= ACCESS4_DELETE;
	}
	if (mask & X_OK)
		want |= type == NF4DIR ? ACCESS4_LOOKUP : ACCESS4_EXECUTE;
	if (want == 0)
		return 0;
	if ((mask & W_OK) && fs->cfg.ro)
		return -EROFS;
	efs_inode_fh(in, &fh);
	r = nfs4_access(fs->clnt, cr, &fh, want, &granted);
	if (r)
		return efs_errno(r);
	return (granted & want) == want ? 0 : -EACCES;
}

int efs_fs_statfs(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, struct statvfs *sv)
{
	struct efs_inode *in = efs_inode_get(fs, ino);
	struct nfs4_attr a;
	struct nfs4_fh fh;
	const unsigned long bs = 4096;
	int r;

	efs_inode_fh(in, &fh);
	memset(&a, 0, sizeof(a));
	r = nfs4_statfs(fs->clnt, cr, &fh, &a);
	if (r)
		return efs_errno(r);
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = bs;
	sv->f_frsize = bs;
	sv->f_blocks = (fsblkcnt_t)(a.space_total / bs);
	sv->f_bfree = (fsblkcnt_t)(a.space_free / bs);
	sv->f_bavail = (fsblkcnt_t)(a.space_avail / bs);
	sv->f_files = (fsfilcnt_t)a.files_total;
	sv->f_ffree = (fsfilcnt_t)a.files_free;
	sv->f_favail = (fsfilcnt_t)a.files_avail;
	sv->f_namemax = a.maxname ? a.maxname : 255;
	if (fs->cfg.ro)
		sv->f_flag |= ST_RDONLY;
	return 0;
}
