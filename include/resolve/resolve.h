/*
 * resolve.h - where to connect for a SOURCE: the mount target address the way
 * EFS users expect it (efs-fuse(1), efs-fuse.conf(5)).
 *
 * Order
 *  1. mounttargetip given: connect there, no DNS (Direct Connect, on-prem).
 *     tls_name is still the file system's DNS name when fs_id is given and the
 *     region is known (command line, environment, config file; with tls also
 *     instance metadata); with tls and no region this is an error.
 *  2. host given (SOURCE "name:/path" or "IP:/path"): a numeric address is used
 *     as is, a name is resolved with c-ares; tls_name = host.
 *  3. fs_id: region (-o region > AWS_REGION > AWS_DEFAULT_REGION > config file
 *     > instance metadata), the name from dns_name_format, DNS; when DNS
 *     fails and fall_back_to_mount_target_ip_address_enabled, the EFS API
 *     (DescribeMountTargets, SigV4) gives the `available` mount target in this
 *     instance's availability zone (zone id from instance metadata, or
 *     -o az=NAME matched against AvailabilityZoneName).
 *
 * Contract
 *  - 0, or -errno with one line in err that says what to do.  Errors worth
 *    knowing: -ENOENT (name does not exist / no usable mount target),
 *    -ETIMEDOUT, -EACCES (EFS API refused), -EINVAL (bad option/config),
 *    -EDESTADDRREQ (region unknown).
 *  - Blocking (DNS <= dns_timeout_ms, instance metadata <= 2 s, EFS API
 *    bounded retries).  No globals: the config files are re-read each call,
 *    so main.c calls it again on reconnect to re-resolve.  Thread-safe once
 *    resolve_global_init() ran.
 *  - Logs the path taken at EFS_LOG_INFO/DEBUG; never logs a secret.
 */
#ifndef EFS_RESOLVE_RESOLVE_H
#define EFS_RESOLVE_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

struct resolve_req {
	const char *fs_id, *host, *mounttargetip, *region, *az, *dnsserver, *awsprofile;
	bool tls;
};

enum resolve_how {
	RESOLVE_BY_IP = 1,  /* numeric host or mounttargetip */
	RESOLVE_BY_DNS,	    /* DNS answer */
	RESOLVE_BY_EFS_API, /* DescribeMountTargets fallback */
};

struct resolve_result {
	char addr[64];	    /* numeric IP to connect to */
	char tls_name[256]; /* the file system's DNS name (TLS hostname checks), or the host given
			     */
	char region[32];    /* "" when not known (and not needed) */
	/* additions beyond the agreed interface, for logs and tests */
	enum resolve_how how;
	char mount_target_id[48]; /* EFS API path only */
};

/* Once per process, before threads start (wraps curl_global_init). 0 or -errno. */
int resolve_global_init(void);
void resolve_global_cleanup(void);

int resolve_mount_target(const struct resolve_req *req, struct resolve_result *res, char *err,
			 size_t errlen);

#endif
