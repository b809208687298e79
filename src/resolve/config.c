/* config.c - efs-fuse.conf and its precedence; see include/resolve/config.h. */
#include "resolve/config.h"

#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const known_keys[] = {
	"region",
	"dns_name_format",
	"dns_name_suffix",
	"fall_back_to_mount_target_ip_address_enabled",
	"imds_enabled",
	"imds_endpoint",
	"efs_api_endpoint",
	"dns_timeout_ms",
	"dnsserver",
	"cafile",
	"stunnel_cafile", /* efs-utils' name for cafile */
	"iam",
	"accesspoint",
	"awsprofile",
	"sts_endpoint",
	"container_credentials_endpoint",
};

/*
 * efs-utils.conf keys that have no effect here (stunnel, the watchdog, the
 * kernel client): accepted silently so an efs-utils.conf works as is.
 */
static const char *const efs_utils_keys[] = {
	"stunnel_debug_enabled",
	"stunnel_logs_file",
	"stunnel_check_cert_hostname",
	"stunnel_check_cert_validity",
	"port_range_lower_bound",
	"port_range_upper_bound",
	"optimize_readahead",
	"disable_fetch_ec2_metadata_token",
	"retry_nfs_mount_command",
	"retry_nfs_mount_command_count",
	"retry_nfs_mount_command_timeout_sec",
	"logging_level",
	"logging_max_bytes",
	"logging_file_count",
	"state_file_dir_mode",
	"fips_mode_enabled",
	"proxy",
	"enable_proxy",
	"mount_target_ip",
};

static bool in_list(const char *key, const char *const *list, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (strcasecmp(key, list[k]) == 0)
			return true;
	return false;
}

const char *resolve_config_key_name(size_t i)
{
	return i < sizeof(known_keys) / sizeof(known_keys[0]) ? known_keys[i] : NULL;
}

const char *resolve_source_name(enum resolve_source s)
{
	switch (s) {
	case RCFG_DEFAULT:
		return "built-in default";
	case RCFG_MOUNT:
		return "[mount]";
	case RCFG_REGION:
		return "[mount.REGION]";
	case RCFG_ENV:
		return "environment";
	case RCFG_CMDLINE:
		return "command line";
	case RCFG_IMDS:
		return "instance metadata";
	}
	return "?";
}

static bool is_mount_section(const char *s)
{
	return strcmp(s, "mount") == 0 || strncmp(s, "mount.", 6) == 0;
}

static bool valid_region(const char *r)
{
	size_t i, n = strlen(r);

	if (n == 0 || n >= 32)
		return false;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)r[i]) || isdigit((unsigned char)r[i]) || r[i] == '-'))
			return false;
	return true;
}

static int check_keys(const struct ini *ini, bool quiet, char *err, size_t errlen)
{
	char where[300];
	unsigned int i;

	(void)err;
	(void)errlen;
	for (i = 0; i < ini->n; i++) {
		const struct ini_entry *e = &ini->entries[i];
		bool known = false;

		if (!is_mount_section(e->section))
			continue;
		if (strncmp(e->section, "mount.", 6) == 0 && !valid_region(e->section + 6)) {
			ini_where(ini, e, where, sizeof(where));
			snprintf(err, errlen,
				 "%s: [%s]: a region section is [mount.REGION], e.g. "
				 "[mount.us-east-1]",
				 where, e->section);
			return -EINVAL;
		}
		if (e->key[0] == '\0')
			continue; /* section marker */
		known = in_list(e->key, known_keys, sizeof(known_keys) / sizeof(known_keys[0]));
		ini_where(ini, e, where, sizeof(where));
		if (!known && in_list(e->key, efs_utils_keys,
				      sizeof(efs_utils_keys) / sizeof(efs_utils_keys[0])))
			continue;
		if (!known) {
			/* a warning, not an error: an efs-utils.conf must work as is */
			if (!quiet)
				efs_log(EFS_LOG_WARN,
					"%s: unknown setting \"%s\" in [%s] ignored: see "
					"efs-fuse.conf(5)",
					where, e->key, e->section);
			continue;
		}
		if (strcasecmp(e->key, "region") == 0 && strcmp(e->section, "mount") != 0) {
			snprintf(err, errlen, "%s: \"region\" belongs in [mount], not in [%s]",
				 where, e->section);
			return -EINVAL;
		}
	}
	return 0;
}

