/* resolve.c - SOURCE -> mount target address; see include/resolve/resolve.h. */
#include "resolve/resolve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolve/config.h"
#include "resolve/credentials.h"
#include "resolve/dns.h"
#include "resolve/dns_name.h"
#include "resolve/efs_api.h"
#include "resolve/http.h"
#include "resolve/imds.h"
#include "util/log.h"

#define SUGGEST                                                              \
	"use -o mounttargetip=IP to connect to a mount target directly, or " \
	"-o dnsserver=IP to ask your VPC's DNS resolver"

/* Everything one resolution needs; lives on the heap for one call. */
struct resolve_ctx {
	const struct resolve_req *req;
	struct resolve_cmdline cl;
	struct ini ini;
	struct resolve_config cfg;
	struct imds imds;
	bool imds_ready;
};

int resolve_global_init(void)
{
	return http_global_init();
}

void resolve_global_cleanup(void)
{
	http_global_cleanup();
}

static struct imds *ctx_imds(struct resolve_ctx *c)
{
	if (!c->cfg.imds_enabled)
		return NULL;
	if (!c->imds_ready) {
		imds_init(&c->imds, c->cfg.imds_endpoint);
		c->imds_ready = true;
	}
	return &c->imds;
}

static const char *imds_disabled_why(const struct resolve_ctx *c)
{
	return c->cfg.files[0] ? "instance metadata is disabled (imds_enabled or "
				 "AWS_EC2_METADATA_DISABLED)"
			       : "instance metadata is disabled by AWS_EC2_METADATA_DISABLED";
}

/* Region from the command line / environment / files, else instance metadata. */
static int ensure_region(struct resolve_ctx *c, char *err, size_t errlen)
{
	char region[32], why[400];
	struct imds *m;
	int rc;

	if (c->cfg.region[0])
		return 0;
	m = ctx_imds(c);
	if (!m) {
		snprintf(err, errlen,
			 "cannot determine the region: set -o region= or AWS_REGION "
			 "(%s)",
			 imds_disabled_why(c));
		return -EDESTADDRREQ;
	}
	rc = imds_region(m, region, sizeof(region), why, sizeof(why));
	if (rc) {
		snprintf(err, errlen,
			 "cannot determine the region: set -o region= or AWS_REGION "
			 "(%s)",
			 why);
		return -EDESTADDRREQ;
	}
	efs_log(EFS_LOG_DEBUG, "resolve: region %s from instance metadata", region);
	return resolve_config_apply_region(&c->cfg, &c->ini, &c->cl, region, RCFG_IMDS, err,
					   errlen);
}

static int fs_dns_name(struct resolve_ctx *c, char *out, size_t outlen, char *err, size_t errlen)
{
	struct dns_name_fields f = {
		.fs_id = c->req->fs_id,
		.region = c->cfg.region,
		.az = c->req->az,
		.dns_name_suffix = c->cfg.dns_name_suffix,
	};

	return dns_name_build(out, outlen, c->cfg.dns_name_format, &f, err, errlen);
}

/* {region} and {dns_name_suffix} in the efs_api_endpoint URL. */
static int expand_endpoint(const struct resolve_ctx *c, char *out, size_t outlen, char *err,
			   size_t errlen)
{
	return resolve_config_expand(&c->cfg, c->cfg.efs_api_endpoint, "efs_api_endpoint", out,
				     outlen, err, errlen);
}

