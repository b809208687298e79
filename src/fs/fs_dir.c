/*
 * fs_dir.c - directory streams over READDIR (RFC 8881 section 18.23).
 *
 * Offsets handed to the kernel: 1 after ".", 2 after "..", then the NFS
 * cookie of each entry (cookies 0, 1 and 2 are reserved by the protocol,
 * so they never collide).  Each open directory keeps the cookie verifier
 * and the last batch READDIR returned; a readdir at an offset found in
 * the batch is served from it, anything else re-reads from that cookie.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fs/fs_int.h"
#include "util/log.h"

#define READDIR_MAXCOUNT (128u * 1024)

/* ---- the name cache of a directory (see fs_int.h) ---- */

#define DC_PEND	    8	  /* change_info4 pairs waiting to chain */
#define DC_LIST_MAX 65536 /* names one listing may collect */
/*
 * EFS_DC_NEG_TRUST (fs_int.h): seconds a server confirmation of a
 * directory's change attribute lets us infer absent names (acdirmin when
 * smaller).  Short: a name another client made is not seen by an inferred
 * lookup for this long, where the kernel client, which never infers, would
 * find it.  Filling a directory re-confirms it at each of our changes.
 */

struct efs_dname {
	struct efs_dname *next;
	uint64_t fileid; /* EFS_DC_PRESENT when unknown */
	/* when a lookup (or listing with attributes) last showed the name, and the
	 * directory's change attribute we knew then (efs_dcache_recent) */
	struct timespec seen;
	uint64_t dchange;
	char name[];
};

struct efs_dcache {
	struct efs_dname **tab;
	size_t nb, n;
	bool complete;
	uint64_t known_change;	  /* change attribute the names belong to (complete) */
	struct timespec verified; /* when the server last confirmed known_change */
	unsigned int inflight;	  /* our modifying operations in flight */
	unsigned int npend;	  /* change_info4 pairs that did not chain yet */
	struct {
		uint64_t before, after;
	} pend[DC_PEND];
	uint64_t mods; /* bumped by each of our operations in the directory */
	/* a FUSE create in flight (the kernel runs one at a time per directory) */
	bool create_pending, create_reported;
	/* our changes chained onto known_change since the cache became complete */
	uint64_t ours;
};

static uint32_t name_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return h;
}

static struct efs_dcache *dc_new(void)
{
	struct efs_dcache *dc = calloc(1, sizeof(*dc));

	if (!dc)
		return NULL;
	dc->nb = 16;
	dc->tab = calloc(dc->nb, sizeof(*dc->tab));
	if (!dc->tab) {
		free(dc);
		return NULL;
	}
	return dc;
}

static void dc_clear(struct efs_fs *fs, struct efs_dcache *dc)
{
	size_t i;

	for (i = 0; i < dc->nb; i++) {
		struct efs_dname *e = dc->tab[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
		dc->tab[i] = NULL;
	}
	if (fs)
		atomic_fetch_sub(&fs->dc_names, dc->n);
	dc->n = 0;
}

static void dc_destroy(struct efs_fs *fs, struct efs_dcache *dc)
{
	if (!dc)
		return;
	dc_clear(fs, dc);
	free(dc->tab);
	free(dc);
}

static struct efs_dname **dc_slot(struct efs_dcache *dc, const char *name)
{
	struct efs_dname **pp = &dc->tab[name_hash(name) & (dc->nb - 1)];

	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->name, name) == 0)
			break;
	return pp;
}

static void dc_grow(struct efs_dcache *dc)
{
	size_t nb = dc->nb * 2, i;
	struct efs_dname **tab = calloc(nb, sizeof(*tab));

	if (!tab)
		return; /* longer chains, still correct */
	for (i = 0; i < dc->nb; i++) {
		struct efs_dname *e = dc->tab[i], *next;

		for (; e; e = next) {
			size_t b = name_hash(e->name) & (nb - 1);

			next = e->next;
			e->next = tab[b];
			tab[b] = e;
		}
	}
	free(dc->tab);
	dc->tab = tab;
	dc->nb = nb;
}

/* Not complete any more: negative answers stop until a new listing. */
static void dc_incomplete(struct efs_dcache *dc)
{
	dc->complete = false;
	dc->npend = 0;
	dc->ours = 0;
}

