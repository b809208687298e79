/* imds.c - EC2 instance metadata (IMDSv2); see include/resolve/imds.h. */
#include "resolve/imds.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "resolve/cred_sources.h"
#include "resolve/credentials.h"
#include "resolve/http.h"
#include "resolve/json.h"
#include "util/log.h"

void imds_init(struct imds *m, const char *endpoint)
{
	size_t n;

	memset(m, 0, sizeof(*m));
	snprintf(m->endpoint, sizeof(m->endpoint), "%s", endpoint);
	n = strlen(m->endpoint);
	while (n && m->endpoint[n - 1] == '/')
		m->endpoint[--n] = '\0';
	m->connect_timeout_ms = IMDS_CONNECT_TIMEOUT_MS;
	m->timeout_ms = IMDS_TIMEOUT_MS;
}

static int no_answer(struct imds *m, int rc, const char *why, char *err, size_t errlen)
{
	m->dead = rc;
	snprintf(m->dead_msg, sizeof(m->dead_msg),
		 "instance metadata at %.120s did not answer (%.180s)", m->endpoint, why);
	snprintf(err, errlen, "%s", m->dead_msg);
	return rc;
}

static int get_token(struct imds *m, char *err, size_t errlen)
{
	char url[320], ttl[96], why[256];
	const char *hdrs[] = {ttl, NULL};
	struct http_req req = {
		.method = "PUT",
		.url = url,
		.headers = hdrs,
		.connect_timeout_ms = m->connect_timeout_ms,
		.timeout_ms = m->timeout_ms,
		.max_body = 1024,
		.no_proxy = true,
	};
	struct http_resp resp;
	size_t n;
	int rc;

	snprintf(url, sizeof(url), "%s/latest/api/token", m->endpoint);
	snprintf(ttl, sizeof(ttl), "X-aws-ec2-metadata-token-ttl-seconds: %d", IMDS_TOKEN_TTL_S);
	rc = http_request(&req, &resp, why, sizeof(why));
	if (rc)
		return no_answer(m, rc, why, err, errlen);
	if (resp.status != 200) {
		/* IMDSv1-only service (404/405) or a proxy in the way: try plain GETs. */
		efs_log(EFS_LOG_DEBUG, "imds: token request got HTTP %ld, using IMDSv1",
			resp.status);
		m->v1 = true;
		http_resp_free(&resp);
		return 0;
	}
	n = resp.len;
	while (n && isspace((unsigned char)resp.body[n - 1]))
		n--;
	if (n == 0 || n >= sizeof(m->token) || memchr(resp.body, '\r', n) ||
	    memchr(resp.body, '\n', n)) {
		http_resp_free(&resp);
		snprintf(err, errlen, "instance metadata at %s returned a malformed token",
			 m->endpoint);
		return -EBADMSG;
	}
	memcpy(m->token, resp.body, n);
	m->token[n] = '\0';
	m->have_token = true;
	http_resp_free(&resp);
	return 0;
}

static int get_once(struct imds *m, const char *path, struct http_resp *resp, char *err,
		    size_t errlen)
{
	char url[512], hdr[300], why[256];
	const char *hdrs[] = {hdr, NULL};
	struct http_req req = {
		.url = url,
		.headers = m->have_token ? hdrs : NULL,
		.connect_timeout_ms = m->connect_timeout_ms,
		.timeout_ms = m->timeout_ms,
		.max_body = 16 * 1024,
		.no_proxy = true,
	};
	int rc;

	snprintf(url, sizeof(url), "%s/latest/meta-data/%s", m->endpoint, path);
	snprintf(hdr, sizeof(hdr), "X-aws-ec2-metadata-token: %s", m->token);
	rc = http_request(&req, resp, why, sizeof(why));
	if (rc)
		return no_answer(m, rc, why, err, errlen);
	return 0;
}

static int imds_get_raw(struct imds *m, const char *path, struct http_resp *resp, char *err,
			size_t errlen)
{
	int rc, attempt;

	if (m->dead) {
		snprintf(err, errlen, "%s", m->dead_msg);
		return m->dead;
	}
	for (attempt = 0; attempt < 2; attempt++) {
		if (!m->have_token && !m->v1) {
			rc = get_token(m, err, errlen);
			if (rc)
				return rc;
		}
		rc = get_once(m, path, resp, err, errlen);
		if (rc)
			return rc;
		if (resp->status == 401 && m->have_token && attempt == 0) {
			/* token expired: fetch a new one, once */
			http_resp_free(resp);
			m->have_token = false;
			continue;
		}
		break;
	}
	switch (resp->status) {
	case 200:
		return 0;
	case 404:
		snprintf(err, errlen, "instance metadata at %s has no %s", m->endpoint, path);
		rc = -ENOENT;
		break;
	case 401:
	case 403:
		snprintf(err, errlen, "instance metadata at %s refused %s (HTTP %ld)", m->endpoint,
			 path, resp->status);
		rc = -EACCES;
		break;
	default:
		snprintf(err, errlen, "instance metadata at %s answered HTTP %ld for %s",
			 m->endpoint, resp->status, path);
		rc = -EPROTO;
		break;
	}
	http_resp_free(resp);
	return rc;
}

