/*
 * nfs4_xdr_ops.c - file handle, name, attribute, open-state, data and
 * directory operations (RFC 8881 section 18; XDR from RFC 5662).  See
 * include/nfs4/nfs4_xdr.h for the contract.
 */
#include <errno.h>
#include <string.h>
#include "nfs4/nfs4_xdr.h"
#include "nfs4_xdr_int.h"

/* limit_by4 (nfs_space_limit4) */
#define NFS_LIMIT_SIZE	 1
#define NFS_LIMIT_BLOCKS 2
/* why_no_delegation4 arms that carry a bool */
#define WND4_CONTENTION 1
#define WND4_RESOURCE	2

static int enc_void(struct xdr *x, uint32_t op)
{
	return nfs4_xdr_enc_op(x, op);
}

static int enc_name_op(struct xdr *x, uint32_t op, const char *name)
{
	if (!name)
		return -EINVAL;
	if (nfs4_xdr_enc_op(x, op) || nfs4_xdr_enc_name(x, name))
		return -EMSGSIZE;
	return 0;
}

static int enc_stateid_op(struct xdr *x, uint32_t op, const struct nfs4_stateid *sid)
{
	if (nfs4_xdr_enc_op(x, op) || nfs4_xdr_enc_stateid(x, sid))
		return -EMSGSIZE;
	return 0;
}

/* change_info4: atomic, before, after; ci NULL skips it. */
static int dec_cinfo(struct xdr *x, struct nfs4_change_info *ci)
{
	uint32_t atomic;

	if (!ci)
		return nfs4_xdr_skip_change_info(x) ? -EBADMSG : 0;
	if (xdr_get_u32(x, &atomic) || xdr_get_u64(x, &ci->before) || xdr_get_u64(x, &ci->after))
		return -EBADMSG;
	ci->atomic = atomic != 0;
	return 0;
}

/* An operation whose result carries one change_info4. */
static int dec_cinfo_op_ci(struct xdr *x, uint32_t op, struct nfs4_change_info *ci)
{
	int rc = nfs4_xdr_dec_op(x, op);

	if (rc)
		return rc;
	return dec_cinfo(x, ci);
}

static int dec_cinfo_op(struct xdr *x, uint32_t op)
{
	return dec_cinfo_op_ci(x, op, NULL);
}

/* ---- file handles ---- */

