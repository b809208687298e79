/*
 * fs_ops.c - namespace operations: readlink, mknod, mkdir, symlink, link,
 * unlink, rmdir, rename (RFC 8881 sections 18.4, 18.9, 18.24, 18.25, 18.26).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sysmacros.h>
#include "fs/fs_int.h"

static int check_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0)
		return -EINVAL;
	if (n > EFS_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int efs_fs_readlink(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, char *buf,
		    size_t bufsz)
{
	struct nfs4_fh fh;

	efs_inode_fh(efs_inode_get(fs, ino), &fh);
	return efs_errno(nfs4_readlink(fs->clnt, cr, &fh, buf, bufsz));
}

/* The new object's entry: inode reference and attributes. */
static int new_entry(struct efs_fs *fs, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		     struct nfs4_attr *a, struct efs_entry *e)
{
	struct efs_inode *in;
	int r;

	if (!efs_attr_complete(a)) {
		r = nfs4_getattr(fs->clnt, cr, fh, a);
		if (r)
			return efs_errno(r);
	}
	r = efs_inode_ref(fs, fh, a, &in);
	if (r)
		return r;
	efs_fill_entry(fs, in, a, e);
	return 0;
}

static int do_create(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent,
		     struct nfs4_create_args *ca, struct efs_entry *e)
{
	struct efs_inode *dir = efs_inode_get(fs, parent);
	struct nfs4_change_info ci;
	struct nfs4_fh dfh, fh;
	struct nfs4_attr a;
	int r;

	r = check_name(ca->name);
	if (r)
		return r;
	if (fs->cfg.ro)
		return -EROFS;
	efs_inode_fh(dir, &dfh);
	memset(&a, 0, sizeof(a));
	memset(&ci, 0, sizeof(ci));
	efs_dir_op_begin(dir);
	r = nfs4_create_ci(fs->clnt, cr, &dfh, ca, &fh, &a, &ci);
	if (r) {
		efs_dir_op_end2(fs, dir, efs_errno(r), NULL, NULL, NULL, 0);
		return efs_errno(r);
	}
	efs_dir_op_end2(fs, dir, 0, &ci, NULL, ca->name,
			(a.valid & NFS4_ATTR_BIT(FATTR4_FILEID)) ? a.fileid : 0);
	r = new_entry(fs, cr, &fh, &a, e);
	if (r == 0 && ca->type == NF4DIR)
		efs_dcache_new_dir(fs, efs_inode_get(fs, e->ino), &a); /* empty, and ours */
	if (r == 0)
		e->entry_timeout = efs_entry_timeout(fs, dir);
	return r;
}

/* A regular file through OPEN(CREATE, GUARDED4) + CLOSE. */
static int mknod_reg(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent,
		     const char *name, const struct nfs4_sattr *sa, struct efs_entry *e)
{
	struct efs_inode *dir = efs_inode_get(fs, parent);
	struct nfs4_open_state st;
	struct nfs4_fh dfh;
	struct nfs4_attr a;
	int r;

	efs_inode_fh(dir, &dfh);
	memset(&a, 0, sizeof(a));
	memset(&st, 0, sizeof(st));
	efs_dir_op_begin(dir);
	r = nfs4_open_name(fs->clnt, cr, &dfh, name, OPEN4_SHARE_ACCESS_READ, true, true, sa, &st,
			   &a);
	if (r) {
		efs_dir_op_end2(fs, dir, efs_errno(r), NULL, NULL, NULL, 0);
		return efs_errno(r);
	}
	efs_dir_op_end2(fs, dir, 0, st.have_cinfo ? &st.cinfo : NULL, NULL, name,
			(a.valid & NFS4_ATTR_BIT(FATTR4_FILEID)) ? a.fileid : 0);
	nfs4_close(fs->clnt, cr, &st);
	r = new_entry(fs, cr, &st.fh, &a, e);
	if (r == 0)
		e->entry_timeout = efs_entry_timeout(fs, dir);
	return r;
}

int efs_fs_mknod(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name,
		 mode_t mode, dev_t rdev, mode_t umask, struct efs_entry *e)
{
	struct nfs4_sattr sa = {.set = NFS4_SET_MODE, .mode = mode & ~umask & 07777};
	struct nfs4_create_args ca = {.name = name, .sattr = &sa};
	int r;

	switch (mode & S_IFMT) {
	case 0:
	case S_IFREG:
		r = check_name(name);
		if (r)
			return r;
		if (fs->cfg.ro)
			return -EROFS;
		return mknod_reg(fs, cr, parent, name, &sa, e);
	case S_IFIFO:
		ca.type = NF4FIFO;
		break;
	case S_IFSOCK:
		ca.type = NF4SOCK;
		break;
	case S_IFCHR:
		ca.type = NF4CHR;
		ca.major = major(rdev);
		ca.minor = minor(rdev);
		break;
	case S_IFBLK:
		ca.type = NF4BLK;
		ca.major = major(rdev);
		ca.minor = minor(rdev);
		break;
	default:
		return -EINVAL;
	}
	return do_create(fs, cr, parent, &ca, e);
}

