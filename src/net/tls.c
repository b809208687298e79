/*
 * tls.c - TLS 1.2+ transport over a tcp_dial() socket (OpenSSL 3); see
 * include/net/transport.h for the contract.  The only file that includes
 * OpenSSL headers.
 *
 * Verification
 *  - The server certificate is checked against cfg->cafile, or the system
 *    CA store when cafile is NULL (SSL_VERIFY_PEER, TLS 1.2 minimum).
 *  - Its name is checked against cfg->tls_name (cfg->host when NULL), also
 *    when the connection goes to an IP address: a DNS name is matched with
 *    X509_VERIFY_PARAM_set1_host (no partial wildcards), an IP literal with
 *    X509_VERIFY_PARAM_set1_ip_asc.  SNI carries the name unless it is an IP
 *    literal (RFC 6066 section 3 forbids addresses in SNI).
 *  - The handshake runs on the non-blocking socket in a poll() loop and is
 *    bounded by cfg->connect_timeout_ms (TLS_DEFAULT_TIMEOUT_MS when <= 0).
 *
 * Threads (one reader, one writer at a time, per transport.h)
 *  - An SSL object must not be used by two threads at once, so every SSL_*
 *    call on it is made with tt->lock held.  The lock is never held while
 *    waiting for the network: the socket stays non-blocking for the life of
 *    the connection, and a thread that gets SSL_ERROR_WANT_READ/WANT_WRITE
 *    drops the lock, poll()s the fd, and retries.
 *  - Why not switch back to a blocking socket after the handshake: a writer
 *    blocked in SSL_write() (peer's window full) while holding the lock would
 *    keep the reader from draining our receive side; a peer that itself waits
 *    for us to read before it reads again (an echo, or an NFS server sending
 *    a 1 MiB READ reply while we send a 1 MiB WRITE) then deadlocks both.
 *  - recv() first calls SSL_read_ex() (which returns bytes already buffered
 *    in the SSL object -- the SSL_pending() case -- without touching the
 *    socket) and polls only on WANT_READ.  The poll has a short timeout so
 *    that bytes pulled off the socket by the writer (a TLS 1.2 renegotiation
 *    read inside SSL_write) cannot leave the reader sleeping forever.
 *  - Writes use SSL_MODE_ENABLE_PARTIAL_WRITE: each SSL_write_ex() call under
 *    the lock writes at most a few records, so the reader gets the lock
 *    between them even during a 1 MiB send.
 *  - send2() copies a small header and the start of the body into one
 *    16 KiB scratch buffer (one full TLS record, no tiny record for the RPC
 *    record mark), then writes the rest of the body in place.  The scratch
 *    buffer belongs to the sender (rpc/ serialises senders).
 *  - shutdown() only calls shutdown(2) on the fd (no SSL_* call, so no lock
 *    and no SSL_shutdown racing an SSL_read): a poll()ing reader wakes up,
 *    SSL_read sees EOF, recv() returns 0.
 *  - The socket is wrapped in a small BIO of our own that sends with
 *    MSG_NOSIGNAL: a write to a reset connection returns -EPIPE instead of
 *    raising SIGPIPE in a daemon that may not ignore it.
 *
 * Client certificate (EFS IAM and access points, cfg->client_cert)
 *  - Every tls_connect() asks the credential callback for current
 *    credentials and builds a new certificate (net/iam_cert.c) with the
 *    current time, so a reconnect never presents an expired certificate or
 *    a stale signature.  The key pair is the mount's, made once.
 *  - Such a connection is capped at TLS 1.2: there the server judges the
 *    client certificate inside the handshake, so its refusal (an alert)
 *    fails tls_connect() with a message instead of surfacing as a reset
 *    on the first NFS call, as it would after a TLS 1.3 handshake.
 *  - The alerts are explained for the user: access_denied (the file system
 *    policy refuses this identity), certificate_expired (credentials or
 *    certificate expired), bad_certificate / decrypt_error (signature not
 *    accepted: wrong key, secret or region), certificate_unknown (access
 *    point unknown or of another file system).
 *
 * Errors: handshake failures are one line for the user naming HOST:PORT and
 * the cause (verify result, name mismatch, plaintext peer, TLS version,
 * timeout, refused client certificate); I/O errors are
 * -ECONNRESET/-EPIPE/-errno for the socket and -EPROTO for a TLS protocol
 * error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/iam_cert.h"
#include "net/transport.h"

#define TLS_DEFAULT_TIMEOUT_MS 30000
#define TLS_SCRATCH	       16384 /* one maximal TLS record of plaintext */
#define TLS_RECV_POLL_MS       1000  /* see "Threads" above */

