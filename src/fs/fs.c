/*
 * fs.c - the per-mount object and the attribute operations: lookup,
 * forget, getattr, setattr, access, statfs.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
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
	if (efs_io_init(fs) < 0 || efs_lockwait_init(fs) < 0) {
		efs_io_fini(fs);
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
	efs_lockwait_fini(fs);
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
	efs_inode_table_fini(fs); /* frees the inodes' write-back files */
	efs_io_fini(fs);
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
		efs_io_fix_stat(in, &e->st); /* cached writes count (local size) */
	} else {
		pthread_mutex_lock(&in->lock);
		efs_attr_to_stat(&in->attr, fs->wsize, &e->st);
		pthread_mutex_unlock(&in->lock);
	}
	e->attr_timeout = efs_inode_attr_timeout(fs, in);
	e->entry_timeout = fs->cfg.lookupcache == EFS_LOOKUPCACHE_NONE ? 0 : fs->cfg.acdirmin;
}

double efs_entry_timeout(struct efs_fs *fs, struct efs_inode *dir)
{
	if (fs->cfg.lookupcache == EFS_LOOKUPCACHE_NONE)
		return 0;
	return efs_inode_attr_timeout(fs, dir);
}

double efs_neg_timeout(struct efs_fs *fs, struct efs_inode *dir)
{
	if (fs->cfg.lookupcache != EFS_LOOKUPCACHE_ALL)
		return 0;
	return efs_inode_attr_timeout(fs, dir);
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
	bool dot = strcmp(name, ".") == 0, dotdot = strcmp(name, "..") == 0;
	struct nfs4_fh dfh, fh;
	struct nfs4_attr a;
	uint64_t known;
	int r;

	memset(e, 0, sizeof(*e));
	if (strlen(name) > 255)
		return -ENAMETOOLONG;
	if (!dot && !dotdot && efs_dcache_lookup(fs, dir, name, &known) == 1) {
		/* a directory whose every name we know: no such name (inferred,
		 * so the kernel keeps it no longer than we trust it) */
		e->entry_timeout = efs_neg_timeout(fs, dir);
		if (e->entry_timeout > EFS_DC_NEG_TRUST)
			e->entry_timeout = EFS_DC_NEG_TRUST;
		return -ENOENT;
	}
	efs_inode_fh(dir, &dfh);
	memset(&a, 0, sizeof(a));
	if (dot) {
		fh = dfh;
		r = nfs4_getattr(fs->clnt, cr, &fh, &a);
	} else if (dotdot) {
		r = nfs4_lookupp(fs->clnt, cr, &dfh, &fh, &a);
	} else {
		r = nfs4_lookup(fs->clnt, cr, &dfh, name, &fh, &a);
	}
	if (r == -NFS4ERR_NOENT && !dot && !dotdot) {
		efs_dcache_name(fs, dir, name, 0);
		e->entry_timeout = efs_neg_timeout(fs, dir);
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
	if (!dot && !dotdot)
		efs_dcache_name(fs, dir, name, in->fileid);
	efs_fill_entry(fs, in, &a, e);
	e->entry_timeout = efs_entry_timeout(fs, dir);
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
	double left;
	int r;

	if (efs_inode_attr_fresh(fs, in, &a, &left)) {
		/* the attribute cache (nfs(5) ac*): no round trip */
		efs_attr_to_stat(&a, fs->wsize, st);
		*timeout = left;
		return 0;
	}
	r = efs_fs_refresh(fs, cr, in, &a);
	if (r)
		return r;
	efs_attr_to_stat(&a, fs->wsize, st);
	*timeout = efs_inode_attr_timeout(fs, in);
	return 0;
}

int efs_fs_setattr(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, struct efs_file *f,
		   const struct stat *in_st, int to_set, struct stat *st, double *timeout)
{
	struct efs_inode *in = efs_inode_get(fs, ino);
	struct nfs4_open *op = NULL;
	struct nfs4_sattr sa;
	struct nfs4_attr a;
	struct nfs4_fh fh;
	int r;

	efs_stat_to_sattr(in_st, to_set, &sa);
	if (sa.set == 0)
		return efs_fs_getattr(fs, cr, ino, st, timeout);
	if (fs->cfg.ro)
		return -EROFS;
	/*
	 * Cached writes go first (as the Linux client syncs before SETATTR): a
	 * truncate is ordered after them, and a later WRITE must not overwrite
	 * the mtime being set (tar, cp -p, touch -d).
	 */
	r = efs_io_flush_inode(fs, in);
	if (r)
		return r;
	if (f && (sa.set & NFS4_SET_SIZE) && (f->share & OPEN4_SHARE_ACCESS_WRITE))
		op = f->op;
	efs_inode_fh(in, &fh);
	memset(&a, 0, sizeof(a));
	r = nfs4_setattr_open(fs->clnt, cr, op, &fh, &sa, &a);
	if (r)
		return efs_errno(r);
	if (sa.set & NFS4_SET_SIZE)
		efs_io_truncated(in, sa.size);
	if (efs_attr_complete(&a)) {
		efs_inode_set_attr(in, &a);
	} else {
		r = efs_fs_refresh(fs, cr, in, &a);
		if (r)
			return r;
	}
	efs_attr_to_stat(&a, fs->wsize, st);
	*timeout = efs_inode_attr_timeout(fs, in);
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

		if (efs_inode_attr_fresh(fs, in, &a, NULL))
			r = 0;
		else
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

/* ---- counters (the user.efs-fuse.stats extended attribute) ---- */

static const char *const proc_names[NFS4_PROC_ID_MAX] = {
	[NFS4_PROC_ID_NULL] = "NULL",	      [NFS4_PROC_ID_LOOKUP] = "LOOKUP",
	[NFS4_PROC_ID_GETATTR] = "GETATTR",   [NFS4_PROC_ID_SETATTR] = "SETATTR",
	[NFS4_PROC_ID_ACCESS] = "ACCESS",     [NFS4_PROC_ID_READLINK] = "READLINK",
	[NFS4_PROC_ID_CREATE] = "CREATE",     [NFS4_PROC_ID_REMOVE] = "REMOVE",
	[NFS4_PROC_ID_RENAME] = "RENAME",     [NFS4_PROC_ID_LINK] = "LINK",
	[NFS4_PROC_ID_OPEN] = "OPEN",	      [NFS4_PROC_ID_CLOSE] = "CLOSE",
	[NFS4_PROC_ID_READ] = "READ",	      [NFS4_PROC_ID_WRITE] = "WRITE",
	[NFS4_PROC_ID_COMMIT] = "COMMIT",     [NFS4_PROC_ID_READDIR] = "READDIR",
	[NFS4_PROC_ID_STATFS] = "STATFS",     [NFS4_PROC_ID_LOCK] = "LOCK",
	[NFS4_PROC_ID_LOCKT] = "LOCKT",	      [NFS4_PROC_ID_LOCKU] = "LOCKU",
	[NFS4_PROC_ID_SEQUENCE] = "SEQUENCE", [NFS4_PROC_ID_SESSION] = "SESSION",
};

static const char *const op_names[EFS_OP_MAX] = {
	[EFS_OP_LOOKUP] = "lookup",
	[EFS_OP_FORGET] = "forget",
	[EFS_OP_GETATTR] = "getattr",
	[EFS_OP_SETATTR] = "setattr",
	[EFS_OP_READLINK] = "readlink",
	[EFS_OP_MKNOD] = "mknod",
	[EFS_OP_MKDIR] = "mkdir",
	[EFS_OP_UNLINK] = "unlink",
	[EFS_OP_RMDIR] = "rmdir",
	[EFS_OP_SYMLINK] = "symlink",
	[EFS_OP_RENAME] = "rename",
	[EFS_OP_LINK] = "link",
	[EFS_OP_OPEN] = "open",
	[EFS_OP_CREATE] = "create",
	[EFS_OP_READ] = "read",
	[EFS_OP_WRITE] = "write",
	[EFS_OP_FLUSH] = "flush",
	[EFS_OP_RELEASE] = "release",
	[EFS_OP_FSYNC] = "fsync",
	[EFS_OP_OPENDIR] = "opendir",
	[EFS_OP_READDIR] = "readdir",
	[EFS_OP_READDIRPLUS] = "readdirplus",
	[EFS_OP_RELEASEDIR] = "releasedir",
	[EFS_OP_STATFS] = "statfs",
	[EFS_OP_ACCESS] = "access",
	[EFS_OP_GETLK] = "getlk",
	[EFS_OP_SETLK] = "setlk",
	[EFS_OP_FLOCK] = "flock",
	[EFS_OP_GETXATTR] = "getxattr",
	[EFS_OP_LISTXATTR] = "listxattr",
	[EFS_OP_SETXATTR] = "setxattr",
	[EFS_OP_REMOVEXATTR] = "removexattr",
};

void efs_fs_count_op(struct efs_fs *fs, enum efs_op op)
{
	if ((unsigned int)op < EFS_OP_MAX)
		atomic_fetch_add_explicit(&fs->op_count[op], 1, memory_order_relaxed);
}

/* snprintf at buf + *used; false once len is exhausted. */
static bool put_line(char *buf, size_t len, size_t *used, const char *key, const char *key2,
		     uint64_t v)
{
	int n;

	if (*used >= len)
		return false;
	n = snprintf(buf + *used, len - *used, "%s%s %llu\n", key, key2, (unsigned long long)v);
	if (n < 0 || (size_t)n >= len - *used) {
		*used = len;
		return false;
	}
	*used += (size_t)n;
	return true;
}

int efs_fs_stats_text(struct efs_fs *fs, char *buf, size_t len)
{
	struct nfs4_stats ns;
	size_t used = 0;
	bool ok;
	int i;

	if (len == 0)
		return -ERANGE;
	buf[0] = '\0';
	memset(&ns, 0, sizeof(ns));
	nfs4_client_get_stats(fs->clnt, &ns);
	ok = put_line(buf, len, &used, "compounds", "", ns.compounds) &&
	     put_line(buf, len, &used, "ops", "", ns.ops) &&
	     put_line(buf, len, &used, "retries", "", ns.retries);
	for (i = NFS4_PROC_ID_NULL + 1; ok && i < NFS4_PROC_ID_MAX; i++)
		ok = put_line(buf, len, &used, "proc.", proc_names[i] ? proc_names[i] : "?",
			      ns.per_proc[i]);
	ok = ok && put_line(buf, len, &used, "rpc.calls", "", ns.rpc.calls) &&
	     put_line(buf, len, &used, "rpc.bytes_out", "", ns.rpc.bytes_out) &&
	     put_line(buf, len, &used, "rpc.bytes_in", "", ns.rpc.bytes_in) &&
	     put_line(buf, len, &used, "rpc.reconnects", "", ns.rpc.reconnects);
	for (i = 0; ok && i < EFS_OP_MAX; i++)
		ok = put_line(buf, len, &used, "fuse.", op_names[i],
			      atomic_load_explicit(&fs->op_count[i], memory_order_relaxed));
	ok = ok && put_line(buf, len, &used, "cache.dir_names", "", atomic_load(&fs->dc_names));
	if (ok && fs->stats_extra) {
		fs->stats_extra(fs->stats_extra_arg, buf, len, &used);
		if (used >= len)
			ok = false;
	}
	if (!ok) {
		buf[len - 1] = '\0';
		return -ERANGE;
	}
	return (int)used;
}

#define STATS_MAX 16384

int efs_fs_getxattr(struct efs_fs *fs, uint64_t ino, const char *name, char *buf, size_t size)
{
	char *text;
	int n;

	(void)ino;
	if (strcmp(name, EFS_STATS_XATTR) != 0)
		return -ENODATA;
	text = malloc(STATS_MAX);
	if (!text)
		return -ENOMEM;
	n = efs_fs_stats_text(fs, text, STATS_MAX);
	if (n >= 0 && size > 0) {
		if ((size_t)n > size)
			n = -ERANGE;
		else
			memcpy(buf, text, (size_t)n);
	}
	free(text);
	return n;
}
