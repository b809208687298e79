/*
 * main.c - the efs-fuse daemon: parse the command line, find the mount
 * target, establish the NFSv4.1 session, mount through FUSE, and only then
 * detach (so `efs-fuse ... && ls MOUNTPOINT` works).  Errors before the
 * mount is usable are one line on stderr and a non-zero exit; nothing is
 * left mounted.
 *
 * Daemonizing: the parent forks before any thread exists and waits on a
 * pipe for the child's verdict; the child does all the work, reports
 * "ready" after fuse_session_mount(), then detaches its stdio.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mount_opts.h"
#include "nfs4/nfs4_client.h"
#include "nfs4/nfs4_err.h"
#include "fs/efs_fs.h"
#include "fuse/efs_fuse.h"
#include "resolve/resolve.h"
#include "util/log.h"

#define EXIT_MOUNT_FAILED 32   /* mount(8)'s "mount failure" */
#define STOP_GRACE_MS	  2000 /* unmount: calls in progress get this long */

struct efs_mount {
	struct mount_opts opts;
	struct resolve_req rreq;
	struct resolve_result rres;
	struct nfs4_client *client;
	struct efs_fs *fs;
	struct efs_fuse *fuse;
	bool resolved_once; /* the first connection uses setup()'s answer */
	int ready_fd;	    /* write end of the parent's pipe, or -1 */
};

/* Re-resolution on reconnect (rpc calls this without locks held). */
static int reresolve(void *arg, char *host, size_t hostsz)
{
	struct efs_mount *m = arg;
	struct resolve_result r;
	char err[512];

	if (!m->resolved_once) {
		/* setup() just resolved: do not ask DNS/IMDS/the API twice. */
		m->resolved_once = true;
		snprintf(host, hostsz, "%s", m->rres.addr);
		return 0;
	}
	if (resolve_mount_target(&m->rreq, &r, err, sizeof(err)) != 0) {
		efs_log(EFS_LOG_WARN, "re-resolving the mount target: %s; keeping %s", err,
			m->rres.addr);
		snprintf(host, hostsz, "%s", m->rres.addr);
		return 0;
	}
	snprintf(host, hostsz, "%s", r.addr);
	return 0;
}

static void tell_parent(struct efs_mount *m, int status)
{
	unsigned char b = (unsigned char)status;

	if (m->ready_fd < 0)
		return;
	if (write(m->ready_fd, &b, 1) != 1)
		efs_log(EFS_LOG_WARN, "cannot report to the parent process");
	close(m->ready_fd);
	m->ready_fd = -1;
}

/* Fork; the parent waits for the child's verdict and exits with it. */
static int daemonize_early(struct efs_mount *m)
{
	int p[2];
	pid_t pid;
	unsigned char b;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "efs-fuse: pipe: %s\n", strerror(errno));
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "efs-fuse: fork: %s\n", strerror(errno));
		return -errno;
	}
	if (pid > 0) {
		close(p[1]);
		do
			n = read(p[0], &b, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1)
			_exit(b);
		/* The child died before reporting. */
		_exit(EXIT_MOUNT_FAILED);
	}
	close(p[0]);
	m->ready_fd = p[1];
	if (setsid() < 0)
		efs_log(EFS_LOG_WARN, "setsid: %s", strerror(errno));
	return 0;
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	if (chdir("/") < 0)
		efs_log(EFS_LOG_WARN, "chdir /: %s", strerror(errno));
}

static void make_owner_id(char *buf, size_t len)
{
	char host[128];
	uint64_t r = 0;

	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint64_t)getpid() * 2654435761u;
	snprintf(buf, len, "efs-fuse/%s/%ld/%016llx", host, (long)getpid(), (unsigned long long)r);
}

/*
 * The session ended (unmount, SIGTERM): lock waiters are answered, and the
 * NFS client stops retrying after a short grace, so no request in progress
 * can keep the daemon from exiting while the server is unreachable.
 */
static void on_stop(void *arg)
{
	struct efs_mount *m = arg;

	efs_fs_stop(m->fs);
	nfs4_client_stop(m->client, STOP_GRACE_MS);
}

