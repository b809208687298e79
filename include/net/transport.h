/*
 * transport.h - a byte-stream connection to a mount target, behind an ops
 * table so that rpc/ does not know whether it is TCP, TLS or a scripted fake.
 *
 * Contract
 *  - transport_connect() opens a new connection described by a
 *    struct transport_cfg and returns it, or NULL with a one-line reason in
 *    err (for the user: it names the address and the cause).
 *  - send_all() writes every byte or fails; recv() returns >0 bytes read,
 *    0 on orderly EOF, or a negative errno.  One thread may send while
 *    another receives (rpc/ serialises senders itself); neither call is
 *    reentrant on its own side.
 *  - shutdown() makes a blocked recv() in another thread return promptly;
 *    close() frees everything (call it once, after both sides stopped).
 *  - Errors: negative errno (-ECONNRESET, -ETIMEDOUT, -EPIPE, -EPROTO for a
 *    TLS failure, ...).
 */
#ifndef EFS_NET_TRANSPORT_H
#define EFS_NET_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct transport;
struct iam_cert_cfg;

struct transport_ops {
	int (*send_all)(struct transport *t, const void *buf, size_t len);
	/* Gathers two pieces into one send where the transport can. */
	int (*send2)(struct transport *t, const void *a, size_t alen, const void *b, size_t blen);
	ssize_t (*recv)(struct transport *t, void *buf, size_t len);
	void (*shutdown)(struct transport *t);
	void (*close)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
};

struct transport_cfg {
	const char *host;  /* numeric IPv4/IPv6 address or a name */
	unsigned int port; /* TCP port */
	int connect_timeout_ms;
	int user_timeout_ms;  /* TCP_USER_TIMEOUT: unacknowledged data drops the connection (0: off)
			       */
	bool tls;	      /* TLS 1.2+ (net/tls.c) */
	const char *tls_name; /* name the certificate must match (SNI too) */
	const char *cafile;   /* NULL: system CA store */
	/*
	 * EFS IAM / access point client certificate (net/iam_cert.h), built
	 * afresh by every tls_connect(); NULL: none.  Must outlive the
	 * connections (copies of this struct share it).
	 */
	const struct iam_cert_cfg *client_cert;
};

/* Open a connection (TCP or TLS per cfg->tls). */
struct transport *transport_connect(const struct transport_cfg *cfg, char *err, size_t errlen);

/* Plain TCP (net/tcp.c). */
struct transport *tcp_connect(const struct transport_cfg *cfg, char *err, size_t errlen);
/* TCP then a TLS handshake with verification (net/tls.c). */
struct transport *tls_connect(const struct transport_cfg *cfg, char *err, size_t errlen);
/* Connected TCP socket to cfg->host:port, or -errno with err filled. */
int tcp_dial(const struct transport_cfg *cfg, char *err, size_t errlen);

static inline int transport_send_all(struct transport *t, const void *b, size_t n)
{
	return t->ops->send_all(t, b, n);
}
static inline int transport_send2(struct transport *t, const void *a, size_t an, const void *b,
				  size_t bn)
{
	return t->ops->send2(t, a, an, b, bn);
}
static inline ssize_t transport_recv(struct transport *t, void *b, size_t n)
{
	return t->ops->recv(t, b, n);
}
static inline void transport_shutdown(struct transport *t)
{
	t->ops->shutdown(t);
}
static inline void transport_close(struct transport *t)
{
	t->ops->close(t);
}

#endif
