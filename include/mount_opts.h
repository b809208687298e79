/*
 * mount_opts.h - the command line: SOURCE MOUNTPOINT [-o opts] [-f] [-d]
 * [-h] [-V], with the nfs(5) meanings of the NFS options and the FUSE ones.
 * man/efs-fuse.1 documents every option; keep the two in step.
 *
 * Contract
 *  - mount_opts_parse() fills *o from argv (argv[0] is the program name).
 *    Options and the two positionals may come in any order; "-o" may be
 *    repeated and glued ("-oro"); "--" ends the options.  mount.fuse3 calls
 *    us as `efs-fuse SOURCE MOUNTPOINT -o opts`.
 *  - Returns 0 (mount), 1 (help or version was printed to stdout: exit 0),
 *    or -EINVAL with a one-line message in err that says what to do
 *    (-ENOTCONN: the mount point is a stale FUSE mount, not a usage error).  The
 *    message has no program-name prefix and no newline: the caller prints
 *    "efs-fuse: <err>".
 *  - Strings in *o are owned by it; mount_opts_free() releases them and may
 *    be called after any return of mount_opts_parse() (on error *o holds
 *    nothing to free).
 *  - Defaults are the kernel NFS client's (rsize/wsize 1 MiB, timeo 600,
 *    retrans 2, hard, acregmin/acregmax/acdirmin/acdirmax 3/60/30/60,
 *    lookupcache=all, cto) and port 2049.
 *  - Options of mount(8) and fstab (_netdev, nofail, noauto, user, ...,
 *    x-systemd.*) and nfs(5) options without meaning here (intr,
 *    sharecache, fsc, resvport) are accepted and ignored.  The efs-utils
 *    mount options (tlsport, verify, ocsp, stunnel, netns, awscredsuri,
 *    rolearn, jwtpath, crossaccount, nconnect) are accepted; where they
 *    have no effect here a one-line note is added to o->notes.  libfuse's
 *    own options (allow_root, auto_unmount, noexec, ...) are collected in
 *    o->fuse_opts for the FUSE session.  Unknown options are errors.
 *  - mount(8) helper flags -s (sloppy), -n (no mtab), -v (verbose) are
 *    accepted, so the binary can be installed as mount.efs-fuse.
 *  - A fs id without mounttargetip is accepted: resolving it is resolve/'s
 *    job, and main decides.  A SOURCE that looks meant as a fs id but is
 *    not one (FS-12345678, fs-1234567g) is an error saying what an id is.
 *  - mount_opts_name(i) walks the option table (for the docs test).
 *  - No globals; safe to call from several threads on different *o.
 */
#ifndef EFS_MOUNT_OPTS_H
#define EFS_MOUNT_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define MOUNT_OPTS_DEFAULT_PORT	       2049
#define MOUNT_OPTS_DEFAULT_IOSIZE      1048576u /* rsize, wsize */
#define MOUNT_OPTS_MIN_IOSIZE	       4096u
#define MOUNT_OPTS_DEFAULT_TIMEO       600 /* deciseconds */
#define MOUNT_OPTS_DEFAULT_RETRANS     2
#define MOUNT_OPTS_DEFAULT_CACHE_SIZE  (256ull << 20) /* bytes */
#define MOUNT_OPTS_DEFAULT_WB_AGE      30	      /* seconds */
#define MOUNT_OPTS_DEFAULT_MAX_THREADS 16
#define MOUNT_OPTS_MAX_MAX_THREADS     64

/* nfs(5) lookupcache=: which directory entry lookups are cached. */
enum mount_opts_lookupcache {
	MOUNT_OPTS_LOOKUPCACHE_ALL = 0,	 /* positive and negative (default) */
	MOUNT_OPTS_LOOKUPCACHE_POSITIVE, /* only names that exist ("positive", "pos") */
	MOUNT_OPTS_LOOKUPCACHE_NONE,	 /* every lookup goes to the server */
};

struct mount_opts {
	/* SOURCE, split */
	char *source;	   /* as typed */
	char *host;	   /* name or address (brackets removed); NULL for a bare fs id */
	char *fs_id;	   /* "fs-..." when SOURCE named a file system id (bare or
			    * fs-ID.efs.REGION.amazonaws.com, then host is set too) */
	char *export_path; /* "/" by default; always starts with '/' */
	char *mountpoint;  /* realpath(3) of MOUNTPOINT, an existing directory */
	unsigned int port; /* 2049; from SOURCE HOST:PORT:/path or -o port= */
	bool port_set;	   /* the user gave a port */

