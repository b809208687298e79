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

#define EFS_GROUPS_CACHE 256 /* callers whose supplementary groups are remembered */
struct efs_groups_entry {
	bool valid;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	long at_ms; /* CLOCK_MONOTONIC */
	uint32_t n;
	uint32_t groups[RPC_AUTH_SYS_MAX_GROUPS];
};

struct efs_fuse {
	struct efs_fs *fs;
	struct fuse_session *se;
	bool mounted, handlers;
	unsigned max_threads, max_idle_threads;
	/* -o uid=,gid=: sent (no groups) for every caller when fixed_uid >= 0 */
	long fixed_uid, fixed_gid;
	/* supplementary groups per caller (fuse_cred.c), under groups_lock */
	pthread_mutex_t groups_lock;
	struct efs_groups_entry groups[EFS_GROUPS_CACHE];
	void (*on_stop)(void *arg);
	void *on_stop_arg;
	/* the stop watcher (fuse_session.c) */
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cv;
	bool loop_done, stopped;
};

/* The low-level operations (fuse_ops.c); userdata is the struct efs_fuse. */
extern const struct fuse_lowlevel_ops efs_fuse_ops;

/* AUTH_SYS credential of the process behind req (uid, gid, first 16 groups). */
void efs_fuse_cred(fuse_req_t req, struct rpc_cred *cr);

#endif