static int setup(struct efs_mount *m, char *err, size_t errlen)
{
	struct mount_opts *o = &m->opts;
	struct nfs4_client_cfg ccfg = {0};
	struct efs_fs_cfg fcfg = {0};
	struct efs_fuse_cfg ucfg = {0};
	struct nfs4_fh root;
	struct nfs4_attr root_attr;
	char owner[256];
	int rc;

	m->rreq.fs_id = o->fs_id;
	m->rreq.host = o->host;
	m->rreq.mounttargetip = o->mounttargetip;
	m->rreq.region = o->region;
	m->rreq.az = o->az;
	m->rreq.dnsserver = o->dnsserver;
	m->rreq.awsprofile = o->awsprofile;
	m->rreq.tls = o->tls;
	rc = resolve_mount_target(&m->rreq, &m->rres, err, errlen);
	if (rc)
		return rc;

	make_owner_id(owner, sizeof(owner));
	ccfg.transport.host = m->rres.addr;
	ccfg.transport.port = o->port;
	/* nfs(5): timeo also bounds the connect (at most 10 s: a dead address
	 * must not hold the mount for timeo's default minute). */
	ccfg.transport.connect_timeout_ms = o->timeo * 100 < 10000 ? (int)o->timeo * 100 : 10000;
	ccfg.transport.tls = o->tls;
	ccfg.transport.tls_name = m->rres.tls_name[0] ? m->rres.tls_name : m->rres.addr;
	ccfg.transport.cafile = o->cafile;
	ccfg.rsize = o->rsize;
	ccfg.wsize = o->wsize;
	ccfg.timeo_ds = o->timeo;
	ccfg.retrans = o->retrans;
	ccfg.soft = o->soft;
	ccfg.softerr = o->softerr;
	ccfg.owner_id = owner;
	ccfg.resolve = (o->fs_id || (o->host && !o->mounttargetip)) ? reresolve : NULL;
	ccfg.resolve_arg = m;
	m->client = nfs4_client_new(&ccfg);
	if (!m->client) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = nfs4_client_start(m->client, err, errlen);
	if (rc)
		return rc;
	rc = nfs4_client_mount(m->client, o->export_path, &root, &root_attr, err, errlen);
	if (rc)
		return rc;

	fcfg.ro = o->ro;
	/* nfs(5) caches; mount_opts already folded actimeo= and noac (all 0) in */
	fcfg.acregmin = o->acregmin;
	fcfg.acregmax = o->acregmax;
	fcfg.acdirmin = o->acdirmin;
	fcfg.acdirmax = o->acdirmax;
	fcfg.lookupcache = EFS_LOOKUPCACHE_ALL;
	if (o->lookupcache == MOUNT_OPTS_LOOKUPCACHE_POSITIVE)
		fcfg.lookupcache = EFS_LOOKUPCACHE_POSITIVE;
	else if (o->lookupcache == MOUNT_OPTS_LOOKUPCACHE_NONE)
		fcfg.lookupcache = EFS_LOOKUPCACHE_NONE;
	fcfg.nocto = !o->cto;
	fcfg.cache_size = o->cache_size;
	fcfg.wb_age = o->wb_age;
	fcfg.sync_writes = o->noac; /* nfs(5): noac also makes writes synchronous */
	m->fs = efs_fs_new(m->client, &root, &root_attr, &fcfg);
	if (!m->fs) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ucfg.fsname = o->fsname ? o->fsname : o->source;
	ucfg.subtype = o->subtype ? o->subtype : "efs-fuse";
	ucfg.allow_other = o->allow_other;
	ucfg.default_permissions = o->default_permissions;
	ucfg.ro = o->ro;
	ucfg.debug = o->debug;
	ucfg.max_threads = o->max_threads;
	ucfg.on_stop = on_stop;
	ucfg.on_stop_arg = m;
	m->fuse = efs_fuse_new(m->fs, &ucfg, err, errlen);
	if (!m->fuse)
		return -EINVAL;
	return efs_fuse_mount(m->fuse, o->mountpoint, err, errlen);
}

static void teardown(struct efs_mount *m)
{
	if (m->fuse)
		efs_fuse_free(m->fuse);
	if (m->fs)
		efs_fs_free(m->fs);
	if (m->client) {
		nfs4_client_shutdown(m->client);
		nfs4_client_free(m->client);
	}
	mount_opts_free(&m->opts);
	resolve_global_cleanup();
}

int main(int argc, char **argv)
{
	struct efs_mount m;
	char err[1024] = "";
	int rc;

	memset(&m, 0, sizeof(m));
	m.ready_fd = -1;
	rc = mount_opts_parse(argc, argv, &m.opts, err, sizeof(err));
	if (rc == 1)
		return 0;
	if (rc) {
		fprintf(stderr, "efs-fuse: %s\n", err);
		return 1;
	}
	efs_log_set_level(m.opts.debug ? EFS_LOG_DEBUG : EFS_LOG_NOTICE);
	signal(SIGPIPE, SIG_IGN);
	if (!m.opts.foreground && daemonize_early(&m) < 0)
		return EXIT_MOUNT_FAILED;

	rc = resolve_global_init();
	if (rc == 0)
		rc = setup(&m, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "efs-fuse: %s\n", err[0] ? err : strerror(-rc > 0 ? -rc : EIO));
		/* The one line above is the whole story for the user. */
		if (!m.opts.debug)
			efs_log_set_level(EFS_LOG_ERR);
		teardown(&m);
		tell_parent(&m, EXIT_MOUNT_FAILED);
		return EXIT_MOUNT_FAILED;
	}
	efs_log(EFS_LOG_NOTICE, "mounted %s on %s", m.opts.source, m.opts.mountpoint);
	if (!m.opts.foreground) {
		tell_parent(&m, 0);
		detach_stdio();
		efs_log_to_syslog("efs-fuse");
	}
	rc = efs_fuse_loop(m.fuse);
	efs_log(EFS_LOG_NOTICE, "unmounting %s", m.opts.mountpoint);
	teardown(&m);
	return rc ? 1 : 0;
}
