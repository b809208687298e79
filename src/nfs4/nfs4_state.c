/*
 * nfs4_state.c - open-owners, shared open stateids, lock-owners and lock
 * stateids, their reclaim after a server restart and their loss; see
 * include/nfs4/nfs4_state.h for the contract.
 *
 * Locks: t->lock (leaf) protects the table, every open's counters,
 * stateid, flags and lock ranges.  op->mu serialises the state-changing
 * RPCs of one open (held across them); it is never taken by recovery, which
 * runs while those RPCs wait for it (slot_get holds them back while the
 * state is reclaimed).  Order: op->mu, then t->lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nfs4_client_int.h"
#include "nfs4/nfs4_err.h"
#include "nfs4/nfs4_state.h"
#include "util/log.h"

#define SMALL_ARGS  2048
#define MAX_RETRIES 3

struct lock_range {
	struct lock_range *next;
	uint32_t type; /* READ_LT / WRITE_LT */
	uint64_t off, len;
};

struct lock_state {
	struct lock_state *next;
	uint64_t owner; /* kernel lock owner */
	struct nfs4_stateid sid;
	bool have; /* sid established on the server */
	struct lock_range *ranges;
};

struct open_owner {
	struct open_owner *next;
	uint32_t uid, gid;
	uint64_t id;
};

struct nfs4_open {
	struct nfs4_open *next; /* t->opens */
	struct nfs4_fh fh;
	struct open_owner *oo;
	struct rpc_cred cred; /* the first opener's, for reclaim */
	pthread_mutex_t mu;
	/* t->lock */
	int refs;
	unsigned int n_rd, n_wr, n_rw; /* FUSE opens by access mode */
	uint32_t share;		       /* what the server state grants */
	struct nfs4_stateid sid;
	uint32_t sgen; /* bumped whenever sid is replaced by recovery */
	bool on_server, hashed, lost, needs_reopen;
	struct lock_state *locks;
};

struct nfs4_state_table {
	pthread_mutex_t lock;
	struct nfs4_open *opens;
	struct open_owner *owners;
	uint64_t next_oo;
	struct nfs4_state_stats stats;
};

int nfs4_state_table_new(struct nfs4_client *c)
{
	struct nfs4_state_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	t->next_oo = 1;
	c->st = t;
	return 0;
}

static void ranges_free(struct lock_range *r)
{
	while (r) {
		struct lock_range *n = r->next;

		free(r);
		r = n;
	}
}

static void locks_free(struct lock_state *l)
{
	while (l) {
		struct lock_state *n = l->next;

		ranges_free(l->ranges);
		free(l);
		l = n;
	}
}

static void open_free(struct nfs4_open *o)
{
	locks_free(o->locks);
	pthread_mutex_destroy(&o->mu);
	free(o);
}

