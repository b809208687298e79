/*
 * main.c - the efs-fuse daemon: parse the command line, find the mount
 * target, establish the NFSv4.1 session, mount through FUSE, and only then
 * detach (so `efs-fuse ... && ls MOUNTPOINT` works).  Errors before the
 * mount is usable are one line on stderr and a non-zero exit; nothing is
 * left mounted.
 *
 * Daemonizing: the parent forks before any thread exists and waits on a
 * pipe for the child's verdict; the child does all the work, reports
 * "ready" after fuse_session_mount(), then detaches its stdio and logs to
 * -o log= (default: syslog when /dev/log exists, else a file in the state
 * directory, named in the "mounted" line).
 *
 * Exit status: 0 mounted (or help/version printed), 1 bad command line,
 * 32 mount failure (mount(8)'s convention).  `efs-fuse stats ...` runs the
 * statistics viewer instead (stats_view.h).
 *
 * Signals: SIGUSR1 writes a state dump to the log (one thread sigwait()s for
 * it; every other thread has SIGUSR1 blocked).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "mount_check.h"
#include "iam_mount.h"
#include "mount_opts.h"
#include "stats_view.h"
#include "nfs4/nfs4_client.h"
#include "nfs4/nfs4_err.h"
#include "fs/efs_fs.h"
#include "fuse/efs_fuse.h"
#include "resolve/config.h"
#include "resolve/resolve.h"
#include "util/log.h"

#define EXIT_USAGE	  1	/* mount(8)'s "incorrect invocation" */
#define EXIT_MOUNT_FAILED 32	/* mount(8)'s "mount failure" */
#define CONNECT_CAP_MS	  10000 /* connecting waits min(timeo, this) per attempt */
#define STOP_GRACE_MS	  2000	/* unmount: calls in progress get this long */
#define EXIT_DATA_LOST	  2	/* written data could not be sent (logged per file) */

struct efs_mount {
	struct mount_opts opts;
	struct resolve_req rreq;
	struct resolve_result rres;
	struct nfs4_client *client;
	struct efs_fs *fs;
	struct efs_fuse *fuse;
	bool resolved_once; /* the first connection uses setup()'s answer */
	int ready_fd;	    /* write end of the parent's pipe, or -1 */
	char cafile[256];   /* stunnel_cafile / cafile from the config file */
	pthread_t dump_thread;
	bool dump_running;

	struct iam_mount *iam; /* NULL unless -o iam / accesspoint= (issue 9) */
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

static void detach_stdio(bool keep_stderr)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	if (!keep_stderr)
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

/* -o netns=PATH: join that network namespace before any socket exists. */
static int enter_netns(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "netns=%s: %s", path, strerror(errno));
		return -errno;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		int e = errno;

		close(fd);
		snprintf(err, errlen, "netns=%s: cannot enter it: %s%s", path, strerror(e),
			 e == EPERM ? " (entering a network namespace needs CAP_SYS_ADMIN: run as "
				      "root)"
				    : "");
		return -e;
	}
	close(fd);
	return 0;
}

/*
 * The CA bundle named by the config file (cafile, or efs-utils'
 * stunnel_cafile) when -o tls and no -o cafile; a file that is not there is
 * a warning (efs-utils.conf names /etc/amazon/efs/efs-utils.crt).
 */
static const char *config_cafile(struct efs_mount *m)
{
	if (!m->opts.tls || m->opts.cafile)
		return m->opts.cafile;
	if (resolve_config_cafile(m->rres.region[0] ? m->rres.region : NULL, m->cafile,
				  sizeof(m->cafile)) != 0 ||
	    !m->cafile[0])
		return NULL;
	if (access(m->cafile, R_OK) != 0) {
		efs_log(EFS_LOG_WARN,
			"cafile %s from the configuration: %s; using the system "
			"CA store",
			m->cafile, strerror(errno));
		m->cafile[0] = '\0';
		return NULL;
	}
	return m->cafile;
}

/*
 * Says "connecting to HOST:PORT..." when connecting takes over a second
 * (in the foreground, or when stderr is a terminal).
 */
struct connect_notice {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	const char *host;
	unsigned int port;
};

static void *connect_notice_thread(void *arg)
{
	struct connect_notice *cn = arg;
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 1;
	pthread_mutex_lock(&cn->lock);
	while (!cn->done)
		if (pthread_cond_timedwait(&cn->cond, &cn->lock, &until) == ETIMEDOUT)
			break;
	if (!cn->done)
		efs_log(EFS_LOG_NOTICE, "connecting to %s:%u...", cn->host, cn->port);
	pthread_mutex_unlock(&cn->lock);
	return NULL;
}

