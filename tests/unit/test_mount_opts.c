/*
 * test_mount_opts.c - the efs-fuse command line: SOURCE forms, every -o
 * option with good and bad values, error texts, -h/-V, and that --help and
 * the man page name every option.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <unistd.h>

#include "mount_opts.h"

static char mnt[64];	/* an existing directory */
static char cafile[64]; /* an existing readable file */

static int group_setup(void **state)
{
	int fd;

	strcpy(mnt, "/tmp/efs-opts-XXXXXX");
	if (!mkdtemp(mnt))
		return -1;
	strcpy(cafile, "/tmp/efs-opts-ca-XXXXXX");
	fd = mkstemp(cafile);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int group_teardown(void **state)
{
	rmdir(mnt);
	unlink(cafile);
	return 0;
}

static char err[256];

/*
 * Parse "efs-fuse" followed by the NULL-terminated arguments; "MNT" stands
 * for the existing temp directory and "CA" for the existing temp file
 * (inside an argument too).
 */
static int run(struct mount_opts *o, ...)
{
	char *argv[32];
	char bufs[32][512];
	int argc = 0, rc;
	va_list ap;
	const char *a;

	argv[argc++] = "efs-fuse";
	va_start(ap, o);
	while ((a = va_arg(ap, const char *)) != NULL) {
		char *b = bufs[argc];
		const char *m;

		assert_true(argc < 31);
		if (!strcmp(a, "MNT")) {
			snprintf(b, sizeof(bufs[0]), "%s", mnt);
		} else if ((m = strstr(a, "CA")) != NULL && strstr(a, "cafile=")) {
			snprintf(b, sizeof(bufs[0]), "%.*s%s%s", (int)(m - a), a, cafile, m + 2);
		} else {
			snprintf(b, sizeof(bufs[0]), "%s", a);
		}
		argv[argc++] = b;
	}
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	rc = mount_opts_parse(argc, argv, o, err, sizeof(err));
	if (rc == 0)
		assert_string_equal(err, "");
	else if (rc < 0)
		assert_int_not_equal(err[0], '\0');
	return rc;
}

/* Parse SOURCE MNT -o opts; expect success. */
static void ok_opts(struct mount_opts *o, const char *opts)
{
	int rc = run(o, "srv:/", "MNT", "-o", opts, NULL);

	if (rc)
		fail_msg("-o %s: rc %d: %s", opts, rc, err);
}

/* Parse SOURCE MNT -o opts; expect -EINVAL and an error containing want. */
static void bad_opts(const char *opts, const char *want)
{
	struct mount_opts o;
	int rc = run(&o, "srv:/", "MNT", "-o", opts, NULL);

	if (rc != -EINVAL)
		fail_msg("-o %s: expected -EINVAL, got %d", opts, rc);
	if (!strstr(err, want))
		fail_msg("-o %s: error '%s' lacks '%s'", opts, err, want);
	assert_null(strchr(err, '\n'));
	/* nothing left to free after an error */
	assert_null(o.source);
	assert_null(o.host);
	assert_null(o.mountpoint);
	mount_opts_free(&o);
}

static void bad_source(const char *src, const char *want)
{
	struct mount_opts o;
	int rc = run(&o, src, "MNT", NULL);

	if (rc != -EINVAL)
		fail_msg("SOURCE %s: expected -EINVAL, got %d", src, rc);
	if (!strstr(err, want))
		fail_msg("SOURCE %s: error '%s' lacks '%s'", src, err, want);
	mount_opts_free(&o);
}

/* ---- defaults -------------------------------------------------------- */

static void test_defaults(void **state)
{
	struct mount_opts o;

	assert_int_equal(run(&o, "127.0.0.1:/export", "MNT", NULL), 0);
	assert_string_equal(o.source, "127.0.0.1:/export");
	assert_string_equal(o.host, "127.0.0.1");
	assert_null(o.fs_id);
	assert_string_equal(o.export_path, "/export");
	assert_string_equal(o.mountpoint, mnt);
	assert_int_equal(o.port, 2049);
	assert_false(o.port_set);
	assert_int_equal(o.rsize, 1048576);
	assert_int_equal(o.wsize, 1048576);
	assert_int_equal(o.timeo, 600);
	assert_int_equal(o.retrans, 2);
	assert_false(o.soft);
	assert_false(o.noresvport);
	assert_false(o.ro);
	assert_int_equal(o.acregmin, 3);
	assert_int_equal(o.acregmax, 60);
	assert_int_equal(o.acdirmin, 30);
	assert_int_equal(o.acdirmax, 60);
	assert_false(o.noac);
	assert_int_equal(o.lookupcache, MOUNT_OPTS_LOOKUPCACHE_ALL);
	assert_true(o.cto);
	assert_int_equal(o.cache_size, 256ull << 20);
	assert_false(o.allow_other);
	assert_false(o.default_permissions);
	assert_null(o.fsname);
	assert_null(o.subtype);
	assert_false(o.foreground);
	assert_false(o.debug);
	assert_int_equal(o.max_threads, 16);
	assert_null(o.mounttargetip);
	assert_null(o.region);
	assert_null(o.az);
	assert_null(o.dnsserver);
	assert_null(o.awsprofile);
	assert_null(o.cafile);
	assert_false(o.tls);
	mount_opts_free(&o);
	assert_null(o.source);
	mount_opts_free(&o); /* twice is harmless */
}

/* ---- SOURCE ------------------------------------------------------------ */

struct src_case {
	const char *src;
	const char *host, *fs_id, *path;
	unsigned int port;
	bool port_set;
};

static void test_source_forms(void **state)
{
	static const struct src_case cases[] = {
		{"127.0.0.1:/export", "127.0.0.1", NULL, "/export", 2049, false},
		{"127.0.0.1", "127.0.0.1", NULL, "/", 2049, false},
		{"server.example.com:/a/b", "server.example.com", NULL, "/a/b", 2049, false},
		{"nfs-server", "nfs-server", NULL, "/", 2049, false},
		{"localhost:12049:/x", "localhost", NULL, "/x", 12049, true},
		{"localhost:12049", "localhost", NULL, "/", 12049, true},
		{"10.0.3.7:/", "10.0.3.7", NULL, "/", 2049, false},
		{"[::1]:/export", "::1", NULL, "/export", 2049, false},
		{"[::1]:2050:/export", "::1", NULL, "/export", 2050, true},
		{"[fd00::1]", "fd00::1", NULL, "/", 2049, false},
		{"[fd00::1]:3049", "fd00::1", NULL, "/", 3049, true},
		{"fs-12345678", NULL, "fs-12345678", "/", 2049, false},
		{"fs-12345678:/home/u", NULL, "fs-12345678", "/home/u", 2049, false},
		{"fs-0123456789abcdef0", NULL, "fs-0123456789abcdef0", "/", 2049, false},
		{"fs-0123456789abcdef0:/d", NULL, "fs-0123456789abcdef0", "/d", 2049, false},
		{"fs-12345678.efs.us-east-1.amazonaws.com",
		 "fs-12345678.efs.us-east-1.amazonaws.com", "fs-12345678", "/", 2049, false},
		{"fs-abcdef01.efs.eu-west-1.amazonaws.com:/sub",
		 "fs-abcdef01.efs.eu-west-1.amazonaws.com", "fs-abcdef01", "/sub", 2049, false},
		/* "fs-" names that are not ids are host names */
		{"fs-server:/x", "fs-server", NULL, "/x", 2049, false},
		{"ab-12345678:/x", "ab-12345678", NULL, "/x", 2049, false},
		{"fs-12345678.example.com:/", "fs-12345678.example.com", NULL, "/", 2049, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct src_case *c = &cases[i];
		struct mount_opts o;
		int rc = run(&o, c->src, "MNT", NULL);

		if (rc)
			fail_msg("SOURCE %s: rc %d: %s", c->src, rc, err);
		assert_string_equal(o.source, c->src);
		if (c->host)
			assert_string_equal(o.host, c->host);
		else
			assert_null(o.host);
		if (c->fs_id)
			assert_string_equal(o.fs_id, c->fs_id);
		else
			assert_null(o.fs_id);
		assert_string_equal(o.export_path, c->path);
		assert_int_equal(o.port, c->port);
		assert_int_equal(o.port_set, c->port_set);
		mount_opts_free(&o);
	}
}

static void test_source_bad(void **state)
{
	bad_source("", "empty SOURCE");
	bad_source("srv:export", "must start with '/'");
	bad_source("srv:", "must start with '/'");
	bad_source(":/export", "no host");
	bad_source("::1:/export", "brackets");
	bad_source("fd00::1", "brackets");
	bad_source("[::1:/x", "missing ']'");
	bad_source("[nothex]:/x", "not an IPv6 address");
	bad_source("[::1]/x", "expected [IPv6]:/path");
	bad_source("srv:0:/x", "port must be 1..65535");
	bad_source("srv:65536:/x", "port must be 1..65535");
	bad_source("srv:99999999999:/x", "port must be 1..65535");
	bad_source("srv:2049x", "expected HOST:PORT:/path");
	bad_source("srv:2049:x", "expected HOST:PORT:/path");
	bad_source("fs-1234", "8 or 17 lowercase hex");
	bad_source("fs-ABCDEF12", "8 or 17 lowercase hex");
	/* ids meant but mistyped are not taken for host names */
	bad_source("FS-12345678", "a file system id is fs- and 8 or 17 lowercase hex digits, "
				  "e.g. fs-12345678");
	bad_source("fs-1234567g", "e.g. fs-12345678");
	bad_source("Fs-0123456789abcdef0:/x", "8 or 17 lowercase hex");
	bad_source("fs-0123456789abcdefz", "8 or 17 lowercase hex");
	{
		/* but ordinary host names starting with fs- still work */
		struct mount_opts o;

		assert_int_equal(run(&o, "fs-nas:/x", "MNT", NULL), 0);
		assert_string_equal(o.host, "fs-nas");
		assert_null(o.fs_id);
		mount_opts_free(&o);
	}
	bad_source("bad host:/x", "not a host name");
}

static void test_port_option(void **state)
{
	struct mount_opts o;

	ok_opts(&o, "port=12049");
	assert_int_equal(o.port, 12049);
	assert_true(o.port_set);
	mount_opts_free(&o);

	/* the same port twice is fine */
	assert_int_equal(run(&o, "srv:3049:/", "MNT", "-o", "port=3049", NULL), 0);
	assert_int_equal(o.port, 3049);
	mount_opts_free(&o);

	assert_int_equal(run(&o, "[::1]:3049:/", "MNT", "-o", "port=4049", NULL), -EINVAL);
	assert_string_equal(err, "port 3049 in SOURCE conflicts with -o port=4049: give one");
	mount_opts_free(&o);

	bad_opts("port=0", "bad value for port: '0' (expected a TCP port, 1..65535)");
	bad_opts("port=65536", "bad value for port");
	bad_opts("port=abc", "bad value for port: 'abc'");
	bad_opts("port=-1", "bad value for port");
	bad_opts("port=", "bad value for port: ''");
	bad_opts("port", "option 'port' needs a value: port=...");
}

/* ---- argv shapes ------------------------------------------------------- */

static void test_argv_order(void **state)
{
	struct mount_opts o;

	/* options first, glued -o, several -o, -f between positionals */
	assert_int_equal(run(&o, "-oro", "-o", "soft", "srv:/x", "-f", "MNT", "-o",
			     "rsize=8192,wsize=8192", NULL),
			 0);
	assert_true(o.ro);
	assert_true(o.soft);
	assert_true(o.foreground);
	assert_false(o.debug);
	assert_int_equal(o.rsize, 8192);
	assert_int_equal(o.wsize, 8192);
	assert_string_equal(o.export_path, "/x");
	mount_opts_free(&o);

	/* later options win, empty items are skipped */
	assert_int_equal(run(&o, "srv:/", "MNT", "-o", "ro,,soft", "-o", "rw,hard,", NULL), 0);
	assert_false(o.ro);
	assert_false(o.soft);
	mount_opts_free(&o);

	/* "--" ends options */
	assert_int_equal(run(&o, "-d", "--", "srv:/", "MNT", NULL), 0);
	assert_true(o.debug);
	assert_true(o.foreground);
	mount_opts_free(&o);

	/* a backslash escapes a comma inside a value */
	assert_int_equal(run(&o, "srv:/", "MNT", "-o", "fsname=a\\,b,subtype=efs", NULL), 0);
	assert_string_equal(o.fsname, "a,b");
	assert_string_equal(o.subtype, "efs");
	mount_opts_free(&o);
}

static void test_argv_errors(void **state)
{
	struct mount_opts o;

	assert_int_equal(run(&o, NULL), -EINVAL);
	assert_true(
		strstr(err, "missing SOURCE and MOUNTPOINT: usage: efs-fuse SOURCE MOUNTPOINT") ==
		err);
	assert_int_equal(run(&o, "srv:/", NULL), -EINVAL);
	assert_true(strstr(err, "missing MOUNTPOINT: usage:") == err);
	assert_int_equal(run(&o, "srv:/", "MNT", "extra", NULL), -EINVAL);
	assert_true(strstr(err, "unexpected argument 'extra'") == err);
	assert_int_equal(run(&o, "srv:/", "MNT", "-x", NULL), -EINVAL);
	assert_string_equal(err, "unknown option '-x': see efs-fuse -h");
	assert_int_equal(run(&o, "srv:/", "MNT", "-o", NULL), -EINVAL);
	assert_string_equal(err, "-o needs options: -o opt[,opt...]");
	assert_int_equal(run(&o, "srv:/", "MNT", "--foreground", NULL), -EINVAL);
	assert_string_equal(err, "unknown option '--foreground': see efs-fuse -h");
	mount_opts_free(&o);
}

static void test_mountpoint(void **state)
{
	struct mount_opts o;
	char missing[128], rel[160];

	snprintf(missing, sizeof(missing), "%s/does-not-exist", mnt);
	assert_int_equal(run(&o, "srv:/", missing, NULL), -EINVAL);
	{
		char want[512];

		snprintf(want, sizeof(want),
			 "mount point %s does not exist: create it with mkdir -p %s", missing,
			 missing);
		assert_string_equal(err, want);
	}
	assert_int_equal(run(&o, "srv:/", cafile, NULL), -EINVAL);
	assert_true(strstr(err, "is not a directory") != NULL);

	/* stored as an absolute, resolved path */
	snprintf(rel, sizeof(rel), "%s/../%s", mnt, strrchr(mnt, '/') + 1);
	assert_int_equal(run(&o, "srv:/", rel, NULL), 0);
	assert_string_equal(o.mountpoint, mnt);
	mount_opts_free(&o);
}

/* ---- -h / -V ------------------------------------------------------------ */

/* Run and capture what went to stdout. */
static int run_captured(char *out, size_t outlen, const char *a1, const char *a2, const char *a3)
{
	struct mount_opts o;
	FILE *tmp = tmpfile();
	int saved, rc;
	size_t n;

	assert_non_null(tmp);
	fflush(stdout);
	saved = dup(1);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), 1) >= 0);
	rc = run(&o, a1, a2, a3, NULL);
	fflush(stdout);
	assert_true(dup2(saved, 1) >= 0);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, outlen - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	mount_opts_free(&o);
	return rc;
}

