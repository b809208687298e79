/*
 * iam_mount.h - what main.c needs for -o iam and -o accesspoint= (issue 9):
 * the effective settings (command line over efs-fuse.conf), the mount's key
 * pair, its credential provider, and the struct iam_cert_cfg that every TLS
 * connection (first and reconnects) builds its client certificate from.
 *
 * Contract
 *  - iam_mount_new(): *out stays NULL when neither iam nor an access point is
 *    asked for (then nothing else is needed); else it holds the settings.
 *    0 or -EINVAL with one line in err.
 *  - iam_mount_prepare(): after the mount target is resolved (fs id and
 *    region known): makes the key pair and, with iam, looks the credentials
 *    up once so a mount without any fails early with the chain's message.
 *  - The struct iam_mount outlives the NFS client (free it after).
 *  - EFS_FUSE_TEST_CERT_VALIDITY_S (tests only) shortens the certificate's
 *    validity, to prove that a reconnect presents a new one.
 */
#ifndef EFS_IAM_MOUNT_H
#define EFS_IAM_MOUNT_H

#include <stdbool.h>
#include <stddef.h>

struct mount_opts;
struct iam_mount;
struct iam_cert_cfg;

int iam_mount_new(const struct mount_opts *o, struct iam_mount **out, char *err, size_t errlen);
int iam_mount_prepare(struct iam_mount *im, const char *fs_id, const char *region, char *err,
		      size_t errlen);
const struct iam_cert_cfg *iam_mount_cert_cfg(const struct iam_mount *im);
/*
 * The mount failed with rc after TLS was accepted: when rc says the server
 * refused access (-EACCES, -EPERM, NFS4ERR_ACCESS/PERM), append to err what
 * IAM / the access point has to do with it (EFS refuses a policy-denied
 * mount at the NFS level, "access denied by server", as well as with TLS).
 */
void iam_mount_explain(struct iam_mount *im, int rc, char *err, size_t errlen);
void iam_mount_free(struct iam_mount *im);

#endif
