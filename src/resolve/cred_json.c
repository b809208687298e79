/* cred_json.c - credentials documents and their timestamps; see include/resolve/cred_sources.h. */
#include "resolve/cred_sources.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -EINVAL;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 0;
}

static int expect(const char **p, char ch)
{
	if (**p != ch)
		return -EINVAL;
	(*p)++;
	return 0;
}

int cred_parse_time(const char *s, time_t *out)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p = s;

	if (digits(&p, 4, &y) || expect(&p, '-') || digits(&p, 2, &mo) || expect(&p, '-') ||
	    digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return -EINVAL;
	p++;
	if (digits(&p, 2, &h) || expect(&p, ':') || digits(&p, 2, &mi) || expect(&p, ':') ||
	    digits(&p, 2, &sec))
		return -EINVAL;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if (digits(&p, 2, &oh) || expect(&p, ':') || digits(&p, 2, &om))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm) - sign * (oh * 3600 + om * 60);
	return 0;
}

static int get_expiration(const struct json_doc *d, unsigned int obj, time_t *out)
{
	int i = json_object_get(d, obj, "Expiration");
	char buf[64];

	*out = 0;
	if (i == -ENOENT)
		return 0;
	if (i < 0)
		return i;
	if (d->toks[i].type == JSON_NUMBER) {
		size_t n = d->toks[i].end - d->toks[i].start;
		char *end;
		double v;

		if (n >= sizeof(buf))
			return -EBADMSG;
		memcpy(buf, d->text + d->toks[i].start, n);
		buf[n] = '\0';
		v = strtod(buf, &end);
		if (*end || v < 0 || v > 1e11)
			return -EBADMSG;
		*out = (time_t)v;
		return 0;
	}
	if (d->toks[i].type == JSON_NULL)
		return 0;
	if (json_string_copy(d, (unsigned int)i, buf, sizeof(buf)) || cred_parse_time(buf, out))
		return -EBADMSG;
	return 0;
}

int cred_from_json(const struct json_doc *d, unsigned int obj, const char *token_key,
		   int token_required, struct aws_credentials *c)
{
	int rc;

	c->session_token[0] = '\0';
	if (json_get_string(d, obj, "AccessKeyId", c->access_key_id, sizeof(c->access_key_id)) ||
	    json_get_string(d, obj, "SecretAccessKey", c->secret_access_key,
			    sizeof(c->secret_access_key)) ||
	    !c->access_key_id[0] || !c->secret_access_key[0])
		return -EBADMSG;
	rc = json_get_string(d, obj, token_key, c->session_token, sizeof(c->session_token));
	if (rc && (rc != -ENOENT || token_required))
		return -EBADMSG;
	if (get_expiration(d, obj, &c->expiration))
		return -EBADMSG;
	return 0;
}
