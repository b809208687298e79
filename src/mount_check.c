/*
 * mount_check.c - checks before connecting, each failure with its own fix;
 * see include/mount_check.h.
 */
#include "config.h"

#include "mount_check.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FUSE_CONF "/etc/fuse.conf"

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

bool mount_check_fuse_conf_allows_other(const char *path)
{
	char line[256];
	bool yes = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");
		size_t n = strlen("user_allow_other");

		if (!strncmp(p, "user_allow_other", n) && strspn(p + n, " \t\r\n") == strlen(p + n))
			yes = true;
	}
	fclose(f);
	return yes;
}

long mount_check_userns_root_outside(void)
{
	unsigned long inside, outside, count;
	FILE *f = fopen("/proc/self/uid_map", "re");
	long r = -1;

	if (!f)
		return 0; /* no user namespaces: the initial one */
	while (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
		if (inside == 0 && count > 0)
			r = (long)outside;
	fclose(f);
	return r;
}

/* The fstype of the mount on path in mountinfo ("" if none); the last wins. */
static void mounted_type(const char *path, char *type, size_t len)
{
	char line[4096], mp[PATH_MAX], fstype[128];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	type[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");

		if (sscanf(line, "%*u %*u %*s %*s %4095s", mp) != 1 || !sep)
			continue;
		/* mountinfo escapes ' ' as \040: compare escaped forms only for plain paths */
		if (strcmp(mp, path) != 0)
			continue;
		if (sscanf(sep + 3, "%127s", fstype) == 1)
			snprintf(type, len, "%s", fstype);
	}
	fclose(f);
}

static bool have_fusermount(void)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (access("/usr/bin/fusermount3", X_OK) == 0 || access("/bin/fusermount3", X_OK) == 0)
		return true;
	while (path && *path) {
		size_t n = strcspn(path, ":");

		if (n > 0 && n < sizeof(buf) - 16) {
			snprintf(buf, sizeof(buf), "%.*s/fusermount3", (int)n, path);
			if (access(buf, X_OK) == 0)
				return true;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

static int check_dev_fuse(char *err, size_t errlen)
{
	struct stat st;

	if (stat("/dev/fuse", &st) < 0)
		return fail(err, errlen, -ENODEV,
			    "no /dev/fuse: load the module (modprobe fuse) or, in a container, "
			    "pass the device (docker run --device /dev/fuse)");
	if (!S_ISCHR(st.st_mode))
		return fail(err, errlen, -ENODEV, "/dev/fuse is not a character device");
	if (access("/dev/fuse", R_OK | W_OK) == 0)
		return 0;
	if (geteuid() == 0)
		return fail(err, errlen, -EACCES, "cannot open /dev/fuse: %s", strerror(errno));
	/*
	 * libfuse opens /dev/fuse itself first and only falls back to
	 * fusermount3 when the kernel refuses the mount, not when the open fails.
	 */
	return fail(err, errlen, -EACCES,
		    "/dev/fuse is not readable and writable by you (mode %04o), so libfuse cannot "
		    "reach fusermount3: make it 0666 as the fuse3 package does (sudo chmod 0666 "
		    "/dev/fuse)",
		    (unsigned)(st.st_mode & 07777));
}

/*
 * Is the FUSE mount on mp served?  statfs(2) always asks the daemon, so ask
 * from a child and give up waiting after 2 s (a stalled daemon is alive).
 * Called before any thread exists.
 */
static bool fuse_mount_is_stale(const char *mp)
{
	struct timespec tick = {0, 20 * 1000 * 1000};
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0) {
		struct statfs sf;

		_exit(statfs(mp, &sf) < 0 && errno == ENOTCONN ? 3 : 0);
	}
	for (int i = 0; i < 100; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 3;
		if (r < 0)
			return false;
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return false;
}

static int check_mountpoint(const struct mount_opts *o, char *err, size_t errlen)
{
	const char *mp = o->mountpoint;
	char type[128], ours[160];

	mounted_type(mp, type, sizeof(type));
	snprintf(ours, sizeof(ours), "fuse.%s", o->subtype ? o->subtype : "efs-fuse");
	if (!strncmp(type, "fuse", 4) && fuse_mount_is_stale(mp))
		return fail(err, errlen, -ENOTCONN,
			    "mount point %s is a stale FUSE mount (its daemon is gone): run "
			    "fusermount3 -u %s, then mount again",
			    mp, mp);
	if (!strcmp(type, ours) || !strcmp(type, "fuse.efs-fuse"))
		return fail(err, errlen, -EBUSY,
			    "%s is already an efs-fuse mount: unmount it first (fusermount3 -u %s) "
			    "or pick another directory",
			    mp, mp);
	if (geteuid() != 0 && access(mp, W_OK) < 0)
		return fail(err, errlen, -EACCES,
			    "you cannot write to mount point %s: a user mount needs a directory "
			    "you own or may write (e.g. sudo chown %ld %s)",
			    mp, (long)geteuid(), mp);
	return 0;
}

static int check_allow_other(const struct mount_opts *o, char *err, size_t errlen)
{
	bool root_too = o->fuse_opts && strstr(o->fuse_opts, "allow_root");

	if (geteuid() == 0 || !(o->allow_other || root_too))
		return 0;
	if (mount_check_fuse_conf_allows_other(FUSE_CONF))
		return 0;
	return fail(err, errlen, -EPERM,
		    "%s needs 'user_allow_other' in " FUSE_CONF " for a mount by a non-root "
		    "user: add that line as root, or drop %s",
		    root_too ? "allow_root" : "allow_other",
		    root_too ? "allow_root" : "allow_other");
}

static int check_userns(const struct mount_opts *o, char *err, size_t errlen)
{
	long outside = mount_check_userns_root_outside();

	if (o->uid >= 0 || o->userns_root || outside == 0)
		return 0;
	if (geteuid() != 0 && !o->allow_other)
		return 0; /* only we use the mount, and we are not uid 0 */
	return fail(err, errlen, -EPERM,
		    "inside a user namespace uid 0 is %s on this host, but AUTH_SYS would send "
		    "uid 0 (root) to the server: give the identity to send (-o uid=N,gid=N) or "
		    "-o userns_root=allow to send uid 0 anyway",
		    outside > 0 ? "an ordinary user" : "unmapped");
}

int mount_check(const struct mount_opts *o, char *err, size_t errlen)
{
	int rc;

	rc = check_dev_fuse(err, errlen);
	if (rc)
		return rc;
	if (geteuid() != 0 && !have_fusermount())
		return fail(err, errlen, -ENOENT,
			    "fusermount3 not found: install it (apt-get install fuse3) to mount "
			    "as a non-root user");
	rc = check_mountpoint(o, err, errlen);
	if (rc)
		return rc;
	rc = check_allow_other(o, err, errlen);
	if (rc)
		return rc;
	return check_userns(o, err, errlen);
}
