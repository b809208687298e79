/*
 * tcp.c - plain TCP transport and the dialer shared with TLS; see
 * include/net/transport.h.  Sockets are blocking with TCP_NODELAY; connect
 * is bounded by cfg->connect_timeout_ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "net/transport.h"

struct tcp_transport {
	struct transport t;
	int fd;
};

static int connect_timed(int fd, const struct sockaddr *sa, socklen_t salen, int timeout_ms)
{
	int flags = fcntl(fd, F_GETFL);
	int rc, soerr = 0;
	socklen_t slen = sizeof(soerr);
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	rc = connect(fd, sa, salen);
	if (rc < 0 && errno != EINPROGRESS)
		return -errno;
	if (rc < 0) {
		do
			rc = poll(&pfd, 1, timeout_ms > 0 ? timeout_ms : -1);
		while (rc < 0 && errno == EINTR);
		if (rc == 0)
			return -ETIMEDOUT;
		if (rc < 0)
			return -errno;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) < 0)
			return -errno;
		if (soerr)
			return -soerr;
	}
	if (fcntl(fd, F_SETFL, flags) < 0)
		return -errno;
	return 0;
}

/*
 * A server that vanished without a FIN (a cut cable, a stalled middlebox)
 * is noticed: keepalive probes after 15 s of silence, and unacknowledged
 * data (a send blocked in sendmsg) drops the connection after
 * user_timeout_ms, so the caller's timeout covers the send too.
 */
static void tcp_liveness(int fd, int user_timeout_ms)
{
	int one = 1, idle = 15, intvl = 5, cnt = 3;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	if (user_timeout_ms > 0) {
		unsigned int ut = (unsigned int)user_timeout_ms;

		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut));
	}
}

int tcp_dial(const struct transport_cfg *cfg, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL, *ai;
	char port[16];
	int fd = -1, rc, last = -EHOSTUNREACH;
	int one = 1;

	snprintf(port, sizeof(port), "%u", cfg->port);
	rc = getaddrinfo(cfg->host, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "cannot resolve %s: %s", cfg->host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			last = -errno;
			continue;
		}
		rc = connect_timed(fd, ai->ai_addr, ai->ai_addrlen, cfg->connect_timeout_ms);
		if (rc == 0)
			break;
		last = rc;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to %s port %u: %s", cfg->host, cfg->port,
			 strerror(-last));
		return last;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	tcp_liveness(fd, cfg->user_timeout_ms);
	return fd;
}

static int tcp_send2(struct transport *t, const void *a, size_t alen, const void *b, size_t blen)
{
	struct tcp_transport *tt = (struct tcp_transport *)t;
	struct iovec iov[2] = {{(void *)a, alen}, {(void *)b, blen}};
	struct iovec *v = iov;
	int cnt = blen ? 2 : 1;

	while (cnt > 0) {
		struct msghdr mh = {.msg_iov = v, .msg_iovlen = cnt};
		ssize_t n = sendmsg(tt->fd, &mh, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (cnt > 0 && (size_t)n >= v->iov_len) {
			n -= v->iov_len;
			v++;
			cnt--;
		}
		if (cnt > 0) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= n;
		}
	}
	return 0;
}

static int tcp_send_all(struct transport *t, const void *buf, size_t len)
{
	return tcp_send2(t, buf, len, NULL, 0);
}

static ssize_t tcp_recv(struct transport *t, void *buf, size_t len)
{
	struct tcp_transport *tt = (struct tcp_transport *)t;
	ssize_t n;

	do
		n = recv(tt->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static void tcp_shutdown(struct transport *t)
{
	shutdown(((struct tcp_transport *)t)->fd, SHUT_RDWR);
}

static void tcp_close(struct transport *t)
{
	struct tcp_transport *tt = (struct tcp_transport *)t;

	close(tt->fd);
	free(tt);
}

static const struct transport_ops tcp_ops = {
	.send_all = tcp_send_all,
	.send2 = tcp_send2,
	.recv = tcp_recv,
	.shutdown = tcp_shutdown,
	.close = tcp_close,
};

struct transport *tcp_connect(const struct transport_cfg *cfg, char *err, size_t errlen)
{
	struct tcp_transport *tt;
	int fd = tcp_dial(cfg, err, errlen);

	if (fd < 0) {
		errno = -fd; /* callers report the cause as -errno */
		return NULL;
	}
	tt = calloc(1, sizeof(*tt));
	if (!tt) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	tt->t.ops = &tcp_ops;
	tt->fd = fd;
	return &tt->t;
}
