/*
 * test_tls.c - the TLS transport (src/net/tls.c) against in-process OpenSSL
 * servers on 127.0.0.1 ephemeral ports, with two CAs generated at test time
 * by contrib/tls/gen-certs.sh (each run makes a new CA, so "b" does not
 * trust "a"'s server).
 *
 * A deadlock in the reader/writer locking shows up as SIGALRM killing the
 * program (alarm() per test), never as a silent pass.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "net/transport.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

#define FS_NAME	 "fs-12345678.efs.us-east-1.amazonaws.com"
#define ECHO_MIB 4

static char certdir[256]; /* mkdtemp: a/ and b/ each hold a CA + server cert */

enum srv_mode {
	SRV_ECHO,    /* TLS: echo every byte until EOF */
	SRV_HOLD,    /* TLS: handshake, then read and discard until EOF */
	SRV_CLOSE,   /* TLS: handshake, then close_notify and close */
	SRV_GARBAGE, /* plain TCP: send non-TLS bytes, wait for EOF */
	SRV_SILENT,  /* plain TCP: accept and say nothing until EOF */
	SRV_HANGUP,  /* plain TCP: accept and close at once */
	SRV_TLS11,   /* TLS 1.1 only */
};

struct srv {
	enum srv_mode mode;
	int lfd;
	unsigned int port;
	SSL_CTX *ctx;
	pthread_t th;
	long echoed;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void path_of(char *buf, size_t len, const char *ca, const char *file)
{
	snprintf(buf, len, "%s/%s/%s", certdir, ca, file);
}

static SSL_CTX *server_ctx(enum srv_mode mode)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char crt[512], key[512];

	assert_non_null(ctx);
	path_of(crt, sizeof(crt), "a", "server.crt");
	path_of(key, sizeof(key), "a", "server.key");
	assert_int_equal(SSL_CTX_use_certificate_file(ctx, crt, SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
	if (mode == SRV_TLS11) {
		SSL_CTX_set_security_level(ctx, 0);
		assert_int_equal(SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0"), 1);
		assert_int_equal(SSL_CTX_set_min_proto_version(ctx, TLS1_1_VERSION), 1);
		assert_int_equal(SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION), 1);
	}
	return ctx;
}

static void serve_tls(struct srv *s, int fd)
{
	SSL *ssl = SSL_new(s->ctx);
	static unsigned char buf[65536]; /* one server thread at a time */
	size_t n, w;

	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) != 1)
		goto out;
	switch (s->mode) {
	case SRV_ECHO:
		while (SSL_read_ex(ssl, buf, sizeof(buf), &n)) {
			if (!SSL_write_ex(ssl, buf, n, &w) || w != n)
				break;
			s->echoed += (long)n;
		}
		break;
	case SRV_HOLD:
		while (SSL_read_ex(ssl, buf, sizeof(buf), &n))
			;
		break;
	case SRV_CLOSE:
		SSL_shutdown(ssl);
		break;
	default:
		break;
	}
out:
	SSL_free(ssl);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	struct pollfd pfd = {.fd = s->lfd, .events = POLLIN};
	char junk[4096];
	sigset_t pipe;
	int fd;

	/* The server may write to a client that gave up; the client threads keep SIGPIPE. */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	if (poll(&pfd, 1, 20000) != 1)
		return NULL;
	fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	switch (s->mode) {
	case SRV_GARBAGE: {
		/* What an NFS server might send: an RPC record, nothing like TLS. */
		static const unsigned char g[] = {0x80, 0, 0, 0x18, 1, 2, 3, 4, 0, 0, 0, 1, 0, 0,
						  0,	0, 0, 0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
		if (write(fd, g, sizeof(g)) < 0)
			break;
		while (read(fd, junk, sizeof(junk)) > 0)
			;
		break;
	}
	case SRV_SILENT:
		while (read(fd, junk, sizeof(junk)) > 0)
			;
		break;
	case SRV_HANGUP:
		break;
	default:
		serve_tls(s, fd);
		break;
	}
	close(fd);
	return NULL;
}

static void srv_start(struct srv *s, enum srv_mode mode)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t slen = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &slen), 0);
	s->port = ntohs(sa.sin_port);
	if (mode != SRV_GARBAGE && mode != SRV_SILENT && mode != SRV_HANGUP)
		s->ctx = server_ctx(mode);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
	SSL_CTX_free(s->ctx);
}

static struct transport_cfg cfg_for(const struct srv *s, const char *name, const char *ca)
{
	static char capath[512];
	struct transport_cfg c = {
		.host = "127.0.0.1",
		.port = s->port,
		.connect_timeout_ms = 5000,
		.tls = true,
		.tls_name = name,
		.cafile = NULL,
	};

