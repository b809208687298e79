/* http.c - libcurl wrapper; see include/resolve/http.h. <curl/curl.h> lives only here. */
#include "config.h"

#include "resolve/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_DEFAULT_MAX_BODY (64 * 1024)

struct sink {
	struct http_resp *resp;
	size_t cap, max;
	bool overflow;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;

	if (s->resp->len + n > s->max) {
		s->overflow = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (s->resp->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *nb;

		while (cap < s->resp->len + n + 1)
			cap *= 2;
		nb = realloc(s->resp->body, cap);
		if (!nb)
			return 0;
		s->resp->body = nb;
		s->cap = cap;
	}
	memcpy(s->resp->body + s->resp->len, data, n);
	s->resp->len += n;
	s->resp->body[s->resp->len] = '\0';
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct http_resp *resp = ud;
	size_t n = size * nmemb;
	static const char name[] = "x-amzn-errortype:";
	size_t nl = sizeof(name) - 1;

	if (n > nl && strncasecmp(data, name, nl) == 0) {
		const char *v = data + nl;
		size_t vl = n - nl;

		while (vl && (*v == ' ' || *v == '\t')) {
			v++;
			vl--;
		}
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		/* "ThrottlingException:http://internal.amazon.com/..." -> the name only */
		for (size_t i = 0; i < vl; i++)
			if (v[i] == ':') {
				vl = i;
				break;
			}
		if (vl >= sizeof(resp->error_type))
			vl = sizeof(resp->error_type) - 1;
		memcpy(resp->error_type, v, vl);
		resp->error_type[vl] = '\0';
	}
	return n;
}

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

static int map_curl_error(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
		return -EACCES;
	default:
		return -EPROTO;
	}
}

int http_request(const struct http_req *req, struct http_resp *resp, char *err, size_t errlen)
{
	char cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	struct sink sink = {.resp = resp};
	const char *method = req->method ? req->method : "GET";
	CURLcode c;
	CURL *h;
	int rc = 0;

	memset(resp, 0, sizeof(*resp));
	sink.max = req->max_body ? req->max_body : HTTP_DEFAULT_MAX_BODY;
	h = curl_easy_init();
	if (!h) {
		snprintf(err, errlen, "out of memory (curl)");
		return -ENOMEM;
	}
	if (req->headers) {
		for (const char *const *p = req->headers; *p; p++) {
			struct curl_slist *n = curl_slist_append(hdrs, *p);

			if (!n) {
				rc = -ENOMEM;
				snprintf(err, errlen, "out of memory (curl)");
				goto out;
			}
			hdrs = n;
		}
	}
	/*
	 * No "Expect: 100-continue" on PUT or POST.  Not for a signed request:
	 * curl's SigV4 would sign the empty header that is never sent.
	 */
	if ((strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0) && !req->aws_sigv4) {
		struct curl_slist *n = curl_slist_append(hdrs, "Expect:");

		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		hdrs = n;
	}
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "efs-fuse/" PACKAGE_VERSION);
	if (req->no_proxy)
		curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (req->cafile)
		curl_easy_setopt(h, CURLOPT_CAINFO, req->cafile);
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
				 (long)(req->body ? strlen(req->body) : 0));
	} else if (strcmp(method, "GET") != 0) {
		rc = -EINVAL;
		snprintf(err, errlen, "unsupported HTTP method %s", method);
		goto out;
	}
	if (req->aws_sigv4) {
		curl_easy_setopt(h, CURLOPT_AWS_SIGV4, req->aws_sigv4);
		curl_easy_setopt(h, CURLOPT_USERPWD, req->userpwd);
	}
	if (hdrs)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

	c = curl_easy_perform(h);
	if (c != CURLE_OK) {
		if (sink.overflow) {
			rc = -E2BIG;
			snprintf(err, errlen, "%s answered with more than %zu bytes", req->url,
				 sink.max);
		} else {
			rc = map_curl_error(c);
			snprintf(err, errlen, "%s: %s", req->url,
				 cerr[0] ? cerr : curl_easy_strerror(c));
		}
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!resp->body) {
		resp->body = calloc(1, 1);
		if (!resp->body) {
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
		}
	}
out:
	if (rc)
		http_resp_free(resp);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rc;
}

void http_resp_free(struct http_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}
