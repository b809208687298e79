/*
 * mount_opts.c - parse the efs-fuse command line (see mount_opts.h and
 * man/efs-fuse.1).
 *
 * One table lists every -o option with what it takes and what it does; the
 * man page and mount_opts_usage() name the same set.
 */
#include "config.h"

#include "mount_opts.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG	   "efs-fuse"
#define USAGE_HINT "usage: " PROG " SOURCE MOUNTPOINT [-o opt[,opt...]] [-f] [-d] (see " PROG " -h)"

/* Parsing state; err/errlen are the caller's buffer. */
struct parse {
	struct mount_opts *o;
	char *err;
	size_t errlen;
	unsigned int opt_port; /* -o port=, 0 if not given */
	bool notls;	       /* -o notls was given */
};

static int fail(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err && p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int set_str(struct parse *p, char **dst, const char *val)
{
	char *s = strdup(val);

	if (!s)
		return fail(p, "out of memory");
	free(*dst);
	*dst = s;
	return 0;
}

static int set_strn(struct parse *p, char **dst, const char *val, size_t n)
{
	char *s = strndup(val, n);

	if (!s)
		return fail(p, "out of memory");
	free(*dst);
	*dst = s;
	return 0;
}

/* Decimal, no sign, no junk; 0 or -EINVAL. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_uint_range(struct parse *p, const char *name, const char *val, uint64_t min,
			    uint64_t max, const char *expect, unsigned int *out)
{
	uint64_t v;

	if (parse_u64(val, &v) || v < min || v > max)
		return fail(p, "bad value for %s: '%s' (expected %s)", name, val, expect);
	*out = (unsigned int)v;
	return 0;
}

static bool is_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static bool is_ipv6(const char *s)
{
	struct in6_addr a;

	return inet_pton(AF_INET6, s, &a) == 1;
}

static bool is_ipv6n(const char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return is_ipv6(buf);
}

/* [a-z0-9-]+, at most 63 characters: region names, AZ names and ids. */
static bool is_aws_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* "fs-" and 8 or 17 lowercase hex digits, exactly n characters. */
static bool is_fs_id(const char *s, size_t n)
{
	if ((n != 3 + 8 && n != 3 + 17) || strncmp(s, "fs-", 3) != 0)
		return false;
	for (size_t i = 3; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]) || s[i] == '\0')
			return false;
	return true;
}

/*
 * Meant as an id but not one: "fs-" in any case followed by hex digits of
 * any case and length, or by 8 or 17 letters and digits (fs-1234567g).
 */
static bool looks_like_fs_id(const char *s)
{
	size_t n = strlen(s), rest = n > 3 ? n - 3 : 0;
	const char *alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

	if (rest == 0 || strncasecmp(s, "fs-", 3) != 0)
		return false;
	if (strspn(s + 3, "0123456789abcdefABCDEF") == rest)
		return true;
	return (rest == 8 || rest == 17) && strspn(s + 3, alnum) == rest;
}

static bool is_hostname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == n;
}

/* ---- -o options ---------------------------------------------------- */

enum arg_kind { NOVAL, VAL, OPTVAL };

struct opt_def {
	const char *name; /* a trailing '*' matches any suffix (x-*), value or not */
	enum arg_kind arg;
	int (*fn)(struct parse *p, const struct opt_def *d, const char *val);
	int flag;	  /* handler-specific */
	const char *note; /* opt_note: the one-line notice for the user */
};

