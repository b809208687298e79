/*
 * test_fs.c - fs/ against a scripted fake NFSv4.1 client: the nfs4_*
 * procedures fs/ calls are defined here, so the linker never pulls the
 * real ones from libefs.a.  Covers the inode table (lookup counts, hard
 * links, fileid reuse), attribute conversion, readdir offsets over a
 * 10,000-entry directory (plain and plus, resumed at every offset), and
 * the write / COMMIT verifier bookkeeping.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <cmocka.h>
#include "fs/fs_int.h"
#include "nfs4/nfs4_err.h"

/* ---- the fake server ---- */

#define DIR_ENTRIES 10000
#define BATCH	    97 /* entries per READDIR reply */

static struct {
	uint8_t write_verf[NFS4_VERIFIER_SIZE];
	uint8_t commit_verf[NFS4_VERIFIER_SIZE];
	unsigned writes, commits, readdirs, closes, unlocks;
	unsigned getattrs, lookups, setattrs;
	uint64_t dchange; /* every directory's change attribute (one counter) */
	uint32_t last_stable;
	uint64_t last_off;
	uint32_t last_len;
	int write_err; /* the next WRITEs fail with it (0: they succeed) */
} srv;

static struct nfs4_client *fake_clnt = (struct nfs4_client *)&srv;

static void fh_of(uint64_t fileid, struct nfs4_fh *fh)
{
	memset(fh, 0, sizeof(*fh));
	fh->len = 8;
	memcpy(fh->data, &fileid, 8);
}

static void attr_of(uint64_t fileid, uint32_t type, struct nfs4_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->valid = NFS4_ATTR_BIT(FATTR4_TYPE) | NFS4_ATTR_BIT(FATTR4_FILEID) |
		   NFS4_ATTR_BIT(FATTR4_MODE) | NFS4_ATTR_BIT(FATTR4_SIZE) |
		   NFS4_ATTR_BIT(FATTR4_NUMLINKS) | NFS4_ATTR_BIT(FATTR4_CHANGE);
	a->type = type;
	a->fileid = fileid;
	a->mode = type == NF4DIR ? 0755 : 0644; /* directories searchable by all */
	a->nlink = 1;
	a->size = 42;
	a->change = 1;
}

uint32_t nfs4_client_rsize(const struct nfs4_client *c)
{
	(void)c;
	return 1048576;
}

uint32_t nfs4_client_wsize(const struct nfs4_client *c)
{
	(void)c;
	return 65536;
}

int nfs4_getattr(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		 struct nfs4_attr *attr)
{
	uint64_t id;

	(void)c;
	(void)cr;
	memcpy(&id, fh->data, 8);
	attr_of(id, id == 2 || id == 7000 ? NF4DIR : NF4REG, attr);
	if (attr->type == NF4DIR)
		attr->change = srv.dchange;
	srv.getattrs++;
	return 0;
}

void nfs4_client_get_stats(struct nfs4_client *c, struct nfs4_stats *st)
{
	(void)c;
	memset(st, 0, sizeof(*st));
	st->compounds = srv.getattrs + srv.lookups;
	st->per_proc[NFS4_PROC_ID_GETATTR] = srv.getattrs;
	st->per_proc[NFS4_PROC_ID_LOOKUP] = srv.lookups;
}

/* Our change of a directory: change_info4 before -> after. */
static void dir_changed(struct nfs4_change_info *ci)
{
	if (ci) {
		ci->atomic = true;
		ci->before = srv.dchange;
	}
	srv.dchange++;
	if (ci)
		ci->after = srv.dchange;
}

int nfs4_lookup(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		const char *name, struct nfs4_fh *fh, struct nfs4_attr *attr)
{
	uint64_t id;

	(void)c;
	(void)cr;
	(void)dir;
	srv.lookups++;
	if (strcmp(name, "missing") == 0 || name[0] == 'x')
		return -NFS4ERR_NOENT;
	id = strtoull(name + 1, NULL, 10); /* "f123" -> fileid 123 */
	fh_of(id, fh);
	attr_of(id, NF4REG, attr);
	return 0;
}

int nfs4_lookupp(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		 struct nfs4_fh *fh, struct nfs4_attr *attr)
{
	(void)c;
	(void)cr;
	(void)dir;
	fh_of(2, fh);
	attr_of(2, NF4DIR, attr);
	return 0;
}

int nfs4_setattr(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		 const struct nfs4_stateid *sid, const struct nfs4_sattr *sa,
		 struct nfs4_attr *attr)
{
	(void)sid;
	(void)sa;
	srv.setattrs++;
	return nfs4_getattr(c, cr, fh, attr);
}

int nfs4_access(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		uint32_t want, uint32_t *granted)
{
	(void)c;
	(void)fh;
	/* root: everything; uid 2002: nothing (issue 7 tests); others: READ */
	*granted = cr->uid == 0 ? want : cr->uid == 2002 ? 0 : (want & ACCESS4_READ);
	return 0;
}

int nfs4_statfs(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		struct nfs4_attr *attr)
{
	(void)c;
	(void)cr;
	(void)fh;
	memset(attr, 0, sizeof(*attr));
	attr->space_total = 1ull << 40;
	attr->space_free = 1ull << 39;
	attr->space_avail = 1ull << 38;
	attr->files_total = 1000;
	return 0;
}

int nfs4_readlink(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		  char *buf, size_t bufsz)
{
	(void)c;
	(void)cr;
	(void)fh;
	snprintf(buf, bufsz, "target");
	return 0;
}

int nfs4_create_ci(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		   const struct nfs4_create_args *a, struct nfs4_fh *fh, struct nfs4_attr *attr,
		   struct nfs4_change_info *ci)
{
	(void)c;
	(void)cr;
	(void)dir;
	dir_changed(ci);
	fh_of(a->type == NF4DIR ? 7000 : 7001, fh);
	attr_of(a->type == NF4DIR ? 7000 : 7001, a->type, attr);
	if (a->type == NF4DIR)
		attr->change = srv.dchange;
	attr->mode = a->sattr ? a->sattr->mode : 0;
	attr->valid |= NFS4_ATTR_BIT(FATTR4_RAWDEV);
	attr->rdev_major = a->major;
	attr->rdev_minor = a->minor;
	return 0;
}

int nfs4_remove_ci(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		   const char *name, struct nfs4_change_info *ci)
{
	(void)c;
	(void)cr;
	(void)dir;
	if (strcmp(name, "full") == 0)
		return -NFS4ERR_NOTEMPTY;
	dir_changed(ci);
	return 0;
}

int nfs4_rename_ci(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *sdir,
		   const char *sname, const struct nfs4_fh *ddir, const char *dname,
		   struct nfs4_change_info *sci, struct nfs4_change_info *dci)
{
	(void)c;
	(void)cr;
	(void)sdir;
	(void)sname;
	(void)ddir;
	(void)dname;
	dir_changed(sci);
	if (dci && sci)
		*dci = *sci;
	return 0;
}

int nfs4_link_ci(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		 const struct nfs4_fh *dir, const char *name, struct nfs4_attr *attr,
		 struct nfs4_change_info *ci)
{
	(void)dir;
	(void)name;
	dir_changed(ci);
	nfs4_getattr(c, cr, fh, attr);
	attr->nlink = 2;
	return 0;
}

/* The fake open state: one per FUSE open (the fake keeps no table). */
struct nfs4_open {
	struct nfs4_fh fh;
	int refs;
	unsigned locks; /* ranges held */
};

