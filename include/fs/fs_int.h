/*
 * fs_int.h - internals shared by the fs/ source files: the per-mount
 * object, the inode table (inode.c), attribute conversion (attr.c) and the
 * open-file / open-directory objects (fs_io.c, fs_dir.c).  Not for fuse/.
 *
 * Locking (see efs_fs.h for the order):
 *  - fs->table_lock protects the hash chains, every inode's nlookup and
 *    hashed flag, and the inode count.  Never held across an RPC.
 *  - inode->lock protects inode->fh, attr, attr_time, attr_valid.  Copy the
 *    fh out under it, then drop it before the RPC.
 *  - fs->files_lock protects the open files / dirs lists (leaf).
 *  - file->lock protects the commit bookkeeping (leaf); the open state
 *    (file->op) is set once at open and read-only afterwards.
 */
#ifndef EFS_FS_INT_H
#define EFS_FS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "fs/efs_fs.h"
#include "nfs4/nfs4_client.h"
#include "nfs4/nfs4_state.h"
#include "cache/wbcache.h"
#include "cache/readahead.h"

/*
 * One cached ACCESS result (the Linux client's nfs_access_entry): what the
 * server granted (of what nfs_do_access asks for the file's type) to one
 * credential, trusted for the inode's attribute timeout and dropped when
 * its mode, owner or group changes (or every cached attribute went stale:
 * attr_epoch).
 */
#define EFS_ACCESS_SLOTS 4
struct efs_access_ent {
	bool valid;
	uint32_t uid, gid, ngroups;
	uint32_t groups[RPC_AUTH_SYS_MAX_GROUPS];
	uint32_t granted;     /* ACCESS4_* */
	struct timespec time; /* CLOCK_MONOTONIC of the reply */
	uint64_t epoch;	      /* fs->attr_epoch then */
};

struct efs_inode {
	/* constant after creation */
	uint64_t fileid;
	struct efs_fs *fs;
	/* protected by fs->table_lock */
	uint64_t nlookup;
	bool hashed;
	struct efs_inode *hnext;
	/* protected by lock */
	pthread_mutex_t lock;
	struct nfs4_fh fh;
	struct nfs4_attr attr;	   /* last attributes seen */
	struct timespec attr_time; /* CLOCK_MONOTONIC when attr was fetched */
	bool attr_valid;
	/* data path (fs_io.c), protected by lock */
	/*
	 * The inode's data object (cache/wbcache.h): write-back data, local
	 * size, write-back errors.  Created by the first open, freed with the
	 * inode; the pointer is constant once set.
	 */
	struct wb_file *wb;
	unsigned int nopen;   /* opens of this inode (efs_file) */
	uint64_t data_gen;    /* bumped when our cached view of the data goes stale */
	bool size_reval;      /* the next O_APPEND revalidates the size (after a lock) */
	uint64_t kept_change; /* change attribute the kernel's page cache matches */
	bool kept_valid;
	/* attribute cache (inode.c), protected by lock */
	double ac_tmo;	       /* seconds attr is trusted (nfs(5) acregmin..acregmax) */
	uint64_t attr_epoch;   /* fs->attr_epoch when attr was stored */
	struct efs_dcache *dc; /* directories: names known in it (fs_dir.c) */
	/* access cache (inode.c), protected by lock */
	struct efs_access_ent access[EFS_ACCESS_SLOTS];
	unsigned int access_next; /* slot the next new credential replaces */
	/*
	 * Local size changes (efs_inode_grow) take a new fs->size_seq, so an
	 * attribute reply that was in flight meanwhile (efs_inode_attr_begin()
	 * before its RPC) cannot shrink what this client knows.  Protected by
	 * lock.
	 */
	uint64_t grow_seq; /* fs->size_seq at the last local extension */
};

struct efs_list {
	struct efs_list *prev, *next;
};

