/* xdr.c - bounded XDR buffer; see include/util/xdr.h for the contract. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "util/xdr.h"

/*
 * Length rounded up to a multiple of 4, or 0 when that would not fit a
 * size_t.  XDR_PAD() masks with an unsigned int, so it must not be used on
 * lengths near UINT32_MAX or on a size_t.
 */
static size_t pad4(size_t n)
{
	size_t r = n + ((4 - (n & 3)) & 3);

	return r < n ? 0 : r;
}

int xdr_alloc(struct xdr *x, size_t cap)
{
	memset(x, 0, sizeof(*x));
	x->buf = malloc(cap ? cap : 1);
	if (!x->buf)
		return -ENOMEM;
	x->cap = cap;
	x->owned = true;
	return 0;
}

void xdr_free_buf(struct xdr *x)
{
	if (x->owned)
		free(x->buf);
	memset(x, 0, sizeof(*x));
}

void xdr_init_encode(struct xdr *x, void *buf, size_t cap)
{
	memset(x, 0, sizeof(*x));
	x->buf = buf;
	x->cap = cap;
}

void xdr_init_decode(struct xdr *x, const void *buf, size_t len)
{
	memset(x, 0, sizeof(*x));
	x->buf = (uint8_t *)buf;
	x->cap = len;
	x->len = len;
}

void xdr_reset(struct xdr *x)
{
	x->len = 0;
	x->pos = 0;
}

void xdr_rewind(struct xdr *x)
{
	x->pos = 0;
}

static uint8_t *put_space(struct xdr *x, size_t n)
{
	uint8_t *p;

	if (n > x->cap || x->len > x->cap - n)
		return NULL;
	p = x->buf + x->len;
	x->len += n;
	return p;
}

int xdr_put_u32(struct xdr *x, uint32_t v)
{
	uint8_t *p = put_space(x, 4);

	if (!p)
		return -EMSGSIZE;
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
	return 0;
}

int xdr_put_u64(struct xdr *x, uint64_t v)
{
	if (x->len > x->cap || x->cap - x->len < 8)
		return -EMSGSIZE;
	xdr_put_u32(x, (uint32_t)(v >> 32));
	return xdr_put_u32(x, (uint32_t)v);
}

int xdr_put_bool(struct xdr *x, bool v)
{
	return xdr_put_u32(x, v ? 1 : 0);
}

int xdr_put_fixed(struct xdr *x, const void *src, size_t len)
{
	size_t padded = pad4(len);
	uint8_t *p;

	if (padded < len)
		return -EMSGSIZE;
	p = put_space(x, padded);
	if (!p)
		return -EMSGSIZE;
	if (len)
		memcpy(p, src, len);
	memset(p + len, 0, padded - len);
	return 0;
}

int xdr_put_opaque(struct xdr *x, const void *src, uint32_t len)
{
	uint8_t *p = xdr_reserve_opaque(x, len);

	if (!p)
		return -EMSGSIZE;
	if (len)
		memcpy(p, src, len);
	return 0;
}

int xdr_put_string(struct xdr *x, const char *s)
{
	size_t n = strlen(s);

	if (n > UINT32_MAX)
		return -EMSGSIZE;
	return xdr_put_opaque(x, s, (uint32_t)n);
}

uint8_t *xdr_reserve_opaque(struct xdr *x, uint32_t len)
{
	size_t padded = pad4(len);
	size_t start = x->len;
	uint8_t *p;

	if (padded < len || xdr_put_u32(x, len))
		return NULL;
	p = put_space(x, padded);
	if (!p) {
		x->len = start;
		return NULL;
	}
	memset(p + len, 0, padded - len);
	return p;
}

size_t xdr_mark(const struct xdr *x)
{
	return x->len;
}

int xdr_patch_u32(struct xdr *x, size_t off, uint32_t v)
{
	uint8_t *p;

	if (off > x->len || x->len - off < 4)
		return -EMSGSIZE;
	p = x->buf + off;
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
	return 0;
}

static const uint8_t *get_space(struct xdr *x, size_t n)
{
	const uint8_t *p;

	if (x->pos > x->len || n > x->len - x->pos)
		return NULL;
	p = x->buf + x->pos;
	x->pos += n;
	return p;
}

int xdr_get_u32(struct xdr *x, uint32_t *v)
{
	const uint8_t *p = get_space(x, 4);

	if (!p)
		return -EBADMSG;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return 0;
}

int xdr_get_u64(struct xdr *x, uint64_t *v)
{
	uint32_t hi, lo;

	if (xdr_remaining(x) < 8)
		return -EBADMSG;
	xdr_get_u32(x, &hi);
	xdr_get_u32(x, &lo);
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int xdr_get_bool(struct xdr *x, bool *v)
{
	uint32_t u;
	int rc = xdr_get_u32(x, &u);

	if (rc)
		return rc;
	if (u > 1)
		return -EBADMSG;
	*v = u;
	return 0;
}

int xdr_get_fixed(struct xdr *x, const uint8_t **p, size_t len)
{
	size_t padded = pad4(len);
	const uint8_t *q;

	if (padded < len)
		return -EBADMSG;
	q = get_space(x, padded);
	if (!q)
		return -EBADMSG;
	*p = q;
	return 0;
}

int xdr_get_fixed_copy(struct xdr *x, void *out, size_t len)
{
	const uint8_t *p;
	int rc = xdr_get_fixed(x, &p, len);

	if (rc)
		return rc;
	if (len)
		memcpy(out, p, len);
	return 0;
}

int xdr_get_opaque(struct xdr *x, const uint8_t **p, uint32_t *len, uint32_t max)
{
	size_t save = x->pos;
	uint32_t n;
	int rc = xdr_get_u32(x, &n);

	if (rc)
		return rc;
	if (n > max || xdr_get_fixed(x, p, n)) {
		x->pos = save;
		return -EBADMSG;
	}
	*len = n;
	return 0;
}

int xdr_get_string(struct xdr *x, char *out, size_t outsz)
{
	const uint8_t *p;
	uint32_t n;
	size_t save = x->pos;
	int rc;

	if (outsz == 0)
		return -EBADMSG;
	rc = xdr_get_opaque(x, &p, &n, (uint32_t)(outsz - 1 > UINT32_MAX ? UINT32_MAX : outsz - 1));
	if (rc)
		return rc;
	if (n && memchr(p, 0, n)) {
		x->pos = save;
		return -EBADMSG;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int xdr_skip(struct xdr *x, size_t n)
{
	return get_space(x, n) ? 0 : -EBADMSG;
}

size_t xdr_remaining(const struct xdr *x)
{
	return x->pos <= x->len ? x->len - x->pos : 0;
}