static char help[16384];

static void test_help_version(void **state)
{
	char out[16384];

	assert_int_equal(run_captured(out, sizeof(out), "-V", NULL, NULL), 1);
	assert_string_equal(out, "efs-fuse " PACKAGE_VERSION "\n");
	assert_int_equal(run_captured(out, sizeof(out), "--version", NULL, NULL), 1);
	assert_string_equal(out, "efs-fuse " PACKAGE_VERSION "\n");

	assert_int_equal(run_captured(help, sizeof(help), "-h", NULL, NULL), 1);
	assert_true(strstr(help, "usage: efs-fuse SOURCE MOUNTPOINT") == help);
	assert_int_equal(run_captured(out, sizeof(out), "--help", NULL, NULL), 1);
	assert_string_equal(out, help);
	/* -h wins over bad or missing arguments that come before it */
	assert_int_equal(run_captured(out, sizeof(out), "-o", "bogus", "-h"), 1);
	assert_string_equal(out, help);
	assert_int_equal(run_captured(out, sizeof(out), "srv:/", "/nonexistent/x", "--help"), 1);
	assert_string_equal(out, help);
	/* ...but "-h" as the value of -o is an (unknown) option */
	assert_int_equal(run_captured(out, sizeof(out), "srv:/", "-o", "-h"), -EINVAL);
	assert_string_equal(err, "unknown option '-h': see efs-fuse -h");

	/* mount_opts_usage() writes the same text to any stream */
	{
		char buf[16384];
		FILE *f = fmemopen(buf, sizeof(buf), "w");

		assert_non_null(f);
		mount_opts_usage(f, "efs-fuse");
		fclose(f);
		assert_string_equal(buf, help);
	}
}

