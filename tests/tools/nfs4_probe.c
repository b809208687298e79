/*
 * nfs4_probe - drive the NFSv4.1 client (no FUSE) against a server:
 *   nfs4_probe HOST PORT /export
 * Establishes a session, looks up the export, creates a file, writes,
 * commits, reads back, lists the directory, removes the file, and destroys
 * the session.  Prints one line per step and exits non-zero on a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nfs4/nfs4_client.h"
#include "nfs4/nfs4_err.h"

static int count_entry(void *arg, const struct nfs4_dirent *e)
{
	(*(int *)arg)++;
	(void)e;
	return 0;
}

#define CHECK(what, expr)                                                                  \
	do {                                                                               \
		int rc_ = (expr);                                                          \
		printf("%-10s %s\n", what, rc_ ? nfs4_err_name(rc_) : "ok");               \
		if (rc_)                                                                   \
			goto out;                                                          \
	} while (0)

int main(int argc, char **argv)
{
	struct nfs4_client_cfg cfg = { 0 };
	struct nfs4_client *c;
	struct nfs4_fh root;
	struct nfs4_attr attr;
	struct nfs4_open_state st;
	struct nfs4_sattr sa = { .set = NFS4_SET_MODE, .mode = 0644 };
	struct rpc_cred cr = { .uid = getuid(), .gid = getgid() };
	char err[512], buf[65536], back[65536];
	uint8_t verf[8], verf2[8];
	uint32_t n, committed;
	bool eof;
	int entries = 0, fail = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: nfs4_probe HOST PORT /export\n");
		return 2;
	}
	cfg.transport.host = argv[1];
	cfg.transport.port = (unsigned)atoi(argv[2]);
	cfg.transport.connect_timeout_ms = 5000;
	cfg.timeo_ds = 100;
	cfg.retrans = 2;
	cfg.owner_id = "nfs4_probe";
	c = nfs4_client_new(&cfg);
	if (!c)
		return 1;
	if (nfs4_client_start(c, err, sizeof(err)) ||
	    nfs4_client_mount(c, argv[3], &root, &attr, err, sizeof(err))) {
		printf("start      %s\n", err);
		goto out;
	}
	printf("mount      ok fileid %llu mode %o rsize %u wsize %u lease %u\n",
	       (unsigned long long)attr.fileid, attr.mode, nfs4_client_rsize(c),
	       nfs4_client_wsize(c), nfs4_client_lease_time(c));
	CHECK("open", nfs4_open_name(c, &cr, &root, "probe.txt", OPEN4_SHARE_ACCESS_BOTH, true,
				     false, &sa, &st, &attr));
	memset(buf, 'x', sizeof(buf));
	CHECK("write", nfs4_write(c, &cr, &st.fh, &st.stateid, 0, buf, sizeof(buf), UNSTABLE4, &n,
				  &committed, verf));
	CHECK("commit", nfs4_commit(c, &cr, &st.fh, 0, 0, verf2));
	CHECK("read", nfs4_read(c, &cr, &st.fh, &st.stateid, 0, sizeof(back), back, &n, &eof));
	printf("readback   %u bytes, %s\n", n, memcmp(buf, back, n) ? "MISMATCH" : "equal");
	CHECK("getattr", nfs4_getattr(c, &cr, &st.fh, &attr));
	printf("size       %llu\n", (unsigned long long)attr.size);
	CHECK("close", nfs4_close(c, &cr, &st));
	memset(verf, 0, sizeof(verf));
	CHECK("readdir", nfs4_readdir(c, &cr, &root, 0, verf, 65536, true, count_entry, &entries,
				      &eof));
	printf("entries    %d eof %d\n", entries, eof);
	CHECK("remove", nfs4_remove(c, &cr, &root, "probe.txt"));
	fail = 0;
out:
	nfs4_client_shutdown(c);
	nfs4_client_free(c);
	return fail;
}
