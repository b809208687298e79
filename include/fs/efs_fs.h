/*
 * efs_fs.h - POSIX file system semantics on top of an NFSv4.1 client: the
 * inode table (FUSE node ids <-> NFS file handles), open files, directory
 * streams, and one function per POSIX operation.  fuse/ calls these; they
 * know nothing of libfuse.
 *
 * Contract
 *  - Node ids: EFS_ROOT_INO is the export root; every other id is the
 *    address of a struct efs_inode, valid while its lookup count is > 0.
 *    Functions that return a struct efs_entry with ino != 0 added one
 *    lookup reference (the FUSE contract); efs_fs_forget() drops them.
 *    The same server file (fileid, file handle) is one inode whatever the
 *    name it was found by (hard links).
 *  - Errors: 0 or -errno.  NFS statuses are mapped once, here, with
 *    nfs4_err_to_errno().  Nothing is logged here except server anomalies;
 *    the caller logs a failure once.
 *  - Credentials: every call takes the caller's AUTH_SYS credential; it is
 *    used for the RPCs of that call only (release uses the opener's).
 *  - Threads: everything may be called from any thread concurrently.
 *    Locks (lock order, outermost first):
 *        efs_dir.lock  (per open directory, held across its READDIR RPCs)
 *        efs_inode.lk_mutex (lock states of one file, held across LOCK RPCs)
 *        fs table lock (inode hash + lookup counts; never held across an RPC)
 *        efs_inode.lock (fh + cached attributes of one inode)
 *        fs files lock (list of open files/dirs, leaf)
 *        efs_file.lock (commit bookkeeping of one open, leaf)
 *    No fs/ lock is held while calling into nfs4/, except efs_dir.lock.
 *  - Data path: reads go to the server (one READ of up to rsize per
 *    request, more only after a short read before EOF); writes are
 *    UNSTABLE4 and COMMITted at flush/fsync/release, or FILE_SYNC4 for
 *    O_SYNC/O_DSYNC/O_DIRECT opens (RFC 8881 sections 18.22, 18.32, 18.3).
 *    A COMMIT verifier that differs from the WRITEs' one is -EIO (logged).
 */
#ifndef EFS_FS_H
#define EFS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include "nfs4/nfs4_client.h"
#include "rpc/rpc_clnt.h"

#define EFS_ROOT_INO 1 /* == FUSE_ROOT_ID */
/* Longest name (bytes): statvfs f_namemax; longer is -ENAMETOOLONG before any RPC. */
#define EFS_NAME_MAX 255

/* nfs(5) lookupcache= */
enum efs_lookupcache {
	EFS_LOOKUPCACHE_ALL = 0,  /* positive and negative entries cached */
	EFS_LOOKUPCACHE_POSITIVE, /* only names that exist */
	EFS_LOOKUPCACHE_NONE,	  /* every lookup asks the server */
};

struct efs_fs_cfg {
	double attr_timeout, entry_timeout; /* unused (the ac* fields below rule) */
	bool ro;			    /* refuse modifications (EROFS) */
	/*
	 * nfs(5) attribute cache, seconds: a file's (directory's) attributes
	 * are trusted for a timeout that starts at ac*min, doubles up to
	 * ac*max each time a revalidation finds the change attribute
	 * unchanged, and falls back to ac*min when it moved.  All 0 = noac.
	 */
	double acregmin, acregmax, acdirmin, acdirmax;
	enum efs_lookupcache lookupcache;
	bool nocto;	     /* nocto: open() may use fresh cached attributes (no revalidation) */
	uint64_t cache_size; /* write-back cache cap, bytes (0: 256 MiB) */
	unsigned int wb_age; /* seconds before dirty data is written back (0: 30) */
	bool sync_writes;    /* every write FILE_SYNC (noac), no write-back */
};

/* One directory entry handed to the kernel. */
struct efs_entry {
	uint64_t ino; /* node id; 0 = no inode (readdir without plus, ".", "..") */
	uint64_t generation;
	struct stat st;
	double attr_timeout, entry_timeout;
};

