/*
 * fuse_session.c - the libfuse3 session: arguments, mount, signal
 * handlers, the multi-threaded loop, teardown.
 */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuse/fuse_int.h"
#include "util/log.h"

/* Append ",name=value" (value with ',' and '\' escaped for fuse_opt). */
static int opt_add(char *buf, size_t bufsz, const char *name, const char *value)
{
	size_t len = strlen(buf);
	const char *p;

	if (len + strlen(name) + 2 >= bufsz)
		return -ENAMETOOLONG;
	if (len > 0)
		buf[len++] = ',';
	strcpy(buf + len, name);
	len += strlen(name);
	if (!value)
		return 0;
	buf[len++] = '=';
	for (p = value; *p; p++) {
		if (len + 3 >= bufsz)
			return -ENAMETOOLONG;
		if (*p == ',' || *p == '\\')
			buf[len++] = '\\';
		buf[len++] = *p;
	}
	buf[len] = '\0';
	return 0;
}

/* fs/ saw a file change behind the kernel's back: drop its attributes. */
static void inval_inode(void *arg, uint64_t ino, bool data)
{
	struct efs_fuse *f = arg;
	int r = fuse_lowlevel_notify_inval_inode(f->se, (fuse_ino_t)ino, data ? 0 : -1, 0);

	if (r < 0 && r != -ENOENT)
		efs_log(EFS_LOG_DEBUG, "notify_inval_inode: %s", strerror(-r));
}

struct efs_fuse *efs_fuse_new(struct efs_fs *fs, const struct efs_fuse_cfg *cfg, char *err,
			      size_t errlen)
{
	char opts[1024] = "", maxread[32];
	char *argv[6];
	int argc = 0, r = 0;
	struct fuse_args args;
	struct efs_fuse *f;

	f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->fs = fs;
	f->max_threads = cfg->max_threads;
	f->on_stop = cfg->on_stop;
	f->on_stop_arg = cfg->on_stop_arg;
	pthread_mutex_init(&f->stop_lock, NULL);
	pthread_mutex_init(&f->groups_lock, NULL);
	pthread_cond_init(&f->stop_cv, NULL);
	f->max_idle_threads = cfg->max_idle_threads;
	snprintf(maxread, sizeof(maxread), "%u", efs_fs_rsize(fs));
	r |= opt_add(opts, sizeof(opts), "fsname", cfg->fsname ? cfg->fsname : "efs-fuse");
	r |= opt_add(opts, sizeof(opts), "subtype", cfg->subtype ? cfg->subtype : "efs-fuse");
	r |= opt_add(opts, sizeof(opts), "max_read", maxread);
	if (cfg->allow_other)
		r |= opt_add(opts, sizeof(opts), "allow_other", NULL);
	if (cfg->default_permissions)
		r |= opt_add(opts, sizeof(opts), "default_permissions", NULL);
	if (cfg->ro)
		r |= opt_add(opts, sizeof(opts), "ro", NULL);
	if (cfg->extra_opts && *cfg->extra_opts) /* already in fuse_opt syntax */
		r |= opt_add(opts, sizeof(opts), cfg->extra_opts, NULL);
	if (r) {
		snprintf(err, errlen, "mount options too long");
		free(f);
		return NULL;
	}
	argv[argc++] = "efs-fuse";
	argv[argc++] = "-o";
	argv[argc++] = opts;
	if (cfg->debug)
		argv[argc++] = "-d";
	argv[argc] = NULL;
	args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	f->se = fuse_session_new(&args, &efs_fuse_ops, sizeof(efs_fuse_ops), f);
	fuse_opt_free_args(&args);
	if (!f->se) {
		snprintf(err, errlen, "cannot create the FUSE session (options: %s)", opts);
		free(f);
		return NULL;
	}
	efs_fs_set_inval(fs, inval_inode, f);
	f->fixed_uid = cfg->uid;
	f->fixed_gid = cfg->gid;
	return f;
}

/* Bit 21 (CAP_SYS_ADMIN) of CapEff in /proc/self/status. */
static bool have_cap_sys_admin(void)
{
	char line[256];
	unsigned long long eff = 0;
	bool found = false;
	FILE *st = fopen("/proc/self/status", "re");

	if (!st)
		return true; /* cannot tell: do not blame capabilities */
	while (fgets(line, sizeof(line), st))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			found = true;
	fclose(st);
	return !found || (eff & (1ull << 21)) != 0;
}

/* The one-line hint after fuse_session_mount() failed (libfuse said why above). */
static void mount_failure_hint(const char *mountpoint, char *err, size_t errlen)
{
	if (geteuid() == 0 && !have_cap_sys_admin())
		snprintf(err, errlen,
			 "cannot mount on %s: no CAP_SYS_ADMIN (a container?): run it with "
			 "--cap-add SYS_ADMIN --device /dev/fuse, or mount as a non-root user "
			 "through fusermount3",
			 mountpoint);
	else if (geteuid() != 0)
		snprintf(
			err, errlen,
			"cannot mount on %s: fusermount3 refused (its reason is above); it must be "
			"setuid root: ls -l $(command -v fusermount3)",
			mountpoint);
	else
		snprintf(err, errlen, "cannot mount on %s: the kernel refused (see above)",
			 mountpoint);
}