/* Add or update name; fs NULL: a listing being built (not counted). */
static void dc_add(struct efs_fs *fs, struct efs_dcache *dc, const char *name, uint64_t fileid)
{
	struct efs_dname **pp = dc_slot(dc, name), *e;
	size_t len;

	if (*pp) {
		if (fileid != EFS_DC_PRESENT || (*pp)->fileid == 0)
			(*pp)->fileid = fileid;
		return;
	}
	if (fs && atomic_load(&fs->dc_names) >= EFS_DC_MAX_NAMES) {
		dc_incomplete(dc); /* cannot hold every name any more */
		return;
	}
	len = strlen(name);
	e = malloc(sizeof(*e) + len + 1);
	if (!e) {
		dc_incomplete(dc);
		return;
	}
	memcpy(e->name, name, len + 1);
	e->fileid = fileid;
	e->seen.tv_sec = e->seen.tv_nsec = 0;
	e->dchange = 0;
	e->next = *pp;
	*pp = e;
	dc->n++;
	if (fs)
		atomic_fetch_add(&fs->dc_names, 1);
	if (dc->n > dc->nb * 2)
		dc_grow(dc);
}

static void dc_del(struct efs_fs *fs, struct efs_dcache *dc, const char *name)
{
	struct efs_dname **pp = dc_slot(dc, name), *e = *pp;

	if (!e)
		return;
	*pp = e->next;
	free(e);
	dc->n--;
	if (fs)
		atomic_fetch_sub(&fs->dc_names, 1);
}

/* dir->lock held; NULL on ENOMEM. */
static struct efs_dcache *dc_get(struct efs_inode *dir)
{
	if (!dir->dc)
		dir->dc = dc_new();
	return dir->dc;
}