/* ---- NFS options -------------------------------------------------------- */

static void test_efs_recommended(void **state)
{
	struct mount_opts o;

	assert_int_equal(run(&o, "fs-12345678", "MNT", "-o",
			     "nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,"
			     "noresvport",
			     NULL),
			 0);
	assert_string_equal(o.fs_id, "fs-12345678");
	assert_int_equal(o.rsize, 1048576);
	assert_int_equal(o.wsize, 1048576);
	assert_false(o.soft);
	assert_int_equal(o.timeo, 600);
	assert_int_equal(o.retrans, 2);
	assert_true(o.noresvport);
	mount_opts_free(&o);

	/* the fstab line from the man page, as mount.fuse3 passes it */
	assert_int_equal(
		run(&o, "fs-12345678", "MNT", "-o", "rw,nodev,nosuid,_netdev,allow_other", NULL),
		0);
	assert_true(o.allow_other);
	assert_false(o.ro);
	mount_opts_free(&o);
}

static void test_nfsvers(void **state)
{
	struct mount_opts o;

	ok_opts(&o, "nfsvers=4.1");
	mount_opts_free(&o);
	ok_opts(&o, "nfsvers=4");
	mount_opts_free(&o);
	ok_opts(&o, "vers=4.1,minorversion=1");
	mount_opts_free(&o);
	bad_opts("nfsvers=3", "nfsvers=3: only NFS version 4.1 is supported");
	bad_opts("vers=4.0", "vers=4.0: only NFS version 4.1 is supported");
	bad_opts("nfsvers=4.2", "only NFS version 4.1 is supported");
	bad_opts("minorversion=0", "minorversion=0: only NFS version 4.1 is supported");
	bad_opts("nfsvers", "option 'nfsvers' needs a value");
}