static int open_common(uint64_t id, struct nfs4_open **op, struct nfs4_attr *attr)
{
	struct nfs4_open *o = calloc(1, sizeof(*o));

	assert_non_null(o);
	fh_of(id, &o->fh);
	o->refs = 1;
	attr_of(id, NF4REG, attr);
	*op = o;
	return 0;
}

int nfs4_open_by_name(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		      const char *name, uint32_t share_access, bool create, bool exclusive,
		      const struct nfs4_sattr *sa, struct nfs4_open **op, struct nfs4_attr *attr,
		      struct nfs4_change_info *ci)
{
	(void)c;
	(void)cr;
	(void)dir;
	(void)create;
	(void)sa;
	(void)share_access;
	if (exclusive && strcmp(name, "f9") == 0)
		return -NFS4ERR_EXIST;
	if (ci)
		dir_changed(ci);
	return open_common(strtoull(name + 1, NULL, 10), op, attr);
}

int nfs4_open_by_fh(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		    uint32_t share_access, struct nfs4_open **op, struct nfs4_attr *attr)
{
	uint64_t id;

	(void)c;
	(void)cr;
	(void)share_access;
	memcpy(&id, fh->data, 8);
	return open_common(id, op, attr);
}

void nfs4_state_get_stats(struct nfs4_client *c, struct nfs4_state_stats *st)
{
	(void)c;
	memset(st, 0, sizeof(*st));
}

void nfs4_open_hold(struct nfs4_open *op)
{
	op->refs++;
}

void nfs4_open_put(struct nfs4_client *c, struct nfs4_open *op)
{
	(void)c;
	if (op && --op->refs == 0)
		free(op);
}

int nfs4_open_release(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		      uint32_t share_access)
{
	(void)cr;
	(void)share_access;
	if (op->locks)
		srv.unlocks++; /* the release drops what is still locked */
	srv.closes++;
	nfs4_open_put(c, op);
	return 0;
}

void nfs4_open_get_fh(struct nfs4_open *op, struct nfs4_fh *fh)
{
	*fh = op->fh;
}

bool nfs4_open_lost(struct nfs4_open *op)
{
	(void)op;
	return false;
}

/* mknod of a regular file: OPEN(CREATE) then CLOSE, no shared state. */
int nfs4_open_name(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		   const char *name, uint32_t share_access, bool create, bool exclusive,
		   const struct nfs4_sattr *sa, struct nfs4_open_state *st, struct nfs4_attr *attr)
{
	(void)c;
	(void)cr;
	(void)dir;
	(void)create;
	(void)sa;
	if (exclusive && strcmp(name, "f9") == 0)
		return -NFS4ERR_EXIST;
	memset(st, 0, sizeof(*st));
	fh_of(strtoull(name + 1, NULL, 10), &st->fh);
	st->share_access = share_access;
	attr_of(strtoull(name + 1, NULL, 10), NF4REG, attr);
	return 0;
}

int nfs4_close(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open_state *st)
{
	(void)c;
	(void)cr;
	(void)st;
	srv.closes++;
	return 0;
}

int nfs4_read_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		   uint64_t off, uint32_t count, void *buf, uint32_t *got, bool *eof)
{
	const uint64_t size = 100000;
	uint32_t n;

	(void)c;
	(void)cr;
	(void)op;
	n = off >= size ? 0 : (uint32_t)(size - off < count ? size - off : count);
	if (n > 1000)
		n = 1000; /* short reads before EOF */
	memset(buf, 'r', n);
	*got = n;
	*eof = off + n >= size;
	return 0;
}

int nfs4_read_open_rec(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		       uint64_t off, uint32_t count, void **rec, const uint8_t **data,
		       uint32_t *got, bool *eof)
{
	uint8_t *b = malloc(count + 16); /* a "record": 16 header bytes, then the data */

	assert_non_null(b);
	*rec = b;
	*data = b + 16;
	return nfs4_read_open(c, cr, op, off, count, b + 16, got, eof);
}

int nfs4_write_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		    uint64_t off, const void *buf, uint32_t len, uint32_t stable, uint32_t *written,
		    uint32_t *committed, uint8_t verf[NFS4_VERIFIER_SIZE])
{
	return nfs4_write(c, cr, &op->fh, NULL, off, buf, len, stable, written, committed, verf);
}

int nfs4_setattr_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		      const struct nfs4_fh *fh, const struct nfs4_sattr *sa, struct nfs4_attr *attr)
{
	(void)op;
	return nfs4_setattr(c, cr, fh, NULL, sa, attr);
}

int nfs4_write(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
	       const struct nfs4_stateid *sid, uint64_t off, const void *buf, uint32_t len,
	       uint32_t stable, uint32_t *written, uint32_t *committed,
	       uint8_t verf[NFS4_VERIFIER_SIZE])
{
	(void)c;
	(void)cr;
	(void)fh;
	(void)sid;
	(void)off;
	(void)buf;
	srv.writes++;
	if (srv.write_err)
		return srv.write_err;
	srv.last_stable = stable;
	srv.last_off = off;
	srv.last_len = len;
	*written = len;
	*committed = stable;
	memcpy(verf, srv.write_verf, NFS4_VERIFIER_SIZE);
	return 0;
}

int nfs4_commit(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		uint64_t off, uint32_t count, uint8_t verf[NFS4_VERIFIER_SIZE])
{
	(void)c;
	(void)cr;
	(void)fh;
	(void)off;
	(void)count;
	srv.commits++;
	memcpy(verf, srv.commit_verf, NFS4_VERIFIER_SIZE);
	return 0;
}

/* Directory of DIR_ENTRIES files "e<i>", fileid 100+i, cookie 3+i (+ "." / ".."). */
int nfs4_readdir(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		 uint64_t cookie, uint8_t verf[NFS4_VERIFIER_SIZE], uint32_t maxcount, bool plus,
		 nfs4_dirent_cb cb, void *arg, bool *eof)
{
	static const uint8_t good[NFS4_VERIFIER_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint64_t i, start;
	unsigned n = 0;

	(void)c;
	(void)cr;
	(void)dir;
	(void)maxcount;
	srv.readdirs++;
	if (cookie == 0) {
		struct nfs4_dirent d = {.cookie = 1, .name = ".", .namelen = 1};

		cb(arg, &d); /* a server that sends "." must not confuse us */
		start = 0;
	} else {
		static const uint8_t zero[NFS4_VERIFIER_SIZE];

		if (memcmp(verf, good, sizeof(good)) != 0 && memcmp(verf, zero, sizeof(zero)) != 0)
			return -NFS4ERR_NOT_SAME;
		if (cookie < 3 || cookie > DIR_ENTRIES + 2)
			return -NFS4ERR_BAD_COOKIE;
		start = cookie - 3 + 1;
	}
	memcpy(verf, good, sizeof(good));
	for (i = start; i < DIR_ENTRIES && n < BATCH; i++, n++) {
		char name[32];
		struct nfs4_dirent d;
		int r;

		memset(&d, 0, sizeof(d));
		snprintf(name, sizeof(name), "e%llu", (unsigned long long)i);
		d.cookie = 3 + i;
		d.name = name;
		d.namelen = (uint32_t)strlen(name);
		attr_of(100 + i, NF4REG, &d.attr);
		if (plus) {
			fh_of(100 + i, &d.attr.fh);
			d.attr.valid |= NFS4_ATTR_BIT(FATTR4_FILEHANDLE);
		} else {
			d.attr.valid = NFS4_ATTR_BIT(FATTR4_FILEID) | NFS4_ATTR_BIT(FATTR4_TYPE);
		}
		r = cb(arg, &d);
		if (r)
			return r;
	}
	*eof = i >= DIR_ENTRIES;
	return 0;
}

int nfs4_lock_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		   uint64_t owner, uint32_t locktype, uint64_t off, uint64_t len,
		   struct nfs4_lock_denied *denied)
{
	(void)c;
	(void)cr;
	(void)locktype;
	(void)off;
	(void)len;
	(void)denied;
	(void)owner;
	op->locks++;
	return 0;
}