/* Attributes to change (efs_fs_setattr); values mirror FUSE_SET_ATTR_*. */
#define EFS_SET_MODE	  (1 << 0)
#define EFS_SET_UID	  (1 << 1)
#define EFS_SET_GID	  (1 << 2)
#define EFS_SET_SIZE	  (1 << 3)
#define EFS_SET_ATIME	  (1 << 4)
#define EFS_SET_MTIME	  (1 << 5)
#define EFS_SET_ATIME_NOW (1 << 7)
#define EFS_SET_MTIME_NOW (1 << 8)

struct efs_fs;
struct efs_file; /* an open regular file (fi->fh) */
struct efs_dir;	 /* an open directory stream (fi->fh) */

struct efs_fs *efs_fs_new(struct nfs4_client *c, const struct nfs4_fh *root,
			  const struct nfs4_attr *root_attr, const struct efs_fs_cfg *cfg);
/*
 * Writes out and closes what is left open (best effort), frees every inode.
 * Returns the bytes of written data the server never got during the whole
 * mount (each loss was logged with its file): nonzero means data was lost.
 */
uint64_t efs_fs_free(struct efs_fs *fs);
uint32_t efs_fs_rsize(const struct efs_fs *fs);
uint32_t efs_fs_wsize(const struct efs_fs *fs);
/*
 * Upward signal: the kernel's cached attributes (and with data, its cached
 * pages) of ino are stale: the change attribute moved behind its back (seen
 * at open: close-to-open), or a lock was taken (lock revalidates).
 * Set once before requests are served; fn must not block on fs/.
 */
typedef void (*efs_inval_fn)(void *arg, uint64_t ino, bool data);
void efs_fs_set_inval(struct efs_fs *fs, efs_inval_fn fn, void *arg);
/* The server's fileid of node id ino (for logs). */
uint64_t efs_fs_fileid(struct efs_fs *fs, uint64_t ino);

/*
 * ---- the daemon's counters ----
 * Every FUSE request is counted by its handler (efs_fs_count_op).  The
 * text "key value\n" lines: compounds, ops, retries, proc.<NAME> per
 * enum nfs4_proc_id, rpc.calls, rpc.bytes_out, rpc.bytes_in,
 * rpc.reconnects, fuse.<op> per enum efs_op, then whatever the data path
 * adds (struct efs_fs.stats_extra, e.g. wb.* lines).  It is served as the
 * extended attribute EFS_STATS_XATTR of every inode (not listed by
 * listxattr); other names are ENODATA, setting any is ENOTSUP.
 */
#define EFS_STATS_XATTR "user.efs-fuse.stats"
enum efs_op {
	EFS_OP_LOOKUP,
	EFS_OP_FORGET,
	EFS_OP_GETATTR,
	EFS_OP_SETATTR,
	EFS_OP_READLINK,
	EFS_OP_MKNOD,
	EFS_OP_MKDIR,
	EFS_OP_UNLINK,
	EFS_OP_RMDIR,
	EFS_OP_SYMLINK,
	EFS_OP_RENAME,
	EFS_OP_LINK,
	EFS_OP_OPEN,
	EFS_OP_CREATE,
	EFS_OP_READ,
	EFS_OP_WRITE,
	EFS_OP_FLUSH,
	EFS_OP_RELEASE,
	EFS_OP_FSYNC,
	EFS_OP_OPENDIR,
	EFS_OP_READDIR,
	EFS_OP_READDIRPLUS,
	EFS_OP_RELEASEDIR,
	EFS_OP_STATFS,
	EFS_OP_ACCESS,
	EFS_OP_GETLK,
	EFS_OP_SETLK,
	EFS_OP_FLOCK,
	EFS_OP_GETXATTR,
	EFS_OP_LISTXATTR,
	EFS_OP_SETXATTR,
	EFS_OP_REMOVEXATTR,
	EFS_OP_MAX
};
void efs_fs_count_op(struct efs_fs *fs, enum efs_op op);
/* Formats every counter into buf (NUL-terminated); length, or -ERANGE if len is too small. */
int efs_fs_stats_text(struct efs_fs *fs, char *buf, size_t len);
/* State dump (SIGUSR1): the write-back cache per file, one line per call of line(). */
void efs_fs_dump(struct efs_fs *fs, void (*line)(void *arg, const char *text), void *arg);
/*
 * getxattr: size 0 asks for the value's length (returned); otherwise the
 * value is copied to buf and its length returned; -ERANGE if size is too
 * small, -ENODATA for any name but EFS_STATS_XATTR.
 */