	/* NFS (nfs(5)) */
	uint32_t rsize, wsize; /* bytes, 4096..1048576, multiples of 4096 */
	unsigned int timeo;    /* tenths of a second, > 0 */
	unsigned int retrans;  /* retries before a soft mount fails (or hard logs) */
	bool soft;	       /* false: hard (default) */
	bool softerr;	       /* soft, failing with ETIMEDOUT instead of EIO */
	bool noresvport;       /* recorded only: we never bind a reserved port */
	bool ro;	       /* the one mount flag passed down to FUSE */
	/*
	 * Attribute cache lifetimes in seconds (acregmin <= acregmax and
	 * acdirmin <= acdirmax hold on return).  noac sets all four to 0 and
	 * stays true so callers can also make writes synchronous (nfs(5)).
	 */
	unsigned int acregmin, acregmax, acdirmin, acdirmax;
	bool noac;
	enum mount_opts_lookupcache lookupcache;
	bool cto; /* close-to-open: open() revalidates (default true; nocto) */

	/* Caching (issue 3) */
	uint64_t cache_size; /* write-back cache cap in bytes (default 256 MiB) */
	unsigned int wb_age; /* dirty data older than this (s) is written back (30) */

	/* FUSE */
	bool allow_other, default_permissions;
	char *fsname, *subtype;	  /* NULL: caller's default (e.g. source, "efs-fuse") */
	bool foreground, debug;	  /* -d and -o debug set both */
	unsigned int max_threads; /* FUSE worker threads, 1..64 (default 16) */

	/* Reaching the mount target (issue 4) */
	char *mounttargetip; /* IPv4 or IPv6 literal (no brackets), checked by inet_pton */
	char *region;	     /* [a-z0-9-]+, e.g. "us-east-1" */
	char *az;	     /* AZ name ("us-east-1a") or id ("use1-az1") */
	char *dnsserver;     /* "IPv4", "IPv4:PORT", "IPv6", "[IPv6]:PORT" as typed:
			      * the form ares_set_servers_ports_csv() takes */
	char *awsprofile;    /* AWS shared-config profile name */
	char *cafile;	     /* PATH of CA bundle for tls; readable when parsed */
	bool tls;	     /* -o tls (notls clears it) */

	/* efs-utils compatibility (issue 8) */
	char *netns;	       /* netns=PATH: enter this network namespace first */
	unsigned int tlsport;  /* recorded only: efs-utils' local stunnel port */
	bool crossaccount;     /* recorded: needs the AZ-id DNS name (see notes) */
	unsigned int nconnect; /* recorded: one connection is used */
	bool sync;	       /* mount(8) sync: every write goes to the server */

	/* Operating (issue 8) */
	char *log;		       /* NULL: default; "syslog", "stderr" or a file path */
	int loglevel;		       /* enum efs_log_level, or -1 (default) */
	long uid, gid;		       /* -1, or the identity sent for every caller */
	bool userns_root;	       /* userns_root=allow: send uid 0 from a user namespace */
	char *fuse_opts;	       /* "a,b=c": libfuse options passed through, or NULL */
	unsigned int max_idle_threads; /* 0: libfuse default */
	char notes[1024];	       /* "note\n..." one line per notice for the user */
	/* IAM authorization and access points (issue 9) */
	bool iam;	   /* -o iam: sign the TLS client certificate (sets tls, as accesspoint=) */
	char *accesspoint; /* "fsap-" and 17 lowercase hex digits */
	char *awscredsuri; /* ECS relative credentials URI, "/..." (needs iam) */
	char *rolearn;	   /* with jwtpath: STS AssumeRoleWithWebIdentity (needs iam) */
	char *jwtpath;
};

int mount_opts_parse(int argc, char **argv, struct mount_opts *o, char *err, size_t errlen);
void mount_opts_free(struct mount_opts *o);
void mount_opts_usage(FILE *f, const char *prog);
/* The i-th -o option name of the table ("x-*" for a prefix), NULL past the end. */
const char *mount_opts_name(size_t i);

#endif