int efs_fs_mkdir(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name,
		 mode_t mode, mode_t umask, struct efs_entry *e)
{
	struct nfs4_sattr sa = {.set = NFS4_SET_MODE, .mode = mode & ~umask & 07777};
	struct nfs4_create_args ca = {.type = NF4DIR, .name = name, .sattr = &sa};

	return do_create(fs, cr, parent, &ca, e);
}

int efs_fs_symlink(struct efs_fs *fs, const struct rpc_cred *cr, const char *target,
		   uint64_t parent, const char *name, struct efs_entry *e)
{
	struct nfs4_sattr sa = {.set = NFS4_SET_MODE, .mode = 0777};
	struct nfs4_create_args ca = {
		.type = NF4LNK, .linkdata = target, .name = name, .sattr = &sa};

	if (strlen(target) >= 4096)
		return -ENAMETOOLONG;
	return do_create(fs, cr, parent, &ca, e);
}

int efs_fs_link(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, uint64_t newparent,
		const char *newname, struct efs_entry *e)
{
	struct efs_inode *dir = efs_inode_get(fs, newparent), *in = efs_inode_get(fs, ino);
	struct nfs4_change_info ci;
	struct nfs4_fh fh, dfh;
	struct nfs4_attr a;
	int r;

	r = check_name(newname);
	if (r)
		return r;
	if (fs->cfg.ro)
		return -EROFS;
	efs_inode_fh(in, &fh);
	efs_inode_fh(dir, &dfh);
	memset(&a, 0, sizeof(a));
	memset(&ci, 0, sizeof(ci));
	efs_dir_op_begin(dir);
	r = nfs4_link_ci(fs->clnt, cr, &fh, &dfh, newname, &a, &ci);
	efs_dir_op_end2(fs, dir, efs_errno(r), &ci, NULL, newname, in->fileid);
	efs_inode_note_local_change(in); /* nlink, ctime */
	if (r)
		return efs_errno(r);
	r = new_entry(fs, cr, &fh, &a, e);
	if (r == 0)
		e->entry_timeout = efs_entry_timeout(fs, dir);
	return r;
}

/* What the name leads to went stale (its nlink, ctime moved). */
static void stale_target(struct efs_fs *fs, uint64_t fileid)
{
	if (fileid && fileid != EFS_DC_PRESENT)
		efs_inode_stale_fileid(fs, fileid);
	else
		efs_fs_attr_stale_all(fs); /* we do not know which inode it was */
}

static int do_remove(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent,
		     const char *name)
{
	struct efs_inode *dir = efs_inode_get(fs, parent);
	struct nfs4_change_info ci;
	struct nfs4_fh dfh;
	uint64_t fileid;
	int r;

	r = check_name(name);
	if (r)
		return r;
	if (fs->cfg.ro)
		return -EROFS;
	efs_inode_fh(dir, &dfh);
	efs_dcache_lookup(fs, dir, name, &fileid);
	memset(&ci, 0, sizeof(ci));
	efs_dir_op_begin(dir);
	r = efs_errno(nfs4_remove_ci(fs->clnt, cr, &dfh, name, &ci));
	efs_dir_op_end2(fs, dir, r, &ci, name, NULL, 0);
	if (r == 0)
		stale_target(fs, fileid);
	return r;
}

int efs_fs_unlink(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name)
{
	return do_remove(fs, cr, parent, name);
}

int efs_fs_rmdir(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name)
{
	return do_remove(fs, cr, parent, name);
}

int efs_fs_rename(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t parent, const char *name,
		  uint64_t newparent, const char *newname, unsigned int flags)
{
	struct efs_inode *sdir = efs_inode_get(fs, parent), *ddir = efs_inode_get(fs, newparent);
	struct nfs4_change_info sci, dci;
	uint64_t sfid, dfid;
	struct nfs4_fh sfh, dfh;
	bool dabsent;
	int r;

	if (flags != 0)
		return -EINVAL;
	r = check_name(name);
	if (r == 0)
		r = check_name(newname);
	if (r)
		return r;
	if (fs->cfg.ro)
		return -EROFS;
	efs_inode_fh(sdir, &sfh);
	efs_inode_fh(ddir, &dfh);
	efs_dcache_lookup(fs, sdir, name, &sfid);
	dabsent = efs_dcache_lookup(fs, ddir, newname, &dfid) == 1;
	memset(&sci, 0, sizeof(sci));
	memset(&dci, 0, sizeof(dci));
	efs_dir_op_begin(sdir);
	if (ddir != sdir)
		efs_dir_op_begin(ddir);
	r = efs_errno(nfs4_rename_ci(fs->clnt, cr, &sfh, name, &dfh, newname, &sci, &dci));
	if (ddir != sdir) {
		efs_dir_op_end2(fs, sdir, r, &sci, name, NULL, 0);
		efs_dir_op_end2(fs, ddir, r, &dci, NULL, newname, sfid);
	} else {
		/* one directory: one change (both change_info4 describe it) */
		efs_dir_op_end2(fs, sdir, r, &sci, name, newname, sfid);
	}
	if (r)
		return r;
	stale_target(fs, sfid); /* ctime */
	if (!dabsent)
		stale_target(fs, dfid); /* replaced (or may have been): nlink */
	return 0;
}