int efs_fs_getxattr(struct efs_fs *fs, uint64_t ino, const char *name, char *buf, size_t size);

/* ---- inodes and attributes ---- */
int efs_fs_lookup(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name,
		  struct efs_entry *e);
void efs_fs_forget(struct efs_fs *fs, uint64_t ino, uint64_t nlookup);
int efs_fs_getattr(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, struct stat *st,
		   double *timeout);
/* f (may be NULL): the open file whose stateid a size change uses. */
int efs_fs_setattr(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, struct efs_file *f,
		   const struct stat *in, int to_set, struct stat *st, double *timeout);
/* access(2): ACCESS for the caller, cached per credential (see fs.c). */
int efs_fs_access(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, int mask);
/*
 * Seconds the kernel may keep a name it learnt in parent (create): 0 when
 * not every class may search parent, so each walk asks us as its caller.
 */
double efs_fs_entry_timeout(struct efs_fs *fs, uint64_t parent);
/*
 * Calls fn for every name this mount knows in directory ino (with no fs/
 * lock held): after a SETATTR took search permission away, fuse/ drops
 * the kernel's cached names with them.  -ENOMEM, or 0.
 */
int efs_fs_dir_names(struct efs_fs *fs, uint64_t ino,
		     void (*fn)(void *arg, uint64_t parent, const char *name), void *arg);
int efs_fs_statfs(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, struct statvfs *sv);

/* ---- namespace (umask is applied here: the kernel does not, DONT_MASK) ---- */
int efs_fs_readlink(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, char *buf,
		    size_t bufsz);
int efs_fs_mknod(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name,
		 mode_t mode, dev_t rdev, mode_t umask, struct efs_entry *e);
int efs_fs_mkdir(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name,
		 mode_t mode, mode_t umask, struct efs_entry *e);
int efs_fs_symlink(struct efs_fs *fs, const struct rpc_cred *cr, const char *target,
		   uint64_t parent, const char *name, struct efs_entry *e);
int efs_fs_link(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, uint64_t newparent,
		const char *newname, struct efs_entry *e);
int efs_fs_unlink(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name);
int efs_fs_rmdir(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name);
/* flags other than 0 (RENAME_NOREPLACE, RENAME_EXCHANGE) -> -EINVAL. */
int efs_fs_rename(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name,
		  uint64_t newparent, const char *newname, unsigned int flags);

/* ---- open files ---- */
int efs_fs_open(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, int flags,
		struct efs_file **fp);
/* OPEN(CREATE); O_EXCL -> GUARDED4.  e gets the new entry (one lookup ref). */
int efs_fs_create(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name,
		  mode_t mode, mode_t umask, int flags, struct efs_entry *e, struct efs_file **fp);
/* *got < size only at EOF. */
int efs_fs_read(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, void *buf,
		size_t size, uint64_t off, size_t *got);
/*
 * The same without copying (issue 10): rb->iov[0..niov) point into the READ
 * reply records the data arrived in (rb->len bytes; < size only at EOF).
 * The edge sends them (fuse_reply_iov) and then calls efs_read_buf_release()
 * (also after an error: it is always safe).
 */
#define EFS_READ_IOV_MAX 40
struct efs_read_buf {
	struct iovec iov[EFS_READ_IOV_MAX];
	void *hold[EFS_READ_IOV_MAX]; /* what keeps iov[i] valid (fs/ private) */
	unsigned int niov;
	size_t len;
};
int efs_fs_read_iov(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, size_t size,
		    uint64_t off, struct efs_read_buf *rb);