static void note(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append one line to o->notes (silently truncated: notes are advice). */
static void note(struct parse *p, const char *fmt, ...)
{
	char *buf = p->o->notes;
	size_t used = strlen(buf);
	va_list ap;
	int n;

	if (used + 2 >= sizeof(p->o->notes))
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + used, sizeof(p->o->notes) - used - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	used = strlen(buf);
	buf[used] = '\n';
	buf[used + 1] = '\0';
}

/* Accepted for efs-utils fstab lines; d->note says what it means here. */
static int opt_note(struct parse *p, const struct opt_def *d, const char *val)
{
	note(p, "%s: %s", d->name, d->note);
	return 0;
}

static int opt_ignore(struct parse *p, const struct opt_def *d, const char *val)
{
	return 0;
}

static int opt_port(struct parse *p, const struct opt_def *d, const char *val)
{
	return parse_uint_range(p, "port", val, 1, 65535, "a TCP port, 1..65535", &p->opt_port);
}

static int opt_vers(struct parse *p, const struct opt_def *d, const char *val)
{
	if (strcmp(val, "4.1") && strcmp(val, "4"))
		return fail(p, "%s=%s: only NFS version 4.1 is supported", d->name, val);
	return 0;
}

static int opt_minorversion(struct parse *p, const struct opt_def *d, const char *val)
{
	if (strcmp(val, "1"))
		return fail(p, "minorversion=%s: only NFS version 4.1 is supported", val);
	return 0;
}

static int opt_iosize(struct parse *p, const struct opt_def *d, const char *val)
{
	unsigned int v = 0;
	int rc = parse_uint_range(p, d->name, val, MOUNT_OPTS_MIN_IOSIZE, MOUNT_OPTS_DEFAULT_IOSIZE,
				  "a number of bytes, 4096..1048576", &v);

	if (rc)
		return rc;
	v &= ~(MOUNT_OPTS_MIN_IOSIZE - 1);
	if (d->flag)
		p->o->wsize = v;
	else
		p->o->rsize = v;
	return 0;
}

static int opt_timeo(struct parse *p, const struct opt_def *d, const char *val)
{
	return parse_uint_range(p, "timeo", val, 1, INT_MAX, "tenths of a second, 1 or more",
				&p->o->timeo);
}

static int opt_retrans(struct parse *p, const struct opt_def *d, const char *val)
{
	return parse_uint_range(p, "retrans", val, 0, INT_MAX, "a number of retries, 0 or more",
				&p->o->retrans);
}

enum { F_SOFT, F_NORESVPORT, F_RO, F_NOAC, F_CTO, F_ALLOW_OTHER, F_DEFAULT_PERMISSIONS, F_TLS };

static bool *flag_field(struct mount_opts *o, int f)
{
	switch (f) {
	case F_SOFT:
		return &o->soft;
	case F_NORESVPORT:
		return &o->noresvport;
	case F_RO:
		return &o->ro;
	case F_NOAC:
		return &o->noac;
	case F_CTO:
		return &o->cto;
	case F_ALLOW_OTHER:
		return &o->allow_other;
	case F_DEFAULT_PERMISSIONS:
		return &o->default_permissions;
	default:
		return &o->tls;
	}
}

/* hard, soft, softerr (nfs(5)): the last one given wins. */
static int opt_soft(struct parse *p, const struct opt_def *d, const char *val)
{
	(void)val;
	p->o->soft = d->flag != 0;
	p->o->softerr = d->flag == 2;
	return 0;
}

/* flag: field index in the low byte, 0x100 set means "true". */
#define ON(f)  ((f) | 0x100)
#define OFF(f) (f)

static int opt_flag(struct parse *p, const struct opt_def *d, const char *val)
{
	*flag_field(p->o, d->flag & 0xff) = (d->flag & 0x100) != 0;
	return 0;
}

static int opt_sec(struct parse *p, const struct opt_def *d, const char *val)
{
	if (strcmp(val, "sys"))
		return fail(p, "sec=%s is not supported: only sec=sys (AUTH_SYS) is", val);
	return 0;
}

static int opt_proto(struct parse *p, const struct opt_def *d, const char *val)
{
	if (strcmp(val, "tcp") && strcmp(val, "tcp6"))
		return fail(p, "proto=%s is not supported: only proto=tcp is", val);
	return 0;
}

enum { AC_ALL, AC_REGMIN, AC_REGMAX, AC_DIRMIN, AC_DIRMAX };

static int opt_actimeo(struct parse *p, const struct opt_def *d, const char *val)
{
	struct mount_opts *o = p->o;
	unsigned int v = 0;
	int rc = parse_uint_range(p, d->name, val, 0, INT_MAX, "seconds, 0 or more", &v);

	if (rc)
		return rc;
	switch (d->flag) {
	case AC_ALL:
		o->acregmin = o->acregmax = o->acdirmin = o->acdirmax = v;
		break;
	case AC_REGMIN:
		o->acregmin = v;
		break;
	case AC_REGMAX:
		o->acregmax = v;
		break;
	case AC_DIRMIN:
		o->acdirmin = v;
		break;
	default:
		o->acdirmax = v;
		break;
	}
	return 0;
}

static int opt_lookupcache(struct parse *p, const struct opt_def *d, const char *val)
{
	if (!strcmp(val, "all"))
		p->o->lookupcache = MOUNT_OPTS_LOOKUPCACHE_ALL;
	else if (!strcmp(val, "positive") || !strcmp(val, "pos"))
		p->o->lookupcache = MOUNT_OPTS_LOOKUPCACHE_POSITIVE;
	else if (!strcmp(val, "none"))
		p->o->lookupcache = MOUNT_OPTS_LOOKUPCACHE_NONE;
	else
		return fail(p, "bad value for lookupcache: '%s' (expected all, positive or none)",
			    val);
	return 0;
}

static int opt_cache_size(struct parse *p, const struct opt_def *d, const char *val)
{
	const uint64_t min = 1ull << 20, max = 1ull << 40;
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (!isdigit((unsigned char)val[0]))
		goto bad;
	errno = 0;
	v = strtoull(val, &end, 10);
	if (errno)
		goto bad;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		goto bad;
	}
	if (*end && end[1])
		goto bad;
	if (v > (max >> shift))
		goto bad;
	v <<= shift;
	if (v < min)
		goto bad;
	p->o->cache_size = v;
	return 0;
bad:
	return fail(p,
		    "bad value for cache_size: '%s' (expected bytes with an optional K, M, G "
		    "suffix, 1M..1T)",
		    val);
}

static int opt_debug(struct parse *p, const struct opt_def *d, const char *val)
{
	p->o->debug = true;
	p->o->foreground = true;
	return 0;
}

static int opt_fsname(struct parse *p, const struct opt_def *d, const char *val)
{
	if (!*val)
		return fail(p, "bad value for %s: '' (expected a name)", d->name);
	return set_str(p, d->flag ? &p->o->subtype : &p->o->fsname, val);
}

static int opt_wb_age(struct parse *p, const struct opt_def *d, const char *val)
{
	(void)d;
	return parse_uint_range(p, "wb_age", val, 1, 86400, "seconds, 1..86400", &p->o->wb_age);
}

static int opt_max_threads(struct parse *p, const struct opt_def *d, const char *val)
{
	return parse_uint_range(p, "max_threads", val, 1, MOUNT_OPTS_MAX_MAX_THREADS,
				"a number of threads, 1..64", &p->o->max_threads);
}

static int opt_mounttargetip(struct parse *p, const struct opt_def *d, const char *val)
{
	size_t n = strlen(val);

	if (n > 2 && val[0] == '[' && val[n - 1] == ']' && is_ipv6n(val + 1, n - 2))
		return set_strn(p, &p->o->mounttargetip, val + 1, n - 2);
	if (!is_ipv4(val) && !is_ipv6(val))
		return fail(p,
			    "bad value for mounttargetip: '%s' (expected an IPv4 or IPv6 address)",
			    val);
	return set_str(p, &p->o->mounttargetip, val);
}