struct tls_transport {
	struct transport t;
	int fd;
	SSL_CTX *ctx;
	pthread_mutex_t lock; /* protects ssl: every SSL_* call on it */
	SSL *ssl;
	atomic_bool shut;		    /* shutdown() was called */
	char cred_source[160];		    /* where the IAM credentials came from */
	BIO_METHOD *meth;		    /* our socket BIO's table; freed after ssl */
	unsigned char scratch[TLS_SCRATCH]; /* send2() coalescing; owned by the sender */
};

/* ---- a socket BIO that never raises SIGPIPE ---------------------------- */

static int nosig_write(BIO *b, const char *buf, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do
		n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return (int)n;
}

static int nosig_read(BIO *b, char *buf, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do
		n = recv(fd, buf, (size_t)len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(b);
	return (int)n;
}

static long nosig_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	int fd = (int)(intptr_t)BIO_get_data(b);

	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_C_GET_FD:
		if (ptr)
			*(int *)ptr = fd;
		return fd;
	default:
		return 0;
	}
}

static int nosig_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/*
 * The method table is built per connection (OpenSSL 3 has no static BIO
 * methods for applications) with a fixed type number: BIO_get_new_index()
 * hands out a limited range, and a daemon reconnects forever.
 */
#define EFS_BIO_TYPE (0x7e | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR)

static BIO *nosig_bio_new(int fd, BIO_METHOD **meth)
{
	BIO_METHOD *m = BIO_meth_new(EFS_BIO_TYPE, "efs-socket");
	BIO *b;

	if (!m)
		return NULL;
	if (!BIO_meth_set_write(m, nosig_write) || !BIO_meth_set_read(m, nosig_read) ||
	    !BIO_meth_set_ctrl(m, nosig_ctrl) || !BIO_meth_set_create(m, nosig_create)) {
		BIO_meth_free(m);
		return NULL;
	}
	b = BIO_new(m);
	if (!b) {
		BIO_meth_free(m);
		return NULL;
	}
	BIO_set_data(b, (void *)(intptr_t)fd);
	*meth = m;
	return b;
}

/* ---- helpers ------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll() one fd; returns >0 ready, 0 timeout, -errno. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int rc;

	do
		rc = poll(&pfd, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : rc;
}

static bool is_ip_literal(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static void peer_name(const struct transport_cfg *cfg, char *buf, size_t len)
{
	if (strchr(cfg->host, ':'))
		snprintf(buf, len, "[%s]:%u", cfg->host, cfg->port);
	else
		snprintf(buf, len, "%s:%u", cfg->host, cfg->port);
}

/* The reason string of the last OpenSSL error on this thread, or what. */
static const char *ssl_reason(unsigned long e, const char *what)
{
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : what;
}

static bool issuer_problem(long v)
{
	switch (v) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return true;
	default:
		return false;
	}
}