static void test_iosize(void **state)
{
	struct mount_opts o;

	ok_opts(&o, "rsize=4096,wsize=65536");
	assert_int_equal(o.rsize, 4096);
	assert_int_equal(o.wsize, 65536);
	mount_opts_free(&o);
	ok_opts(&o, "rsize=8191,wsize=1048575"); /* rounded down to 4 KiB */
	assert_int_equal(o.rsize, 4096);
	assert_int_equal(o.wsize, 1044480);
	mount_opts_free(&o);
	bad_opts("rsize=abc",
		 "bad value for rsize: 'abc' (expected a number of bytes, 4096..1048576)");
	bad_opts("wsize=4095",
		 "bad value for wsize: '4095' (expected a number of bytes, 4096..1048576)");
	bad_opts("rsize=1048577", "bad value for rsize: '1048577'");
	bad_opts("wsize=1M", "bad value for wsize: '1M'");
	bad_opts("rsize=", "bad value for rsize: ''");
}

static void test_timeo_retrans(void **state)
{
	struct mount_opts o;

	ok_opts(&o, "timeo=1,retrans=0");
	assert_int_equal(o.timeo, 1);
	assert_int_equal(o.retrans, 0);
	mount_opts_free(&o);
	ok_opts(&o, "timeo=6000,retrans=10");
	assert_int_equal(o.timeo, 6000);
	assert_int_equal(o.retrans, 10);
	mount_opts_free(&o);
	bad_opts("timeo=0", "bad value for timeo: '0' (expected tenths of a second, 1 or more)");
	bad_opts("timeo=1.5", "bad value for timeo: '1.5'");
	bad_opts("retrans=-1", "bad value for retrans: '-1' (expected a number of retries");
	bad_opts("retrans=x", "bad value for retrans");
	bad_opts("timeo=99999999999", "bad value for timeo");
}

static void test_flags(void **state)
{
	struct mount_opts o;

	ok_opts(&o, "soft,ro,noresvport,nocto,allow_other,default_permissions,tls");
	assert_true(o.soft);
	assert_true(o.ro);
	assert_true(o.noresvport);
	assert_false(o.cto);
	assert_true(o.allow_other);
	assert_true(o.default_permissions);
	assert_true(o.tls);
	mount_opts_free(&o);
	ok_opts(&o, "soft,hard,ro,rw,noresvport,resvport,nocto,cto,tls,notls");
	assert_false(o.soft);
	assert_false(o.ro);
	assert_false(o.noresvport);
	assert_true(o.cto);
	assert_false(o.tls);
	mount_opts_free(&o);
	bad_opts("hard=1", "option 'hard' takes no value: write just hard");
	bad_opts("tls=yes", "option 'tls' takes no value");
}

static void test_sec_proto(void **state)
{
	struct mount_opts o;

	ok_opts(&o, "sec=sys,proto=tcp");
	mount_opts_free(&o);
	ok_opts(&o, "proto=tcp6");
	mount_opts_free(&o);
	bad_opts("sec=krb5", "sec=krb5 is not supported: only sec=sys");
	bad_opts("proto=udp", "proto=udp is not supported: only proto=tcp");
	bad_opts("proto=rdma", "proto=rdma is not supported");
}

