/*
 * sts.c - AWS STS AssumeRoleWithWebIdentity and AssumeRole (query API, POST
 * form body, JSON answer); see include/resolve/cred_sources.h.
 */
#include "resolve/cred_sources.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolve/http.h"
#include "util/log.h"

#define STS_MAX_TOKEN (16 * 1024) /* the web identity token file */

/* RFC 3986 unreserved characters kept, everything else %XX. */
static size_t form_encode(const char *s, char *out, size_t outlen)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		int keep = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			   (ch >= '0' && ch <= '9') || strchr("-_.~", ch);

		if (o + 4 > outlen)
			return 0;
		if (keep) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hexd[ch >> 4];
			out[o++] = hexd[ch & 15];
		}
	}
	out[o] = '\0';
	return o;
}

/* Append "&key=value" (encoded) to a form body. */
static int form_add(char *body, size_t cap, const char *key, const char *val)
{
	size_t n = strlen(body), k = strlen(key);

	if (n + k + 2 >= cap)
		return -E2BIG;
	if (n)
		body[n++] = '&';
	memcpy(body + n, key, k);
	n += k;
	body[n++] = '=';
	body[n] = '\0';
	if (*val && !form_encode(val, body + n, cap - n))
		return -E2BIG;
	return 0;
}

/* The error code in an STS error document ("<Code>X</Code>" or "Code":"X"). */
static void sts_error_code(const char *body, char *out, size_t outlen)
{
	const char *p = strstr(body, "<Code>"), *q;

	if (p) {
		p += 6;
		q = strchr(p, '<');
	} else if ((p = strstr(body, "\"Code\""))) {
		p = strchr(p + 6, '"');
		q = p ? strchr(++p, '"') : NULL;
	} else {
		q = NULL;
	}
	if (p && q && q > p && (size_t)(q - p) < outlen) {
		memcpy(out, p, (size_t)(q - p));
		out[q - p] = '\0';
	} else {
		snprintf(out, outlen, "unknown error");
	}
}

static int sts_call(const char *sts_url, const char *action, const char *body, const char *sigv4,
		    const char *userpwd, const char *token, struct aws_credentials *c, char *err,
		    size_t errlen)
{
	char tokhdr[2100], why[320], code[96], resp_key[96], res_key[96];
	const char *hdrs[] = {"Accept: application/json",
			      "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
			      token && *token ? tokhdr : NULL, NULL};
	struct http_req req = {
		.method = "POST",
		.url = sts_url,
		.body = body,
		.headers = hdrs,
		.aws_sigv4 = sigv4,
		.userpwd = userpwd,
		.connect_timeout_ms = CRED_HTTP_CONNECT_TIMEOUT_MS,
		.timeout_ms = CRED_HTTP_TIMEOUT_MS,
		.max_body = 64 * 1024,
		.cafile = getenv("AWS_CA_BUNDLE"),
	};
	struct json_tok toks[96];
	struct http_resp resp;
	struct json_doc doc;
	int rc, i;

	if (token && *token)
		snprintf(tokhdr, sizeof(tokhdr), "X-Amz-Security-Token: %s", token);
	rc = http_request(&req, &resp, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "STS %s: %s did not answer (%s)", action, sts_url, why);
		return rc;
	}
	if (resp.status != 200) {
		sts_error_code(resp.body, code, sizeof(code));
		snprintf(err, errlen, "STS %s at %s refused: HTTP %ld %s", action, sts_url,
			 resp.status, code);
		rc = resp.status == 400 || resp.status == 403 ? -EACCES : -EIO;
		goto out;
	}
	snprintf(resp_key, sizeof(resp_key), "%sResponse", action);
	snprintf(res_key, sizeof(res_key), "%sResult", action);
	rc = json_parse(&doc, resp.body, resp.len, toks, 96);
	i = rc ? rc : json_object_get(&doc, 0, resp_key);
	if (i >= 0)
		i = json_object_get(&doc, (unsigned int)i, res_key);
	if (i >= 0)
		i = json_object_get(&doc, (unsigned int)i, "Credentials");
	rc = i < 0 ? -EBADMSG : cred_from_json(&doc, (unsigned int)i, "SessionToken", 1, c);
	if (rc) {
		snprintf(err, errlen, "STS %s at %s: malformed answer", action, sts_url);
		rc = -EBADMSG;
	}
out:
	explicit_bzero(resp.body, resp.len);
	http_resp_free(&resp);
	return rc;
}

static int read_token(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		int e = errno;

		snprintf(err, errlen, "cannot read the web identity token %s: %s", path,
			 strerror(e));
		return -e;
	}
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (n == 0 || n >= cap - 2) {
		snprintf(err, errlen, "the web identity token %s is %s", path,
			 n ? "too large" : "empty");
		return -EINVAL;
	}
	return 0;
}

int cred_from_web_identity(const char *sts_url, const char *role_arn, const char *token_file,
			   const char *session_name, struct aws_credentials *c, char *err,
			   size_t errlen)
{
	size_t cap = 3 * STS_MAX_TOKEN + 4096;
	char *tok = malloc(STS_MAX_TOKEN), *body = calloc(1, cap);
	int rc = -ENOMEM;

	if (!tok || !body) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = read_token(token_file, tok, STS_MAX_TOKEN, err, errlen);
	if (rc)
		goto out;
	rc = form_add(body, cap, "Action", "AssumeRoleWithWebIdentity");
	if (!rc)
		rc = form_add(body, cap, "Version", "2011-06-15");
	if (!rc)
		rc = form_add(body, cap, "RoleArn", role_arn);
	if (!rc)
		rc = form_add(body, cap, "RoleSessionName", session_name);
	if (!rc)
		rc = form_add(body, cap, "WebIdentityToken", tok);
	if (rc) {
		snprintf(err, errlen, "STS AssumeRoleWithWebIdentity: request too large");
		goto out;
	}
	rc = sts_call(sts_url, "AssumeRoleWithWebIdentity", body, NULL, NULL, NULL, c, err, errlen);
out:
	if (tok)
		explicit_bzero(tok, STS_MAX_TOKEN);
	free(tok);
	free(body);
	return rc;
}

int cred_assume_role(const char *sts_url, const char *region, const struct aws_credentials *src,
		     const char *role_arn, const char *session_name, const char *external_id,
		     struct aws_credentials *c, char *err, size_t errlen)
{
	char body[2048] = "", sigv4[96], userpwd[300];
	int rc;

	rc = form_add(body, sizeof(body), "Action", "AssumeRole");
	if (!rc)
		rc = form_add(body, sizeof(body), "Version", "2011-06-15");
	if (!rc)
		rc = form_add(body, sizeof(body), "RoleArn", role_arn);
	if (!rc)
		rc = form_add(body, sizeof(body), "RoleSessionName", session_name);
	if (!rc && external_id && *external_id)
		rc = form_add(body, sizeof(body), "ExternalId", external_id);
	if (rc) {
		snprintf(err, errlen, "STS AssumeRole: request too large");
		return rc;
	}
	snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:sts", region);
	snprintf(userpwd, sizeof(userpwd), "%s:%s", src->access_key_id, src->secret_access_key);
	rc = sts_call(sts_url, "AssumeRole", body, sigv4, userpwd, src->session_token, c, err,
		      errlen);
	explicit_bzero(userpwd, sizeof(userpwd));
	return rc;
}
