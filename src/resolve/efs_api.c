/* efs_api.c - DescribeMountTargets over SigV4; see include/resolve/efs_api.h. */
#include "resolve/efs_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resolve/credentials.h"
#include "resolve/dns.h"
#include "resolve/http.h"
#include "resolve/json.h"
#include "util/log.h"

#define EFS_API_MAX_TOKENS 2048
#define EFS_API_MAX_BODY   (256 * 1024)

int efs_api_parse_mount_targets(const char *body, size_t len, const char *fs_id,
				struct efs_mount_target *out, unsigned int cap, unsigned int *n,
				char *err, size_t errlen)
{
	struct json_tok *toks;
	struct json_doc doc;
	unsigned int i;
	int arr, rc;

	*n = 0;
	toks = calloc(EFS_API_MAX_TOKENS, sizeof(*toks));
	if (!toks) {
		snprintf(err, errlen, "out of memory parsing the EFS API response");
		return -ENOMEM;
	}
	rc = json_parse(&doc, body, len, toks, EFS_API_MAX_TOKENS);
	if (rc) {
		snprintf(err, errlen, "the EFS API response is not valid JSON%s",
			 rc == -E2BIG ? " (too large or too deep)" : "");
		rc = -EBADMSG;
		goto out;
	}
	arr = json_object_get(&doc, 0, "MountTargets");
	if (arr < 0 || toks[arr].type != JSON_ARRAY) {
		snprintf(err, errlen, "the EFS API response has no MountTargets list");
		rc = -EBADMSG;
		goto out;
	}
	for (i = 0; i < toks[arr].count; i++) {
		int obj = json_array_item(&doc, (unsigned int)arr, i);
		struct efs_mount_target mt;

		memset(&mt, 0, sizeof(mt));
		if (obj < 0 || toks[obj].type != JSON_OBJECT) {
			snprintf(err, errlen, "the EFS API response: MountTargets[%u] is no object",
				 i);
			rc = -EBADMSG;
			goto out;
		}
		/* Required by the service model. */
		if (json_get_string(&doc, (unsigned int)obj, "MountTargetId", mt.id,
				    sizeof(mt.id)) ||
		    json_get_string(&doc, (unsigned int)obj, "FileSystemId", mt.fs_id,
				    sizeof(mt.fs_id)) ||
		    json_get_string(&doc, (unsigned int)obj, "LifeCycleState", mt.state,
				    sizeof(mt.state))) {
			snprintf(err, errlen,
				 "the EFS API response: MountTargets[%u] lacks "
				 "MountTargetId, FileSystemId or LifeCycleState",
				 i);
			rc = -EBADMSG;
			goto out;
		}
		/* Optional in the model; a bad type is still an error. */
		rc = json_get_string(&doc, (unsigned int)obj, "IpAddress", mt.ip, sizeof(mt.ip));
		if (rc == 0 && mt.ip[0] && !dns_is_numeric(mt.ip))
			rc = -EINVAL;
		if (rc == 0 || rc == -ENOENT)
			rc = json_get_string(&doc, (unsigned int)obj, "SubnetId", mt.subnet_id,
					     sizeof(mt.subnet_id));
		if (rc == 0 || rc == -ENOENT)
			rc = json_get_string(&doc, (unsigned int)obj, "AvailabilityZoneId",
					     mt.az_id, sizeof(mt.az_id));
		if (rc == 0 || rc == -ENOENT)
			rc = json_get_string(&doc, (unsigned int)obj, "AvailabilityZoneName",
					     mt.az_name, sizeof(mt.az_name));
		if (rc != 0 && rc != -ENOENT) {
			snprintf(err, errlen,
				 "the EFS API response: MountTargets[%u] has a "
				 "malformed field",
				 i);
			rc = -EBADMSG;
			goto out;
		}
		rc = 0;
		if (fs_id && strcmp(mt.fs_id, fs_id) != 0)
			continue;
		if (*n >= cap) {
			efs_log(EFS_LOG_WARN,
				"efs api: more than %u mount targets; ignoring the rest", cap);
			break;
		}
		out[(*n)++] = mt;
	}
out:
	free(toks);
	return rc;
}