int nfs4_lockt_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		    uint64_t owner, uint32_t locktype, uint64_t off, uint64_t len,
		    struct nfs4_lock_denied *denied)
{
	(void)c;
	(void)cr;
	(void)op;
	(void)owner;
	(void)locktype;
	denied->offset = off;
	denied->length = len;
	denied->type = WRITE_LT;
	return -NFS4ERR_DENIED;
}

/* The fake tracks one lock owner, 77, as the tests use it. */
int nfs4_unlock_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		     uint64_t owner, uint64_t off, uint64_t len)
{
	(void)c;
	(void)cr;
	(void)owner;
	(void)off;
	(void)len;
	srv.unlocks++;
	op->locks = 0;
	return 0;
}

bool nfs4_open_has_locks(struct nfs4_client *c, struct nfs4_open *op, uint64_t owner)
{
	(void)c;
	return owner == 77 && op->locks > 0;
}

/* ---- helpers ---- */

static const struct rpc_cred root_cred = {0, 0, 0, {0}};

static struct efs_fs *new_fs(void)
{
	struct efs_fs_cfg cfg = {.acregmin = 3, .acregmax = 60, .acdirmin = 30, .acdirmax = 60};
	struct nfs4_fh root;
	struct nfs4_attr ra;

	fh_of(2, &root);
	attr_of(2, NF4DIR, &ra);
	return efs_fs_new(fake_clnt, &root, &ra, &cfg);
}

static int setup(void **state)
{
	memset(&srv, 0, sizeof(srv));
	*state = new_fs();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	efs_fs_free(*state);
	return 0;
}

/* ---- inode table ---- */

static void test_lookup_counts(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_entry a, b, c;

	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f5", &a), 0);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f5", &b), 0);
	assert_int_equal(a.ino, b.ino);
	assert_int_not_equal(a.ino, EFS_ROOT_INO);
	assert_int_equal(a.st.st_ino, 5);
	assert_true(S_ISREG(a.st.st_mode));
	assert_int_equal(fs->ninodes, 1);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f6", &c), 0);
	assert_int_equal(fs->ninodes, 2);
	efs_fs_forget(fs, a.ino, 1);
	assert_int_equal(fs->ninodes, 2); /* one reference left */
	efs_fs_forget(fs, b.ino, 1);
	assert_int_equal(fs->ninodes, 1);
	efs_fs_forget(fs, c.ino, 1);
	assert_int_equal(fs->ninodes, 0);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "missing", &a), -ENOENT);
	/* ".." of the root is the root itself, not a second node id */
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "..", &a), 0);
	assert_int_equal(a.ino, EFS_ROOT_INO);
	efs_fs_forget(fs, EFS_ROOT_INO, 1);
}

static void test_hard_link_one_inode(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_entry a, l;

	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f8", &a), 0);
	assert_int_equal(efs_fs_link(fs, &root_cred, a.ino, EFS_ROOT_INO, "other", &l), 0);
	assert_int_equal(l.ino, a.ino);
	assert_int_equal(l.st.st_nlink, 2);
	efs_fs_forget(fs, a.ino, 2);
	assert_int_equal(fs->ninodes, 0);
}

static void test_fileid_reuse(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_inode *old, *fresh, *again;
	struct nfs4_fh fh1, fh2;
	struct nfs4_attr a;

	fh_of(77, &fh1);
	fh_of(77, &fh2);
	fh2.data[9] = 1; /* same fileid, another file handle: a new file */
	fh2.len = 10;
	attr_of(77, NF4REG, &a);
	assert_int_equal(efs_inode_ref(fs, &fh1, &a, &old), 0);
	assert_int_equal(efs_inode_ref(fs, &fh2, &a, &fresh), 0);
	assert_ptr_not_equal(old, fresh);
	assert_int_equal(efs_inode_ref(fs, &fh2, &a, &again), 0);
	assert_ptr_equal(fresh, again);
	efs_inode_unref(fs, old, 1);
	efs_inode_unref(fs, fresh, 2);
	assert_int_equal(fs->ninodes, 0);
	a.valid &= ~NFS4_ATTR_BIT(FATTR4_FILEID);
	assert_int_equal(efs_inode_ref(fs, &fh1, &a, &old), -EIO);
}

/* ---- attributes ---- */

static void test_attr_to_stat(void **state)
{
	struct nfs4_attr a;
	struct stat st;

	(void)state;
	attr_of(9, NF4CHR, &a);
	a.valid |= NFS4_ATTR_BIT(FATTR4_RAWDEV) | NFS4_ATTR_BIT(FATTR4_SPACE_USED) |
		   NFS4_ATTR_BIT(FATTR4_OWNER) | NFS4_ATTR_BIT(FATTR4_OWNER_GROUP) |
		   NFS4_ATTR_BIT(FATTR4_TIME_MODIFY);
	a.rdev_major = 4;
	a.rdev_minor = 5;
	a.space_used = 4096;
	a.uid = 1000;
	a.gid = 1001;
	a.mode = 04755;
	a.mtime.sec = 1234;
	a.mtime.nsec = 5678;
	efs_attr_to_stat(&a, 1048576, &st);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(st.st_rdev, makedev(4, 5));
	assert_int_equal(st.st_blocks, 8);
	assert_int_equal(st.st_blksize, 1048576);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1001);
	assert_int_equal(st.st_mtim.tv_sec, 1234);
	assert_int_equal(st.st_mtim.tv_nsec, 5678);
	assert_int_equal(efs_attr_type_mode(NF4FIFO), S_IFIFO);
	assert_int_equal(efs_attr_type_mode(NF4SOCK), S_IFSOCK);
	assert_int_equal(efs_attr_type_mode(NF4LNK), S_IFLNK);
}

static void test_sattr(void **state)
{
	struct nfs4_sattr sa;
	struct stat st;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0640;
	st.st_size = 99;
	st.st_mtim.tv_sec = 5;
	efs_stat_to_sattr(&st, EFS_SET_MODE | EFS_SET_SIZE | EFS_SET_ATIME_NOW | EFS_SET_MTIME,
			  &sa);
	assert_int_equal(sa.set,
			 NFS4_SET_MODE | NFS4_SET_SIZE | NFS4_SET_ATIME_NOW | NFS4_SET_MTIME);
	assert_int_equal(sa.mode, 0640);
	assert_int_equal(sa.size, 99);
	assert_int_equal(sa.mtime.sec, 5);
	efs_stat_to_sattr(&st, 0, &sa);
	assert_int_equal(sa.set, 0);
}

