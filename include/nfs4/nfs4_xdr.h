/*
 * nfs4_xdr.h - one encoder and one decoder per NFSv4.1 operation
 * (RFC 8881 sections 16 and 18; XDR from RFC 5662).  Procedures are built by
 * composing these (SEQUENCE, PUTFH, READ), as in the Linux client's nfs4xdr.c.
 *
 * Contract
 *  - nfs4_enc_<op>() appends the operation number and its arguments to an
 *    encoder and returns 0, -EMSGSIZE (no room), or -EINVAL for arguments no
 *    valid request can carry (handle length 0 or > 128, owner > 1024 bytes,
 *    NULL name, unknown claim/create mode/object type).  The caller counts operations and
 *    closes the compound with nfs4_enc_compound_end().
 *  - nfs4_dec_<op>() reads one nfs_resop4: it checks the operation number
 *    (mismatch -> -EBADMSG), then the status.  It returns
 *        0              the operation succeeded and its result was decoded;
 *        -NFS4ERR_<x>   the server's status (a positive nfsstat4, negated),
 *                       with any result carried on error decoded too (LOCK
 *                       and LOCKT fill *denied on NFS4ERR_DENIED);
 *        -EBADMSG       the reply is malformed, truncated or hostile.
 *    No decoder reads past the buffer or trusts a length: every count is
 *    bounded (file handles <= 128 bytes, names <= 255, owners <= 1024, ...).
 *  - Opaque results (READ data) are views into the decoder's buffer.
 *  - Attributes: nfs4_enc_bitmap_*() encode the request bitmaps; decoded
 *    fattr4 values land in struct nfs4_attr with .valid set per attribute.
 *    Owners are numeric strings ("1000", as EFS sends); any other owner maps
 *    to 65534 (nobody).
 *  - No state, no locking: pure functions of their arguments.
 */
#ifndef EFS_NFS4_XDR_H
#define EFS_NFS4_XDR_H

#include <stdbool.h>
#include <stdint.h>
#include "util/xdr.h"
#include "nfs4/nfs4_types.h"

/* ---- attribute bitmaps ---- */
#define NFS4_BITMAP_WORDS 3
struct nfs4_bitmap {
	uint32_t w[NFS4_BITMAP_WORDS];
};
/* Attributes needed for struct stat (type, change, size, fsid, fileid, mode,
 * numlinks, owner, owner_group, rawdev, space_used, times). */
extern const struct nfs4_bitmap nfs4_bitmap_stat;
/* nfs4_bitmap_stat plus FATTR4_FILEHANDLE and RDATTR_ERROR (readdirplus). */
extern const struct nfs4_bitmap nfs4_bitmap_readdir;
/* files_avail/free/total, space_avail/free/total, maxname. */
extern const struct nfs4_bitmap nfs4_bitmap_statfs;
/* supported_attrs, lease_time, maxread, maxwrite, fh_expire_type. */
extern const struct nfs4_bitmap nfs4_bitmap_fsinfo;

int nfs4_enc_bitmap(struct xdr *x, const struct nfs4_bitmap *bm);
int nfs4_dec_bitmap(struct xdr *x, struct nfs4_bitmap *bm);
/* fattr4 = bitmap4 + attrlist4; unknown trailing attributes are ignored. */
int nfs4_dec_fattr(struct xdr *x, struct nfs4_attr *a);
/* fattr4 for SETATTR/CREATE/OPEN from struct nfs4_sattr. */
int nfs4_enc_fattr(struct xdr *x, const struct nfs4_sattr *sa);

/* ---- compound ---- */
/* Writes tag, minorversion and a placeholder op count; *nops_off for _end. */
int nfs4_enc_compound_hdr(struct xdr *x, const char *tag, uint32_t minorversion, size_t *nops_off);
int nfs4_enc_compound_end(struct xdr *x, size_t nops_off, uint32_t nops);
/* COMPOUND4res header: status (positive nfsstat4) and result count. */
int nfs4_dec_compound_hdr(struct xdr *x, uint32_t *status, uint32_t *nres);