static double ts_age(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

void efs_dcache_free(struct efs_fs *fs, struct efs_inode *dir)
{
	dc_destroy(fs, dir->dc);
	dir->dc = NULL;
}

void efs_dcache_attr_seen_locked(struct efs_fs *fs, struct efs_inode *dir,
				 const struct nfs4_attr *a)
{
	struct efs_dcache *dc = dir->dc;

	(void)fs;
	if (!dc || !dc->complete || !(a->valid & NFS4_ATTR_BIT(FATTR4_CHANGE)))
		return;
	if (a->change == dc->known_change && dc->npend == 0)
		clock_gettime(CLOCK_MONOTONIC, &dc->verified);
	else if (dc->inflight == 0)
		dc_incomplete(dc); /* someone else changed the directory */
				   /* else: it may be our operation in flight; its reply decides */
}

void efs_dcache_name(struct efs_fs *fs, struct efs_inode *dir, const char *name, uint64_t fileid)
{
	struct efs_dcache *dc;

	pthread_mutex_lock(&dir->lock);
	if (fileid == 0) {
		if (dir->dc) {
			if (dir->dc->complete && *dc_slot(dir->dc, name))
				dc_incomplete(dir->dc); /* gone behind our back */
			dc_del(fs, dir->dc, name);
		}
	} else if ((dc = dc_get(dir)) != NULL) {
		struct efs_dname *e;

		if (dc->complete && !*dc_slot(dc, name))
			dc_incomplete(dc); /* appeared behind our back */
		dc_add(fs, dc, name, fileid);
		e = *dc_slot(dc, name);
		if (e && (dir->attr.valid & NFS4_ATTR_BIT(FATTR4_CHANGE))) {
			clock_gettime(CLOCK_MONOTONIC, &e->seen);
			e->dchange = dir->attr.change;
		}
	}
	pthread_mutex_unlock(&dir->lock);
}

int efs_dcache_lookup(struct efs_fs *fs, struct efs_inode *dir, const char *name, uint64_t *fileid)
{
	struct efs_dcache *dc;
	struct efs_dname *e;
	double tmo;
	int r = 0;

	*fileid = 0;
	pthread_mutex_lock(&dir->lock);
	dc = dir->dc;
	if (!dc)
		goto out;
	e = *dc_slot(dc, name);
	if (e) {
		*fileid = e->fileid;
		goto out;
	}
	tmo = dir->ac_tmo > fs->cfg.acdirmin ? dir->ac_tmo : fs->cfg.acdirmin;
	if (tmo > EFS_DC_NEG_TRUST)
		tmo = EFS_DC_NEG_TRUST;
	/*
	 * Only while this mount is filling the directory (an untar, a build):
	 * a directory it merely made or listed may be filled by others, whose
	 * names a lookup must find at once, as with the kernel client (which
	 * never infers absence from a listing).
	 */
	if (dc->complete && dc->ours > 0 && dc->npend == 0 && !dc->create_pending &&
	    fs->cfg.lookupcache == EFS_LOOKUPCACHE_ALL && tmo > 0 &&
	    (dc->verified.tv_sec || dc->verified.tv_nsec) && ts_age(&dc->verified) < tmo)
		r = 1;
out:
	pthread_mutex_unlock(&dir->lock);
	return r;
}

int efs_dcache_recent(struct efs_fs *fs, struct efs_inode *dir, const char *name, double max_age,
		      uint64_t *fileid)
{
	struct efs_dname *e;
	int r = 0;

	(void)fs;
	pthread_mutex_lock(&dir->lock);
	if (dir->dc) {
		e = *dc_slot(dir->dc, name);
		if (e && e->fileid != 0 && e->fileid != EFS_DC_PRESENT &&
		    (e->seen.tv_sec || e->seen.tv_nsec) && ts_age(&e->seen) < max_age &&
		    (dir->attr.valid & NFS4_ATTR_BIT(FATTR4_CHANGE)) &&
		    e->dchange == dir->attr.change) {
			*fileid = e->fileid;
			r = 1;
		}
	}
	pthread_mutex_unlock(&dir->lock);
	return r;
}

void efs_dcache_new_dir(struct efs_fs *fs, struct efs_inode *dir, const struct nfs4_attr *a)
{
	struct efs_dcache *dc;

	pthread_mutex_lock(&dir->lock);
	dc = dc_get(dir);
	if (dc && dc->inflight == 0 && (a->valid & NFS4_ATTR_BIT(FATTR4_CHANGE))) {
		dc_clear(fs, dc);
		dc->complete = true;
		dc->ours = 0;
		dc->known_change = a->change;
		dc->npend = 0;
		clock_gettime(CLOCK_MONOTONIC, &dc->verified);
	}
	pthread_mutex_unlock(&dir->lock);
}

void efs_dir_op_begin(struct efs_inode *dir)
{
	struct efs_dcache *dc;

	pthread_mutex_lock(&dir->lock);
	dc = dc_get(dir);
	if (dc)
		dc->inflight++;
	pthread_mutex_unlock(&dir->lock);
}

/* Chain our change_info4 pairs onto known_change (dc->lock held). */
static void dc_chain(struct efs_dcache *dc, const struct nfs4_change_info *ci)
{
	unsigned int i;
	bool moved = true;

	if (!dc->complete)
		return;
	if (!ci || (ci->before == 0 && ci->after == 0)) {
		/* unknown (a re-sent call's result found in place, see nfs4_proc.c) */
		dc_incomplete(dc);
		return;
	}
	if (dc->npend == DC_PEND) {
		dc_incomplete(dc);
		return;
	}
	dc->pend[dc->npend].before = ci->before;
	dc->pend[dc->npend].after = ci->after;
	dc->npend++;
	while (moved) {
		moved = false;
		for (i = 0; i < dc->npend; i++) {
			if (dc->pend[i].before != dc->known_change)
				continue;
			dc->known_change = dc->pend[i].after;
			dc->pend[i] = dc->pend[--dc->npend];
			dc->ours++;
			moved = true;
			break;
		}
	}
	/* "before" was what we knew: the server just confirmed nobody else
	 * changed the directory (up to a round trip ago) */
	if (dc->npend == 0)
		clock_gettime(CLOCK_MONOTONIC, &dc->verified);
	if (dc->npend > 0 && dc->inflight == 0)
		dc_incomplete(dc); /* a change that was not ours */
}

void efs_dir_op_end2(struct efs_fs *fs, struct efs_inode *dir, int r,
		     const struct nfs4_change_info *ci, const char *del, const char *add,
		     uint64_t fileid)
{
	struct efs_dcache *dc;

	pthread_mutex_lock(&dir->lock);
	dc = dir->dc;
	if (dc) {
		if (dc->inflight > 0)
			dc->inflight--;
		dc->mods++;
		if (r < 0) {
			/* what did it change?  (EEXIST: a name we did not know) */
			dc_incomplete(dc);
		} else {
			if (del)
				dc_del(fs, dc, del);
			if (add)
				dc_add(fs, dc, add, fileid ? fileid : EFS_DC_PRESENT);
			dc_chain(dc, ci);
		}
		if (dc->inflight == 0 && dc->npend > 0)
			dc_incomplete(dc);
	}
	pthread_mutex_unlock(&dir->lock);
	efs_inode_note_local_change(dir); /* its size, times, nlink moved */
}

void efs_dir_op_end(struct efs_fs *fs, struct efs_inode *dir, const struct nfs4_change_info *ci,
		    const char *name, uint64_t fileid)
{
	if (!name)
		efs_dir_op_end2(fs, dir, -EIO, ci, NULL, NULL, 0);
	else if (fileid)
		efs_dir_op_end2(fs, dir, 0, ci, NULL, name, fileid);
	else
		efs_dir_op_end2(fs, dir, 0, ci, name, NULL, 0);
}

void efs_dir_note_create(struct efs_fs *fs, struct efs_inode *dir, const char *name, int r,
			 const struct nfs4_change_info *ci, struct efs_inode *in)
{
	struct efs_dcache *dc;

	pthread_mutex_lock(&dir->lock);
	dc = dir->dc;
	if (dc) {
		dc->create_reported = true;
		dc->mods++;
		if (r < 0) {
			dc_incomplete(dc);
		} else {
			dc_add(fs, dc, name, in ? in->fileid : EFS_DC_PRESENT);
			dc_chain(dc, ci);
		}
	}
	pthread_mutex_unlock(&dir->lock);
	efs_inode_note_local_change(dir);
}

void efs_fs_create_begin(struct efs_fs *fs, uint64_t parent)
{
	struct efs_inode *dir = efs_inode_get(fs, parent);
	struct efs_dcache *dc;

	pthread_mutex_lock(&dir->lock);
	dc = dc_get(dir);
	if (dc) {
		dc->inflight++;
		dc->create_pending = true;
		dc->create_reported = false;
	}
	pthread_mutex_unlock(&dir->lock);
}

void efs_fs_create_end(struct efs_fs *fs, uint64_t parent, const char *name)
{
	struct efs_inode *dir = efs_inode_get(fs, parent);
	struct efs_dcache *dc;

	pthread_mutex_lock(&dir->lock);
	dc = dir->dc;
	if (dc) {
		if (dc->inflight > 0)
			dc->inflight--;
		if (dc->create_pending && !dc->create_reported) {
			/* the data path did not say what it did: the name may exist now */
			dc_incomplete(dc);
			dc_add(fs, dc, name, EFS_DC_PRESENT);
		}
		dc->create_pending = false;
		if (dc->inflight == 0 && dc->npend > 0)
			dc_incomplete(dc);
	}
	pthread_mutex_unlock(&dir->lock);
	efs_inode_note_local_change(dir);
}

int efs_fs_dir_names(struct efs_fs *fs, uint64_t ino,
		     void (*fn)(void *arg, uint64_t parent, const char *name), void *arg)
{
	struct efs_inode *dir = efs_inode_get(fs, ino);
	char **names = NULL;
	size_t n = 0, i, b;
	int r = 0;

	pthread_mutex_lock(&dir->lock);
	if (dir->dc && dir->dc->n > 0) {
		names = calloc(dir->dc->n, sizeof(*names));
		if (!names)
			r = -ENOMEM;
		for (b = 0; names && b < dir->dc->nb; b++) {
			struct efs_dname *e;

			for (e = dir->dc->tab[b]; e && n < dir->dc->n; e = e->next) {
				names[n] = strdup(e->name);
				if (!names[n]) {
					r = -ENOMEM;
					break;
				}
				n++;
			}
		}
	}
	pthread_mutex_unlock(&dir->lock);
	for (i = 0; i < n; i++) {
		fn(arg, ino, names[i]);
		free(names[i]);
	}
	free(names);
	return r;
}

int efs_fs_opendir(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, struct efs_dir **dp)
{
	struct efs_dir *d;
	int r;

	/* the VFS's MAY_READ, which the kernel does not ask without default_permissions */
	r = efs_fs_opendir_check(fs, cr, efs_inode_get(fs, ino));
	if (r)
		return r;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->inode = efs_inode_get(fs, ino);
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_lock(&fs->files_lock);
	efs_list_add(&fs->dirs, &d->link);
	pthread_mutex_unlock(&fs->files_lock);
	*dp = d;
	return 0;
}

static void buf_clear(struct efs_dir *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->ents[i].name);
	d->n = 0;
	d->buf_valid = false;
	d->buf_eof = false;
}

