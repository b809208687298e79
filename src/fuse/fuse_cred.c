/*
 * fuse_cred.c - the caller's AUTH_SYS credential (RFC 5531 appendix A) for
 * a FUSE request: uid and gid from the request, supplementary groups from
 * fuse_req_getgroups() (at most RPC_AUTH_SYS_MAX_GROUPS; the first ones;
 * remembered per process for a second),
 * or the fixed identity of -o uid=,gid= (fuse_int.h), and the request's
 * interrupt test (so a caller killed by a signal is answered at once; the
 * RPC may finish in the background).
 */
#include "config.h"
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include "fuse/fuse_int.h"

/* The request's caller got a signal (FUSE_INTERRUPT arrived for it). */
static bool req_interrupted(void *arg)
{
	return fuse_req_interrupted(arg) != 0;
}

/*
 * Supplementary groups of (pid, uid, gid), remembered for GROUPS_TTL_MS:
 * fuse_req_getgroups() reads /proc/PID/task/PID/status, which cost a
 * sixth of the daemon's CPU in small-file work when done per request.
 * A group change takes effect within the TTL (a new process, as after
 * newgrp or su, has a new pid and is seen at once).
 */
#define GROUPS_TTL_MS 1000

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int groups_of(struct efs_fuse *f, fuse_req_t req, const struct fuse_ctx *ctx, uint32_t *out)
{
	struct efs_groups_entry *e =
		&f->groups[((uint32_t)ctx->pid * 2654435761u) % EFS_GROUPS_CACHE];
	gid_t groups[RPC_AUTH_SYS_MAX_GROUPS];
	long now = now_ms();
	int n, i;

	pthread_mutex_lock(&f->groups_lock);
	if (e->valid && e->pid == ctx->pid && e->uid == ctx->uid && e->gid == ctx->gid &&
	    now - e->at_ms < GROUPS_TTL_MS) {
		n = (int)e->n;
		memcpy(out, e->groups, sizeof(e->groups[0]) * (size_t)n);
		pthread_mutex_unlock(&f->groups_lock);
		return n;
	}
	pthread_mutex_unlock(&f->groups_lock);
	n = fuse_req_getgroups(req, RPC_AUTH_SYS_MAX_GROUPS, groups);
	if (n <= 0)
		return 0;
	if (n > RPC_AUTH_SYS_MAX_GROUPS)
		n = RPC_AUTH_SYS_MAX_GROUPS;
	for (i = 0; i < n; i++)
		out[i] = groups[i];
	pthread_mutex_lock(&f->groups_lock);
	e->valid = true;
	e->pid = ctx->pid;
	e->uid = ctx->uid;
	e->gid = ctx->gid;
	e->at_ms = now;
	e->n = (uint32_t)n;
	memcpy(e->groups, out, sizeof(e->groups[0]) * (size_t)n);
	pthread_mutex_unlock(&f->groups_lock);
	return n;
}

void efs_fuse_cred(fuse_req_t req, struct rpc_cred *cr)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct efs_fuse *f = fuse_req_userdata(req);

	memset(cr, 0, sizeof(*cr));
	cr->cancelled = req_interrupted;
	cr->cancel_arg = req;
	if (f->fixed_uid >= 0 && f->fixed_gid >= 0) {
		cr->uid = (uint32_t)f->fixed_uid;
		cr->gid = (uint32_t)f->fixed_gid;
		return;
	}
	cr->uid = ctx->uid;
	cr->gid = ctx->gid;
	cr->ngroups = (uint32_t)groups_of(f, req, ctx, cr->groups);
}