/* The server refused our client certificate with an alert: explain it.  False if not. */
static bool client_cert_refused(const struct iam_cert_cfg *cc, const char *peer, const char *source,
				int reason, char *err, size_t errlen)
{
	const char *ap = cc->access_point && *cc->access_point ? cc->access_point : NULL;
	const char *src = source && *source ? source : "?";

	switch (reason) {
	case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
		if (!cc->iam)
			snprintf(err, errlen,
				 "%s: access denied to %s%s%s (TLS alert access_denied): the file "
				 "system policy requires IAM authorization: add -o iam",
				 peer, cc->fs_id, ap ? " through " : "", ap ? ap : "");
		else
			snprintf(err, errlen,
				 "%s: access denied by the file system policy of %s%s%s for the "
				 "credentials from %s (TLS alert access_denied): grant "
				 "elasticfilesystem:ClientMount to that identity",
				 peer, cc->fs_id, ap ? " / " : "", ap ? ap : "", src);
		return true;
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
		snprintf(err, errlen,
			 "%s refused the IAM client certificate as expired (TLS alert "
			 "certificate_expired): the credentials from %s have expired, or this "
			 "machine's clock is wrong: refresh the credentials",
			 peer, cc->iam ? src : "(none)");
		return true;
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
		if (cc->iam)
			snprintf(err, errlen,
				 "%s did not accept the IAM signature of the credentials from %s "
				 "(TLS alert %s): the access key is unknown or the secret key is "
				 "wrong, or %s is not the region of %s",
				 peer, src,
				 reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ? "bad_certificate"
									     : "decrypt_error",
				 cc->region ? cc->region : "?", cc->fs_id);
		else
			snprintf(err, errlen,
				 "%s refused the client certificate (TLS alert bad_certificate)",
				 peer);
		return true;
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
		if (ap)
			snprintf(err, errlen,
				 "%s: access point %s was not found in file system %s (TLS alert "
				 "certificate_unknown): check the id, and that it belongs to %s",
				 peer, ap, cc->fs_id, cc->fs_id);
		else
			snprintf(
				err, errlen,
				"%s refused the client certificate for %s (TLS alert "
				"certificate_unknown): is %s the file system of this mount target?",
				peer, cc->fs_id, cc->fs_id);
		return true;
	default:
		return false;
	}
}

/*
 * One line explaining why the handshake failed.  e is the last OpenSSL error
 * (0 if none), serr SSL_get_error(), sys the saved errno.
 */
static void handshake_error(const struct transport_cfg *cfg, const char *name, SSL *ssl,
			    const char *cred_source, unsigned long e, int serr, int sys, char *err,
			    size_t errlen)
{
	char peer[300];
	long v = SSL_get_verify_result(ssl);
	int reason = e ? ERR_GET_REASON(e) : 0;

	peer_name(cfg, peer, sizeof(peer));
	if (cfg->client_cert &&
	    client_cert_refused(cfg->client_cert, peer, cred_source, reason, err, errlen))
		return;
	if (v != X509_V_OK && (reason == SSL_R_CERTIFICATE_VERIFY_FAILED || !e)) {
		if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH)
			snprintf(err, errlen,
				 "TLS: server certificate of %s does not match %s (hostname "
				 "mismatch)",
				 peer, name);
		else if (issuer_problem(v) && !cfg->cafile)
			snprintf(err, errlen,
				 "TLS handshake with %s failed: certificate verify failed (%s): "
				 "pass -o cafile=PATH if the server uses a private CA",
				 peer, X509_verify_cert_error_string(v));
		else if (issuer_problem(v))
			snprintf(err, errlen,
				 "TLS handshake with %s failed: certificate verify failed (%s): "
				 "is %s the CA that signed the server's certificate?",
				 peer, X509_verify_cert_error_string(v), cfg->cafile);
		else
			snprintf(err, errlen,
				 "TLS handshake with %s failed: certificate verify failed (%s)",
				 peer, X509_verify_cert_error_string(v));
		return;
	}
	switch (reason) {
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_HTTP_REQUEST:
	case SSL_R_RECORD_LENGTH_MISMATCH:
	case SSL_R_UNKNOWN_PROTOCOL:
		snprintf(err, errlen,
			 "TLS handshake with %s failed: the server does not speak TLS (%s) -- is "
			 "it a plaintext NFS port?",
			 peer, ssl_reason(e, "garbage"));
		return;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
	case SSL_R_VERSION_TOO_LOW:
		snprintf(err, errlen,
			 "TLS handshake with %s failed: the server offers no TLS version we accept "
			 "(%s); TLS 1.2 or later is required",
			 peer, ssl_reason(e, "protocol version"));
		return;
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		break;
	default:
		if (serr == SSL_ERROR_SSL) {
			snprintf(err, errlen, "TLS handshake with %s failed: %s", peer,
				 ssl_reason(e, "protocol error"));
			return;
		}
	}
	if (serr == SSL_ERROR_SYSCALL && sys && sys != EPIPE && sys != ECONNRESET) {
		snprintf(err, errlen, "TLS handshake with %s failed: %s", peer, strerror(sys));
		return;
	}
	snprintf(err, errlen,
		 "TLS handshake with %s failed: the server closed the connection during the "
		 "handshake -- is it a plaintext NFS port, or does it refuse TLS 1.2+?",
		 peer);
}

