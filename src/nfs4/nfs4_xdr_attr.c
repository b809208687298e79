/*
 * nfs4_xdr_attr.c - bitmap4 and fattr4 (RFC 8881 sections 3.3.7, 5; XDR
 * from RFC 5662): the request bitmaps, fattr4 decoded into struct nfs4_attr,
 * and fattr4 encoded from struct nfs4_sattr.  See include/nfs4/nfs4_xdr.h.
 *
 * fattr4 decode walks the bitmap in ascending attribute order over the
 * attrlist4 (a counted opaque, so a bounded sub-buffer).  Attributes of known
 * size that struct nfs4_attr has no field for are skipped; on the first
 * attribute whose size we do not know, decoding stops and the rest of the
 * attrlist is ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "nfs4/nfs4_xdr.h"
#include "nfs4_xdr_int.h"

#define B(a)  (1u << ((a) % 32))
#define W0(a) ((a) < 32 ? B(a) : 0u)
#define W1(a) ((a) >= 32 && (a) < 64 ? B(a) : 0u)

#define STAT_W0                                                                    \
	(W0(FATTR4_TYPE) | W0(FATTR4_CHANGE) | W0(FATTR4_SIZE) | W0(FATTR4_FSID) | \
	 W0(FATTR4_FILEID))
#define STAT_W1                                                                              \
	(W1(FATTR4_MODE) | W1(FATTR4_NUMLINKS) | W1(FATTR4_OWNER) | W1(FATTR4_OWNER_GROUP) | \
	 W1(FATTR4_RAWDEV) | W1(FATTR4_SPACE_USED) | W1(FATTR4_TIME_ACCESS) |                \
	 W1(FATTR4_TIME_METADATA) | W1(FATTR4_TIME_MODIFY))

const struct nfs4_bitmap nfs4_bitmap_stat = {{STAT_W0, STAT_W1, 0}};

const struct nfs4_bitmap nfs4_bitmap_readdir = {
	{STAT_W0 | W0(FATTR4_FILEHANDLE) | W0(FATTR4_RDATTR_ERROR), STAT_W1, 0}};

const struct nfs4_bitmap nfs4_bitmap_statfs = {
	{W0(FATTR4_FILES_AVAIL) | W0(FATTR4_FILES_FREE) | W0(FATTR4_FILES_TOTAL) |
		 W0(FATTR4_MAXNAME),
	 W1(FATTR4_SPACE_AVAIL) | W1(FATTR4_SPACE_FREE) | W1(FATTR4_SPACE_TOTAL), 0}};

const struct nfs4_bitmap nfs4_bitmap_fsinfo = {
	{W0(FATTR4_SUPPORTED_ATTRS) | W0(FATTR4_FH_EXPIRE_TYPE) | W0(FATTR4_LEASE_TIME) |
		 W0(FATTR4_MAXREAD) | W0(FATTR4_MAXWRITE),
	 0, 0}};

/* ---- bitmap4 ---- */

static int enc_words(struct xdr *x, const uint32_t *w, uint32_t nwords)
{
	uint32_t i, n = nwords;

	while (n > 0 && w[n - 1] == 0)
		n--;
	if (xdr_put_u32(x, n))
		return -EMSGSIZE;
	for (i = 0; i < n; i++)
		if (xdr_put_u32(x, w[i]))
			return -EMSGSIZE;
	return 0;
}

int nfs4_enc_bitmap(struct xdr *x, const struct nfs4_bitmap *bm)
{
	return enc_words(x, bm->w, NFS4_BITMAP_WORDS);
}

int nfs4_dec_bitmap(struct xdr *x, struct nfs4_bitmap *bm)
{
	uint32_t n, i, w;

	memset(bm, 0, sizeof(*bm));
	if (xdr_get_u32(x, &n) || n > NFS4_XDR_BITMAP_MAX || xdr_remaining(x) < (size_t)n * 4)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		if (xdr_get_u32(x, &w))
			return -EBADMSG;
		if (i < NFS4_BITMAP_WORDS)
			bm->w[i] = w;
	}
	return 0;
}

/* ---- fattr4 decode ---- */