static int opt_aws_name(struct parse *p, const struct opt_def *d, const char *val)
{
	if (!is_aws_name(val))
		return fail(p, "bad value for %s: '%s' (expected %s)", d->name, val,
			    d->flag ? "an availability zone such as us-east-1a or use1-az1"
				    : "a region such as us-east-1");
	return set_str(p, d->flag ? &p->o->az : &p->o->region, val);
}

/* IP, IP:PORT, [IPv6], [IPv6]:PORT or a bare IPv6 address. */
static bool is_dnsserver(const char *s)
{
	const char *colon, *close;
	uint64_t port;

	if (s[0] == '[') {
		close = strchr(s, ']');
		if (!close || !is_ipv6n(s + 1, (size_t)(close - s - 1)))
			return false;
		if (close[1] == '\0')
			return true;
		return close[1] == ':' && !parse_u64(close + 2, &port) && port >= 1 &&
		       port <= 65535;
	}
	if (is_ipv4(s) || is_ipv6(s))
		return true;
	colon = strrchr(s, ':');
	if (!colon || colon - s > INET_ADDRSTRLEN)
		return false;
	{
		char host[INET_ADDRSTRLEN + 1];

		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		return is_ipv4(host) && !parse_u64(colon + 1, &port) && port >= 1 && port <= 65535;
	}
}

static int opt_dnsserver(struct parse *p, const struct opt_def *d, const char *val)
{
	if (!is_dnsserver(val))
		return fail(p,
			    "bad value for dnsserver: '%s' (expected IP or IP:PORT, IPv6 as "
			    "[IP]:PORT)",
			    val);
	return set_str(p, &p->o->dnsserver, val);
}

static int opt_awsprofile(struct parse *p, const struct opt_def *d, const char *val)
{
	if (!*val)
		return fail(p, "bad value for awsprofile: '' (expected a profile name)");
	return set_str(p, &p->o->awsprofile, val);
}

static int opt_cafile(struct parse *p, const struct opt_def *d, const char *val)
{
	if (!*val)
		return fail(p, "bad value for cafile: '' (expected the path of a CA bundle)");
	if (access(val, R_OK))
		return fail(p, "cannot read cafile '%s': %s", val, strerror(errno));
	return set_str(p, &p->o->cafile, val);
}

static int opt_netns(struct parse *p, const struct opt_def *d, const char *val)
{
	if (!*val)
		return fail(p, "bad value for netns: '' (expected a path such as /run/netns/NAME)");
	if (access(val, R_OK))
		return fail(p, "cannot open netns '%s': %s", val, strerror(errno));
	return set_str(p, &p->o->netns, val);
}

static int opt_tlsport(struct parse *p, const struct opt_def *d, const char *val)
{
	int rc = parse_uint_range(p, "tlsport", val, 1, 65535, "a TCP port, 1..65535",
				  &p->o->tlsport);

	if (!rc)
		note(p, "tlsport: ignored: efs-fuse speaks TLS itself (-o tls), there is no local "
			"stunnel port");
	return rc;
}

static int opt_verify(struct parse *p, const struct opt_def *d, const char *val)
{
	unsigned int v;
	int rc = parse_uint_range(p, "verify", val, 0, 3, "a stunnel verify level, 0..3", &v);

	if (!rc)
		note(p, "verify: ignored: with tls the server certificate and host name are always "
			"checked (cafile=PATH picks the CA)");
	return rc;
}

static int opt_crossaccount(struct parse *p, const struct opt_def *d, const char *val)
{
	p->o->crossaccount = true;
	return 0;
}

static int opt_nconnect(struct parse *p, const struct opt_def *d, const char *val)
{
	int rc = parse_uint_range(p, "nconnect", val, 1, 16, "a number of connections, 1..16",
				  &p->o->nconnect);

	if (!rc && p->o->nconnect > 1)
		note(p, "nconnect: efs-fuse uses one TCP connection per mount; nconnect=%u ignored",
		     p->o->nconnect);
	return rc;
}

static int opt_sync(struct parse *p, const struct opt_def *d, const char *val)
{
	p->o->sync = d->flag != 0;
	return 0;
}

static int opt_log(struct parse *p, const struct opt_def *d, const char *val)
{
	char cwd[PATH_MAX], path[PATH_MAX + 256];

	if (!*val)
		return fail(p, "bad value for log: '' (expected syslog, stderr or a file path)");
	if (!strcmp(val, "syslog") || !strcmp(val, "stderr") || val[0] == '/')
		return set_str(p, &p->o->log, val);
	/* a relative file: the daemon changes to / after detaching */
	if (!getcwd(cwd, sizeof(cwd)))
		return fail(p, "log=%s: give an absolute path", val);
	snprintf(path, sizeof(path), "%s/%s", cwd, val);
	return set_str(p, &p->o->log, path);
}

static int opt_loglevel(struct parse *p, const struct opt_def *d, const char *val)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {{"err", 3},    {"error", 3}, {"warn", 4}, {"warning", 4},
		      {"notice", 5}, {"info", 6},  {"debug", 7}};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strcmp(val, levels[i].name)) {
			p->o->loglevel = levels[i].level;
			return 0;
		}
	return fail(p, "bad value for loglevel: '%s' (expected err, warn, notice, info or debug)",
		    val);
}

static int opt_id(struct parse *p, const struct opt_def *d, const char *val)
{
	uint64_t v;

	if (parse_u64(val, &v) || v > 4294967294u)
		return fail(p, "bad value for %s: '%s' (expected a numeric %s, 0..4294967294)",
			    d->name, val, d->flag ? "group id" : "user id");
	if (d->flag)
		p->o->gid = (long)v;
	else
		p->o->uid = (long)v;
	return 0;
}