static int api_fallback(struct resolve_ctx *c, struct resolve_result *res, char *err, size_t errlen)
{
	struct aws_credentials *creds = NULL;
	struct efs_mount_target *mts = NULL;
	char endpoint[300], az_id[32] = "", why[400];
	struct efs_api_req ar;
	unsigned int n = 0;
	struct imds *m;
	int rc, i;

	rc = expand_endpoint(c, endpoint, sizeof(endpoint), err, errlen);
	if (rc)
		return rc;
	m = ctx_imds(c);
	if (!(c->req->az && *c->req->az)) {
		if (!m) {
			snprintf(err, errlen,
				 "it needs this instance's availability zone: give "
				 "-o az=NAME (%s)",
				 imds_disabled_why(c));
			return -EDESTADDRREQ;
		}
		rc = imds_az_id(m, az_id, sizeof(az_id), why, sizeof(why));
		if (rc) {
			snprintf(err, errlen,
				 "it needs this instance's availability zone: give "
				 "-o az=NAME (%s)",
				 why);
			return rc;
		}
	}
	creds = calloc(1, sizeof(*creds));
	mts = calloc(EFS_API_MAX_TARGETS, sizeof(*mts));
	if (!creds || !mts) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = credentials_find(c->req->awsprofile, m, creds, err, errlen);
	if (rc)
		goto out;
	efs_log(EFS_LOG_DEBUG, "resolve: EFS API %s with credentials from %s", endpoint,
		creds->source);
	ar = (struct efs_api_req){
		.endpoint = endpoint,
		.region = c->cfg.region,
		.fs_id = c->req->fs_id,
		.creds = creds,
	};
	rc = efs_api_describe_mount_targets(&ar, mts, EFS_API_MAX_TARGETS, &n, err, errlen);
	if (rc)
		goto out;
	i = efs_api_pick(mts, n, c->req->fs_id, az_id, c->req->az, err, errlen);
	if (i < 0) {
		rc = i;
		goto out;
	}
	snprintf(res->addr, sizeof(res->addr), "%s", mts[i].ip);
	snprintf(res->mount_target_id, sizeof(res->mount_target_id), "%s", mts[i].id);
	res->how = RESOLVE_BY_EFS_API;
	efs_log(EFS_LOG_INFO, "resolve: %s -> %s (mount target %s in %s/%s, from the EFS API)",
		c->req->fs_id, res->addr, mts[i].id, mts[i].az_name, mts[i].az_id);
out:
	if (creds)
		explicit_bzero(creds, sizeof(*creds));
	free(creds);
	free(mts);
	return rc;
}

static int by_mounttargetip(struct resolve_ctx *c, struct resolve_result *res, char *err,
			    size_t errlen)
{
	const struct resolve_req *r = c->req;
	char name[256], why[400];
	int rc;

	if (!dns_is_numeric(r->mounttargetip)) {
		snprintf(err, errlen,
			 "-o mounttargetip=%s is not an IP address: give the mount "
			 "target's address, e.g. -o mounttargetip=10.0.3.7",
			 r->mounttargetip);
		return -EINVAL;
	}
	snprintf(res->addr, sizeof(res->addr), "%s", r->mounttargetip);
	res->how = RESOLVE_BY_IP;
	if (!r->fs_id) {
		snprintf(res->tls_name, sizeof(res->tls_name), "%s",
			 r->host ? r->host : r->mounttargetip);
		goto done;
	}
	if (r->tls) {
		rc = ensure_region(c, why, sizeof(why));
		if (rc) {
			snprintf(err, errlen,
				 "-o tls needs the file system's DNS name to check the "
				 "certificate: %s",
				 why);
			return rc;
		}
	}
	if (c->cfg.region[0]) {
		rc = fs_dns_name(c, name, sizeof(name), why, sizeof(why));
		if (rc == 0) {
			snprintf(res->tls_name, sizeof(res->tls_name), "%s", name);
		} else if (r->tls) {
			snprintf(err, errlen, "%s", why);
			return rc;
		}
	}
	if (!res->tls_name[0])
		snprintf(res->tls_name, sizeof(res->tls_name), "%s", r->mounttargetip);
done:
	efs_log(EFS_LOG_INFO, "resolve: using mount target %s (-o mounttargetip, no DNS)",
		res->addr);
	return 0;
}

static int by_host(struct resolve_ctx *c, struct resolve_result *res, char *err, size_t errlen)
{
	const struct resolve_req *r = c->req;
	char why[400];
	int rc;

	snprintf(res->tls_name, sizeof(res->tls_name), "%s", r->host);
	if (dns_is_numeric(r->host)) {
		snprintf(res->addr, sizeof(res->addr), "%s", r->host);
		res->how = RESOLVE_BY_IP;
		return 0;
	}
	if (!dns_name_is_hostname(r->host)) {
		snprintf(err, errlen, "\"%s\" is neither a host name nor an IP address", r->host);
		return -EINVAL;
	}
	rc = dns_lookup(r->host, c->cfg.dnsserver, false, c->cfg.dns_timeout_ms, res->addr,
			sizeof(res->addr), why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "%s: %s", why,
			 rc == -EINVAL ? "fix -o dnsserver"
				       : "check the name, or give the server's IP address, or -o "
					 "dnsserver=IP");
		return rc;
	}
	res->how = RESOLVE_BY_DNS;
	efs_log(EFS_LOG_INFO, "resolve: %s -> %s (DNS)", r->host, res->addr);
	return 0;
}

