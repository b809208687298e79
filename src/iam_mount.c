/* iam_mount.c - -o iam / accesspoint= for main.c; see include/iam_mount.h. */
#include "config.h"

#include "iam_mount.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mount_opts.h"
#include "net/iam_cert.h"
#include "resolve/config.h"
#include "resolve/cred_chain.h"
#include "util/log.h"

struct iam_mount {
	bool iam;
	char accesspoint[32];
	char awsprofile[64];
	const struct mount_opts *o;
	char fs_id[32], region[32], common_name[65];
	pthread_mutex_t lock; /* protects source, failing */
	char source[160];     /* where the last credentials came from */
	bool failing;	      /* the last lookup failed (logged once per outage) */
	struct iam_key *key;
	struct cred_provider *creds;
	struct iam_cert_cfg cert; /* points into this struct */
};

int iam_mount_new(const struct mount_opts *o, struct iam_mount **out, char *err, size_t errlen)
{
	struct resolve_cmdline cl = {.region = o->region, .dnsserver = o->dnsserver, .quiet = true};
	struct resolve_config *cfg = calloc(1, sizeof(*cfg));
	struct iam_mount *im = NULL;
	int rc;

	*out = NULL;
	if (!cfg) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = resolve_config_load(cfg, &cl, err, errlen);
	if (rc)
		goto out;
	if (!o->iam && !cfg->iam && !o->accesspoint && !cfg->accesspoint[0])
		goto out;
	im = calloc(1, sizeof(*im));
	if (!im) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	pthread_mutex_init(&im->lock, NULL);
	im->o = o;
	im->iam = o->iam || cfg->iam;
	snprintf(im->accesspoint, sizeof(im->accesspoint), "%s",
		 o->accesspoint ? o->accesspoint : cfg->accesspoint);
	snprintf(im->awsprofile, sizeof(im->awsprofile), "%s",
		 o->awsprofile ? o->awsprofile : cfg->awsprofile);
	*out = im;
out:
	free(cfg);
	return rc;
}

static int get_creds(void *arg, struct iam_creds *out, char *source, size_t srclen, char *err,
		     size_t errlen)
{
	struct iam_mount *im = arg;
	struct aws_credentials c;
	int rc = cred_provider_get(im->creds, &c, err, errlen);

	pthread_mutex_lock(&im->lock);
	if (rc && !im->failing && im->source[0])
		efs_log(EFS_LOG_WARN, "iam: no credentials for a new connection to %s: %s",
			im->fs_id, err);
	else if (!rc && im->failing)
		efs_log(EFS_LOG_NOTICE, "iam: credentials available again (from %s)", c.source);
	im->failing = rc != 0;
	pthread_mutex_unlock(&im->lock);
	if (rc == 0) {
		memcpy(out->access_key_id, c.access_key_id, sizeof(out->access_key_id));
		memcpy(out->secret_access_key, c.secret_access_key, sizeof(out->secret_access_key));
		memcpy(out->session_token, c.session_token, sizeof(out->session_token));
		snprintf(source, srclen, "%s", c.source);
		pthread_mutex_lock(&im->lock);
		snprintf(im->source, sizeof(im->source), "%s", c.source);
		pthread_mutex_unlock(&im->lock);
	}
	explicit_bzero(&c, sizeof(c));
	return rc;
}

int iam_mount_prepare(struct iam_mount *im, const char *fs_id, const char *region, char *err,
		      size_t errlen)
{
	const char *what = im->iam ? "-o iam" : "-o accesspoint";
	const char *v = getenv("EFS_FUSE_TEST_CERT_VALIDITY_S");
	struct cred_chain_opts co = {0};
	struct aws_credentials c;
	int rc;

	if (!fs_id || !*fs_id) {
		snprintf(err, errlen,
			 "%s needs the file system id as SOURCE (fs-XXXXXXXX[:/path]); add "
			 "-o mounttargetip=IP to connect to an address",
			 what);
		return -EINVAL;
	}
	if (!region || !*region) {
		snprintf(err, errlen, "%s needs the file system's region: give -o region=", what);
		return -EDESTADDRREQ;
	}
	snprintf(im->fs_id, sizeof(im->fs_id), "%s", fs_id);
	snprintf(im->region, sizeof(im->region), "%s", region);
	if (gethostname(im->common_name, sizeof(im->common_name)) < 0)
		strcpy(im->common_name, "localhost");
	im->common_name[64] = '\0';
	if (im->iam) {
		co.awsprofile = im->awsprofile[0] ? im->awsprofile : NULL;
		co.awscredsuri = im->o->awscredsuri;
		co.rolearn = im->o->rolearn;
		co.jwtpath = im->o->jwtpath;
		co.region = im->region;
		im->creds = cred_provider_new(&co);
		if (!im->creds) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		rc = cred_provider_get(im->creds, &c, err, errlen);
		explicit_bzero(&c, sizeof(c));
		if (rc)
			return rc;
	}
	im->key = iam_key_generate(IAM_CERT_KEY_BITS, err, errlen);
	if (!im->key)
		return -EIO;
	im->cert = (struct iam_cert_cfg){
		.fs_id = im->fs_id,
		.region = im->region,
		.access_point = im->accesspoint[0] ? im->accesspoint : NULL,
		.common_name = im->common_name,
		.client_source = "efs-fuse",
		.client_version = PACKAGE_VERSION,
		.iam = im->iam,
		.get_creds = get_creds,
		.creds_arg = im,
		.key = im->key,
		.validity_s = v ? (unsigned int)strtoul(v, NULL, 10) : 0,
	};
	efs_log(EFS_LOG_INFO, "iam: client certificate for %s%s%s%s", im->fs_id,
		im->cert.access_point ? " through " : "",
		im->cert.access_point ? im->cert.access_point : "", im->iam ? ", IAM-signed" : "");
	return 0;
}

void iam_mount_explain(struct iam_mount *im, int rc, char *err, size_t errlen)
{
	size_t n = strlen(err);
	char src[160];

	if (rc != -EACCES && rc != -EPERM && !strstr(err, "NFS4ERR_ACCESS") &&
	    !strstr(err, "NFS4ERR_PERM"))
		return;
	pthread_mutex_lock(&im->lock);
	snprintf(src, sizeof(src), "%s", im->source);
	pthread_mutex_unlock(&im->lock);
	if (im->iam)
		snprintf(err + n, errlen - n,
			 ": the file system policy of %s may not grant "
			 "elasticfilesystem:ClientMount "
			 "to the credentials from %s%s%s",
			 im->fs_id, src[0] ? src : "?",
			 im->cert.access_point ? ", or access point " : "",
			 im->cert.access_point ? "denies its root directory to its user" : "");
	else
		snprintf(err + n, errlen - n,
			 ": the file system policy may require IAM authorization (add -o iam)%s",
			 im->cert.access_point ? ", or the access point denies its root directory"
					       : "");
}

const struct iam_cert_cfg *iam_mount_cert_cfg(const struct iam_mount *im)
{
	return &im->cert;
}

void iam_mount_free(struct iam_mount *im)
{
	if (!im)
		return;
	cred_provider_free(im->creds);
	iam_key_free(im->key);
	pthread_mutex_destroy(&im->lock);
	free(im);
}
