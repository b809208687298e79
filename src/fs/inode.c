/*
 * inode.c - the inode table: server files keyed by fileid (and file handle),
 * FUSE lookup counts, node id <-> inode.  See fs_int.h for the locking.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fs/fs_int.h"
#include "util/log.h"

static size_t hash_slot(uint64_t fileid)
{
	uint64_t h = fileid * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> (64 - EFS_INODE_HASH_BITS));
}

static bool fh_equal(const struct nfs4_fh *a, const struct nfs4_fh *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static struct efs_inode *inode_alloc(struct efs_fs *fs, uint64_t fileid, const struct nfs4_fh *fh)
{
	struct efs_inode *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->fileid = fileid;
	in->fs = fs;
	in->fh = *fh;
	pthread_mutex_init(&in->lock, NULL);
	return in;
}

static void inode_free(struct efs_inode *in)
{
	efs_dcache_free(in->fs, in);
	/* No open is left (the kernel forgets only unused inodes): nothing dirty. */
	wb_file_free(in->wb);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

int efs_inode_table_init(struct efs_fs *fs, const struct nfs4_fh *root,
			 const struct nfs4_attr *root_attr)
{
	fs->hash = calloc((size_t)1 << EFS_INODE_HASH_BITS, sizeof(*fs->hash));
	if (!fs->hash)
		return -ENOMEM;
	fs->root = inode_alloc(fs, root_attr->fileid, root);
	if (!fs->root) {
		free(fs->hash);
		fs->hash = NULL;
		return -ENOMEM;
	}
	fs->root->nlookup = 1; /* the kernel's implicit reference; never dropped */
	efs_inode_set_attr(fs->root, root_attr);
	pthread_mutex_init(&fs->table_lock, NULL);
	return 0;
}

void efs_inode_table_fini(struct efs_fs *fs)
{
	size_t i;

	efs_log(EFS_LOG_DEBUG, "inode table: %llu inodes still looked up at unmount",
		(unsigned long long)fs->ninodes);
	if (fs->hash) {
		for (i = 0; i < (size_t)1 << EFS_INODE_HASH_BITS; i++) {
			struct efs_inode *in = fs->hash[i], *next;

			for (; in; in = next) {
				next = in->hnext;
				inode_free(in);
			}
		}
		free(fs->hash);
		fs->hash = NULL;
	}
	if (fs->root)
		inode_free(fs->root);
	fs->root = NULL;
	pthread_mutex_destroy(&fs->table_lock);
}

struct efs_inode *efs_inode_get(struct efs_fs *fs, uint64_t ino)
{
	if (ino == EFS_ROOT_INO)
		return fs->root;
	return (struct efs_inode *)(uintptr_t)ino;
}

uint64_t efs_inode_nodeid(struct efs_fs *fs, const struct efs_inode *in)
{
	if (in == fs->root)
		return EFS_ROOT_INO;
	return (uint64_t)(uintptr_t)in;
}

static void unhash(struct efs_fs *fs, struct efs_inode *in)
{
	struct efs_inode **pp = &fs->hash[hash_slot(in->fileid)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == in) {
			*pp = in->hnext;
			break;
		}
	}
	in->hashed = false;
	in->hnext = NULL;
}

int efs_inode_ref(struct efs_fs *fs, const struct nfs4_fh *fh, const struct nfs4_attr *attr,
		  struct efs_inode **out)
{
	return efs_inode_ref_seq(fs, fh, attr, UINT64_MAX, out);
}

int efs_inode_ref_seq(struct efs_fs *fs, const struct nfs4_fh *fh, const struct nfs4_attr *attr,
		      uint64_t seq, struct efs_inode **out)
{
	struct efs_inode *in, *fresh = NULL;
	size_t slot;

	if (!(attr->valid & NFS4_ATTR_BIT(FATTR4_FILEID)) || fh->len == 0)
		return -EIO;
	slot = hash_slot(attr->fileid);
	pthread_mutex_lock(&fs->table_lock);
	if (attr->fileid == fs->root->fileid && fh_equal(fh, &fs->root->fh)) {
		in = fs->root;
		goto found;
	}
	for (in = fs->hash[slot]; in; in = in->hnext) {
		if (in->fileid != attr->fileid)
			continue;
		pthread_mutex_lock(&in->lock);
		if (fh_equal(&in->fh, fh)) {
			pthread_mutex_unlock(&in->lock);
			goto found;
		}
		pthread_mutex_unlock(&in->lock);
		/* fileid reused by a new file: the old inode lives on unhashed
		 * until the kernel forgets it. */
		unhash(fs, in);
		break;
	}
	fresh = inode_alloc(fs, attr->fileid, fh);
	if (!fresh) {
		pthread_mutex_unlock(&fs->table_lock);
		return -ENOMEM;
	}
	in = fresh;
	in->hashed = true;
	in->hnext = fs->hash[slot];
	fs->hash[slot] = in;
	fs->ninodes++;
found:
	in->nlookup++;
	pthread_mutex_unlock(&fs->table_lock);
	pthread_mutex_lock(&in->lock);
	in->fh = *fh;
	pthread_mutex_unlock(&in->lock);
	efs_inode_set_attr_seq(in, attr, seq);
	*out = in;
	return 0;
}

