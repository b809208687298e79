/* dns_name.c - dns_name_format expansion; see include/resolve/dns_name.h. */
#include "resolve/dns_name.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int dns_name_is_fs_id(const char *s)
{
	size_t i, n;

	if (!s || strncmp(s, "fs-", 3) != 0)
		return 0;
	n = strlen(s + 3);
	if (n < 8 || n > 40)
		return 0;
	for (i = 3; s[i]; i++)
		if (!(isdigit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int dns_name_is_hostname(const char *s)
{
	size_t n, label = 0;
	const char *p;

	if (!s)
		return 0;
	n = strlen(s);
	if (n && s[n - 1] == '.')
		n--; /* fully qualified */
	if (n == 0 || n > 253)
		return 0;
	for (p = s; p < s + n; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_'))
			return 0;
		if (label == 0 && *p == '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && p[-1] != '-';
}

static int append(char *out, size_t outlen, size_t *pos, const char *s, size_t n)
{
	if (*pos + n >= outlen)
		return -ENAMETOOLONG;
	memcpy(out + *pos, s, n);
	*pos += n;
	out[*pos] = '\0';
	return 0;
}

int dns_name_build(char *out, size_t outlen, const char *format, const struct dns_name_fields *f,
		   char *err, size_t errlen)
{
	bool have_az = f->az && *f->az;
	const char *p = format;
	size_t pos = 0;
	int rc;

	if (outlen == 0)
		return -ENAMETOOLONG;
	out[0] = '\0';
	while (*p) {
		const char *close, *val = NULL;
		size_t flen;

		if (*p != '{') {
			const char *next = strchr(p, '{');
			size_t n = next ? (size_t)(next - p) : strlen(p);

			if (memchr(p, '}', n)) {
				snprintf(err, errlen, "dns_name_format \"%s\": stray '}'", format);
				return -EINVAL;
			}
			rc = append(out, outlen, &pos, p, n);
			if (rc)
				goto toolong;
			p += n;
			continue;
		}
		close = strchr(p, '}');
		if (!close) {
			snprintf(err, errlen, "dns_name_format \"%s\": '{' without '}'", format);
			return -EINVAL;
		}
		flen = (size_t)(close - p - 1);
#define FIELD(name) (flen == sizeof(name) - 1 && memcmp(p + 1, name, flen) == 0)
		if (FIELD("fs_id")) {
			val = f->fs_id;
		} else if (FIELD("region")) {
			val = f->region;
		} else if (FIELD("dns_name_suffix")) {
			val = f->dns_name_suffix;
		} else if (FIELD("az")) {
			if (!have_az && close[1] == '.') {
				/* efs-utils: "{az}." disappears when no az is given */
				p = close + 2;
				continue;
			}
			if (!have_az) {
				snprintf(err, errlen,
					 "dns_name_format \"%s\" needs {az}: give -o az=", format);
				return -EINVAL;
			}
			val = f->az;
		} else {
			snprintf(err, errlen,
				 "dns_name_format \"%s\": unknown field {%.*s}: use "
				 "{fs_id}, {region}, {az} or {dns_name_suffix}",
				 format, (int)flen, p + 1);
			return -EINVAL;
		}
#undef FIELD
		if (!val || !*val) {
			snprintf(err, errlen,
				 "dns_name_format \"%s\" needs {%.*s}, which is not known%s",
				 format, (int)flen, p + 1,
				 flen == 6 ? ": set -o region= or AWS_REGION" : "");
			return -EINVAL;
		}
		rc = append(out, outlen, &pos, val, strlen(val));
		if (rc)
			goto toolong;
		p = close + 1;
	}
	if (!dns_name_is_hostname(out)) {
		snprintf(err, errlen,
			 "dns_name_format \"%s\" gives \"%s\", which is not a DNS name", format,
			 out);
		return -EINVAL;
	}
	return 0;
toolong:
	snprintf(err, errlen, "dns_name_format \"%s\" gives a name longer than %zu bytes", format,
		 outlen - 1);
	return -ENAMETOOLONG;
}
