/*
 * attr.c - NFSv4 attributes (RFC 8881 section 5) <-> struct stat, and the
 * one place fs/ maps an nfs4 status to errno.
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>
#include "fs/fs_int.h"
#include "nfs4/nfs4_err.h"

#define NEED_BITS                                                                                 \
	(NFS4_ATTR_BIT(FATTR4_TYPE) | NFS4_ATTR_BIT(FATTR4_FILEID) | NFS4_ATTR_BIT(FATTR4_MODE) | \
	 NFS4_ATTR_BIT(FATTR4_SIZE))

bool efs_attr_complete(const struct nfs4_attr *a)
{
	return (a->valid & NEED_BITS) == NEED_BITS;
}

mode_t efs_attr_type_mode(uint32_t nf4type)
{
	switch (nf4type) {
	case NF4REG:
		return S_IFREG;
	case NF4DIR:
	case NF4ATTRDIR:
		return S_IFDIR;
	case NF4BLK:
		return S_IFBLK;
	case NF4CHR:
		return S_IFCHR;
	case NF4LNK:
		return S_IFLNK;
	case NF4SOCK:
		return S_IFSOCK;
	case NF4FIFO:
		return S_IFIFO;
	default:
		return S_IFREG;
	}
}

static void put_time(const struct nfs4_time *t, struct timespec *ts)
{
	ts->tv_sec = (time_t)t->sec;
	ts->tv_nsec = t->nsec < 1000000000u ? (long)t->nsec : 0;
}

void efs_attr_to_stat(const struct nfs4_attr *a, uint32_t blksize, struct stat *st)
{
	uint64_t v = a->valid;

	memset(st, 0, sizeof(*st));
	st->st_ino = (ino_t)a->fileid;
	st->st_mode = (v & NFS4_ATTR_BIT(FATTR4_TYPE)) ? efs_attr_type_mode(a->type) : 0;
	if (v & NFS4_ATTR_BIT(FATTR4_MODE))
		st->st_mode |= a->mode & 07777;
	st->st_nlink = (v & NFS4_ATTR_BIT(FATTR4_NUMLINKS)) ? a->nlink : 1;
	st->st_uid = (v & NFS4_ATTR_BIT(FATTR4_OWNER)) ? a->uid : 65534;
	st->st_gid = (v & NFS4_ATTR_BIT(FATTR4_OWNER_GROUP)) ? a->gid : 65534;
	st->st_size = (off_t)a->size;
	if (v & NFS4_ATTR_BIT(FATTR4_SPACE_USED))
		st->st_blocks = (blkcnt_t)((a->space_used + 511) / 512);
	else
		st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_blksize = blksize ? blksize : 4096;
	if ((v & NFS4_ATTR_BIT(FATTR4_RAWDEV)) && (a->type == NF4CHR || a->type == NF4BLK))
		st->st_rdev = makedev(a->rdev_major, a->rdev_minor);
	if (v & NFS4_ATTR_BIT(FATTR4_TIME_ACCESS))
		put_time(&a->atime, &st->st_atim);
	if (v & NFS4_ATTR_BIT(FATTR4_TIME_MODIFY))
		put_time(&a->mtime, &st->st_mtim);
	if (v & NFS4_ATTR_BIT(FATTR4_TIME_METADATA))
		put_time(&a->ctime, &st->st_ctim);
	else
		st->st_ctim = st->st_mtim;
}

void efs_stat_to_sattr(const struct stat *in, int to_set, struct nfs4_sattr *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (to_set & EFS_SET_MODE) {
		sa->set |= NFS4_SET_MODE;
		sa->mode = in->st_mode & 07777;
	}
	if (to_set & EFS_SET_UID) {
		sa->set |= NFS4_SET_UID;
		sa->uid = in->st_uid;
	}
	if (to_set & EFS_SET_GID) {
		sa->set |= NFS4_SET_GID;
		sa->gid = in->st_gid;
	}
	if (to_set & EFS_SET_SIZE) {
		sa->set |= NFS4_SET_SIZE;
		sa->size = (uint64_t)in->st_size;
	}
	if (to_set & EFS_SET_ATIME_NOW) {
		sa->set |= NFS4_SET_ATIME_NOW;
	} else if (to_set & EFS_SET_ATIME) {
		sa->set |= NFS4_SET_ATIME;
		sa->atime.sec = in->st_atim.tv_sec;
		sa->atime.nsec = (uint32_t)in->st_atim.tv_nsec;
	}
	if (to_set & EFS_SET_MTIME_NOW) {
		sa->set |= NFS4_SET_MTIME_NOW;
	} else if (to_set & EFS_SET_MTIME) {
		sa->set |= NFS4_SET_MTIME;
		sa->mtime.sec = in->st_mtim.tv_sec;
		sa->mtime.nsec = (uint32_t)in->st_mtim.tv_nsec;
	}
}

int efs_errno(int nfs4_status)
{
	int e;

	if (nfs4_status == 0)
		return 0;
	e = nfs4_err_to_errno(nfs4_status);
	return e > 0 ? -e : -EIO;
}