static void test_namespace_errors(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_entry e;
	struct statvfs sv;
	char buf[64];

	assert_int_equal(efs_fs_rename(fs, &root_cred, EFS_ROOT_INO, "a", EFS_ROOT_INO, "b", 1),
			 -EINVAL);
	assert_int_equal(efs_fs_rename(fs, &root_cred, EFS_ROOT_INO, "a", EFS_ROOT_INO, "b", 0), 0);
	assert_int_equal(efs_fs_rmdir(fs, &root_cred, EFS_ROOT_INO, "full"), -ENOTEMPTY);
	assert_int_equal(efs_fs_mknod(fs, &root_cred, EFS_ROOT_INO, "c", S_IFCHR | 0666,
				      makedev(1, 3), 022, &e),
			 0);
	assert_true(S_ISCHR(e.st.st_mode));
	assert_int_equal(e.st.st_mode & 0777, 0644); /* umask applied here */
	assert_int_equal(e.st.st_rdev, makedev(1, 3));
	efs_fs_forget(fs, e.ino, 1);
	assert_int_equal(efs_fs_readlink(fs, &root_cred, EFS_ROOT_INO, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "target");
	assert_int_equal(efs_fs_statfs(fs, &root_cred, EFS_ROOT_INO, &sv), 0);
	assert_int_equal(sv.f_bsize, 4096);
	assert_int_equal(sv.f_blocks, (1ull << 40) / 4096);
	assert_int_equal(sv.f_namemax, 255);
}

static void test_access(void **state)
{
	struct efs_fs *fs = *state;
	const struct rpc_cred user = {1000, 1000, 0, {0}};

	assert_int_equal(efs_fs_access(fs, &root_cred, EFS_ROOT_INO, R_OK | W_OK | X_OK), 0);
	assert_int_equal(efs_fs_access(fs, &user, EFS_ROOT_INO, R_OK), 0);
	assert_int_equal(efs_fs_access(fs, &user, EFS_ROOT_INO, W_OK), -EACCES);
}

/* ---- readdir ---- */

struct collector {
	char **names;
	uint64_t *inos;
	size_t n;
	size_t room; /* entries accepted per call */
	size_t taken_now;
	uint64_t last_off;
};

static int collect(void *arg, const char *name, const struct efs_entry *e, uint64_t next_off)
{
	struct collector *c = arg;

	if (c->taken_now == c->room)
		return 1;
	c->names[c->n] = strdup(name);
	c->inos[c->n] = e->ino;
	c->n++;
	c->taken_now++;
	c->last_off = next_off;
	return 0;
}

static void list_all(struct efs_fs *fs, bool plus, size_t room)
{
	struct collector c = {0};
	struct efs_dir *d;
	uint64_t off = 0;
	size_t i;

	c.names = calloc(DIR_ENTRIES + 2, sizeof(char *));
	c.inos = calloc(DIR_ENTRIES + 2, sizeof(uint64_t));
	c.room = room;
	assert_int_equal(efs_fs_opendir(fs, &root_cred, EFS_ROOT_INO, &d), 0);
	for (;;) {
		c.taken_now = 0;
		assert_int_equal(efs_fs_readdir(fs, &root_cred, d, off, plus, collect, &c), 0);
		if (c.taken_now == 0)
			break;
		off = c.last_off;
		assert_true(c.n <= DIR_ENTRIES + 2);
	}
	efs_fs_releasedir(fs, d);
	assert_int_equal(c.n, DIR_ENTRIES + 2);
	assert_string_equal(c.names[0], ".");
	assert_string_equal(c.names[1], "..");
	assert_int_equal(c.inos[0], 0);
	assert_int_equal(c.inos[1], 0);
	for (i = 0; i < DIR_ENTRIES; i++) {
		char want[32];

		snprintf(want, sizeof(want), "e%zu", i);
		assert_string_equal(c.names[i + 2], want);
		if (plus)
			assert_int_not_equal(c.inos[i + 2], 0);
		else
			assert_int_equal(c.inos[i + 2], 0);
	}
	/* exactly one lookup reference per entry taken: forgetting them empties the table */
	assert_int_equal(fs->ninodes, plus ? DIR_ENTRIES : 0);
	for (i = 0; i < c.n; i++) {
		if (c.inos[i])
			efs_fs_forget(fs, c.inos[i], 1);
		free(c.names[i]);
	}
	assert_int_equal(fs->ninodes, 0);
	free(c.names);
	free(c.inos);
}

static void test_readdir_plain(void **state)
{
	list_all(*state, false, 13);
	/* one READDIR per batch, not one per kernel call */
	assert_true(srv.readdirs <= DIR_ENTRIES / BATCH + 2);
}

static void test_readdir_plus(void **state)
{
	list_all(*state, true, 1);
	list_all(*state, true, 500);
}

static void test_readdir_seek(void **state)
{
	struct efs_fs *fs = *state;
	struct collector c = {0};
	struct efs_dir *d;

	c.names = calloc(8, sizeof(char *));
	c.inos = calloc(8, sizeof(uint64_t));
	c.room = 1;
	assert_int_equal(efs_fs_opendir(fs, &root_cred, EFS_ROOT_INO, &d), 0);
	/* resume after entry e5000 (cookie 5003) in a fresh stream: re-read from the cookie */
	assert_int_equal(efs_fs_readdir(fs, &root_cred, d, 5003, false, collect, &c), 0);
	assert_string_equal(c.names[0], "e5001");
	c.taken_now = 0;
	assert_int_equal(efs_fs_readdir(fs, &root_cred, d, 2, false, collect, &c), 0);
	assert_string_equal(c.names[1], "e0");
	c.taken_now = 0;
	assert_int_equal(efs_fs_readdir(fs, &root_cred, d, 1, false, collect, &c), 0);
	assert_string_equal(c.names[2], "..");
	c.taken_now = 0;
	/* past the end: nothing, no error */
	assert_int_equal(efs_fs_readdir(fs, &root_cred, d, DIR_ENTRIES + 2, false, collect, &c), 0);
	assert_int_equal(c.taken_now, 0);
	efs_fs_releasedir(fs, d);
	for (size_t i = 0; i < c.n; i++)
		free(c.names[i]);
	free(c.names);
	free(c.inos);
}

/* ---- data path ---- */

static void test_read_loops_on_short(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_file *f;
	char *buf = malloc(200000);
	size_t got = 0;

	assert_int_equal(efs_fs_open(fs, &root_cred, EFS_ROOT_INO, O_RDONLY, &f), 0);
	assert_int_equal(efs_fs_read(fs, &root_cred, f, buf, 4096, 0, &got), 0);
	assert_int_equal(got, 4096);
	assert_int_equal(efs_fs_read(fs, &root_cred, f, buf, 200000, 99000, &got), 0);
	assert_int_equal(got, 1000); /* EOF */
	assert_int_equal(buf[999], 'r');
	assert_int_equal(efs_fs_release(fs, f), 0);
	assert_int_equal(srv.closes, 1);
	free(buf);
}

/* tar's fchown/fchmod to what the file already has: no SETATTR (issue 11) */
static void test_setattr_noop_skipped(void **state)
{
	static const struct rpc_cred other = {2001, 2001, 0, {0}};
	struct efs_fs *fs = *state;
	struct stat in, out;
	struct efs_entry e;
	struct nfs4_attr a;
	double tmo;

	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f21", &e), 0);
	attr_of(21, NF4REG, &a); /* owner root, fresh */
	a.valid |= NFS4_ATTR_BIT(FATTR4_OWNER) | NFS4_ATTR_BIT(FATTR4_OWNER_GROUP);
	efs_inode_set_attr(efs_inode_get(fs, e.ino), &a);
	memset(&in, 0, sizeof(in));
	in.st_mode = 0644;
	in.st_uid = 0;
	in.st_gid = 0;
	srv.setattrs = 0;
	assert_int_equal(efs_fs_setattr(fs, &root_cred, e.ino, NULL, &in,
					EFS_SET_MODE | EFS_SET_UID | EFS_SET_GID, &out, &tmo),
			 0);
	assert_int_equal(srv.setattrs, 0);
	assert_int_equal(out.st_mode & 07777, 0644);
	/* a real change goes out */
	in.st_mode = 0600;
	assert_int_equal(efs_fs_setattr(fs, &root_cred, e.ino, NULL, &in, EFS_SET_MODE, &out, &tmo),
			 0);
	assert_int_equal(srv.setattrs, 1);
	/* a non-owner's no-op is the server's to judge (EPERM there) */
	in.st_mode = 0644;
	efs_inode_set_attr(efs_inode_get(fs, e.ino), &a);
	srv.setattrs = 0;
	efs_fs_setattr(fs, &other, e.ino, NULL, &in, EFS_SET_MODE, &out, &tmo);
	assert_int_equal(srv.setattrs, 1);
	efs_fs_forget(fs, e.ino, 1);
}

static void test_commit_verifier(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_entry e;
	struct efs_file *f;
	char data[100000];
	size_t n = 0;

	memset(data, 'w', sizeof(data));
	memset(srv.write_verf, 0xaa, NFS4_VERIFIER_SIZE);
	memset(srv.commit_verf, 0xaa, NFS4_VERIFIER_SIZE);
	assert_int_equal(efs_fs_create(fs, &root_cred, EFS_ROOT_INO, "f10", 0644, 022,
				       O_CREAT | O_WRONLY, &e, &f),
			 0);
	assert_int_equal(efs_fs_write(fs, &root_cred, f, data, sizeof(data), 0, &n), 0);
	assert_int_equal(n, sizeof(data));
	assert_int_equal(efs_fs_flush(fs, &root_cred, f, 1), 0); /* write-back: sent by now */
	assert_int_equal(srv.writes, 2);			 /* wsize 64 KiB */
	assert_int_equal(srv.last_stable, UNSTABLE4);
	assert_int_equal(srv.commits, 1);
	assert_int_equal(efs_fs_flush(fs, &root_cred, f, 1), 0);
	assert_int_equal(srv.commits, 1); /* nothing left to commit */
	/* the server restarted between WRITE and COMMIT */
	assert_int_equal(efs_fs_write(fs, &root_cred, f, data, 10, 0, &n), 0);
	memset(srv.commit_verf, 0xbb, NFS4_VERIFIER_SIZE);
	assert_int_equal(efs_fs_fsync(fs, &root_cred, f), -EIO);
	/* ... and between two WRITEs */
	memset(srv.write_verf, 0xbb, NFS4_VERIFIER_SIZE);
	assert_int_equal(efs_fs_write(fs, &root_cred, f, data, 10, 0, &n), 0);
	memset(srv.write_verf, 0xcc, NFS4_VERIFIER_SIZE);
	assert_int_equal(efs_fs_write(fs, &root_cred, f, data, 10, 0, &n), 0);
	/* RELEASE cannot report it: the error waits for the next open (errseq) */
	assert_int_equal(efs_fs_release(fs, f), 0);
	assert_int_equal(efs_fs_open(fs, &root_cred, e.ino, O_WRONLY, &f), 0);
	assert_int_equal(efs_fs_fsync(fs, &root_cred, f), -EIO);
	assert_int_equal(efs_fs_fsync(fs, &root_cred, f), 0);
	assert_int_equal(efs_fs_release(fs, f), 0);
	efs_fs_forget(fs, e.ino, 1);

	/* O_SYNC: FILE_SYNC4, no COMMIT */
	srv.commits = 0;
	assert_int_equal(efs_fs_create(fs, &root_cred, EFS_ROOT_INO, "f11", 0644, 022,
				       O_CREAT | O_WRONLY | O_SYNC, &e, &f),
			 0);
	assert_int_equal(efs_fs_write(fs, &root_cred, f, data, 10, 0, &n), 0);
	assert_int_equal(srv.last_stable, FILE_SYNC4);
	assert_int_equal(efs_fs_release(fs, f), 0);
	assert_int_equal(srv.commits, 0);
	efs_fs_forget(fs, e.ino, 1);
	/* O_EXCL on an existing name */
	assert_int_equal(efs_fs_create(fs, &root_cred, EFS_ROOT_INO, "f9", 0644, 022,
				       O_CREAT | O_EXCL | O_WRONLY, &e, &f),
			 -EEXIST);
	assert_int_equal(fs->ninodes, 0);
}

static void test_append_uses_local_size(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_entry e, e2;
	struct efs_file *f;
	struct stat st;
	double tmo;
	size_t n = 0;

	/* the fake server always says size 42; the kernel's stale i_size says 7 */
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f12", &e), 0);
	assert_int_equal(efs_fs_open(fs, &root_cred, e.ino, O_WRONLY | O_APPEND, &f), 0);
	assert_int_equal(efs_fs_write(fs, &root_cred, f, "abc", 3, 7, &n), 0);
	/* an attribute refresh (READDIRPLUS, a lookup, OPEN's GETATTR) that does
	 * not include the cached write must not move the end of file back */
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f12", &e2), 0);
	assert_int_equal(e2.st.st_size, 45);
	assert_int_equal(efs_fs_getattr(fs, &root_cred, e.ino, &st, &tmo), 0);
	assert_int_equal(st.st_size, 45);
	assert_int_equal(efs_fs_write(fs, &root_cred, f, "def", 3, 7, &n), 0);
	assert_int_equal(efs_fs_fsync(fs, &root_cred, f), 0);
	/* both appends went out together, one after the other: 42..48 */
	assert_int_equal(srv.last_off, 42);
	assert_int_equal(srv.last_len, 6);
	assert_int_equal(efs_fs_release(fs, f), 0);
	/* without O_APPEND the kernel's offset is used as is */
	assert_int_equal(efs_fs_open(fs, &root_cred, e.ino, O_WRONLY, &f), 0);
	assert_int_equal(efs_fs_write(fs, &root_cred, f, "abc", 3, 7, &n), 0);
	assert_int_equal(efs_fs_fsync(fs, &root_cred, f), 0);
	assert_int_equal(srv.last_off, 7);
	assert_int_equal(efs_fs_release(fs, f), 0);
	efs_fs_forget(fs, e.ino, 2);
}

/* A second open before the writer's close sees the cached size (git clone). */
static void test_second_open_sees_cached_size(void **state)
{
	struct efs_fs *fs = *state;
	static char data[100000];
	struct efs_file *w, *r;
	struct efs_entry e;
	struct stat st;
	double tmo;
	size_t n = 0;

	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f13", &e), 0);
	assert_int_equal(efs_fs_open(fs, &root_cred, e.ino, O_WRONLY, &w), 0);
	assert_int_equal(efs_fs_write(fs, &root_cred, w, data, sizeof(data), 0, &n), 0);
	assert_int_equal(efs_fs_open(fs, &root_cred, e.ino, O_RDONLY, &r), 0); /* size 42 */
	assert_int_equal(efs_fs_getattr(fs, &root_cred, e.ino, &st, &tmo), 0);
	assert_int_equal(st.st_size, sizeof(data));
	assert_int_equal(efs_fs_release(fs, r), 0);
	assert_int_equal(efs_fs_flush(fs, &root_cred, w, 1), 0);
	assert_int_equal(efs_fs_release(fs, w), 0);
	assert_int_equal(efs_fs_getattr(fs, &root_cred, e.ino, &st, &tmo), 0);
	assert_int_equal(st.st_size, sizeof(data)); /* within the settle window */
	efs_fs_forget(fs, e.ino, 1);
}

/* errseq: every description open at the error sees it once, at fsync. */
static void test_writeback_error_seq(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_file *a, *b, *c;
	struct efs_entry e;
	size_t n = 0;

	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f14", &e), 0);
	assert_int_equal(efs_fs_open(fs, &root_cred, e.ino, O_WRONLY, &a), 0);
	assert_int_equal(efs_fs_open(fs, &root_cred, e.ino, O_RDWR, &b), 0);
	assert_int_equal(efs_fs_open(fs, &root_cred, e.ino, O_RDONLY, &c), 0);
	assert_int_equal(efs_fs_write(fs, &root_cred, a, "abc", 3, 0, &n), 0);
	srv.write_err = -NFS4ERR_PERM;
	/* a reader's close writes the data out, fails, and reports nothing */
	assert_int_equal(efs_fs_flush(fs, &root_cred, c, 3), 0);
	srv.write_err = 0;
	/* a child's close-on-exec of a: reported, not consumed */
	assert_int_equal(efs_fs_flush(fs, &root_cred, a, 2), -EPERM);
	assert_int_equal(efs_fs_fsync(fs, &root_cred, a), -EPERM);
	assert_int_equal(efs_fs_fsync(fs, &root_cred, a), 0); /* once */
	assert_int_equal(efs_fs_flush(fs, &root_cred, a, 1), 0);
	/* b was open too: it sees the same error once */
	assert_int_equal(efs_fs_fsync(fs, &root_cred, b), -EPERM);
	assert_int_equal(efs_fs_flush(fs, &root_cred, b, 1), 0);
	assert_int_equal(efs_fs_fsync(fs, &root_cred, c), -EPERM);
	assert_int_equal(efs_fs_release(fs, a), 0);
	assert_int_equal(efs_fs_release(fs, b), 0);
	assert_int_equal(efs_fs_release(fs, c), 0);
	/* a description opened after it was seen does not inherit it */
	assert_int_equal(efs_fs_open(fs, &root_cred, e.ino, O_WRONLY, &a), 0);
	assert_int_equal(efs_fs_fsync(fs, &root_cred, a), 0);
	assert_int_equal(efs_fs_release(fs, a), 0);
	efs_fs_forget(fs, e.ino, 1);
}

/* ---- attribute and name caches (nfs(5) ac*, lookupcache) ---- */

static void test_getattr_cached(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_entry e;
	struct stat st;
	double tmo;
	unsigned g;

	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f20", &e), 0);
	assert_true(e.attr_timeout >= 3 && e.attr_timeout <= 60);
	assert_true(e.entry_timeout >= 30); /* the root directory's timeout */
	g = srv.getattrs;
	assert_int_equal(efs_fs_getattr(fs, &root_cred, e.ino, &st, &tmo), 0);
	assert_int_equal(efs_fs_getattr(fs, &root_cred, e.ino, &st, &tmo), 0);
	assert_int_equal(srv.getattrs, g); /* fresh from the lookup: no round trip */
	assert_true(tmo > 0 && tmo <= 3);
	assert_int_equal(st.st_ino, 20);
	/* a change through this mount: the next getattr asks the server */
	efs_inode_note_local_change(efs_inode_get(fs, e.ino));
	assert_int_equal(efs_fs_getattr(fs, &root_cred, e.ino, &st, &tmo), 0);
	assert_int_equal(srv.getattrs, g + 1);
	assert_int_equal(efs_fs_getattr(fs, &root_cred, e.ino, &st, &tmo), 0);
	assert_int_equal(srv.getattrs, g + 1);
	efs_fs_forget(fs, e.ino, 1);
}

static struct efs_fs *new_fs_cfg(const struct efs_fs_cfg *cfg)
{
	struct nfs4_fh root;
	struct nfs4_attr ra;

	fh_of(2, &root);
	attr_of(2, NF4DIR, &ra);
	return efs_fs_new(fake_clnt, &root, &ra, cfg);
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void test_ac_timeout_doubles(void **state)
{
	struct efs_fs_cfg cfg = {
		.acregmin = 0.05, .acregmax = 0.15, .acdirmin = 0.05, .acdirmax = 0.15};
	struct efs_fs *fs = new_fs_cfg(&cfg);
	struct efs_inode *in;
	struct efs_entry e;
	struct stat st;
	double tmo;
	unsigned g;

	(void)state;
	assert_non_null(fs);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f21", &e), 0);
	in = efs_inode_get(fs, e.ino);
	assert_true(efs_inode_attr_timeout(fs, in) == 0.05);
	g = srv.getattrs;
	sleep_s(0.06); /* past the timeout: revalidation, change unchanged -> doubled */
	assert_int_equal(efs_fs_getattr(fs, &root_cred, e.ino, &st, &tmo), 0);
	assert_int_equal(srv.getattrs, g + 1);
	assert_true(tmo == 0.1);
	sleep_s(0.11);
	assert_int_equal(efs_fs_getattr(fs, &root_cred, e.ino, &st, &tmo), 0);
	assert_int_equal(srv.getattrs, g + 2);
	assert_true(tmo == 0.15); /* capped at acregmax */
	/* our own change: back to acregmin */
	efs_inode_note_local_change(in);
	assert_int_equal(efs_fs_getattr(fs, &root_cred, e.ino, &st, &tmo), 0);
	assert_true(tmo == 0.05);
	efs_fs_forget(fs, e.ino, 1);
	efs_fs_free(fs);
}

static void test_noac(void **state)
{
	struct efs_fs_cfg cfg = {0}; /* noac: every ac* 0 */
	struct efs_fs *fs = new_fs_cfg(&cfg);
	struct efs_entry e;
	struct stat st;
	double tmo;
	unsigned g;

	(void)state;
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f22", &e), 0);
	assert_true(e.attr_timeout == 0 && e.entry_timeout == 0);
	g = srv.getattrs;
	assert_int_equal(efs_fs_getattr(fs, &root_cred, e.ino, &st, &tmo), 0);
	assert_int_equal(efs_fs_getattr(fs, &root_cred, e.ino, &st, &tmo), 0);
	assert_int_equal(srv.getattrs, g + 2);
	assert_true(tmo == 0);
	/* no negative caching either */
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "x1", &e), -ENOENT);
	assert_true(e.entry_timeout == 0 && e.ino == 0);
	efs_fs_free(fs);
}