void nfs4_state_table_free(struct nfs4_client *c)
{
	struct nfs4_state_table *t = c->st;

	if (!t)
		return;
	c->st = NULL;
	/* Opens still referenced by fs/ are freed with their last put. */
	pthread_mutex_lock(&t->lock);
	for (struct nfs4_open *o = t->opens; o; o = o->next)
		o->hashed = false;
	pthread_mutex_unlock(&t->lock);
	while (t->owners) {
		struct open_owner *n = t->owners->next;

		free(t->owners);
		t->owners = n;
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static uint32_t share_union(const struct nfs4_open *o)
{
	uint32_t s = 0;

	if (o->n_rd || o->n_rw)
		s |= OPEN4_SHARE_ACCESS_READ;
	if (o->n_wr || o->n_rw)
		s |= OPEN4_SHARE_ACCESS_WRITE;
	return s;
}

static void share_count(struct nfs4_open *o, uint32_t share, int d)
{
	switch (share & OPEN4_SHARE_ACCESS_BOTH) {
	case OPEN4_SHARE_ACCESS_READ:
		o->n_rd += d;
		break;
	case OPEN4_SHARE_ACCESS_WRITE:
		o->n_wr += d;
		break;
	default:
		o->n_rw += d;
		break;
	}
}

/* The open-owner of a credential; t->lock held.  NULL on ENOMEM. */
static struct open_owner *owner_of(struct nfs4_state_table *t, const struct rpc_cred *cr)
{
	struct open_owner *oo;

	for (oo = t->owners; oo; oo = oo->next)
		if (oo->uid == cr->uid && oo->gid == cr->gid)
			return oo;
	oo = calloc(1, sizeof(*oo));
	if (!oo)
		return NULL;
	oo->uid = cr->uid;
	oo->gid = cr->gid;
	oo->id = t->next_oo++;
	oo->next = t->owners;
	t->owners = oo;
	return oo;
}

static bool fh_eq(const struct nfs4_fh *a, const struct nfs4_fh *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Find or add the open of (fh, owner of cr) with a reference; t->lock held. */
static struct nfs4_open *open_lookup(struct nfs4_state_table *t, const struct nfs4_fh *fh,
				     const struct rpc_cred *cr)
{
	struct open_owner *oo = owner_of(t, cr);
	struct nfs4_open *o;

	if (!oo)
		return NULL;
	for (o = t->opens; o; o = o->next)
		if (o->oo == oo && fh_eq(&o->fh, fh)) {
			__atomic_fetch_add(&o->refs, 1, __ATOMIC_RELAXED);
			return o;
		}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->fh = *fh;
	o->oo = oo;
	o->cred = rpc_cred_keep(cr);
	o->refs = 1;
	o->hashed = true;
	pthread_mutex_init(&o->mu, NULL);
	o->next = t->opens;
	t->opens = o;
	t->stats.opens++;
	return o;
}

static void unhash_locked(struct nfs4_state_table *t, struct nfs4_open *o)
{
	struct nfs4_open **pp;

	if (!o->hashed)
		return;
	for (pp = &t->opens; *pp; pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	o->hashed = false;
	t->stats.opens--;
}

void nfs4_open_hold(struct nfs4_open *op)
{
	__atomic_fetch_add(&op->refs, 1, __ATOMIC_RELAXED);
}

void nfs4_open_put(struct nfs4_client *c, struct nfs4_open *op)
{
	struct nfs4_state_table *t = c->st;
	bool last;

	if (!op)
		return;
	if (t)
		pthread_mutex_lock(&t->lock);
	last = __atomic_sub_fetch(&op->refs, 1, __ATOMIC_ACQ_REL) == 0;
	if (last && t)
		unhash_locked(t, op);
	if (t)
		pthread_mutex_unlock(&t->lock);
	if (last)
		open_free(op);
}

void nfs4_open_get_fh(struct nfs4_open *op, struct nfs4_fh *fh)
{
	*fh = op->fh; /* constant */
}

bool nfs4_open_lost(struct nfs4_open *op)
{
	return __atomic_load_n(&op->lost, __ATOMIC_ACQUIRE);
}

static bool sid_same(const struct nfs4_stateid *a, const struct nfs4_stateid *b)
{
	return memcmp(a->other, b->other, NFS4_OTHER_SIZE) == 0;
}

/* A fresh OPEN reply for o; t->lock held. */
static void open_update_locked(struct nfs4_open *o, const struct nfs4_stateid *sid, uint32_t share)
{
	if (o->on_server && sid_same(&o->sid, sid)) {
		if ((int32_t)(sid->seqid - o->sid.seqid) > 0)
			o->sid.seqid = sid->seqid;
	} else {
		if (o->on_server)
			o->sgen++;
		o->sid = *sid;
	}
	o->share |= share;
	o->on_server = true;
	o->needs_reopen = false;
}

static void owner_bytes(const struct nfs4_open *o, uint8_t out[NFS4_OWNER_LEN])
{
	nfs4_make_owner(out, "efso", o->oo->id, 0);
}

/* OPEN of o with claim (CLAIM_FH or CLAIM_PREVIOUS) and share. */
static int open_rpc(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *o,
		    uint32_t claim, uint32_t share, bool machine, struct nfs4_attr *attr)
{
	struct nfs4_open_args a = {
		.share_access = share,
		.share_deny = OPEN4_SHARE_DENY_NONE,
		.opentype = OPEN4_NOCREATE,
		.claim = claim,
		.delegate_type = OPEN_DELEGATE_NONE,
	};
	struct nfs4_open_state st;
	uint8_t owner[NFS4_OWNER_LEN];
	int rc;

	owner_bytes(o, owner);
	a.owner = owner;
	a.owner_len = sizeof(owner);
	memset(&st, 0, sizeof(st));
	rc = nfs4_do_open(c, cr, &o->fh, &a, machine, &st, attr, NULL);
	if (rc)
		return rc;
	pthread_mutex_lock(&c->st->lock);
	if (claim == CLAIM_PREVIOUS && o->on_server && !sid_same(&o->sid, &st.stateid))
		o->sgen++;
	if (claim == CLAIM_PREVIOUS)
		o->sid = st.stateid;
	open_update_locked(o, &st.stateid, share);
	pthread_mutex_unlock(&c->st->lock);
	return 0;
}

int nfs4_open_by_fh(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *fh,
		    uint32_t share_access, struct nfs4_open **op, struct nfs4_attr *attr)
{
	struct nfs4_state_table *t = c->st;
	struct nfs4_open *o;
	uint32_t want;
	int rc;

	pthread_mutex_lock(&t->lock);
	o = open_lookup(t, fh, cr);
	pthread_mutex_unlock(&t->lock);
	if (!o)
		return -ENOMEM;
	pthread_mutex_lock(&o->mu);
	pthread_mutex_lock(&t->lock);
	want = share_access | (o->on_server ? o->share : 0);
	pthread_mutex_unlock(&t->lock);
	/* Always an OPEN: it upgrades the state and revalidates (close-to-open). */
	rc = open_rpc(c, cr, o, CLAIM_FH, want, false, attr);
	if (rc == 0) {
		pthread_mutex_lock(&t->lock);
		share_count(o, share_access, 1);
		pthread_mutex_unlock(&t->lock);
	}
	pthread_mutex_unlock(&o->mu);
	if (rc) {
		nfs4_open_put(c, o);
		return rc;
	}
	*op = o;
	return 0;
}

int nfs4_open_by_name(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_fh *dir,
		      const char *name, uint32_t share_access, bool create, bool exclusive,
		      const struct nfs4_sattr *sa, struct nfs4_open **op, struct nfs4_attr *attr,
		      struct nfs4_change_info *ci)
{
	struct nfs4_state_table *t = c->st;
	struct nfs4_open_args a = {
		.share_access = share_access,
		.share_deny = OPEN4_SHARE_DENY_NONE,
		.opentype = create ? OPEN4_CREATE : OPEN4_NOCREATE,
		.createmode = exclusive ? GUARDED4 : UNCHECKED4,
		.sattr = sa,
		.claim = CLAIM_NULL,
		.name = name,
	};
	struct nfs4_open_state st;
	struct open_owner *oo;
	struct nfs4_open *o;
	uint8_t owner[NFS4_OWNER_LEN];
	bool resent = false;
	int rc;

	pthread_mutex_lock(&t->lock);
	oo = owner_of(t, cr);
	if (oo)
		nfs4_make_owner(owner, "efso", oo->id, 0);
	pthread_mutex_unlock(&t->lock);
	if (!oo)
		return -ENOMEM;
	a.owner = owner;
	a.owner_len = sizeof(owner);
	memset(&st, 0, sizeof(st));
	rc = nfs4_do_open(c, cr, dir, &a, false, &st, attr, &resent);
	if (rc == -NFS4ERR_EXIST && resent && exclusive && create) {
		/*
		 * No reply cache (EFS): our first GUARDED4 create may have run
		 * and its answer was lost.  An empty file of ours by that name
		 * is taken for it (the "nodrc" rule); anything else is EEXIST.
		 */
		a.opentype = OPEN4_NOCREATE;
		rc = nfs4_do_open(c, cr, dir, &a, false, &st, attr, NULL);
		if (rc == 0 && attr && (attr->valid & NFS4_ATTR_BIT(FATTR4_OWNER)) &&
		    (attr->uid != cr->uid || attr->size != 0)) {
			nfs4_close(c, cr, &st);
			rc = -NFS4ERR_EXIST;
		} else if (rc == 0) {
			efs_log(EFS_LOG_INFO,
				"OPEN(create %s): re-sent after a lost reply, the "
				"file is ours",
				name);
		} else {
			rc = -NFS4ERR_EXIST;
		}
	}
	if (rc)
		return rc;
	if (ci)
		*ci = st.cinfo;
	pthread_mutex_lock(&t->lock);
	o = open_lookup(t, &st.fh, cr);
	pthread_mutex_unlock(&t->lock);
	if (!o) {
		nfs4_close(c, cr, &st);
		return -ENOMEM;
	}
	pthread_mutex_lock(&o->mu);
	pthread_mutex_lock(&t->lock);
	open_update_locked(o, &st.stateid, share_access);
	share_count(o, share_access, 1);
	pthread_mutex_unlock(&t->lock);
	pthread_mutex_unlock(&o->mu);
	*op = o;
	return 0;
}

/* LOCKU everything one lock state holds; o->mu held. */
static void unlock_all(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *o,
		       struct lock_state *l)
{
	struct nfs4_compound cp;
	struct nfs4_stateid sid;
	int rc;

	pthread_mutex_lock(&c->st->lock);
	sid = l->sid;
	ranges_free(l->ranges);
	l->ranges = NULL;
	pthread_mutex_unlock(&c->st->lock);
	if (!l->have)
		return;
	rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_LOCKU, SMALL_ARGS, false);
	if (rc)
		return;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, &o->fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_locku(&cp.args, WRITE_LT, &sid, 0, UINT64_MAX));
	if (!rc)
		rc = nfs4_compound_run(&cp, cr);
	if (!rc)
		rc = nfs4_dec_putfh(cp.res);
	if (!rc)
		rc = nfs4_dec_locku(cp.res, &sid);
	nfs4_compound_fini(&cp);
	if (rc && rc != -NFS4ERR_LOCK_RANGE && !nfs4_stateid_error(rc))
		efs_log(EFS_LOG_INFO, "LOCKU at close: %s", nfs4_err_name(rc));
}

/* CLOSE or OPEN_DOWNGRADE o to keep (0: CLOSE); o->mu held. */
static int close_or_downgrade(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *o,
			      uint32_t keep)
{
	struct nfs4_compound cp;
	struct nfs4_stateid sid;
	uint32_t gen;
	bool again;
	int rc, tries = 0;

retry:
	pthread_mutex_lock(&c->st->lock);
	sid = o->sid;
	gen = o->sgen;
	pthread_mutex_unlock(&c->st->lock);
	rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_CLOSE, SMALL_ARGS, false);
	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, &o->fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, keep ? nfs4_enc_open_downgrade(&cp.args, &sid, keep)
						: nfs4_enc_close(&cp.args, &sid));
	if (!rc)
		rc = nfs4_compound_run(&cp, cr);
	if (!rc)
		rc = nfs4_dec_putfh(cp.res);
	if (!rc)
		rc = keep ? nfs4_dec_open_downgrade(cp.res, &sid) : nfs4_dec_close(cp.res, &sid);
	nfs4_compound_fini(&cp);
	if (nfs4_stateid_error(rc) && tries++ < MAX_RETRIES) {
		/* Recovery replaced the stateid meanwhile (reclaim): that one is closed. */
		pthread_mutex_lock(&c->st->lock);
		again = o->sgen != gen && o->on_server;
		pthread_mutex_unlock(&c->st->lock);
		if (again)
			goto retry;
	}
	pthread_mutex_lock(&c->st->lock);
	if (rc == 0 && keep) {
		o->sid.seqid = sid.seqid;
		o->share = keep;
	} else if (!keep && (rc == 0 || nfs4_stateid_error(rc))) {
		o->on_server = false;
		o->share = 0;
	}
	pthread_mutex_unlock(&c->st->lock);
	/* State the server no longer knows is closed as far as we care. */
	return nfs4_stateid_error(rc) ? 0 : rc;
}