/* ---- session ---- */
struct nfs4_sequence_args {
	uint8_t sessionid[NFS4_SESSIONID_SIZE];
	uint32_t seqid, slotid, highest_slotid;
	bool cachethis;
};
struct nfs4_sequence_res {
	uint8_t sessionid[NFS4_SESSIONID_SIZE];
	uint32_t seqid, slotid, highest_slotid, target_highest_slotid, status_flags;
};
int nfs4_enc_sequence(struct xdr *x, const struct nfs4_sequence_args *a);
int nfs4_dec_sequence(struct xdr *x, struct nfs4_sequence_res *r);

struct nfs4_exchange_id_args {
	uint8_t verifier[NFS4_VERIFIER_SIZE];
	const uint8_t *owner; /* co_ownerid */
	uint32_t owner_len;   /* <= NFS4_OPAQUE_LIMIT */
	uint32_t flags;
	const char *impl_domain, *impl_name; /* nfs_impl_id4, may be NULL */
};
struct nfs4_exchange_id_res {
	uint64_t clientid;
	uint32_t seqid, flags, state_protect;
};
int nfs4_enc_exchange_id(struct xdr *x, const struct nfs4_exchange_id_args *a);
int nfs4_dec_exchange_id(struct xdr *x, struct nfs4_exchange_id_res *r);

struct nfs4_channel_attrs {
	uint32_t headerpadsize, maxrequestsize, maxresponsesize, maxresponsesize_cached;
	uint32_t maxops, maxreqs;
};
struct nfs4_create_session_args {
	uint64_t clientid;
	uint32_t seqid, flags;
	struct nfs4_channel_attrs fore, back;
	uint32_t cb_program;
	uint32_t uid, gid; /* AUTH_SYS callback security parms */
};
struct nfs4_create_session_res {
	uint8_t sessionid[NFS4_SESSIONID_SIZE];
	uint32_t seqid, flags;
	struct nfs4_channel_attrs fore, back;
};
int nfs4_enc_create_session(struct xdr *x, const struct nfs4_create_session_args *a);
int nfs4_dec_create_session(struct xdr *x, struct nfs4_create_session_res *r);

int nfs4_enc_destroy_session(struct xdr *x, const uint8_t sessionid[NFS4_SESSIONID_SIZE]);
int nfs4_dec_destroy_session(struct xdr *x);
/* BIND_CONN_TO_SESSION (RFC 8881 section 18.34): fore channel only, no RDMA. */
int nfs4_enc_bind_conn_to_session(struct xdr *x, const uint8_t sessionid[NFS4_SESSIONID_SIZE]);
int nfs4_dec_bind_conn_to_session(struct xdr *x);
int nfs4_enc_destroy_clientid(struct xdr *x, uint64_t clientid);
int nfs4_dec_destroy_clientid(struct xdr *x);
int nfs4_enc_reclaim_complete(struct xdr *x, bool one_fs);
int nfs4_dec_reclaim_complete(struct xdr *x);

/* ---- file handles ---- */
int nfs4_enc_putfh(struct xdr *x, const struct nfs4_fh *fh);
int nfs4_dec_putfh(struct xdr *x);
int nfs4_enc_putrootfh(struct xdr *x);
int nfs4_dec_putrootfh(struct xdr *x);
int nfs4_enc_getfh(struct xdr *x);
int nfs4_dec_getfh(struct xdr *x, struct nfs4_fh *fh);
int nfs4_enc_savefh(struct xdr *x);
int nfs4_dec_savefh(struct xdr *x);
int nfs4_enc_restorefh(struct xdr *x);
int nfs4_dec_restorefh(struct xdr *x);

