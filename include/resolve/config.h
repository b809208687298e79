/*
 * config.h - the efs-fuse configuration file (efs-fuse.conf(5)) and how its
 * settings combine with the command line and the environment.
 *
 * Files (later overrides earlier, key by key):
 *   /etc/amazon/efs/efs-utils.conf           (efs-utils' own, read as is)
 *   /etc/efs-fuse/efs-fuse.conf
 *   $XDG_CONFIG_HOME/efs-fuse/efs-fuse.conf  (else ~/.config/efs-fuse/efs-fuse.conf)
 * or, when EFS_FUSE_CONFIG is set, that one file only (it must exist).
 * A per-user file that cannot be read (EACCES: mount(8) runs a `user` fstab
 * mount with HOME=/root) is skipped with an info message, not an error.
 *
 * Sections: [mount] for everything, [mount.REGION] for one region.
 * Precedence, per key:
 *   command line > environment > [mount.REGION] > [mount] > built-in default.
 * The environment knows AWS_REGION / AWS_DEFAULT_REGION (region),
 * AWS_EC2_METADATA_DISABLED (imds_enabled), AWS_EC2_METADATA_SERVICE_ENDPOINT
 * (imds_endpoint), AWS_ENDPOINT_URL_EFS (efs_api_endpoint),
 * AWS_ENDPOINT_URL_STS (sts_endpoint).
 * IAM settings (issue 9): iam, accesspoint, awsprofile (the command line's
 * -o iam / accesspoint= / awsprofile= win), sts_endpoint,
 * container_credentials_endpoint (the ECS host for relative URIs).
 * The region that picks [mount.REGION] is the command line's, else the
 * environment's, else [mount] region; a region learned later from instance
 * metadata is applied with resolve_config_apply_region().
 *
 * Contract
 *  - 0 or -errno; on error err holds one line naming FILE:LINE and the fix.
 *  - Unknown keys in [mount] / [mount.*] are a warning (efs_log WARN, naming
 *    FILE:LINE), not an error, so an efs-utils.conf works as is; efs-utils
 *    keys without meaning here (stunnel_*, port_range_*, ...) are silent.
 *    Other sections are ignored (they belong to other modules).  Bad values
 *    of known keys are errors.
 *  - struct resolve_config is plain data, owned by the caller; no globals.
 */
#ifndef EFS_RESOLVE_CONFIG_H
#define EFS_RESOLVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "resolve/ini.h"

#define RESOLVE_DEFAULT_DNS_NAME_FORMAT "{az}.{fs_id}.efs.{region}.{dns_name_suffix}"
#define RESOLVE_DEFAULT_DNS_NAME_SUFFIX "amazonaws.com"
#define RESOLVE_DEFAULT_IMDS_ENDPOINT	"http://169.254.169.254"
#define RESOLVE_DEFAULT_EFS_API		"https://elasticfilesystem.{region}.{dns_name_suffix}"
#define RESOLVE_DEFAULT_DNS_TIMEOUT_MS	5000u
#define RESOLVE_SYSTEM_CONFIG		"/etc/efs-fuse/efs-fuse.conf"
#define RESOLVE_EFS_UTILS_CONFIG	"/etc/amazon/efs/efs-utils.conf"
#define RESOLVE_DEFAULT_STS_ENDPOINT	"https://sts.{region}.{dns_name_suffix}/"
#define RESOLVE_DEFAULT_CONTAINER_EP	"http://169.254.170.2"

/* What the command line says; NULL means "not given". */
struct resolve_cmdline {
	const char *region;
	const char *dnsserver;
	bool quiet; /* a second reading: the warnings were given by the first */
};

enum resolve_source {
	RCFG_DEFAULT = 0,
	RCFG_MOUNT,  /* [mount] */
	RCFG_REGION, /* [mount.REGION] */
	RCFG_ENV,
	RCFG_CMDLINE,
	RCFG_IMDS, /* region only */
};

struct resolve_config {
	char region[32];
	enum resolve_source region_from;
	char dns_name_format[256];
	char dns_name_suffix[128];
	bool fallback_enabled; /* fall_back_to_mount_target_ip_address_enabled */
	bool imds_enabled;
	char imds_endpoint[256];
	char efs_api_endpoint[256]; /* may hold {region} and {dns_name_suffix} */
	unsigned int dns_timeout_ms;
	char dnsserver[128]; /* "" = the system resolver */
	enum resolve_source dnsserver_from;
	char cafile[256]; /* cafile / stunnel_cafile; "" = none */
	char files[160];  /* the files read, for messages ("" = none) */
	/* IAM (issue 9) */
	bool iam;		      /* iam = true */
	char accesspoint[32];	      /* "" = none */
	char awsprofile[64];	      /* "" = none */
	char sts_endpoint[256];	      /* may hold {region} and {dns_name_suffix} */
	char container_endpoint[256]; /* scheme://host[:port] for ECS relative URIs */
};

/*
 * Read the files (per the rules above) into *ini.  ini must be initialised.
 * A missing system or user file is fine; a missing EFS_FUSE_CONFIG file is not.
 */
int resolve_config_read_files(struct ini *ini, char *err, size_t errlen);

/*
 * Combine ini, environment and command line into *cfg.  Region: see above;
 * empty when none of them sets it.
 */
int resolve_config_build(struct resolve_config *cfg, const struct ini *ini,
			 const struct resolve_cmdline *cl, char *err, size_t errlen);

/*
 * A region learned after resolve_config_build() (from instance metadata):
 * re-apply the [mount.REGION] overrides for it.  Same errors as build.
 */
int resolve_config_apply_region(struct resolve_config *cfg, const struct ini *ini,
				const struct resolve_cmdline *cl, const char *region,
				enum resolve_source from, char *err, size_t errlen);

/* Both steps: read the files and build.  Allocates the ini internally. */
int resolve_config_load(struct resolve_config *cfg, const struct resolve_cmdline *cl, char *err,
			size_t errlen);

/*
 * Only the CA bundle (cafile, else efs-utils' stunnel_cafile) for region
 * (NULL: [mount] only) into buf ("" when none), without re-checking keys.
 */
int resolve_config_cafile(const char *region, char *buf, size_t len);

/* The i-th key [mount] knows, NULL past the end (for the docs test). */
const char *resolve_config_key_name(size_t i);

/*
 * Expand {region} and {dns_name_suffix} of an endpoint template (key names
 * the setting in messages).  0, -EINVAL or -ENAMETOOLONG.
 */
int resolve_config_expand(const struct resolve_config *cfg, const char *tmpl, const char *key,
			  char *out, size_t outlen, char *err, size_t errlen);

/* "command line", "environment", ... for messages. */
const char *resolve_source_name(enum resolve_source s);

#endif