static int opt_userns_root(struct parse *p, const struct opt_def *d, const char *val)
{
	if (!strcmp(val, "allow"))
		p->o->userns_root = true;
	else if (!strcmp(val, "refuse"))
		p->o->userns_root = false;
	else
		return fail(p, "bad value for userns_root: '%s' (expected allow or refuse)", val);
	return 0;
}

/* libfuse's own options: handed to the FUSE session as written. */
static int opt_fuse_pass(struct parse *p, const struct opt_def *d, const char *val)
{
	char *cur = p->o->fuse_opts;
	size_t n = (cur ? strlen(cur) + 1 : 0) + strlen(d->name) + 1;
	char *s;

	if (cur && strstr(cur, d->name))
		return 0;
	s = malloc(n);
	if (!s)
		return fail(p, "out of memory");
	snprintf(s, n, "%s%s%s", cur ? cur : "", cur ? "," : "", d->name);
	free(cur);
	p->o->fuse_opts = s;
	return 0;
}

static int opt_max_idle_threads(struct parse *p, const struct opt_def *d, const char *val)
{
	return parse_uint_range(p, "max_idle_threads", val, 1, MOUNT_OPTS_MAX_MAX_THREADS,
				"a number of threads, 1..64", &p->o->max_idle_threads);
}

/* ---- IAM and access points (issue 9) -------------------------------- */

static int opt_notls(struct parse *p, const struct opt_def *d, const char *val)
{
	p->o->tls = false;
	p->notls = true;
	return 0;
}

static int opt_iam(struct parse *p, const struct opt_def *d, const char *val)
{
	p->o->iam = true;
	return 0;
}

static bool is_ap_id(const char *s)
{
	return strlen(s) == 22 && !strncmp(s, "fsap-", 5) &&
	       strspn(s + 5, "0123456789abcdef") == 17;
}

enum { IAM_AP, IAM_CREDSURI, IAM_ROLEARN, IAM_JWTPATH };

static int opt_iam_str(struct parse *p, const struct opt_def *d, const char *val)
{
	struct mount_opts *o = p->o;

	switch (d->flag) {
	case IAM_AP:
		if (!is_ap_id(val))
			return fail(p,
				    "bad value for accesspoint: '%s' (expected fsap- and 17 "
				    "lowercase hex digits)",
				    val);
		return set_str(p, &o->accesspoint, val);
	case IAM_CREDSURI:
		if (val[0] != '/')
			return fail(p,
				    "bad value for awscredsuri: '%s' (expected the relative URI, "
				    "starting with '/')",
				    val);
		return set_str(p, &o->awscredsuri, val);
	case IAM_ROLEARN:
		if (strncmp(val, "arn:", 4))
			return fail(p, "bad value for rolearn: '%s' (expected an IAM role ARN)",
				    val);
		return set_str(p, &o->rolearn, val);
	default:
		if (!*val)
			return fail(p, "bad value for jwtpath: '' (expected a token file)");
		return set_str(p, &o->jwtpath, val);
	}
}

/* After all options: the rules efs-utils applies to them. */
static int check_iam(struct parse *p)
{
	struct mount_opts *o = p->o;

	if ((o->awscredsuri || o->rolearn || o->jwtpath) && !o->iam)
		return fail(p, "%s needs -o iam",
			    o->awscredsuri ? "awscredsuri"
			    : o->rolearn   ? "rolearn"
					   : "jwtpath");
	if (!o->rolearn != !o->jwtpath)
		return fail(p, "rolearn and jwtpath go together: give both");
	if (o->awscredsuri && o->awsprofile)
		return fail(p, "awscredsuri and awsprofile are mutually exclusive: give one");
	if ((o->iam || o->accesspoint) && p->notls)
		return fail(p, "%s needs TLS: drop notls", o->iam ? "iam" : "accesspoint");
	if (o->iam || o->accesspoint)
		o->tls = true;
	return 0;
}

