/*
 * fs.c - the per-mount object and the attribute operations: lookup,
 * forget, getattr, setattr, access, statfs.
 *
 * Permissions (issue 7).  The mount runs without default_permissions: the
 * server judges every caller by its own AUTH_SYS credential.  Where the
 * kernel would not ask us, checks are made here from ACCESS results cached
 * per (inode, credential) for the attribute timeout, as the Linux client's
 * access cache (nfs_access_get_cached):
 *  - path walks: the kernel checks nothing on a cached dentry, so names in
 *    a directory that some class may not search (mode 0111 not all set)
 *    get entry timeout 0 and are looked up for every walk, as the caller;
 *    a negative answer from our name cache needs the caller's LOOKUP
 *    right.  When our own SETATTR takes search away, fuse/ drops the
 *    kernel's names in the directory (efs_fs_dir_names).  A change by
 *    another client is seen after the directory's attribute timeout, the
 *    bound that entry timeouts of its names already have, like the Linux
 *    client's access cache.
 *  - opendir needs READ; an open needs what OPEN does not check (see
 *    efs_open_access_check); a size change not made through a descriptor
 *    open for writing needs MODIFY (truncate(2), O_RDONLY|O_TRUNC).
 *  - the kernel's kill-suid SETATTR from a writer who does not own the
 *    file is not sent (the Linux client drops ATTR_MODE with
 *    ATTR_KILL_SUID/SGID): the server clears the bits on WRITE.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
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

uint64_t efs_fs_free(struct efs_fs *fs)
{
	struct wbcache_stats ws;

	if (!fs)
		return 0;
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
	wbcache_get_stats(fs->wb, &ws);
	efs_io_fini(fs);
	pthread_mutex_destroy(&fs->files_lock);
	free(fs);
	return ws.lost_bytes;
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
	/* names in a directory not everyone may search: checked at every walk */
	if (fs->cfg.lookupcache == EFS_LOOKUPCACHE_NONE || !efs_inode_search_open(dir))
		return 0;
	return efs_inode_attr_timeout(fs, dir);
}

double efs_neg_timeout(struct efs_fs *fs, struct efs_inode *dir)
{
	if (fs->cfg.lookupcache != EFS_LOOKUPCACHE_ALL || !efs_inode_search_open(dir))
		return 0;
	return efs_inode_attr_timeout(fs, dir);
}

double efs_fs_entry_timeout(struct efs_fs *fs, uint64_t parent)
{
	return efs_entry_timeout(fs, efs_inode_get(fs, parent));
}

int efs_access_check(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
		     uint32_t want)
{
	uint32_t granted = 0;
	struct nfs4_fh fh;
	int r;

	if (want == 0)
		return 0;
	if (!efs_access_cached(fs, in, cr, &granted)) {
		/* ask for everything at once, as nfs_do_access: one round trip
		 * serves later checks */
		uint32_t ask = ACCESS4_READ | ACCESS4_MODIFY | ACCESS4_EXTEND;

		if (efs_inode_type(in) == NF4DIR)
			ask |= ACCESS4_LOOKUP | ACCESS4_DELETE;
		else
			ask |= ACCESS4_EXECUTE;
		ask |= want;
		efs_inode_fh(in, &fh);
		r = nfs4_access(fs->clnt, cr, &fh, ask, &granted);
		if (r)
			return efs_errno(r);
		efs_access_store(fs, in, cr, granted);
	}
	return (granted & want) == want ? 0 : -EACCES;
}

/*
 * The mode bits of the caller's class (owner, a group it sends, other)
 * grant every bit of want: the server's ACCESS would too (EFS has no
 * ACLs), so no round trip is needed.  Anything else asks the server, which
 * may grant more (root, ACLs) or less.
 */