void efs_fs_releasedir(struct efs_fs *fs, struct efs_dir *d)
{
	pthread_mutex_lock(&fs->files_lock);
	efs_list_del(&d->link);
	pthread_mutex_unlock(&fs->files_lock);
	buf_clear(d);
	free(d->ents);
	dc_destroy(NULL, d->build);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* A listing shows name in dir: a complete cache without it was wrong. */
static void dc_listed_name(struct efs_inode *dir, const char *name)
{
	pthread_mutex_lock(&dir->lock);
	if (dir->dc && dir->dc->complete && !*dc_slot(dir->dc, name))
		dc_incomplete(dir->dc);
	pthread_mutex_unlock(&dir->lock);
}

static int collect(void *arg, const struct nfs4_dirent *e)
{
	struct efs_dir *d = arg;
	struct efs_dirent_buf *b;

	if ((e->namelen == 1 && e->name[0] == '.') ||
	    (e->namelen == 2 && e->name[0] == '.' && e->name[1] == '.'))
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		struct efs_dirent_buf *p = realloc(d->ents, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		d->ents = p;
		d->cap = cap;
	}
	b = &d->ents[d->n];
	b->name = strndup(e->name, e->namelen);
	if (!b->name)
		return -ENOMEM;
	b->cookie = e->cookie;
	b->attr = e->attr;
	d->n++;
	dc_listed_name(d->inode, b->name);
	if (d->build) {
		if (d->build->n >= DC_LIST_MAX) {
			dc_destroy(NULL, d->build);
			d->build = NULL;
		} else {
			dc_add(NULL, d->build, b->name,
			       (e->attr.valid & NFS4_ATTR_BIT(FATTR4_FILEID)) && e->attr.fileid
				       ? e->attr.fileid
				       : EFS_DC_PRESENT);
		}
	}
	return 0;
}

/* A listing from cookie 0 starts: collect its names if the directory's change is known. */
static void build_start(struct efs_dir *d)
{
	struct efs_inode *dir = d->inode;

	dc_destroy(NULL, d->build);
	d->build = NULL;
	pthread_mutex_lock(&dir->lock);
	if (dir->attr_valid && (dir->attr.valid & NFS4_ATTR_BIT(FATTR4_CHANGE)) &&
	    (dir->attr_time.tv_sec || dir->attr_time.tv_nsec)) {
		d->build = dc_new();
		d->build_change = dir->attr.change;
		d->build_mods = dir->dc ? dir->dc->mods : 0;
	}
	pthread_mutex_unlock(&dir->lock);
}

/* The listing reached EOF: its names become the directory's complete cache. */
static void build_install(struct efs_fs *fs, struct efs_dir *d)
{
	struct efs_inode *dir = d->inode;
	struct efs_dcache *b = d->build, *dc;

	d->build = NULL;
	pthread_mutex_lock(&dir->lock);
	dc = dc_get(dir);
	if (dc && dir->attr_valid && dir->attr.change == d->build_change &&
	    dc->mods == d->build_mods && dc->inflight == 0 &&
	    atomic_load(&fs->dc_names) - dc->n + b->n <= EFS_DC_MAX_NAMES) {
		struct efs_dname **tab = dc->tab;
		size_t nb = dc->nb;

		dc_clear(fs, dc);
		dc->tab = b->tab;
		dc->nb = b->nb;
		dc->n = b->n;
		atomic_fetch_add(&fs->dc_names, b->n);
		b->tab = tab;
		b->nb = nb;
		b->n = 0;
		dc->complete = true;
		dc->ours = 0;
		dc->npend = 0;
		dc->known_change = d->build_change;
		dc->verified = dir->attr_time;
	}
	pthread_mutex_unlock(&dir->lock);
	dc_destroy(NULL, b);
}

/* Read the batch that follows cookie into d. */
static int fetch(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_dir *d, uint64_t cookie,
		 bool plus)
{
	uint32_t maxcount = fs->rsize < READDIR_MAXCOUNT ? fs->rsize : READDIR_MAXCOUNT;
	struct nfs4_fh fh;
	bool eof = false;
	int r;

	buf_clear(d);
	if (cookie == 0) {
		memset(d->verf, 0, sizeof(d->verf));
		build_start(d);
	} else if (d->build && cookie != d->build_next) {
		dc_destroy(NULL, d->build); /* not one continuous listing */
		d->build = NULL;
	}
	efs_inode_fh(d->inode, &fh);
	d->fetch_seq = efs_inode_attr_begin(fs);
	r = nfs4_readdir(fs->clnt, cr, &fh, cookie, d->verf, maxcount, plus, collect, d, &eof);
	if (r) {
		buf_clear(d);
		dc_destroy(NULL, d->build);
		d->build = NULL;
		return efs_errno(r);
	}
	d->buf_cookie = cookie;
	d->buf_valid = true;
	d->buf_eof = eof;
	if (d->build) {
		if (eof) {
			build_install(fs, d);
		} else if (d->n > 0) {
			d->build_next = d->ents[d->n - 1].cookie;
		} else {
			dc_destroy(NULL, d->build);
			d->build = NULL;
		}
	}
	return 0;
}

/* Entry for a buffered dirent; with plus and a usable handle, takes a lookup ref. */
static void make_entry(struct efs_fs *fs, struct efs_dir *d, const struct efs_dirent_buf *b,
		       bool plus, struct efs_entry *e)
{
	const struct nfs4_attr *a = &b->attr;
	struct efs_inode *in, *dir = d->inode;

	memset(e, 0, sizeof(*e));
	if (plus && a->rdattr_error == 0 && (a->valid & NFS4_ATTR_BIT(FATTR4_FILEHANDLE)) &&
	    a->fh.len > 0 && efs_attr_complete(a) &&
	    efs_inode_ref_seq(fs, &a->fh, a, d->fetch_seq, &in) == 0) {
		efs_fill_entry(fs, in, NULL, e);
		e->entry_timeout = efs_entry_timeout(fs, dir);
		efs_dcache_name(fs, dir, b->name, a->fileid);
		return;
	}
	e->st.st_ino = (ino_t)a->fileid;
	if (a->valid & NFS4_ATTR_BIT(FATTR4_TYPE))
		e->st.st_mode = efs_attr_type_mode(a->type);
}

static int fill_dot(struct efs_fs *fs, struct efs_dir *d, const char *name, uint64_t next,
		    efs_fill_fn fill, void *arg)
{
	struct efs_entry e;

	memset(&e, 0, sizeof(e));
	e.st.st_ino = (ino_t)d->inode->fileid;
	e.st.st_mode = S_IFDIR;
	(void)fs;
	return fill(arg, name, &e, next);
}

int efs_fs_readdir(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_dir *d, uint64_t off,
		   bool plus, efs_fill_fn fill, void *arg)
{
	uint64_t cookie;
	size_t i, emitted = 0;
	int r = 0;

	pthread_mutex_lock(&d->lock);
	if (off == 0) {
		d->buf_valid = false; /* (re)start: read the directory afresh */
		if (fill_dot(fs, d, ".", 1, fill, arg))
			goto out;
		emitted++;
		off = 1;
	}
	if (off == 1) {
		if (fill_dot(fs, d, "..", 2, fill, arg))
			goto out;
		emitted++;
		off = 2;
	}
	cookie = off <= 2 ? 0 : off;

	/* position in the buffered batch, or re-read from cookie */
	i = 0;
	if (d->buf_valid && d->buf_cookie == cookie) {
		i = 0;
	} else {
		bool found = false;

		if (d->buf_valid) {
			for (i = 0; i < d->n; i++) {
				if (d->ents[i].cookie == cookie) {
					i++;
					found = true;
					break;
				}
			}
		}
		if (!found) {
			r = fetch(fs, cr, d, cookie, plus);
			if (r)
				goto out;
			i = 0;
		}
	}

	for (;;) {
		for (; i < d->n; i++) {
			struct efs_dirent_buf *b = &d->ents[i];
			struct efs_entry e;

			if (b->cookie <= 2)
				efs_log(EFS_LOG_WARN, "readdir: server cookie %llu is reserved",
					(unsigned long long)b->cookie);
			make_entry(fs, d, b, plus, &e);
			if (fill(arg, b->name, &e, b->cookie)) {
				if (e.ino)
					efs_fs_forget(fs, e.ino, 1);
				goto out;
			}
			emitted++;
			cookie = b->cookie;
		}
		if (d->buf_eof)
			break;
		if (d->n == 0) {
			efs_log(EFS_LOG_WARN, "readdir: empty batch without eof at cookie %llu",
				(unsigned long long)cookie);
			break;
		}
		r = fetch(fs, cr, d, cookie, plus);
		if (r) {
			if (emitted > 0)
				r = 0; /* return what we have; the error comes next call */
			break;
		}
		i = 0;
	}
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}