static void test_lookupcache_modes(void **state)
{
	struct efs_fs_cfg cfg = {.acregmin = 3, .acregmax = 60, .acdirmin = 30, .acdirmax = 60};
	struct efs_fs *fs;
	struct efs_entry e;

	(void)state;
	cfg.lookupcache = EFS_LOOKUPCACHE_POSITIVE;
	fs = new_fs_cfg(&cfg);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "x2", &e), -ENOENT);
	assert_true(e.entry_timeout == 0 && e.ino == 0);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f23", &e), 0);
	assert_true(e.entry_timeout >= 30);
	efs_fs_forget(fs, e.ino, 1);
	efs_fs_free(fs);
	cfg.lookupcache = EFS_LOOKUPCACHE_NONE;
	fs = new_fs_cfg(&cfg);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f23", &e), 0);
	assert_true(e.entry_timeout == 0);
	efs_fs_forget(fs, e.ino, 1);
	efs_fs_free(fs);
	cfg.lookupcache = EFS_LOOKUPCACHE_ALL;
	fs = new_fs_cfg(&cfg);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "x2", &e), -ENOENT);
	assert_true(e.entry_timeout >= 30 && e.ino == 0);
	efs_fs_free(fs);
}

static void test_negative_lookup_in_our_dir(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_entry d, e;
	struct stat st;
	double tmo;
	unsigned l;

	srv.dchange = 100;
	assert_int_equal(efs_fs_mkdir(fs, &root_cred, EFS_ROOT_INO, "d", 0755, 022, &d), 0);
	l = srv.lookups;
	/* a directory we made but did not fill: others may fill it, ask */
	assert_int_equal(efs_fs_lookup(fs, &root_cred, d.ino, "x3", &e), -ENOENT);
	assert_int_equal(srv.lookups, l + 1);
	l = srv.lookups;
	/* our own create: its change_info4 chains; the name is known, others absent */
	assert_int_equal(efs_fs_mknod(fs, &root_cred, d.ino, "p", S_IFIFO | 0644, 0, 022, &e), 0);
	efs_fs_forget(fs, e.ino, 1);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, d.ino, "x4", &e), -ENOENT);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, d.ino, "f24", &e), -ENOENT);
	assert_int_equal(srv.lookups, l);
	assert_true(e.entry_timeout > 0 && e.entry_timeout <= EFS_DC_NEG_TRUST);
	/* a revalidation that finds the change we expect keeps it */
	efs_inode_note_local_change(efs_inode_get(fs, d.ino));
	assert_int_equal(efs_fs_getattr(fs, &root_cred, d.ino, &st, &tmo), 0);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, d.ino, "x5", &e), -ENOENT);
	assert_int_equal(srv.lookups, l);
	/* another client changes the directory: the next revalidation sees it */
	srv.dchange++;
	efs_inode_note_local_change(efs_inode_get(fs, d.ino));
	assert_int_equal(efs_fs_getattr(fs, &root_cred, d.ino, &st, &tmo), 0);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, d.ino, "x6", &e), -ENOENT);
	assert_int_equal(srv.lookups, l + 1);
	/* a FUSE create the data path did not report: the name may exist now */
	assert_int_equal(efs_fs_mkdir(fs, &root_cred, EFS_ROOT_INO, "d2", 0755, 022, &e), 0);
	efs_fs_forget(fs, e.ino, 1); /* the fake's one directory again: d */
	assert_int_equal(efs_fs_mknod(fs, &root_cred, d.ino, "q", S_IFIFO | 0644, 0, 022, &e), 0);
	efs_fs_forget(fs, e.ino, 1);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, d.ino, "x7", &e), -ENOENT);
	assert_int_equal(srv.lookups, l + 1);
	efs_fs_create_begin(fs, d.ino);
	efs_fs_create_end(fs, d.ino, "x8");
	assert_int_equal(efs_fs_lookup(fs, &root_cred, d.ino, "x9", &e), -ENOENT);
	assert_int_equal(srv.lookups, l + 2);
	efs_fs_forget(fs, d.ino, 1);
}