static void test_attr_cache(void **state)
{
	struct mount_opts o;

	ok_opts(&o, "actimeo=10");
	assert_int_equal(o.acregmin, 10);
	assert_int_equal(o.acregmax, 10);
	assert_int_equal(o.acdirmin, 10);
	assert_int_equal(o.acdirmax, 10);
	mount_opts_free(&o);

	ok_opts(&o, "acregmin=1,acregmax=2,acdirmin=5,acdirmax=120");
	assert_int_equal(o.acregmin, 1);
	assert_int_equal(o.acregmax, 2);
	assert_int_equal(o.acdirmin, 5);
	assert_int_equal(o.acdirmax, 120);
	assert_false(o.noac);
	mount_opts_free(&o);

	ok_opts(&o, "noac");
	assert_true(o.noac);
	assert_int_equal(o.acregmin, 0);
	assert_int_equal(o.acregmax, 0);
	assert_int_equal(o.acdirmin, 0);
	assert_int_equal(o.acdirmax, 0);
	mount_opts_free(&o);

	ok_opts(&o, "noac,ac"); /* ac undoes noac: defaults again */
	assert_false(o.noac);
	assert_int_equal(o.acregmin, 3);
	assert_int_equal(o.acdirmax, 60);
	mount_opts_free(&o);

	ok_opts(&o, "actimeo=0");
	assert_false(o.noac);
	assert_int_equal(o.acregmax, 0);
	mount_opts_free(&o);

	ok_opts(&o, "acregmax=1,acdirmax=10"); /* min is clamped to max */
	assert_int_equal(o.acregmin, 1);
	assert_int_equal(o.acregmax, 1);
	assert_int_equal(o.acdirmin, 10);
	assert_int_equal(o.acdirmax, 10);
	mount_opts_free(&o);

	bad_opts("actimeo=x", "bad value for actimeo: 'x' (expected seconds, 0 or more)");
	bad_opts("acregmin=-3", "bad value for acregmin");
	bad_opts("acregmax=", "bad value for acregmax");
	bad_opts("acdirmin=1s", "bad value for acdirmin");
	bad_opts("acdirmax=3000000000", "bad value for acdirmax");
	bad_opts("noac=1", "option 'noac' takes no value");
}

static void test_lookupcache(void **state)
{
	struct mount_opts o;

	ok_opts(&o, "lookupcache=none");
	assert_int_equal(o.lookupcache, MOUNT_OPTS_LOOKUPCACHE_NONE);
	mount_opts_free(&o);
	ok_opts(&o, "lookupcache=positive");
	assert_int_equal(o.lookupcache, MOUNT_OPTS_LOOKUPCACHE_POSITIVE);
	mount_opts_free(&o);
	ok_opts(&o, "lookupcache=pos");
	assert_int_equal(o.lookupcache, MOUNT_OPTS_LOOKUPCACHE_POSITIVE);
	mount_opts_free(&o);
	ok_opts(&o, "lookupcache=none,lookupcache=all");
	assert_int_equal(o.lookupcache, MOUNT_OPTS_LOOKUPCACHE_ALL);
	mount_opts_free(&o);
	bad_opts("lookupcache=some",
		 "bad value for lookupcache: 'some' (expected all, positive or none)");
}

static void test_ignored(void **state)
{
	struct mount_opts o;

	ok_opts(&o, "sharecache,nosharecache,intr,nointr,_netdev,nofail,auto,noauto,user,users,"
		    "nouser,defaults,dev,nodev,suid,nosuid,exec,noexec,atime,noatime,relatime,"
		    "diratime,nodiratime,x-systemd.automount,x-systemd.mount-timeout=30,"
		    "comment=hello,fsc,nofsc,user=alice,x-gvfs-show");
	/* nothing changed */
	assert_false(o.ro);
	assert_false(o.soft);
	assert_int_equal(o.rsize, 1048576);
	assert_int_equal(o.acregmin, 3);
	assert_true(o.cto);
	mount_opts_free(&o);
}

static void test_cache_size(void **state)
{
	struct mount_opts o;

	ok_opts(&o, "cache_size=512M");
	assert_int_equal(o.cache_size, 512ull << 20);
	mount_opts_free(&o);
	ok_opts(&o, "cache_size=2G");
	assert_int_equal(o.cache_size, 2ull << 30);
	mount_opts_free(&o);
	ok_opts(&o, "cache_size=4096k");
	assert_int_equal(o.cache_size, 4ull << 20);
	mount_opts_free(&o);
	ok_opts(&o, "cache_size=1048576");
	assert_int_equal(o.cache_size, 1ull << 20);
	mount_opts_free(&o);
	ok_opts(&o, "cache_size=1T");
	assert_int_equal(o.cache_size, 1ull << 40);
	mount_opts_free(&o);
	bad_opts("cache_size=1K", "bad value for cache_size: '1K' (expected bytes with an optional "
				  "K, M, G suffix, 1M..1T)");
	bad_opts("cache_size=0", "bad value for cache_size: '0'");
	bad_opts("cache_size=2T", "bad value for cache_size: '2T'");
	bad_opts("cache_size=99999999999999999999", "bad value for cache_size");
	bad_opts("cache_size=12X", "bad value for cache_size: '12X'");
	bad_opts("cache_size=12MB", "bad value for cache_size: '12MB'");
	bad_opts("cache_size=M", "bad value for cache_size: 'M'");
	bad_opts("cache_size=-1G", "bad value for cache_size");
}

/* ---- reaching the mount target ------------------------------------------- */

