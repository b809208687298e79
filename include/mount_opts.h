/*
 * mount_opts.h - the command line: SOURCE MOUNTPOINT [-o opts] [-f] [-d]
 * [-h] [-V], with the nfs(5) meanings of the NFS options and the FUSE ones.
 *
 * Contract
 *  - mount_opts_parse() fills *o from argv.  Returns 0 (mount), 1 (help or
 *    version was printed to stdout: exit 0), or -EINVAL with a one-line
 *    message in err that says what to do.
 *  - Strings in *o are owned by it; mount_opts_free() releases them.
 *  - Defaults are the kernel NFS client's (rsize/wsize 1 MiB, timeo 600,
 *    retrans 2, hard) and port 2049.
 */
#ifndef EFS_MOUNT_OPTS_H
#define EFS_MOUNT_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct mount_opts {
	/* SOURCE, split */
	char *source;      /* as typed */
	char *host;        /* name or address (brackets removed); NULL for a bare fs id */
	char *fs_id;       /* "fs-..." when SOURCE named a file system id */
	char *export_path; /* "/" by default */
	char *mountpoint;
	unsigned int port; /* 2049 */
	bool port_set;

	/* NFS (nfs(5)) */
	uint32_t rsize, wsize;
	unsigned int timeo;   /* tenths of a second */
	unsigned int retrans;
	bool soft;
	bool noresvport;
	bool ro;

	/* FUSE */
	bool allow_other, default_permissions;
	char *fsname, *subtype;
	bool foreground, debug;

	/* Reaching the mount target (issue 4) */
	char *mounttargetip, *region, *az, *dnsserver, *awsprofile, *cafile;
	bool tls;
};

int mount_opts_parse(int argc, char **argv, struct mount_opts *o, char *err, size_t errlen);
void mount_opts_free(struct mount_opts *o);
void mount_opts_usage(FILE *f, const char *prog);

#endif