static const struct opt_def opt_table[] = {
	/* NFS, nfs(5) */
	{"port", VAL, opt_port, 0},
	{"nfsvers", VAL, opt_vers, 0},
	{"vers", VAL, opt_vers, 0},
	{"minorversion", VAL, opt_minorversion, 0},
	{"rsize", VAL, opt_iosize, 0},
	{"wsize", VAL, opt_iosize, 1},
	{"timeo", VAL, opt_timeo, 0},
	{"retrans", VAL, opt_retrans, 0},
	{"hard", NOVAL, opt_soft, 0},
	{"soft", NOVAL, opt_soft, 1},
	{"softerr", NOVAL, opt_soft, 2},
	{"noresvport", NOVAL, opt_flag, ON(F_NORESVPORT)},
	{"resvport", NOVAL, opt_flag, OFF(F_NORESVPORT)},
	{"ro", NOVAL, opt_flag, ON(F_RO)},
	{"rw", NOVAL, opt_flag, OFF(F_RO)},
	{"sec", VAL, opt_sec, 0},
	{"proto", VAL, opt_proto, 0},
	{"ac", NOVAL, opt_flag, OFF(F_NOAC)},
	{"noac", NOVAL, opt_flag, ON(F_NOAC)},
	{"actimeo", VAL, opt_actimeo, AC_ALL},
	{"acregmin", VAL, opt_actimeo, AC_REGMIN},
	{"acregmax", VAL, opt_actimeo, AC_REGMAX},
	{"acdirmin", VAL, opt_actimeo, AC_DIRMIN},
	{"acdirmax", VAL, opt_actimeo, AC_DIRMAX},
	{"lookupcache", VAL, opt_lookupcache, 0},
	{"cto", NOVAL, opt_flag, ON(F_CTO)},
	{"nocto", NOVAL, opt_flag, OFF(F_CTO)},
	{"sharecache", NOVAL, opt_ignore, 0},
	{"nosharecache", NOVAL, opt_ignore, 0},
	{"intr", NOVAL, opt_ignore, 0},
	{"nointr", NOVAL, opt_ignore, 0},
	/* mount(8) and fstab */
	{"_netdev", NOVAL, opt_ignore, 0},
	{"nofail", NOVAL, opt_ignore, 0},
	{"auto", NOVAL, opt_ignore, 0},
	{"noauto", NOVAL, opt_ignore, 0},
	{"user", OPTVAL, opt_ignore, 0}, /* mount(8) passes user=NAME to helpers */
	{"users", NOVAL, opt_ignore, 0},
	{"nouser", NOVAL, opt_ignore, 0},
	{"defaults", NOVAL, opt_ignore, 0},
	{"dev", NOVAL, opt_ignore, 0},
	{"nodev", NOVAL, opt_ignore, 0},
	{"suid", NOVAL, opt_ignore, 0},
	{"nosuid", NOVAL, opt_ignore, 0},
	{"exec", NOVAL, opt_ignore, 0},
	{"atime", NOVAL, opt_ignore, 0},
	{"noatime", NOVAL, opt_ignore, 0},
	{"relatime", NOVAL, opt_ignore, 0},
	{"diratime", NOVAL, opt_ignore, 0},
	{"nodiratime", NOVAL, opt_ignore, 0},
	{"x-*", NOVAL, opt_ignore, 0}, /* mount(8): userspace options, x-systemd.* */
	{"comment", VAL, opt_ignore, 0},
	/* caching */
	{"cache_size", VAL, opt_cache_size, 0},
	{"wb_age", VAL, opt_wb_age, 0},
	{"fsc", NOVAL, opt_ignore, 0},
	{"nofsc", NOVAL, opt_ignore, 0},
	/* reaching the mount target */
	{"mounttargetip", VAL, opt_mounttargetip, 0},
	{"region", VAL, opt_aws_name, 0},
	{"az", VAL, opt_aws_name, 1},
	{"dnsserver", VAL, opt_dnsserver, 0},
	{"awsprofile", VAL, opt_awsprofile, 0},
	{"tls", NOVAL, opt_flag, ON(F_TLS)},
	{"notls", NOVAL, opt_notls, 0},
	{"cafile", VAL, opt_cafile, 0},
	{"iam", NOVAL, opt_iam, 0},
	{"noiam", NOVAL, opt_ignore, 0},
	{"accesspoint", VAL, opt_iam_str, IAM_AP},
	{"awscredsuri", VAL, opt_iam_str, IAM_CREDSURI},
	{"rolearn", VAL, opt_iam_str, IAM_ROLEARN},
	{"jwtpath", VAL, opt_iam_str, IAM_JWTPATH},
	/* efs-utils (mount.efs) options */
	{"netns", VAL, opt_netns, 0},
	{"tlsport", VAL, opt_tlsport, 0},
	{"verify", VAL, opt_verify, 0},
	{"ocsp", NOVAL, opt_note, 0, "ignored: efs-fuse does not query OCSP responders"},
	{"noocsp", NOVAL, opt_ignore, 0},
	{"stunnel", NOVAL, opt_note, 0, "ignored: efs-fuse speaks TLS itself (-o tls)"},
	{"crossaccount", NOVAL, opt_crossaccount, 0},
	{"nconnect", VAL, opt_nconnect, 0},
	{"sync", NOVAL, opt_sync, 1},
	{"async", NOVAL, opt_sync, 0},
	/* operating */
	{"log", VAL, opt_log, 0},
	{"loglevel", VAL, opt_loglevel, 0},
	{"uid", VAL, opt_id, 0},
	{"gid", VAL, opt_id, 1},
	{"userns_root", VAL, opt_userns_root, 0},
	/* FUSE */
	{"allow_other", NOVAL, opt_flag, ON(F_ALLOW_OTHER)},
	{"default_permissions", NOVAL, opt_flag, ON(F_DEFAULT_PERMISSIONS)},
	{"fsname", VAL, opt_fsname, 0},
	{"subtype", VAL, opt_fsname, 1},
	{"debug", NOVAL, opt_debug, 0},
	{"max_threads", VAL, opt_max_threads, 0},
	{"max_idle_threads", VAL, opt_max_idle_threads, 0},
	/* libfuse's own, passed through */
	{"allow_root", NOVAL, opt_fuse_pass, 0},
	{"auto_unmount", NOVAL, opt_fuse_pass, 0},
	{"noexec", NOVAL, opt_fuse_pass, 0},
};

const char *mount_opts_name(size_t i)
{
	return i < sizeof(opt_table) / sizeof(opt_table[0]) ? opt_table[i].name : NULL;
}

static int parse_one(struct parse *p, const char *opt)
{
	const char *eq = strchr(opt, '=');
	size_t nlen = eq ? (size_t)(eq - opt) : strlen(opt);

	for (size_t i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++) {
		const struct opt_def *d = &opt_table[i];
		size_t dlen = strlen(d->name);

		if (d->name[dlen - 1] == '*') {
			if (nlen >= dlen - 1 && !strncmp(opt, d->name, dlen - 1))
				return d->fn(p, d, eq ? eq + 1 : "");
			continue;
		}
		if (dlen != nlen || strncmp(opt, d->name, nlen))
			continue;
		if (d->arg == NOVAL && eq)
			return fail(p, "option '%s' takes no value: write just %s", d->name,
				    d->name);
		if (d->arg == VAL && !eq)
			return fail(p, "option '%s' needs a value: %s=...", d->name, d->name);
		return d->fn(p, d, eq ? eq + 1 : NULL);
	}
	return fail(p, "unknown option '%.*s': see " PROG " -h", (int)nlen, opt);
}

