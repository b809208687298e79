/*
 * nfs4_proc.c - namespace and attribute procedures, each one COMPOUND:
 * SEQUENCE, PUTFH, <op>, and GETFH/GETATTR where the caller needs the
 * result in the same round trip (RFC 8881 section 18).
 */
#include <errno.h>
#include <string.h>
#include "nfs4_client_int.h"

#define SMALL_ARGS 2048

/* Run and start decoding: PUTFH result. */
static int run_putfh(struct nfs4_compound *cp, const struct rpc_cred *cr, int rc)
{
	if (!rc)
		rc = nfs4_compound_run(cp, cr);
	if (!rc)
		rc = nfs4_dec_putfh(cp->res);
	return rc;
}

int nfs4_lookup(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		const char *name, struct nfs4_fh *fh, struct nfs4_attr *attr)
{
	struct nfs4_compound cp;
	int rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_LOOKUP, SMALL_ARGS, true);

	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, dir));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_lookup(&cp.args, name));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_getfh(&cp.args));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_getattr(&cp.args, &nfs4_bitmap_stat));
	rc = run_putfh(&cp, cr, rc);
	if (!rc)
		rc = nfs4_dec_lookup(cp.res);
	if (!rc)
		rc = nfs4_dec_getfh(cp.res, fh);
	if (!rc)
		rc = nfs4_dec_getattr(cp.res, attr);
	nfs4_compound_fini(&cp);
	return rc;
}

int nfs4_lookupp(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		 struct nfs4_fh *fh, struct nfs4_attr *attr)
{
	struct nfs4_compound cp;
	int rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_LOOKUP, SMALL_ARGS, true);

	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, dir));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_lookupp(&cp.args));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_getfh(&cp.args));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_getattr(&cp.args, &nfs4_bitmap_stat));
	rc = run_putfh(&cp, cr, rc);
	if (!rc)
		rc = nfs4_dec_lookupp(cp.res);
	if (!rc)
		rc = nfs4_dec_getfh(cp.res, fh);
	if (!rc)
		rc = nfs4_dec_getattr(cp.res, attr);
	nfs4_compound_fini(&cp);
	return rc;
}

static int getattr_bm(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		      const struct nfs4_bitmap *bm, enum nfs4_proc_id proc, struct nfs4_attr *attr)
{
	struct nfs4_compound cp;
	int rc = nfs4_compound_init(&cp, c, proc, SMALL_ARGS, true);

	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_getattr(&cp.args, bm));
	rc = run_putfh(&cp, cr, rc);
	if (!rc)
		rc = nfs4_dec_getattr(cp.res, attr);
	nfs4_compound_fini(&cp);
	return rc;
}

int nfs4_getattr(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		 struct nfs4_attr *attr)
{
	return getattr_bm(c, cr, fh, &nfs4_bitmap_stat, NFS4_PROC_ID_GETATTR, attr);
}

int nfs4_statfs(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		struct nfs4_attr *attr)
{
	return getattr_bm(c, cr, fh, &nfs4_bitmap_statfs, NFS4_PROC_ID_STATFS, attr);
}

int nfs4_setattr(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		 const struct nfs4_stateid *sid, const struct nfs4_sattr *sa,
		 struct nfs4_attr *attr)
{
	struct nfs4_compound cp;
	struct nfs4_attr dummy;
	int rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_SETATTR, SMALL_ARGS, false);

	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_setattr(&cp.args, sid, sa));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_getattr(&cp.args, &nfs4_bitmap_stat));
	rc = run_putfh(&cp, cr, rc);
	if (!rc)
		rc = nfs4_dec_setattr(cp.res);
	if (!rc)
		rc = nfs4_dec_getattr(cp.res, attr ? attr : &dummy);
	nfs4_compound_fini(&cp);
	return rc;
}

int nfs4_access(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		uint32_t want, uint32_t *granted)
{
	struct nfs4_compound cp;
	uint32_t supported = 0;
	int rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_ACCESS, SMALL_ARGS, true);

	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_access(&cp.args, want));
	rc = run_putfh(&cp, cr, rc);
	if (!rc)
		rc = nfs4_dec_access(cp.res, &supported, granted);
	nfs4_compound_fini(&cp);
	return rc;
}

