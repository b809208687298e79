/*
 * stats_view.h - `efs-fuse stats MOUNTPOINT [INTERVAL] [--json] [--count N]`:
 * a live, top-like view of one mount, from the user.efs-fuse.stats
 * extended attribute (the machine interface, efs-fuse(8) STATISTICS).
 *
 * The attribute is "key value\n" lines of unsigned integers.  Counters only
 * grow; the viewer shows their rate per second over INTERVAL (default 1 s)
 * and their total.  Gauges (wb.used_bytes, wb.peak_bytes, cache.dir_names,
 * *.p50_us, *.p99_us) are shown as they are.  Latency, when the daemon keeps
 * it, is latency.NAME.count / latency.NAME.sum_us (mean over the interval)
 * and latency.NAME.p50_us / .p99_us, NAME being a proc.X or fuse.x key.
 * Cache hit rates are shown for every PREFIX.hits / PREFIX.misses pair.
 *
 * --json prints one sample as a JSON object and exits: "counters" (every
 * key), and with INTERVAL also "rates" (per second over that interval).
 *
 * Contract: stats_view_main(argc, argv) with argv[0] == "stats"; returns the
 * process exit status (0, 1 usage, 2 the mount has no statistics).  The
 * sample parser is exposed for the unit test.
 */
#ifndef EFS_STATS_VIEW_H
#define EFS_STATS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#define STATS_VIEW_MAX_KEYS 256

struct stats_sample {
	size_t n;
	struct {
		char key[64];
		uint64_t v;
	} e[STATS_VIEW_MAX_KEYS];
};

/* Parse the xattr text; 0 or -EINVAL (a line that is not "key number"). */
int stats_view_parse(const char *text, size_t len, struct stats_sample *s);
/* The value of key, or 0 when absent (*found says which). */
uint64_t stats_view_get(const struct stats_sample *s, const char *key, int *found);
int stats_view_main(int argc, char **argv);

#endif
