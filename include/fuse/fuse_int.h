/*
 * fuse_int.h - internals of fuse/: the session object, the operation
 * table and the credential helper.  Includes <fuse_lowlevel.h>.
 */
#ifndef EFS_FUSE_INT_H
#define EFS_FUSE_INT_H

#include <pthread.h>
#include <fuse_lowlevel.h>
#include "fs/efs_fs.h"
#include "fuse/efs_fuse.h"
#include "rpc/rpc_clnt.h"

struct efs_fuse {
	struct efs_fs *fs;
	struct fuse_session *se;
	bool mounted, handlers;
	unsigned max_threads;
	void (*on_stop)(void *arg);
	void *on_stop_arg;
	/* the stop watcher (fuse_session.c) */
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cv;
	bool loop_done, stopped;
};

/* The low-level operations (fuse_ops.c); userdata is the struct efs_fs. */
extern const struct fuse_lowlevel_ops efs_fuse_ops;

/* AUTH_SYS credential of the process behind req (uid, gid, first 16 groups). */
void efs_fuse_cred(fuse_req_t req, struct rpc_cred *cr);

#endif