int nfs4_open_release(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		      uint32_t share_access)
{
	struct nfs4_state_table *t = c->st;
	uint32_t keep, have;
	bool on;
	int rc = 0;

	pthread_mutex_lock(&op->mu);
	pthread_mutex_lock(&t->lock);
	share_count(op, share_access, -1);
	keep = share_union(op);
	have = op->share;
	on = op->on_server;
	pthread_mutex_unlock(&t->lock);
	if (on && keep == 0) {
		for (struct lock_state *l = op->locks; l; l = l->next)
			if (l->ranges)
				unlock_all(c, cr, op, l);
		rc = close_or_downgrade(c, cr, op, 0);
		pthread_mutex_lock(&t->lock);
		locks_free(op->locks);
		op->locks = NULL;
		op->lost = false;
		pthread_mutex_unlock(&t->lock);
	} else if (on && keep != have) {
		rc = close_or_downgrade(c, cr, op, keep);
	}
	pthread_mutex_unlock(&op->mu);
	nfs4_open_put(c, op);
	return rc;
}

/*
 * The stateid I/O through o uses (seqid 0: the current one), and its
 * generation; -EIO when o is lost.  o NULL: anonymous.
 */
static int io_stateid(struct nfs4_client *c, struct nfs4_open *o, struct nfs4_stateid *sid,
		      uint32_t *gen)
{
	int rc = 0;

	memset(sid, 0, sizeof(*sid));
	*gen = 0;
	if (!o)
		return 0;
	pthread_mutex_lock(&c->st->lock);
	if (o->lost) {
		rc = -EIO;
	} else {
		*sid = o->sid;
		sid->seqid = 0;
		*gen = o->sgen;
	}
	pthread_mutex_unlock(&c->st->lock);
	return rc;
}