	if (ca && ca[0] == '/') {
		c.cafile = ca;
	} else if (ca) {
		path_of(capath, sizeof(capath), ca, "ca.crt");
		c.cafile = capath;
	}
	return c;
}

/* Connect expecting failure; returns the message. */
static const char *expect_fail(struct srv *s, const char *name, const char *ca)
{
	static char err[512];
	struct transport_cfg c = cfg_for(s, name, ca);
	struct transport *t;

	err[0] = 0;
	t = transport_connect(&c, err, sizeof(err));
	if (t)
		transport_close(t);
	assert_null(t);
	assert_true(err[0] != 0);
	assert_null(strchr(err, '\n'));
	print_message("    message: %s\n", err);
	return err;
}

static void assert_has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* ---- good handshakes ------------------------------------------------------ */

struct writer {
	struct transport *t;
	int rc;
};

static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	size_t mib = 1u << 20, off = 0;
	unsigned char *buf = malloc(mib);
	int i;

	for (i = 0; i < ECHO_MIB && buf; i++) {
		size_t j;

		for (j = 0; j < mib; j++)
			buf[j] = pattern(off + j);
		/* An RPC-like send: a 4-byte record mark, then the body. */
		w->rc = (i & 1) ? transport_send_all(w->t, buf, mib)
				: transport_send2(w->t, buf, 4, buf + 4, mib - 4);
		if (w->rc)
			break;
		off += mib;
	}
	if (!buf)
		w->rc = -ENOMEM;
	free(buf);
	return NULL;
}

/* 4 MiB out while 4 MiB come back on another thread: proves the SSL lock. */
static void test_echo_concurrent(void **state)
{
	struct srv s;
	char err[512] = "";
	struct transport_cfg c;
	struct transport *t;
	struct writer w = {0};
	pthread_t th;
	size_t total = (size_t)ECHO_MIB << 20, got = 0;
	unsigned char *buf = malloc(256 * 1024);

	assert_non_null(buf);
	srv_start(&s, SRV_ECHO);
	c = cfg_for(&s, FS_NAME, "a");
	t = transport_connect(&c, err, sizeof(err));
	if (!t)
		fail_msg("connect: %s", err);
	w.t = t;
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	while (got < total) {
		ssize_t n = transport_recv(t, buf, 256 * 1024);
		ssize_t i;

		if (n <= 0)
			fail_msg("recv after %zu bytes: %zd", got, n);
		for (i = 0; i < n; i++)
			if (buf[i] != pattern(got + (size_t)i))
				fail_msg("byte %zu differs", got + (size_t)i);
		got += (size_t)n;
	}
	pthread_join(th, NULL);
	assert_int_equal(w.rc, 0);
	assert_int_equal(got, total);

	/* Small request/reply round trips on the same connection. */
	for (int i = 0; i < 100; i++) {
		unsigned char q[44], r[44];
		size_t have = 0;

		memset(q, i, sizeof(q));
		assert_int_equal(transport_send2(t, q, 4, q + 4, 40), 0);
		while (have < sizeof(r)) {
			ssize_t n = transport_recv(t, r + have, sizeof(r) - have);

			assert_true(n > 0);
			have += (size_t)n;
		}
		assert_memory_equal(q, r, sizeof(q));
	}
	transport_close(t);
	srv_stop(&s);
	assert_int_equal(s.echoed, (long)total + 100 * 44);
	free(buf);
}

/* tls_name NULL: the certificate must carry the IP address we dialled. */
static void test_ip_name(void **state)
{
	struct srv s;
	char err[512] = "";
	struct transport_cfg c;
	struct transport *t;
	unsigned char r[5];
	size_t have = 0;

	srv_start(&s, SRV_ECHO);
	c = cfg_for(&s, NULL, "a");
	t = transport_connect(&c, err, sizeof(err));
	if (!t)
		fail_msg("connect: %s", err);
	assert_int_equal(transport_send_all(t, "hello", 5), 0);
	while (have < 5) {
		ssize_t n = transport_recv(t, r + have, 5 - have);

		assert_true(n > 0);
		have += (size_t)n;
	}
	assert_memory_equal(r, "hello", 5);
	transport_close(t);
	srv_stop(&s);
}

struct reader {
	struct transport *t;
	ssize_t rc;
	int done;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	char b[64];
	ssize_t n = transport_recv(r->t, b, sizeof(b));