int imds_get(struct imds *m, const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
	struct http_resp resp;
	size_t n;
	int rc;

	rc = imds_get_raw(m, path, &resp, err, errlen);
	if (rc)
		return rc;
	n = resp.len;
	while (n && isspace((unsigned char)resp.body[n - 1]))
		n--;
	if (n >= outlen || memchr(resp.body, '\0', n)) {
		snprintf(err, errlen, "instance metadata at %s: malformed %s", m->endpoint, path);
		rc = -EBADMSG;
	} else {
		memcpy(out, resp.body, n);
		out[n] = '\0';
	}
	http_resp_free(&resp);
	return rc;
}

/* Region / AZ names are [a-z0-9-]; anything else is not what we asked for. */
static int get_name(struct imds *m, const char *path, char *out, size_t outlen, char *err,
		    size_t errlen)
{
	int rc = imds_get(m, path, out, outlen, err, errlen);
	size_t i;

	if (rc)
		return rc;
	for (i = 0; out[i]; i++)
		if (!(islower((unsigned char)out[i]) || isdigit((unsigned char)out[i]) ||
		      out[i] == '-'))
			break;
	if (i == 0 || out[i]) {
		snprintf(err, errlen, "instance metadata at %s: malformed %s", m->endpoint, path);
		out[0] = '\0';
		return -EBADMSG;
	}
	return 0;
}

int imds_region(struct imds *m, char *out, size_t outlen, char *err, size_t errlen)
{
	return get_name(m, "placement/region", out, outlen, err, errlen);
}

int imds_az(struct imds *m, char *out, size_t outlen, char *err, size_t errlen)
{
	return get_name(m, "placement/availability-zone", out, outlen, err, errlen);
}

int imds_az_id(struct imds *m, char *out, size_t outlen, char *err, size_t errlen)
{
	return get_name(m, "placement/availability-zone-id", out, outlen, err, errlen);
}

int imds_role_credentials(struct imds *m, struct aws_credentials *c, char *err, size_t errlen)
{
	char role[128], path[192], code[64];
	struct json_tok toks[64];
	struct json_doc doc;
	struct http_resp resp;
	char *nl;
	int rc;

	rc = imds_get(m, "iam/security-credentials/", role, sizeof(role), err, errlen);
	if (rc == -ENOENT)
		snprintf(err, errlen, "the instance has no IAM role (instance metadata at %s)",
			 m->endpoint);
	if (rc)
		return rc;
	nl = strchr(role, '\n'); /* one role per instance; take the first line */
	if (nl)
		*nl = '\0';
	if (!role[0] || strchr(role, '/') || strchr(role, '?') || strchr(role, '%')) {
		snprintf(err, errlen, "instance metadata at %s: malformed role name", m->endpoint);
		return -EBADMSG;
	}
	snprintf(path, sizeof(path), "iam/security-credentials/%s", role);
	rc = imds_get_raw(m, path, &resp, err, errlen);
	if (rc)
		return rc;
	rc = json_parse(&doc, resp.body, resp.len, toks, 64);
	if (rc == 0 && json_get_string(&doc, 0, "Code", code, sizeof(code)) == 0 &&
	    strcmp(code, "Success") != 0) {
		snprintf(err, errlen, "instance role %s: credentials not available (Code %s)", role,
			 code);
		rc = -EACCES;
		goto out;
	}
	if (rc == 0)
		rc = json_get_string(&doc, 0, "AccessKeyId", c->access_key_id,
				     sizeof(c->access_key_id));
	if (rc == 0)
		rc = json_get_string(&doc, 0, "SecretAccessKey", c->secret_access_key,
				     sizeof(c->secret_access_key));
	if (rc == 0)
		rc = json_get_string(&doc, 0, "Token", c->session_token, sizeof(c->session_token));
	if (rc) {
		snprintf(err, errlen, "instance metadata at %s: malformed credentials for role %s",
			 m->endpoint, role);
		rc = -EBADMSG;
		goto out;
	}
	c->expiration = 0;
	if (json_get_string(&doc, 0, "Expiration", code, sizeof(code)) == 0 &&
	    cred_parse_time(code, &c->expiration) != 0)
		c->expiration = 0;
	snprintf(c->source, sizeof(c->source), "instance role %s", role);
out:
	http_resp_free(&resp);
	return rc;
}