static int start_client(struct efs_mount *m, char *err, size_t errlen)
{
	struct connect_notice cn = {.host = m->rres.addr, .port = m->opts.port};
	pthread_condattr_t ca;
	pthread_t t;
	bool have_thread;
	int rc;

	pthread_mutex_init(&cn.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cn.cond, &ca);
	pthread_condattr_destroy(&ca);
	/*
	 * A progress line for a person (a terminal) or for the log (-f); a
	 * background mount's stderr keeps the one-line-error contract.
	 */
	have_thread = (m->opts.foreground || isatty(STDERR_FILENO)) &&
		      pthread_create(&t, NULL, connect_notice_thread, &cn) == 0;
	rc = nfs4_client_start(m->client, err, errlen);
	pthread_mutex_lock(&cn.lock);
	cn.done = true;
	pthread_cond_signal(&cn.cond);
	pthread_mutex_unlock(&cn.lock);
	if (have_thread)
		pthread_join(t, NULL);
	pthread_cond_destroy(&cn.cond);
	pthread_mutex_destroy(&cn.lock);
	if (rc == -ETIMEDOUT || rc == -EHOSTUNREACH || rc == -ENETUNREACH || rc == -ECONNREFUSED) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n,
			 " (is TCP port %u of %s reachable from here? For EFS the mount target's "
			 "security group must allow inbound NFS, port %u, from this client, and "
			 "the network path must be open)",
			 m->opts.port, m->rres.addr, m->opts.port);
	}
	return rc;
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
	if (o->netns) {
		rc = enter_netns(o->netns, err, errlen);
		if (rc)
			return rc;
	}
	rc = iam_mount_new(o, &m->iam, err, errlen);
	if (rc)
		return rc;
	m->rreq.tls = o->tls || m->iam;
	rc = resolve_mount_target(&m->rreq, &m->rres, err, errlen);
	if (!rc && m->iam)
		rc = iam_mount_prepare(m->iam, o->fs_id, m->rres.region, err, errlen);
	if (rc)
		return rc;

	make_owner_id(owner, sizeof(owner));
	ccfg.transport.host = m->rres.addr;
	ccfg.transport.port = o->port;
	/* timeo bounds connecting too (nfs(5): the first RPCs' timeout) */
	ccfg.transport.connect_timeout_ms =
		o->timeo * 100u < CONNECT_CAP_MS ? (int)(o->timeo * 100u) : CONNECT_CAP_MS;
	ccfg.transport.user_timeout_ms = (int)o->timeo * 100;
	ccfg.transport.tls = o->tls;
	ccfg.transport.tls_name = m->rres.tls_name[0] ? m->rres.tls_name : m->rres.addr;
	ccfg.transport.cafile = config_cafile(m);
	if (m->iam) { /* issue 9: every connection presents a fresh client certificate */
		ccfg.transport.tls = true;
		ccfg.transport.client_cert = iam_mount_cert_cfg(m->iam);
	}
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
	rc = start_client(m, err, errlen);
	if (rc)
		return rc;
	rc = nfs4_client_mount(m->client, o->export_path, &root, &root_attr, err, errlen);
	if (rc && m->iam)
		iam_mount_explain(m->iam, rc, err, errlen);
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
	/* nfs(5): noac also makes writes synchronous; mount(8) sync does */
	fcfg.sync_writes = o->noac || o->sync;
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
	ucfg.max_idle_threads = o->max_idle_threads;
	ucfg.on_stop = on_stop;
	ucfg.on_stop_arg = m;
	ucfg.extra_opts = o->fuse_opts;
	ucfg.uid = o->uid;
	ucfg.gid = o->gid;
	m->fuse = efs_fuse_new(m->fs, &ucfg, err, errlen);
	if (!m->fuse)
		return -EINVAL;
	return efs_fuse_mount(m->fuse, o->mountpoint, err, errlen);
}

static void stop_dump_thread(struct efs_mount *m)
{
	if (!m->dump_running)
		return;
	pthread_kill(m->dump_thread, SIGUSR2);
	pthread_join(m->dump_thread, NULL);
	m->dump_running = false;
}

/* Returns the bytes of written data the server never got (logged per file). */
static uint64_t teardown(struct efs_mount *m)
{
	uint64_t lost = 0;

	stop_dump_thread(m);
	if (m->fuse)
		efs_fuse_free(m->fuse);
	if (m->fs)
		lost = efs_fs_free(m->fs);
	if (m->client) {
		nfs4_client_shutdown(m->client);
		nfs4_client_free(m->client);
	}
	iam_mount_free(m->iam);
	mount_opts_free(&m->opts);
	resolve_global_cleanup();
	return lost;
}

/* SIGUSR1: what the mount is doing, to the log. */
static void dump_line(void *arg, const char *text)
{
	(void)arg;
	efs_log(EFS_LOG_NOTICE, "state dump: %s", text);
}

static void state_dump(struct efs_mount *m)
{
	const size_t cap = 16384;
	char *text = malloc(cap);
	char *line, *save = NULL;
	int n;

	efs_log(EFS_LOG_NOTICE, "state dump: %s on %s, server %s:%u, %s, timeo=%u retrans=%u",
		m->opts.source, m->opts.mountpoint, m->rres.addr, m->opts.port,
		m->opts.soft ? "soft" : "hard", m->opts.timeo, m->opts.retrans);
	nfs4_client_dump(m->client, dump_line, NULL);
	efs_fs_dump(m->fs, dump_line, NULL);
	if (!text)
		return;
	n = efs_fs_stats_text(m->fs, text, cap);
	if (n < 0 && n != -ERANGE) {
		free(text);
		return;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *sp = strrchr(line, ' ');

		/* counters that are still 0 say nothing */
		if (sp && !strcmp(sp, " 0"))
			continue;
		efs_log(EFS_LOG_NOTICE, "state dump: %s", line);
	}
	efs_log(EFS_LOG_NOTICE, "state dump: end");
	free(text);
}

