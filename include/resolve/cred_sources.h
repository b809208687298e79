/*
 * cred_sources.h - the individual sources of AWS credentials that
 * cred_chain.c strings together for -o iam (efs-utils' order; see
 * cred_chain.h).  Each fills a struct aws_credentials (with its expiration
 * when the source states one) or fails with one line in err.
 *
 *   container   ECS task role (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
 *               -o awscredsuri, on container_credentials_endpoint) and EKS
 *               Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI with the
 *               token of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE in the
 *               Authorization header).  A plain http:// full URI must be a
 *               loopback address or one of the ECS/EKS link-local hosts, as
 *               in the AWS SDKs.
 *   web identity  STS AssumeRoleWithWebIdentity (unsigned; the token file's
 *               JWT), session name AWS_ROLE_SESSION_NAME or efs-fuse-<time>.
 *   assume role STS AssumeRole signed with SigV4 (curl's CURLOPT_AWS_SIGV4)
 *               by the source profile's credentials.
 *   process     a profile's credential_process: run without a shell
 *               (words split on blanks, "double quotes" group), stdout is
 *               the AWS CLI's JSON (Version 1), 10 s at most.
 *
 * STS is asked for JSON (Accept: application/json); its Expiration is epoch
 * seconds there, an ISO 8601 string everywhere else: both are read.
 *
 * Contract: 0 or -errno with one line in err:
 *   -ENOENT    the source is not configured / the file is missing
 *   -EACCES    the service refused (HTTP 401/403, STS AccessDenied...)
 *   -EBADMSG   a malformed answer
 *   -ETIMEDOUT / -ECONNREFUSED / -EHOSTUNREACH  no answer
 * Blocking, bounded by timeouts; no globals; thread-safe.
 */
#ifndef EFS_RESOLVE_CRED_SOURCES_H
#define EFS_RESOLVE_CRED_SOURCES_H

#include <stddef.h>
#include <time.h>

#include "resolve/credentials.h"
#include "resolve/json.h"

#define CRED_HTTP_CONNECT_TIMEOUT_MS 2000
#define CRED_HTTP_TIMEOUT_MS	     5000
#define CRED_PROCESS_TIMEOUT_MS	     10000

/* "2026-12-02T06:00:00Z" (fraction and +00:00 / -hh:mm allowed) -> epoch. 0 or -EINVAL. */
int cred_parse_time(const char *s, time_t *out);
/*
 * AccessKeyId, SecretAccessKey, token_key ("Token", "SessionToken"; optional
 * unless token_required) and an optional Expiration from object obj of d.
 */
int cred_from_json(const struct json_doc *d, unsigned int obj, const char *token_key,
		   int token_required, struct aws_credentials *c);

/* GET url (Authorization: auth when not NULL) and read the credentials JSON. */
int cred_from_container(const char *url, const char *auth, struct aws_credentials *c, char *err,
			size_t errlen);
/* True when a full container credentials URI may be used (https, or an allowed http host). */
int cred_container_uri_allowed(const char *url);

/* STS AssumeRoleWithWebIdentity at sts_url. */
int cred_from_web_identity(const char *sts_url, const char *role_arn, const char *token_file,
			   const char *session_name, struct aws_credentials *c, char *err,
			   size_t errlen);
/* STS AssumeRole at sts_url in region, signed with src. */
int cred_assume_role(const char *sts_url, const char *region, const struct aws_credentials *src,
		     const char *role_arn, const char *session_name, const char *external_id,
		     struct aws_credentials *c, char *err, size_t errlen);

/* A profile of the AWS shared files (cred_profile.c); -ENOENT when it has no credentials. */
int cred_from_profile_files(const char *profile, const char *sts_url, const char *region,
			    struct aws_credentials *c, char *err, size_t errlen);

/* Run a credential_process command line. */
int cred_from_process(const char *cmdline, struct aws_credentials *c, char *err, size_t errlen);

#endif
