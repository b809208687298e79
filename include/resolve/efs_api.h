/*
 * efs_api.h - the EFS API fallback: DescribeMountTargets
 * (GET /2015-02-01/mount-targets?FileSystemId=fs-...), signed with AWS
 * SigV4 (service "elasticfilesystem"), and the choice of the mount target.
 *
 * Contract
 *  - efs_api_describe_mount_targets(): 0 and *n targets, or -errno with one
 *    line in err:
 *      -EACCES     403 (credentials refused; the AWS message is quoted)
 *      -ENOENT     404 FileSystemNotFound
 *      -EAGAIN     429/500/503 still after max_tries tries (backoff doubles
 *                  from backoff_ms)
 *      -EBADMSG    the response is not the documented shape
 *      other       transport errors from http.h
 *  - efs_api_parse_mount_targets() is the pure parser (unit-tested on hostile
 *    input); targets of other file systems are skipped.
 *  - efs_api_pick(): index of the `available` target whose
 *    AvailabilityZoneName equals az_name (when given) else whose
 *    AvailabilityZoneId equals az_id; -ENOENT with the list of what exists.
 *  No globals; blocking; one thread per call.
 */
#ifndef EFS_RESOLVE_EFS_API_H
#define EFS_RESOLVE_EFS_API_H

#include <stddef.h>

struct aws_credentials;

#define EFS_API_MAX_TARGETS 32

struct efs_mount_target {
	char id[48];
	char fs_id[48];
	char subnet_id[48];
	char state[24];
	char ip[64];
	char az_id[32];
	char az_name[32];
};

struct efs_api_req {
	const char *endpoint; /* "https://elasticfilesystem.us-east-1.amazonaws.com" */
	const char *region;
	const char *fs_id;
	const struct aws_credentials *creds;
	unsigned int max_tries;	 /* 0 = 4 */
	unsigned int backoff_ms; /* 0 = 200 */
	const char *cafile;	 /* NULL = system CAs */
};

int efs_api_describe_mount_targets(const struct efs_api_req *r, struct efs_mount_target *out,
				   unsigned int cap, unsigned int *n, char *err, size_t errlen);
int efs_api_parse_mount_targets(const char *body, size_t len, const char *fs_id,
				struct efs_mount_target *out, unsigned int cap, unsigned int *n,
				char *err, size_t errlen);
int efs_api_pick(const struct efs_mount_target *mt, unsigned int n, const char *fs_id,
		 const char *az_id, const char *az_name, char *err, size_t errlen);

#endif