static void test_mounttargetip(void **state)
{
	struct mount_opts o;

	assert_int_equal(run(&o, "fs-12345678", "MNT", "-o", "mounttargetip=10.0.3.7", NULL), 0);
	assert_string_equal(o.mounttargetip, "10.0.3.7");
	assert_string_equal(o.fs_id, "fs-12345678");
	assert_null(o.host);
	mount_opts_free(&o);
	ok_opts(&o, "mounttargetip=fd00::7");
	assert_string_equal(o.mounttargetip, "fd00::7");
	mount_opts_free(&o);
	ok_opts(&o, "mounttargetip=[fd00::7]");
	assert_string_equal(o.mounttargetip, "fd00::7");
	mount_opts_free(&o);
	bad_opts("mounttargetip=10.0.3.256",
		 "bad value for mounttargetip: '10.0.3.256' (expected an IPv4 or IPv6 address)");
	bad_opts("mounttargetip=efs.example.com", "bad value for mounttargetip");
	bad_opts("mounttargetip=", "bad value for mounttargetip: ''");
	bad_opts("mounttargetip=[10.0.0.1]", "bad value for mounttargetip");
}

static void test_region_az(void **state)
{
	struct mount_opts o;

	ok_opts(&o, "region=us-east-1,az=us-east-1a");
	assert_string_equal(o.region, "us-east-1");
	assert_string_equal(o.az, "us-east-1a");
	mount_opts_free(&o);
	ok_opts(&o, "region=us-gov-west-1,az=use1-az1,region=cn-north-1");
	assert_string_equal(o.region, "cn-north-1");
	assert_string_equal(o.az, "use1-az1");
	mount_opts_free(&o);
	bad_opts("region=US-EAST-1", "bad value for region: 'US-EAST-1' (expected a region such as "
				     "us-east-1)");
	bad_opts("region=", "bad value for region: ''");
	bad_opts("az=us east", "bad value for az: 'us east' (expected an availability zone");
}

static void test_dnsserver(void **state)
{
	static const char *good[] = {"127.0.0.1", "127.0.0.1:5353", "::1",
				     "[::1]",	  "[::1]:5353",	    "fd00::53"};
	static const char *bad[] = {
		"",	  "localhost", "127.0.0.1:0",	 "127.0.0.1:70000", "127.0.0.1:x",
		"[::1]:", "[::1",      "[127.0.0.1]:53", "1.2.3:53",	    "::1:5353x"};
	struct mount_opts o;
	char opt[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(opt, sizeof(opt), "dnsserver=%s", good[i]);
		ok_opts(&o, opt);
		assert_string_equal(o.dnsserver, good[i]);
		mount_opts_free(&o);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[160];

		snprintf(opt, sizeof(opt), "dnsserver=%s", bad[i]);
		snprintf(
			want, sizeof(want),
			"bad value for dnsserver: '%s' (expected IP or IP:PORT, IPv6 as [IP]:PORT)",
			bad[i]);
		bad_opts(opt, want);
	}
}

static void test_aws_tls(void **state)
{
	struct mount_opts o;

	assert_int_equal(run(&o, "fs-12345678", "MNT", "-o", "tls,cafile=CA,awsprofile=dev", NULL),
			 0);
	assert_true(o.tls);
	assert_string_equal(o.cafile, cafile);
	assert_string_equal(o.awsprofile, "dev");
	mount_opts_free(&o);
	bad_opts("cafile=/nonexistent/ca.pem",
		 "cannot read cafile '/nonexistent/ca.pem': No such file or directory");
	bad_opts("cafile=", "bad value for cafile: ''");
	bad_opts("awsprofile=", "bad value for awsprofile: ''");
	/* iam and accesspoint=: tests/unit/test_mount_opts_iam.c */
	bad_opts("tlsport=0", "bad value for tlsport: '0' (expected a TCP port, 1..65535)");
}

/* ---- efs-utils (mount.efs) options ------------------------------------------ */

static bool has_note(const struct mount_opts *o, const char *want)
{
	return strstr(o->notes, want) != NULL;
}

static void test_efs_utils(void **state)
{
	struct mount_opts o;

	/* every efs-utils option name is accepted */
	assert_int_equal(
		run(&o, "fs-12345678", "MNT", "-o",
		    "tls,iam,tlsport=20049,verify=2,ocsp,noocsp,stunnel,netns=/proc/self/ns/net,"
		    "awscredsuri=/v2/credentials/x,rolearn=arn:aws:iam::1:role/r,"
		    "jwtpath=/var/run/token,crossaccount,az=use1-az1,nconnect=4,sync",
		    NULL),
		0);
	assert_int_equal(o.tlsport, 20049);
	assert_string_equal(o.netns, "/proc/self/ns/net");
	assert_string_equal(o.awscredsuri, "/v2/credentials/x");
	assert_string_equal(o.rolearn, "arn:aws:iam::1:role/r");
	assert_string_equal(o.jwtpath, "/var/run/token");
	assert_true(o.crossaccount);
	assert_int_equal(o.nconnect, 4);
	assert_true(o.sync);
	/* one line for each option that has no effect here */
	assert_true(has_note(&o, "tlsport: ignored"));
	assert_true(has_note(&o, "verify: ignored"));
	assert_true(has_note(&o, "ocsp: ignored"));
	assert_true(has_note(&o, "stunnel: ignored"));
	assert_true(has_note(&o, "nconnect=4 ignored"));
	assert_false(has_note(&o, "crossaccount")); /* az= is a zone id: it works */
	assert_false(has_note(&o, "noocsp"));
	mount_opts_free(&o);

	ok_opts(&o, "crossaccount");
	assert_true(has_note(&o, "crossaccount: give the availability zone id"));
	mount_opts_free(&o);
	ok_opts(&o, "sync,async,nconnect=1");
	assert_false(o.sync);
	assert_string_equal(o.notes, "");
	mount_opts_free(&o);

	bad_opts("netns=/nonexistent/ns", "cannot open netns '/nonexistent/ns'");
	bad_opts("netns=", "bad value for netns");
	bad_opts("verify=9", "bad value for verify: '9'");
	bad_opts("nconnect=0", "bad value for nconnect: '0'");
	bad_opts("nconnect=17", "bad value for nconnect: '17'");
	bad_opts("rolearn=", "bad value for rolearn: ''");
	bad_opts("ocsp=1", "option 'ocsp' takes no value");
	bad_opts("sync=1", "option 'sync' takes no value");
}

