/*
 * nfs4_types.h - the C shapes of NFSv4.1 values that cross layer
 * boundaries: file handles, stateids, decoded attributes, attributes to set.
 * Plain data, no ownership, no locking.  fs/ converts these to struct stat;
 * nothing here knows about struct stat.
 */
#ifndef EFS_NFS4_TYPES_H
#define EFS_NFS4_TYPES_H

#include <stdbool.h>
#include <stdint.h>
#include "nfs4/nfs4_const.h"

struct nfs4_fh {
	uint32_t len; /* 1..NFS4_FHSIZE; 0 = no handle */
	uint8_t data[NFS4_FHSIZE];
};

struct nfs4_stateid {
	uint32_t seqid;
	uint8_t other[NFS4_OTHER_SIZE];
};

struct nfs4_time {
	int64_t sec;
	uint32_t nsec;
};

/* Which fields of struct nfs4_attr are valid: bit (1ull << FATTR4_x). */
#define NFS4_ATTR_BIT(a) (1ull << (a))

struct nfs4_attr {
	uint64_t valid; /* NFS4_ATTR_BIT()s of the attributes present */
	uint32_t type;	/* enum nfs_ftype4 */
	uint64_t change;
	uint64_t size;
	uint64_t fsid_major, fsid_minor;
	uint32_t lease_time;
	uint64_t fileid;
	uint32_t mode; /* permission bits only (07777) */
	uint32_t nlink;
	uint32_t uid, gid; /* owner strings mapped to numbers (non-numeric -> 65534) */
	uint32_t rdev_major, rdev_minor;
	uint64_t space_used;
	struct nfs4_time atime, mtime, ctime;
	uint64_t files_avail, files_free, files_total;
	uint64_t space_avail, space_free, space_total;
	uint32_t maxname;
	uint64_t maxread, maxwrite;
	struct nfs4_fh fh; /* FATTR4_FILEHANDLE (readdirplus) */
	uint32_t rdattr_error;
};

/* Attributes to set (SETATTR, OPEN/CREATE createattrs). */
#define NFS4_SET_MODE	   0x01
#define NFS4_SET_UID	   0x02
#define NFS4_SET_GID	   0x04
#define NFS4_SET_SIZE	   0x08
#define NFS4_SET_ATIME	   0x10 /* to atime */
#define NFS4_SET_ATIME_NOW 0x20 /* to the server's time */
#define NFS4_SET_MTIME	   0x40
#define NFS4_SET_MTIME_NOW 0x80

struct nfs4_sattr {
	uint32_t set; /* NFS4_SET_* */
	uint32_t mode;
	uint32_t uid, gid;
	uint64_t size;
	struct nfs4_time atime, mtime;
};

/* One decoded READDIR entry; name is a view valid during the callback. */
struct nfs4_dirent {
	uint64_t cookie;
	const char *name; /* NUL-terminated copy */
	uint32_t namelen;
	struct nfs4_attr attr;
};

/* A conflicting lock returned with NFS4ERR_DENIED (LOCK4denied). */
struct nfs4_lock_denied {
	uint64_t offset, length;
	uint32_t type; /* READ_LT / WRITE_LT */
	uint64_t clientid;
	uint32_t owner_len;
};

#endif