/* Split "a,b\,c" on unescaped commas ("\," and "\\" are escapes). */
static int parse_optstr(struct parse *p, const char *s)
{
	char *buf = malloc(strlen(s) + 1);
	const char *in = s;
	char *out;
	int rc = 0;

	if (!buf)
		return fail(p, "out of memory");
	while (*in && !rc) {
		out = buf;
		while (*in && *in != ',') {
			if (in[0] == '\\' && in[1])
				in++;
			*out++ = *in++;
		}
		*out = '\0';
		if (*in == ',')
			in++;
		if (*buf)
			rc = parse_one(p, buf);
	}
	free(buf);
	return rc;
}

/* ---- SOURCE ---------------------------------------------------------- */

/* rest follows "HOST:": "/path", "PORT", or "PORT:/path". */
static int parse_port_path(struct parse *p, const char *src, const char *rest, unsigned int *port)
{
	struct mount_opts *o = p->o;
	const char *q = rest;
	char num[8];
	uint64_t v;

	if (*rest == '/')
		return set_str(p, &o->export_path, rest);
	if (!isdigit((unsigned char)*rest))
		return fail(p, "bad SOURCE '%s': the export path must start with '/' (HOST:/path)",
			    src);
	while (isdigit((unsigned char)*q))
		q++;
	if ((size_t)(q - rest) >= sizeof(num))
		goto badport;
	memcpy(num, rest, (size_t)(q - rest));
	num[q - rest] = '\0';
	if (parse_u64(num, &v) || v < 1 || v > 65535)
		goto badport;
	*port = (unsigned int)v;
	if (*q == '\0')
		return set_str(p, &o->export_path, "/");
	if (q[0] == ':' && q[1] == '/')
		return set_str(p, &o->export_path, q + 1);
	return fail(p, "bad SOURCE '%s': expected HOST:PORT:/path", src);
badport:
	return fail(p, "bad SOURCE '%s': port must be 1..65535", src);
}

static int parse_source(struct parse *p, const char *src, unsigned int *port)
{
	struct mount_opts *o = p->o;
	const char *colon, *close, *slash, *dot;
	int rc;

	*port = 0;
	if (!*src)
		return fail(p, "empty SOURCE: " USAGE_HINT);
	rc = set_str(p, &o->source, src);
	if (rc)
		return rc;

	if (src[0] == '[') {
		close = strchr(src, ']');
		if (!close)
			return fail(p, "bad SOURCE '%s': missing ']' after the IPv6 address", src);
		if (!is_ipv6n(src + 1, (size_t)(close - src - 1)))
			return fail(p, "bad SOURCE '%s': '%.*s' is not an IPv6 address", src,
				    (int)(close - src - 1), src + 1);
		rc = set_strn(p, &o->host, src + 1, (size_t)(close - src - 1));
		if (rc)
			return rc;
		if (close[1] == '\0')
			return set_str(p, &o->export_path, "/");
		if (close[1] != ':')
			return fail(p, "bad SOURCE '%s': expected [IPv6]:/path", src);
		return parse_port_path(p, src, close + 2, port);
	}

	/* An IPv6 address without brackets: "fd00::1" or "fd00::1:/x". */
	slash = strchr(src, '/');
	if (is_ipv6(src) ||
	    (slash && slash > src && slash[-1] == ':' && is_ipv6n(src, (size_t)(slash - src - 1))))
		return fail(p, "bad SOURCE '%s': write IPv6 addresses in brackets, e.g. [%.*s]:/",
			    src, (int)(slash ? slash - src - 1 : (long)strlen(src)), src);

	colon = strchr(src, ':');
	rc = colon ? set_strn(p, &o->host, src, (size_t)(colon - src)) : set_str(p, &o->host, src);
	if (rc)
		return rc;
	if (!*o->host)
		return fail(p, "bad SOURCE '%s': no host before ':' (HOST:/path)", src);
	if (!is_ipv4(o->host) && !is_hostname(o->host))
		return fail(p, "bad SOURCE '%s': '%s' is not a host name or address", src, o->host);

	dot = strchr(o->host, '.');
	if (is_fs_id(o->host, strlen(o->host))) {
		/* a bare fs id: resolve/ turns it into a name or an address */
		o->fs_id = o->host;
		o->host = NULL;
	} else if (dot && is_fs_id(o->host, (size_t)(dot - o->host)) && !strncmp(dot, ".efs.", 5) &&
		   dot[5] != '\0') {
		/* fs-XXXXXXXX.efs.REGION.amazonaws.com */
		rc = set_strn(p, &o->fs_id, o->host, (size_t)(dot - o->host));
		if (rc)
			return rc;
	} else if (!dot && looks_like_fs_id(o->host)) {
		return fail(p,
			    "bad SOURCE '%s': a file system id is fs- and 8 or 17 lowercase hex "
			    "digits, e.g. fs-12345678",
			    src);
	}

	if (!colon)
		return set_str(p, &o->export_path, "/");
	return parse_port_path(p, src, colon + 1, port);
}

/* ---- MOUNTPOINT ------------------------------------------------------ */