/* ---- logs and identity -------------------------------------------------------- */

static void test_log_identity(void **state)
{
	struct mount_opts o;
	char cwd[512], want[600];

	ok_opts(&o, "log=/var/log/x.log,loglevel=debug");
	assert_string_equal(o.log, "/var/log/x.log");
	assert_int_equal(o.loglevel, 7);
	mount_opts_free(&o);
	ok_opts(&o, "log=syslog,loglevel=warn");
	assert_string_equal(o.log, "syslog");
	assert_int_equal(o.loglevel, 4);
	mount_opts_free(&o);
	ok_opts(&o, "log=stderr,loglevel=err");
	assert_string_equal(o.log, "stderr");
	assert_int_equal(o.loglevel, 3);
	mount_opts_free(&o);
	/* a relative file is made absolute (the daemon changes to /) */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/efs.log", cwd);
	ok_opts(&o, "log=efs.log");
	assert_string_equal(o.log, want);
	mount_opts_free(&o);
	bad_opts("log=", "bad value for log: '' (expected syslog, stderr or a file path)");
	bad_opts("loglevel=loud", "bad value for loglevel: 'loud'");

	assert_int_equal(run(&o, "srv:/", "MNT", NULL), 0);
	assert_null(o.log);
	assert_int_equal(o.loglevel, -1);
	assert_int_equal(o.uid, -1);
	assert_int_equal(o.gid, -1);
	assert_false(o.userns_root);
	assert_null(o.fuse_opts);
	mount_opts_free(&o);

	ok_opts(&o, "uid=1000,gid=100,userns_root=allow");
	assert_int_equal(o.uid, 1000);
	assert_int_equal(o.gid, 100);
	assert_true(o.userns_root);
	mount_opts_free(&o);
	ok_opts(&o, "uid=0,gid=0,userns_root=refuse");
	assert_int_equal(o.uid, 0);
	assert_false(o.userns_root);
	mount_opts_free(&o);
	bad_opts("uid=1000", "uid= and gid= go together");
	bad_opts("gid=1000", "uid= and gid= go together");
	bad_opts("uid=-1,gid=0", "bad value for uid: '-1' (expected a numeric user id");
	bad_opts("uid=0,gid=bob", "bad value for gid: 'bob' (expected a numeric group id");
	bad_opts("uid=4294967295,gid=0", "bad value for uid");
	bad_opts("userns_root=yes", "bad value for userns_root: 'yes' (expected allow or refuse)");
}

/* ---- FUSE options -------------------------------------------------------- */

static void test_fuse_opts(void **state)
{
	struct mount_opts o;

	ok_opts(&o, "fsname=myefs,subtype=efs,max_threads=1");
	assert_string_equal(o.fsname, "myefs");
	assert_string_equal(o.subtype, "efs");
	assert_int_equal(o.max_threads, 1);
	mount_opts_free(&o);
	ok_opts(&o, "max_threads=64,debug");
	assert_int_equal(o.max_threads, 64);
	assert_true(o.debug);
	assert_true(o.foreground);
	mount_opts_free(&o);
	assert_int_equal(run(&o, "srv:/", "MNT", "-f", NULL), 0);
	assert_true(o.foreground);
	assert_false(o.debug);
	mount_opts_free(&o);
	bad_opts("max_threads=0",
		 "bad value for max_threads: '0' (expected a number of threads, 1..64)");
	bad_opts("max_threads=65", "bad value for max_threads: '65'");
	bad_opts("fsname=", "bad value for fsname: ''");
	bad_opts("subtype=", "bad value for subtype: ''");
	/* libfuse's own options pass through, once each */
	ok_opts(&o, "allow_root,auto_unmount,noexec,auto_unmount,max_idle_threads=4");
	assert_string_equal(o.fuse_opts, "allow_root,auto_unmount,noexec");
	assert_int_equal(o.max_idle_threads, 4);
	mount_opts_free(&o);
	bad_opts("allow_root,allow_other", "allow_other and allow_root exclude each other");
	bad_opts("auto_unmount=1", "option 'auto_unmount' takes no value");
	bad_opts("max_idle_threads=0", "bad value for max_idle_threads: '0'");
	/* mount(8) calls helpers as: mount.TYPE SPEC DIR [-sfnv] [-o opts] [-t type] */
	assert_int_equal(
		run(&o, "srv:/", "MNT", "-s", "-n", "-v", "-o", "rw", "-t", "efs-fuse", NULL), 0);
	assert_false(o.foreground);
	mount_opts_free(&o);
}

static void test_unknown(void **state)
{
	struct mount_opts o;

	assert_int_equal(run(&o, "srv:/", "MNT", "-o", "ro,foo,soft", NULL), -EINVAL);
	assert_string_equal(err, "unknown option 'foo': see efs-fuse -h");
	assert_int_equal(run(&o, "srv:/", "MNT", "-o", "foo=bar", NULL), -EINVAL);
	assert_string_equal(err, "unknown option 'foo': see efs-fuse -h");
	/* prefixes and case do not match */
	bad_opts("rsiz=4096", "unknown option 'rsiz'");
	bad_opts("RO", "unknown option 'RO'");
	bad_opts("xsystemd.automount", "unknown option 'xsystemd.automount'");
	bad_opts("users=bob", "option 'users' takes no value");
	mount_opts_free(&o);
}