struct efs_file {
	struct efs_list link;	 /* in fs->files, under fs->files_lock */
	struct efs_inode *inode; /* pinned by the kernel while open */
	/*
	 * The server open state (nfs4/nfs4_state.h): shared with the other
	 * opens of this file by the same credential, held until release.
	 * Constant after open.
	 */
	struct nfs4_open *op;
	uint32_t share;	      /* OPEN4_SHARE_ACCESS_* this open counts in op */
	struct rpc_cred cred; /* opener's, for COMMIT/CLOSE at release */
	int flags;	      /* open(2) flags */
	bool keep_cache;      /* the kernel may keep its page cache (set at open) */
	struct ra_file *ra;   /* read-ahead of this open (NULL for O_DIRECT) */
	uint64_t ra_gen;      /* inode data_gen the read-ahead data belongs to */
	bool sync;	      /* FILE_SYNC4 writes (O_SYNC/O_DSYNC/O_DIRECT) */
	uint64_t wb_since;    /* errseq sample of inode->wb (wbcache.h), under lock */
	bool moved_append;    /* an O_APPEND write left the kernel's offset, under lock */
	/* protected by lock */
	pthread_mutex_t lock;
	bool needs_commit;  /* UNSTABLE4 data not yet committed */
	uint64_t dirty_gen; /* bumped by every UNSTABLE4 write */
	bool have_verf;	    /* verf holds the writes' verifier */
	bool verf_changed;  /* two writes saw different verifiers */
	uint8_t verf[NFS4_VERIFIER_SIZE];
};

struct efs_dirent_buf {
	char *name;
	uint64_t cookie;
	struct nfs4_attr attr;
};

struct efs_dir {
	struct efs_list link; /* in fs->dirs, under fs->files_lock */
	struct efs_inode *inode;
	/* protected by lock (held across READDIR RPCs of this stream) */
	pthread_mutex_t lock;
	uint8_t verf[NFS4_VERIFIER_SIZE];
	uint64_t buf_cookie;	     /* cookie the buffered batch was read from */
	struct efs_dirent_buf *ents; /* buffered batch */
	size_t n, cap;
	bool buf_valid, buf_eof;
	/* a listing from cookie 0 collected for the name cache (fs_dir.c) */
	struct efs_dcache *build;
	uint64_t build_change, build_mods, build_next;
	uint64_t fetch_seq; /* efs_inode_attr_begin() of the buffered batch's READDIR */
};

#define EFS_INODE_HASH_BITS 12

struct efs_fs {
	struct nfs4_client *clnt;
	struct efs_fs_cfg cfg;
	uint32_t rsize, wsize;
	struct efs_inode *root;
	pthread_mutex_t table_lock;
	struct efs_inode **hash; /* 1 << EFS_INODE_HASH_BITS chains */
	uint64_t ninodes;
	pthread_mutex_t files_lock;
	struct efs_list files, dirs;
	struct wbcache *wb;	       /* write-back cache (fs_io.c), created by efs_fs_new */
	struct efs_lockwait *lockwait; /* blocking lock waiters (fs_lock.c) */
	struct ra_pool *ra;	       /* read-ahead workers (fs_io.c) */
	efs_inval_fn inval;	       /* set before serving, read-only afterwards */
	void *inval_arg;
	/* attribute and name caches (inode.c, fs_dir.c) */
	_Atomic uint64_t attr_epoch; /* bumped: every cached attribute is stale */
	_Atomic uint64_t dc_names;   /* names held by all directory caches (capped) */
	_Atomic uint64_t size_seq;   /* bumped by every local extension (efs_inode_grow) */
	/* counters (fs.c) */
	_Atomic uint64_t op_count[EFS_OP_MAX];
	/*
	 * Extra "key value\n" lines for efs_fs_stats_text(), e.g. the write-back
	 * cache's wb.* counters: append at buf + *used (at most len - *used
	 * bytes, NUL-terminated, snprintf-style) and advance *used.  Set before
	 * serving; called from any thread with no fs/ lock held.
	 */
	void (*stats_extra)(void *arg, char *buf, size_t len, size_t *used);
	void *stats_extra_arg;
};