/* A CA file: give the user errno for the common mistakes before OpenSSL. */
static int load_ca(SSL_CTX *ctx, const char *cafile, char *err, size_t errlen)
{
	FILE *f;

	if (!cafile) {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			snprintf(err, errlen, "cannot load the system CA store: %s",
				 ssl_reason(ERR_peek_last_error(), "unknown error"));
			return -EIO;
		}
		return 0;
	}
	f = fopen(cafile, "r");
	if (!f) {
		int e = errno;

		snprintf(err, errlen, "cannot read CA file %s: %s", cafile, strerror(e));
		return -e;
	}
	fclose(f);
	if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
		snprintf(err, errlen, "cannot read CA file %s: no PEM certificate in it (%s)",
			 cafile, ssl_reason(ERR_peek_last_error(), "bad format"));
		return -EINVAL;
	}
	return 0;
}

/* SSL_connect() on the non-blocking fd within timeout_ms. */
static int do_handshake(struct tls_transport *tt, const struct transport_cfg *cfg, const char *name,
			char *err, size_t errlen)
{
	int timeout =
		cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : TLS_DEFAULT_TIMEOUT_MS;
	int64_t deadline = now_ms() + timeout;
	char peer[300];

	for (;;) {
		int rc, serr, sys;
		unsigned long e;
		int64_t left;
		short ev;

		ERR_clear_error();
		errno = 0;
		rc = SSL_connect(tt->ssl);
		if (rc == 1)
			return 0;
		sys = errno;
		serr = SSL_get_error(tt->ssl, rc);
		e = ERR_peek_last_error();
		if (serr == SSL_ERROR_WANT_READ)
			ev = POLLIN;
		else if (serr == SSL_ERROR_WANT_WRITE)
			ev = POLLOUT;
		else {
			handshake_error(cfg, name, tt->ssl, tt->cred_source, e, serr, sys, err,
					errlen);
			return -EPROTO;
		}
		left = deadline - now_ms();
		if (left > 0)
			rc = wait_fd(tt->fd, ev, (int)left);
		else
			rc = 0;
		if (rc == 0) {
			peer_name(cfg, peer, sizeof(peer));
			snprintf(err, errlen,
				 "TLS handshake with %s timed out after %d ms -- is it a plaintext "
				 "NFS port?",
				 peer, timeout);
			return -ETIMEDOUT;
		}
		if (rc < 0) {
			peer_name(cfg, peer, sizeof(peer));
			snprintf(err, errlen, "TLS handshake with %s failed: %s", peer,
				 strerror(-rc));
			return rc;
		}
	}
}

/* ---- data path ------------------------------------------------------------ */

