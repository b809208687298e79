/*
 * resolve_cli - test driver for resolve_mount_target(): resolves a SOURCE the
 * way efs-fuse does and prints the result, without mounting anything.
 *
 *   resolve_cli [--fs-id ID] [--host H] [--mounttargetip IP] [--region R]
 *               [--az AZ] [--dnsserver S] [--awsprofile P] [--tls] [-v]
 *
 * Success: exit 0, one line "addr=IP tls_name=NAME region=R how=dns|ip|efs-api
 * mount_target=ID" on stdout.  Failure: exit 1, "error(-ERRNO): MESSAGE" on
 * stdout (the one-line user message) - tests read both.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolve/resolve.h"
#include "util/log.h"

static const char *how_name(enum resolve_how h)
{
	switch (h) {
	case RESOLVE_BY_IP:
		return "ip";
	case RESOLVE_BY_DNS:
		return "dns";
	case RESOLVE_BY_EFS_API:
		return "efs-api";
	}
	return "?";
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"fs-id", required_argument, NULL, 'f'},
		{"host", required_argument, NULL, 'H'},
		{"mounttargetip", required_argument, NULL, 'm'},
		{"region", required_argument, NULL, 'r'},
		{"az", required_argument, NULL, 'a'},
		{"dnsserver", required_argument, NULL, 'd'},
		{"awsprofile", required_argument, NULL, 'p'},
		{"tls", no_argument, NULL, 't'},
		{"verbose", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	struct resolve_req req = {0};
	struct resolve_result res;
	char err[2048];
	int c, rc;

	efs_log_set_level(EFS_LOG_WARN);
	while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			req.fs_id = optarg;
			break;
		case 'H':
			req.host = optarg;
			break;
		case 'm':
			req.mounttargetip = optarg;
			break;
		case 'r':
			req.region = optarg;
			break;
		case 'a':
			req.az = optarg;
			break;
		case 'd':
			req.dnsserver = optarg;
			break;
		case 'p':
			req.awsprofile = optarg;
			break;
		case 't':
			req.tls = true;
			break;
		case 'v':
			efs_log_set_level(EFS_LOG_DEBUG);
			break;
		default:
			fprintf(stderr,
				"usage: %s [--fs-id ID] [--host H] [--mounttargetip IP] "
				"[--region R] [--az AZ] [--dnsserver S] [--awsprofile P] [--tls] "
				"[-v]\n",
				argv[0]);
			return 2;
		}
	}
	if (resolve_global_init() != 0) {
		fprintf(stderr, "resolve_cli: cannot initialise libcurl\n");
		return 2;
	}
	rc = resolve_mount_target(&req, &res, err, sizeof(err));
	if (rc == 0)
		printf("addr=%s tls_name=%s region=%s how=%s mount_target=%s\n", res.addr,
		       res.tls_name, res.region[0] ? res.region : "-", how_name(res.how),
		       res.mount_target_id[0] ? res.mount_target_id : "-");
	else
		printf("error(%d): %s\n", rc, err);
	resolve_global_cleanup();
	return rc == 0 ? 0 : 1;
}
