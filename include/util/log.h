/*
 * log.h - the one logging call.
 *
 * efs_log() writes one line to stderr while the daemon is in the foreground
 * and to syslog(3) once efs_log_to_syslog() was called.  The level filter and
 * destination are set once at start-up by main.c before any thread starts;
 * afterwards the logger is read-only and safe from any thread.
 * A failure is logged once, at the edge that decides what to do about it.
 */
#ifndef EFS_UTIL_LOG_H
#define EFS_UTIL_LOG_H

#include <stdbool.h>

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
/* True when wire tracing (-d / -o debug) is on. */
bool efs_log_debug(void);

void efs_log(enum efs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
