/*
 * cred_chain.h - the AWS credentials that sign the EFS client certificate
 * for -o iam, found the way efs-utils finds them, and kept fresh.
 *
 * Explicit choices are exclusive (only that source is asked; its failure is
 * the error):
 *   -o awscredsuri=/PATH            ECS: container_credentials_endpoint + PATH
 *   -o rolearn=ARN,jwtpath=FILE     STS AssumeRoleWithWebIdentity
 *   -o awsprofile=NAME (or the config file's awsprofile)   that profile
 * Otherwise the chain, in efs-utils' order; a source that is not configured
 * is skipped, one that is configured but fails is logged and skipped:
 *   1. ECS task role        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 *   2. EKS Pod Identity     AWS_CONTAINER_CREDENTIALS_FULL_URI +
 *                           AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (or _TOKEN)
 *   3. web identity (IRSA)  AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE
 *   4. environment          AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
 *   5. profile              AWS_PROFILE, else "default", from ~/.aws/credentials
 *                           and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE,
 *                           AWS_CONFIG_FILE): role_arn + source_profile (STS
 *                           AssumeRole), static keys, credential_process
 *   6. instance role        IMDSv2 (unless imds_enabled = false /
 *                           AWS_EC2_METADATA_DISABLED)
 * Endpoints come from efs-fuse.conf / the environment (resolve/config.h):
 * sts_endpoint (AWS_ENDPOINT_URL_STS), container_credentials_endpoint,
 * imds_endpoint.
 *
 * Freshness (struct cred_provider): credentials with an expiration are kept
 * until CRED_REFRESH_MARGIN_S before it; credentials without one (keys in
 * files or the environment, a credential_process that states none) are
 * looked up again when older than CRED_REUSE_S, so rotated keys are picked
 * up at the next connection (and a mount does not ask twice in a row).  If a refresh fails while
 * the old credentials are still valid, those are used (and a warning logged).
 *
 * Contract: 0 or -errno with one line in err; -ENOENT when no source had
 * credentials: err names every source tried and why it gave none, and what
 * to do.  cred_provider_get() is thread-safe (one mutex, held across the
 * lookup so concurrent connects share one).  No globals.
 */
#ifndef EFS_RESOLVE_CRED_CHAIN_H
#define EFS_RESOLVE_CRED_CHAIN_H

#include <stddef.h>

#include "resolve/credentials.h"

#define CRED_REFRESH_MARGIN_S 300
#define CRED_REUSE_S	      10 /* credentials without expiration: looked up again after this */
#define CRED_CHAIN_MAX	      8

struct cred_chain_opts {
	const char *awsprofile;	 /* exclusive when set */
	const char *awscredsuri; /* exclusive when set: "/v2/credentials/..." */
	const char *rolearn;	 /* with jwtpath: exclusive */
	const char *jwtpath;
	const char *region; /* STS region, [mount.REGION] */
};

enum cred_kind {
	CRED_ECS = 1,
	CRED_POD_IDENTITY,
	CRED_WEB_IDENTITY,
	CRED_ENV,
	CRED_PROFILE,
	CRED_IMDS,
};

/* The sources cred_chain_find() will ask, in order (from options and environment). */
int cred_chain_plan(const struct cred_chain_opts *o, enum cred_kind *out, int max);
const char *cred_kind_name(enum cred_kind k);

/* One lookup along the chain. */
int cred_chain_find(const struct cred_chain_opts *o, struct aws_credentials *c, char *err,
		    size_t errlen);

struct cred_provider;

/* Copies o's strings.  NULL on out of memory. */
struct cred_provider *cred_provider_new(const struct cred_chain_opts *o);
/* Current credentials (cached, or looked up again per the rules above). */
int cred_provider_get(struct cred_provider *p, struct aws_credentials *c, char *err, size_t errlen);
void cred_provider_free(struct cred_provider *p);

#endif