static bool mode_grants(struct efs_inode *in, const struct rpc_cred *cr, uint32_t want)
{
	uint32_t mode, bits = 0, need = 0, i;
	bool have = false, member = false;

	pthread_mutex_lock(&in->lock);
	if (in->attr_valid && (in->attr.valid & NFS4_ATTR_BIT(FATTR4_MODE)) &&
	    (in->attr.valid & NFS4_ATTR_BIT(FATTR4_OWNER)) &&
	    (in->attr.valid & NFS4_ATTR_BIT(FATTR4_OWNER_GROUP))) {
		have = true;
		mode = in->attr.mode;
		if (cr->uid == in->attr.uid) {
			bits = (mode >> 6) & 7;
		} else {
			member = cr->gid == in->attr.gid;
			for (i = 0; !member && i < cr->ngroups && i < RPC_AUTH_SYS_MAX_GROUPS; i++)
				member = cr->groups[i] == in->attr.gid;
			bits = member ? (mode >> 3) & 7 : mode & 7;
		}
	}
	pthread_mutex_unlock(&in->lock);
	if (!have)
		return false;
	if (want & ACCESS4_READ)
		need |= 4;
	if (want & (ACCESS4_MODIFY | ACCESS4_EXTEND | ACCESS4_DELETE))
		need |= 2;
	if (want & (ACCESS4_EXECUTE | ACCESS4_LOOKUP))
		need |= 1;
	return (bits & need) == need;
}

/* efs_access_check() without a round trip when the mode bits already grant want. */
static int access_check_fast(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
			     uint32_t want)
{
	if (want == 0 || mode_grants(in, cr, want))
		return 0;
	return efs_access_check(fs, cr, in, want);
}

int efs_fs_opendir_check(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *dir)
{
	return access_check_fast(fs, cr, dir, ACCESS4_READ);
}

/* open(2) of execve (and uselib): __FMODE_EXEC in the flags the kernel passes */
#define EFS_FMODE_EXEC 0x20

int efs_open_access_check(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
			  int flags)
{
	uint32_t want = 0;

	if (flags & EFS_FMODE_EXEC) {
		want = ACCESS4_EXECUTE; /* only execute (nfs4_opendata_access) */
	} else {
		if ((flags & O_ACCMODE) != O_WRONLY)
			want |= ACCESS4_READ;
		if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
			want |= ACCESS4_MODIFY;
	}
	return access_check_fast(fs, cr, in, want);
}

int efs_create_existing(struct efs_fs *fs, const struct rpc_cred *cr, struct nfs4_open *op,
			const struct nfs4_fh *fh, int flags, const struct nfs4_change_info *ci,
			struct nfs4_attr *a)
{
	uint32_t want = 0, granted = 0;
	struct nfs4_sattr sa;
	struct nfs4_attr got;
	bool existed;
	int r;

	if (!(a->valid & NFS4_ATTR_BIT(FATTR4_SIZE))) {
		r = nfs4_getattr(fs->clnt, cr, fh, a);
		if (r)
			return efs_errno(r);
	}
	existed = ((a->valid & NFS4_ATTR_BIT(FATTR4_SIZE)) && a->size > 0) ||
		  ((ci->before != 0 || ci->after != 0) && ci->before == ci->after);
	if (!existed)
		return 0; /* ours: the creating open may do anything (even on mode 0444) */
	if ((flags & O_ACCMODE) != O_WRONLY)
		want |= ACCESS4_READ;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		want |= ACCESS4_MODIFY;
	r = nfs4_access(fs->clnt, cr, fh,
			ACCESS4_READ | ACCESS4_MODIFY | ACCESS4_EXTEND | ACCESS4_EXECUTE, &granted);
	if (r)
		return efs_errno(r);
	if ((granted & want) != want)
		return -EACCES;
	if (!(flags & O_TRUNC))
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.set = NFS4_SET_SIZE;
	memset(&got, 0, sizeof(got));
	r = nfs4_setattr_open(fs->clnt, cr, (flags & O_ACCMODE) != O_RDONLY ? op : NULL, fh, &sa,
			      &got);
	if (r)
		return efs_errno(r);
	if (efs_attr_complete(&got))
		*a = got;
	else
		a->size = 0;
	return 0;
}

int efs_fs_refresh(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
		   struct nfs4_attr *a)
{
	struct nfs4_fh fh;
	int r;

	uint64_t seq = efs_inode_attr_begin(fs);

	efs_io_writeout(fs, in); /* the server's size must include our cached writes */
	efs_inode_fh(in, &fh);
	r = nfs4_getattr(fs->clnt, cr, &fh, a);
	if (r)
		return efs_errno(r);
	efs_inode_set_attr_seq(in, a, seq);
	pthread_mutex_lock(&in->lock);
	*a = in->attr;
	pthread_mutex_unlock(&in->lock);
	return 0;
}

