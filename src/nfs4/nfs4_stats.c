/*
 * nfs4_stats.c - names of the procedure ids and quantiles of the latency
 * histograms in struct nfs4_stats (include/nfs4/nfs4_client.h); no state,
 * so fs/ and its tests can use them without the client.
 */
#include "nfs4/nfs4_client.h"

static const char *const proc_names[NFS4_PROC_ID_MAX] = {
	[NFS4_PROC_ID_NULL] = "NULL",	      [NFS4_PROC_ID_LOOKUP] = "LOOKUP",
	[NFS4_PROC_ID_GETATTR] = "GETATTR",   [NFS4_PROC_ID_SETATTR] = "SETATTR",
	[NFS4_PROC_ID_ACCESS] = "ACCESS",     [NFS4_PROC_ID_READLINK] = "READLINK",
	[NFS4_PROC_ID_CREATE] = "CREATE",     [NFS4_PROC_ID_REMOVE] = "REMOVE",
	[NFS4_PROC_ID_RENAME] = "RENAME",     [NFS4_PROC_ID_LINK] = "LINK",
	[NFS4_PROC_ID_OPEN] = "OPEN",	      [NFS4_PROC_ID_CLOSE] = "CLOSE",
	[NFS4_PROC_ID_READ] = "READ",	      [NFS4_PROC_ID_WRITE] = "WRITE",
	[NFS4_PROC_ID_COMMIT] = "COMMIT",     [NFS4_PROC_ID_READDIR] = "READDIR",
	[NFS4_PROC_ID_STATFS] = "STATFS",     [NFS4_PROC_ID_LOCK] = "LOCK",
	[NFS4_PROC_ID_LOCKT] = "LOCKT",	      [NFS4_PROC_ID_LOCKU] = "LOCKU",
	[NFS4_PROC_ID_SEQUENCE] = "SEQUENCE", [NFS4_PROC_ID_SESSION] = "SESSION",
};

const char *nfs4_proc_name(enum nfs4_proc_id id)
{
	return (unsigned int)id < NFS4_PROC_ID_MAX && proc_names[id] ? proc_names[id] : "?";
}

uint64_t nfs4_stats_quantile_us(const struct nfs4_stats *st, enum nfs4_proc_id id, double q)
{
	uint64_t n = 0, want, seen = 0;
	unsigned int k;

	if ((unsigned int)id >= NFS4_PROC_ID_MAX)
		return 0;
	for (k = 0; k < NFS4_LAT_BUCKETS; k++)
		n += st->lat_hist[id][k];
	if (!n)
		return 0;
	want = (uint64_t)(q * (double)n + 0.5);
	if (want < 1)
		want = 1;
	for (k = 0; k < NFS4_LAT_BUCKETS; k++) {
		seen += st->lat_hist[id][k];
		if (seen >= want)
			break;
	}
	return (uint64_t)2 << (k < NFS4_LAT_BUCKETS ? k : NFS4_LAT_BUCKETS - 1);
}
