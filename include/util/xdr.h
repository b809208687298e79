/*
 * xdr.h - one bounded buffer for XDR encoding and decoding (RFC 4506).
 *
 * Contract
 *  - A struct xdr is either an encoder (writes append at len, never past cap)
 *    or a decoder (reads advance pos, never past len).  Every call checks its
 *    bounds and returns 0 or a negative errno; nothing ever reads or writes
 *    outside [buf, buf+cap).
 *      encode overflow        -> -EMSGSIZE
 *      decode past the end    -> -EBADMSG
 *      opaque longer than max -> -EBADMSG
 *  - Items are 4-byte aligned; opaque data is zero-padded on encode and the
 *    padding is skipped (not checked) on decode.
 *  - Decoded opaques and strings are *views* into the buffer, valid while the
 *    buffer lives.  xdr_get_string() copies into a caller buffer and
 *    NUL-terminates.
 *  - Ownership: xdr_alloc()/xdr_free_buf() own a heap buffer; xdr_init_*()
 *    wrap caller memory and own nothing.
 *  - No locking: a struct xdr belongs to one thread at a time.
 */
#ifndef EFS_UTIL_XDR_H
#define EFS_UTIL_XDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xdr {
	uint8_t *buf;
	size_t cap; /* hard cap of the storage */
	size_t len; /* encoder: bytes written; decoder: bytes available */
	size_t pos; /* decoder cursor */
	bool owned; /* buf was allocated by xdr_alloc() */
};

#define XDR_PAD(n) (((n) + 3u) & ~3u)

/* Encoder over heap storage of exactly cap bytes. 0 or -ENOMEM. */
int xdr_alloc(struct xdr *x, size_t cap);
/* Frees storage allocated by xdr_alloc(); safe on a zeroed struct. */
void xdr_free_buf(struct xdr *x);
/* Encoder over caller memory. */
void xdr_init_encode(struct xdr *x, void *buf, size_t cap);
/* Decoder over caller memory holding len valid bytes. */
void xdr_init_decode(struct xdr *x, const void *buf, size_t len);
/* Empty an encoder. */
void xdr_reset(struct xdr *x);
/* Move a decoder back to its first byte. */
void xdr_rewind(struct xdr *x);

int xdr_put_u32(struct xdr *x, uint32_t v);
int xdr_put_u64(struct xdr *x, uint64_t v);
int xdr_put_bool(struct xdr *x, bool v);
/* Fixed-length opaque: len bytes + padding, no length word. */
int xdr_put_fixed(struct xdr *x, const void *p, size_t len);
/* Variable-length opaque: length word, bytes, padding. */
int xdr_put_opaque(struct xdr *x, const void *p, uint32_t len);
/* String: as opaque, from a NUL-terminated C string. */
int xdr_put_string(struct xdr *x, const char *s);
/*
 * Reserve a variable-length opaque of len bytes (length word written, padding
 * zeroed) and return a pointer to where its bytes go, or NULL on overflow.
 */
uint8_t *xdr_reserve_opaque(struct xdr *x, uint32_t len);
/* Byte offset of the next encoded item, for a later xdr_patch_u32(). */
size_t xdr_mark(const struct xdr *x);
/* Overwrite a u32 previously encoded at offset off. */
int xdr_patch_u32(struct xdr *x, size_t off, uint32_t v);

int xdr_get_u32(struct xdr *x, uint32_t *v);
int xdr_get_u64(struct xdr *x, uint64_t *v);
int xdr_get_bool(struct xdr *x, bool *v);
/* Fixed-length opaque view of len bytes (padding skipped). */
int xdr_get_fixed(struct xdr *x, const uint8_t **p, size_t len);
/* Fixed-length opaque copied into out[len]. */
int xdr_get_fixed_copy(struct xdr *x, void *out, size_t len);
/* Variable-length opaque view; -EBADMSG if its length exceeds max. */
int xdr_get_opaque(struct xdr *x, const uint8_t **p, uint32_t *len, uint32_t max);
/*
 * String copied into out (size outsz, NUL-terminated); -EBADMSG if it would
 * not fit or contains a NUL byte.
 */
int xdr_get_string(struct xdr *x, char *out, size_t outsz);
/* Skip n bytes (n is used as is; callers pad themselves). */
int xdr_skip(struct xdr *x, size_t n);
/* Bytes left to decode. */
size_t xdr_remaining(const struct xdr *x);

#endif