static bool has_ranges_locked(const struct nfs4_open *o)
{
	for (const struct lock_state *l = o->locks; l; l = l->next)
		if (l->ranges)
			return true;
	return false;
}

/*
 * A stateid of o was refused (rc) after gen: 0 when a retry with the
 * current stateid makes sense, else the error to return.  Recovery may
 * already have replaced it; otherwise o is opened again -- unless it held
 * locks, which are then lost.
 */
static int io_recover(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *o,
		      uint32_t gen, int rc)
{
	struct nfs4_state_table *t = c->st;
	bool locked;
	uint32_t share;
	int r;

	pthread_mutex_lock(&t->lock);
	if (o->sgen != gen || o->lost) {
		r = o->lost ? -EIO : 0;
		pthread_mutex_unlock(&t->lock);
		return r;
	}
	pthread_mutex_unlock(&t->lock);
	pthread_mutex_lock(&o->mu);
	pthread_mutex_lock(&t->lock);
	locked = has_ranges_locked(o);
	share = o->share ? o->share : OPEN4_SHARE_ACCESS_BOTH;
	r = o->sgen != gen ? 1 : 0;
	if (!r && locked) {
		o->lost = true;
		t->stats.lost_opens++;
	}
	pthread_mutex_unlock(&t->lock);
	if (r) {
		pthread_mutex_unlock(&o->mu);
		return 0;
	}
	if (locked) {
		pthread_mutex_unlock(&o->mu);
		efs_log(EFS_LOG_ERR,
			"open state lost (%s) while holding locks: I/O on the file fails with EIO "
			"until it is closed",
			nfs4_err_name(rc));
		return -EIO;
	}
	efs_log(EFS_LOG_NOTICE, "open state refused (%s): opening the file again",
		nfs4_err_name(rc));
	pthread_mutex_lock(&t->lock);
	o->on_server = false;
	o->sgen++;
	pthread_mutex_unlock(&t->lock);
	r = open_rpc(c, cr, o, CLAIM_FH, share, false, NULL);
	pthread_mutex_unlock(&o->mu);
	return r;
}

/*
 * One I/O attempt with the stateid sid (NULL: anonymous): 0, -NFS4ERR_x
 * or -errno.  arg: the procedure's own arguments.
 */
typedef int (*io_fn)(struct nfs4_client *c, const struct rpc_cred *cr,
		     const struct nfs4_stateid *sid, void *arg);

/*
 * Run fn with the current stateid of op (NULL: anonymous); a refused
 * stateid is recovered (io_recover) and fn retried, at most MAX_RETRIES
 * times.  The one place I/O meets recovery.
 */
static int with_stateid(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
			io_fn fn, void *arg)
{
	struct nfs4_stateid sid;
	uint32_t gen;
	int rc, tries;

	for (tries = 0;; tries++) {
		rc = io_stateid(c, op, &sid, &gen);
		if (rc)
			return rc;
		rc = fn(c, cr, op ? &sid : NULL, arg);
		if (!op || !nfs4_stateid_error(rc) || tries >= MAX_RETRIES)
			return rc;
		rc = io_recover(c, cr, op, gen, rc);
		if (rc)
			return rc;
	}
}

