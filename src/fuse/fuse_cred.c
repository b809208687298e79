/*
 * fuse_cred.c - the caller's AUTH_SYS credential (RFC 5531 appendix A) for
 * a FUSE request: uid and gid from the request, supplementary groups from
 * fuse_req_getgroups() (at most RPC_AUTH_SYS_MAX_GROUPS; the first ones),
 * or the fixed identity of -o uid=,gid= (fuse_int.h).
 */
#include "config.h"
#include <string.h>
#include <sys/types.h>
#include "fuse/fuse_int.h"

/* Written once before the session loop starts (see fuse_int.h). */
static struct {
	bool on;
	uint32_t uid, gid;
} fixed_id;

void efs_fuse_cred_set_fixed(long uid, long gid)
{
	fixed_id.on = uid >= 0 && gid >= 0;
	fixed_id.uid = fixed_id.on ? (uint32_t)uid : 0;
	fixed_id.gid = fixed_id.on ? (uint32_t)gid : 0;
}

void efs_fuse_cred(fuse_req_t req, struct rpc_cred *cr)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[RPC_AUTH_SYS_MAX_GROUPS];
	int n, i;

	memset(cr, 0, sizeof(*cr));
	if (fixed_id.on) {
		cr->uid = fixed_id.uid;
		cr->gid = fixed_id.gid;
		return;
	}
	cr->uid = ctx->uid;
	cr->gid = ctx->gid;
	n = fuse_req_getgroups(req, RPC_AUTH_SYS_MAX_GROUPS, groups);
	if (n <= 0)
		return;
	if (n > RPC_AUTH_SYS_MAX_GROUPS)
		n = RPC_AUTH_SYS_MAX_GROUPS;
	for (i = 0; i < n; i++)
		cr->groups[i] = groups[i];
	cr->ngroups = (uint32_t)n;
}