/* A numeric owner string ("1000") as a number; anything else is nobody. */
static uint32_t owner_to_id(const uint8_t *p, uint32_t n)
{
	uint64_t v = 0;
	uint32_t i;

	if (n == 0 || n > 10)
		return 65534;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 65534;
		v = v * 10 + (p[i] - '0');
	}
	return v > UINT32_MAX ? 65534 : (uint32_t)v;
}

static int dec_owner(struct xdr *ax, uint32_t *id)
{
	const uint8_t *p;
	uint32_t n;

	if (xdr_get_opaque(ax, &p, &n, NFS4_OPAQUE_LIMIT))
		return -EBADMSG;
	*id = owner_to_id(p, n);
	return 0;
}

static int dec_fh(struct xdr *ax, struct nfs4_fh *fh)
{
	const uint8_t *p;
	uint32_t n;

	if (xdr_get_opaque(ax, &p, &n, NFS4_FHSIZE) || n == 0)
		return -EBADMSG;
	memcpy(fh->data, p, n);
	fh->len = n;
	return 0;
}

/* settime4: time_how4, nfstime4 when SET_TO_CLIENT_TIME4. */
static int skip_settime(struct xdr *ax)
{
	struct nfs4_time t;
	uint32_t how;

	if (xdr_get_u32(ax, &how))
		return -EBADMSG;
	if (how == SET_TO_SERVER_TIME4)
		return 0;
	if (how == SET_TO_CLIENT_TIME4)
		return nfs4_xdr_dec_time(ax, &t);
	return -EBADMSG;
}

/* A counted array of entries skipped by skip(); each entry >= min bytes. */
static int skip_array(struct xdr *ax, size_t min, int (*skip)(struct xdr *))
{
	uint32_t n, i;

	if (xdr_get_u32(ax, &n) || (size_t)n > xdr_remaining(ax) / min)
		return -EBADMSG;
	for (i = 0; i < n; i++)
		if (skip(ax))
			return -EBADMSG;
	return 0;
}

static int skip_utf8(struct xdr *ax)
{
	return nfs4_xdr_skip_opaque(ax, UINT32_MAX);
}

/* pathname4: component4<> */
static int skip_pathname(struct xdr *ax)
{
	return skip_array(ax, 4, skip_utf8);
}

/* fs_location4: utf8str_cis server<>, pathname4 rootpath */
static int skip_fs_location(struct xdr *ax)
{
	if (skip_array(ax, 4, skip_utf8) || skip_pathname(ax))
		return -EBADMSG;
	return 0;
}

/* fs_locations4: pathname4 fs_root, fs_location4 locations<> */
static int skip_fs_locations(struct xdr *ax)
{
	if (skip_pathname(ax) || skip_array(ax, 8, skip_fs_location))
		return -EBADMSG;
	return 0;
}

static int skip_u32(struct xdr *ax)
{
	return xdr_skip(ax, 4);
}

/*
 * One attribute.  0 decoded (or skipped), 1 unknown size (stop), -EBADMSG.
 */