int nfs4_readlink(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		  char *buf, size_t bufsz)
{
	struct nfs4_compound cp;
	int rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_READLINK, SMALL_ARGS, true);

	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_readlink(&cp.args));
	rc = run_putfh(&cp, cr, rc);
	if (!rc)
		rc = nfs4_dec_readlink(cp.res, buf, bufsz);
	nfs4_compound_fini(&cp);
	return rc;
}

int nfs4_create(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		const struct nfs4_create_args *a, struct nfs4_fh *fh, struct nfs4_attr *attr)
{
	return nfs4_create_ci(c, cr, dir, a, fh, attr, NULL);
}

int nfs4_create_ci(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		   const struct nfs4_create_args *a, struct nfs4_fh *fh, struct nfs4_attr *attr,
		   struct nfs4_change_info *ci)
{
	struct nfs4_compound cp;
	int rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_CREATE, 8192, false);

	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, dir));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_create(&cp.args, a));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_getfh(&cp.args));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_getattr(&cp.args, &nfs4_bitmap_stat));
	rc = run_putfh(&cp, cr, rc);
	if (!rc)
		rc = nfs4_dec_create_ci(cp.res, ci);
	if (!rc)
		rc = nfs4_dec_getfh(cp.res, fh);
	if (!rc)
		rc = nfs4_dec_getattr(cp.res, attr);
	nfs4_compound_fini(&cp);
	return rc;
}

int nfs4_remove(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		const char *name)
{
	return nfs4_remove_ci(c, cr, dir, name, NULL);
}

int nfs4_remove_ci(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		   const char *name, struct nfs4_change_info *ci)
{
	struct nfs4_compound cp;
	int rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_REMOVE, SMALL_ARGS, false);

	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, dir));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_remove(&cp.args, name));
	rc = run_putfh(&cp, cr, rc);
	if (!rc)
		rc = nfs4_dec_remove_ci(cp.res, ci);
	nfs4_compound_fini(&cp);
	return rc;
}

int nfs4_rename(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *sdir,
		const char *sname, const struct nfs4_fh *ddir, const char *dname)
{
	return nfs4_rename_ci(c, cr, sdir, sname, ddir, dname, NULL, NULL);
}

int nfs4_rename_ci(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *sdir,
		   const char *sname, const struct nfs4_fh *ddir, const char *dname,
		   struct nfs4_change_info *sci, struct nfs4_change_info *dci)
{
	struct nfs4_compound cp;
	int rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_RENAME, SMALL_ARGS, false);

	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, sdir));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_savefh(&cp.args));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, ddir));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_rename(&cp.args, sname, dname));
	rc = run_putfh(&cp, cr, rc);
	if (!rc)
		rc = nfs4_dec_savefh(cp.res);
	if (!rc)
		rc = nfs4_dec_putfh(cp.res);
	if (!rc)
		rc = nfs4_dec_rename_ci(cp.res, sci, dci);
	nfs4_compound_fini(&cp);
	return rc;
}

int nfs4_link(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
	      const struct nfs4_fh *dir, const char *name, struct nfs4_attr *attr)
{
	return nfs4_link_ci(c, cr, fh, dir, name, attr, NULL);
}

int nfs4_link_ci(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		 const struct nfs4_fh *dir, const char *name, struct nfs4_attr *attr,
		 struct nfs4_change_info *ci)
{
	struct nfs4_compound cp;
	int rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_LINK, SMALL_ARGS, false);

	if (rc)
		return rc;
	/* SAVEFH holds the source; LINK puts it into the current (target) dir. */
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_savefh(&cp.args));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, dir));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_link(&cp.args, name));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_restorefh(&cp.args));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_getattr(&cp.args, &nfs4_bitmap_stat));
	rc = run_putfh(&cp, cr, rc);
	if (!rc)
		rc = nfs4_dec_savefh(cp.res);
	if (!rc)
		rc = nfs4_dec_putfh(cp.res);
	if (!rc)
		rc = nfs4_dec_link_ci(cp.res, ci);
	if (!rc)
		rc = nfs4_dec_restorefh(cp.res);
	if (!rc)
		rc = nfs4_dec_getattr(cp.res, attr);
	nfs4_compound_fini(&cp);
	return rc;
}
