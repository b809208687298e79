/* credentials.c - the AWS credential chain; see include/resolve/credentials.h. */
#include "resolve/credentials.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolve/imds.h"

static int copy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		return -E2BIG;
	memcpy(dst, src, n + 1);
	return 0;
}

static bool valid_profile(const char *p)
{
	return *p && strlen(p) < 48 && !strpbrk(p, "[]\n\r");
}

/* One section: 0 when it holds both keys, -ENOENT when it holds neither, -EINVAL when half. */
static int from_section(const struct ini *ini, const char *section, const char *what,
			struct aws_credentials *c, char *err, size_t errlen)
{
	const char *ak = ini_get(ini, section, "aws_access_key_id");
	const char *sk = ini_get(ini, section, "aws_secret_access_key");
	const char *tok = ini_get(ini, section, "aws_session_token");

	if (!ak && !sk)
		return -ENOENT;
	if (!ak || !sk || !*ak || !*sk) {
		snprintf(err, errlen, "%s [%s] has %s but not %s", what, section,
			 ak ? "aws_access_key_id" : "aws_secret_access_key",
			 ak ? "aws_secret_access_key" : "aws_access_key_id");
		return -EINVAL;
	}
	if (copy(c->access_key_id, sizeof(c->access_key_id), ak) ||
	    copy(c->secret_access_key, sizeof(c->secret_access_key), sk) ||
	    copy(c->session_token, sizeof(c->session_token), tok ? tok : "")) {
		snprintf(err, errlen, "%s [%s]: a credential is too long", what, section);
		return -E2BIG;
	}
	snprintf(c->source, sizeof(c->source), "%s [%s]", what, section);
	return 0;
}

int credentials_from_profile(const struct ini *creds_file, const struct ini *config_file,
			     const char *profile, struct aws_credentials *c, char *err,
			     size_t errlen)
{
	char sect[64];
	int rc;

	if (!valid_profile(profile)) {
		snprintf(err, errlen, "\"%s\" is not a profile name", profile);
		return -EINVAL;
	}
	if (creds_file) {
		rc = from_section(creds_file, profile, "credentials file", c, err, errlen);
		if (rc != -ENOENT)
			return rc;
	}
	if (config_file) {
		if (strcmp(profile, "default") == 0) {
			rc = from_section(config_file, "default", "config file", c, err, errlen);
			if (rc != -ENOENT)
				return rc;
		}
		snprintf(sect, sizeof(sect), "profile %s", profile);
		rc = from_section(config_file, sect, "config file", c, err, errlen);
		if (rc != -ENOENT)
			return rc;
	}
	snprintf(err, errlen, "profile %s has no aws_access_key_id/aws_secret_access_key", profile);
	return -ENOENT;
}

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

/* Load one AWS file; a missing file is an empty ini. */
static int load(struct ini *ini, const char *env, const char *name, char *path, size_t plen,
		char *err, size_t errlen)
{
	int rc;

	ini_init(ini);
	path[0] = '\0';
	if (aws_file(path, plen, env, name) != 0)
		return 0;
	rc = ini_load_file(ini, path, false, err, errlen);
	return rc == -ENOENT ? 0 : rc;
}

int credentials_find(const char *awsprofile, struct imds *imds, struct aws_credentials *c,
		     char *err, size_t errlen)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tok = getenv("AWS_SESSION_TOKEN"), *profile;
	char cpath[256], fpath[256], why[320] = "";
	struct ini *files;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!(awsprofile && *awsprofile) && ak && *ak && sk && *sk) {
		if (copy(c->access_key_id, sizeof(c->access_key_id), ak) ||
		    copy(c->secret_access_key, sizeof(c->secret_access_key), sk) ||
		    copy(c->session_token, sizeof(c->session_token), tok ? tok : "")) {
			snprintf(err, errlen,
				 "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/"
				 "AWS_SESSION_TOKEN: a value is too long");
			return -E2BIG;
		}
		snprintf(c->source, sizeof(c->source), "environment");
		return 0;
	}

	profile = awsprofile && *awsprofile ? awsprofile : getenv("AWS_PROFILE");
	if (!profile || !*profile)
		profile = "default";
	files = malloc(2 * sizeof(*files));
	if (!files) {
		snprintf(err, errlen, "out of memory reading AWS credentials");
		return -ENOMEM;
	}
	rc = load(&files[0], "AWS_SHARED_CREDENTIALS_FILE", "credentials", cpath, sizeof(cpath),
		  err, errlen);
	if (!rc)
		rc = load(&files[1], "AWS_CONFIG_FILE", "config", fpath, sizeof(fpath), err,
			  errlen);
	if (!rc)
		rc = credentials_from_profile(&files[0], &files[1], profile, c, why, sizeof(why));
	free(files);
	if (rc == 0) {
		char src[sizeof(c->source)];

		snprintf(src, sizeof(src), "%s", c->source);
		snprintf(c->source, sizeof(c->source), "profile %.48s (%.100s)", profile, src);
		return 0;
	}
	if (rc != -ENOENT) {
		if (why[0])
			snprintf(err, errlen, "%s", why);
		return rc;
	}
	if (awsprofile && *awsprofile) {
		snprintf(err, errlen, "-o awsprofile=%s: no such profile with keys in %s or %s",
			 awsprofile, cpath[0] ? cpath : "~/.aws/credentials",
			 fpath[0] ? fpath : "~/.aws/config");
		return -ENOENT;
	}
	if (imds) {
		char ierr[400];

		rc = imds_role_credentials(imds, c, ierr, sizeof(ierr));
		if (rc == 0)
			return 0;
		snprintf(
			err, errlen,
			"no AWS credentials: set AWS_ACCESS_KEY_ID/"
			"AWS_SECRET_ACCESS_KEY, add profile %s to ~/.aws/credentials, or attach an "
			"IAM role (%s)",
			profile, ierr);
		return -ENOENT;
	}
	snprintf(err, errlen,
		 "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
		 "add profile %s to ~/.aws/credentials (instance metadata is disabled)",
		 profile);
	return -ENOENT;
}