static int dec_attr(struct xdr *ax, unsigned int n, struct nfs4_attr *a)
{
	uint64_t *u64 = NULL;
	uint32_t *u32 = NULL;
	struct nfs4_time *t = NULL;
	struct nfs4_time tmp;
	int rc = 0;

	switch (n) {
	case FATTR4_SUPPORTED_ATTRS:
	case 75: /* suppattr_exclcreat */
		return nfs4_xdr_skip_bitmap(ax);
	case FATTR4_TYPE:
		u32 = &a->type;
		break;
	case FATTR4_CHANGE:
		u64 = &a->change;
		break;
	case FATTR4_SIZE:
		u64 = &a->size;
		break;
	case FATTR4_FSID:
		if (xdr_get_u64(ax, &a->fsid_major) || xdr_get_u64(ax, &a->fsid_minor))
			return -EBADMSG;
		break;
	case FATTR4_LEASE_TIME:
		u32 = &a->lease_time;
		break;
	case FATTR4_RDATTR_ERROR:
		u32 = &a->rdattr_error;
		break;
	case FATTR4_ACL:
		return skip_array(ax, 16, nfs4_xdr_skip_ace);
	case 58: /* dacl: nfsacl41 = aclflag4 + nfsace4<> */
	case 59: /* sacl */
		if (xdr_skip(ax, 4))
			return -EBADMSG;
		return skip_array(ax, 16, nfs4_xdr_skip_ace);
	case FATTR4_FILEHANDLE:
		rc = dec_fh(ax, &a->fh);
		break;
	case FATTR4_FILEID:
		u64 = &a->fileid;
		break;
	case FATTR4_FILES_AVAIL:
		u64 = &a->files_avail;
		break;
	case FATTR4_FILES_FREE:
		u64 = &a->files_free;
		break;
	case FATTR4_FILES_TOTAL:
		u64 = &a->files_total;
		break;
	case FATTR4_FS_LOCATIONS:
		return skip_fs_locations(ax);
	case FATTR4_MAXNAME:
		u32 = &a->maxname;
		break;
	case FATTR4_MAXREAD:
		u64 = &a->maxread;
		break;
	case FATTR4_MAXWRITE:
		u64 = &a->maxwrite;
		break;
	case FATTR4_MIMETYPE:
		return skip_utf8(ax);
	case FATTR4_MODE:
		if (xdr_get_u32(ax, &a->mode))
			return -EBADMSG;
		a->mode &= 07777;
		break;
	case FATTR4_NUMLINKS:
		u32 = &a->nlink;
		break;
	case FATTR4_OWNER:
		rc = dec_owner(ax, &a->uid);
		break;
	case FATTR4_OWNER_GROUP:
		rc = dec_owner(ax, &a->gid);
		break;
	case FATTR4_RAWDEV:
		if (xdr_get_u32(ax, &a->rdev_major) || xdr_get_u32(ax, &a->rdev_minor))
			return -EBADMSG;
		break;
	case FATTR4_SPACE_AVAIL:
		u64 = &a->space_avail;
		break;
	case FATTR4_SPACE_FREE:
		u64 = &a->space_free;
		break;
	case FATTR4_SPACE_TOTAL:
		u64 = &a->space_total;
		break;
	case FATTR4_SPACE_USED:
		u64 = &a->space_used;
		break;
	case FATTR4_TIME_ACCESS:
		t = &a->atime;
		break;
	case FATTR4_TIME_METADATA:
		t = &a->ctime;
		break;
	case FATTR4_TIME_MODIFY:
		t = &a->mtime;
		break;
	case FATTR4_TIME_ACCESS_SET:
	case FATTR4_TIME_MODIFY_SET:
		return skip_settime(ax);
	case FATTR4_TIME_BACKUP:
	case FATTR4_TIME_CREATE:
	case FATTR4_TIME_DELTA:
	case 56: /* dir_notif_delay */
	case 57: /* dirent_notif_delay */
		return nfs4_xdr_dec_time(ax, &tmp);
	/* bool and 32-bit values we do not keep */
	case FATTR4_FH_EXPIRE_TYPE:
	case FATTR4_LINK_SUPPORT:
	case FATTR4_SYMLINK_SUPPORT:
	case FATTR4_NAMED_ATTR:
	case FATTR4_UNIQUE_HANDLES:
	case FATTR4_ACLSUPPORT:
	case FATTR4_ARCHIVE:
	case FATTR4_CANSETTIME:
	case FATTR4_CASE_INSENSITIVE:
	case FATTR4_CASE_PRESERVING:
	case FATTR4_CHOWN_RESTRICTED:
	case FATTR4_HIDDEN:
	case FATTR4_HOMOGENEOUS:
	case FATTR4_MAXLINK:
	case FATTR4_NO_TRUNC:
	case FATTR4_SYSTEM:
	case 65: /* layout_blksize */
	case 66: /* layout_alignment */
	case 76: /* fs_charset_cap */
		return xdr_skip(ax, 4);
	/* 64-bit values (or two 32-bit ones) we do not keep */
	case FATTR4_MAXFILESIZE:
	case FATTR4_QUOTA_AVAIL_HARD:
	case FATTR4_QUOTA_AVAIL_SOFT:
	case FATTR4_QUOTA_USED:
	case FATTR4_MOUNTED_ON_FILEID:
	case 73: /* retention_hold */
	case 74: /* mode_set_masked: mode4 x2 */
		return xdr_skip(ax, 8);
	case 60: /* change_policy: two u64 */
		return xdr_skip(ax, 16);
	case 62: /* fs_layout_type: layouttype4<> */
	case 64: /* layout_type */
		return skip_array(ax, 4, skip_u32);
	default:
		return 1;
	}
	if (rc)
		return -EBADMSG;
	if (u32 && xdr_get_u32(ax, u32))
		return -EBADMSG;
	if (u64 && xdr_get_u64(ax, u64))
		return -EBADMSG;
	if (t && nfs4_xdr_dec_time(ax, t))
		return -EBADMSG;
	a->valid |= NFS4_ATTR_BIT(n);
	return 0;
}

