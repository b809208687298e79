/*
 * log.c - efs_log(); see include/util/log.h.  The destination and level are
 * process-wide by nature (stderr or syslog), set once by main.c before any
 * thread starts, and only read afterwards.
 */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include "util/log.h"

static struct {
	enum efs_log_level level;
	bool syslog;
} log_cfg = {EFS_LOG_NOTICE, false};

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
	log_cfg.syslog = true;
}

void efs_log(enum efs_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_cfg.level)
		return;
	va_start(ap, fmt);
	if (log_cfg.syslog) {
		vsyslog((int)level, fmt, ap);
	} else {
		char line[1024];

		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "efs-fuse: %s\n", line);
	}
	va_end(ap);
}