struct io_args {
	const struct nfs4_fh *fh;
	uint64_t off;
	uint32_t count, stable;
	void *buf;
	const void *wbuf;
	uint32_t *done, *committed;
	uint8_t *verf;
	bool *eof;
	void **rec;
	const uint8_t **data;
	const struct nfs4_sattr *sa;
	struct nfs4_attr *attr;
};

static int do_read(struct nfs4_client *c, const struct rpc_cred *cr, const struct nfs4_stateid *sid,
		   void *arg)
{
	struct io_args *a = arg;

	return nfs4_read(c, cr, a->fh, sid, a->off, a->count, a->buf, a->done, a->eof);
}

int nfs4_read_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		   uint64_t off, uint32_t count, void *buf, uint32_t *got, bool *eof)
{
	struct io_args a = {
		.fh = &op->fh, .off = off, .count = count, .buf = buf, .done = got, .eof = eof};

	return with_stateid(c, cr, op, do_read, &a);
}

/* READ whose reply record is handed over (zero copy): *rec owns *data. */
static int do_read_rec(struct nfs4_client *c, const struct rpc_cred *cr,
		       const struct nfs4_stateid *sid, void *arg)
{
	struct io_args *a = arg;

	return nfs4_read_rec(c, cr, a->fh, sid, a->off, a->count, a->rec, a->data, a->done, a->eof);
}

int nfs4_read_open_rec(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		       uint64_t off, uint32_t count, void **rec, const uint8_t **data,
		       uint32_t *got, bool *eof)
{
	struct io_args a = {.fh = &op->fh,
			    .off = off,
			    .count = count,
			    .rec = rec,
			    .data = data,
			    .done = got,
			    .eof = eof};

	*rec = NULL;
	*data = NULL;
	*got = 0;
	return with_stateid(c, cr, op, do_read_rec, &a);
}

static int do_write(struct nfs4_client *c, const struct rpc_cred *cr,
		    const struct nfs4_stateid *sid, void *arg)
{
	struct io_args *a = arg;

	return nfs4_write(c, cr, a->fh, sid, a->off, a->wbuf, a->count, a->stable, a->done,
			  a->committed, a->verf);
}

int nfs4_write_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		    uint64_t off, const void *buf, uint32_t len, uint32_t stable, uint32_t *written,
		    uint32_t *committed, uint8_t verf[NFS4_VERIFIER_SIZE])
{
	struct io_args a = {.fh = &op->fh,
			    .off = off,
			    .count = len,
			    .stable = stable,
			    .wbuf = buf,
			    .done = written,
			    .committed = committed,
			    .verf = verf};

	return with_stateid(c, cr, op, do_write, &a);
}

static int do_setattr(struct nfs4_client *c, const struct rpc_cred *cr,
		      const struct nfs4_stateid *sid, void *arg)
{
	struct io_args *a = arg;

	return nfs4_setattr(c, cr, a->fh, sid, a->sa, a->attr);
}

int nfs4_setattr_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		      const struct nfs4_fh *fh, const struct nfs4_sattr *sa, struct nfs4_attr *attr)
{
	struct io_args a = {.fh = fh, .sa = sa, .attr = attr};

	return with_stateid(c, cr, op, do_setattr, &a);
}

/*
 * nfs4_read_open() without the copy (issue 10): the reply record is handed
 * over in *rec (free() it) and *data points at the bytes read inside it.
 */

/* ---- locks ---- */

static struct lock_state *lock_find(struct nfs4_open *o, uint64_t owner, bool add)
{
	struct lock_state *l;

	for (l = o->locks; l; l = l->next)
		if (l->owner == owner)
			return l;
	if (!add)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->owner = owner;
	l->next = o->locks;
	o->locks = l;
	return l;
}

static uint64_t range_end(uint64_t off, uint64_t len)
{
	return len > UINT64_MAX - off ? UINT64_MAX : off + len;
}

/* Take [off, off+len) out of the granted ranges (splitting); t->lock held. */
static int ranges_sub(struct lock_state *l, uint64_t off, uint64_t len)
{
	uint64_t end = range_end(off, len);
	struct lock_range **pp = &l->ranges;

	while (*pp) {
		struct lock_range *r = *pp;
		uint64_t rend = range_end(r->off, r->len);

		if (rend <= off || r->off >= end) {
			pp = &r->next;
			continue;
		}
		if (r->off < off && rend > end) {
			struct lock_range *right = calloc(1, sizeof(*right));

			if (!right)
				return -ENOMEM;
			right->type = r->type;
			right->off = end;
			right->len = rend == UINT64_MAX ? UINT64_MAX : rend - end;
			right->next = r->next;
			r->len = off - r->off;
			r->next = right;
			return 0;
		}
		if (r->off < off) {
			r->len = off - r->off;
		} else if (rend > end) {
			r->len = rend == UINT64_MAX ? UINT64_MAX : rend - end;
			r->off = end;
		} else {
			*pp = r->next;
			free(r);
			continue;
		}
		pp = &r->next;
	}
	return 0;
}

static int ranges_add(struct lock_state *l, uint32_t type, uint64_t off, uint64_t len)
{
	struct lock_range *r, **pp;

	if (ranges_sub(l, off, len))
		return -ENOMEM;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->type = type == READW_LT ? READ_LT : type == WRITEW_LT ? WRITE_LT : type;
	r->off = off;
	r->len = len;
	for (pp = &l->ranges; *pp; pp = &(*pp)->next)
		;
	*pp = r;
	return 0;
}

