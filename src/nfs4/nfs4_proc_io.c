/*
 * nfs4_proc_io.c - open state, data and directory procedures: OPEN/CLOSE
 * (RFC 8881 sections 18.16, 18.2), READ/WRITE/COMMIT (18.22, 18.32, 18.3),
 * READDIR (18.23); the open and lock state itself is nfs4_state.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "nfs4_client_int.h"
#include "nfs4/nfs4_err.h"
#include "util/log.h"

#define SMALL_ARGS 2048

void nfs4_make_owner(uint8_t out[NFS4_OWNER_LEN], const char tag[4], uint64_t id, uint64_t id2)
{
	int i;

	memcpy(out, tag, 4);
	for (i = 0; i < 8; i++) {
		out[4 + i] = (uint8_t)(id >> (56 - 8 * i));
		out[12 + i] = (uint8_t)(id2 >> (56 - 8 * i));
	}
}

uint64_t nfs4_clientid_of(struct nfs4_client *c)
{
	uint64_t id;

	pthread_mutex_lock(&c->lock);
	id = c->clientid;
	pthread_mutex_unlock(&c->lock);
	return id;
}

bool nfs4_stateid_error(int rc)
{
	return rc == -NFS4ERR_STALE_STATEID || rc == -NFS4ERR_BAD_STATEID ||
	       rc == -NFS4ERR_EXPIRED || rc == -NFS4ERR_ADMIN_REVOKED ||
	       rc == -NFS4ERR_DELEG_REVOKED;
}

static void return_delegation(struct nfs4_client *c, const struct rpc_cred *cr,
			      const struct nfs4_fh *fh, const struct nfs4_open_res *r)
{
	struct nfs4_compound cp;
	int rc;

	if (r->delegation_type != OPEN_DELEGATE_READ && r->delegation_type != OPEN_DELEGATE_WRITE)
		return;
	/* We have no back channel to honour a recall: give it back at once. */
	if (nfs4_compound_init(&cp, c, NFS4_PROC_ID_CLOSE, SMALL_ARGS, false))
		return;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_delegreturn(&cp.args, &r->delegation_stateid));
	if (!rc)
		rc = nfs4_compound_run(&cp, cr);
	nfs4_compound_fini(&cp);
}

int nfs4_do_open(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *start,
		 struct nfs4_open_args *a, bool machine, struct nfs4_open_state *st,
		 struct nfs4_attr *attr, bool *resent)
{
	struct nfs4_compound cp;
	struct nfs4_open_res r;
	int rc;

	a->clientid = nfs4_clientid_of(c);
	a->share_access |= OPEN4_SHARE_ACCESS_WANT_NO_DELEG;
	rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_OPEN, SMALL_ARGS, false);
	if (rc)
		return rc;
	cp.machine = machine;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, start));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_open(&cp.args, a));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_getfh(&cp.args));
	if (!rc && attr)
		rc = nfs4_compound_op(&cp, nfs4_enc_getattr(&cp.args, &nfs4_bitmap_stat));
	if (!rc)
		rc = nfs4_compound_run(&cp, cr);
	if (!rc)
		rc = nfs4_dec_putfh(cp.res);
	if (!rc)
		rc = nfs4_dec_open(cp.res, &r);
	if (!rc)
		rc = nfs4_dec_getfh(cp.res, &st->fh);
	if (!rc && attr)
		rc = nfs4_dec_getattr(cp.res, attr);
	if (resent)
		*resent = cp.resent;
	nfs4_compound_fini(&cp);
	if (rc)
		return rc;
	st->stateid = r.stateid;
	st->have_cinfo = a->claim == CLAIM_NULL;
	st->cinfo = r.cinfo;
	st->share_access = a->share_access & OPEN4_SHARE_ACCESS_BOTH;
	return_delegation(c, cr, &st->fh, &r);
	return 0;
}

static int do_open(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *start,
		   struct nfs4_open_args *a, struct nfs4_open_state *st, struct nfs4_attr *attr)
{
	uint8_t owner[NFS4_OWNER_LEN];
	uint64_t id = atomic_fetch_add(&c->next_owner, 1);
	int rc;

	nfs4_make_owner(owner, "efso", id, 0);
	a->owner = owner;
	a->owner_len = sizeof(owner);
	rc = nfs4_do_open(c, cr, start, a, false, st, attr, NULL);
	if (!rc)
		st->owner_id = id;
	return rc;
}

int nfs4_open_name(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		   const char *name, uint32_t share_access, bool create, bool exclusive,
		   const struct nfs4_sattr *sa, struct nfs4_open_state *st, struct nfs4_attr *attr)
{
	struct nfs4_open_args a = {
		.share_access = share_access,
		.share_deny = OPEN4_SHARE_DENY_NONE,
		.opentype = create ? OPEN4_CREATE : OPEN4_NOCREATE,
		.createmode = exclusive ? GUARDED4 : UNCHECKED4,
		.sattr = sa,
		.claim = CLAIM_NULL,
		.name = name,
	};

	return do_open(c, cr, dir, &a, st, attr);
}

