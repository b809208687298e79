/*
 * dns_name.h - the DNS name of a file system from dns_name_format, as
 * efs-utils builds it.
 *
 * Fields: {fs_id} {region} {az} {dns_name_suffix}.  When az is NULL or empty
 * the "{az}." prefix is dropped from the format (so the default
 * "{az}.{fs_id}.efs.{region}.{dns_name_suffix}" gives the AZ-less name); any
 * other use of {az} without an az is an error, as is an unknown field, an
 * unclosed brace, a field whose value is missing, or a result that is not a
 * valid DNS name (labels 1-63 bytes of [A-Za-z0-9-], 253 bytes in all).
 *
 * Contract: 0 or -EINVAL / -ENAMETOOLONG with a one-line message in err.
 * Pure function, no allocation.
 */
#ifndef EFS_RESOLVE_DNS_NAME_H
#define EFS_RESOLVE_DNS_NAME_H

#include <stddef.h>

struct dns_name_fields {
	const char *fs_id;
	const char *region;
	const char *az;
	const char *dns_name_suffix;
};

int dns_name_build(char *out, size_t outlen, const char *format, const struct dns_name_fields *f,
		   char *err, size_t errlen);

/* True when s looks like an EFS file system id: "fs-" + 8..40 lowercase hex digits. */
int dns_name_is_fs_id(const char *s);
/* True when s is a plausible DNS label or name (used for -o az= and regions). */
int dns_name_is_hostname(const char *s);

#endif