/* [mount.REGION] then [mount]; sets *from and *e. */
static const char *lookup(const struct ini *ini, const char *region, const char *key,
			  enum resolve_source *from, const struct ini_entry **ep)
{
	const struct ini_entry *e = NULL;
	char sect[INI_MAX_SECTION];

	if (region && *region) {
		snprintf(sect, sizeof(sect), "mount.%s", region);
		e = ini_find(ini, sect, key);
		if (e)
			*from = RCFG_REGION;
	}
	if (!e) {
		e = ini_find(ini, "mount", key);
		if (e)
			*from = RCFG_MOUNT;
	}
	*ep = e;
	return e ? e->value : NULL;
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int set_str(char *dst, size_t dstlen, const char *val, const char *key, const char *where,
		   char *err, size_t errlen)
{
	if (strlen(val) >= dstlen) {
		snprintf(err, errlen, "%s: %s is too long (at most %zu bytes)", where, key,
			 dstlen - 1);
		return -E2BIG;
	}
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

static int check_url(const char *val, const char *key, const char *where, char *err, size_t errlen)
{
	if (strncmp(val, "http://", 7) != 0 && strncmp(val, "https://", 8) != 0) {
		snprintf(err, errlen, "%s: %s must be an http:// or https:// URL, not \"%s\"",
			 where, key, val);
		return -EINVAL;
	}
	return 0;
}

static bool valid_ap_id(const char *s)
{
	return strlen(s) == 22 && strncmp(s, "fsap-", 5) == 0 &&
	       strspn(s + 5, "0123456789abcdef") == 17;
}

/* iam, accesspoint, awsprofile, sts_endpoint, container_credentials_endpoint. */
static int build_iam_keys(struct resolve_config *cfg, const struct ini *ini, char *err,
			  size_t errlen)
{
	const struct ini_entry *e;
	enum resolve_source from;
	char where[300];
	const char *v;
	int rc;

#define WHERE() (e ? (ini_where(ini, e, where, sizeof(where)), where) : "environment")
	cfg->iam = false;
	v = lookup(ini, cfg->region, "iam", &from, &e);
	if (v && ini_parse_bool(v, &cfg->iam) != 0) {
		snprintf(err, errlen, "%s: iam must be true or false, not \"%s\"", WHERE(), v);
		return -EINVAL;
	}
	cfg->accesspoint[0] = '\0';
	v = lookup(ini, cfg->region, "accesspoint", &from, &e);
	if (v && *v) {
		if (!valid_ap_id(v)) {
			snprintf(err, errlen,
				 "%s: accesspoint \"%s\" is not an access point id (fsap- and 17 "
				 "hex digits)",
				 WHERE(), v);
			return -EINVAL;
		}
		memcpy(cfg->accesspoint, v, strlen(v) + 1);
	}
	cfg->awsprofile[0] = '\0';
	v = lookup(ini, cfg->region, "awsprofile", &from, &e);
	if (v) {
		rc = set_str(cfg->awsprofile, sizeof(cfg->awsprofile), v, "awsprofile", WHERE(),
			     err, errlen);
		if (rc)
			return rc;
	}
	v = env_nonempty("AWS_ENDPOINT_URL_STS");
	e = NULL;
	if (!v)
		v = lookup(ini, cfg->region, "sts_endpoint", &from, &e);
	if (!v)
		v = RESOLVE_DEFAULT_STS_ENDPOINT;
	rc = set_str(cfg->sts_endpoint, sizeof(cfg->sts_endpoint), v, "sts_endpoint", WHERE(), err,
		     errlen);
	if (!rc)
		rc = check_url(v, "sts_endpoint", WHERE(), err, errlen);
	if (rc)
		return rc;
	e = NULL;
	v = lookup(ini, cfg->region, "container_credentials_endpoint", &from, &e);
	if (!v)
		v = RESOLVE_DEFAULT_CONTAINER_EP;
	rc = set_str(cfg->container_endpoint, sizeof(cfg->container_endpoint), v,
		     "container_credentials_endpoint", WHERE(), err, errlen);
	if (!rc)
		rc = check_url(v, "container_credentials_endpoint", WHERE(), err, errlen);
#undef WHERE
	return rc;
}

int resolve_config_expand(const struct resolve_config *cfg, const char *tmpl, const char *key,
			  char *out, size_t outlen, char *err, size_t errlen)
{
	const char *p = tmpl;
	size_t o = 0;

	while (*p) {
		const char *val = NULL;
		size_t skip = 1, n;

		if (strncmp(p, "{region}", 8) == 0) {
			val = cfg->region;
			skip = 8;
		} else if (strncmp(p, "{dns_name_suffix}", 17) == 0) {
			val = cfg->dns_name_suffix;
			skip = 17;
		} else if (*p == '{' || *p == '}') {
			snprintf(err, errlen,
				 "%s \"%s\": only {region} and {dns_name_suffix} may appear in "
				 "braces",
				 key, tmpl);
			return -EINVAL;
		}
		n = val ? strlen(val) : 1;
		if (o + n >= outlen) {
			snprintf(err, errlen, "%s is too long", key);
			return -ENAMETOOLONG;
		}
		memcpy(out + o, val ? val : p, n);
		o += n;
		p += skip;
	}
	out[o] = '\0';
	return 0;
}

/* Compute every key but region for cfg->region. */
static int build_keys(struct resolve_config *cfg, const struct ini *ini,
		      const struct resolve_cmdline *cl, char *err, size_t errlen)
{
	const struct ini_entry *e;
	enum resolve_source from;
	char where[300];
	const char *v;
	int rc;

#define WHERE() (e ? (ini_where(ini, e, where, sizeof(where)), where) : "environment")
	/* dns_name_format */
	v = lookup(ini, cfg->region, "dns_name_format", &from, &e);
	rc = set_str(cfg->dns_name_format, sizeof(cfg->dns_name_format),
		     v ? v : RESOLVE_DEFAULT_DNS_NAME_FORMAT, "dns_name_format", WHERE(), err,
		     errlen);
	if (rc)
		return rc;
	/* dns_name_suffix */
	v = lookup(ini, cfg->region, "dns_name_suffix", &from, &e);
	rc = set_str(cfg->dns_name_suffix, sizeof(cfg->dns_name_suffix),
		     v ? v : RESOLVE_DEFAULT_DNS_NAME_SUFFIX, "dns_name_suffix", WHERE(), err,
		     errlen);
	if (rc)
		return rc;
	/* fall_back_to_mount_target_ip_address_enabled */
	cfg->fallback_enabled = true;
	v = lookup(ini, cfg->region, "fall_back_to_mount_target_ip_address_enabled", &from, &e);
	if (v && ini_parse_bool(v, &cfg->fallback_enabled) != 0) {
		snprintf(err, errlen,
			 "%s: fall_back_to_mount_target_ip_address_enabled must be "
			 "true or false, not \"%s\"",
			 WHERE(), v);
		return -EINVAL;
	}
	/* imds_enabled: AWS_EC2_METADATA_DISABLED beats the files */
	cfg->imds_enabled = true;
	v = lookup(ini, cfg->region, "imds_enabled", &from, &e);
	if (v && ini_parse_bool(v, &cfg->imds_enabled) != 0) {
		snprintf(err, errlen, "%s: imds_enabled must be true or false, not \"%s\"", WHERE(),
			 v);
		return -EINVAL;
	}
	v = env_nonempty("AWS_EC2_METADATA_DISABLED");
	if (v) {
		bool disabled;

		if (ini_parse_bool(v, &disabled) != 0) {
			snprintf(err, errlen,
				 "AWS_EC2_METADATA_DISABLED must be true or false, "
				 "not \"%s\"",
				 v);
			return -EINVAL;
		}
		cfg->imds_enabled = !disabled;
	}
	/* imds_endpoint */
	v = env_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	e = NULL;
	if (!v)
		v = lookup(ini, cfg->region, "imds_endpoint", &from, &e);
	if (!v)
		v = RESOLVE_DEFAULT_IMDS_ENDPOINT;
	rc = set_str(cfg->imds_endpoint, sizeof(cfg->imds_endpoint), v, "imds_endpoint", WHERE(),
		     err, errlen);
	if (!rc)
		rc = check_url(v, "imds_endpoint", WHERE(), err, errlen);
	if (rc)
		return rc;
	/* efs_api_endpoint */
	v = env_nonempty("AWS_ENDPOINT_URL_EFS");
	e = NULL;
	if (!v)
		v = lookup(ini, cfg->region, "efs_api_endpoint", &from, &e);
	if (!v)
		v = RESOLVE_DEFAULT_EFS_API;
	rc = set_str(cfg->efs_api_endpoint, sizeof(cfg->efs_api_endpoint), v, "efs_api_endpoint",
		     WHERE(), err, errlen);
	if (!rc)
		rc = check_url(v, "efs_api_endpoint", WHERE(), err, errlen);
	if (rc)
		return rc;
	/* dns_timeout_ms */
	cfg->dns_timeout_ms = RESOLVE_DEFAULT_DNS_TIMEOUT_MS;
	v = lookup(ini, cfg->region, "dns_timeout_ms", &from, &e);
	if (v) {
		char *end;
		unsigned long ms;

		errno = 0;
		ms = strtoul(v, &end, 10);
		if (errno || end == v || *end || ms < 100 || ms > 120000) {
			snprintf(err, errlen,
				 "%s: dns_timeout_ms must be a number of milliseconds "
				 "between 100 and 120000, not \"%s\"",
				 WHERE(), v);
			return -EINVAL;
		}
		cfg->dns_timeout_ms = (unsigned int)ms;
	}
	/* dnsserver */
	cfg->dnsserver[0] = '\0';
	cfg->dnsserver_from = RCFG_DEFAULT;
	e = NULL;
	if (cl && cl->dnsserver && *cl->dnsserver) {
		v = cl->dnsserver;
		from = RCFG_CMDLINE;
	} else {
		v = lookup(ini, cfg->region, "dnsserver", &from, &e);
	}
	if (v) {
		rc = set_str(cfg->dnsserver, sizeof(cfg->dnsserver), v, "dnsserver",
			     e ? WHERE() : "-o dnsserver", err, errlen);
		if (rc)
			return rc;
		cfg->dnsserver_from = from;
	}
	/* cafile (efs-utils: stunnel_cafile) */
	cfg->cafile[0] = '\0';
	v = lookup(ini, cfg->region, "cafile", &from, &e);
	if (!v)
		v = lookup(ini, cfg->region, "stunnel_cafile", &from, &e);
	if (v) {
		rc = set_str(cfg->cafile, sizeof(cfg->cafile), v, "cafile", WHERE(), err, errlen);
		if (rc)
			return rc;
	}
	rc = build_iam_keys(cfg, ini, err, errlen);
	if (rc)
		return rc;
#undef WHERE
	return 0;
}

static int pick_region(struct resolve_config *cfg, const struct ini *ini,
		       const struct resolve_cmdline *cl, char *err, size_t errlen)
{
	const struct ini_entry *e = NULL;
	const char *v = NULL, *what = NULL;
	char where[300];

	cfg->region[0] = '\0';
	cfg->region_from = RCFG_DEFAULT;
	if (cl && cl->region && *cl->region) {
		v = cl->region;
		what = "-o region";
		cfg->region_from = RCFG_CMDLINE;
	} else if ((v = env_nonempty("AWS_REGION"))) {
		what = "AWS_REGION";
		cfg->region_from = RCFG_ENV;
	} else if ((v = env_nonempty("AWS_DEFAULT_REGION"))) {
		what = "AWS_DEFAULT_REGION";
		cfg->region_from = RCFG_ENV;
	} else if ((e = ini_find(ini, "mount", "region")) && *e->value) {
		v = e->value;
		ini_where(ini, e, where, sizeof(where));
		what = where;
		cfg->region_from = RCFG_MOUNT;
	}
	if (!v)
		return 0;
	if (!valid_region(v)) {
		snprintf(err, errlen, "%s: \"%s\" is not a region name: use one like us-east-1",
			 what, v);
		return -EINVAL;
	}
	memcpy(cfg->region, v, strlen(v) + 1); /* valid_region(): < 32 bytes */
	return 0;
}

int resolve_config_build(struct resolve_config *cfg, const struct ini *ini,
			 const struct resolve_cmdline *cl, char *err, size_t errlen)
{
	size_t off = 0;
	unsigned int i;
	int rc;

	rc = check_keys(ini, cl && cl->quiet, err, errlen);
	if (rc)
		return rc;
	cfg->files[0] = '\0';
	for (i = 0; i < ini->nfiles && off < sizeof(cfg->files); i++) {
		int n = snprintf(cfg->files + off, sizeof(cfg->files) - off, "%s%s", i ? ", " : "",
				 ini->files[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	rc = pick_region(cfg, ini, cl, err, errlen);
	if (rc)
		return rc;
	return build_keys(cfg, ini, cl, err, errlen);
}

int resolve_config_apply_region(struct resolve_config *cfg, const struct ini *ini,
				const struct resolve_cmdline *cl, const char *region,
				enum resolve_source from, char *err, size_t errlen)
{
	if (!valid_region(region)) {
		snprintf(err, errlen, "%s: \"%s\" is not a region name", resolve_source_name(from),
			 region);
		return -EINVAL;
	}
	snprintf(cfg->region, sizeof(cfg->region), "%s", region);
	cfg->region_from = from;
	return build_keys(cfg, ini, cl, err, errlen);
}

static int user_config_path(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;

	if (xdg && *xdg == '/')
		n = snprintf(buf, len, "%s/efs-fuse/efs-fuse.conf", xdg);
	else if (home && *home)
		n = snprintf(buf, len, "%s/.config/efs-fuse/efs-fuse.conf", home);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int resolve_config_read_files(struct ini *ini, char *err, size_t errlen)
{
	const char *explicit_file = getenv("EFS_FUSE_CONFIG");
	char path[512];
	int rc;

	if (explicit_file && *explicit_file)
		return ini_load_file(ini, explicit_file, true, err, errlen);
	/* efs-utils' file first, so ours override it key by key */
	rc = ini_load_file(ini, RESOLVE_EFS_UTILS_CONFIG, false, err, errlen);
	if (rc && rc != -ENOENT)
		return rc;
	rc = ini_load_file(ini, RESOLVE_SYSTEM_CONFIG, false, err, errlen);
	if (rc && rc != -ENOENT)
		return rc;
	if (user_config_path(path, sizeof(path)) == 0) {
		rc = ini_load_file(ini, path, false, err, errlen);
		if (rc == -EACCES || rc == -ENOTDIR || rc == -EPERM) {
			/* e.g. mount(8) running us as a user with HOME=/root */
			efs_log(EFS_LOG_INFO, "%s; skipping the per-user configuration", err);
			err[0] = '\0';
			rc = 0;
		}
		if (rc && rc != -ENOENT)
			return rc;
	}
	return 0;
}

int resolve_config_load(struct resolve_config *cfg, const struct resolve_cmdline *cl, char *err,
			size_t errlen)
{
	struct ini *ini = malloc(sizeof(*ini));
	int rc;

	if (!ini) {
		snprintf(err, errlen, "out of memory reading the configuration");
		return -ENOMEM;
	}
	ini_init(ini);
	rc = resolve_config_read_files(ini, err, errlen);
	if (!rc)
		rc = resolve_config_build(cfg, ini, cl, err, errlen);
	free(ini);
	return rc;
}

int resolve_config_cafile(const char *region, char *buf, size_t len)
{
	struct ini *ini = malloc(sizeof(*ini));
	const struct ini_entry *e;
	enum resolve_source from;
	char err[512];
	const char *v;
	int rc;

	buf[0] = '\0';
	if (!ini)
		return -ENOMEM;
	ini_init(ini);
	rc = resolve_config_read_files(ini, err, sizeof(err));
	if (!rc) {
		v = lookup(ini, region, "cafile", &from, &e);
		if (!v)
			v = lookup(ini, region, "stunnel_cafile", &from, &e);
		if (v && strlen(v) < len)
			memcpy(buf, v, strlen(v) + 1);
	}
	free(ini);
	return rc;
}