int nfs4_enc_putfh(struct xdr *x, const struct nfs4_fh *fh)
{
	if (fh->len == 0 || fh->len > NFS4_FHSIZE)
		return -EINVAL;
	if (nfs4_xdr_enc_op(x, OP_PUTFH) || xdr_put_opaque(x, fh->data, fh->len))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_putfh(struct xdr *x)
{
	return nfs4_xdr_dec_op(x, OP_PUTFH);
}

int nfs4_enc_putrootfh(struct xdr *x)
{
	return enc_void(x, OP_PUTROOTFH);
}

int nfs4_dec_putrootfh(struct xdr *x)
{
	return nfs4_xdr_dec_op(x, OP_PUTROOTFH);
}

int nfs4_enc_getfh(struct xdr *x)
{
	return enc_void(x, OP_GETFH);
}

int nfs4_dec_getfh(struct xdr *x, struct nfs4_fh *fh)
{
	const uint8_t *p;
	uint32_t n;
	int rc;

	fh->len = 0;
	rc = nfs4_xdr_dec_op(x, OP_GETFH);
	if (rc)
		return rc;
	if (xdr_get_opaque(x, &p, &n, NFS4_FHSIZE) || n == 0)
		return -EBADMSG;
	memcpy(fh->data, p, n);
	fh->len = n;
	return 0;
}

int nfs4_enc_savefh(struct xdr *x)
{
	return enc_void(x, OP_SAVEFH);
}

int nfs4_dec_savefh(struct xdr *x)
{
	return nfs4_xdr_dec_op(x, OP_SAVEFH);
}

int nfs4_enc_restorefh(struct xdr *x)
{
	return enc_void(x, OP_RESTOREFH);
}

int nfs4_dec_restorefh(struct xdr *x)
{
	return nfs4_xdr_dec_op(x, OP_RESTOREFH);
}

/* ---- names ---- */

int nfs4_enc_lookup(struct xdr *x, const char *name)
{
	return enc_name_op(x, OP_LOOKUP, name);
}

int nfs4_dec_lookup(struct xdr *x)
{
	return nfs4_xdr_dec_op(x, OP_LOOKUP);
}

int nfs4_enc_lookupp(struct xdr *x)
{
	return enc_void(x, OP_LOOKUPP);
}

int nfs4_dec_lookupp(struct xdr *x)
{
	return nfs4_xdr_dec_op(x, OP_LOOKUPP);
}

int nfs4_enc_remove(struct xdr *x, const char *name)
{
	return enc_name_op(x, OP_REMOVE, name);
}

int nfs4_dec_remove(struct xdr *x)
{
	return dec_cinfo_op(x, OP_REMOVE);
}

int nfs4_dec_remove_ci(struct xdr *x, struct nfs4_change_info *ci)
{
	return dec_cinfo_op_ci(x, OP_REMOVE, ci);
}

int nfs4_enc_rename(struct xdr *x, const char *oldname, const char *newname)
{
	if (!oldname || !newname)
		return -EINVAL;
	if (nfs4_xdr_enc_op(x, OP_RENAME) || nfs4_xdr_enc_name(x, oldname) ||
	    nfs4_xdr_enc_name(x, newname))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_rename(struct xdr *x)
{
	return nfs4_dec_rename_ci(x, NULL, NULL);
}

int nfs4_dec_rename_ci(struct xdr *x, struct nfs4_change_info *src, struct nfs4_change_info *dst)
{
	int rc = nfs4_xdr_dec_op(x, OP_RENAME);

	if (rc)
		return rc;
	/* source_cinfo, target_cinfo */
	if (dec_cinfo(x, src) || dec_cinfo(x, dst))
		return -EBADMSG;
	return 0;
}

int nfs4_enc_link(struct xdr *x, const char *newname)
{
	return enc_name_op(x, OP_LINK, newname);
}

int nfs4_dec_link(struct xdr *x)
{
	return dec_cinfo_op(x, OP_LINK);
}

int nfs4_dec_link_ci(struct xdr *x, struct nfs4_change_info *ci)
{
	return dec_cinfo_op_ci(x, OP_LINK, ci);
}

int nfs4_enc_create(struct xdr *x, const struct nfs4_create_args *a)
{
	if (!a->name || (a->type == NF4LNK && !a->linkdata))
		return -EINVAL;
	switch (a->type) {
	case NF4DIR:
	case NF4LNK:
	case NF4BLK:
	case NF4CHR:
	case NF4SOCK:
	case NF4FIFO:
		break;
	default:
		return -EINVAL;
	}
	if (nfs4_xdr_enc_op(x, OP_CREATE) || xdr_put_u32(x, a->type))
		return -EMSGSIZE;
	if (a->type == NF4LNK && xdr_put_string(x, a->linkdata))
		return -EMSGSIZE;
	if ((a->type == NF4BLK || a->type == NF4CHR) &&
	    (xdr_put_u32(x, a->major) || xdr_put_u32(x, a->minor)))
		return -EMSGSIZE;
	if (nfs4_xdr_enc_name(x, a->name) || nfs4_enc_fattr(x, a->sattr))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_create(struct xdr *x)
{
	return nfs4_dec_create_ci(x, NULL);
}

int nfs4_dec_create_ci(struct xdr *x, struct nfs4_change_info *ci)
{
	int rc = dec_cinfo_op_ci(x, OP_CREATE, ci);

	if (rc)
		return rc;
	return nfs4_xdr_skip_bitmap(x); /* attrset */
}

int nfs4_enc_readlink(struct xdr *x)
{
	return enc_void(x, OP_READLINK);
}

int nfs4_dec_readlink(struct xdr *x, char *buf, size_t bufsz)
{
	int rc;

	if (bufsz)
		buf[0] = '\0';
	rc = nfs4_xdr_dec_op(x, OP_READLINK);
	if (rc)
		return rc;
	return xdr_get_string(x, buf, bufsz) ? -EBADMSG : 0;
}

/* ---- attributes ---- */

int nfs4_enc_getattr(struct xdr *x, const struct nfs4_bitmap *bm)
{
	if (nfs4_xdr_enc_op(x, OP_GETATTR) || nfs4_enc_bitmap(x, bm))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_getattr(struct xdr *x, struct nfs4_attr *a)
{
	int rc;

	memset(a, 0, sizeof(*a));
	rc = nfs4_xdr_dec_op(x, OP_GETATTR);
	if (rc)
		return rc;
	return nfs4_dec_fattr(x, a);
}

int nfs4_enc_setattr(struct xdr *x, const struct nfs4_stateid *sid, const struct nfs4_sattr *sa)
{
	if (nfs4_xdr_enc_op(x, OP_SETATTR) || nfs4_xdr_enc_stateid(x, sid) || nfs4_enc_fattr(x, sa))
		return -EMSGSIZE;
	return 0;
}

/* SETATTR4res carries attrsset on every status. */
int nfs4_dec_setattr(struct xdr *x)
{
	int rc = nfs4_xdr_dec_op(x, OP_SETATTR);

	if (rc == -EBADMSG)
		return rc;
	if (nfs4_xdr_skip_bitmap(x))
		return -EBADMSG;
	return rc;
}

int nfs4_enc_access(struct xdr *x, uint32_t access)
{
	if (nfs4_xdr_enc_op(x, OP_ACCESS) || xdr_put_u32(x, access))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_access(struct xdr *x, uint32_t *supported, uint32_t *access)
{
	int rc;

	*supported = 0;
	*access = 0;
	rc = nfs4_xdr_dec_op(x, OP_ACCESS);
	if (rc)
		return rc;
	if (xdr_get_u32(x, supported) || xdr_get_u32(x, access))
		return -EBADMSG;
	return 0;
}

/* ---- open state ---- */

static int enc_openhow(struct xdr *x, const struct nfs4_open_args *a)
{
	if (xdr_put_u32(x, a->opentype))
		return -EMSGSIZE;
	if (a->opentype == OPEN4_NOCREATE)
		return 0;
	if (a->opentype != OPEN4_CREATE)
		return -EINVAL;
	if (xdr_put_u32(x, a->createmode))
		return -EMSGSIZE;
	switch (a->createmode) {
	case UNCHECKED4:
	case GUARDED4:
		return nfs4_enc_fattr(x, a->sattr);
	case EXCLUSIVE4:
		return xdr_put_fixed(x, a->verifier, NFS4_VERIFIER_SIZE);
	case EXCLUSIVE4_1:
		if (xdr_put_fixed(x, a->verifier, NFS4_VERIFIER_SIZE))
			return -EMSGSIZE;
		return nfs4_enc_fattr(x, a->sattr);
	default:
		return -EINVAL;
	}
}

static int enc_claim(struct xdr *x, const struct nfs4_open_args *a)
{
	if (a->claim == CLAIM_NULL && !a->name)
		return -EINVAL;
	if (xdr_put_u32(x, a->claim))
		return -EMSGSIZE;
	switch (a->claim) {
	case CLAIM_NULL:
		return nfs4_xdr_enc_name(x, a->name);
	case CLAIM_PREVIOUS:
		return xdr_put_u32(x, a->delegate_type);
	case CLAIM_FH:
		return 0;
	default:
		return -EINVAL;
	}
}

int nfs4_enc_open(struct xdr *x, const struct nfs4_open_args *a)
{
	int rc;

	if (a->owner_len > NFS4_OPAQUE_LIMIT || (a->owner_len && !a->owner))
		return -EINVAL;
	if (nfs4_xdr_enc_op(x, OP_OPEN) || xdr_put_u32(x, 0) /* seqid: unused in 4.1 */ ||
	    xdr_put_u32(x, a->share_access) || xdr_put_u32(x, a->share_deny) ||
	    xdr_put_u64(x, a->clientid) || xdr_put_opaque(x, a->owner, a->owner_len))
		return -EMSGSIZE;
	rc = enc_openhow(x, a);
	if (rc)
		return rc;
	return enc_claim(x, a);
}

/* open_delegation4: type and stateid kept, the rest checked and skipped. */
static int dec_delegation(struct xdr *x, struct nfs4_open_res *r)
{
	uint32_t why, limitby;

	if (xdr_get_u32(x, &r->delegation_type))
		return -EBADMSG;
	switch (r->delegation_type) {
	case OPEN_DELEGATE_NONE:
		return 0;
	case OPEN_DELEGATE_READ: /* stateid, recall, permissions */
		if (nfs4_xdr_dec_stateid(x, &r->delegation_stateid) || xdr_skip(x, 4) ||
		    nfs4_xdr_skip_ace(x))
			return -EBADMSG;
		return 0;
	case OPEN_DELEGATE_WRITE: /* stateid, recall, space_limit, permissions */
		if (nfs4_xdr_dec_stateid(x, &r->delegation_stateid) || xdr_skip(x, 4) ||
		    xdr_get_u32(x, &limitby))
			return -EBADMSG;
		/* NFS_LIMIT_SIZE: filesize; NFS_LIMIT_BLOCKS: num_blocks, bytes_per_block */
		if ((limitby != NFS_LIMIT_SIZE && limitby != NFS_LIMIT_BLOCKS) || xdr_skip(x, 8) ||
		    nfs4_xdr_skip_ace(x))
			return -EBADMSG;
		return 0;
	case OPEN_DELEGATE_NONE_EXT:
		if (xdr_get_u32(x, &why))
			return -EBADMSG;
		if ((why == WND4_CONTENTION || why == WND4_RESOURCE) && xdr_skip(x, 4))
			return -EBADMSG;
		return 0;
	default:
		return -EBADMSG;
	}
}

int nfs4_dec_open(struct xdr *x, struct nfs4_open_res *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc = nfs4_xdr_dec_op(x, OP_OPEN);
	if (rc)
		return rc;
	/* stateid, cinfo, rflags, attrset, delegation */
	if (nfs4_xdr_dec_stateid(x, &r->stateid) || dec_cinfo(x, &r->cinfo) ||
	    xdr_get_u32(x, &r->rflags) || nfs4_xdr_skip_bitmap(x))
		return -EBADMSG;
	return dec_delegation(x, r);
}

int nfs4_enc_close(struct xdr *x, const struct nfs4_stateid *sid)
{
	if (nfs4_xdr_enc_op(x, OP_CLOSE) || xdr_put_u32(x, 0) /* seqid */ ||
	    nfs4_xdr_enc_stateid(x, sid))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_close(struct xdr *x, struct nfs4_stateid *sid)
{
	int rc = nfs4_xdr_dec_op(x, OP_CLOSE);

	if (rc)
		return rc;
	return nfs4_xdr_dec_stateid(x, sid);
}

int nfs4_enc_open_downgrade(struct xdr *x, const struct nfs4_stateid *sid, uint32_t share_access)
{
	if (nfs4_xdr_enc_op(x, OP_OPEN_DOWNGRADE) || nfs4_xdr_enc_stateid(x, sid) ||
	    xdr_put_u32(x, 0) /* seqid */ || xdr_put_u32(x, share_access) ||
	    xdr_put_u32(x, OPEN4_SHARE_DENY_NONE))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_open_downgrade(struct xdr *x, struct nfs4_stateid *sid)
{
	int rc = nfs4_xdr_dec_op(x, OP_OPEN_DOWNGRADE);

	if (rc)
		return rc;
	return nfs4_xdr_dec_stateid(x, sid);
}

int nfs4_enc_test_stateid(struct xdr *x, const struct nfs4_stateid *sid)
{
	if (nfs4_xdr_enc_op(x, OP_TEST_STATEID) || xdr_put_u32(x, 1) ||
	    nfs4_xdr_enc_stateid(x, sid))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_test_stateid(struct xdr *x, uint32_t *status)
{
	uint32_t n;
	int rc = nfs4_xdr_dec_op(x, OP_TEST_STATEID);

	if (rc)
		return rc;
	if (xdr_get_u32(x, &n) || n != 1 || xdr_get_u32(x, status))
		return -EBADMSG;
	return 0;
}

int nfs4_enc_delegreturn(struct xdr *x, const struct nfs4_stateid *sid)
{
	return enc_stateid_op(x, OP_DELEGRETURN, sid);
}

int nfs4_dec_delegreturn(struct xdr *x)
{
	return nfs4_xdr_dec_op(x, OP_DELEGRETURN);
}

int nfs4_enc_free_stateid(struct xdr *x, const struct nfs4_stateid *sid)
{
	return enc_stateid_op(x, OP_FREE_STATEID, sid);
}

int nfs4_dec_free_stateid(struct xdr *x)
{
	return nfs4_xdr_dec_op(x, OP_FREE_STATEID);
}

/* ---- data ---- */

int nfs4_enc_read(struct xdr *x, const struct nfs4_stateid *sid, uint64_t offset, uint32_t count)
{
	if (nfs4_xdr_enc_op(x, OP_READ) || nfs4_xdr_enc_stateid(x, sid) || xdr_put_u64(x, offset) ||
	    xdr_put_u32(x, count))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_read(struct xdr *x, bool *eof, const uint8_t **data, uint32_t *len, uint32_t maxlen)
{
	int rc;

	*eof = false;
	*data = NULL;
	*len = 0;
	rc = nfs4_xdr_dec_op(x, OP_READ);
	if (rc)
		return rc;
	if (xdr_get_bool(x, eof) || xdr_get_opaque(x, data, len, maxlen))
		return -EBADMSG;
	return 0;
}

int nfs4_enc_write(struct xdr *x, const struct nfs4_stateid *sid, uint64_t offset, uint32_t stable,
		   const void *data, uint32_t len)
{
	if (len && !data)
		return -EINVAL;
	if (nfs4_xdr_enc_op(x, OP_WRITE) || nfs4_xdr_enc_stateid(x, sid) ||
	    xdr_put_u64(x, offset) || xdr_put_u32(x, stable) || xdr_put_opaque(x, data, len))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_write(struct xdr *x, uint32_t *count, uint32_t *committed,
		   uint8_t verf[NFS4_VERIFIER_SIZE])
{
	int rc;

	*count = 0;
	*committed = 0;
	rc = nfs4_xdr_dec_op(x, OP_WRITE);
	if (rc)
		return rc;
	if (xdr_get_u32(x, count) || xdr_get_u32(x, committed) ||
	    xdr_get_fixed_copy(x, verf, NFS4_VERIFIER_SIZE))
		return -EBADMSG;
	return 0;
}

int nfs4_enc_commit(struct xdr *x, uint64_t offset, uint32_t count)
{
	if (nfs4_xdr_enc_op(x, OP_COMMIT) || xdr_put_u64(x, offset) || xdr_put_u32(x, count))
		return -EMSGSIZE;
	return 0;
}

int nfs4_dec_commit(struct xdr *x, uint8_t verf[NFS4_VERIFIER_SIZE])
{
	int rc = nfs4_xdr_dec_op(x, OP_COMMIT);

	if (rc)
		return rc;
	return xdr_get_fixed_copy(x, verf, NFS4_VERIFIER_SIZE) ? -EBADMSG : 0;
}

/* ---- directories ---- */

int nfs4_enc_readdir(struct xdr *x, uint64_t cookie, const uint8_t verf[NFS4_VERIFIER_SIZE],
		     uint32_t dircount, uint32_t maxcount, const struct nfs4_bitmap *bm)
{
	static const uint8_t zero[NFS4_VERIFIER_SIZE];

	if (nfs4_xdr_enc_op(x, OP_READDIR) || xdr_put_u64(x, cookie) ||
	    xdr_put_fixed(x, verf ? verf : zero, NFS4_VERIFIER_SIZE) || xdr_put_u32(x, dircount) ||
	    xdr_put_u32(x, maxcount) || nfs4_enc_bitmap(x, bm))
		return -EMSGSIZE;
	return 0;
}

/*
 * A directory entry name: 1..255 bytes, no NUL and no '/' (a server that
 * sends one is broken or hostile; FUSE would refuse it anyway).
 */
static int dec_entry_name(struct xdr *x, char name[NFS4_XDR_NAME_MAX + 1], uint32_t *len)
{
	const uint8_t *p;
	uint32_t n;

	if (xdr_get_opaque(x, &p, &n, NFS4_XDR_NAME_MAX) || n == 0 || memchr(p, '\0', n) ||
	    memchr(p, '/', n))
		return -EBADMSG;
	memcpy(name, p, n);
	name[n] = '\0';
	*len = n;
	return 0;
}

/*
 * dirlist4: entries, then eof.  With cb NULL the list is only checked; the
 * caller decodes twice so that a malformed reply delivers no entry at all.
 */
static int dec_dirlist(struct xdr *x, nfs4_dirent_cb cb, void *arg, bool *eof)
{
	char name[NFS4_XDR_NAME_MAX + 1];
	struct nfs4_dirent e;
	bool more;
	int rc;

	for (;;) {
		if (xdr_get_bool(x, &more))
			return -EBADMSG;
		if (!more)
			break;
		memset(&e, 0, sizeof(e));
		if (xdr_get_u64(x, &e.cookie) || dec_entry_name(x, name, &e.namelen) ||
		    nfs4_dec_fattr(x, &e.attr))
			return -EBADMSG;
		e.name = name;
		if (cb) {
			rc = cb(arg, &e);
			if (rc)
				return rc;
		}
	}
	return xdr_get_bool(x, eof) ? -EBADMSG : 0;
}

int nfs4_dec_readdir(struct xdr *x, uint8_t verf[NFS4_VERIFIER_SIZE], nfs4_dirent_cb cb, void *arg,
		     bool *eof)
{
	size_t list;
	int rc;

	*eof = false;
	rc = nfs4_xdr_dec_op(x, OP_READDIR);
	if (rc)
		return rc;
	if (xdr_get_fixed_copy(x, verf, NFS4_VERIFIER_SIZE))
		return -EBADMSG;
	list = x->pos;
	rc = dec_dirlist(x, NULL, NULL, eof);
	if (rc || !cb)
		return rc;
	x->pos = list;
	return dec_dirlist(x, cb, arg, eof);
}