static void test_stats_text(void **state)
{
	struct efs_fs *fs = *state;
	char buf[8192], small[64], *p;
	struct efs_entry e;
	int n;

	efs_fs_count_op(fs, EFS_OP_LOOKUP);
	efs_fs_count_op(fs, EFS_OP_LOOKUP);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f25", &e), 0);
	n = efs_fs_stats_text(fs, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n == strlen(buf));
	assert_non_null(strstr(buf, "compounds "));
	assert_non_null(strstr(buf, "\nproc.LOOKUP 1\n"));
	assert_non_null(strstr(buf, "\nproc.SESSION 0\n"));
	assert_non_null(strstr(buf, "\nrpc.reconnects 0\n"));
	assert_non_null(strstr(buf, "\nfuse.lookup 2\n"));
	for (p = buf; *p; p = strchr(p, '\n') + 1) /* every line is "key value" */
		assert_int_equal(sscanf(p, "%*s %*u%n", &n) >= 0 && n > 0, 1);
	assert_int_equal(efs_fs_stats_text(fs, small, sizeof(small)), -ERANGE);
	/* the xattr: size probe, value, other names */
	n = efs_fs_getxattr(fs, e.ino, EFS_STATS_XATTR, NULL, 0);
	assert_true(n > 0);
	assert_int_equal(efs_fs_getxattr(fs, e.ino, EFS_STATS_XATTR, buf, sizeof(buf)), n);
	assert_int_equal(efs_fs_getxattr(fs, e.ino, EFS_STATS_XATTR, small, sizeof(small)),
			 -ERANGE);
	assert_int_equal(efs_fs_getxattr(fs, e.ino, "user.other", buf, sizeof(buf)), -ENODATA);
	efs_fs_forget(fs, e.ino, 1);
}