struct efs_inode *efs_inode_ref_fileid(struct efs_fs *fs, uint64_t fileid)
{
	struct efs_inode *in;

	pthread_mutex_lock(&fs->table_lock);
	if (fs->root->fileid == fileid) {
		in = fs->root;
	} else {
		for (in = fs->hash[hash_slot(fileid)]; in; in = in->hnext)
			if (in->fileid == fileid && in->nlookup > 0)
				break;
	}
	if (in)
		in->nlookup++;
	pthread_mutex_unlock(&fs->table_lock);
	return in;
}

void efs_inode_unref(struct efs_fs *fs, struct efs_inode *in, uint64_t n)
{
	bool dead = false;

	pthread_mutex_lock(&fs->table_lock);
	if (in == fs->root) {
		pthread_mutex_unlock(&fs->table_lock);
		return;
	}
	if (n > in->nlookup) {
		efs_log(EFS_LOG_WARN, "forget: inode %llu nlookup %llu < %llu",
			(unsigned long long)in->fileid, (unsigned long long)in->nlookup,
			(unsigned long long)n);
		n = in->nlookup;
	}
	in->nlookup -= n;
	if (in->nlookup == 0) {
		if (in->hashed)
			unhash(fs, in);
		fs->ninodes--;
		dead = true;
	}
	pthread_mutex_unlock(&fs->table_lock);
	if (dead)
		inode_free(in);
}

void efs_inode_fh(struct efs_inode *in, struct nfs4_fh *fh)
{
	pthread_mutex_lock(&in->lock);
	*fh = in->fh;
	pthread_mutex_unlock(&in->lock);
}

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(a->tv_sec - b->tv_sec) + (double)(a->tv_nsec - b->tv_nsec) / 1e9;
}

static void ac_bounds(const struct efs_fs *fs, uint32_t type, double *min, double *max)
{
	if (type == NF4DIR) {
		*min = fs->cfg.acdirmin;
		*max = fs->cfg.acdirmax;
	} else {
		*min = fs->cfg.acregmin;
		*max = fs->cfg.acregmax;
	}
	if (*max < *min)
		*max = *min;
}

/*
 * The Linux client's model (nfs_update_inode): attributes that moved put
 * the timeout back to ac*min; a revalidation after the timeout ran out
 * that found them unchanged doubles it, up to ac*max.  in->lock held.
 */
static void ac_update(struct efs_inode *in, const struct nfs4_attr *a, const struct timespec *now)
{
	const uint64_t bit = NFS4_ATTR_BIT(FATTR4_CHANGE);
	uint32_t type = (a->valid & NFS4_ATTR_BIT(FATTR4_TYPE)) ? a->type : in->attr.type;
	double min, max;

	ac_bounds(in->fs, type, &min, &max);
	if (!in->attr_valid || !(in->attr.valid & bit) || !(a->valid & bit) ||
	    in->attr.change != a->change || in->ac_tmo < min) {
		in->ac_tmo = min;
	} else if (ts_diff(now, &in->attr_time) >= in->ac_tmo) {
		in->ac_tmo *= 2;
		if (in->ac_tmo > max)
			in->ac_tmo = max;
	}
}

/* The mode, owner or group moved: cached ACCESS results are void (in->lock held). */
static void access_check_perm_change(struct efs_inode *in, const struct nfs4_attr *a)
{
	const struct nfs4_attr *c = &in->attr;
	uint64_t v = a->valid & c->valid;
	bool moved = !in->attr_valid;

	if ((v & NFS4_ATTR_BIT(FATTR4_MODE)) && c->mode != a->mode)
		moved = true;
	if ((v & NFS4_ATTR_BIT(FATTR4_OWNER)) && c->uid != a->uid)
		moved = true;
	if ((v & NFS4_ATTR_BIT(FATTR4_OWNER_GROUP)) && c->gid != a->gid)
		moved = true;
	if (moved)
		memset(in->access, 0, sizeof(in->access));
}

uint64_t efs_inode_attr_begin(struct efs_fs *fs)
{
	return atomic_load(&fs->size_seq);
}

void efs_inode_set_attr(struct efs_inode *in, const struct nfs4_attr *a)
{
	efs_inode_set_attr_seq(in, a, UINT64_MAX);
}