int nfs4_dec_fattr(struct xdr *x, struct nfs4_attr *a)
{
	struct nfs4_bitmap bm;
	const uint8_t *p;
	uint32_t len;
	struct xdr ax;
	unsigned int n;
	int rc;

	memset(a, 0, sizeof(*a));
	if (nfs4_dec_bitmap(x, &bm) || xdr_get_opaque(x, &p, &len, UINT32_MAX))
		return -EBADMSG;
	xdr_init_decode(&ax, p, len);
	for (n = 0; n < NFS4_BITMAP_WORDS * 32; n++) {
		if (!(bm.w[n / 32] & (1u << (n % 32))))
			continue;
		rc = dec_attr(&ax, n, a);
		if (rc < 0)
			return rc;
		if (rc > 0)
			break;
	}
	return 0;
}

/* ---- fattr4 encode ---- */

static int enc_owner(struct xdr *x, uint32_t id)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", id);
	return xdr_put_string(x, s);
}

static int enc_settime(struct xdr *x, bool now, const struct nfs4_time *t)
{
	if (now)
		return xdr_put_u32(x, SET_TO_SERVER_TIME4);
	if (xdr_put_u32(x, SET_TO_CLIENT_TIME4))
		return -EMSGSIZE;
	return nfs4_xdr_enc_time(x, t);
}

int nfs4_enc_fattr(struct xdr *x, const struct nfs4_sattr *sa)
{
	uint32_t set = sa ? sa->set : 0;
	uint32_t w[2] = {0, 0};
	size_t lenoff, start;
	bool atime = set & (NFS4_SET_ATIME | NFS4_SET_ATIME_NOW);
	bool mtime = set & (NFS4_SET_MTIME | NFS4_SET_MTIME_NOW);

	if (set & NFS4_SET_SIZE)
		w[0] |= W0(FATTR4_SIZE);
	if (set & NFS4_SET_MODE)
		w[1] |= W1(FATTR4_MODE);
	if (set & NFS4_SET_UID)
		w[1] |= W1(FATTR4_OWNER);
	if (set & NFS4_SET_GID)
		w[1] |= W1(FATTR4_OWNER_GROUP);
	if (atime)
		w[1] |= W1(FATTR4_TIME_ACCESS_SET);
	if (mtime)
		w[1] |= W1(FATTR4_TIME_MODIFY_SET);

	if (enc_words(x, w, 2))
		return -EMSGSIZE;
	lenoff = xdr_mark(x);
	if (xdr_put_u32(x, 0))
		return -EMSGSIZE;
	start = xdr_mark(x);
	/* ascending attribute numbers: 4, 33, 36, 37, 48, 54 */
	if ((set & NFS4_SET_SIZE) && xdr_put_u64(x, sa->size))
		return -EMSGSIZE;
	if ((set & NFS4_SET_MODE) && xdr_put_u32(x, sa->mode & 07777))
		return -EMSGSIZE;
	if ((set & NFS4_SET_UID) && enc_owner(x, sa->uid))
		return -EMSGSIZE;
	if ((set & NFS4_SET_GID) && enc_owner(x, sa->gid))
		return -EMSGSIZE;
	if (atime && enc_settime(x, set & NFS4_SET_ATIME_NOW, &sa->atime))
		return -EMSGSIZE;
	if (mtime && enc_settime(x, set & NFS4_SET_MTIME_NOW, &sa->mtime))
		return -EMSGSIZE;
	return xdr_patch_u32(x, lenoff, (uint32_t)(xdr_mark(x) - start));
}
