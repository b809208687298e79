/*
 * http.h - the one place that talks libcurl: a blocking HTTP request with
 * hard timeouts and a bounded response body, optionally signed with AWS
 * Signature Version 4 (curl's CURLOPT_AWS_SIGV4).
 *
 * Contract
 *  - http_global_init() once per process before threads start (main.c);
 *    it wraps curl_global_init().  http_global_cleanup() at exit.
 *  - http_request() makes a fresh easy handle per call: thread-safe, no
 *    shared state, no signals (CURLOPT_NOSIGNAL).
 *  - Returns 0 when an HTTP response arrived (any status: look at
 *    resp->status), or a negative errno when none did:
 *      -ECONNREFUSED / -EHOSTUNREACH / -ETIMEDOUT / -EPROTO / -E2BIG (body
 *      over max_body) / -ENOMEM / -EINVAL (bad URL), with one line in err.
 *  - resp->body is NUL-terminated heap memory owned by resp; free it with
 *    http_resp_free().
 *  - no_proxy: bypass http_proxy & co. (instance metadata must never go
 *    through a proxy).
 */
#ifndef EFS_RESOLVE_HTTP_H
#define EFS_RESOLVE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct http_req {
	const char *method; /* "GET" (default), "PUT" or "POST" */
	const char *body;   /* POST: the request body (NUL-terminated), or NULL */
	const char *url;
	const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
	const char *aws_sigv4;	    /* e.g. "aws:amz:us-east-1:elasticfilesystem", or NULL */
	const char *userpwd;	    /* "ACCESS_KEY:SECRET" for SigV4 */
	long connect_timeout_ms;
	long timeout_ms;
	size_t max_body; /* 0 = 64 KiB */
	bool no_proxy;
	const char *cafile; /* NULL = system CAs */
};

struct http_resp {
	long status;
	char *body;
	size_t len;
	char error_type[96]; /* x-amzn-ErrorType header, "" if none */
};

int http_global_init(void);
void http_global_cleanup(void);
int http_request(const struct http_req *req, struct http_resp *resp, char *err, size_t errlen);
void http_resp_free(struct http_resp *resp);

#endif
