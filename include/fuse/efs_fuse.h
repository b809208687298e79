/*
 * efs_fuse.h - the kernel <-> daemon edge: a libfuse3 low-level session
 * whose handlers turn FUSE requests into efs_fs calls and reply exactly
 * once.  main.c uses only this header (no <fuse_lowlevel.h> needed).
 *
 * Contract
 *  - efs_fuse_new() builds the libfuse arguments itself (fsname, subtype,
 *    allow_other, default_permissions, ro, max_read=rsize, debug) and
 *    creates the session; fs is borrowed and must outlive the efs_fuse.
 *  - efs_fuse_mount() mounts and installs SIGINT/SIGTERM/SIGHUP handlers
 *    that end the loop.
 *  - efs_fuse_loop() serves requests on up to max_threads threads until
 *    the file system is unmounted or a signal arrives: then 0; -errno on
 *    a session failure.  cfg->on_stop runs as soon as the session ends
 *    (before the workers finished), and at the latest when the loop returns.
 *  - efs_fuse_free() unmounts if still mounted, removes the handlers and
 *    destroys the session (which may call the destroy handler): call it
 *    before efs_fs_free().
 *  - Errors: 0/-errno, with a one-line message in err.
 *  - Every request carries the caller's uid, gid and up to 16 groups
 *    (AUTH_SYS) to the server.  Failures are logged once here, at debug
 *    level for the expected ones (ENOENT, EEXIST, ...).
 */
#ifndef EFS_FUSE_H
#define EFS_FUSE_H

#include <stdbool.h>
#include <stddef.h>

struct efs_fs;

struct efs_fuse_cfg {
	const char *fsname, *subtype;
	bool allow_other, default_permissions, ro, debug;
	unsigned max_threads; /* 0: libfuse default */
	/*
	 * Optional: called once, from a watcher thread, as soon as the session
	 * ends (unmount, SIGTERM) while requests may still be in progress, so
	 * the layers below stop retrying and the workers can finish.
	 */
	void (*on_stop)(void *arg);
	void *on_stop_arg;
};

struct efs_fuse;

struct efs_fuse *efs_fuse_new(struct efs_fs *fs, const struct efs_fuse_cfg *cfg, char *err,
			      size_t errlen);
int efs_fuse_mount(struct efs_fuse *f, const char *mountpoint, char *err, size_t errlen);
int efs_fuse_loop(struct efs_fuse *f);
void efs_fuse_free(struct efs_fuse *f);

#endif