/*
 * The kernel caps a FUSE mount's read-ahead at 128 KiB (its bdi default), far
 * too little for a network file system.  Root may raise it through sysfs;
 * find our mount's device in /proc/self/mountinfo (a stat(2) of the mount
 * point would wait for the loop that has not started yet).  Best effort:
 * an unprivileged mount keeps the default and efs-fuse's own read-ahead.
 */
static void tune_readahead(const char *mountpoint, unsigned int kb)
{
	char line[4096], path[128], mp[PATH_MAX];
	unsigned int major, minor;
	bool found = false;
	FILE *mi, *ra;

	if (kb == 0 || geteuid() != 0)
		return;
	mi = fopen("/proc/self/mountinfo", "re");
	if (!mi)
		return;
	while (fgets(line, sizeof(line), mi)) {
		unsigned int ma, mi_;

		/* id parent major:minor root mountpoint ...; the last match is ours */
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &ma, &mi_, mp) == 3 &&
		    strcmp(mp, mountpoint) == 0) {
			major = ma;
			minor = mi_;
			found = true;
		}
	}
	fclose(mi);
	if (!found)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major, minor);
	ra = fopen(path, "we");
	if (!ra)
		return;
	fprintf(ra, "%u\n", kb);
	if (fclose(ra) == 0)
		efs_log(EFS_LOG_DEBUG, "kernel read-ahead of %s set to %u KiB", mountpoint, kb);
}

int efs_fuse_mount(struct efs_fuse *f, const char *mountpoint, char *err, size_t errlen)
{
	if (fuse_set_signal_handlers(f->se) != 0) {
		snprintf(err, errlen, "cannot install signal handlers");
		return -EIO;
	}
	f->handlers = true;
	if (fuse_session_mount(f->se, mountpoint) != 0) {
		mount_failure_hint(mountpoint, err, errlen);
		return -EIO;
	}
	f->mounted = true;
	tune_readahead(mountpoint, efs_fs_rsize(f->fs) / 1024);
	return 0;
}

/* Run on_stop once. */
static void fire_stop(struct efs_fuse *f)
{
	bool fire;

	pthread_mutex_lock(&f->stop_lock);
	fire = !f->stopped;
	f->stopped = true;
	pthread_mutex_unlock(&f->stop_lock);
	if (fire && f->on_stop)
		f->on_stop(f->on_stop_arg);
}

/*
 * libfuse gives no event when the session ends, and its loop returns only
 * after every worker finished -- which a worker retrying against a dead
 * server never does without on_stop.  Look ten times a second.
 */
static void *stop_watcher(void *arg)
{
	struct efs_fuse *f = arg;
	struct timespec ts;

	pthread_mutex_lock(&f->stop_lock);
	while (!f->loop_done) {
		if (fuse_session_exited(f->se)) {
			pthread_mutex_unlock(&f->stop_lock);
			fire_stop(f);
			return NULL;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&f->stop_cv, &f->stop_lock, &ts);
	}
	pthread_mutex_unlock(&f->stop_lock);
	return NULL;
}

int efs_fuse_loop(struct efs_fuse *f)
{
	struct fuse_loop_config *lc = fuse_loop_cfg_create();
	sigset_t all, old;
	pthread_t w;
	bool watching;
	int r;

	if (!lc)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(lc, 0);
	if (f->max_threads > 0)
		fuse_loop_cfg_set_max_threads(lc, f->max_threads);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	watching = pthread_create(&w, NULL, stop_watcher, f) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (f->max_idle_threads > 0)
		fuse_loop_cfg_set_idle_threads(lc, f->max_idle_threads);
	r = fuse_session_loop_mt(f->se, lc);
	fuse_loop_cfg_destroy(lc);
	pthread_mutex_lock(&f->stop_lock);
	f->loop_done = true;
	pthread_cond_broadcast(&f->stop_cv);
	pthread_mutex_unlock(&f->stop_lock);
	if (watching)
		pthread_join(w, NULL);
	fire_stop(f);
	/* > 0: the signal that ended the loop (SIGTERM, SIGINT, SIGHUP) */
	if (r > 0) {
		efs_log(EFS_LOG_INFO, "signal %d: unmounting", r);
		return 0;
	}
	if (r < 0 && r != -ENODEV) {
		efs_log(EFS_LOG_ERR, "fuse session loop: %s", strerror(-r));
		return r;
	}
	return 0;
}

void efs_fuse_free(struct efs_fuse *f)
{
	if (!f)
		return;
	if (f->handlers)
		fuse_remove_signal_handlers(f->se);
	if (f->mounted)
		fuse_session_unmount(f->se);
	fuse_session_destroy(f->se);
	efs_fs_set_inval(f->fs, NULL, NULL);
	pthread_mutex_destroy(&f->stop_lock);
	pthread_mutex_destroy(&f->groups_lock);
	pthread_cond_destroy(&f->stop_cv);
	free(f);
}
