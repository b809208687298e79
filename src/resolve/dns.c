/* dns.c - c-ares lookups; see include/resolve/dns.h.  <ares.h> lives only here. */
#include "resolve/dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct lookup {
	bool done;
	int status;
	char addr[INET6_ADDRSTRLEN];
};

bool dns_is_numeric(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct lookup *l = arg;
	const struct ares_addrinfo_node *n, *pick = NULL;

	l->done = true;
	l->status = status;
	if (status != ARES_SUCCESS || !ai)
		goto out;
	for (n = ai->nodes; n; n = n->ai_next) {
		if (n->ai_family == AF_INET) {
			pick = n;
			break;
		}
		if (n->ai_family == AF_INET6 && !pick)
			pick = n;
	}
	if (!pick) {
		l->status = ARES_ENODATA;
		goto out;
	}
	if (pick->ai_family == AF_INET)
		inet_ntop(AF_INET,
			  &((const struct sockaddr_in *)(const void *)pick->ai_addr)->sin_addr,
			  l->addr, sizeof(l->addr));
	else
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)(const void *)pick->ai_addr)->sin6_addr,
			  l->addr, sizeof(l->addr));
out:
	if (ai)
		ares_freeaddrinfo(ai);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_loop(ares_channel ch, struct lookup *l, long long deadline)
{
	while (!l->done) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		struct timeval tv, *tvp, maxtv;
		long long left = deadline - now_ms();
		int bits, i, n = 0, rc, ms;

		if (left <= 0)
			return -ETIMEDOUT;
		bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
		for (i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			short ev = 0;

			/* c-ares' ARES_GETSOCK_WRITABLE shifts 1 << 31 on an int
			 * (undefined behaviour): the same bits, unsigned */
			if ((unsigned int)bits & (1u << i))
				ev |= POLLIN;
			if ((unsigned int)bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
				ev |= POLLOUT;
			if (!ev)
				continue;
			pfd[n].fd = socks[i];
			pfd[n].events = ev;
			pfd[n].revents = 0;
			n++;
		}
		maxtv.tv_sec = left / 1000;
		maxtv.tv_usec = (left % 1000) * 1000;
		tvp = ares_timeout(ch, &maxtv, &tv);
		ms = (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
		if (n == 0 && ms == 0)
			ms = 1;
		rc = poll(pfd, (nfds_t)n, ms);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc <= 0) {
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (i = 0; i < n; i++) {
			ares_socket_t r = ARES_SOCKET_BAD, w = ARES_SOCKET_BAD;

			if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
				r = pfd[i].fd;
			if (pfd[i].revents & POLLOUT)
				w = pfd[i].fd;
			if (r != ARES_SOCKET_BAD || w != ARES_SOCKET_BAD)
				ares_process_fd(ch, r, w);
		}
	}
	return 0;
}

int dns_lookup(const char *name, const char *server, bool fqdn, unsigned int timeout_ms, char *addr,
	       size_t addrlen, char *err, size_t errlen)
{
	struct ares_addrinfo_hints hints;
	struct ares_options opts;
	struct lookup l = {0};
	const char *asked = server && *server ? server : "the system resolver";
	char lookups[] = "b";
	ares_channel ch;
	int optmask, st, rc = 0;
	long long deadline;

	if (timeout_ms == 0)
		timeout_ms = 5000;
	memset(&opts, 0, sizeof(opts));
	/* Two tries per server, each a share of the total. */
	opts.timeout = (int)(timeout_ms / 2 > 0 ? timeout_ms / 2 : 1);
	opts.tries = 2;
	optmask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	if (fqdn) {
		opts.flags |= ARES_FLAG_NOSEARCH;
		optmask |= ARES_OPT_FLAGS;
	}
	if (server && *server) {
		opts.lookups = lookups; /* an explicit server: DNS only, no /etc/hosts */
		optmask |= ARES_OPT_LOOKUPS;
	}
	st = ares_init_options(&ch, &opts, optmask);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "cannot start the DNS resolver: %s", ares_strerror(st));
		return st == ARES_ENOMEM ? -ENOMEM : -EIO;
	}
	if (server && *server) {
		st = ares_set_servers_ports_csv(ch, server);
		if (st != ARES_SUCCESS) {
			snprintf(err, errlen,
				 "dnsserver \"%s\" is not IP[:PORT] (%s): write e.g. "
				 "-o dnsserver=10.0.0.2 or 127.0.0.1:5353",
				 server, ares_strerror(st));
			rc = -EINVAL;
			goto out;
		}
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	deadline = now_ms() + timeout_ms;
	ares_getaddrinfo(ch, name, NULL, &hints, on_addrinfo, &l);
	rc = wait_loop(ch, &l, deadline);
	if (rc == -ETIMEDOUT) {
		ares_cancel(ch); /* runs the callback with ARES_ECANCELLED */
		snprintf(err, errlen, "cannot resolve %s: no answer from %s within %u ms", name,
			 asked, timeout_ms);
		goto out;
	}
	if (rc) {
		snprintf(err, errlen, "cannot resolve %s: %s", name, strerror(-rc));
		goto out;
	}
	switch (l.status) {
	case ARES_SUCCESS:
		if (strlen(l.addr) >= addrlen) {
			rc = -ENAMETOOLONG;
			snprintf(err, errlen, "address buffer too small");
			break;
		}
		memcpy(addr, l.addr, strlen(l.addr) + 1);
		break;
	case ARES_ENODATA:
		rc = -ENOENT;
		snprintf(err, errlen,
			 "cannot resolve %s: the name has no address records (asked %s)", name,
			 asked);
		break;
	case ARES_ENOTFOUND:
	case ARES_ENONAME:
		rc = -ENOENT;
		snprintf(err, errlen, "cannot resolve %s: no such name (asked %s)", name, asked);
		break;
	case ARES_ETIMEOUT:
		rc = -ETIMEDOUT;
		snprintf(err, errlen, "cannot resolve %s: no answer from %s within %u ms", name,
			 asked, timeout_ms);
		break;
	case ARES_ECONNREFUSED:
		rc = -ECONNREFUSED;
		snprintf(err, errlen, "cannot resolve %s: %s refused the connection", name, asked);
		break;
	case ARES_ESERVFAIL:
	case ARES_EREFUSED:
		rc = -EHOSTUNREACH;
		snprintf(err, errlen, "cannot resolve %s: %s failed to answer (%s)", name, asked,
			 ares_strerror(l.status));
		break;
	case ARES_ENOMEM:
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory resolving %s", name);
		break;
	default:
		rc = -EIO;
		snprintf(err, errlen, "cannot resolve %s via %s: %s", name, asked,
			 ares_strerror(l.status));
		break;
	}
out:
	ares_destroy(ch);
	return rc;
}
