/*
 * fuse_cred.c - the caller's AUTH_SYS credential (RFC 5531 appendix A) for
 * a FUSE request: uid and gid from the request, supplementary groups from
 * fuse_req_getgroups() (at most RPC_AUTH_SYS_MAX_GROUPS; the first ones),
 * and the request's interrupt test (so a caller killed by a signal is
 * answered at once; the RPC may finish in the background).
 */
#include "config.h"
#include <string.h>
#include <sys/types.h>
#include "fuse/fuse_int.h"

/* The request's caller got a signal (FUSE_INTERRUPT arrived for it). */
static bool req_interrupted(void *arg)
{
	return fuse_req_interrupted(arg) != 0;
}

void efs_fuse_cred(fuse_req_t req, struct rpc_cred *cr)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[RPC_AUTH_SYS_MAX_GROUPS];
	int n, i;

	memset(cr, 0, sizeof(*cr));
	cr->uid = ctx->uid;
	cr->gid = ctx->gid;
	cr->cancelled = req_interrupted;
	cr->cancel_arg = req;
	n = fuse_req_getgroups(req, RPC_AUTH_SYS_MAX_GROUPS, groups);
	if (n <= 0)
		return;
	if (n > RPC_AUTH_SYS_MAX_GROUPS)
		n = RPC_AUTH_SYS_MAX_GROUPS;
	for (i = 0; i < n; i++)
		cr->groups[i] = groups[i];
	cr->ngroups = (uint32_t)n;
}
