/*
 * fuse_int.h - internals of fuse/: the session object, the operation
 * table and the credential helper.  Includes <fuse_lowlevel.h>.
 */
#ifndef EFS_FUSE_INT_H
#define EFS_FUSE_INT_H

#include <fuse_lowlevel.h>
#include "fs/efs_fs.h"
#include "fuse/efs_fuse.h"
#include "rpc/rpc_clnt.h"

struct efs_fuse {
	struct efs_fs *fs;
	struct fuse_session *se;
	bool mounted, handlers;
	unsigned max_threads, max_idle_threads;
};

/* The low-level operations (fuse_ops.c); userdata is the struct efs_fs. */
extern const struct fuse_lowlevel_ops efs_fuse_ops;

/* AUTH_SYS credential of the process behind req (uid, gid, first 16 groups). */
void efs_fuse_cred(fuse_req_t req, struct rpc_cred *cr);
/*
 * Send uid/gid (no groups) for every caller instead (-o uid=,gid=); uid < 0
 * restores the caller's identity.  Process-wide like the FUSE mount itself:
 * set once by efs_fuse_new() before any request is served, read-only after.
 */
void efs_fuse_cred_set_fixed(long uid, long gid);

#endif