/* ---- inode.c ---- */
int efs_inode_table_init(struct efs_fs *fs, const struct nfs4_fh *root,
			 const struct nfs4_attr *root_attr);
void efs_inode_table_fini(struct efs_fs *fs);
/* Node id -> inode (no reference taken; the kernel pins it). */
struct efs_inode *efs_inode_get(struct efs_fs *fs, uint64_t ino);
uint64_t efs_inode_nodeid(struct efs_fs *fs, const struct efs_inode *in);
/*
 * Find or create the inode of (fh, attr->fileid), store fh/attr in it and
 * add one lookup reference.  -EIO when attr has no fileid, -ENOMEM.
 */
int efs_inode_ref(struct efs_fs *fs, const struct nfs4_fh *fh, const struct nfs4_attr *attr,
		  struct efs_inode **out);
/* The same for attributes of an RPC started at seq (efs_inode_attr_begin). */
int efs_inode_ref_seq(struct efs_fs *fs, const struct nfs4_fh *fh, const struct nfs4_attr *attr,
		      uint64_t seq, struct efs_inode **out);
/* The inode of fileid with one more lookup reference, or NULL if none is known. */
struct efs_inode *efs_inode_ref_fileid(struct efs_fs *fs, uint64_t fileid);
/* Drop n lookup references; frees the inode at 0 (never the root). */
void efs_inode_unref(struct efs_fs *fs, struct efs_inode *in, uint64_t n);
void efs_inode_fh(struct efs_inode *in, struct nfs4_fh *fh);
/* Store freshly fetched attributes (merging a partial set). */
void efs_inode_set_attr(struct efs_inode *in, const struct nfs4_attr *a);
/*
 * For attributes fetched by an RPC: take seq = efs_inode_attr_begin() before
 * it, store with efs_inode_set_attr_seq().  When this client changed the
 * size meanwhile (a write extended the file), the reply's smaller size is
 * not taken and the attributes stay stale (the next GETATTR asks again).
 */
uint64_t efs_inode_attr_begin(struct efs_fs *fs);
void efs_inode_set_attr_seq(struct efs_inode *in, const struct nfs4_attr *a, uint64_t seq);
/*
 * Access cache (see struct efs_access_ent): true and *granted when cr has a
 * fresh entry on in.
 */
bool efs_access_cached(struct efs_fs *fs, struct efs_inode *in, const struct rpc_cred *cr,
		       uint32_t *granted);
void efs_access_store(struct efs_fs *fs, struct efs_inode *in, const struct rpc_cred *cr,
		      uint32_t granted);
/*
 * A directory every class (owner, group, other) may search (mode 0111 all
 * set): the kernel may keep the names in it without asking us again.
 */
bool efs_inode_search_open(struct efs_inode *in);
void efs_inode_invalidate(struct efs_inode *in);
/* After a WRITE that ended at end: the cached size is at least end; attributes stale. */
void efs_inode_grow(struct efs_inode *in, uint64_t end);
/* Store a (true) or not; true when the change attribute moved. */
bool efs_inode_set_attr_changed(struct efs_inode *in, const struct nfs4_attr *a);
/* Cached type (NF4*), 0 if unknown. */
uint32_t efs_inode_type(struct efs_inode *in);
/*
 * Attribute cache (nfs(5) semantics, the Linux client's model): *a gets
 * the cached attributes and true while they are fresh; *left (may be
 * NULL) the seconds they stay so.
 */
bool efs_inode_attr_fresh(struct efs_fs *fs, struct efs_inode *in, struct nfs4_attr *a,
			  double *left);
/* Current attribute timeout of in (what the kernel may cache), seconds. */
double efs_inode_attr_timeout(struct efs_fs *fs, struct efs_inode *in);
/*
 * This mount changed in (write, setattr, a name added or removed in a
 * directory): the cached attributes are stale and the timeout restarts at
 * ac*min.  The data path calls it for writes.
 */