int nfs4_close(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open_state *st)
{
	struct nfs4_compound cp;
	int rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_CLOSE, SMALL_ARGS, false);

	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, &st->fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_close(&cp.args, &st->stateid));
	if (!rc)
		rc = nfs4_compound_run(&cp, cr);
	if (!rc)
		rc = nfs4_dec_putfh(cp.res);
	if (!rc)
		rc = nfs4_dec_close(cp.res, &st->stateid);
	nfs4_compound_fini(&cp);
	/* State the server no longer knows is closed as far as we care. */
	return nfs4_stateid_error(rc) ? 0 : rc;
}

int nfs4_read_rec(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		  const struct nfs4_stateid *sid, uint64_t off, uint32_t count, void **rec,
		  const uint8_t **data, uint32_t *got, bool *eof)
{
	struct nfs4_compound cp;
	int rc;

	*rec = NULL;
	*data = NULL;
	*got = 0;
	if (count > c->rsize)
		count = c->rsize;
	rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_READ, SMALL_ARGS, true);
	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_read(&cp.args, sid, off, count));
	if (!rc)
		rc = nfs4_compound_run(&cp, cr);
	if (!rc)
		rc = nfs4_dec_putfh(cp.res);
	if (!rc)
		rc = nfs4_dec_read(cp.res, eof, data, got, count);
	if (!rc) {
		*rec = cp.rep.buf; /* *data points into it */
		cp.rep.buf = NULL;
	} else {
		*data = NULL;
		*got = 0;
	}
	nfs4_compound_fini(&cp);
	return rc;
}

int nfs4_read(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
	      const struct nfs4_stateid *sid, uint64_t off, uint32_t count, void *buf,
	      uint32_t *got, bool *eof)
{
	const uint8_t *data;
	void *rec;
	int rc;

	/* A refused stateid is the caller's to recover (nfs4_state.h), never
	 * swapped for the anonymous one behind its back. */
	rc = nfs4_read_rec(c, cr, fh, sid, off, count, &rec, &data, got, eof);
	if (!rc && *got)
		memcpy(buf, data, *got);
	free(rec);
	return rc;
}

static int write_once(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		      const struct nfs4_stateid *sid, uint64_t off, const void *buf, uint32_t len,
		      uint32_t stable, uint32_t *written, uint32_t *committed, uint8_t *verf)
{
	struct nfs4_compound cp;
	int rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_WRITE, SMALL_ARGS + len, false);

	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_write(&cp.args, sid, off, stable, buf, len));
	if (!rc)
		rc = nfs4_compound_run(&cp, cr);
	if (!rc)
		rc = nfs4_dec_putfh(cp.res);
	if (!rc)
		rc = nfs4_dec_write(cp.res, written, committed, verf);
	nfs4_compound_fini(&cp);
	if (!rc && *written > len)
		rc = -EBADMSG;
	return rc;
}

int nfs4_write(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
	       const struct nfs4_stateid *sid, uint64_t off, const void *buf, uint32_t len,
	       uint32_t stable, uint32_t *written, uint32_t *committed,
	       uint8_t verf[NFS4_VERIFIER_SIZE])
{
	if (len > c->wsize)
		len = c->wsize;
	/*
	 * A refused stateid is returned as is: the state layer
	 * (nfs4_write_open) recovers the open or reports the loss of its
	 * locks; the anonymous stateid would write behind them.
	 */
	return write_once(c, cr, fh, sid, off, buf, len, stable, written, committed, verf);
}

int nfs4_commit(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		uint64_t off, uint32_t count, uint8_t verf[NFS4_VERIFIER_SIZE])
{
	struct nfs4_compound cp;
	int rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_COMMIT, SMALL_ARGS, true);

	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_commit(&cp.args, off, count));
	if (!rc)
		rc = nfs4_compound_run(&cp, cr);
	if (!rc)
		rc = nfs4_dec_putfh(cp.res);
	if (!rc)
		rc = nfs4_dec_commit(cp.res, verf);
	nfs4_compound_fini(&cp);
	return rc;
}

static const struct nfs4_bitmap readdir_plain = {{NFS4_ATTR_BIT(FATTR4_TYPE) |
							  NFS4_ATTR_BIT(FATTR4_RDATTR_ERROR) |
							  NFS4_ATTR_BIT(FATTR4_FILEID),
						  0, 0}};

int nfs4_readdir(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		 uint64_t cookie, uint8_t verf[NFS4_VERIFIER_SIZE], uint32_t maxcount, bool plus,
		 nfs4_dirent_cb cb, void *arg, bool *eof)
{
	struct nfs4_compound cp;
	int rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_READDIR, SMALL_ARGS, true);

	if (rc)
		return rc;
	if (maxcount > c->rsize)
		maxcount = c->rsize;
	if (maxcount < 4096)
		maxcount = 4096;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, dir));
	if (!rc)
		rc = nfs4_compound_op(
			&cp, nfs4_enc_readdir(&cp.args, cookie, verf, maxcount, maxcount,
					      plus ? &nfs4_bitmap_readdir : &readdir_plain));
	if (!rc)
		rc = nfs4_compound_run(&cp, cr);
	if (!rc)
		rc = nfs4_dec_putfh(cp.res);
	if (!rc)
		rc = nfs4_dec_readdir(cp.res, verf, cb, arg, eof);
	nfs4_compound_fini(&cp);
	return rc;
}
