/*
 * mount_check.h - before connecting, check what a FUSE mount needs and say
 * exactly what to fix: /dev/fuse, fusermount3, the mount point (a directory
 * the caller may mount on, not already an efs-fuse mount, not a stale mount
 * left by a crashed daemon), user_allow_other for allow_other/allow_root, and
 * the AUTH_SYS identity rule for user namespaces.
 *
 * Contract
 *  - mount_check() returns 0, or -errno with one line in err (no program
 *    prefix, no newline) naming the problem and the command that fixes it.
 *  - It reads /proc/self/mountinfo, /proc/self/uid_map, /etc/fuse.conf and
 *    stats paths; it changes nothing.  No globals; thread-safe.
 *  - mount_check_userns_root_outside() is the host uid that uid 0 of our user
 *    namespace maps to, or 0 when we are in the initial namespace (or uid 0
 *    is root outside too), -1 when uid 0 is not mapped.
 *  - mount_check_fuse_conf_allows_other(path) is true when path has an
 *    uncommented "user_allow_other" line.
 */
#ifndef EFS_MOUNT_CHECK_H
#define EFS_MOUNT_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "mount_opts.h"

int mount_check(const struct mount_opts *o, char *err, size_t errlen);
long mount_check_userns_root_outside(void);
bool mount_check_fuse_conf_allows_other(const char *path);

#endif
