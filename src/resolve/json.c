/* json.c - bounded JSON reader; see include/resolve/json.h. */
#include "resolve/json.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct parser {
	struct json_doc *d;
	size_t pos;
};

static void skip_ws(struct parser *p)
{
	while (p->pos < p->d->len) {
		char c = p->d->text[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int new_tok(struct parser *p, enum json_type type, unsigned int *idx)
{
	struct json_tok *t;

	if (p->d->ntoks >= p->d->cap)
		return -E2BIG;
	*idx = p->d->ntoks++;
	t = &p->d->toks[*idx];
	t->type = type;
	t->start = (unsigned int)p->pos;
	t->end = t->start;
	t->next = *idx + 1;
	t->count = 0;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_string(struct parser *p)
{
	const char *s = p->d->text;
	unsigned int idx;
	int rc, i;

	/* at the opening quote */
	p->pos++;
	rc = new_tok(p, JSON_STRING, &idx);
	if (rc)
		return rc;
	while (p->pos < p->d->len) {
		unsigned char c = (unsigned char)s[p->pos];

		if (c == '"') {
			p->d->toks[idx].end = (unsigned int)p->pos;
			p->pos++;
			return 0;
		}
		if (c < 0x20)
			return -EBADMSG;
		if (c == '\\') {
			if (++p->pos >= p->d->len)
				return -EBADMSG;
			switch (s[p->pos]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				break;
			case 'u':
				if (p->d->len - p->pos < 5)
					return -EBADMSG;
				for (i = 1; i <= 4; i++)
					if (hexval(s[p->pos + (size_t)i]) < 0)
						return -EBADMSG;
				p->pos += 4;
				break;
			default:
				return -EBADMSG;
			}
		}
		p->pos++;
	}
	return -EBADMSG;
}

static int parse_number(struct parser *p)
{
	const char *s = p->d->text;
	size_t n = p->d->len, start = p->pos;
	unsigned int idx;
	int rc;

	rc = new_tok(p, JSON_NUMBER, &idx);
	if (rc)
		return rc;
	if (p->pos < n && s[p->pos] == '-')
		p->pos++;
	if (p->pos >= n)
		return -EBADMSG;
	if (s[p->pos] == '0') {
		p->pos++;
	} else if (s[p->pos] >= '1' && s[p->pos] <= '9') {
		while (p->pos < n && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	} else {
		return -EBADMSG;
	}
	if (p->pos < n && s[p->pos] == '.') {
		p->pos++;
		if (p->pos >= n || s[p->pos] < '0' || s[p->pos] > '9')
			return -EBADMSG;
		while (p->pos < n && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	}
	if (p->pos < n && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < n && (s[p->pos] == '+' || s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= n || s[p->pos] < '0' || s[p->pos] > '9')
			return -EBADMSG;
		while (p->pos < n && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	}
	p->d->toks[idx].start = (unsigned int)start;
	p->d->toks[idx].end = (unsigned int)p->pos;
	return 0;
}

static int parse_literal(struct parser *p, const char *lit, enum json_type type)
{
	size_t n = strlen(lit);
	unsigned int idx;
	int rc;

	if (p->d->len - p->pos < n || memcmp(p->d->text + p->pos, lit, n) != 0)
		return -EBADMSG;
	rc = new_tok(p, type, &idx);
	if (rc)
		return rc;
	p->pos += n;
	p->d->toks[idx].end = (unsigned int)p->pos;
	return 0;
}

static int parse_value(struct parser *p, unsigned int depth);

static int parse_container(struct parser *p, unsigned int depth, bool is_obj)
{
	char close = is_obj ? '}' : ']';
	unsigned int idx;
	int rc;

	if (depth >= JSON_MAX_DEPTH)
		return -E2BIG;
	rc = new_tok(p, is_obj ? JSON_OBJECT : JSON_ARRAY, &idx);
	if (rc)
		return rc;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->d->len && p->d->text[p->pos] == close) {
		p->pos++;
		goto done;
	}
	for (;;) {
		skip_ws(p);
		if (p->pos >= p->d->len)
			return -EBADMSG;
		if (is_obj) {
			if (p->d->text[p->pos] != '"')
				return -EBADMSG;
			rc = parse_string(p);
			if (rc)
				return rc;
			skip_ws(p);
			if (p->pos >= p->d->len || p->d->text[p->pos] != ':')
				return -EBADMSG;
			p->pos++;
		}
		rc = parse_value(p, depth + 1);
		if (rc)
			return rc;
		p->d->toks[idx].count++;
		skip_ws(p);
		if (p->pos >= p->d->len)
			return -EBADMSG;
		if (p->d->text[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->d->text[p->pos] == close) {
			p->pos++;
			break;
		}
		return -EBADMSG;
	}
done:
	p->d->toks[idx].end = (unsigned int)p->pos;
	p->d->toks[idx].next = p->d->ntoks;
	return 0;
}

static int parse_value(struct parser *p, unsigned int depth)
{
	skip_ws(p);
	if (p->pos >= p->d->len)
		return -EBADMSG;
	switch (p->d->text[p->pos]) {
	case '{':
		return parse_container(p, depth, true);
	case '[':
		return parse_container(p, depth, false);
	case '"':
		return parse_string(p);
	case 't':
		return parse_literal(p, "true", JSON_TRUE);
	case 'f':
		return parse_literal(p, "false", JSON_FALSE);
	case 'n':
		return parse_literal(p, "null", JSON_NULL);
	default:
		return parse_number(p);
	}
}

int json_parse(struct json_doc *d, const char *text, size_t len, struct json_tok *toks,
	       unsigned int cap)
{
	struct parser p = {.d = d, .pos = 0};
	int rc;

	d->text = text;
	d->len = len;
	d->toks = toks;
	d->ntoks = 0;
	d->cap = cap;
	if (len > JSON_MAX_TEXT)
		return -E2BIG;
	if (memchr(text, '\0', len))
		return -EBADMSG;
	rc = parse_value(&p, 0);
	if (rc)
		return rc;
	skip_ws(&p);
	return p.pos == len ? 0 : -EBADMSG;
}

static int put_utf8(char *out, size_t outlen, size_t *o, uint32_t cp)
{
	unsigned char b[4];
	size_t n, i;

	if (cp == 0)
		return -EINVAL;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (*o + n >= outlen)
		return -E2BIG;
	for (i = 0; i < n; i++)
		out[(*o)++] = (char)b[i];
	return 0;
}

static uint32_t hex4(const char *s)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = (v << 4) | (uint32_t)hexval(s[i]);
	return v;
}

int json_string_copy(const struct json_doc *d, unsigned int tok, char *out, size_t outlen)
{
	const struct json_tok *t;
	size_t i, o = 0;
	int rc;

	if (outlen == 0)
		return -E2BIG;
	out[0] = '\0';
	if (tok >= d->ntoks || d->toks[tok].type != JSON_STRING)
		return -EINVAL;
	t = &d->toks[tok];
	for (i = t->start; i < t->end; i++) {
		char c = d->text[i];
		uint32_t cp;

		if (c != '\\') {
			if (o + 1 >= outlen)
				return -E2BIG;
			out[o++] = c;
			continue;
		}
		c = d->text[++i]; /* json_parse() guaranteed a valid escape */
		switch (c) {
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u':
			cp = hex4(d->text + i + 1);
			i += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < t->end &&
			    d->text[i + 1] == '\\' && d->text[i + 2] == 'u') {
				uint32_t lo = hex4(d->text + i + 3);

				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				}
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd; /* lone surrogate */
			rc = put_utf8(out, outlen, &o, cp);
			if (rc)
				return rc;
			continue;
		default:
			break; /* '"', '\\', '/' stand for themselves */
		}
		if (o + 1 >= outlen)
			return -E2BIG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int json_object_get(const struct json_doc *d, unsigned int obj, const char *key)
{
	unsigned int i, k;
	char name[128];

	if (obj >= d->ntoks || d->toks[obj].type != JSON_OBJECT)
		return -EINVAL;
	k = obj + 1;
	for (i = 0; i < d->toks[obj].count; i++) {
		unsigned int v = k + 1;

		if (json_string_copy(d, k, name, sizeof(name)) == 0 && strcmp(name, key) == 0)
			return (int)v;
		k = d->toks[v].next;
	}
	return -ENOENT;
}

int json_array_item(const struct json_doc *d, unsigned int arr, unsigned int i)
{
	unsigned int k, n;

	if (arr >= d->ntoks || d->toks[arr].type != JSON_ARRAY)
		return -EINVAL;
	if (i >= d->toks[arr].count)
		return -ENOENT;
	k = arr + 1;
	for (n = 0; n < i; n++)
		k = d->toks[k].next;
	return (int)k;
}

int json_get_string(const struct json_doc *d, unsigned int obj, const char *key, char *out,
		    size_t outlen)
{
	int v = json_object_get(d, obj, key);

	if (v < 0) {
		if (outlen)
			out[0] = '\0';
		return v;
	}
	return json_string_copy(d, (unsigned int)v, out, outlen);
}