static int check_mountpoint(struct parse *p, const char *mp)
{
	struct stat st;
	char *real;

	if (stat(mp, &st)) {
		if (errno == ENOENT)
			return fail(p, "mount point %s does not exist: create it with mkdir -p %s",
				    mp, mp);
		if (errno == ENOTCONN) {
			fail(p,
			     "mount point %s is a stale FUSE mount (its daemon is gone): run "
			     "fusermount3 -u %s, then mount again",
			     mp, mp);
			return -ENOTCONN;
		}
		if (errno == EACCES)
			return fail(p,
				    "mount point %s: permission denied: you need search access "
				    "to every directory on its path",
				    mp);
		return fail(p, "mount point %s: %s", mp, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return fail(p, "mount point %s is not a directory", mp);
	real = realpath(mp, NULL);
	if (!real)
		return fail(p, "mount point %s: %s", mp, strerror(errno));
	free(p->o->mountpoint);
	p->o->mountpoint = real;
	return 0;
}

/* ---- the whole command line ----------------------------------------- */

static void set_defaults(struct mount_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->port = MOUNT_OPTS_DEFAULT_PORT;
	o->rsize = MOUNT_OPTS_DEFAULT_IOSIZE;
	o->wsize = MOUNT_OPTS_DEFAULT_IOSIZE;
	o->timeo = MOUNT_OPTS_DEFAULT_TIMEO;
	o->retrans = MOUNT_OPTS_DEFAULT_RETRANS;
	o->acregmin = 3;
	o->acregmax = 60;
	o->acdirmin = 30;
	o->acdirmax = 60;
	o->lookupcache = MOUNT_OPTS_LOOKUPCACHE_ALL;
	o->cto = true;
	o->cache_size = MOUNT_OPTS_DEFAULT_CACHE_SIZE;
	o->wb_age = MOUNT_OPTS_DEFAULT_WB_AGE;
	o->max_threads = MOUNT_OPTS_DEFAULT_MAX_THREADS;
	o->loglevel = -1;
	o->uid = -1;
	o->gid = -1;
}

/* -h / -V anywhere (not as the value of -o, not after "--") win. */
static int help_or_version(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))
			break;
		if (!strcmp(a, "-o")) {
			i++;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			mount_opts_usage(stdout, PROG);
			return 1;
		}
		if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("%s %s\n", PROG, PACKAGE_VERSION);
			return 1;
		}
	}
	return 0;
}

static int parse_args(struct parse *p, int argc, char **argv)
{
	struct mount_opts *o = p->o;
	const char *src = NULL, *mp = NULL;
	unsigned int src_port;
	bool dashdash = false;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!dashdash && a[0] == '-' && a[1]) {
			if (!strcmp(a, "--")) {
				dashdash = true;
			} else if (!strcmp(a, "-o")) {
				if (i + 1 >= argc)
					return fail(p, "-o needs options: -o opt[,opt...]");
				rc = parse_optstr(p, argv[++i]);
				if (rc)
					return rc;
			} else if (!strncmp(a, "-o", 2)) {
				rc = parse_optstr(p, a + 2);
				if (rc)
					return rc;
			} else if (!strcmp(a, "-f")) {
				o->foreground = true;
			} else if (!strcmp(a, "-d")) {
				o->debug = true;
				o->foreground = true;
			} else if (!strcmp(a, "-s") || !strcmp(a, "-n") || !strcmp(a, "-v")) {
				/* mount(8) helper flags: sloppy, no mtab, verbose */
			} else if (!strcmp(a, "-t") && i + 1 < argc) {
				i++; /* mount(8) helper: -t TYPE */
			} else {
				return fail(p, "unknown option '%s': see " PROG " -h", a);
			}
		} else if (!src) {
			src = a;
		} else if (!mp) {
			mp = a;
		} else {
			return fail(p, "unexpected argument '%s': " USAGE_HINT, a);
		}
	}
	if (!src)
		return fail(p, "missing SOURCE and MOUNTPOINT: " USAGE_HINT);
	if (!mp)
		return fail(p, "missing MOUNTPOINT: " USAGE_HINT);

	rc = parse_source(p, src, &src_port);
	if (rc)
		return rc;
	if (src_port && p->opt_port && src_port != p->opt_port)
		return fail(p, "port %u in SOURCE conflicts with -o port=%u: give one", src_port,
			    p->opt_port);
	if (src_port || p->opt_port) {
		o->port = src_port ? src_port : p->opt_port;
		o->port_set = true;
	}

	rc = check_mountpoint(p, mp);
	if (!rc)
		rc = check_iam(p);
	if (rc)
		return rc;

	if (o->allow_other && o->fuse_opts && strstr(o->fuse_opts, "allow_root"))
		return fail(p, "allow_other and allow_root exclude each other: give one");
	if ((o->uid >= 0) != (o->gid >= 0))
		return fail(p, "uid= and gid= go together: give both, e.g. -o uid=1000,gid=1000");
	if (o->crossaccount && !(o->az && strchr(o->az, '-') && strstr(o->az, "-az")))
		note(p, "crossaccount: give the availability zone id with -o az=ZONE-ID (e.g. "
			"use1-az1) so the ZONE-ID.fs-ID name is used");
	if (o->noac)
		o->acregmin = o->acregmax = o->acdirmin = o->acdirmax = 0;
	if (o->acregmin > o->acregmax)
		o->acregmin = o->acregmax;
	if (o->acdirmin > o->acdirmax)
		o->acdirmin = o->acdirmax;
	return 0;
}

int mount_opts_parse(int argc, char **argv, struct mount_opts *o, char *err, size_t errlen)
{
	struct parse p = {.o = o, .err = err, .errlen = errlen};
	int rc;

	set_defaults(o);
	if (err && errlen)
		err[0] = '\0';
	rc = help_or_version(argc, argv);
	if (rc)
		return rc;
	rc = parse_args(&p, argc, argv);
	if (rc) {
		mount_opts_free(o);
		set_defaults(o);
	}
	return rc;
}