/* errno for a failed SSL_read/SSL_write; 0 for an orderly or abrupt EOF on read. */
static int io_error(int serr, unsigned long e, int sys, bool reading)
{
	switch (serr) {
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (sys)
			return -sys;
		return reading ? 0 : -EPIPE;
	case SSL_ERROR_SSL:
		if (e && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
			return reading ? 0 : -EPIPE;
		return -EPROTO;
	default:
		return -ECONNRESET;
	}
}

static int tls_write_all(struct tls_transport *tt, const unsigned char *p, size_t len)
{
	while (len > 0) {
		size_t n = 0;
		int ok, serr = 0, sys = 0, rc;
		unsigned long e = 0;

		if (atomic_load(&tt->shut))
			return -EPIPE;
		pthread_mutex_lock(&tt->lock);
		ERR_clear_error();
		errno = 0;
		ok = SSL_write_ex(tt->ssl, p, len, &n);
		if (!ok) {
			sys = errno;
			serr = SSL_get_error(tt->ssl, ok);
			e = ERR_peek_last_error();
		}
		pthread_mutex_unlock(&tt->lock);
		if (ok) {
			p += n;
			len -= n;
			continue;
		}
		if (serr == SSL_ERROR_WANT_WRITE)
			rc = wait_fd(tt->fd, POLLOUT, -1);
		else if (serr == SSL_ERROR_WANT_READ) /* renegotiation: the reader may eat it */
			rc = wait_fd(tt->fd, POLLIN, 10);
		else
			return io_error(serr, e, sys, false);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int tls_send2(struct transport *t, const void *a, size_t alen, const void *b, size_t blen)
{
	struct tls_transport *tt = (struct tls_transport *)t;
	size_t take;
	int rc;

	if (alen == 0 || alen >= TLS_SCRATCH) {
		rc = tls_write_all(tt, a, alen);
		return rc ? rc : tls_write_all(tt, b, blen);
	}
	take = blen < TLS_SCRATCH - alen ? blen : TLS_SCRATCH - alen;
	memcpy(tt->scratch, a, alen);
	if (take)
		memcpy(tt->scratch + alen, b, take);
	rc = tls_write_all(tt, tt->scratch, alen + take);
	if (rc)
		return rc;
	return tls_write_all(tt, (const unsigned char *)b + take, blen - take);
}

static int tls_send_all(struct transport *t, const void *buf, size_t len)
{
	return tls_write_all((struct tls_transport *)t, buf, len);
}

static ssize_t tls_recv(struct transport *t, void *buf, size_t len)
{
	struct tls_transport *tt = (struct tls_transport *)t;

	if (len == 0)
		return 0;
	for (;;) {
		size_t n = 0;
		int ok, serr = 0, sys = 0, rc;
		unsigned long e = 0;

		pthread_mutex_lock(&tt->lock);
		ERR_clear_error();
		errno = 0;
		ok = SSL_read_ex(tt->ssl, buf, len, &n);
		if (!ok) {
			sys = errno;
			serr = SSL_get_error(tt->ssl, ok);
			e = ERR_peek_last_error();
		}
		pthread_mutex_unlock(&tt->lock);
		if (ok)
			return (ssize_t)n;
		if (serr == SSL_ERROR_WANT_READ)
			rc = wait_fd(tt->fd, POLLIN, TLS_RECV_POLL_MS);
		else if (serr == SSL_ERROR_WANT_WRITE)
			rc = wait_fd(tt->fd, POLLOUT, TLS_RECV_POLL_MS);
		else
			return io_error(serr, e, sys, true);
		if (rc < 0)
			return rc;
	}
}

static void tls_shutdown(struct transport *t)
{
	struct tls_transport *tt = (struct tls_transport *)t;

	atomic_store(&tt->shut, true);
	shutdown(tt->fd, SHUT_RDWR);
}

static void tls_free(struct tls_transport *tt)
{
	if (tt->ssl)
		SSL_free(tt->ssl); /* frees the BIO too */
	if (tt->ctx)
		SSL_CTX_free(tt->ctx);
	if (tt->meth)
		BIO_meth_free(tt->meth);
	if (tt->fd >= 0)
		close(tt->fd);
	pthread_mutex_destroy(&tt->lock);
	free(tt);
}

static void tls_close(struct transport *t)
{
	struct tls_transport *tt = (struct tls_transport *)t;

	/* Both sides have stopped: a best-effort close_notify is single-threaded here. */
	if (!atomic_load(&tt->shut)) {
		ERR_clear_error();
		SSL_shutdown(tt->ssl);
	}
	ERR_clear_error();
	tls_free(tt);
}

static const struct transport_ops tls_ops = {
	.send_all = tls_send_all,
	.send2 = tls_send2,
	.recv = tls_recv,
	.shutdown = tls_shutdown,
	.close = tls_close,
};

/* A fresh client certificate (current credentials, current time) for this connection. */
static int use_client_cert(struct tls_transport *tt, const struct iam_cert_cfg *cc, char *err,
			   size_t errlen)
{
	struct iam_creds *creds = NULL;
	struct iam_cert_req r = {
		.fs_id = cc->fs_id,
		.region = cc->region,
		.access_point = cc->access_point,
		.common_name = cc->common_name,
		.client_source = cc->client_source,
		.client_version = cc->client_version,
		.validity_s = cc->validity_s,
	};
	struct x509_st *x = NULL;
	int rc;

	if (cc->iam) {
		creds = calloc(1, sizeof(*creds));
		if (!creds) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		rc = cc->get_creds(cc->creds_arg, creds, tt->cred_source, sizeof(tt->cred_source),
				   err, errlen);
		if (rc)
			goto out;
		r.creds = creds;
	}
	r.now = time(NULL);
	rc = iam_cert_build(cc->key, &r, &x, err, errlen);
	if (rc)
		goto out;
	if (SSL_use_certificate(tt->ssl, x) != 1 ||
	    SSL_use_PrivateKey(tt->ssl, iam_key_pkey(cc->key)) != 1 ||
	    SSL_set_max_proto_version(tt->ssl, TLS1_2_VERSION) != 1) {
		snprintf(err, errlen, "TLS: cannot use the client certificate: %s",
			 ssl_reason(ERR_peek_last_error(), "OpenSSL error"));
		rc = -EIO;
	}
out:
	iam_cert_free(x);
	if (creds) {
		explicit_bzero(creds, sizeof(*creds));
		free(creds);
	}
	return rc;
}

struct transport *tls_connect(const struct transport_cfg *cfg, char *err, size_t errlen)
{
	const char *name = cfg->tls_name && *cfg->tls_name ? cfg->tls_name : cfg->host;
	struct tls_transport *tt;
	X509_VERIFY_PARAM *vp;
	BIO *bio;
	int flags, rc;

	if (!name || !*name) {
		snprintf(err, errlen, "TLS: no server name to check the certificate against");
		return NULL;
	}
	tt = calloc(1, sizeof(*tt));
	if (!tt) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	tt->t.ops = &tls_ops;
	tt->fd = -1;
	pthread_mutex_init(&tt->lock, NULL);
	atomic_init(&tt->shut, false);

	tt->ctx = SSL_CTX_new(TLS_client_method());
	if (!tt->ctx) {
		snprintf(err, errlen, "TLS: cannot create a context: %s",
			 ssl_reason(ERR_peek_last_error(), "out of memory"));
		goto fail;
	}
	SSL_CTX_set_min_proto_version(tt->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(tt->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(tt->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
					  SSL_MODE_AUTO_RETRY);
	SSL_CTX_set_options(tt->ctx, SSL_OP_NO_RENEGOTIATION);
	if (load_ca(tt->ctx, cfg->cafile, err, errlen) < 0)
		goto fail;

	tt->ssl = SSL_new(tt->ctx);
	if (!tt->ssl) {
		snprintf(err, errlen, "TLS: cannot create a connection: %s",
			 ssl_reason(ERR_peek_last_error(), "out of memory"));
		goto fail;
	}
	vp = SSL_get0_param(tt->ssl);
	if (is_ip_literal(name)) {
		rc = X509_VERIFY_PARAM_set1_ip_asc(vp, name);
	} else {
		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		rc = X509_VERIFY_PARAM_set1_host(vp, name, 0) &&
		     SSL_set_tlsext_host_name(tt->ssl, name);
	}
	if (rc != 1) {
		snprintf(err, errlen, "TLS: invalid server name '%s'", name);
		goto fail;
	}
	if (cfg->client_cert && use_client_cert(tt, cfg->client_cert, err, errlen) < 0)
		goto fail;

	tt->fd = tcp_dial(cfg, err, errlen);
	if (tt->fd < 0)
		goto fail;
	flags = fcntl(tt->fd, F_GETFL);
	if (flags < 0 || fcntl(tt->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "TLS: cannot make the socket non-blocking: %s",
			 strerror(errno));
		goto fail;
	}
	bio = nosig_bio_new(tt->fd, &tt->meth);
	if (!bio) {
		snprintf(err, errlen, "TLS: cannot create a socket BIO: out of memory");
		goto fail;
	}
	SSL_set_bio(tt->ssl, bio, bio);

	if (do_handshake(tt, cfg, name, err, errlen) < 0)
		goto fail;
	ERR_clear_error();
	return &tt->t;
fail:
	ERR_clear_error();
	tls_free(tt);
	return NULL;
}