/* ---- names ---- */
int nfs4_enc_lookup(struct xdr *x, const char *name);
int nfs4_dec_lookup(struct xdr *x);
int nfs4_enc_lookupp(struct xdr *x);
int nfs4_dec_lookupp(struct xdr *x);
int nfs4_enc_remove(struct xdr *x, const char *name);
int nfs4_dec_remove(struct xdr *x);
int nfs4_enc_rename(struct xdr *x, const char *oldname, const char *newname);
int nfs4_dec_rename(struct xdr *x);
int nfs4_enc_link(struct xdr *x, const char *newname);
int nfs4_dec_link(struct xdr *x);
/* CREATE of a non-regular file: NF4DIR, NF4LNK (linkdata), NF4BLK/NF4CHR
 * (major/minor), NF4SOCK, NF4FIFO. */
struct nfs4_create_args {
	uint32_t type;
	const char *linkdata;
	uint32_t major, minor;
	const char *name;
	const struct nfs4_sattr *sattr;
};
int nfs4_enc_create(struct xdr *x, const struct nfs4_create_args *a);
int nfs4_dec_create(struct xdr *x);
/*
 * change_info4 of the directory an operation changed (RFC 8881 section
 * 3.3.14): the directory's change attribute before and after it.  The _ci
 * decoders return it (NULL: skipped); the plain ones skip it.
 */
struct nfs4_change_info {
	bool atomic;
	uint64_t before, after;
};
int nfs4_dec_remove_ci(struct xdr *x, struct nfs4_change_info *ci);
int nfs4_dec_rename_ci(struct xdr *x, struct nfs4_change_info *src, struct nfs4_change_info *dst);
int nfs4_dec_link_ci(struct xdr *x, struct nfs4_change_info *ci);
int nfs4_dec_create_ci(struct xdr *x, struct nfs4_change_info *ci);
int nfs4_enc_readlink(struct xdr *x);
/* Target copied into buf (NUL-terminated); -EBADMSG if it does not fit. */
int nfs4_dec_readlink(struct xdr *x, char *buf, size_t bufsz);

/* ---- attributes ---- */
int nfs4_enc_getattr(struct xdr *x, const struct nfs4_bitmap *bm);
int nfs4_dec_getattr(struct xdr *x, struct nfs4_attr *a);
/* stateid NULL -> the anonymous stateid (all zeros). */
int nfs4_enc_setattr(struct xdr *x, const struct nfs4_stateid *sid, const struct nfs4_sattr *sa);
int nfs4_dec_setattr(struct xdr *x);
int nfs4_enc_access(struct xdr *x, uint32_t access);
int nfs4_dec_access(struct xdr *x, uint32_t *supported, uint32_t *access);

/* ---- open state ---- */
struct nfs4_open_args {
	uint32_t share_access, share_deny;
	uint64_t clientid;
	const uint8_t *owner; /* open_owner4.owner */
	uint32_t owner_len;
	uint32_t opentype;		      /* OPEN4_NOCREATE / OPEN4_CREATE */
	uint32_t createmode;		      /* UNCHECKED4 / GUARDED4 / EXCLUSIVE4_1 */
	const struct nfs4_sattr *sattr;	      /* for UNCHECKED4/GUARDED4/EXCLUSIVE4_1 */
	uint8_t verifier[NFS4_VERIFIER_SIZE]; /* EXCLUSIVE4_1 */
	uint32_t claim;			      /* CLAIM_NULL (name), CLAIM_FH, CLAIM_PREVIOUS */
	const char *name;		      /* CLAIM_NULL */
	uint32_t delegate_type;		      /* CLAIM_PREVIOUS */
};
struct nfs4_open_res {
	struct nfs4_stateid stateid;
	uint32_t rflags;
	uint32_t delegation_type; /* OPEN_DELEGATE_* */
	struct nfs4_stateid delegation_stateid;
	struct nfs4_change_info cinfo; /* of the directory (CLAIM_NULL with create) */
};
int nfs4_enc_open(struct xdr *x, const struct nfs4_open_args *a);
int nfs4_dec_open(struct xdr *x, struct nfs4_open_res *r);
int nfs4_enc_close(struct xdr *x, const struct nfs4_stateid *sid);
int nfs4_dec_close(struct xdr *x, struct nfs4_stateid *sid);
/* OPEN_DOWNGRADE (18.18): the open state keeps share_access (deny none). */
int nfs4_enc_open_downgrade(struct xdr *x, const struct nfs4_stateid *sid, uint32_t share_access);
int nfs4_dec_open_downgrade(struct xdr *x, struct nfs4_stateid *sid);
/* TEST_STATEID (18.48) of one stateid: *status its nfsstat4 (0 = valid). */
int nfs4_enc_test_stateid(struct xdr *x, const struct nfs4_stateid *sid);
int nfs4_dec_test_stateid(struct xdr *x, uint32_t *status);
int nfs4_enc_delegreturn(struct xdr *x, const struct nfs4_stateid *sid);
int nfs4_dec_delegreturn(struct xdr *x);
int nfs4_enc_free_stateid(struct xdr *x, const struct nfs4_stateid *sid);
int nfs4_dec_free_stateid(struct xdr *x);