void mount_opts_free(struct mount_opts *o)
{
	char **strs[] = {&o->source,	 &o->host,   &o->fs_id,	      &o->export_path,
			 &o->mountpoint, &o->fsname, &o->subtype,     &o->mounttargetip,
			 &o->region,	 &o->az,     &o->dnsserver,   &o->awsprofile,
			 &o->cafile,	 &o->netns,  &o->awscredsuri, &o->rolearn,
			 &o->jwtpath,	 &o->log,    &o->fuse_opts,   &o->accesspoint};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

void mount_opts_usage(FILE *f, const char *prog)
{
	if (!prog)
		prog = PROG;
	fprintf(f,
		"usage: %s SOURCE MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-h] [-V]\n"
		"       %s stats MOUNTPOINT [INTERVAL] [--json]\n"
		"\n"
		"Mount an Amazon EFS file system or any NFSv4.1 export through FUSE.\n"
		"\n"
		"SOURCE:\n"
		"    fs-12345678[:/path]                      EFS file system id\n"
		"    fs-12345678.efs.REGION.amazonaws.com[:/path]\n"
		"    HOST[:/path]  HOST:PORT:/path  [IPv6]:/path  [IPv6]:PORT:/path\n"
		"\n"
		"Options:\n"
		"    -f                  stay in the foreground (log to stderr)\n"
		"    -d                  debug: wire tracing, implies -f (also -o debug)\n"
		"    -h, --help          print this help and exit\n"
		"    -V, --version       print the version and exit\n"
		"    -s, -n, -v          mount(8) helper flags, ignored\n"
		"    -o opt[,opt...]     mount options (repeatable):\n"
		"\n"
		"  NFS (nfs(5) meanings):\n"
		"    port=N              server port (2049)\n"
		"    nfsvers=4.1, vers=4.1, minorversion=1   only NFSv4.1 is spoken\n"
		"    rsize=N, wsize=N    I/O size, 4096..1048576 (1048576)\n"
		"    timeo=N             RPC timeout in tenths of a second (600); also\n"
		"                        bounds connecting\n"
		"    retrans=N           retries before soft fails (2)\n"
		"    hard | soft | softerr  retry forever (default; still killable), or fail\n"
		"                        after timeo x (retrans+1) with EIO (softerr: ETIMEDOUT)\n"
		"    ro | rw             read-only or read-write (rw)\n"
		"    sync | async        every write goes to the server at once, or is\n"
		"                        cached until fsync/close (async)\n"
		"    sec=sys, proto=tcp  the only values supported\n"
		"    ac | noac           attribute caching on (default) or off\n"
		"    actimeo=S           set acregmin, acregmax, acdirmin, acdirmax\n"
		"    acregmin=S acregmax=S acdirmin=S acdirmax=S   (3 60 30 60 seconds)\n"
		"    lookupcache=all|positive|none   (all)\n"
		"    cto | nocto         close-to-open consistency (cto)\n"
		"    nconnect=N          accepted; one connection is used\n"
		"    noresvport, resvport, intr, nointr, sharecache, nosharecache: ignored\n"
		"\n"
		"  Caching:\n"
		"    cache_size=N[K|M|G] write-back cache cap, 1M..1T (256M)\n"
		"    wb_age=S            write back dirty data older than S seconds (30)\n"
		"    fsc, nofsc          ignored\n"
		"\n"
		"  Reaching the mount target:\n"
		"    mounttargetip=IP    connect to this address, skip DNS\n"
		"    region=R, az=AZ     AWS region and availability zone (name or id)\n"
		"    dnsserver=IP[:PORT] DNS server for the mount target name\n"
		"    awsprofile=NAME     AWS profile (EFS API, iam)\n"
		"    tls | notls         encrypt with TLS (notls)\n"
		"    cafile=PATH         CA bundle for tls\n"
		"    iam | noiam         IAM authorization (implies tls), or not (default)\n"
		"    accesspoint=fsap-ID mount through an EFS access point (implies tls)\n"
		"    awscredsuri=/PATH   iam: ECS task role credentials URI\n"
		"    rolearn=ARN,jwtpath=FILE  iam: STS AssumeRoleWithWebIdentity\n"
		"    netns=PATH          enter this network namespace before connecting\n"
		"\n"
		"  efs-utils (mount.efs) options, accepted with a one-line note:\n"
		"    tlsport=N, verify=N, ocsp, noocsp, stunnel   no effect: TLS is built in\n"
		"    crossaccount        use with az=ZONE-ID (the ZONE-ID.fs-ID name)\n"
		"    awscredsuri=URI, rolearn=ARN, jwtpath=PATH   recorded for IAM\n"
		"\n"
		"  Identity and logs:\n"
		"    uid=N, gid=N        send this identity for every caller (AUTH_SYS)\n"
		"    userns_root=allow|refuse   send uid 0 from inside a user namespace\n"
		"                        (refuse)\n"
		"    log=syslog|stderr|FILE   where the detached daemon logs (syslog if\n"
		"                        /dev/log exists, else a file in the state dir)\n"
		"    loglevel=err|warn|notice|info|debug   (notice)\n"
		"\n"
		"  FUSE:\n"
		"    allow_other         let other users access the mount\n"
		"    allow_root          let root access the mount too (libfuse)\n"
		"    auto_unmount        unmount when the daemon dies (libfuse)\n"
		"    noexec              no program execution from the mount (libfuse)\n"
		"    default_permissions let the kernel check mode bits\n"
		"    fsname=NAME, subtype=NAME   names shown in /proc/mounts\n"
		"    max_threads=N       FUSE worker threads, 1..64 (16)\n"
		"    max_idle_threads=N  idle worker threads kept (libfuse default)\n"
		"    debug               same as -d\n"
		"\n"
		"  Accepted and ignored (fstab): _netdev nofail auto noauto user users nouser\n"
		"    defaults dev nodev suid nosuid exec atime noatime relatime diratime\n"
		"    nodiratime user=NAME x-* (x-systemd.*) comment=\n"
		"\n"
		"Exit status: 0 mounted, 1 bad usage, 32 mount failure; the daemon: 0, or 2\n"
		"when written data could not reach the server (logged per file).\n"
		"Unmount with: fusermount3 -u MOUNTPOINT.  See %s(8).\n",
		prog, prog, PROG);
}