/*
 * A name in a directory not everyone may search is not kept by the kernel
 * (entry timeout 0), so every walk comes here.  Answer it as the Linux
 * client revalidates a dentry: while the directory's attributes are fresh
 * and the name was seen within their timeout, with the caller's LOOKUP
 * right from the mode bits or the access cache; no round trip.  1
 * answered, 0 ask the server, -EACCES.
 */
static int lookup_cached(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *dir,
			 const char *name, struct efs_entry *e)
{
	struct efs_inode *in;
	struct nfs4_attr a;
	uint64_t fileid;
	int r;

	if (fs->cfg.lookupcache == EFS_LOOKUPCACHE_NONE)
		return 0;
	/* as nfs_lookup_revalidate: the directory's attributes first */
	if (!efs_inode_attr_fresh(fs, dir, NULL, NULL) && efs_fs_refresh(fs, cr, dir, &a) != 0)
		return 0;
	r = access_check_fast(fs, cr, dir, ACCESS4_LOOKUP);
	if (r == -EACCES)
		return r;
	if (r || efs_dcache_recent(fs, dir, name, efs_inode_attr_timeout(fs, dir), &fileid) != 1)
		return 0;
	in = efs_inode_ref_fileid(fs, fileid);
	if (!in)
		return 0;
	if (in == fs->root || !efs_inode_attr_fresh(fs, in, NULL, NULL)) {
		efs_inode_unref(fs, in, 1);
		return 0;
	}
	efs_fill_entry(fs, in, NULL, e);
	e->entry_timeout = efs_entry_timeout(fs, dir);
	return 1;
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

	uint64_t seq = efs_inode_attr_begin(fs);

	memset(e, 0, sizeof(*e));
	if (strlen(name) > EFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (!dot && !dotdot && efs_dcache_lookup(fs, dir, name, &known) == 1 &&
	    (efs_inode_search_open(dir) || access_check_fast(fs, cr, dir, ACCESS4_LOOKUP) == 0)) {
		/* a directory whose every name we know: no such name (inferred,
		 * so the kernel keeps it no longer than we trust it) */
		e->entry_timeout = efs_neg_timeout(fs, dir);
		if (e->entry_timeout > EFS_DC_NEG_TRUST)
			e->entry_timeout = EFS_DC_NEG_TRUST;
		return -ENOENT;
	}
	if (!dot && !dotdot && !efs_inode_search_open(dir)) {
		r = lookup_cached(fs, cr, dir, name, e);
		if (r)
			return r < 0 ? r : 0;
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
	r = efs_inode_ref_seq(fs, &fh, &a, seq, &in);
	if (r)
		return r;
	if (!dot && !dotdot)
		efs_dcache_name(fs, dir, name, in->fileid);
	efs_fill_entry(fs, in, NULL, e); /* what the inode knows (a may be older) */
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

/*
 * The kernel's SETATTR that only clears S_ISUID/S_ISGID (file_remove_privs
 * before a write) from a caller who does not own the file: the owner's
 * right, which the server refuses to the writer.
 */
static bool kill_suid_only(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
			   uint32_t mode)
{
	struct nfs4_attr a;
	uint32_t cur;

	if (cr->uid == 0)
		return false;
	if (!efs_inode_attr_fresh(fs, in, &a, NULL) && efs_fs_refresh(fs, cr, in, &a) != 0)
		return false;
	if (a.type != NF4REG || !(a.valid & NFS4_ATTR_BIT(FATTR4_OWNER)) || a.uid == cr->uid)
		return false;
	cur = a.mode & 07777;
	return mode != cur && (cur & (S_ISUID | S_ISGID)) != 0 &&
	       (mode & ~(uint32_t)(S_ISUID | S_ISGID)) == (cur & ~(uint32_t)(S_ISUID | S_ISGID)) &&
	       (mode & cur) == mode;
}

/*
 * A chmod/chown that changes nothing against fresh cached attributes (tar's
 * fchown + fchmod after writing a file): no round trip.  Only when the
 * caller owns the file (or is root: the server would allow it either way),
 * and never for set-id files (chown clears those bits even when the owner
 * stays the same).
 */
static bool setattr_is_noop(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
			    const struct nfs4_sattr *sa, struct nfs4_attr *a)
{
	const uint64_t need = NFS4_ATTR_BIT(FATTR4_MODE) | NFS4_ATTR_BIT(FATTR4_OWNER) |
			      NFS4_ATTR_BIT(FATTR4_OWNER_GROUP);

	if (sa->set & ~(uint32_t)(NFS4_SET_MODE | NFS4_SET_UID | NFS4_SET_GID))
		return false;
	if (!efs_inode_attr_fresh(fs, in, a, NULL) || (a->valid & need) != need)
		return false;
	if ((cr->uid != 0 && cr->uid != a->uid) || (a->mode & (S_ISUID | S_ISGID)))
		return false;
	return (!(sa->set & NFS4_SET_MODE) || (sa->mode & 07777) == (a->mode & 07777)) &&
	       (!(sa->set & NFS4_SET_UID) || sa->uid == a->uid) &&
	       (!(sa->set & NFS4_SET_GID) || sa->gid == a->gid);
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
	if (sa.set == NFS4_SET_MODE && kill_suid_only(fs, cr, in, sa.mode)) {
		/*
		 * The server clears the bits on WRITE (see the top of this
		 * file): what the kernel is told now is stale after the write.
		 */
		r = efs_fs_getattr(fs, cr, ino, st, timeout);
		efs_inode_invalidate(in);
		*timeout = 0;
		return r;
	}
	if (sa.set == 0)
		return efs_fs_getattr(fs, cr, ino, st, timeout);
	if (fs->cfg.ro)
		return -EROFS;
	if (setattr_is_noop(fs, cr, in, &sa, &a)) {
		efs_attr_to_stat(&a, fs->wsize, st);
		*timeout = efs_inode_attr_timeout(fs, in);
		return 0;
	}
	if ((sa.set & NFS4_SET_SIZE) && !(f && (f->share & OPEN4_SHARE_ACCESS_WRITE))) {
		/* truncate(2), O_RDONLY|O_TRUNC: the VFS would have asked MAY_WRITE */
		r = access_check_fast(fs, cr, in, ACCESS4_MODIFY);
		if (r)
			return r;
	}
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
	uint32_t want = 0, type;
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
	return efs_access_check(fs, cr, in, want);
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
	/* what a name may be here: 255 (NAME_MAX, what EFS accepts), or less */
	sv->f_namemax = a.maxname && a.maxname < EFS_NAME_MAX ? a.maxname : EFS_NAME_MAX;
	if (fs->cfg.ro)
		sv->f_flag |= ST_RDONLY;
	return 0;
}

/* ---- counters (the user.efs-fuse.stats extended attribute) ---- */

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
		ok = put_line(buf, len, &used, "proc.", nfs4_proc_name(i), ns.per_proc[i]);
	ok = ok && put_line(buf, len, &used, "recoveries", "", ns.recoveries);
	for (i = NFS4_PROC_ID_NULL + 1; ok && i < NFS4_PROC_ID_MAX; i++) {
		char key[64];

		if (!ns.lat_count[i])
			continue;
		snprintf(key, sizeof(key), "latency.proc.%s.", nfs4_proc_name(i));
		ok = put_line(buf, len, &used, key, "count", ns.lat_count[i]) &&
		     put_line(buf, len, &used, key, "sum_us", ns.lat_sum_us[i]) &&
		     put_line(buf, len, &used, key, "p50_us",
			      nfs4_stats_quantile_us(&ns, i, 0.5)) &&
		     put_line(buf, len, &used, key, "p99_us", nfs4_stats_quantile_us(&ns, i, 0.99));
	}
	if (ok) {
		struct nfs4_state_stats ss;

		nfs4_state_get_stats(fs->clnt, &ss);
		ok = put_line(buf, len, &used, "state.opens", "", ss.opens) &&
		     put_line(buf, len, &used, "state.reclaimed_opens", "", ss.reclaimed_opens) &&
		     put_line(buf, len, &used, "state.reclaimed_locks", "", ss.reclaimed_locks) &&
		     put_line(buf, len, &used, "state.lost_opens", "", ss.lost_opens);
	}
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
