/* cred_chain.c - the -o iam credential chain and its cache; see include/resolve/cred_chain.h. */
#include "resolve/cred_chain.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resolve/config.h"
#include "resolve/cred_sources.h"
#include "resolve/imds.h"
#include "util/log.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

const char *cred_kind_name(enum cred_kind k)
{
	switch (k) {
	case CRED_ECS:
		return "ECS task role";
	case CRED_POD_IDENTITY:
		return "EKS Pod Identity";
	case CRED_WEB_IDENTITY:
		return "web identity";
	case CRED_ENV:
		return "environment";
	case CRED_PROFILE:
		return "profile";
	case CRED_IMDS:
		return "instance role";
	}
	return "?";
}

int cred_chain_plan(const struct cred_chain_opts *o, enum cred_kind *out, int max)
{
	int n = 0;

#define ADD(k)                          \
	do {                            \
		if (n < max)            \
			out[n++] = (k); \
	} while (0)
	if (o->awscredsuri && *o->awscredsuri) {
		ADD(CRED_ECS);
		return n;
	}
	if (o->rolearn && *o->rolearn && o->jwtpath && *o->jwtpath) {
		ADD(CRED_WEB_IDENTITY);
		return n;
	}
	if (o->awsprofile && *o->awsprofile) {
		ADD(CRED_PROFILE);
		return n;
	}
	if (env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"))
		ADD(CRED_ECS);
	if (env("AWS_CONTAINER_CREDENTIALS_FULL_URI"))
		ADD(CRED_POD_IDENTITY);
	if (env("AWS_ROLE_ARN") && env("AWS_WEB_IDENTITY_TOKEN_FILE"))
		ADD(CRED_WEB_IDENTITY);
	if (env("AWS_ACCESS_KEY_ID") || env("AWS_SECRET_ACCESS_KEY"))
		ADD(CRED_ENV);
	ADD(CRED_PROFILE);
	ADD(CRED_IMDS);
#undef ADD
	return n;
}

/* Everything one lookup needs besides the options. */
struct chain_ctx {
	const struct cred_chain_opts *o;
	struct resolve_config cfg;
	char sts_url[300];
};

static int from_ecs(struct chain_ctx *x, struct aws_credentials *c, char *err, size_t errlen)
{
	const char *rel = x->o->awscredsuri && *x->o->awscredsuri
				  ? x->o->awscredsuri
				  : env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	char url[600];
	size_t n;
	int rc;

	if (rel[0] != '/') {
		snprintf(err, errlen, "the relative credentials URI \"%s\" must start with '/'",
			 rel);
		return -EINVAL;
	}
	snprintf(url, sizeof(url), "%s", x->cfg.container_endpoint);
	n = strlen(url);
	while (n && url[n - 1] == '/')
		url[--n] = '\0';
	snprintf(url + n, sizeof(url) - n, "%s", rel);
	rc = cred_from_container(url, NULL, c, err, errlen);
	if (!rc)
		snprintf(c->source, sizeof(c->source), "ECS task role (%.120s)", rel);
	return rc;
}

static int read_small(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		int e = errno;

		snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
		return -e;
	}
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static int from_pod_identity(struct chain_ctx *x, struct aws_credentials *c, char *err,
			     size_t errlen)
{
	const char *url = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *tok = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	char buf[2100];
	int rc;

	if (!cred_container_uri_allowed(url)) {
		snprintf(err, errlen,
			 "AWS_CONTAINER_CREDENTIALS_FULL_URI %s: http:// is allowed only to "
			 "loopback and the ECS/EKS link-local addresses",
			 url);
		return -EPERM;
	}
	if (file) {
		rc = read_small(file, buf, sizeof(buf), err, errlen);
		if (rc)
			return rc;
		if (strpbrk(buf, "\r\n") || !buf[0]) {
			snprintf(err, errlen, "the authorization token in %s is malformed", file);
			return -EINVAL;
		}
		tok = buf;
	}
	rc = cred_from_container(url, tok, c, err, errlen);
	explicit_bzero(buf, sizeof(buf));
	if (!rc)
		snprintf(c->source, sizeof(c->source), "EKS Pod Identity (%.120s)", url);
	return rc;
}

static int from_web_identity(struct chain_ctx *x, struct aws_credentials *c, char *err,
			     size_t errlen)
{
	bool opt = x->o->rolearn && *x->o->rolearn && x->o->jwtpath && *x->o->jwtpath;
	const char *arn = opt ? x->o->rolearn : env("AWS_ROLE_ARN");
	const char *file = opt ? x->o->jwtpath : env("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *sess = env("AWS_ROLE_SESSION_NAME");
	char session[64];
	int rc;

	if (!x->sts_url[0]) {
		snprintf(err, errlen, "web identity needs the region (for STS): give -o region=");
		return -EDESTADDRREQ;
	}
	if (!sess) {
		snprintf(session, sizeof(session), "efs-fuse-%ld", (long)time(NULL));
		sess = session;
	}
	rc = cred_from_web_identity(x->sts_url, arn, file, sess, c, err, errlen);
	if (!rc)
		snprintf(c->source, sizeof(c->source), "web identity (role %.120s)", arn);
	return rc;
}

static int from_env(struct chain_ctx *x, struct aws_credentials *c, char *err, size_t errlen)
{
	const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
	const char *tok = env("AWS_SESSION_TOKEN");

	if (!ak || !sk) {
		snprintf(err, errlen, "%s is set but %s is not",
			 ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			 ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		return -EINVAL;
	}
	if (strlen(ak) >= sizeof(c->access_key_id) || strlen(sk) >= sizeof(c->secret_access_key) ||
	    (tok && strlen(tok) >= sizeof(c->session_token))) {
		snprintf(err, errlen, "an AWS_* credential variable is too long");
		return -E2BIG;
	}
	strcpy(c->access_key_id, ak);
	strcpy(c->secret_access_key, sk);
	strcpy(c->session_token, tok ? tok : "");
	snprintf(c->source, sizeof(c->source), "environment");
	return 0;
}

static int from_profile(struct chain_ctx *x, struct aws_credentials *c, char *err, size_t errlen)
{
	const char *p =
		x->o->awsprofile && *x->o->awsprofile ? x->o->awsprofile : env("AWS_PROFILE");

	return cred_from_profile_files(p ? p : "default", x->sts_url[0] ? x->sts_url : NULL,
				       x->cfg.region, c, err, errlen);
}

static int from_imds(struct chain_ctx *x, struct aws_credentials *c, char *err, size_t errlen)
{
	struct imds m;

	if (!x->cfg.imds_enabled) {
		snprintf(err, errlen, "instance metadata is disabled");
		return -ENOENT;
	}
	imds_init(&m, x->cfg.imds_endpoint);
	return imds_role_credentials(&m, c, err, errlen);
}

static int ask(struct chain_ctx *x, enum cred_kind k, struct aws_credentials *c, char *err,
	       size_t errlen)
{
	switch (k) {
	case CRED_ECS:
		return from_ecs(x, c, err, errlen);
	case CRED_POD_IDENTITY:
		return from_pod_identity(x, c, err, errlen);
	case CRED_WEB_IDENTITY:
		return from_web_identity(x, c, err, errlen);
	case CRED_ENV:
		return from_env(x, c, err, errlen);
	case CRED_PROFILE:
		return from_profile(x, c, err, errlen);
	case CRED_IMDS:
		return from_imds(x, c, err, errlen);
	}
	return -EINVAL;
}

static int setup(struct chain_ctx *x, const struct cred_chain_opts *o, char *err, size_t errlen)
{
	struct resolve_cmdline cl = {.region = o->region};
	int rc;

	x->o = o;
	rc = resolve_config_load(&x->cfg, &cl, err, errlen);
	if (rc)
		return rc;
	x->sts_url[0] = '\0';
	if (x->cfg.region[0])
		rc = resolve_config_expand(&x->cfg, x->cfg.sts_endpoint, "sts_endpoint", x->sts_url,
					   sizeof(x->sts_url), err, errlen);
	return rc;
}

int cred_chain_find(const struct cred_chain_opts *o, struct aws_credentials *c, char *err,
		    size_t errlen)
{
	enum cred_kind plan[CRED_CHAIN_MAX];
	struct chain_ctx *x = calloc(1, sizeof(*x));
	char why[600], tried[1200] = "";
	size_t off = 0;
	int n, i, rc = -ENOENT;

	if (!x) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memset(c, 0, sizeof(*c));
	rc = setup(x, o, err, errlen);
	if (rc)
		goto out;
	n = cred_chain_plan(o, plan, CRED_CHAIN_MAX);
	for (i = 0; i < n; i++) {
		why[0] = '\0';
		rc = ask(x, plan[i], c, why, sizeof(why));
		if (rc == 0) {
			efs_log(EFS_LOG_INFO, "iam: credentials from %s", c->source);
			goto out;
		}
		memset(c, 0, sizeof(*c));
		if (n == 1) { /* an explicit choice: its failure is the error */
			snprintf(err, errlen, "no AWS credentials for -o iam from %s: %s",
				 cred_kind_name(plan[i]), why);
			goto out;
		}
		efs_log(EFS_LOG_INFO, "iam: %s: %s", cred_kind_name(plan[i]), why);
		if (off < sizeof(tried)) {
			int w = snprintf(tried + off, sizeof(tried) - off, "%s%s: %s",
					 off ? "; " : "", cred_kind_name(plan[i]), why);
			off += w > 0 ? (size_t)w : 0;
		}
	}
	rc = -ENOENT;
	snprintf(err, errlen,
		 "no AWS credentials for -o iam (tried %s): set AWS_ACCESS_KEY_ID and "
		 "AWS_SECRET_ACCESS_KEY, use -o awsprofile=NAME, or run with a role (ECS task, "
		 "EKS Pod Identity or IRSA, EC2 instance profile)",
		 tried);
out:
	free(x);
	return rc;
}

/* ---- the cache ------------------------------------------------------------ */

struct cred_provider {
	pthread_mutex_t lock; /* protects cached, have */
	struct cred_chain_opts o;
	char *strs[5];
	struct aws_credentials cached;
	bool have;
	time_t fetched; /* when cached was looked up */
};

struct cred_provider *cred_provider_new(const struct cred_chain_opts *o)
{
	struct cred_provider *p = calloc(1, sizeof(*p));
	const char *in[5] = {o->awsprofile, o->awscredsuri, o->rolearn, o->jwtpath, o->region};
	const char **outp[5] = {&p->o.awsprofile, &p->o.awscredsuri, &p->o.rolearn, &p->o.jwtpath,
				&p->o.region};

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	for (int i = 0; i < 5; i++) {
		if (!in[i])
			continue;
		p->strs[i] = strdup(in[i]);
		if (!p->strs[i]) {
			cred_provider_free(p);
			return NULL;
		}
		*outp[i] = p->strs[i];
	}
	return p;
}

int cred_provider_get(struct cred_provider *p, struct aws_credentials *c, char *err, size_t errlen)
{
	struct aws_credentials *fresh = calloc(1, sizeof(*fresh));
	time_t now = time(NULL);
	int rc;

	if (!fresh) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&p->lock);
	if (p->have &&
	    ((p->cached.expiration && p->cached.expiration - now > CRED_REFRESH_MARGIN_S) ||
	     (!p->cached.expiration && now - p->fetched < CRED_REUSE_S))) {
		*c = p->cached;
		rc = 0;
		goto out;
	}
	rc = cred_chain_find(&p->o, fresh, err, errlen);
	if (rc == 0) {
		if (!p->have || strcmp(p->cached.access_key_id, fresh->access_key_id) ||
		    strcmp(p->cached.source, fresh->source))
			efs_log(EFS_LOG_INFO, "iam: using credentials from %s", fresh->source);
		p->cached = *fresh;
		p->have = true;
		p->fetched = now;
		*c = *fresh;
	} else if (p->have && p->cached.expiration > now) {
		efs_log(EFS_LOG_WARN,
			"iam: cannot refresh the credentials (%s); using those from %s until "
			"they expire",
			err, p->cached.source);
		*c = p->cached;
		rc = 0;
	}
out:
	pthread_mutex_unlock(&p->lock);
	explicit_bzero(fresh, sizeof(*fresh));
	free(fresh);
	return rc;
}

void cred_provider_free(struct cred_provider *p)
{
	if (!p)
		return;
	explicit_bzero(&p->cached, sizeof(p->cached));
	for (int i = 0; i < 5; i++)
		free(p->strs[i]);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