	pthread_mutex_lock(&r->mu);
	r->rc = n;
	r->done = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* shutdown() wakes a reader blocked in recv() on another thread, promptly. */
static void test_shutdown_wakes_reader(void **state)
{
	struct srv s;
	char err[512] = "";
	struct transport_cfg c;
	struct reader r = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	struct timespec dl;
	pthread_t th;
	int64_t t0;

	srv_start(&s, SRV_HOLD);
	c = cfg_for(&s, FS_NAME, "a");
	r.t = transport_connect(&c, err, sizeof(err));
	if (!r.t)
		fail_msg("connect: %s", err);
	assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
	/* The reader has nothing to read: it must still be blocked now. */
	pthread_mutex_lock(&r.mu);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += 200 * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	while (!r.done && pthread_cond_timedwait(&r.cv, &r.mu, &dl) == 0)
		;
	assert_int_equal(r.done, 0);
	pthread_mutex_unlock(&r.mu);

	t0 = now_ms();
	transport_shutdown(r.t);
	pthread_join(th, NULL);
	assert_true(now_ms() - t0 < 2000);
	assert_true(r.rc <= 0);
	/* Sending after shutdown fails with an error, never SIGPIPE. */
	assert_true(transport_send_all(r.t, "x", 1) < 0);
	transport_close(r.t);
	srv_stop(&s);
}

/* The server closes (close_notify): recv() reports EOF as 0. */
static void test_peer_close_is_eof(void **state)
{
	struct srv s;
	char err[512] = "", b[16];
	struct transport_cfg c;
	struct transport *t;

	srv_start(&s, SRV_CLOSE);
	c = cfg_for(&s, FS_NAME, "a");
	t = transport_connect(&c, err, sizeof(err));
	if (!t)
		fail_msg("connect: %s", err);
	assert_int_equal(transport_recv(t, b, sizeof(b)), 0);
	srv_stop(&s);
	/* The peer is gone: writes fail (EPIPE/ECONNRESET), they do not kill us. */
	for (int i = 0; i < 50; i++)
		if (transport_send_all(t, b, sizeof(b)) < 0)
			break;
	transport_close(t);
}

/* ---- failures: each with its own message ----------------------------------- */

static void test_wrong_ca(void **state)
{
	struct srv s;
	char cab[512];
	const char *e;

	srv_start(&s, SRV_ECHO);
	e = expect_fail(&s, FS_NAME, "b");
	srv_stop(&s);
	path_of(cab, sizeof(cab), "b", "ca.crt");
	assert_has(e, "certificate verify failed");
	assert_has(e, "127.0.0.1:");
	assert_has(e, cab);
}

static void test_system_store_private_ca(void **state)
{
	struct srv s;
	const char *e;

	srv_start(&s, SRV_ECHO);
	e = expect_fail(&s, FS_NAME, NULL);
	srv_stop(&s);
	assert_has(e, "certificate verify failed");
	assert_has(e, "-o cafile=PATH");
}

static void test_wrong_hostname(void **state)
{
	struct srv s;
	const char *e;

	srv_start(&s, SRV_ECHO);
	e = expect_fail(&s, "fs-12345678.efs.eu-west-1.amazonaws.com", "a");
	srv_stop(&s);
	assert_has(e, "does not match fs-12345678.efs.eu-west-1.amazonaws.com");

	/* A wildcard (*.efs.us-east-1...) covers one label, not two. */
	srv_start(&s, SRV_ECHO);
	e = expect_fail(&s, "x.fs-1.efs.us-east-1.amazonaws.com", "a");
	srv_stop(&s);
	assert_has(e, "does not match");
}

static void test_wrong_ip(void **state)
{
	struct srv s;
	const char *e;

	srv_start(&s, SRV_ECHO);
	e = expect_fail(&s, "127.0.0.3", "a");
	srv_stop(&s);
	assert_has(e, "does not match 127.0.0.3");
}

static void test_plaintext_garbage(void **state)
{
	struct srv s;
	const char *e;
	int64_t t0 = now_ms();

	srv_start(&s, SRV_GARBAGE);
	e = expect_fail(&s, FS_NAME, "a");
	srv_stop(&s);
	assert_has(e, "does not speak TLS");
	assert_true(now_ms() - t0 < 3000);
}

static void test_plaintext_silent_times_out(void **state)
{
	struct srv s;
	struct transport_cfg c;
	char err[512] = "";
	struct transport *t;
	int64_t t0, dt;

	srv_start(&s, SRV_SILENT);
	c = cfg_for(&s, FS_NAME, "a");
	c.connect_timeout_ms = 500;
	t0 = now_ms();
	t = transport_connect(&c, err, sizeof(err));
	dt = now_ms() - t0;
	assert_null(t);
	print_message("    message: %s (after %lld ms)\n", err, (long long)dt);
	srv_stop(&s);
	assert_has(err, "timed out after 500 ms");
	assert_true(dt >= 450 && dt < 2500);
}

static void test_hangup_during_handshake(void **state)
{
	struct srv s;
	const char *e;

	srv_start(&s, SRV_HANGUP);
	e = expect_fail(&s, FS_NAME, "a");
	srv_stop(&s);
	assert_has(e, "closed the connection during the handshake");
}

static void test_tls11_refused(void **state)
{
	struct srv s;
	const char *e;

	srv_start(&s, SRV_TLS11);
	e = expect_fail(&s, FS_NAME, "a");
	srv_stop(&s);
	assert_has(e, "TLS 1.2 or later is required");
}

static void test_missing_cafile(void **state)
{
	struct srv s;
	char path[512];
	const char *e;

	srv_start(&s, SRV_HANGUP); /* never reached: the CA file is read first */
	snprintf(path, sizeof(path), "%s/nonexistent.crt", certdir);
	e = expect_fail(&s, FS_NAME, path);
	/* Unblock the server thread: it waits for one connection. */
	{
		struct transport_cfg c = cfg_for(&s, FS_NAME, NULL);
		char err[256];

		c.tls = false;
		struct transport *t = transport_connect(&c, err, sizeof(err));

		if (t)
			transport_close(t);
	}
	srv_stop(&s);
	snprintf(path, sizeof(path),
		 "cannot read CA file %s/nonexistent.crt: No such file or "
		 "directory",
		 certdir);
	assert_string_equal(e, path);
}

static void test_cafile_not_pem(void **state)
{
	struct srv s;
	char path[512];
	const char *e;

	srv_start(&s, SRV_HANGUP);
	path_of(path, sizeof(path), "a", "server.ext"); /* readable, not a certificate */
	e = expect_fail(&s, FS_NAME, path);
	{
		struct transport_cfg c = cfg_for(&s, FS_NAME, NULL);
		char err[256];

		c.tls = false;
		struct transport *t = transport_connect(&c, err, sizeof(err));

		if (t)
			transport_close(t);
	}
	srv_stop(&s);
	assert_has(e, "cannot read CA file");
	assert_has(e, "no PEM certificate");
}

static void test_refused(void **state)
{
	struct srv s;
	const char *e;

	srv_start(&s, SRV_HANGUP);
	{
		struct transport_cfg c = cfg_for(&s, FS_NAME, NULL);
		char err[256];

		c.tls = false;
		struct transport *t = transport_connect(&c, err, sizeof(err));

		if (t)
			transport_close(t);
	}
	srv_stop(&s); /* the port is closed now */
	e = expect_fail(&s, FS_NAME, "a");
	assert_has(e, "cannot connect to 127.0.0.1");
}

/* ---- fixture --------------------------------------------------------------- */

static int setup_certs(void **state)
{
	const char *src = getenv("TOP_SRCDIR") ? getenv("TOP_SRCDIR") : TOP_SRCDIR;
	char cmd[1024];

	snprintf(certdir, sizeof(certdir), "%s/efs-test-tls.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(certdir)) {
		fprintf(stderr, "mkdtemp %s: %s\n", certdir, strerror(errno));
		return -1;
	}
	snprintf(cmd, sizeof(cmd),
		 "%s/contrib/tls/gen-certs.sh %s/a && %s/contrib/tls/gen-certs.sh %s/b", src,
		 certdir, src, certdir);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_tls: '%s' failed\n", cmd);
		return -1;
	}
	return 0;
}

static int teardown_certs(void **state)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", certdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int arm_alarm(void **state)
{
	alarm(60); /* a deadlock kills the program with SIGALRM: a loud failure */
	return 0;
}

static int disarm_alarm(void **state)
{
	alarm(0);
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, arm_alarm, disarm_alarm)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_echo_concurrent),
		T(test_ip_name),
		T(test_shutdown_wakes_reader),
		T(test_peer_close_is_eof),
		T(test_wrong_ca),
		T(test_system_store_private_ca),
		T(test_wrong_hostname),
		T(test_wrong_ip),
		T(test_plaintext_garbage),
		T(test_plaintext_silent_times_out),
		T(test_hangup_during_handshake),
		T(test_tls11_refused),
		T(test_missing_cafile),
		T(test_cafile_not_pem),
		T(test_refused),
	};

	return cmocka_run_group_tests(tests, setup_certs, teardown_certs);
}
