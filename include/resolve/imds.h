/*
 * imds.h - EC2 instance metadata, IMDSv2 (token) with an IMDSv1 fallback
 * when the token request is refused with an HTTP error.
 *
 * A struct imds lives for one resolution: it caches the session token, and
 * once the service failed to answer it fails every further call at once (a
 * laptop pays the timeouts once: 1 s to connect, 2 s in all).
 *
 * Contract: 0 or -errno with one line in err:
 *   -EHOSTUNREACH/-ETIMEDOUT/-ECONNREFUSED  "instance metadata at URL did not answer (...)"
 *   -ENOENT   the item does not exist (404)
 *   -EACCES   401/403
 *   -EBADMSG  malformed answer
 * Plain data, no globals; one thread at a time.
 */
#ifndef EFS_RESOLVE_IMDS_H
#define EFS_RESOLVE_IMDS_H

#include <stdbool.h>
#include <stddef.h>

struct aws_credentials;

#define IMDS_CONNECT_TIMEOUT_MS 1000
#define IMDS_TIMEOUT_MS		2000
#define IMDS_TOKEN_TTL_S	21600

struct imds {
	char endpoint[256];
	char token[256];
	bool have_token;
	bool v1;  /* the token request was refused: plain GETs */
	int dead; /* 0, or the -errno of the failure every call now returns */
	char dead_msg[400];
	long connect_timeout_ms, timeout_ms;
};

void imds_init(struct imds *m, const char *endpoint);
/* GET /latest/meta-data/PATH into out (trimmed, NUL-terminated). */
int imds_get(struct imds *m, const char *path, char *out, size_t outlen, char *err, size_t errlen);
int imds_region(struct imds *m, char *out, size_t outlen, char *err, size_t errlen);
int imds_az(struct imds *m, char *out, size_t outlen, char *err, size_t errlen);
int imds_az_id(struct imds *m, char *out, size_t outlen, char *err, size_t errlen);
/* The instance role's temporary credentials. */
int imds_role_credentials(struct imds *m, struct aws_credentials *c, char *err, size_t errlen);

#endif