static void *dump_thread(void *arg)
{
	struct efs_mount *m = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	for (;;) {
		if (sigwait(&set, &sig) != 0 || sig == SIGUSR2)
			return NULL;
		state_dump(m);
	}
}

/* Before any other thread: SIGUSR1/SIGUSR2 are for the dump thread only. */
static void block_dump_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void print_notes(const struct mount_opts *o)
{
	const char *p = o->notes;

	while (*p) {
		size_t n = strcspn(p, "\n");

		fprintf(stderr, "efs-fuse: note: %.*s\n", (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
	}
}

/*
 * Where the detached daemon logs: -o log=, else syslog when /dev/log
 * exists, else the default file.  A file that cannot be opened keeps
 * stderr (whatever the caller gave us, e.g. the journal).  Returns true
 * when stderr must stay open.
 */
static bool choose_log(const struct mount_opts *o, char *what, size_t len)
{
	char path[4096];
	const char *want = o->log;
	int rc;

	if (want && !strcmp(want, "stderr")) {
		snprintf(what, len, "stderr");
		return true;
	}
	if ((want && !strcmp(want, "syslog")) || (!want && efs_log_have_syslog())) {
		snprintf(what, len, "syslog");
		return false;
	}
	if (want) {
		snprintf(path, sizeof(path), "%s", want);
	} else if (efs_log_default_file(o->mountpoint, path, sizeof(path)) != 0) {
		snprintf(what, len, "stderr");
		return true;
	}
	rc = efs_log_to_file(path);
	if (rc) {
		efs_log(EFS_LOG_WARN, "cannot open log file %s: %s; logging to stderr", path,
			strerror(-rc));
		snprintf(what, len, "stderr");
		return true;
	}
	snprintf(what, len, "%s", path);
	return false;
}

int main(int argc, char **argv)
{
	struct efs_mount m;
	char err[1024] = "", logwhat[4096] = "";
	bool keep_stderr = false;
	uint64_t lost;
	int rc;

	if (argc >= 2 && !strcmp(argv[1], "stats"))
		return stats_view_main(argc - 1, argv + 1);
	memset(&m, 0, sizeof(m));
	m.ready_fd = -1;
	rc = mount_opts_parse(argc, argv, &m.opts, err, sizeof(err));
	if (rc == 1)
		return 0;
	if (rc) {
		fprintf(stderr, "efs-fuse: %s\n", err);
		return rc == -EINVAL ? EXIT_USAGE : EXIT_MOUNT_FAILED;
	}
	print_notes(&m.opts);
	if (m.opts.loglevel >= 0)
		efs_log_set_level((enum efs_log_level)m.opts.loglevel);
	else
		efs_log_set_level(m.opts.debug ? EFS_LOG_DEBUG : EFS_LOG_NOTICE);
	if (m.opts.debug && efs_log_get_level() < EFS_LOG_DEBUG)
		efs_log_set_level(EFS_LOG_DEBUG);
	signal(SIGPIPE, SIG_IGN);
	rc = mount_check(&m.opts, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "efs-fuse: %s\n", err);
		mount_opts_free(&m.opts);
		return EXIT_MOUNT_FAILED;
	}
	if (!m.opts.foreground && daemonize_early(&m) < 0)
		return EXIT_MOUNT_FAILED;
	block_dump_signals();

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
	m.dump_running = pthread_create(&m.dump_thread, NULL, dump_thread, &m) == 0;
	if (!m.opts.foreground || (m.opts.log && strcmp(m.opts.log, "stderr"))) {
		keep_stderr = choose_log(&m.opts, logwhat, sizeof(logwhat));
		fprintf(stderr, "efs-fuse: mounted %s on %s (log: %s)\n", m.opts.source,
			m.opts.mountpoint, logwhat);
		if (!strcmp(logwhat, "syslog"))
			efs_log_to_syslog("efs-fuse");
	}
	efs_log(EFS_LOG_NOTICE, "mounted %s on %s", m.opts.source, m.opts.mountpoint);
	if (!m.opts.foreground) {
		tell_parent(&m, 0);
		detach_stdio(keep_stderr);
	}
	rc = efs_fuse_loop(m.fuse);
	efs_log(EFS_LOG_NOTICE, "unmounting %s", m.opts.mountpoint);
	lost = teardown(&m);
	if (lost) {
		/* each loss was logged with its file; the exit status says so too */
		efs_log(EFS_LOG_ERR, "%llu bytes of written data never reached the server",
			(unsigned long long)lost);
		return EXIT_DATA_LOST;
	}
	return rc ? 1 : 0;
}