/* LOCK for l of o (reclaim: inside the grace period); updates l->sid. */
static int lock_rpc(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *o,
		    struct lock_state *l, uint32_t type, uint64_t off, uint64_t len, bool reclaim,
		    struct nfs4_lock_denied *denied)
{
	struct nfs4_lock_args a = {
		.locktype = type, .offset = off, .length = len, .reclaim = reclaim};
	struct nfs4_lock_denied dummy;
	struct nfs4_compound cp;
	struct nfs4_stateid sid;
	uint8_t owner[NFS4_OWNER_LEN];
	int rc;

	nfs4_make_owner(owner, "efsl", o->oo->id, l->owner);
	pthread_mutex_lock(&c->st->lock);
	a.new_lock_owner = !l->have;
	a.open_stateid = o->sid;
	a.lock_stateid = l->sid;
	pthread_mutex_unlock(&c->st->lock);
	a.owner.clientid = nfs4_clientid_of(c);
	a.owner.owner = owner;
	a.owner.owner_len = sizeof(owner);
	rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_LOCK, SMALL_ARGS, false);
	if (rc)
		return rc;
	cp.machine = reclaim;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, &o->fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_lock(&cp.args, &a));
	if (!rc)
		rc = nfs4_compound_run(&cp, cr);
	if (!rc)
		rc = nfs4_dec_putfh(cp.res);
	if (!rc)
		rc = nfs4_dec_lock(cp.res, &sid, denied ? denied : &dummy);
	nfs4_compound_fini(&cp);
	if (rc == 0) {
		pthread_mutex_lock(&c->st->lock);
		l->sid = sid;
		l->have = true;
		pthread_mutex_unlock(&c->st->lock);
	}
	return rc;
}

int nfs4_lock_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		   uint64_t owner, uint32_t locktype, uint64_t off, uint64_t len,
		   struct nfs4_lock_denied *denied)
{
	struct nfs4_state_table *t = c->st;
	struct lock_state *l;
	int rc;

	if (nfs4_open_lost(op))
		return -EIO;
	pthread_mutex_lock(&op->mu);
	pthread_mutex_lock(&t->lock);
	l = lock_find(op, owner, true);
	pthread_mutex_unlock(&t->lock);
	if (!l) {
		pthread_mutex_unlock(&op->mu);
		return -ENOMEM;
	}
	rc = lock_rpc(c, cr, op, l, locktype, off, len, false, denied);
	if (nfs4_stateid_error(rc) && l->have) {
		/* The lock stateid is gone (freed, revoked): start a new one. */
		pthread_mutex_lock(&t->lock);
		l->have = false;
		pthread_mutex_unlock(&t->lock);
		rc = lock_rpc(c, cr, op, l, locktype, off, len, false, denied);
	}
	if (rc == 0) {
		pthread_mutex_lock(&t->lock);
		rc = ranges_add(l, locktype, off, len);
		t->stats.lock_states++;
		pthread_mutex_unlock(&t->lock);
	}
	pthread_mutex_unlock(&op->mu);
	return rc;
}

int nfs4_unlock_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		     uint64_t owner, uint64_t off, uint64_t len)
{
	struct nfs4_state_table *t = c->st;
	struct nfs4_compound cp;
	struct nfs4_stateid sid;
	struct lock_state *l;
	bool again;
	int rc, tries = 0;

	pthread_mutex_lock(&op->mu);
	pthread_mutex_lock(&t->lock);
	l = lock_find(op, owner, false);
	if (!l || !l->have || !l->ranges) {
		pthread_mutex_unlock(&t->lock);
		pthread_mutex_unlock(&op->mu);
		return 0;
	}
retry:
	sid = l->sid;
	pthread_mutex_unlock(&t->lock);
	rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_LOCKU, SMALL_ARGS, false);
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, &op->fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_locku(&cp.args, WRITE_LT, &sid, off, len));
	if (!rc)
		rc = nfs4_compound_run(&cp, cr);
	if (!rc)
		rc = nfs4_dec_putfh(cp.res);
	if (!rc)
		rc = nfs4_dec_locku(cp.res, &sid);
	nfs4_compound_fini(&cp);
	pthread_mutex_lock(&t->lock);
	/* Recovery reclaimed the lock with a new stateid meanwhile: unlock that one. */
	again = nfs4_stateid_error(rc) && l->have && !sid_same(&sid, &l->sid);
	if (again && tries++ < MAX_RETRIES)
		goto retry;
	if (rc == -NFS4ERR_LOCK_RANGE || nfs4_stateid_error(rc))
		rc = 0; /* nothing locked there (any more) */
	if (rc == 0) {
		if (l->have && sid_same(&sid, &l->sid))
			l->sid.seqid = sid.seqid;
		rc = ranges_sub(l, off, len);
	}
	pthread_mutex_unlock(&t->lock);
	pthread_mutex_unlock(&op->mu);
	return rc;
}

int nfs4_lockt_open(struct nfs4_client *c, const struct rpc_cred *cr, struct nfs4_open *op,
		    uint64_t owner, uint32_t locktype, uint64_t off, uint64_t len,
		    struct nfs4_lock_denied *denied)
{
	struct nfs4_compound cp;
	struct nfs4_lock_owner lo;
	uint8_t bytes[NFS4_OWNER_LEN];
	int rc;

