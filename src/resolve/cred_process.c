/*
 * cred_process.c - a profile's credential_process; see
 * include/resolve/cred_sources.h.  The command runs without a shell, its
 * stderr is the caller's, its stdout (at most 64 KiB) must be the AWS CLI's
 * credential process JSON: {"Version": 1, "AccessKeyId", "SecretAccessKey",
 * "SessionToken"?, "Expiration"?}.
 */
#include "config.h"

#include "resolve/cred_sources.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROC_MAX_OUT  (64 * 1024)
#define PROC_MAX_ARGS 32

extern char **environ;

/* Split on blanks; "..." groups (no escapes inside but \" and \\). */
static int split_words(char *s, char **argv, int max)
{
	int n = 0;

	while (*s) {
		char *o;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (n + 1 >= max)
			return -E2BIG;
		argv[n++] = o = s;
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '"') {
				for (s++; *s && *s != '"'; s++) {
					if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
						s++;
					*o++ = *s;
				}
				if (*s != '"')
					return -EINVAL;
				s++;
			} else {
				*o++ = *s++;
			}
		}
		if (*s)
			s++;
		*o = '\0';
	}
	argv[n] = NULL;
	return n ? 0 : -EINVAL;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Read the child's stdout until EOF within the deadline. */
static int collect(int fd, char *buf, size_t cap, size_t *len, const struct timespec *t0)
{
	*len = 0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left = CRED_PROCESS_TIMEOUT_MS - ms_since(t0);
		ssize_t n;
		int rc;

		if (left <= 0)
			return -ETIMEDOUT;
		rc = poll(&p, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return rc < 0 ? -errno : -ETIMEDOUT;
		n = read(fd, buf + *len, cap - 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*len += (size_t)n;
		if (*len >= cap - 1)
			return -E2BIG;
	}
	buf[*len] = '\0';
	return 0;
}

int cred_from_process(const char *cmdline, struct aws_credentials *c, char *err, size_t errlen)
{
	char *copy = strdup(cmdline), *argv[PROC_MAX_ARGS], *out = malloc(PROC_MAX_OUT);
	posix_spawn_file_actions_t fa;
	struct json_tok toks[64];
	struct json_doc doc;
	struct timespec t0;
	int p[2] = {-1, -1}, rc, status = 0, ver;
	size_t len = 0;
	pid_t pid = -1;

	if (!copy || !out) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	rc = split_words(copy, argv, PROC_MAX_ARGS);
	if (rc) {
		snprintf(err, errlen, "credential_process \"%s\" is not a command line", cmdline);
		goto out;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(err, errlen, "credential_process: pipe: %s", strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	p[1] = -1;
	if (rc) {
		snprintf(err, errlen, "credential_process %s: cannot run it: %s", argv[0],
			 strerror(rc));
		pid = -1;
		rc = -rc;
		goto out;
	}
	rc = collect(p[0], out, PROC_MAX_OUT, &len, &t0);
	if (rc) {
		kill(pid, SIGKILL);
		snprintf(err, errlen, "credential_process %s: %s", argv[0],
			 rc == -ETIMEDOUT ? "no answer within 10 s" : strerror(-rc));
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (rc)
		goto out;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "credential_process %s failed (exit status %d)", argv[0],
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		rc = -EACCES;
		goto out;
	}
	rc = json_parse(&doc, out, len, toks, 64);
	if (!rc) {
		int i = json_object_get(&doc, 0, "Version");

		ver = i >= 0 && doc.toks[i].type == JSON_NUMBER &&
				      doc.toks[i].end > doc.toks[i].start
			      ? atoi(out + doc.toks[i].start)
			      : 0;
		rc = ver == 1 ? cred_from_json(&doc, 0, "SessionToken", 0, c) : -EBADMSG;
	}
	if (rc) {
		snprintf(err, errlen,
			 "credential_process %s: its output is not credential JSON (Version 1)",
			 argv[0]);
		rc = -EBADMSG;
	}
out:
	if (p[0] >= 0)
		close(p[0]);
	if (out)
		explicit_bzero(out, PROC_MAX_OUT);
	free(out);
	free(copy);
	return rc;
}
