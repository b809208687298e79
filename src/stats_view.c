/*
 * stats_view.c - `efs-fuse stats`: rates and totals from the stats xattr;
 * see include/stats_view.h.
 */
#include "config.h"

#include "stats_view.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define XATTR	"user.efs-fuse.stats"
#define TEXTMAX 65536

int stats_view_parse(const char *text, size_t len, struct stats_sample *s)
{
	size_t i = 0;

	s->n = 0;
	while (i < len) {
		char line[160], *sp, *end;
		size_t j = 0;
		unsigned long long v;

		while (i < len && text[i] != '\n' && j + 1 < sizeof(line))
			line[j++] = text[i++];
		while (i < len && text[i] != '\n')
			i++; /* an overlong line: cut */
		i++;
		line[j] = '\0';
		if (j == 0 || line[0] == '\0')
			continue;
		sp = strchr(line, ' ');
		if (!sp || sp == line || (size_t)(sp - line) >= sizeof(s->e[0].key))
			return -EINVAL;
		*sp = '\0';
		if (sp[1] < '0' || sp[1] > '9')
			return -EINVAL;
		errno = 0;
		v = strtoull(sp + 1, &end, 10);
		if (errno || end == sp + 1 || *end)
			return -EINVAL;
		if (s->n == STATS_VIEW_MAX_KEYS)
			continue;
		memcpy(s->e[s->n].key, line, (size_t)(sp - line) + 1); /* checked above */
		s->e[s->n].v = v;
		s->n++;
	}
	return 0;
}

uint64_t stats_view_get(const struct stats_sample *s, const char *key, int *found)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->e[i].key, key)) {
			if (found)
				*found = 1;
			return s->e[i].v;
		}
	if (found)
		*found = 0;
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static bool is_gauge(const char *key)
{
	return !strcmp(key, "wb.used_bytes") || !strcmp(key, "wb.peak_bytes") ||
	       !strcmp(key, "cache.dir_names") || ends_with(key, ".p50_us") ||
	       ends_with(key, ".p99_us");
}

static int sample(const char *mp, struct stats_sample *s, char *err, size_t errlen)
{
	char *text = malloc(TEXTMAX);
	ssize_t n;
	int rc;

	if (!text)
		return -ENOMEM;
	n = getxattr(mp, XATTR, text, TEXTMAX);
	if (n < 0) {
		rc = -errno;
		if (rc == -ENODATA || rc == -ENOTSUP)
			snprintf(err, errlen, "%s has no %s attribute: is it an efs-fuse mount?",
				 mp, XATTR);
		else
			snprintf(err, errlen, "reading %s of %s: %s", XATTR, mp, strerror(-rc));
		free(text);
		return rc;
	}
	rc = stats_view_parse(text, (size_t)n, s);
	if (rc)
		snprintf(err, errlen, "%s of %s is not \"key number\" lines", XATTR, mp);
	free(text);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double rate(const struct stats_sample *a, const struct stats_sample *b, const char *key,
		   double dt)
{
	uint64_t x = stats_view_get(a, key, NULL), y = stats_view_get(b, key, NULL);

	return dt > 0 && y >= x ? (double)(y - x) / dt : 0.0;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		if ((unsigned char)*s >= 0x20)
			putchar(*s);
	}
	putchar('"');
}

static void print_json(const char *mp, const struct stats_sample *a, const struct stats_sample *b,
		       double dt)
{
	printf("{\"mountpoint\": ");
	json_string(mp);
	printf(", \"interval_s\": %.3f, \"counters\": {", dt);
	for (size_t i = 0; i < b->n; i++) {
		printf("%s", i ? ", " : "");
		json_string(b->e[i].key);
		printf(": %llu", (unsigned long long)b->e[i].v);
	}
	printf("}");
	if (a) {
		bool first = true;

		printf(", \"rates\": {");
		for (size_t i = 0; i < b->n; i++) {
			if (is_gauge(b->e[i].key))
				continue;
			printf("%s", first ? "" : ", ");
			first = false;
			json_string(b->e[i].key);
			printf(": %.3f", rate(a, b, b->e[i].key, dt));
		}
		printf("}");
	}
	printf("}\n");
}