static void test_locks(void **state)
{
	struct efs_fs *fs = *state;
	uint64_t start = 10, len = 0;
	struct efs_file *f;
	int type = F_WRLCK;

	assert_int_equal(efs_fs_open(fs, &root_cred, EFS_ROOT_INO, O_RDWR, &f), 0);
	assert_int_equal(efs_fs_setlk(fs, &root_cred, f, 77, F_WRLCK, 0, 0, false), 0);
	assert_true(nfs4_open_has_locks(fake_clnt, f->op, 77));
	assert_int_equal(efs_fs_getlk(fs, &root_cred, f, 78, &type, &start, &len), 0);
	assert_int_equal(type, F_WRLCK);
	assert_int_equal(start, 10);
	assert_int_equal(len, 0); /* to EOF */
	assert_int_equal(efs_fs_setlk(fs, &root_cred, f, 77, F_UNLCK, 0, 0, false), 0);
	assert_int_equal(srv.unlocks, 1);
	/* close(2) by the owner drops its locks; another owner's flush does not */
	assert_int_equal(efs_fs_flush(fs, &root_cred, f, 99), 0);
	assert_int_equal(srv.unlocks, 1);
	assert_int_equal(efs_fs_setlk(fs, &root_cred, f, 77, F_WRLCK, 0, 0, false), 0);
	assert_int_equal(efs_fs_flush(fs, &root_cred, f, 77), 0);
	assert_int_equal(srv.unlocks, 2);
	/* release hands what is still locked to the state layer, then CLOSE */
	assert_int_equal(efs_fs_setlk(fs, &root_cred, f, 77, F_WRLCK, 0, 0, false), 0);
	assert_int_equal(efs_fs_release(fs, f), 0);
	assert_int_equal(srv.unlocks, 3);
}

static void test_free_closes_leftovers(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_file *f;
	struct efs_dir *d;

	assert_int_equal(efs_fs_open(fs, &root_cred, EFS_ROOT_INO, O_RDWR, &f), 0);
	assert_int_equal(efs_fs_opendir(fs, &root_cred, EFS_ROOT_INO, &d), 0);
	efs_fs_free(fs);
	*state = NULL;
	assert_int_equal(srv.closes, 1);
}