static int by_fs_id(struct resolve_ctx *c, struct resolve_result *res, char *err, size_t errlen)
{
	const struct resolve_req *r = c->req;
	char dnserr[400], apierr[1200];
	int rc;

	rc = ensure_region(c, err, errlen);
	if (rc)
		return rc;
	rc = fs_dns_name(c, res->tls_name, sizeof(res->tls_name), err, errlen);
	if (rc)
		return rc;
	rc = dns_lookup(res->tls_name, c->cfg.dnsserver, true, c->cfg.dns_timeout_ms, res->addr,
			sizeof(res->addr), dnserr, sizeof(dnserr));
	if (rc == 0) {
		res->how = RESOLVE_BY_DNS;
		efs_log(EFS_LOG_INFO, "resolve: %s -> %s (DNS)", res->tls_name, res->addr);
		return 0;
	}
	if (rc == -EINVAL || rc == -ENOMEM) {
		snprintf(err, errlen, "%s", dnserr);
		return rc;
	}
	if (!c->cfg.fallback_enabled) {
		snprintf(err, errlen, "%s: %s", dnserr, SUGGEST);
		return rc;
	}
	efs_log(EFS_LOG_INFO, "resolve: %s; asking the EFS API for the mount target", dnserr);
	rc = api_fallback(c, res, apierr, sizeof(apierr));
	if (rc) {
		res->addr[0] = '\0';
		snprintf(err, errlen, "%s; the EFS API fallback failed: %s; %s", dnserr, apierr,
			 SUGGEST);
		return rc;
	}
	(void)r;
	return 0;
}

static int check_req(const struct resolve_req *r, char *err, size_t errlen)
{
	if (r->fs_id && !dns_name_is_fs_id(r->fs_id)) {
		snprintf(err, errlen,
			 "\"%s\" is not a file system id: write fs- and the hex digits, "
			 "e.g. fs-12345678",
			 r->fs_id);
		return -EINVAL;
	}
	if (r->az && *r->az && (!dns_name_is_hostname(r->az) || strchr(r->az, '.'))) {
		snprintf(err, errlen,
			 "-o az=%s is not an availability zone name: write e.g. "
			 "az=us-east-1a",
			 r->az);
		return -EINVAL;
	}
	if (!r->fs_id && !r->host && !r->mounttargetip) {
		snprintf(err, errlen,
			 "nothing to connect to: give fs-ID, HOST:/PATH or "
			 "-o mounttargetip=IP");
		return -EINVAL;
	}
	return 0;
}

int resolve_mount_target(const struct resolve_req *req, struct resolve_result *res, char *err,
			 size_t errlen)
{
	struct resolve_ctx *c;
	int rc;

	memset(res, 0, sizeof(*res));
	if (errlen)
		err[0] = '\0';
	rc = check_req(req, err, errlen);
	if (rc)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->req = req;
	c->cl.region = req->region;
	c->cl.dnsserver = req->dnsserver;
	ini_init(&c->ini);
	rc = resolve_config_read_files(&c->ini, err, errlen);
	if (!rc)
		rc = resolve_config_build(&c->cfg, &c->ini, &c->cl, err, errlen);
	if (rc)
		goto out;

	if (req->mounttargetip && *req->mounttargetip)
		rc = by_mounttargetip(c, res, err, errlen);
	else if (req->host && *req->host)
		rc = by_host(c, res, err, errlen);
	else
		rc = by_fs_id(c, res, err, errlen);
	if (rc == 0)
		snprintf(res->region, sizeof(res->region), "%s", c->cfg.region);
out:
	if (rc) {
		memset(res, 0, sizeof(*res));
		if (errlen && !err[0])
			snprintf(err, errlen, "cannot find the mount target: %s", strerror(-rc));
	}
	free(c);
	return rc;
}
