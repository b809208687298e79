/*
 * tls_probe.c - prove data flows through the transport: connect with
 * transport_connect() (TLS unless --plain), send one NFS NULL call
 * (RFC 5531 record-marked, 44 bytes, AUTH_NONE) and check the reply is an
 * accepted SUCCESS for the same xid.
 *
 *   tls_probe [--plain] [--timeout MS] HOST PORT [TLS_NAME|- [CAFILE|-]]
 *
 * Exit 0 and "NULL reply ok ..." on stdout; exit 1 with the transport's
 * one-line error (or what was wrong with the reply) on stderr.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/transport.h"

static void put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static int recv_exact(struct transport *t, unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = transport_recv(t, p, len);

		if (n <= 0)
			return n == 0 ? -1 : (int)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct transport_cfg cfg = {.connect_timeout_ms = 5000, .tls = true};
	unsigned char call[44], hdr[4], reply[256];
	uint32_t xid = 0x7e570001, mark, len;
	struct transport *t;
	char err[512];
	int i = 1, rc;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (!strcmp(argv[i], "--plain"))
			cfg.tls = false;
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			cfg.connect_timeout_ms = atoi(argv[++i]);
		else
			break;
	}
	if (argc - i < 2 || argc - i > 4) {
		fprintf(stderr,
			"usage: %s [--plain] [--timeout MS] HOST PORT [TLS_NAME|- [CAFILE|-]]\n",
			argv[0]);
		return 2;
	}
	cfg.host = argv[i];
	cfg.port = (unsigned int)atoi(argv[i + 1]);
	if (argc - i > 2 && strcmp(argv[i + 2], "-"))
		cfg.tls_name = argv[i + 2];
	if (argc - i > 3 && strcmp(argv[i + 3], "-"))
		cfg.cafile = argv[i + 3];

	t = transport_connect(&cfg, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	put32(call, 0x80000000u | 40); /* last fragment, 40 bytes */
	put32(call + 4, xid);
	put32(call + 8, 0);	  /* CALL */
	put32(call + 12, 2);	  /* RPC version */
	put32(call + 16, 100003); /* NFS */
	put32(call + 20, 4);	  /* version 4 */
	put32(call + 24, 0);	  /* NULL */
	put32(call + 28, 0);	  /* cred AUTH_NONE */
	put32(call + 32, 0);
	put32(call + 36, 0); /* verf AUTH_NONE */
	put32(call + 40, 0);
	rc = transport_send2(t, call, 4, call + 4, 40);
	if (rc) {
		fprintf(stderr, "send: %s\n", strerror(-rc));
		goto fail;
	}
	rc = recv_exact(t, hdr, 4);
	if (rc) {
		fprintf(stderr, "no reply: %s\n", rc == -1 ? "connection closed" : strerror(-rc));
		goto fail;
	}
	mark = get32(hdr);
	len = mark & 0x7fffffffu;
	if (!(mark & 0x80000000u) || len < 24 || len > sizeof(reply)) {
		fprintf(stderr, "bad record mark 0x%08x\n", mark);
		goto fail;
	}
	rc = recv_exact(t, reply, len);
	if (rc) {
		fprintf(stderr, "short reply\n");
		goto fail;
	}
	/* xid, REPLY, MSG_ACCEPTED, verf flavor, verf length 0, SUCCESS */
	if (get32(reply) != xid || get32(reply + 4) != 1 || get32(reply + 8) != 0 ||
	    get32(reply + 16) != 0 || get32(reply + 20) != 0) {
		fprintf(stderr, "unexpected reply: xid %08x type %u stat %u accept %u\n",
			get32(reply), get32(reply + 4), get32(reply + 8), get32(reply + 20));
		goto fail;
	}
	printf("NULL reply ok: xid 0x%08x, %u bytes, %s\n", xid, len, cfg.tls ? "tls" : "tcp");
	transport_close(t);
	return 0;
fail:
	transport_close(t);
	return 1;
}