int efs_api_pick(const struct efs_mount_target *mt, unsigned int n, const char *fs_id,
		 const char *az_id, const char *az_name, char *err, size_t errlen)
{
	bool by_name = az_name && *az_name;
	const char *want = by_name ? az_name : az_id;
	size_t off;
	unsigned int i;

	for (i = 0; i < n; i++) {
		const char *have = by_name ? mt[i].az_name : mt[i].az_id;

		if (strcmp(mt[i].state, "available") == 0 && want && strcmp(have, want) == 0 &&
		    mt[i].ip[0])
			return (int)i;
	}
	if (n == 0) {
		snprintf(err, errlen,
			 "%s has no mount targets: create one in your VPC, or use "
			 "-o mounttargetip=IP",
			 fs_id);
		return -ENOENT;
	}
	off = (size_t)snprintf(err, errlen,
			       "%s has no available mount target in %s %s; it has:", fs_id,
			       by_name ? "availability zone" : "this instance's zone id",
			       want ? want : "(unknown)");
	for (i = 0; i < n && off < errlen; i++)
		off += (size_t)snprintf(err + off, errlen - off, "%s %s in %s/%s (%s)",
					i ? "," : "", mt[i].ip[0] ? mt[i].ip : "-", mt[i].az_name,
					mt[i].az_id, mt[i].state);
	if (off < errlen)
		snprintf(err + off, errlen - off, ": -o az=NAME picks another zone's mount target");
	return -ENOENT;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* "message" or "Message" of an AWS error body, else "". */
static void aws_message(const struct http_resp *resp, char *out, size_t outlen)
{
	struct json_tok toks[64];
	struct json_doc doc;

	out[0] = '\0';
	if (json_parse(&doc, resp->body, resp->len, toks, 64) != 0)
		return;
	if (json_get_string(&doc, 0, "message", out, outlen) != 0)
		json_get_string(&doc, 0, "Message", out, outlen);
}

int efs_api_describe_mount_targets(const struct efs_api_req *r, struct efs_mount_target *out,
				   unsigned int cap, unsigned int *n, char *err, size_t errlen)
{
	unsigned int tries = r->max_tries ? r->max_tries : 4;
	unsigned int backoff = r->backoff_ms ? r->backoff_ms : 200;
	char url[512], sigv4[96], userpwd[300], tokhdr[2100], msg[256], why[320];
	const char *hdrs[] = {tokhdr, NULL};
	struct http_req req = {
		.url = url,
		.headers = r->creds->session_token[0] ? hdrs : NULL,
		.aws_sigv4 = sigv4,
		.userpwd = userpwd,
		.connect_timeout_ms = 3000,
		.timeout_ms = 10000,
		.max_body = EFS_API_MAX_BODY,
		.cafile = r->cafile,
	};
	struct http_resp resp;
	unsigned int attempt;
	size_t elen;
	int rc;

	*n = 0;
	elen = strlen(r->endpoint);
	while (elen && r->endpoint[elen - 1] == '/')
		elen--;
	snprintf(url, sizeof(url), "%.*s/2015-02-01/mount-targets?FileSystemId=%s", (int)elen,
		 r->endpoint, r->fs_id);
	snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:elasticfilesystem", r->region);
	snprintf(userpwd, sizeof(userpwd), "%s:%s", r->creds->access_key_id,
		 r->creds->secret_access_key);
	snprintf(tokhdr, sizeof(tokhdr), "x-amz-security-token: %s", r->creds->session_token);

	for (attempt = 1;; attempt++) {
		rc = http_request(&req, &resp, why, sizeof(why));
		if (rc) {
			snprintf(err, errlen, "cannot reach the EFS API (%s)", why);
			goto out;
		}
		if (resp.status == 200)
			break;
		aws_message(&resp, msg, sizeof(msg));
		if ((resp.status == 429 || resp.status == 500 || resp.status == 502 ||
		     resp.status == 503 || resp.status == 504) &&
		    attempt < tries) {
			efs_log(EFS_LOG_INFO, "efs api: HTTP %ld %s, retrying in %u ms",
				resp.status, resp.error_type, backoff);
			http_resp_free(&resp);
			sleep_ms(backoff);
			backoff *= 2;
			continue;
		}
		switch (resp.status) {
		case 429:
		case 500:
		case 502:
		case 503:
		case 504:
			snprintf(err, errlen,
				 "the EFS API is busy (HTTP %ld %s) after %u tries: try "
				 "again later, or use -o mounttargetip=IP",
				 resp.status, resp.error_type, attempt);
			rc = -EAGAIN;
			break;
		case 401:
		case 403:
			snprintf(err, errlen,
				 "the EFS API refused the request (%ld %s: %s): check "
				 "the credentials from %s and that they allow "
				 "elasticfilesystem:DescribeMountTargets",
				 resp.status, resp.error_type[0] ? resp.error_type : "AccessDenied",
				 msg, r->creds->source);
			rc = -EACCES;
			break;
		case 404:
			snprintf(err, errlen,
				 "the EFS API does not know %s in %s (%s): check the "
				 "file system id and -o region",
				 r->fs_id, r->region, msg[0] ? msg : resp.error_type);
			rc = -ENOENT;
			break;
		default:
			snprintf(err, errlen, "the EFS API answered HTTP %ld %s: %s", resp.status,
				 resp.error_type, msg);
			rc = -EPROTO;
			break;
		}
		http_resp_free(&resp);
		goto out;
	}
	rc = efs_api_parse_mount_targets(resp.body, resp.len, r->fs_id, out, cap, n, err, errlen);
	http_resp_free(&resp);
out:
	/* Do not leave the secret on the stack longer than needed. */
	explicit_bzero(userpwd, sizeof(userpwd));
	return rc;
}
