/*
 * cred_profile.c - one profile of ~/.aws/credentials and ~/.aws/config with
 * everything a profile can say about credentials (where simple):
 *   role_arn + source_profile [+ external_id, role_session_name]  STS AssumeRole
 *   aws_access_key_id + aws_secret_access_key [+ aws_session_token]
 *   credential_process
 * in that order (botocore asks the assume-role provider first).  A
 * source_profile chain is followed up to CRED_PROFILE_MAX_DEPTH profiles; a
 * profile naming itself as its source uses its own static keys.
 * credential_source (Environment, Ec2InstanceMetadata, EcsContainer) is not
 * supported: the error says so.  See include/resolve/cred_sources.h.
 */
#include "resolve/cred_sources.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resolve/ini.h"

#define CRED_PROFILE_MAX_DEPTH 4

struct profiles {
	struct ini creds, config;
	char cpath[256], fpath[256];
	const char *sts_url, *region;
};

static int aws_file(char *buf, size_t len, const char *env, const char *name)
{
	const char *v = getenv(env), *home = getenv("HOME");
	int n;

	if (v && *v)
		n = snprintf(buf, len, "%s", v);
	else if (home && *home)
		n = snprintf(buf, len, "%s/.aws/%s", home, name);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int load(struct ini *ini, char *path, size_t plen, const char *env, const char *name,
		char *err, size_t errlen)
{
	int rc;

	ini_init(ini);
	if (aws_file(path, plen, env, name))
		return 0;
	rc = ini_load_file(ini, path, false, err, errlen);
	return rc == -ENOENT ? 0 : rc;
}

/* A profile setting: config [profile P] ([default]) first, then credentials [P]. */
static const char *setting(const struct profiles *f, const char *profile, const char *key)
{
	char sect[80];
	const char *v;

	if (strcmp(profile, "default") == 0)
		snprintf(sect, sizeof(sect), "default");
	else
		snprintf(sect, sizeof(sect), "profile %s", profile);
	v = ini_get(&f->config, sect, key);
	if (!v)
		v = ini_get(&f->creds, profile, key);
	return v && *v ? v : NULL;
}

static int resolve_profile(struct profiles *f, const char *profile, int depth,
			   struct aws_credentials *c, char *err, size_t errlen);

static int assume(struct profiles *f, const char *profile, const char *role_arn, int depth,
		  struct aws_credentials *c, char *err, size_t errlen)
{
	const char *src_name = setting(f, profile, "source_profile");
	const char *sess = setting(f, profile, "role_session_name");
	char session[64], why[600];
	struct aws_credentials *src;
	int rc;

	if (!src_name) {
		snprintf(err, errlen,
			 "profile %s: role_arn needs source_profile (credential_source is not "
			 "supported by efs-fuse)",
			 profile);
		return -EINVAL;
	}
	if (!f->sts_url || !f->region || !*f->region) {
		snprintf(err, errlen, "profile %s: role_arn needs the region for STS", profile);
		return -EDESTADDRREQ;
	}
	src = calloc(1, sizeof(*src));
	if (!src)
		return -ENOMEM;
	if (strcmp(src_name, profile) == 0)
		rc = credentials_from_profile(&f->creds, &f->config, profile, src, why,
					      sizeof(why));
	else
		rc = resolve_profile(f, src_name, depth + 1, src, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "profile %s: source_profile %s: %.400s", profile, src_name,
			 why);
		goto out;
	}
	if (!sess)
		snprintf(session, sizeof(session), "efs-fuse-%ld", (long)time(NULL));
	rc = cred_assume_role(f->sts_url, f->region, src, role_arn, sess ? sess : session,
			      setting(f, profile, "external_id"), c, err, errlen);
	if (!rc)
		snprintf(c->source, sizeof(c->source), "profile %.40s (role %.90s)", profile,
			 role_arn);
out:
	explicit_bzero(src, sizeof(*src));
	free(src);
	return rc;
}

static int resolve_profile(struct profiles *f, const char *profile, int depth,
			   struct aws_credentials *c, char *err, size_t errlen)
{
	const char *role = setting(f, profile, "role_arn");
	const char *proc = setting(f, profile, "credential_process");
	char why[400] = "";
	int rc;

	if (depth > CRED_PROFILE_MAX_DEPTH) {
		snprintf(err, errlen, "profile %s: source_profile chain too long (a loop?)",
			 profile);
		return -ELOOP;
	}
	if (role)
		return assume(f, profile, role, depth, c, err, errlen);
	rc = credentials_from_profile(&f->creds, &f->config, profile, c, why, sizeof(why));
	if (rc == 0) {
		snprintf(c->source, sizeof(c->source), "profile %.48s", profile);
		return 0;
	}
	if (rc != -ENOENT || !proc) {
		snprintf(err, errlen, "%s", why);
		return rc;
	}
	rc = cred_from_process(proc, c, err, errlen);
	if (!rc)
		snprintf(c->source, sizeof(c->source), "profile %.48s (credential_process)",
			 profile);
	return rc;
}

int cred_from_profile_files(const char *profile, const char *sts_url, const char *region,
			    struct aws_credentials *c, char *err, size_t errlen)
{
	struct profiles *f = calloc(1, sizeof(*f));
	char why[600];
	int rc;

	if (!f) {
		snprintf(err, errlen, "out of memory reading AWS profiles");
		return -ENOMEM;
	}
	f->sts_url = sts_url;
	f->region = region;
	rc = load(&f->creds, f->cpath, sizeof(f->cpath), "AWS_SHARED_CREDENTIALS_FILE",
		  "credentials", err, errlen);
	if (!rc)
		rc = load(&f->config, f->fpath, sizeof(f->fpath), "AWS_CONFIG_FILE", "config", err,
			  errlen);
	if (rc)
		goto out;
	rc = resolve_profile(f, profile, 0, c, why, sizeof(why));
	if (rc == -ENOENT)
		snprintf(err, errlen, "profile %s not in %s or %s", profile,
			 f->cpath[0] ? f->cpath : "~/.aws/credentials",
			 f->fpath[0] ? f->fpath : "~/.aws/config");
	else if (rc)
		snprintf(err, errlen, "%s", why);
out:
	free(f);
	return rc;
}
