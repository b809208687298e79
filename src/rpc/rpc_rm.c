/*
 * rpc_rm.c - record marking for ONC RPC over a byte stream (RFC 5531
 * section 11): a record is one or more fragments, each preceded by a 4-byte
 * big-endian header whose top bit marks the last fragment and whose low 31
 * bits give the fragment length.  See include/rpc/rpc_clnt.h.
 *
 * The reader reassembles records fed in arbitrary pieces and refuses any
 * record whose total length would exceed max_record (-EMSGSIZE): the caller
 * then drops the connection, since the stream can no longer be trusted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "rpc/rpc_clnt.h"

void rpc_rm_put_header(uint8_t hdr[4], uint32_t len, bool last)
{
	uint32_t v = (len & ~RPC_RM_LAST) | (last ? RPC_RM_LAST : 0);

	hdr[0] = v >> 24;
	hdr[1] = v >> 16;
	hdr[2] = v >> 8;
	hdr[3] = v;
}

void rpc_rm_reader_init(struct rpc_rm_reader *r, size_t max_record)
{
	memset(r, 0, sizeof(*r));
	r->max_record = max_record;
}

void rpc_rm_reader_fini(struct rpc_rm_reader *r)
{
	free(r->rec);
	rpc_rm_reader_init(r, r->max_record);
}

/* A whole record is assembled and waits for rpc_rm_reader_take(). */
static bool rm_ready(const struct rpc_rm_reader *r)
{
	return r->last && !r->in_frag;
}

/* Make room for the fragment just announced (bounded by max_record). */
static int rm_reserve(struct rpc_rm_reader *r, size_t need)
{
	size_t ncap;
	uint8_t *p;

	if (need <= r->cap)
		return 0;
	ncap = r->cap ? r->cap : 4096;
	while (ncap < need)
		ncap *= 2;
	if (ncap > r->max_record)
		ncap = r->max_record > need ? r->max_record : need;
	p = realloc(r->rec, ncap);
	if (!p)
		return -ENOMEM;
	r->rec = p;
	r->cap = ncap;
	return 0;
}

ssize_t rpc_rm_reader_feed(struct rpc_rm_reader *r, const uint8_t *p, size_t n, bool *done)
{
	size_t used = 0;

	*done = false;
	if (rm_ready(r)) {
		*done = true;
		return 0;
	}
	while (used < n) {
		if (!r->in_frag) {
			uint32_t v;
			int rc;

			r->hdr[r->hdr_have++] = p[used++];
			if (r->hdr_have < 4)
				continue;
			r->hdr_have = 0;
			v = (uint32_t)r->hdr[0] << 24 | (uint32_t)r->hdr[1] << 16 |
			    (uint32_t)r->hdr[2] << 8 | r->hdr[3];
			r->last = (v & RPC_RM_LAST) != 0;
			r->frag_left = v & ~RPC_RM_LAST;
			if (r->frag_left > r->max_record || r->len > r->max_record - r->frag_left)
				return -EMSGSIZE;
			rc = rm_reserve(r, r->len + r->frag_left);
			if (rc)
				return rc;
			r->in_frag = true;
		} else {
			size_t k = n - used;

			if (k > r->frag_left)
				k = r->frag_left;
			memcpy(r->rec + r->len, p + used, k);
			r->len += k;
			r->frag_left -= k;
			used += k;
		}
		if (r->in_frag && r->frag_left == 0) {
			r->in_frag = false;
			if (r->last) {
				*done = true;
				break;
			}
		}
	}
	return (ssize_t)used;
}

uint8_t *rpc_rm_reader_direct(struct rpc_rm_reader *r, size_t *room)
{
	*room = 0;
	if (!r->in_frag || r->frag_left == 0)
		return NULL;
	*room = r->frag_left;
	return r->rec + r->len;
}

void rpc_rm_reader_commit(struct rpc_rm_reader *r, size_t n, bool *done)
{
	*done = false;
	if (!r->in_frag)
		return;
	if (n > r->frag_left)
		n = r->frag_left;
	r->len += n;
	r->frag_left -= (uint32_t)n;
	if (r->frag_left == 0) {
		r->in_frag = false;
		*done = r->last;
	}
}

uint8_t *rpc_rm_reader_take(struct rpc_rm_reader *r, size_t *len)
{
	uint8_t *rec;

	*len = 0;
	if (!rm_ready(r))
		return NULL;
	rec = r->rec ? r->rec : malloc(1);
	if (!rec)
		return NULL;
	*len = r->len;
	r->rec = NULL;
	rpc_rm_reader_init(r, r->max_record);
	return rec;
}
