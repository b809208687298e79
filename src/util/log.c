/*
 * log.c - efs_log(); see include/util/log.h.  The destination and level are
 * process-wide by nature (stderr, syslog or one file), set once by main.c
 * before any thread starts, and only read afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "util/log.h"

enum log_dest { DEST_STDERR, DEST_SYSLOG, DEST_FILE };

static struct {
	enum efs_log_level level;
	enum log_dest dest;
	int fd;
	char path[PATH_MAX];
} log_cfg = {EFS_LOG_NOTICE, DEST_STDERR, -1, ""};

void efs_log_set_level(enum efs_log_level level)
{
	log_cfg.level = level;
}

enum efs_log_level efs_log_get_level(void)
{
	return log_cfg.level;
}

bool efs_log_debug(void)
{
	return log_cfg.level >= EFS_LOG_DEBUG;
}

void efs_log_to_syslog(const char *ident)
{
	openlog(ident, LOG_PID, LOG_DAEMON);
	log_cfg.dest = DEST_SYSLOG;
}

bool efs_log_have_syslog(void)
{
	struct stat st;

	return stat("/dev/log", &st) == 0 && S_ISSOCK(st.st_mode);
}

/* mkdir -p the parent of path (mode 0700 for what we create). */
static int make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int efs_log_to_file(const char *path)
{
	int fd, rc;

	if (strlen(path) >= sizeof(log_cfg.path))
		return -ENAMETOOLONG;
	rc = make_parent(path);
	if (rc)
		return rc;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return -errno;
	if (log_cfg.fd >= 0)
		close(log_cfg.fd);
	log_cfg.fd = fd;
	strcpy(log_cfg.path, path);
	log_cfg.dest = DEST_FILE;
	return 0;
}

const char *efs_log_file(void)
{
	return log_cfg.dest == DEST_FILE ? log_cfg.path : NULL;
}

/* A usable directory of ours: exists (or its parent does) and is ours. */
static bool dir_is_ours(const char *d)
{
	struct stat st;

	return d && d[0] == '/' && stat(d, &st) == 0 && S_ISDIR(st.st_mode) &&
	       st.st_uid == geteuid() && access(d, W_OK | X_OK) == 0;
}

int efs_log_default_file(const char *mountpoint, char *buf, size_t len)
{
	char name[256], base[PATH_MAX];
	const char *xdg = getenv("XDG_STATE_HOME"), *run = getenv("XDG_RUNTIME_DIR");
	struct passwd *pw;
	size_t j = 0;
	int n;

	for (const char *p = mountpoint; *p && j + 1 < sizeof(name); p++) {
		if (*p == '/' && j == 0)
			continue;
		name[j++] = *p == '/' ? '-' : *p;
	}
	name[j] = '\0';
	if (j == 0)
		strcpy(name, "root");
	pw = getpwuid(geteuid());
	/* root of a user namespace is not root on the host: /var/log is not ours */
	if (geteuid() == 0 && access("/var/log", W_OK) == 0)
		snprintf(base, sizeof(base), "/var/log/efs-fuse");
	else if (xdg && xdg[0] == '/')
		snprintf(base, sizeof(base), "%s/efs-fuse", xdg);
	else if (pw && dir_is_ours(pw->pw_dir))
		snprintf(base, sizeof(base), "%s/.local/state/efs-fuse", pw->pw_dir);
	else if (dir_is_ours(run))
		snprintf(base, sizeof(base), "%s/efs-fuse", run);
	else
		snprintf(base, sizeof(base), "/tmp/efs-fuse-%u", (unsigned)geteuid());
	n = snprintf(buf, len, "%s/%s.log", base, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static const char *level_name(enum efs_log_level level)
{
	switch (level) {
	case EFS_LOG_ERR:
		return "error";
	case EFS_LOG_WARN:
		return "warning";
	case EFS_LOG_NOTICE:
		return "notice";
	case EFS_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

static void write_file_line(enum efs_log_level level, const char *msg)
{
	char line[1200], stamp[32];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ efs-fuse[%ld]: %s: %s\n", stamp,
		     ts.tv_nsec / 1000000, (long)getpid(), level_name(level), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (write(log_cfg.fd, line, (size_t)n) < 0)
		return; /* nowhere left to report it */
}

void efs_log(enum efs_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > log_cfg.level)
		return;
	va_start(ap, fmt);
	if (log_cfg.dest == DEST_SYSLOG) {
		vsyslog((int)level, fmt, ap);
		va_end(ap);
		return;
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_cfg.dest == DEST_FILE)
		write_file_line(level, line);
	else
		fprintf(stderr, "efs-fuse: %s\n", line);
}