	nfs4_make_owner(bytes, "efsl", op->oo->id, owner);
	lo.clientid = nfs4_clientid_of(c);
	lo.owner = bytes;
	lo.owner_len = sizeof(bytes);
	rc = nfs4_compound_init(&cp, c, NFS4_PROC_ID_LOCKT, SMALL_ARGS, true);
	if (rc)
		return rc;
	rc = nfs4_compound_op(&cp, nfs4_enc_putfh(&cp.args, &op->fh));
	if (!rc)
		rc = nfs4_compound_op(&cp, nfs4_enc_lockt(&cp.args, locktype, off, len, &lo));
	if (!rc)
		rc = nfs4_compound_run(&cp, cr);
	if (!rc)
		rc = nfs4_dec_putfh(cp.res);
	if (!rc)
		rc = nfs4_dec_lockt(cp.res, denied);
	nfs4_compound_fini(&cp);
	return rc;
}

bool nfs4_open_has_locks(struct nfs4_client *c, struct nfs4_open *op, uint64_t owner)
{
	bool held = false;

	pthread_mutex_lock(&c->st->lock);
	for (struct lock_state *l = op->locks; l && !held; l = l->next)
		held = l->owner == owner && l->ranges != NULL;
	pthread_mutex_unlock(&c->st->lock);
	return held;
}

/* ---- recovery ---- */

/* Referenced snapshot of the opens that have server state. */
static struct nfs4_open **opens_snapshot(struct nfs4_client *c, size_t *n)
{
	struct nfs4_state_table *t = c->st;
	struct nfs4_open **v, *o;
	size_t k = 0, cap = 0;

	pthread_mutex_lock(&t->lock);
	for (o = t->opens; o; o = o->next)
		cap++;
	v = calloc(cap ? cap : 1, sizeof(*v));
	for (o = t->opens; v && o; o = o->next) {
		if (!o->on_server && !o->needs_reopen)
			continue;
		__atomic_fetch_add(&o->refs, 1, __ATOMIC_RELAXED);
		v[k++] = o;
	}
	pthread_mutex_unlock(&t->lock);
	*n = k;
	return v;
}

static void opens_release(struct nfs4_client *c, struct nfs4_open **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		nfs4_open_put(c, v[i]);
	free(v);
}

static void mark_lost_locked(struct nfs4_state_table *t, struct nfs4_open *o, const char *why)
{
	if (!has_ranges_locked(o) || o->lost)
		return;
	o->lost = true;
	t->stats.lost_opens++;
	efs_log(EFS_LOG_ERR, "locks lost (%s): I/O on the file fails with EIO until it is closed",
		why);
}

void nfs4_state_reclaim(struct nfs4_client *c)
{
	struct nfs4_state_table *t = c->st;
	size_t n, i;
	struct nfs4_open **v = opens_snapshot(c, &n);

	for (i = 0; v && i < n; i++) {
		struct nfs4_open *o = v[i];
		struct lock_state *l;
		uint32_t share;
		int rc;

		pthread_mutex_lock(&t->lock);
		share = o->share ? o->share : share_union(o);
		pthread_mutex_unlock(&t->lock);
		if (!share)
			continue;
		rc = open_rpc(c, &o->cred, o, CLAIM_PREVIOUS, share, true, NULL);
		if (rc) {
			efs_log(EFS_LOG_NOTICE, "reclaim of an open refused: %s",
				nfs4_err_name(rc));
			pthread_mutex_lock(&t->lock);
			o->needs_reopen = true;
			o->on_server = false;
			pthread_mutex_unlock(&t->lock);
			continue;
		}
		pthread_mutex_lock(&t->lock);
		t->stats.reclaimed_opens++;
		for (l = o->locks; l; l = l->next)
			l->have = false;
		pthread_mutex_unlock(&t->lock);
		for (l = o->locks; l; l = l->next) {
			for (struct lock_range *r = l->ranges; r; r = r->next) {
				rc = lock_rpc(c, &o->cred, o, l, r->type, r->off, r->len, true,
					      NULL);
				pthread_mutex_lock(&t->lock);
				if (rc)
					mark_lost_locked(t, o, nfs4_err_name(rc));
				else
					t->stats.reclaimed_locks++;
				pthread_mutex_unlock(&t->lock);
			}
		}
	}
	opens_release(c, v, n);
}

void nfs4_state_reopen_lost(struct nfs4_client *c)
{
	struct nfs4_state_table *t = c->st;
	size_t n, i;
	struct nfs4_open **v = opens_snapshot(c, &n);

	for (i = 0; v && i < n; i++) {
		struct nfs4_open *o = v[i];
		uint32_t share;
		bool again;
		int rc;

		pthread_mutex_lock(&t->lock);
		again = o->needs_reopen;
		share = share_union(o);
		if (again)
			mark_lost_locked(t, o, "the server did not let us reclaim them");
		pthread_mutex_unlock(&t->lock);
		if (!again || !share)
			continue;
		/* Not a reclaim: waits out the grace period of other clients. */
		rc = open_rpc(c, &o->cred, o, CLAIM_FH, share, false, NULL);
		pthread_mutex_lock(&t->lock);
		o->sgen++;
		if (rc) {
			o->lost = true;
			t->stats.lost_opens++;
		}
		pthread_mutex_unlock(&t->lock);
		if (rc)
			efs_log(EFS_LOG_ERR,
				"cannot open a file again after the server restart: %s",
				nfs4_err_name(rc));
	}
	opens_release(c, v, n);
}