void efs_inode_set_attr_seq(struct efs_inode *in, const struct nfs4_attr *a_in, uint64_t seq)
{
	struct nfs4_attr *c = &in->attr, guarded;
	const struct nfs4_attr *a = a_in;
	struct timespec now;
	bool stale = false;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&in->lock);
	if (in->grow_seq > seq && in->attr_valid && (c->valid & NFS4_ATTR_BIT(FATTR4_SIZE)) &&
	    (a->valid & NFS4_ATTR_BIT(FATTR4_SIZE)) && a->size < c->size) {
		/*
		 * This client extended the file while the reply was in flight:
		 * its size is from before our writes.  Keep ours, and do not
		 * trust the rest either (the next GETATTR asks again).
		 */
		guarded = *a;
		guarded.size = c->size;
		a = &guarded;
		stale = true;
	}
	access_check_perm_change(in, a);
	if (in->fs)
		ac_update(in, a, &now);
	if (efs_attr_complete(a) || !in->attr_valid) {
		struct nfs4_fh keep = c->fh;

		*c = *a;
		c->fh = keep;
	} else {
		/* merge a partial set into what we have */
		uint64_t v = a->valid;
#define MERGE(bit, field)                    \
	do {                                 \
		if (v & NFS4_ATTR_BIT(bit))  \
			c->field = a->field; \
	} while (0)
		MERGE(FATTR4_TYPE, type);
		MERGE(FATTR4_CHANGE, change);
		MERGE(FATTR4_SIZE, size);
		MERGE(FATTR4_MODE, mode);
		MERGE(FATTR4_NUMLINKS, nlink);
		MERGE(FATTR4_OWNER, uid);
		MERGE(FATTR4_OWNER_GROUP, gid);
		MERGE(FATTR4_SPACE_USED, space_used);
		MERGE(FATTR4_TIME_ACCESS, atime);
		MERGE(FATTR4_TIME_MODIFY, mtime);
		MERGE(FATTR4_TIME_METADATA, ctime);
#undef MERGE
		c->valid |= v;
	}
	/* Never below data not yet on the server (cache/wbcache.h, local size). */
	if (a->valid & NFS4_ATTR_BIT(FATTR4_SIZE))
		c->size = efs_io_size_seen_locked(in, a);
	in->attr_time = now;
	if (stale) {
		in->attr_time.tv_sec = 0;
		in->attr_time.tv_nsec = 0;
	}
	in->attr_valid = true;
	if (in->fs) {
		in->attr_epoch = atomic_load(&in->fs->attr_epoch);
		if (c->type == NF4DIR)
			efs_dcache_attr_seen_locked(in->fs, in, a);
	}
	pthread_mutex_unlock(&in->lock);
}

bool efs_inode_set_attr_changed(struct efs_inode *in, const struct nfs4_attr *a)
{
	const uint64_t bit = NFS4_ATTR_BIT(FATTR4_CHANGE);
	bool changed = false;

	pthread_mutex_lock(&in->lock);
	if (in->attr_valid && (in->attr.valid & bit) && (a->valid & bit))
		changed = in->attr.change != a->change;
	pthread_mutex_unlock(&in->lock);
	efs_inode_set_attr(in, a);
	return changed;
}

void efs_inode_invalidate(struct efs_inode *in)
{
	pthread_mutex_lock(&in->lock);
	in->attr_time.tv_sec = 0;
	in->attr_time.tv_nsec = 0;
	pthread_mutex_unlock(&in->lock);
}

void efs_inode_grow(struct efs_inode *in, uint64_t end)
{
	pthread_mutex_lock(&in->lock);
	if ((in->attr.valid & NFS4_ATTR_BIT(FATTR4_SIZE)) && in->attr.size < end) {
		in->attr.size = end;
		if (in->fs)
			in->grow_seq = atomic_fetch_add(&in->fs->size_seq, 1) + 1;
	}
	in->attr_time.tv_sec = 0;
	in->attr_time.tv_nsec = 0;
	pthread_mutex_unlock(&in->lock);
}

uint32_t efs_inode_type(struct efs_inode *in)
{
	uint32_t t = 0;

	pthread_mutex_lock(&in->lock);
	if (in->attr_valid && (in->attr.valid & NFS4_ATTR_BIT(FATTR4_TYPE)))
		t = in->attr.type;
	pthread_mutex_unlock(&in->lock);
	return t;
}

