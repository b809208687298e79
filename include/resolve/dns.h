/*
 * dns.h - name -> address with c-ares (A and AAAA), bounded in time.
 * <ares.h> is included only in src/resolve/dns.c.
 *
 * Contract
 *  - dns_lookup() makes its own c-ares channel per call: thread-safe, no
 *    shared state.  It waits at most timeout_ms in all.
 *  - server: NULL/"" = the system resolver (/etc/resolv.conf, and /etc/hosts
 *    first); else "IP[:PORT]" or "[IPv6]:PORT", comma-separated for several,
 *    DNS only.
 *  - fqdn: do not apply resolv.conf search domains (names we built).
 *  - On success addr holds the first IPv4 address, else the first IPv6 one,
 *    numeric.
 *  - Errors (err says the name tried and the server asked):
 *      -ENOENT     no such name (NXDOMAIN) or no address records
 *      -ETIMEDOUT  no answer in time
 *      -ECONNREFUSED / -EHOSTUNREACH  the server could not be asked
 *      -EINVAL     bad server spec
 *      -EIO        anything else
 */
#ifndef EFS_RESOLVE_DNS_H
#define EFS_RESOLVE_DNS_H

#include <stdbool.h>
#include <stddef.h>

int dns_lookup(const char *name, const char *server, bool fqdn, unsigned int timeout_ms, char *addr,
	       size_t addrlen, char *err, size_t errlen);

/* True when s is a numeric IPv4 or IPv6 address (brackets not allowed). */
bool dns_is_numeric(const char *s);

#endif