void efs_inode_note_local_change(struct efs_inode *in);
/* efs_inode_note_local_change() on the inode of fileid, if we have one. */
void efs_inode_stale_fileid(struct efs_fs *fs, uint64_t fileid);
/* Every cached attribute is stale (a removed name whose inode we do not know). */
void efs_fs_attr_stale_all(struct efs_fs *fs);

/* ---- fs_dir.c: the names of a directory (name cache) ---- */
/*
 * A directory's cache maps names to fileids.  It is "complete" when this
 * mount created the directory or listed it whole and every change of its
 * change attribute since came from our own operations (their change_info4
 * chain before -> after).  While this mount is filling a complete
 * directory (at least one of our changes chained since) and the server
 * confirmed its change attribute within the directory's attribute timeout,
 * at most EFS_DC_NEG_TRUST s (a GETATTR, or our last change's "before"), a
 * name missing from it does not exist: negative lookup without a round trip
 * (lookupcache=all).
 * Protected by the directory inode's lock; at most EFS_DC_MAX_NAMES names in
 * all directories together.
 */
#define EFS_DC_MAX_NAMES 262144
/* At most this many seconds an absence is inferred after a confirmation. */
#define EFS_DC_NEG_TRUST 3.0
#define EFS_DC_PRESENT	 UINT64_MAX /* a name that exists, fileid unknown */
void efs_dcache_free(struct efs_fs *fs, struct efs_inode *dir);
/* The server's attributes a of dir were just stored (dir->lock held). */
void efs_dcache_attr_seen_locked(struct efs_fs *fs, struct efs_inode *dir,
				 const struct nfs4_attr *a);
/* name -> fileid seen (lookup, readdirplus); fileid 0 removes the name. */
void efs_dcache_name(struct efs_fs *fs, struct efs_inode *dir, const char *name, uint64_t fileid);
/* 1: name is known absent (negative answer allowed), 0: unknown; *fileid when known present. */
int efs_dcache_lookup(struct efs_fs *fs, struct efs_inode *dir, const char *name, uint64_t *fileid);
/*
 * 1 and *fileid: a lookup showed name less than max_age s ago and the
 * directory's change attribute is still the one it had then.
 */
int efs_dcache_recent(struct efs_fs *fs, struct efs_inode *dir, const char *name, double max_age,
		      uint64_t *fileid);
/* A new directory we created: empty and complete at change attribute a->change. */
void efs_dcache_new_dir(struct efs_fs *fs, struct efs_inode *dir, const struct nfs4_attr *a);
/* Around our own modifying operation in dir: begin before the RPC, end after. */
void efs_dir_op_begin(struct efs_inode *dir);
/*
 * ci: the reply's change_info4 (NULL: unknown -> the cache is no longer
 * complete).  name added with fileid (!= 0) or removed (fileid 0); name
 * NULL when the operation failed.
 */
void efs_dir_op_end(struct efs_fs *fs, struct efs_inode *dir, const struct nfs4_change_info *ci,
		    const char *name, uint64_t fileid);
/* The same for an operation that failed (r < 0) or removed del and added add (fileid). */
void efs_dir_op_end2(struct efs_fs *fs, struct efs_inode *dir, int r,
		     const struct nfs4_change_info *ci, const char *del, const char *add,
		     uint64_t fileid);
/*
 * The data path's efs_fs_create() reports the OPEN(CREATE) it sent in dir:
 * r 0 or -errno, st (its cinfo when have_cinfo) and in valid when r == 0.
 * The FUSE create handler brackets efs_fs_create() with
 * efs_fs_create_begin/end; a create that was not reported leaves the
 * directory's name cache incomplete (safe, but no negative answers).
 */
void efs_dir_note_create(struct efs_fs *fs, struct efs_inode *dir, const char *name, int r,
			 const struct nfs4_change_info *ci, struct efs_inode *in);

