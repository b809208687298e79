/*
 * nfs4_proc.c - namespace and attribute procedures, each one COMPOUND:
 * SEQUENCE, PUTFH, <op>, and GETFH/GETATTR where the caller needs the
 * result in the same round trip (RFC 8881 section 18).
 */
#include <errno.h>
#include <string.h>
#include "nfs4_client_int.h"
#include "util/log.h"

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

/*
 * "nodrc" (no duplicate request cache; EFS keeps none across connections):
 * a modifying call re-sent after its first answer was lost can fail with
 * the error its own first execution causes (REMOVE: NOENT; RENAME: NOENT;
 * LINK, CREATE: EXIST).  When the result is in place it was ours: success,
 * with the directories' change_info4 unknown (all zero).
 */
static void nodrc_ok(const char *op, const char *name, struct nfs4_change_info *a,
		     struct nfs4_change_info *b)
{
	efs_log(EFS_LOG_INFO, "%s %s: re-sent after a lost reply; its result is in place", op,
		name);
	if (a)
		memset(a, 0, sizeof(*a));
	if (b)
		memset(b, 0, sizeof(*b));
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
	if (rc == -NFS4ERR_EXIST && cp.resent && nfs4_lookup(c, cr, dir, a->name, fh, attr) == 0 &&
	    attr->type == a->type && attr->uid == cr->uid) {
		nodrc_ok("CREATE", a->name, ci, NULL);
		rc = 0;
	}
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
	if (rc == -NFS4ERR_NOENT && cp.resent) {
		nodrc_ok("REMOVE", name, ci, NULL);
		rc = 0;
	}
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
	if (rc == -NFS4ERR_NOENT && cp.resent) {
		struct nfs4_fh nfh;
		struct nfs4_attr na;

		if (nfs4_lookup(c, cr, ddir, dname, &nfh, &na) == 0) {
			nodrc_ok("RENAME", dname, sci, dci);
			rc = 0;
		}
	}
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
	if (rc == -NFS4ERR_EXIST && cp.resent) {
		struct nfs4_fh nfh;
		struct nfs4_attr na, fa;

		if (nfs4_lookup(c, cr, dir, name, &nfh, &na) == 0 &&
		    nfs4_getattr(c, cr, fh, &fa) == 0 && na.fileid == fa.fileid) {
			nodrc_ok("LINK", name, ci, NULL);
			*attr = fa;
			rc = 0;
		}
	}
	nfs4_compound_fini(&cp);
	return rc;
}