/* ---- permissions and attribute replies in flight (issue 7) ---- */

static const struct rpc_cred user_cred = {2001, 2001, 0, {0}};

/* The fake grants a non-root caller READ only. */
static void test_open_access_after_open(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_file *f;
	struct efs_entry e;

	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f30", &e), 0);
	assert_int_equal(efs_fs_open(fs, &user_cred, e.ino, O_RDONLY, &f), 0);
	assert_int_equal(efs_fs_release(fs, f), 0);
	/* execve's open needs EXECUTE, a write open MODIFY: OPEN is given back */
	assert_int_equal(efs_fs_open(fs, &user_cred, e.ino, O_RDONLY | 0x20, &f), -EACCES);
	assert_int_equal(efs_fs_open(fs, &user_cred, e.ino, O_RDWR, &f), -EACCES);
	assert_int_equal(srv.closes, 3);
	assert_int_equal(efs_fs_open(fs, &root_cred, e.ino, O_RDWR, &f), 0);
	assert_int_equal(efs_fs_release(fs, f), 0);
	efs_fs_forget(fs, e.ino, 1);
}

static void test_truncate_needs_modify(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_file *f;
	struct efs_entry e;
	struct stat in, st;
	double tmo;

	memset(&in, 0, sizeof(in));
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f31", &e), 0);
	/* truncate(2) and O_RDONLY|O_TRUNC (a read-only open) */
	assert_int_equal(efs_fs_setattr(fs, &user_cred, e.ino, NULL, &in, EFS_SET_SIZE, &st, &tmo),
			 -EACCES);
	assert_int_equal(efs_fs_open(fs, &user_cred, e.ino, O_RDONLY, &f), 0);
	assert_int_equal(efs_fs_setattr(fs, &user_cred, e.ino, f, &in, EFS_SET_SIZE, &st, &tmo),
			 -EACCES);
	assert_int_equal(efs_fs_release(fs, f), 0);
	assert_int_equal(efs_fs_setattr(fs, &root_cred, e.ino, NULL, &in, EFS_SET_SIZE, &st, &tmo),
			 0);
	efs_fs_forget(fs, e.ino, 1);
}

static void test_opendir_needs_read(void **state)
{
	struct efs_fs *fs = *state;
	const struct rpc_cred nobody = {2002, 2002, 0, {0}};
	struct efs_dir *d;

	assert_int_equal(efs_fs_opendir(fs, &user_cred, EFS_ROOT_INO, &d), 0);
	efs_fs_releasedir(fs, d);
	assert_int_equal(efs_fs_opendir(fs, &nobody, EFS_ROOT_INO, &d), -EACCES);
	assert_int_equal(efs_fs_access(fs, &user_cred, EFS_ROOT_INO, R_OK), 0);
	assert_int_equal(efs_fs_access(fs, &user_cred, EFS_ROOT_INO, X_OK), -EACCES);
	assert_int_equal(efs_fs_access(fs, &nobody, EFS_ROOT_INO, R_OK), -EACCES);
}

/* Names in a directory not every class may search are not kept by the kernel. */
static void test_entry_timeout_search_closed(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_inode *root = efs_inode_get(fs, EFS_ROOT_INO);
	struct nfs4_attr a;
	struct efs_entry e;

	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f32", &e), 0);
	assert_true(e.entry_timeout >= 30);
	efs_fs_forget(fs, e.ino, 1);
	attr_of(2, NF4DIR, &a);
	a.change = srv.dchange;
	a.mode = 0711 & ~0001; /* others may not search */
	efs_inode_set_attr(root, &a);
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f32", &e), 0);
	assert_true(e.entry_timeout == 0);
	assert_true(efs_fs_entry_timeout(fs, EFS_ROOT_INO) == 0);
	efs_fs_forget(fs, e.ino, 1);
	a.mode = 0711;
	efs_inode_set_attr(root, &a);
	assert_true(efs_fs_entry_timeout(fs, EFS_ROOT_INO) >= 30);
}

/* A GETATTR reply sent before this client extended the file cannot shrink it. */
static void test_inflight_reply_does_not_shrink(void **state)
{
	struct efs_fs *fs = *state;
	struct efs_inode *in;
	struct nfs4_attr a;
	struct efs_entry e;
	struct stat st;
	uint64_t seq;
	unsigned g;
	double tmo;

	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, "f33", &e), 0);
	in = efs_inode_get(fs, e.ino);
	seq = efs_inode_attr_begin(fs); /* the GETATTR goes out */
	efs_inode_grow(in, 4096);	/* a write extends the file meanwhile */
	attr_of(33, NF4REG, &a);	/* the reply: size 42, from before */
	efs_inode_set_attr_seq(in, &a, seq);
	g = srv.getattrs;
	assert_int_equal(efs_fs_getattr(fs, &root_cred, e.ino, &st, &tmo), 0);
	assert_int_equal(srv.getattrs, g + 1); /* not trusted: asked again */
	/* the fake's size (42) now comes from a GETATTR sent after the write */
	assert_int_equal(st.st_size, 42);
	/* a reply sent after the extension is taken as is */
	seq = efs_inode_attr_begin(fs);
	efs_inode_set_attr_seq(in, &a, seq);
	assert_int_equal(efs_fs_getattr(fs, &root_cred, e.ino, &st, &tmo), 0);
	assert_int_equal(st.st_size, 42);
	/* and one sent before keeps our size */
	seq = efs_inode_attr_begin(fs);
	efs_inode_grow(in, 8192);
	efs_inode_set_attr_seq(in, &a, seq);
	pthread_mutex_lock(&in->lock);
	assert_int_equal(in->attr.size, 8192);
	pthread_mutex_unlock(&in->lock);
	efs_fs_forget(fs, e.ino, 1);
}

static void test_statfs_namemax(void **state)
{
	struct efs_fs *fs = *state;
	struct statvfs sv;
	struct efs_entry e;
	char name[300];

	assert_int_equal(efs_fs_statfs(fs, &root_cred, EFS_ROOT_INO, &sv), 0);
	assert_int_equal(sv.f_namemax, 255);
	memset(name, 'f', 256);
	name[256] = '\0';
	assert_int_equal(efs_fs_lookup(fs, &root_cred, EFS_ROOT_INO, name, &e), -ENAMETOOLONG);
	assert_int_equal(efs_fs_mkdir(fs, &root_cred, EFS_ROOT_INO, name, 0755, 0, &e),
			 -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hard_link_one_inode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileid_reuse, setup, teardown),
		cmocka_unit_test(test_attr_to_stat),
		cmocka_unit_test(test_sattr),
		cmocka_unit_test_setup_teardown(test_namespace_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readdir_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readdir_plus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readdir_seek, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_loops_on_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_verifier, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_uses_local_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_open_sees_cached_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writeback_error_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_getattr_cached, setup, teardown),
		cmocka_unit_test(test_ac_timeout_doubles),
		cmocka_unit_test(test_noac),
		cmocka_unit_test(test_lookupcache_modes),
		cmocka_unit_test_setup_teardown(test_negative_lookup_in_our_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_closes_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_access_after_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_needs_modify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opendir_needs_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_timeout_search_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inflight_reply_does_not_shrink, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_statfs_namemax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setattr_noop_skipped, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
