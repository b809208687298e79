/*
 * log.h - the one logging call.
 *
 * efs_log() writes one line to stderr while the daemon is in the foreground
 * (and detached with -o log=stderr), to syslog(3) once efs_log_to_syslog()
 * was called, or to a file once efs_log_to_file() was called (-o log=FILE, or
 * the default when there is no /dev/log: see efs_log_default_file()).  The
 * level filter and destination are set by main.c before any thread starts;
 * afterwards the logger is read-only and safe from any thread (a file line is
 * one write(2) on an O_APPEND descriptor).
 * A failure is logged once, at the edge that decides what to do about it.
 */
#ifndef EFS_UTIL_LOG_H
#define EFS_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum efs_log_level {
	EFS_LOG_ERR = 3,
	EFS_LOG_WARN = 4,
	EFS_LOG_NOTICE = 5,
	EFS_LOG_INFO = 6,
	EFS_LOG_DEBUG = 7,
};

/* Only messages at or above this importance (<= level) are written. */
void efs_log_set_level(enum efs_log_level level);
enum efs_log_level efs_log_get_level(void);
/* Switch to syslog(3) with the given identity (after daemonizing). */
void efs_log_to_syslog(const char *ident);
/*
 * Switch to appending to path (created 0640, its directory 0700 if missing).
 * 0 or -errno; on error the destination is unchanged.
 */
int efs_log_to_file(const char *path);
/* The file being logged to, or NULL (stderr or syslog). */
const char *efs_log_file(void);
/* True when a syslog daemon listens on /dev/log. */
bool efs_log_have_syslog(void);
/*
 * The default log file for a mount on mountpoint when there is no syslog:
 * root (when /var/log is writable): /var/log/efs-fuse/NAME.log; others:
 * $XDG_STATE_HOME/efs-fuse/NAME.log, else ~/.local/state/efs-fuse/NAME.log
 * (home from the password database, when it is ours), else
 * $XDG_RUNTIME_DIR/efs-fuse/NAME.log, else /tmp/efs-fuse-UID/NAME.log.
 * NAME is the mount point with '/' as '-'.
 * 0 or -ENAMETOOLONG.
 */
int efs_log_default_file(const char *mountpoint, char *buf, size_t len);
/* True when wire tracing (-d / -o debug) is on. */
bool efs_log_debug(void);

void efs_log(enum efs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