void efs_read_buf_release(struct efs_read_buf *rb);
/*
 * O_APPEND writes go to the local end of file, which may not be the
 * kernel's offset (its i_size is another client's past): then the kernel's
 * pages and size for the file are wrong.  The edge asks efs_fs_write_moved()
 * before it answers the write and, when true, calls efs_fs_write_done() with
 * the node id after the answer (not before: the writer holds the page locks
 * until then; not with f: a RELEASE may free it once answered), which
 * invalidates them.
 */
int efs_fs_write(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, const void *buf,
		 size_t size, uint64_t off, size_t *written);
bool efs_fs_write_moved(struct efs_file *f);
void efs_fs_write_done(struct efs_fs *fs, uint64_t ino);
/*
 * close(2) of a descriptor: COMMIT what is unstable (the error of the
 * write-back is returned here) and drop the POSIX locks lock_owner holds
 * on the file (the FUSE flush contract).
 */
int efs_fs_flush(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f,
		 uint64_t lock_owner);
int efs_fs_fsync(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f);
/*
 * The FUSE create handler calls these around efs_fs_create() so the
 * directory's name cache knows a create was in flight (and whether the
 * data path reported it, see efs_dir_note_create in fs_int.h).
 */
void efs_fs_create_begin(struct efs_fs *fs, uint64_t parent);
void efs_fs_create_end(struct efs_fs *fs, uint64_t parent, const char *name);
/* COMMIT if still needed, CLOSE, free f.  Returns the first error. */
int efs_fs_release(struct efs_fs *fs, struct efs_file *f);
/* Which inode f belongs to (for logs). */
uint64_t efs_file_ino(const struct efs_file *f);
/* The kernel may keep its page cache for this open: the file's change
 * attribute is the one the cache was filled at (close-to-open). */
bool efs_file_keep_cache(const struct efs_file *f);

/*
 * ---- byte-range locks (RFC 8881 sections 18.10-18.12) ----
 * owner: the kernel's lock owner (fi->lock_owner); type F_RDLCK, F_WRLCK or
 * F_UNLCK; len 0 = to end of file.  wait (F_SETLKW, flock without LOCK_NB)
 * polls a refused lock until granted.  A refused lock is -EAGAIN.  Taking a
 * lock drops the kernel's cached pages and attributes of the file.
 */
int efs_fs_setlk(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, uint64_t owner,
		 int type, uint64_t start, uint64_t len, bool wait);
/*
 * A blocking lock (F_SETLKW, flock without LOCK_NB) that does not hold the
 * calling thread: tries once; when refused, the wait continues on the
 * file system's lock-wait thread and returns 1: done(arg, r) runs once
 * later (0 granted, -EINTR when cr->cancelled() says the caller was
 * interrupted or the mount stops, -errno).  Otherwise returns 0/-errno at
 * once and done() never runs.  cr (with its interrupt test) and f must
 * stay valid until done() ran.
 */
int efs_fs_setlk_wait(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f,
		      uint64_t owner, int type, uint64_t start, uint64_t len,
		      void (*done)(void *arg, int r), void *arg);
/* The mount is going away: lock waiters end with -EINTR, no new ones. */
void efs_fs_stop(struct efs_fs *fs);
/* *type becomes F_UNLCK, or the conflicting lock's type/start/len. */
int efs_fs_getlk(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_file *f, uint64_t owner,
		 int *type, uint64_t *start, uint64_t *len);

/* ---- directories ---- */
/* -EACCES without READ permission for the caller (the VFS's MAY_READ). */
int efs_fs_opendir(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, struct efs_dir **dp);
/*
 * Called per entry; next_off is the offset to resume after this entry.
 * Returns 0 when the entry was taken, 1 when the reply buffer is full (the
 * entry was not taken).  With plus, e->ino != 0 carries one lookup
 * reference that efs_fs_readdir() drops again when the entry is not taken.
 */
typedef int (*efs_fill_fn)(void *arg, const char *name, const struct efs_entry *e,
			   uint64_t next_off);
/* Emits entries from off (0 = start; "." is 1, ".." is 2, then NFS cookies). */
int efs_fs_readdir(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_dir *d, uint64_t off,
		   bool plus, efs_fill_fn fill, void *arg);
void efs_fs_releasedir(struct efs_fs *fs, struct efs_dir *d);

#endif