/* ---- attr.c ---- */
/* Bits a struct stat needs (type, mode, fileid, size, ...). */
bool efs_attr_complete(const struct nfs4_attr *a);
void efs_attr_to_stat(const struct nfs4_attr *a, uint32_t blksize, struct stat *st);
mode_t efs_attr_type_mode(uint32_t nf4type);
/* set: EFS_SET_*; returns -EINVAL for nothing settable. */
void efs_stat_to_sattr(const struct stat *in, int to_set, struct nfs4_sattr *sa);
/* 0 or -errno from an nfs4 status (0, -NFS4ERR_*, -errno). */
int efs_errno(int nfs4_status);

/* ---- fs_io.c: the data path ---- */
int efs_io_init(struct efs_fs *fs);
void efs_io_fini(struct efs_fs *fs);
/* Before a GETATTR: send cached writes so the server's size/mtime are ours. */
void efs_io_writeout(struct efs_fs *fs, struct efs_inode *in);
/* Our cached view of the data is stale: read-ahead and keep_cache dropped. */
void efs_io_invalidate(struct efs_inode *in);
/* Write and COMMIT cached data, then efs_io_invalidate() (before a SETATTR
 * of the size, and around locks); -errno of the write-back. */
int efs_io_flush_inode(struct efs_fs *fs, struct efs_inode *in);
/* A SETATTR of the size to size succeeded: the local size follows it. */
void efs_io_truncated(struct efs_inode *in, uint64_t size);
/* The size this client gives the file: st->st_size replaced by the local
 * size when the inode has a data object (entries built from a reply). */
void efs_io_fix_stat(struct efs_inode *in, struct stat *st);
/* in->lock held: the local size for a server size (attribute store). */
uint64_t efs_io_size_seen_locked(struct efs_inode *in, const struct nfs4_attr *a);

/* ---- fs_lock.c ---- */
int efs_lockwait_init(struct efs_fs *fs);
void efs_lockwait_fini(struct efs_fs *fs);
/* Unlock everything owner holds through f (close of a descriptor). */
int efs_lock_release_owner(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f,
			   uint64_t owner);

/* ---- shared helpers (fs.c) ---- */
void efs_fill_entry(struct efs_fs *fs, struct efs_inode *in, const struct nfs4_attr *a,
		    struct efs_entry *e);
/* Seconds the kernel may keep a positive (negative) entry of dir (lookupcache=). */
double efs_entry_timeout(struct efs_fs *fs, struct efs_inode *dir);
double efs_neg_timeout(struct efs_fs *fs, struct efs_inode *dir);
/*
 * ACCESS check for the caller (cached per credential, see inode.c): 0 when
 * the server grants every bit of want (ACCESS4_*), else -EACCES.
 */
int efs_access_check(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
		     uint32_t want);
/* opendir's READ check (no round trip when the mode bits grant it). */
int efs_fs_opendir_check(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *dir);
/*
 * After an OPEN of an existing file with open(2) flags: the access the
 * server's OPEN does not check (RFC 8881 section 18.16.3: an OPEN for
 * read may be granted on execute permission; the Linux client's
 * nfs4_opendata_access): READ for a read open, EXECUTE for execve's
 * (FMODE_EXEC), MODIFY for a write open (the owner override of a
 * server), MODIFY for O_TRUNC.  No round trip when the mode bits of the
 * caller's class grant it.  0 or -EACCES.
 */
int efs_open_access_check(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
			  int flags);
/*
 * efs_fs_create(): after OPEN(UNCHECKED4) without a size, of a file that
 * turns out to have existed (its change_info4 did not move, or it has
 * data): the open's access check, then O_TRUNC as a SETATTR (the server
 * must not truncate before the check).  *a is updated.  0 or -errno.
 */
int efs_create_existing(struct efs_fs *fs, const struct rpc_cred *cr, struct nfs4_open *op,
			const struct nfs4_fh *fh, int flags, const struct nfs4_change_info *ci,
			struct nfs4_attr *a);
/* Fresh attributes of in from the server (GETATTR), stored in the inode. */
int efs_fs_refresh(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_inode *in,
		   struct nfs4_attr *a);
void efs_list_init(struct efs_list *l);
void efs_list_add(struct efs_list *head, struct efs_list *l);
void efs_list_del(struct efs_list *l);

#endif
