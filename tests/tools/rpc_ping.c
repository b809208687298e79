/*
 * rpc_ping.c - send NFS (program 100003, version 4) NULL (procedure 0) to
 * HOST PORT with AUTH_SYS and print "ok" when the server accepts it: an
 * interoperability check of rpc/ against a real server (nfs-ganesha).
 *
 *   rpc_ping HOST PORT [COUNT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rpc/rpc_clnt.h"

int main(int argc, char **argv)
{
	struct rpc_clnt_cfg cfg = {0};
	struct rpc_cred cr = {0};
	struct rpc_clnt *c;
	struct rpc_reply rep;
	struct rpc_stats st;
	char err[256];
	long i, count = 1;
	int rc;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s HOST PORT [COUNT]\n", argv[0]);
		return 2;
	}
	if (argc == 4)
		count = strtol(argv[3], NULL, 10);
	cfg.transport.host = argv[1];
	cfg.transport.port = (unsigned int)strtoul(argv[2], NULL, 10);
	cfg.transport.connect_timeout_ms = 5000;
	cfg.prog = 100003;
	cfg.vers = 4;
	cfg.max_record = 1 << 20;
	cfg.machinename = "rpc_ping";
	cr.uid = (uint32_t)getuid();
	cr.gid = (uint32_t)getgid();
	c = rpc_clnt_new(&cfg);
	if (!c) {
		fprintf(stderr, "rpc_ping: out of memory\n");
		return 1;
	}
	rc = rpc_clnt_connect(c, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "rpc_ping: %s\n", err);
		rpc_clnt_free(c);
		return 1;
	}
	for (i = 0; i < count; i++) {
		rc = rpc_clnt_call(c, &cr, 0, NULL, &rep, 10000);
		if (rc) {
			fprintf(stderr, "rpc_ping: NULL call %ld failed: %s\n", i, strerror(-rc));
			rpc_clnt_free(c);
			return 1;
		}
		if (xdr_remaining(&rep.body) != 0) {
			fprintf(stderr, "rpc_ping: NULL reply carries %zu unexpected bytes\n",
				xdr_remaining(&rep.body));
			rpc_reply_free(&rep);
			rpc_clnt_free(c);
			return 1;
		}
		rpc_reply_free(&rep);
	}
	rpc_clnt_get_stats(c, &st);
	rpc_clnt_free(c);
	if (count > 1)
		fprintf(stderr, "rpc_ping: %llu calls, %llu replies\n",
			(unsigned long long)st.calls, (unsigned long long)st.replies);
	printf("ok\n");
	return 0;
}