/* TEST_STATEID of one stateid: true when the server still knows it. */
static bool stateid_valid(struct nfs4_client *c, const struct nfs4_stateid *sid)
{
	struct nfs4_compound cp;
	struct rpc_cred cr;
	uint32_t status = 0;
	int rc;

	nfs4_machine_cred(&cr);
	if (nfs4_compound_init(&cp, c, NFS4_PROC_ID_SESSION, SMALL_ARGS, true))
		return true;
	rc = nfs4_compound_op(&cp, nfs4_enc_test_stateid(&cp.args, sid));
	if (!rc)
		rc = nfs4_compound_run(&cp, &cr);
	if (!rc)
		rc = nfs4_dec_test_stateid(cp.res, &status);
	nfs4_compound_fini(&cp);
	if (rc)
		return true; /* cannot tell: leave it to the I/O path */
	return status == NFS4_OK;
}

static void free_stateid(struct nfs4_client *c, const struct nfs4_stateid *sid)
{
	struct nfs4_compound cp;
	struct rpc_cred cr;
	int rc;

	nfs4_machine_cred(&cr);
	if (nfs4_compound_init(&cp, c, NFS4_PROC_ID_SESSION, SMALL_ARGS, false))
		return;
	rc = nfs4_compound_op(&cp, nfs4_enc_free_stateid(&cp.args, sid));
	if (!rc)
		rc = nfs4_compound_run(&cp, &cr);
	if (!rc)
		rc = nfs4_dec_free_stateid(cp.res);
	nfs4_compound_fini(&cp);
}

void nfs4_state_check(struct nfs4_client *c)
{
	struct nfs4_state_table *t = c->st;
	size_t n, i;
	struct nfs4_open **v = opens_snapshot(c, &n);

	for (i = 0; v && i < n; i++) {
		struct nfs4_open *o = v[i];
		struct nfs4_stateid sid;
		bool on, lost_lock = false;

		pthread_mutex_lock(&t->lock);
		sid = o->sid;
		on = o->on_server;
		pthread_mutex_unlock(&t->lock);
		for (struct lock_state *l = o->locks; on && l; l = l->next) {
			struct nfs4_stateid ls;
			bool have;

			pthread_mutex_lock(&t->lock);
			ls = l->sid;
			have = l->have && l->ranges;
			pthread_mutex_unlock(&t->lock);
			if (have && !stateid_valid(c, &ls)) {
				free_stateid(c, &ls);
				pthread_mutex_lock(&t->lock);
				l->have = false;
				mark_lost_locked(t, o, "revoked by the server");
				pthread_mutex_unlock(&t->lock);
				lost_lock = true;
			}
		}
		if (on && !stateid_valid(c, &sid)) {
			free_stateid(c, &sid);
			pthread_mutex_lock(&t->lock);
			o->on_server = false;
			o->needs_reopen = true;
			mark_lost_locked(t, o, "the open was revoked by the server");
			pthread_mutex_unlock(&t->lock);
		}
		(void)lost_lock;
	}
	opens_release(c, v, n);
	nfs4_state_reopen_lost(c);
}

void nfs4_state_dump(struct nfs4_client *c, void (*line)(void *arg, const char *text), void *arg)
{
	struct nfs4_state_table *t = c->st;
	char buf[256];
	unsigned int shown = 0;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	for (struct nfs4_open *o = t->opens; o && shown < 64; o = o->next, shown++) {
		unsigned int ranges = 0, owners = 0, k;
		int n;

		for (struct lock_state *l = o->locks; l; l = l->next) {
			owners += l->ranges != NULL;
			for (struct lock_range *r = l->ranges; r; r = r->next)
				ranges++;
		}
		n = snprintf(buf, sizeof(buf), "open: fh ");
		for (k = 0; k < o->fh.len && k < 8 && n < (int)sizeof(buf) - 3; k++)
			n += snprintf(buf + n, sizeof(buf) - n, "%02x", o->fh.data[k]);
		snprintf(buf + n, sizeof(buf) - n,
			 "%s uid %u gid %u, fds r/w/rw %u/%u/%u, %s%s, locks %u ranges of %u "
			 "owners%s",
			 o->fh.len > 8 ? "..." : "", o->oo->uid, o->oo->gid, o->n_rd, o->n_wr,
			 o->n_rw, o->on_server ? "open on the server" : "not open on the server",
			 o->needs_reopen ? " (to re-open)" : "", ranges, owners,
			 o->lost ? ", LOST (I/O fails with EIO)" : "");
		line(arg, buf);
	}
	if (t->opens && shown == 64)
		line(arg, "open: (more not shown)");
	pthread_mutex_unlock(&t->lock);
}

void nfs4_state_get_stats(struct nfs4_client *c, struct nfs4_state_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!c->st)
		return;
	pthread_mutex_lock(&c->st->lock);
	*st = c->st->stats;
	pthread_mutex_unlock(&c->st->lock);
}