/* ---- documentation names every option -------------------------------------- */

static const char *documented[] = {
	"port=",
	"nfsvers=",
	"vers=",
	"minorversion=",
	"rsize=",
	"wsize=",
	"timeo=",
	"retrans=",
	"hard",
	"soft",
	"noresvport",
	"resvport",
	"ro",
	"rw",
	"sec=sys",
	"proto=tcp",
	"noac",
	"actimeo=",
	"acregmin=",
	"acregmax=",
	"acdirmin=",
	"acdirmax=",
	"lookupcache=",
	"nocto",
	"sharecache",
	"nosharecache",
	"intr",
	"nointr",
	"_netdev",
	"nofail",
	"noauto",
	"users",
	"nouser",
	"defaults",
	"nodev",
	"nosuid",
	"noexec",
	"noatime",
	"relatime",
	"nodiratime",
	"x-systemd.",
	"comment=",
	"cache_size=",
	"nofsc",
	"mounttargetip=",
	"region=",
	"az=",
	"dnsserver=",
	"awsprofile=",
	"tls",
	"notls",
	"cafile=",
	"iam",
	"accesspoint=",
	"allow_other",
	"default_permissions",
	"fsname=",
	"subtype=",
	"debug",
	"max_threads=",
	"-f",
	"-d",
	"-h",
	"-V",
	"fusermount3 -u",
};

/* "x-*" names a prefix: the docs show "x-". */
static const char *table_name(size_t i, char *buf, size_t len)
{
	const char *n = mount_opts_name(i);
	size_t l;

	if (!n)
		return NULL;
	l = strlen(n);
	snprintf(buf, len, "%.*s", (int)(n[l - 1] == '*' ? l - 1 : l), n);
	return buf;
}

/* A whole word: not inside a longer option name (so "ac" needs its own mention). */
static bool mentions(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
		char before = p == text ? ' ' : p[-1], after = p[n];

		if (!strchr("abcdefghijklmnopqrstuvwxyz_", before) &&
		    !strchr("abcdefghijklmnopqrstuvwxyz_", after ? after : ' '))
			return true;
	}
	return false;
}

static void test_help_names_every_option(void **state)
{
	char out[16384], name[64];

	assert_int_equal(run_captured(out, sizeof(out), "--help", NULL, NULL), 1);
	for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]); i++)
		if (!strstr(out, documented[i]))
			fail_msg("--help does not mention '%s'", documented[i]);
	/* the option table itself, entry by entry */
	for (size_t i = 0; table_name(i, name, sizeof(name)); i++)
		if (!mentions(out, name))
			fail_msg("--help does not mention option '%s' of the table", name);
	assert_non_null(strstr(out, "with EIO (softerr: ETIMEDOUT)"));
	assert_non_null(strstr(out, "32 mount failure"));
}

/* The man page source, with troff's "\-" and "\fB"-style fonts removed. */
static void test_man_names_every_option(void **state)
{
	FILE *f = fopen(TOP_SRCDIR "/man/efs-fuse.8", "r");
	static char page[131072];
	char name[64];
	size_t n, j = 0;

	assert_non_null(f);
	n = fread(page, 1, sizeof(page) - 1, f);
	fclose(f);
	assert_true(n > 0 && n < sizeof(page) - 1);
	for (size_t i = 0; i < n; i++) {
		if (page[i] == '\\' && i + 1 < n && page[i + 1] == '-') {
			page[j++] = '-';
			i++;
		} else if (page[i] == '\\' && i + 2 < n && page[i + 1] == 'f') {
			i += 2; /* \fB \fI \fR \fP */
		} else if (page[i] == '\\' && i + 1 < n && page[i + 1] == '&') {
			i++;
		} else {
			page[j++] = page[i];
		}
	}
	page[j] = '\0';
	for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]); i++)
		if (!strstr(page, documented[i]))
			fail_msg("man/efs-fuse.8 does not mention '%s'", documented[i]);
	for (size_t i = 0; table_name(i, name, sizeof(name)); i++)
		if (!mentions(page, name))
			fail_msg("man/efs-fuse.8 does not mention option '%s' of the table", name);
	assert_non_null(strstr(page, "/etc/efs-fuse/efs-fuse.conf"));
	assert_null(strstr(page, "/etc/efs-fuse.conf"));
	assert_non_null(strstr(page, "EXIT STATUS"));
	assert_non_null(strstr(page, "32"));
	assert_non_null(strstr(page, "user.efs-fuse.stats"));
	assert_non_null(strstr(page, "efs-fuse stats"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_source_forms),
		cmocka_unit_test(test_source_bad),
		cmocka_unit_test(test_port_option),
		cmocka_unit_test(test_argv_order),
		cmocka_unit_test(test_argv_errors),
		cmocka_unit_test(test_mountpoint),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_efs_recommended),
		cmocka_unit_test(test_nfsvers),
		cmocka_unit_test(test_iosize),
		cmocka_unit_test(test_timeo_retrans),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_sec_proto),
		cmocka_unit_test(test_attr_cache),
		cmocka_unit_test(test_lookupcache),
		cmocka_unit_test(test_ignored),
		cmocka_unit_test(test_cache_size),
		cmocka_unit_test(test_mounttargetip),
		cmocka_unit_test(test_region_az),
		cmocka_unit_test(test_dnsserver),
		cmocka_unit_test(test_aws_tls),
		cmocka_unit_test(test_efs_utils),
		cmocka_unit_test(test_log_identity),
		cmocka_unit_test(test_fuse_opts),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_help_names_every_option),
		cmocka_unit_test(test_man_names_every_option),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