/* ---- data ---- */
int nfs4_enc_read(struct xdr *x, const struct nfs4_stateid *sid, uint64_t offset, uint32_t count);
/* *data is a view of *len bytes; *len <= maxlen or -EBADMSG. */
int nfs4_dec_read(struct xdr *x, bool *eof, const uint8_t **data, uint32_t *len, uint32_t maxlen);
int nfs4_enc_write(struct xdr *x, const struct nfs4_stateid *sid, uint64_t offset, uint32_t stable,
		   const void *data, uint32_t len);
int nfs4_dec_write(struct xdr *x, uint32_t *count, uint32_t *committed,
		   uint8_t verf[NFS4_VERIFIER_SIZE]);
int nfs4_enc_commit(struct xdr *x, uint64_t offset, uint32_t count);
int nfs4_dec_commit(struct xdr *x, uint8_t verf[NFS4_VERIFIER_SIZE]);

/* ---- directories ---- */
int nfs4_enc_readdir(struct xdr *x, uint64_t cookie, const uint8_t verf[NFS4_VERIFIER_SIZE],
		     uint32_t dircount, uint32_t maxcount, const struct nfs4_bitmap *bm);
/* Called once per entry; a non-zero return stops decoding and is returned. */
typedef int (*nfs4_dirent_cb)(void *arg, const struct nfs4_dirent *e);
int nfs4_dec_readdir(struct xdr *x, uint8_t verf[NFS4_VERIFIER_SIZE], nfs4_dirent_cb cb, void *arg,
		     bool *eof);

/* ---- locks (RFC 8881 sections 18.10-18.12) ---- */
struct nfs4_lock_owner {
	uint64_t clientid;
	const uint8_t *owner;
	uint32_t owner_len;
};
struct nfs4_lock_args {
	uint32_t locktype; /* READ_LT, WRITE_LT, READW_LT, WRITEW_LT */
	bool reclaim;
	uint64_t offset, length;
	bool new_lock_owner;
	/* new_lock_owner: open_stateid + lock owner; else lock_stateid. */
	struct nfs4_stateid open_stateid;
	struct nfs4_stateid lock_stateid;
	struct nfs4_lock_owner owner;
};
int nfs4_enc_lock(struct xdr *x, const struct nfs4_lock_args *a);
int nfs4_dec_lock(struct xdr *x, struct nfs4_stateid *lock_sid, struct nfs4_lock_denied *denied);
int nfs4_enc_lockt(struct xdr *x, uint32_t locktype, uint64_t offset, uint64_t length,
		   const struct nfs4_lock_owner *owner);
int nfs4_dec_lockt(struct xdr *x, struct nfs4_lock_denied *denied);
int nfs4_enc_locku(struct xdr *x, uint32_t locktype, const struct nfs4_stateid *lock_sid,
		   uint64_t offset, uint64_t length);
int nfs4_dec_locku(struct xdr *x, struct nfs4_stateid *lock_sid);

#endif