static void human_bytes(double v, char *buf, size_t len)
{
	const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* One section: keys with prefix, rows with activity first. */
static void print_ops(const char *title, const char *prefix, const struct stats_sample *a,
		      const struct stats_sample *b, double dt)
{
	struct row {
		const char *name;
		double rate;
		uint64_t total;
		double mean_us;
		uint64_t p50, p99;
		bool lat;
	} rows[STATS_VIEW_MAX_KEYS];
	size_t nr = 0, plen = strlen(prefix);

	for (size_t i = 0; i < b->n; i++) {
		const char *k = b->e[i].key;
		char lk[160];
		int have_count, have_sum, have_p;
		uint64_t c0, c1, s0, s1;
		struct row *r;

		if (strncmp(k, prefix, plen) || b->e[i].v == 0)
			continue;
		r = &rows[nr++];
		memset(r, 0, sizeof(*r));
		r->name = k + plen;
		r->total = b->e[i].v;
		r->rate = rate(a, b, k, dt);
		snprintf(lk, sizeof(lk), "latency.%s.count", k);
		c1 = stats_view_get(b, lk, &have_count);
		c0 = stats_view_get(a, lk, NULL);
		snprintf(lk, sizeof(lk), "latency.%s.sum_us", k);
		s1 = stats_view_get(b, lk, &have_sum);
		s0 = stats_view_get(a, lk, NULL);
		if (have_count && have_sum && c1 > c0) {
			r->lat = true;
			r->mean_us = (double)(s1 - s0) / (double)(c1 - c0);
		}
		snprintf(lk, sizeof(lk), "latency.%s.p50_us", k);
		r->p50 = stats_view_get(b, lk, &have_p);
		r->lat |= have_p != 0;
		snprintf(lk, sizeof(lk), "latency.%s.p99_us", k);
		r->p99 = stats_view_get(b, lk, NULL);
	}
	/* busiest first (insertion sort: a few dozen rows) */
	for (size_t i = 1; i < nr; i++)
		for (size_t j = i; j > 0 && rows[j].rate > rows[j - 1].rate; j--) {
			struct row t = rows[j];

			rows[j] = rows[j - 1];
			rows[j - 1] = t;
		}
	printf("%-22s %10s %12s %10s %8s %8s\n", title, "ops/s", "total", "mean_ms", "p50_ms",
	       "p99_ms");
	for (size_t i = 0; i < nr; i++) {
		struct row *r = &rows[i];

		if (r->lat)
			printf("  %-20s %10.1f %12llu %10.3f %8.3f %8.3f\n", r->name, r->rate,
			       (unsigned long long)r->total, r->mean_us / 1000.0, r->p50 / 1000.0,
			       r->p99 / 1000.0);
		else
			printf("  %-20s %10.1f %12llu %10s %8s %8s\n", r->name, r->rate,
			       (unsigned long long)r->total, "-", "-", "-");
	}
	if (nr == 0)
		printf("  (none yet)\n");
}

/*
 * Cache hit rates over the interval for every PREFIX.hits / PREFIX.misses
 * pair the daemon exports (e.g. cache.attr.hits, cache.attr.misses).
 */
static void print_hit_rates(const struct stats_sample *a, const struct stats_sample *b)
{
	bool any = false;

	for (size_t i = 0; i < b->n; i++) {
		const char *k = b->e[i].key;
		char base[64], mk[80];
		size_t n = strlen(k);
		uint64_t h, m;
		int found;

		if (n < 5 || strcmp(k + n - 5, ".hits") != 0)
			continue;
		snprintf(base, sizeof(base), "%.*s", (int)(n - 5), k);
		snprintf(mk, sizeof(mk), "%s.misses", base);
		m = stats_view_get(b, mk, &found) - stats_view_get(a, mk, NULL);
		if (!found)
			continue;
		h = b->e[i].v - stats_view_get(a, k, NULL);
		printf("%s%s %.0f%%", any ? "  " : "cache hits:", base,
		       h + m ? 100.0 * (double)h / (double)(h + m) : 100.0);
		any = true;
	}
	if (any)
		printf("\n\n");
}

static void print_screen(const char *mp, const struct stats_sample *a, const struct stats_sample *b,
			 double dt, bool tty)
{
	char t[64], in[32], out[32], wr[32], used[32], peak[32];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(t, sizeof(t), "%H:%M:%S", &tm);
	if (tty)
		printf("\033[H\033[J");
	human_bytes(rate(a, b, "rpc.bytes_in", dt), in, sizeof(in));
	human_bytes(rate(a, b, "rpc.bytes_out", dt), out, sizeof(out));
	human_bytes(rate(a, b, "wb.write_bytes", dt), wr, sizeof(wr));
	human_bytes((double)stats_view_get(b, "wb.used_bytes", NULL), used, sizeof(used));
	human_bytes((double)stats_view_get(b, "wb.peak_bytes", NULL), peak, sizeof(peak));
	printf("efs-fuse stats %s  %s  every %.1f s\n", mp, t, dt);
	printf("network: in %s/s  out %s/s  rpc %.1f/s  retries %.1f/s  reconnects %llu\n", in, out,
	       rate(a, b, "rpc.calls", dt), rate(a, b, "retries", dt),
	       (unsigned long long)stats_view_get(b, "rpc.reconnects", NULL));
	printf("write-back: written %s/s  commits %.1f/s  resends %.1f/s  dirty %s (peak %s)\n", wr,
	       rate(a, b, "wb.commits", dt), rate(a, b, "wb.resends", dt), used, peak);
	printf("round trips: %.1f/s  (%.1f ops/s inside them)  cached names %llu\n\n",
	       rate(a, b, "compounds", dt), rate(a, b, "ops", dt),
	       (unsigned long long)stats_view_get(b, "cache.dir_names", NULL));
	print_hit_rates(a, b);
	print_ops("NFS operations", "proc.", a, b, dt);
	printf("\n");
	print_ops("FUSE operations", "fuse.", a, b, dt);
	fflush(stdout);
}

static int usage(void)
{
	fprintf(stderr, "usage: efs-fuse stats MOUNTPOINT [INTERVAL] [--json] [--count N]\n");
	return 1;
}

static void sleep_s(double s)
{
	struct timespec ts = {.tv_sec = (time_t)s,
			      .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int stats_view_main(int argc, char **argv)
{
	static struct stats_sample s[2];
	const char *mp = NULL;
	double interval = -1, t0, t1;
	long count = -1;
	bool json = false;
	char err[512];
	int cur = 0;

	for (int i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			count = strtol(argv[++i], &end, 10);
			if (*end || count < 1)
				return usage();
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage();
			return 0;
		} else if (!mp) {
			mp = argv[i];
		} else if (interval < 0) {
			interval = strtod(argv[i], &end);
			if (*end || interval < 0.1 || interval > 3600)
				return usage();
		} else {
			return usage();
		}
	}
	if (!mp)
		return usage();
	if (sample(mp, &s[0], err, sizeof(err))) {
		fprintf(stderr, "efs-fuse stats: %s\n", err);
		return 2;
	}
	t0 = now_s();
	if (json && interval < 0) {
		print_json(mp, NULL, &s[0], 0);
		return 0;
	}
	if (interval < 0)
		interval = 1;
	for (long n = 0; count < 0 || n < count; n++) {
		sleep_s(interval);
		if (sample(mp, &s[!cur], err, sizeof(err))) {
			fprintf(stderr, "efs-fuse stats: %s\n", err);
			return 2;
		}
		t1 = now_s();
		if (json) {
			print_json(mp, &s[cur], &s[!cur], t1 - t0);
			return 0;
		}
		print_screen(mp, &s[cur], &s[!cur], t1 - t0, isatty(STDOUT_FILENO));
		cur = !cur;
		t0 = t1;
	}
	return 0;
}
