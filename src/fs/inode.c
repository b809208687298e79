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

static struct efs_inode *inode_alloc(uint64_t fileid, const struct nfs4_fh *fh)
{
	struct efs_inode *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->fileid = fileid;
	in->fh = *fh;
	pthread_mutex_init(&in->lock, NULL);
	pthread_mutex_init(&in->lk_mutex, NULL);
	return in;
}

static void inode_free(struct efs_inode *in)
{
	while (in->locks) {
		struct efs_lock *l = in->locks;

		in->locks = l->next;
		free(l);
	}
	pthread_mutex_destroy(&in->lk_mutex);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

int efs_inode_table_init(struct efs_fs *fs, const struct nfs4_fh *root,
			 const struct nfs4_attr *root_attr)
{
	fs->hash = calloc((size_t)1 << EFS_INODE_HASH_BITS, sizeof(*fs->hash));
	if (!fs->hash)
		return -ENOMEM;
	fs->root = inode_alloc(root_attr->fileid, root);
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
	fresh = inode_alloc(attr->fileid, fh);
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
	efs_inode_set_attr(in, attr);
	*out = in;
	return 0;
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

void efs_inode_set_attr(struct efs_inode *in, const struct nfs4_attr *a)
{
	struct nfs4_attr *c = &in->attr;

	pthread_mutex_lock(&in->lock);
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
	clock_gettime(CLOCK_MONOTONIC, &in->attr_time);
	in->attr_valid = true;
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
	if ((in->attr.valid & NFS4_ATTR_BIT(FATTR4_SIZE)) && in->attr.size < end)
		in->attr.size = end;
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
