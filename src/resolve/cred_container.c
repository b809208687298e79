/*
 * cred_container.c - credentials from the ECS task role and EKS Pod Identity
 * endpoints; see include/resolve/cred_sources.h.
 */
#include "resolve/cred_sources.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "resolve/http.h"

int cred_container_uri_allowed(const char *url)
{
	static const char *const hosts[] = {"169.254.170.2", "169.254.170.23", "[fd00:ec2::23]",
					    "localhost"};
	char host[128];
	const char *p, *end;
	struct in_addr a;
	size_t n;

	if (strncasecmp(url, "https://", 8) == 0)
		return 1;
	if (strncasecmp(url, "http://", 7) != 0)
		return 0;
	p = url + 7;
	if (*p == '[')
		end = strchr(p, ']') ? strchr(p, ']') + 1 : p + strlen(p);
	else
		end = p + strcspn(p, ":/?#");
	n = (size_t)(end - p);
	if (n == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, p, n);
	host[n] = '\0';
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (strcasecmp(host, hosts[i]) == 0)
			return 1;
	if (strcmp(host, "[::1]") == 0)
		return 1;
	/* any 127.0.0.0/8 address */
	return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

int cred_from_container(const char *url, const char *auth, struct aws_credentials *c, char *err,
			size_t errlen)
{
	char hdr[2200], why[320];
	const char *hdrs[] = {hdr, "Accept: application/json", NULL};
	struct http_req req = {
		.url = url,
		.headers = auth ? hdrs : hdrs + 1,
		.connect_timeout_ms = CRED_HTTP_CONNECT_TIMEOUT_MS,
		.timeout_ms = CRED_HTTP_TIMEOUT_MS,
		.max_body = 16 * 1024,
		.no_proxy = true,
	};
	struct json_tok toks[64];
	struct http_resp resp;
	struct json_doc doc;
	int rc;

	if (auth) {
		if (strpbrk(auth, "\r\n") || strlen(auth) > 2048) {
			snprintf(err, errlen, "the container authorization token is malformed");
			return -EINVAL;
		}
		snprintf(hdr, sizeof(hdr), "Authorization: %s", auth);
	}
	rc = http_request(&req, &resp, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "container credentials endpoint did not answer (%s)", why);
		return rc;
	}
	if (resp.status != 200) {
		snprintf(err, errlen, "container credentials endpoint %s answered HTTP %ld", url,
			 resp.status);
		rc = resp.status == 401 || resp.status == 403 ? -EACCES
		     : resp.status == 404		      ? -ENOENT
							      : -EIO;
		goto out;
	}
	rc = json_parse(&doc, resp.body, resp.len, toks, 64);
	if (!rc)
		rc = cred_from_json(&doc, 0, "Token", 0, c);
	if (rc) {
		snprintf(err, errlen, "container credentials endpoint %s: malformed credentials",
			 url);
		rc = -EBADMSG;
	}
out:
	explicit_bzero(resp.body, resp.len);
	http_resp_free(&resp);
	return rc;
}