bool efs_inode_attr_fresh(struct efs_fs *fs, struct efs_inode *in, struct nfs4_attr *a,
			  double *left)
{
	struct timespec now;
	bool fresh = false;
	double age;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&in->lock);
	if (in->attr_valid && efs_attr_complete(&in->attr) && in->ac_tmo > 0 &&
	    in->attr_epoch == atomic_load(&fs->attr_epoch) &&
	    (in->attr_time.tv_sec != 0 || in->attr_time.tv_nsec != 0)) {
		age = ts_diff(&now, &in->attr_time);
		if (age >= 0 && age < in->ac_tmo) {
			fresh = true;
			if (a)
				*a = in->attr;
			if (left)
				*left = in->ac_tmo - age;
		}
	}
	pthread_mutex_unlock(&in->lock);
	return fresh;
}

double efs_inode_attr_timeout(struct efs_fs *fs, struct efs_inode *in)
{
	double t, min, max;

	pthread_mutex_lock(&in->lock);
	ac_bounds(fs, in->attr.type, &min, &max);
	t = in->ac_tmo;
	pthread_mutex_unlock(&in->lock);
	if (t < min)
		t = min;
	if (t > max)
		t = max;
	return t;
}

void efs_inode_note_local_change(struct efs_inode *in)
{
	pthread_mutex_lock(&in->lock);
	in->attr_time.tv_sec = 0;
	in->attr_time.tv_nsec = 0;
	in->ac_tmo = 0; /* the next store starts over at ac*min */
	pthread_mutex_unlock(&in->lock);
}

void efs_inode_stale_fileid(struct efs_fs *fs, uint64_t fileid)
{
	struct efs_inode *in;

	pthread_mutex_lock(&fs->table_lock); /* keeps the inode alive */
	if (fs->root->fileid == fileid) {
		in = fs->root;
	} else {
		for (in = fs->hash[hash_slot(fileid)]; in; in = in->hnext)
			if (in->fileid == fileid)
				break;
	}
	if (in)
		efs_inode_note_local_change(in);
	pthread_mutex_unlock(&fs->table_lock);
}

void efs_fs_attr_stale_all(struct efs_fs *fs)
{
	atomic_fetch_add(&fs->attr_epoch, 1);
}

/* ---- the access cache (the Linux client's nfs_access_get_cached) ---- */

static bool cred_equal(const struct efs_access_ent *e, const struct rpc_cred *cr)
{
	return e->uid == cr->uid && e->gid == cr->gid && e->ngroups == cr->ngroups &&
	       memcmp(e->groups, cr->groups, cr->ngroups * sizeof(cr->groups[0])) == 0;
}

bool efs_access_cached(struct efs_fs *fs, struct efs_inode *in, const struct rpc_cred *cr,
		       uint32_t *granted)
{
	double tmo = efs_inode_attr_timeout(fs, in);
	struct timespec now;
	bool hit = false;
	unsigned int i;

	if (tmo <= 0 || cr->ngroups > RPC_AUTH_SYS_MAX_GROUPS)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&in->lock);
	for (i = 0; i < EFS_ACCESS_SLOTS; i++) {
		struct efs_access_ent *e = &in->access[i];
		double age;

		if (!e->valid || !cred_equal(e, cr))
			continue;
		age = ts_diff(&now, &e->time);
		if (e->epoch == atomic_load(&fs->attr_epoch) && age >= 0 && age < tmo) {
			*granted = e->granted;
			hit = true;
		} else {
			e->valid = false;
		}
		break;
	}
	pthread_mutex_unlock(&in->lock);
	return hit;
}

void efs_access_store(struct efs_fs *fs, struct efs_inode *in, const struct rpc_cred *cr,
		      uint32_t granted)
{
	struct efs_access_ent *e = NULL;
	unsigned int i;

	if (cr->ngroups > RPC_AUTH_SYS_MAX_GROUPS)
		return;
	pthread_mutex_lock(&in->lock);
	for (i = 0; i < EFS_ACCESS_SLOTS; i++) {
		if (in->access[i].valid && cred_equal(&in->access[i], cr)) {
			e = &in->access[i];
			break;
		}
	}
	if (!e) {
		e = &in->access[in->access_next];
		in->access_next = (in->access_next + 1) % EFS_ACCESS_SLOTS;
	}
	memset(e, 0, sizeof(*e));
	e->valid = true;
	e->uid = cr->uid;
	e->gid = cr->gid;
	e->ngroups = cr->ngroups;
	memcpy(e->groups, cr->groups, cr->ngroups * sizeof(cr->groups[0]));
	e->granted = granted;
	clock_gettime(CLOCK_MONOTONIC, &e->time);
	e->epoch = atomic_load(&fs->attr_epoch);
	pthread_mutex_unlock(&in->lock);
}

bool efs_inode_search_open(struct efs_inode *in)
{
	bool open = false;

	pthread_mutex_lock(&in->lock);
	if (in->attr_valid && (in->attr.valid & NFS4_ATTR_BIT(FATTR4_MODE)))
		open = (in->attr.mode & 0111) == 0111;
	pthread_mutex_unlock(&in->lock);
	return open;
}
