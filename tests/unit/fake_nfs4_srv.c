/*
 * fake_nfs4_srv.c - the scripted NFSv4.1 server of the unit tests; see
 * fake_nfs4_srv.h.  Arguments are decoded with the project's bounded XDR
 * getters; replies are encoded by hand (every field written here, in the
 * order of RFC 5662), so that the client's decoders are checked against an
 * independent encoder.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "fake_nfs4_srv.h"
#include "rpc/rpc_clnt.h"
#include "util/xdr.h"

/* ---- a growable reply buffer ---- */

struct obuf {
	uint8_t *p;
	size_t len, cap;
};

static void ob_room(struct obuf *o, size_t n)
{
	if (o->len + n <= o->cap)
		return;
	o->cap = (o->len + n) * 2 + 256;
	o->p = realloc(o->p, o->cap);
	if (!o->p)
		abort();
}

static void put32(struct obuf *o, uint32_t v)
{
	ob_room(o, 4);
	o->p[o->len++] = v >> 24;
	o->p[o->len++] = v >> 16;
	o->p[o->len++] = v >> 8;
	o->p[o->len++] = v;
}

static void put64(struct obuf *o, uint64_t v)
{
	put32(o, (uint32_t)(v >> 32));
	put32(o, (uint32_t)v);
}

static void putfixed(struct obuf *o, const void *p, size_t n)
{
	ob_room(o, XDR_PAD(n));
	memcpy(o->p + o->len, p, n);
	memset(o->p + o->len + n, 0, XDR_PAD(n) - n);
	o->len += XDR_PAD(n);
}

static void putopaque(struct obuf *o, const void *p, uint32_t n)
{
	put32(o, n);
	putfixed(o, p, n);
}

static void patch32(struct obuf *o, size_t off, uint32_t v)
{
	o->p[off] = v >> 24;
	o->p[off + 1] = v >> 16;
	o->p[off + 2] = v >> 8;
	o->p[off + 3] = v;
}

/* ---- helpers ---- */

static void note_bad(struct fsrv *s, const char *why, uint32_t op)
{
	if (!s->bad[0])
		snprintf(s->bad, sizeof(s->bad), "%s (op %u)", why, op);
}

static void fh_of(uint32_t file, uint8_t fh[8])
{
	memcpy(fh, "FAKE", 4);
	fh[4] = file >> 24;
	fh[5] = file >> 16;
	fh[6] = file >> 8;
	fh[7] = file;
}

static int file_of_fh(const uint8_t *p, uint32_t n, uint32_t *file)
{
	uint32_t f;

	if (n != 8 || memcmp(p, "FAKE", 4) != 0)
		return -1;
	f = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	if (f >= FSRV_MAX_FILES)
		return -1;
	*file = f;
	return 0;
}

static uint32_t file_find(struct fsrv *s, const char *name)
{
	for (uint32_t i = 1; i < FSRV_MAX_FILES; i++)
		if (s->names[i][0] && strcmp(s->names[i], name) == 0)
			return i;
	return 0;
}

uint32_t fsrv_file_locked(struct fsrv *s, const char *name)
{
	uint32_t i;

	for (i = 1; i < FSRV_MAX_FILES; i++)
		if (s->names[i][0] && strcmp(s->names[i], name) == 0)
			return i;
	for (i = 1; i < FSRV_MAX_FILES; i++)
		if (!s->names[i][0]) {
			snprintf(s->names[i], sizeof(s->names[i]), "%s", name);
			return i;
		}
	return 0;
}

static void stateid_put(struct fsrv *s, struct obuf *o, uint32_t idx)
{
	uint8_t other[NFS4_OTHER_SIZE];

	other[0] = s->epoch >> 24;
	other[1] = s->epoch >> 16;
	other[2] = s->epoch >> 8;
	other[3] = s->epoch;
	other[4] = idx >> 24;
	other[5] = idx >> 16;
	other[6] = idx >> 8;
	other[7] = idx;
	memcpy(other + 8, "sTid", 4);
	put32(o, s->states[idx].seqid);
	putfixed(o, other, sizeof(other));
}

/* A stateid argument: 0 with *idx, or an NFS4ERR; *anon for all zeros. */
static uint32_t stateid_get(struct fsrv *s, struct xdr *x, int kind, uint32_t *idx, bool *anon,
			    uint32_t *seqid_out)
{
	static const uint8_t zero[NFS4_OTHER_SIZE];
	uint8_t other[NFS4_OTHER_SIZE];
	uint32_t seqid, ep, i;

	if (anon)
		*anon = false;
	if (xdr_get_u32(x, &seqid) || xdr_get_fixed_copy(x, other, sizeof(other)))
		return NFS4ERR_BADXDR;
	if (seqid_out)
		*seqid_out = seqid;
	if (seqid == 0 && memcmp(other, zero, sizeof(zero)) == 0) {
		if (anon)
			*anon = true;
		return NFS4ERR_BAD_STATEID;
	}
	ep = (uint32_t)other[0] << 24 | (uint32_t)other[1] << 16 | (uint32_t)other[2] << 8 |
	     other[3];
	i = (uint32_t)other[4] << 24 | (uint32_t)other[5] << 16 | (uint32_t)other[6] << 8 |
	    other[7];
	if (memcmp(other + 8, "sTid", 4) != 0)
		return NFS4ERR_BAD_STATEID;
	if (ep != s->epoch)
		return NFS4ERR_STALE_STATEID;
	if (i >= FSRV_MAX_STATES || !s->states[i].used || (kind && s->states[i].kind != kind))
		return NFS4ERR_BAD_STATEID;
	if (seqid && seqid != s->states[i].seqid)
		return seqid < s->states[i].seqid ? NFS4ERR_OLD_STATEID : NFS4ERR_BAD_STATEID;
	*idx = i;
	return NFS4_OK;
}

static int state_new(struct fsrv *s)
{
	for (int i = 0; i < FSRV_MAX_STATES; i++)
		if (!s->states[i].used) {
			memset(&s->states[i], 0, sizeof(s->states[i]));
			s->states[i].used = true;
			return i;
		}
	return -1;
}

static struct fsrv_client *client_by_id(struct fsrv *s, uint64_t id)
{
	for (int i = 0; i < FSRV_MAX_CLIENTS; i++)
		if (s->clients[i].used && s->clients[i].clientid == id)
			return &s->clients[i];
	return NULL;
}

static struct fsrv_session *session_by_id(struct fsrv *s, const uint8_t *id)
{
	for (int i = 0; i < FSRV_MAX_SESSIONS; i++)
		if (s->sessions[i].used && memcmp(s->sessions[i].id, id, NFS4_SESSIONID_SIZE) == 0)
			return &s->sessions[i];
	return NULL;
}

static void slot_free(struct fsrv_slot *sl)
{
	free(sl->rep);
	free(sl->req);
	memset(sl, 0, sizeof(*sl));
}

static void session_free(struct fsrv_session *ss)
{
	for (int i = 0; i < FSRV_SLOTS; i++)
		slot_free(&ss->slots[i]);
	memset(ss, 0, sizeof(*ss));
}

/* The client's lease expired: its sessions and state are gone. */
static void forget_client(struct fsrv *s, uint64_t clid)
{
	int i;

	for (i = 0; i < FSRV_MAX_SESSIONS; i++)
		if (s->sessions[i].used && s->sessions[i].clientid == clid)
			session_free(&s->sessions[i]);
	for (i = 0; i < FSRV_MAX_STATES; i++)
		if (s->states[i].used && s->states[i].clientid == clid)
			s->states[i].used = false;
	for (i = 0; i < FSRV_MAX_CLIENTS; i++)
		if (s->clients[i].used && s->clients[i].clientid == clid)
			memset(&s->clients[i], 0, sizeof(s->clients[i]));
}

static void kill_sessions_locked(struct fsrv *s)
{
	for (int i = 0; i < FSRV_MAX_SESSIONS; i++)
		if (s->sessions[i].used)
			session_free(&s->sessions[i]);
}

static void restart_locked(struct fsrv *s, bool grace)
{
	int i;

	kill_sessions_locked(s);
	for (i = 0; i < FSRV_MAX_CLIENTS; i++) {
		s->prev_owner_len[i] = 0;
		if (s->clients[i].used && grace) {
			memcpy(s->prev_owners[i], s->clients[i].owner, s->clients[i].owner_len);
			s->prev_owner_len[i] = s->clients[i].owner_len;
		}
		memset(&s->clients[i], 0, sizeof(s->clients[i]));
	}
	memset(s->states, 0, sizeof(s->states));
	s->epoch++;
	s->grace = grace;
	s->grace_end_ms = 0;
}

/* Ranges [a, a+al) and [b, b+bl) overlap (len UINT64_MAX: to the end). */
static bool overlap(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
	uint64_t ae = al > UINT64_MAX - a ? UINT64_MAX : a + al;
	uint64_t be = bl > UINT64_MAX - b ? UINT64_MAX : b + bl;

	return a < be && b < ae;
}

/* ---- operations ---- */

struct cstate {
	struct fsrv_call *call;
	uint64_t clientid; /* of the session (SEQUENCE) */
	bool have_fh;
	uint32_t file;
	bool first_file;
};

static void set_fh(struct cstate *cs, uint32_t file)
{
	cs->have_fh = true;
	cs->file = file;
}

static void note_file(struct cstate *cs)
{
	if (!cs->first_file && cs->have_fh) {
		cs->call->file = cs->file;
		cs->first_file = true;
	}
}

static uint32_t skip_fattr(struct xdr *x)
{
	uint32_t n, len;
	const uint8_t *p;

	if (xdr_get_u32(x, &n) || n > 8 || xdr_skip(x, (size_t)n * 4) ||
	    xdr_get_opaque(x, &p, &len, 65536))
		return NFS4ERR_BADXDR;
	return 0;
}

static uint32_t op_exchange_id(struct fsrv *s, struct xdr *x, struct obuf *o)
{
	uint8_t verf[8];
	const uint8_t *own;
	uint32_t own_len, flags, sp, nimpl;
	struct fsrv_client *cl = NULL;
	int i;

	if (xdr_get_fixed_copy(x, verf, 8) || xdr_get_opaque(x, &own, &own_len, 256) ||
	    xdr_get_u32(x, &flags) || xdr_get_u32(x, &sp) || sp != 0 || xdr_get_u32(x, &nimpl) ||
	    nimpl > 1)
		return NFS4ERR_BADXDR;
	if (nimpl) {
		char tmp[256];

		if (xdr_get_string(x, tmp, sizeof(tmp)) || xdr_get_string(x, tmp, sizeof(tmp)) ||
		    xdr_skip(x, 12))
			return NFS4ERR_BADXDR;
	}
	for (i = 0; i < FSRV_MAX_CLIENTS; i++)
		if (s->clients[i].used && s->clients[i].owner_len == own_len &&
		    memcmp(s->clients[i].owner, own, own_len) == 0)
			cl = &s->clients[i];
	if (!cl) {
		for (i = 0; i < FSRV_MAX_CLIENTS && !cl; i++)
			if (!s->clients[i].used)
				cl = &s->clients[i];
		if (!cl)
			return NFS4ERR_RESOURCE;
		memset(cl, 0, sizeof(*cl));
		cl->used = true;
		cl->clientid = (uint64_t)s->epoch << 32 | ++s->next_client;
		memcpy(cl->owner, own, own_len);
		cl->owner_len = own_len;
		cl->create_seq = 1;
		for (i = 0; i < FSRV_MAX_CLIENTS; i++)
			if (s->grace && s->prev_owner_len[i] == own_len &&
			    memcmp(s->prev_owners[i], own, own_len) == 0)
				cl->reclaimable = true;
	}
	put32(o, NFS4_OK);
	put64(o, cl->clientid);
	put32(o, cl->create_seq);
	put32(o, 0x00010000); /* EXCHGID4_FLAG_USE_NON_PNFS */
	put32(o, 0);	      /* SP4_NONE */
	put64(o, 1);	      /* so_minor_id */
	putopaque(o, "fake", 4);
	putopaque(o, "fake", 4);
	put32(o, 0); /* no impl id */
	return NFS4_OK;
}

static uint32_t skip_channel(struct xdr *x, uint32_t *maxreqs)
{
	uint32_t v[6], n;

	for (int i = 0; i < 6; i++)
		if (xdr_get_u32(x, &v[i]))
			return NFS4ERR_BADXDR;
	if (xdr_get_u32(x, &n) || n > 1 || xdr_skip(x, n * 4))
		return NFS4ERR_BADXDR;
	if (maxreqs)
		*maxreqs = v[5];
	return 0;
}

static void put_channel(struct obuf *o, uint32_t maxreqs)
{
	put32(o, 0);
	put32(o, 1048576 + 8192);
	put32(o, 1048576 + 8192);
	put32(o, 16384);
	put32(o, 16);
	put32(o, maxreqs);
	put32(o, 0);
}

static uint32_t op_create_session(struct fsrv *s, struct xdr *x, struct obuf *o)
{
	uint64_t clid;
	uint32_t seq, flags, fore_reqs, cbprog, nsec, i;
	struct fsrv_client *cl;
	struct fsrv_session *ss = NULL;

	if (xdr_get_u64(x, &clid) || xdr_get_u32(x, &seq) || xdr_get_u32(x, &flags) ||
	    skip_channel(x, &fore_reqs) || skip_channel(x, NULL) || xdr_get_u32(x, &cbprog) ||
	    xdr_get_u32(x, &nsec) || nsec > 4)
		return NFS4ERR_BADXDR;
	for (i = 0; i < nsec; i++) {
		uint32_t fl, stamp, uid, gid, ng;
		char m[256];

		if (xdr_get_u32(x, &fl) || fl != 1 || xdr_get_u32(x, &stamp) ||
		    xdr_get_string(x, m, sizeof(m)) || xdr_get_u32(x, &uid) ||
		    xdr_get_u32(x, &gid) || xdr_get_u32(x, &ng) || ng > 16 || xdr_skip(x, ng * 4))
			return NFS4ERR_BADXDR;
	}
	cl = client_by_id(s, clid);
	if (!cl)
		return NFS4ERR_STALE_CLIENTID;
	if (seq != cl->create_seq)
		return NFS4ERR_SEQ_MISORDERED;
	for (i = 0; i < FSRV_MAX_SESSIONS && !ss; i++)
		if (!s->sessions[i].used)
			ss = &s->sessions[i];
	if (!ss)
		return NFS4ERR_RESOURCE;
	memset(ss, 0, sizeof(*ss));
	ss->used = true;
	ss->clientid = clid;
	ss->nslots = fore_reqs < FSRV_SLOTS ? fore_reqs : FSRV_SLOTS;
	if (!ss->nslots)
		ss->nslots = 1;
	memcpy(ss->id, "SESS", 4);
	ss->id[4] = s->epoch;
	s->next_session++;
	memcpy(ss->id + 8, &s->next_session, sizeof(s->next_session));
	cl->create_seq++;
	put32(o, NFS4_OK);
	putfixed(o, ss->id, NFS4_SESSIONID_SIZE);
	put32(o, seq);
	put32(o, 0);
	put_channel(o, ss->nslots);
	put_channel(o, 1);
	return NFS4_OK;
}

/* I/O with the anonymous stateid against the byte-range locks of the file. */
static bool anon_conflict(struct fsrv *s, uint32_t file, bool write, uint64_t off, uint64_t len)
{
	for (int i = 0; i < FSRV_MAX_STATES; i++) {
		struct fsrv_state *l = &s->states[i];

		if (!l->used || l->kind != 2 || l->file != file)
			continue;
		for (unsigned int r = 0; r < l->nranges; r++)
			if (overlap(off, len ? len : 1, l->ranges[r].off, l->ranges[r].len) &&
			    (write || l->ranges[r].type == WRITE_LT))
				return true;
	}
	return false;
}

static uint32_t op_read(struct fsrv *s, struct cstate *cs, struct xdr *x, struct obuf *o)
{
	uint64_t off;
	uint32_t count, idx, st;
	bool anon;

	st = stateid_get(s, x, 1, &idx, &anon, NULL);
	if (xdr_get_u64(x, &off) || xdr_get_u32(x, &count))
		return NFS4ERR_BADXDR;
	cs->call->anon_stateid = anon;
	note_file(cs);
	if (!cs->have_fh)
		return NFS4ERR_NOFILEHANDLE;
	if (anon) {
		/* As a real server: allowed unless another owner's lock is in the way. */
		if (anon_conflict(s, cs->file, false, off, count))
			return NFS4ERR_LOCKED;
	} else if (st) {
		return st;
	} else if (s->states[idx].file != cs->file) {
		return NFS4ERR_BAD_STATEID;
	}
	put32(o, NFS4_OK);
	if (off >= s->size[cs->file]) {
		count = 0;
	} else if (count > s->size[cs->file] - off) {
		count = (uint32_t)(s->size[cs->file] - off);
	}
	put32(o, off + count >= s->size[cs->file]);
	putopaque(o, count ? s->data[cs->file] + off : NULL, count);
	return NFS4_OK;
}

static uint32_t op_write(struct fsrv *s, struct cstate *cs, struct xdr *x, struct obuf *o)
{
	uint64_t off;
	uint32_t stable, len, idx, st;
	const uint8_t *p;
	bool anon;

	st = stateid_get(s, x, 1, &idx, &anon, NULL);
	if (xdr_get_u64(x, &off) || xdr_get_u32(x, &stable) || xdr_get_opaque(x, &p, &len, 1 << 20))
		return NFS4ERR_BADXDR;
	cs->call->anon_stateid = anon;
	note_file(cs);
	if (!cs->have_fh)
		return NFS4ERR_NOFILEHANDLE;
	if (anon) {
		if (anon_conflict(s, cs->file, true, off, len))
			return NFS4ERR_LOCKED;
	} else if (st) {
		return st;
	} else if (s->states[idx].file != cs->file ||
		   !(s->states[idx].share & OPEN4_SHARE_ACCESS_WRITE)) {
		return NFS4ERR_OPENMODE;
	}
	if (off > FSRV_FILE_SIZE || len > FSRV_FILE_SIZE - off)
		return NFS4ERR_FBIG;
	memcpy(s->data[cs->file] + off, p, len);
	if (off + len > s->size[cs->file])
		s->size[cs->file] = off + len;
	put32(o, NFS4_OK);
	put32(o, len);
	put32(o, FILE_SYNC4);
	putfixed(o, "verfverf", 8);
	return NFS4_OK;
}

static uint32_t op_open(struct fsrv *s, struct cstate *cs, struct xdr *x, struct obuf *o)
{
	uint32_t seqid, access, deny, otype, mode, claim, dt, file, i;
	uint64_t clid;
	const uint8_t *own;
	uint32_t own_len;
	char name[256];
	struct fsrv_client *cl;
	int idx = -1;

	if (xdr_get_u32(x, &seqid) || xdr_get_u32(x, &access) || xdr_get_u32(x, &deny) ||
	    xdr_get_u64(x, &clid) || xdr_get_opaque(x, &own, &own_len, 64) ||
	    xdr_get_u32(x, &otype))
		return NFS4ERR_BADXDR;
	mode = UINT32_MAX;
	if (otype == 1) { /* OPEN4_CREATE */
		if (xdr_get_u32(x, &mode))
			return NFS4ERR_BADXDR;
		if (mode == 2 || mode == 3) { /* EXCLUSIVE4(_1) */
			if (xdr_skip(x, 8))
				return NFS4ERR_BADXDR;
		}
		if (mode != 2 && skip_fattr(x))
			return NFS4ERR_BADXDR;
	}
	if (xdr_get_u32(x, &claim))
		return NFS4ERR_BADXDR;
	cs->call->claim = claim;
	if (claim == CLAIM_NULL) {
		if (xdr_get_string(x, name, sizeof(name)))
			return NFS4ERR_BADXDR;
	} else if (claim == CLAIM_PREVIOUS) {
		if (xdr_get_u32(x, &dt))
			return NFS4ERR_BADXDR;
	} else if (claim != CLAIM_FH) {
		return NFS4ERR_NOTSUPP;
	}
	if (!cs->have_fh)
		return NFS4ERR_NOFILEHANDLE;
	cl = client_by_id(s, clid);
	if (!cl || clid != cs->clientid)
		return NFS4ERR_STALE_CLIENTID;
	if (claim == CLAIM_PREVIOUS) {
		if (!s->grace || !cl->reclaimable || cl->reclaim_done)
			return NFS4ERR_NO_GRACE;
	} else if (s->grace) {
		return NFS4ERR_GRACE;
	}
	if (claim == CLAIM_NULL) {
		if (cs->file != 0)
			return NFS4ERR_NOTDIR;
		file = file_find(s, name);
		if (file && mode == 1) /* GUARDED4 */
			return NFS4ERR_EXIST;
		if (!file && otype != 1)
			return NFS4ERR_NOENT;
		if (!file)
			file = fsrv_file_locked(s, name);
		if (!file)
			return NFS4ERR_NOSPC;
	} else {
		file = cs->file;
	}
	if (file == 0)
		return NFS4ERR_ISDIR;
	access &= OPEN4_SHARE_ACCESS_BOTH;
	for (i = 0; i < FSRV_MAX_STATES; i++)
		if (s->states[i].used && s->states[i].kind == 1 && s->states[i].file == file &&
		    s->states[i].clientid == clid && s->states[i].owner_len == own_len &&
		    memcmp(s->states[i].owner, own, own_len) == 0)
			idx = (int)i;
	if (idx < 0) {
		idx = state_new(s);
		if (idx < 0)
			return NFS4ERR_RESOURCE;
		s->states[idx].kind = 1;
		s->states[idx].file = file;
		s->states[idx].clientid = clid;
		memcpy(s->states[idx].owner, own, own_len);
		s->states[idx].owner_len = own_len;
	}
	s->states[idx].seqid++;
	s->states[idx].share |= access;
	set_fh(cs, file);
	note_file(cs);
	put32(o, NFS4_OK);
	stateid_put(s, o, (uint32_t)idx);
	put32(o, 1); /* cinfo */
	put64(o, 1);
	put64(o, 2);
	put32(o, 0x4); /* OPEN4_RESULT_LOCKTYPE_POSIX */
	put32(o, 0);   /* attrset */
	put32(o, 0);   /* OPEN_DELEGATE_NONE */
	return NFS4_OK;
}

static void drop_locks_of(struct fsrv *s, uint32_t file, uint64_t clid)
{
	for (int i = 0; i < FSRV_MAX_STATES; i++)
		if (s->states[i].used && s->states[i].kind == 2 && s->states[i].file == file &&
		    s->states[i].clientid == clid && s->states[i].nranges == 0)
			s->states[i].used = false;
}

static uint32_t op_close(struct fsrv *s, struct cstate *cs, struct xdr *x, struct obuf *o,
			 bool downgrade)
{
	uint32_t seqid, idx, st, access = 0, deny = 0;

	if (!downgrade && xdr_get_u32(x, &seqid))
		return NFS4ERR_BADXDR;
	st = stateid_get(s, x, 1, &idx, NULL, NULL);
	if (downgrade &&
	    (xdr_get_u32(x, &seqid) || xdr_get_u32(x, &access) || xdr_get_u32(x, &deny)))
		return NFS4ERR_BADXDR;
	note_file(cs);
	if (st)
		return st;
	if (downgrade) {
		if (access & ~s->states[idx].share || !access)
			return NFS4ERR_INVAL;
		s->states[idx].share = access;
	} else {
		/* RFC 8881 section 18.2.3: no CLOSE while locks are held. */
		for (int i = 0; i < FSRV_MAX_STATES; i++)
			if (s->states[i].used && s->states[i].kind == 2 &&
			    s->states[i].parent == idx && s->states[i].nranges)
				return NFS4ERR_LOCKS_HELD;
	}
	s->states[idx].seqid++;
	put32(o, NFS4_OK);
	stateid_put(s, o, idx);
	if (!downgrade) {
		drop_locks_of(s, s->states[idx].file, s->states[idx].clientid);
		s->states[idx].used = false;
	}
	return NFS4_OK;
}

static void put_denied(struct obuf *o, const struct fsrv_state *ls, unsigned int r)
{
	put64(o, ls->ranges[r].off);
	put64(o, ls->ranges[r].len);
	put32(o, ls->ranges[r].type);
	put64(o, ls->clientid);
	putopaque(o, ls->owner, ls->owner_len);
}

/* A conflicting lock of another owner: its index and range, or -1. */
static int conflict(struct fsrv *s, uint32_t file, const uint8_t *own, uint32_t own_len,
		    uint64_t clid, uint32_t type, uint64_t off, uint64_t len, unsigned int *rr)
{
	bool wr = type == WRITE_LT || type == 4; /* WRITEW_LT */

	for (int i = 0; i < FSRV_MAX_STATES; i++) {
		struct fsrv_state *l = &s->states[i];

		if (!l->used || l->kind != 2 || l->file != file)
			continue;
		if (l->clientid == clid && l->owner_len == own_len &&
		    memcmp(l->owner, own, own_len) == 0)
			continue;
		for (unsigned int r = 0; r < l->nranges; r++)
			if (overlap(off, len, l->ranges[r].off, l->ranges[r].len) &&
			    (wr || l->ranges[r].type == WRITE_LT)) {
				*rr = r;
				return i;
			}
	}
	return -1;
}

static uint32_t op_lock(struct fsrv *s, struct cstate *cs, struct xdr *x, struct obuf *o)
{
	uint32_t type, oseq, lseq, st, oidx = 0, lidx = 0, own_len = 0;
	bool reclaim, newo;
	uint64_t off, len, clid = 0;
	const uint8_t *own = NULL;
	struct fsrv_client *cl;
	unsigned int rr;
	int c, i;

	if (xdr_get_u32(x, &type) || xdr_get_bool(x, &reclaim) || xdr_get_u64(x, &off) ||
	    xdr_get_u64(x, &len) || xdr_get_bool(x, &newo))
		return NFS4ERR_BADXDR;
	cs->call->lock_reclaim = reclaim;
	if (newo) {
		if (xdr_get_u32(x, &oseq))
			return NFS4ERR_BADXDR;
		st = stateid_get(s, x, 1, &oidx, NULL, NULL);
		if (xdr_get_u32(x, &lseq) || xdr_get_u64(x, &clid) ||
		    xdr_get_opaque(x, &own, &own_len, 64))
			return NFS4ERR_BADXDR;
	} else {
		st = stateid_get(s, x, 2, &lidx, NULL, NULL);
		if (xdr_get_u32(x, &lseq))
			return NFS4ERR_BADXDR;
	}
	note_file(cs);
	if (st)
		return st;
	if (!cs->have_fh)
		return NFS4ERR_NOFILEHANDLE;
	if (newo) {
		cl = client_by_id(s, clid);
		if (!cl || clid != cs->clientid)
			return NFS4ERR_STALE_CLIENTID;
	} else {
		cl = client_by_id(s, s->states[lidx].clientid);
		if (!cl)
			return NFS4ERR_STALE_CLIENTID;
	}
	if (reclaim) {
		if (!s->grace || !cl->reclaimable || cl->reclaim_done)
			return NFS4ERR_NO_GRACE;
	} else if (s->grace) {
		return NFS4ERR_GRACE;
	}
	if (newo) {
		if (s->states[oidx].file != cs->file)
			return NFS4ERR_BAD_STATEID;
		lidx = FSRV_MAX_STATES;
		for (i = 0; i < FSRV_MAX_STATES; i++)
			if (s->states[i].used && s->states[i].kind == 2 &&
			    s->states[i].file == cs->file && s->states[i].clientid == clid &&
			    s->states[i].owner_len == own_len &&
			    memcmp(s->states[i].owner, own, own_len) == 0)
				lidx = (uint32_t)i;
	} else {
		own = s->states[lidx].owner;
		own_len = s->states[lidx].owner_len;
		clid = s->states[lidx].clientid;
	}
	c = conflict(s, cs->file, own, own_len, clid, type, off, len, &rr);
	if (c >= 0) {
		put32(o, NFS4ERR_DENIED);
		put_denied(o, &s->states[c], rr);
		return NFS4ERR_DENIED;
	}
	if (lidx == FSRV_MAX_STATES) {
		i = state_new(s);
		if (i < 0)
			return NFS4ERR_RESOURCE;
		lidx = (uint32_t)i;
		s->states[lidx].kind = 2;
		s->states[lidx].parent = oidx;
		s->states[lidx].file = cs->file;
		s->states[lidx].clientid = clid;
		memcpy(s->states[lidx].owner, own, own_len);
		s->states[lidx].owner_len = own_len;
	}
	if (s->states[lidx].nranges < 8) {
		unsigned int n = s->states[lidx].nranges++;

		s->states[lidx].ranges[n].off = off;
		s->states[lidx].ranges[n].len = len;
		s->states[lidx].ranges[n].type = type == 4 ? WRITE_LT : type == 3 ? READ_LT : type;
	}
	s->states[lidx].seqid++;
	put32(o, NFS4_OK);
	stateid_put(s, o, lidx);
	return NFS4_OK;
}

static uint32_t op_locku(struct fsrv *s, struct cstate *cs, struct xdr *x, struct obuf *o)
{
	uint32_t type, seqid, idx, st;
	uint64_t off, len;
	struct fsrv_state *l;

	if (xdr_get_u32(x, &type) || xdr_get_u32(x, &seqid))
		return NFS4ERR_BADXDR;
	st = stateid_get(s, x, 2, &idx, NULL, NULL);
	if (xdr_get_u64(x, &off) || xdr_get_u64(x, &len))
		return NFS4ERR_BADXDR;
	note_file(cs);
	if (st)
		return st;
	l = &s->states[idx];
	for (unsigned int r = 0; r < l->nranges;) {
		if (overlap(off, len, l->ranges[r].off, l->ranges[r].len)) {
			l->ranges[r] = l->ranges[--l->nranges];
			continue;
		}
		r++;
	}
	l->seqid++;
	put32(o, NFS4_OK);
	stateid_put(s, o, idx);
	return NFS4_OK;
}

static uint32_t op_lockt(struct fsrv *s, struct cstate *cs, struct xdr *x, struct obuf *o)
{
	uint32_t type, own_len;
	uint64_t off, len, clid;
	const uint8_t *own;
	unsigned int rr;
	int c;

	if (xdr_get_u32(x, &type) || xdr_get_u64(x, &off) || xdr_get_u64(x, &len) ||
	    xdr_get_u64(x, &clid) || xdr_get_opaque(x, &own, &own_len, 64))
		return NFS4ERR_BADXDR;
	note_file(cs);
	if (s->grace)
		return NFS4ERR_GRACE;
	c = conflict(s, cs->file, own, own_len, clid, type, off, len, &rr);
	if (c >= 0) {
		put32(o, NFS4ERR_DENIED);
		put_denied(o, &s->states[c], rr);
		return NFS4ERR_DENIED;
	}
	put32(o, NFS4_OK);
	return NFS4_OK;
}

static uint32_t op_getattr(struct fsrv *s, struct cstate *cs, struct xdr *x, struct obuf *o)
{
	uint32_t n, w[8] = {0}, out0 = 0;
	size_t lenoff, start;

	if (xdr_get_u32(x, &n) || n > 8)
		return NFS4ERR_BADXDR;
	for (uint32_t i = 0; i < n; i++)
		if (xdr_get_u32(x, &w[i]))
			return NFS4ERR_BADXDR;
	if (!cs->have_fh)
		return NFS4ERR_NOFILEHANDLE;
	out0 = w[0] & ((1u << FATTR4_TYPE) | (1u << FATTR4_SIZE) | (1u << FATTR4_LEASE_TIME));
	put32(o, NFS4_OK);
	put32(o, 1);
	put32(o, out0);
	lenoff = o->len;
	put32(o, 0);
	start = o->len;
	if (out0 & (1u << FATTR4_TYPE))
		put32(o, cs->file ? NF4REG : NF4DIR);
	if (out0 & (1u << FATTR4_SIZE))
		put64(o, s->size[cs->file]);
	if (out0 & (1u << FATTR4_LEASE_TIME))
		put32(o, s->lease);
	patch32(o, lenoff, (uint32_t)(o->len - start));
	return NFS4_OK;
}

/*
 * One operation: decode its arguments, run it, append its nfs_resop4.
 * Returns its status; a decode failure is BADXDR (nothing more can be read).
 */
static uint32_t run_op(struct fsrv *s, struct cstate *cs, uint32_t op, struct xdr *x,
		       struct obuf *o, uint32_t inject)
{
	const uint8_t *p;
	uint32_t n, st, file, idx;
	uint8_t id[NFS4_SESSIONID_SIZE], fh[8];
	uint64_t u64;
	char name[256];
	size_t hdr = o->len;
	struct fsrv_session *ss;

	put32(o, op);
	if (inject) {
		/* The op's arguments are not decoded; the compound ends here. */
		put32(o, inject);
		return inject;
	}
	switch (op) {
	case OP_PUTROOTFH:
		set_fh(cs, 0);
		st = NFS4_OK;
		break;
	case OP_PUTFH:
		if (xdr_get_opaque(x, &p, &n, NFS4_FHSIZE)) {
			st = NFS4ERR_BADXDR;
			break;
		}
		st = file_of_fh(p, n, &file) ? NFS4ERR_BADHANDLE : NFS4_OK;
		if (!st)
			set_fh(cs, file);
		break;
	case OP_GETFH:
		if (!cs->have_fh) {
			st = NFS4ERR_NOFILEHANDLE;
			break;
		}
		fh_of(cs->file, fh);
		put32(o, NFS4_OK);
		putopaque(o, fh, 8);
		return NFS4_OK;
	case OP_LOOKUP:
		if (xdr_get_string(x, name, sizeof(name))) {
			st = NFS4ERR_BADXDR;
			break;
		}
		if (!cs->have_fh || cs->file != 0) {
			st = cs->have_fh ? NFS4ERR_NOTDIR : NFS4ERR_NOFILEHANDLE;
			break;
		}
		file = file_find(s, name);
		st = file ? NFS4_OK : NFS4ERR_NOENT;
		if (!st)
			set_fh(cs, file);
		break;
	case OP_GETATTR:
		st = op_getattr(s, cs, x, o);
		if (st == NFS4_OK)
			return st;
		break;
	case OP_EXCHANGE_ID:
		st = op_exchange_id(s, x, o);
		if (st == NFS4_OK)
			return st;
		break;
	case OP_CREATE_SESSION:
		st = op_create_session(s, x, o);
		if (st == NFS4_OK)
			return st;
		break;
	case OP_DESTROY_SESSION:
		if (xdr_get_fixed_copy(x, id, sizeof(id))) {
			st = NFS4ERR_BADXDR;
			break;
		}
		memcpy(cs->call->ds_id, id, sizeof(id));
		ss = session_by_id(s, id);
		st = ss ? NFS4_OK : NFS4ERR_BADSESSION;
		if (ss)
			session_free(ss);
		break;
	case OP_BIND_CONN_TO_SESSION:
		if (xdr_get_fixed_copy(x, id, sizeof(id)) || xdr_get_u32(x, &n) ||
		    xdr_get_u32(x, &n)) {
			st = NFS4ERR_BADXDR;
			break;
		}
		if (!session_by_id(s, id)) {
			st = NFS4ERR_BADSESSION;
			break;
		}
		put32(o, NFS4_OK);
		putfixed(o, id, sizeof(id));
		put32(o, 1); /* CDFS4_FORE */
		put32(o, 0);
		return NFS4_OK;
	case OP_DESTROY_CLIENTID:
		if (xdr_get_u64(x, &u64)) {
			st = NFS4ERR_BADXDR;
			break;
		}
		st = NFS4ERR_STALE_CLIENTID;
		for (int i = 0; i < FSRV_MAX_CLIENTS; i++)
			if (s->clients[i].used && s->clients[i].clientid == u64) {
				s->clients[i].used = false;
				st = NFS4_OK;
			}
		break;
	case OP_RECLAIM_COMPLETE: {
		struct fsrv_client *cl = client_by_id(s, cs->clientid);
		bool all = true;

		if (xdr_get_u32(x, &n)) {
			st = NFS4ERR_BADXDR;
			break;
		}
		if (!cl) {
			st = NFS4ERR_STALE_CLIENTID;
			break;
		}
		st = cl->reclaim_done ? NFS4ERR_COMPLETE_ALREADY : NFS4_OK;
		cl->reclaim_done = true;
		for (int i = 0; i < FSRV_MAX_CLIENTS; i++)
			if (s->clients[i].used && s->clients[i].reclaimable &&
			    !s->clients[i].reclaim_done)
				all = false;
		if (all && !s->grace_end_ms) /* else other clients still reclaim */
			s->grace = false;
		break;
	}
	case OP_OPEN:
		st = op_open(s, cs, x, o);
		if (st == NFS4_OK)
			return st;
		break;
	case OP_CLOSE:
	case OP_OPEN_DOWNGRADE:
		st = op_close(s, cs, x, o, op == OP_OPEN_DOWNGRADE);
		if (st == NFS4_OK)
			return st;
		break;
	case OP_READ:
		st = op_read(s, cs, x, o);
		if (st == NFS4_OK)
			return st;
		break;
	case OP_WRITE:
		st = op_write(s, cs, x, o);
		if (st == NFS4_OK)
			return st;
		break;
	case OP_COMMIT:
		if (xdr_get_u64(x, &u64) || xdr_get_u32(x, &n)) {
			st = NFS4ERR_BADXDR;
			break;
		}
		note_file(cs);
		put32(o, NFS4_OK);
		putfixed(o, "verfverf", 8);
		return NFS4_OK;
	case OP_LOCK:
		st = op_lock(s, cs, x, o);
		if (st == NFS4_OK || st == NFS4ERR_DENIED)
			return st;
		break;
	case OP_LOCKU:
		st = op_locku(s, cs, x, o);
		if (st == NFS4_OK)
			return st;
		break;
	case OP_LOCKT:
		st = op_lockt(s, cs, x, o);
		if (st == NFS4_OK || st == NFS4ERR_DENIED)
			return st;
		break;
	case OP_TEST_STATEID:
		if (xdr_get_u32(x, &n) || n != 1) {
			st = NFS4ERR_BADXDR;
			break;
		}
		st = stateid_get(s, x, 0, &idx, NULL, NULL);
		put32(o, NFS4_OK);
		put32(o, 1);
		put32(o, st);
		return NFS4_OK;
	case OP_FREE_STATEID:
		st = stateid_get(s, x, 0, &idx, NULL, NULL);
		if (!st)
			s->states[idx].used = false;
		break;
	default:
		o->len = hdr;
		put32(o, OP_ILLEGAL);
		put32(o, NFS4ERR_OP_ILLEGAL);
		return NFS4ERR_OP_ILLEGAL;
	}
	put32(o, st);
	if (st == NFS4ERR_BADXDR)
		note_bad(s, "cannot decode the arguments", op);
	return st;
}

/* ---- compounds ---- */

static struct fsrv_rule *match_rule(struct fsrv *s, const struct fsrv_call *c)
{
	for (unsigned int i = 0; i < s->nrules; i++) {
		struct fsrv_rule *r = &s->rules[i];
		bool m;

		if (r->times && r->applied >= r->times)
			continue;
		if (r->op == FSRV_ANY)
			m = true;
		else if (r->op == FSRV_LONE_SEQ)
			m = c->nops == 1 && c->has_seq;
		else
			m = fsrv_call_has(c, r->op);
		if (!m)
			continue;
		if (r->seen++ < r->skip)
			continue;
		r->applied++;
		return r;
	}
	return NULL;
}

bool fsrv_call_has(const struct fsrv_call *c, uint32_t op)
{
	for (uint32_t i = 0; i < c->nops && i < FSRV_MAX_OPS; i++)
		if (c->ops[i] == op)
			return true;
	return false;
}

static int skip_opq(struct xdr *x)
{
	const uint8_t *p;
	uint32_t n;

	return xdr_get_opaque(x, &p, &n, 1u << 21);
}

static int skip_bitmap_attrs(struct xdr *x, bool with_vals)
{
	uint32_t n;

	if (xdr_get_u32(x, &n) || n > 8 || xdr_skip(x, (size_t)n * 4))
		return -1;
	return with_vals ? skip_opq(x) : 0;
}

/* Skip one op's arguments (to learn the op list before running it); -1: unknown. */
static int skip_args(struct xdr *x, uint32_t op)
{
	uint32_t v, n;
	bool b;

	switch (op) {
	case OP_SEQUENCE:
		return xdr_skip(x, 32);
	case OP_PUTROOTFH:
	case OP_GETFH:
		return 0;
	case OP_RECLAIM_COMPLETE:
	case OP_ACCESS:
		return xdr_skip(x, 4);
	case OP_PUTFH:
	case OP_LOOKUP:
		return skip_opq(x);
	case OP_GETATTR:
		return skip_bitmap_attrs(x, false);
	case OP_SETATTR:
		return xdr_skip(x, 16) || skip_bitmap_attrs(x, true) ? -1 : 0;
	case OP_OPEN:
		if (xdr_skip(x, 20) || skip_opq(x) || xdr_get_u32(x, &v))
			return -1;
		if (v == 1) {
			if (xdr_get_u32(x, &n))
				return -1;
			if ((n == 2 || n == 3) && xdr_skip(x, 8))
				return -1;
			if (n != 2 && skip_bitmap_attrs(x, true))
				return -1;
		}
		if (xdr_get_u32(x, &v))
			return -1;
		if (v == CLAIM_NULL)
			return skip_opq(x);
		if (v == CLAIM_PREVIOUS)
			return xdr_skip(x, 4);
		return v == CLAIM_FH ? 0 : -1;
	case OP_CLOSE:
		return xdr_skip(x, 20);
	case OP_OPEN_DOWNGRADE:
		return xdr_skip(x, 28);
	case OP_READ:
		return xdr_skip(x, 28);
	case OP_WRITE:
		return xdr_skip(x, 28) || skip_opq(x) ? -1 : 0;
	case OP_COMMIT:
		return xdr_skip(x, 12);
	case OP_LOCK:
		if (xdr_skip(x, 24) || xdr_get_bool(x, &b))
			return -1;
		if (b)
			return xdr_skip(x, 32) || skip_opq(x) ? -1 : 0;
		return xdr_skip(x, 20);
	case OP_LOCKU:
		return xdr_skip(x, 40);
	case OP_LOCKT:
		return xdr_skip(x, 28) || skip_opq(x) ? -1 : 0;
	case OP_TEST_STATEID:
		return xdr_get_u32(x, &n) || n > 64 || xdr_skip(x, (size_t)n * 16) ? -1 : 0;
	case OP_FREE_STATEID:
	case OP_DELEGRETURN:
		return xdr_skip(x, 16);
	default:
		return -1;
	}
}

/* Learn the op list (and the SEQUENCE arguments) of a compound before running it. */
static void scan_ops(struct xdr *xin, struct fsrv_call *c, uint32_t nops)
{
	struct xdr x = *xin;
	uint32_t k;

	c->nops = nops;
	for (k = 0; k < nops && k < FSRV_MAX_OPS; k++) {
		size_t at;

		if (xdr_get_u32(&x, &c->ops[k]))
			return;
		at = x.pos;
		if (k == 0 && c->ops[0] == OP_SEQUENCE) {
			c->has_seq = true;
			if (xdr_get_fixed_copy(&x, c->sessionid, NFS4_SESSIONID_SIZE) ||
			    xdr_get_u32(&x, &c->seqid) || xdr_get_u32(&x, &c->slot) ||
			    xdr_get_u32(&x, &c->highest) || xdr_get_bool(&x, &c->cachethis))
				return;
			x.pos = at;
		}
		if (skip_args(&x, c->ops[k]))
			return;
	}
}

/* The SEQUENCE result fields of a reply body, for FA_BAD_*: offsets. */
#define REP_SEQ_SESSION 20
#define REP_SEQ_SEQID	36
#define REP_SEQ_SLOT	40

static void send_record(struct fsrv *s, const uint8_t *rec, size_t len)
{
	uint8_t *b;

	if (s->cfd < 0)
		return;
	/* One send: a separate 4-byte header would meet Nagle and a delayed ACK. */
	b = malloc(len + 4);
	if (!b)
		abort();
	rpc_rm_put_header(b, (uint32_t)len, true);
	memcpy(b + 4, rec, len);
	for (size_t off = 0; off < len + 4;) {
		ssize_t n = send(s->cfd, b + off, len + 4 - off, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(b);
}

static void flush_deferred(struct fsrv *s)
{
	for (unsigned int i = 0; i < s->ndeferred; i++) {
		send_record(s, s->deferred[i], s->deferred_len[i]);
		free(s->deferred[i]);
	}
	s->ndeferred = 0;
}

static void rpc_hdr(struct obuf *o, uint32_t xid)
{
	put32(o, xid);
	put32(o, 1); /* REPLY */
	put32(o, 0); /* MSG_ACCEPTED */
	put32(o, 0); /* AUTH_NONE verifier */
	put32(o, 0);
	put32(o, 0); /* SUCCESS */
}

static void cut(struct fsrv *s)
{
	if (s->cfd >= 0)
		shutdown(s->cfd, SHUT_RDWR);
}

/*
 * One COMPOUND: x is positioned at its tag.  Appends COMPOUND4res to o;
 * returns whether to send it (false: dropped or never answered).
 */
static bool run_compound(struct fsrv *s, struct fsrv_call *call, struct xdr *x, struct obuf *o)
{
	char tag[256];
	uint32_t minor, nops, op, st = NFS4_OK, nres = 0, inject_op_status = 0;
	struct cstate cs = {.call = call};
	struct fsrv_rule *rule = NULL;
	size_t body = o->len, nres_off;
	struct fsrv_session *ss = NULL;
	struct fsrv_slot *sl = NULL;
	bool lone, replay = false;
	uint32_t i;

	if (xdr_get_string(x, tag, sizeof(tag)) || xdr_get_u32(x, &minor) ||
	    xdr_get_u32(x, &nops)) {
		note_bad(s, "truncated COMPOUND header", 0);
		return false;
	}
	scan_ops(x, call, nops);
	rule = match_rule(s, call);
	if (rule && rule->act != FA_NONE)
		call->injected = true;
	if (rule && rule->act == FA_KILL_SESSIONS)
		kill_sessions_locked(s);
	if (rule && (rule->act == FA_RESTART || rule->act == FA_RESTART_NO_GRACE))
		restart_locked(s, rule->act == FA_RESTART);
	if (rule && (rule->act == FA_SILENT || rule->act == FA_DROP_BEFORE)) {
		if (rule->act == FA_DROP_BEFORE)
			cut(s);
		return false;
	}
	if (rule && rule->act == FA_OP_STATUS)
		inject_op_status = rule->status;

	put32(o, 0); /* status, patched */
	putopaque(o, tag, (uint32_t)strlen(tag));
	nres_off = o->len;
	put32(o, 0);
	if (minor != 1) {
		patch32(o, body, NFS4ERR_MINOR_VERS_MISMATCH);
		call->status = NFS4ERR_MINOR_VERS_MISMATCH;
		return true;
	}
	lone = nops == 1;
	for (i = 0; i < nops; i++) {
		if (xdr_get_u32(x, &op)) {
			note_bad(s, "truncated op list", 0);
			st = NFS4ERR_BADXDR;
			break;
		}
		if (i < FSRV_MAX_OPS)
			call->ops[i] = op;
		if (i == 0 && op == OP_SEQUENCE) {
			uint8_t sid[NFS4_SESSIONID_SIZE];
			uint32_t seqid, slot, highest;
			bool cachethis;

			if (xdr_get_fixed_copy(x, sid, sizeof(sid)) || xdr_get_u32(x, &seqid) ||
			    xdr_get_u32(x, &slot) || xdr_get_u32(x, &highest) ||
			    xdr_get_bool(x, &cachethis)) {
				st = NFS4ERR_BADXDR;
				put32(o, op);
				put32(o, st);
				nres++;
				break;
			}
			put32(o, OP_SEQUENCE);
			nres++;
			if (rule && rule->act == FA_SEQ_STATUS) {
				st = rule->status;
				put32(o, st);
				/* Consistent with what it says: the session is gone. */
				ss = session_by_id(s, sid);
				if (ss && (st == NFS4ERR_BADSESSION || st == NFS4ERR_DEADSESSION))
					session_free(ss);
				if (ss && st == NFS4ERR_STALE_CLIENTID)
					forget_client(s, ss->clientid);
				break;
			}
			ss = session_by_id(s, sid);
			if (!ss) {
				st = NFS4ERR_BADSESSION;
			} else if (slot >= ss->nslots) {
				st = NFS4ERR_BADSLOT;
			} else {
				sl = &ss->slots[slot];
				if (seqid == sl->seqid && sl->rep) {
					replay = true;
				} else if (seqid != sl->seqid + 1) {
					st = NFS4ERR_SEQ_MISORDERED;
					s->misordered++;
				}
			}
			if (st) {
				put32(o, st);
				break;
			}
			if (replay) {
				size_t req_len = x->len - x->pos;
				bool differs = lone != sl->lone || req_len != sl->req_len ||
					       memcmp(x->buf + x->pos, sl->req, req_len) != 0;

				call->replay = true;
				if (differs && !lone) {
					call->false_retry = true;
					s->false_retries++;
				}
				o->len = body;
				if ((sl->cachethis || sl->lone) &&
				    (!s->drc_per_conn || sl->conn == call->conn)) {
					ob_room(o, sl->rep_len);
					memcpy(o->p + o->len, sl->rep, sl->rep_len);
					o->len += sl->rep_len;
					call->status = (uint32_t)sl->rep[0] << 24 |
						       (uint32_t)sl->rep[1] << 16 |
						       (uint32_t)sl->rep[2] << 8 | sl->rep[3];
					return true;
				}
				/* The original was not cached. */
				put32(o, 0);
				putopaque(o, tag, (uint32_t)strlen(tag));
				nres_off = o->len;
				put32(o, 1);
				put32(o, OP_SEQUENCE);
				if (s->nfsd_uncached) {
					/* Linux nfsd: a lone SEQUENCE cannot match a longer
					 * compound; otherwise the next op fails. */
					if (lone) {
						st = NFS4ERR_SEQ_FALSE_RETRY;
						put32(o, st);
					} else {
						put32(o, NFS4_OK);
						putfixed(o, sid, sizeof(sid));
						put32(o, seqid);
						put32(o, slot);
						put32(o, ss->nslots - 1);
						put32(o, s->target < ss->nslots ? s->target
										: ss->nslots - 1);
						put32(o, 0);
						put32(o, call->ops[1]);
						st = NFS4ERR_RETRY_UNCACHED_REP;
						put32(o, st);
						patch32(o, nres_off, 2);
					}
				} else {
					/* ganesha: the SEQUENCE itself fails. */
					st = NFS4ERR_RETRY_UNCACHED_REP;
					put32(o, st);
				}
				patch32(o, body, st);
				call->status = st;
				return true;
			}
			cs.clientid = ss->clientid;
			put32(o, NFS4_OK);
			putfixed(o, sid, sizeof(sid));
			put32(o, seqid);
			put32(o, slot);
			put32(o, ss->nslots - 1);
			put32(o, s->target < ss->nslots ? s->target : ss->nslots - 1);
			put32(o, 0); /* status flags */
			/* Remember the request for false-retry checks. */
			free(sl->req);
			sl->req_len = x->len - x->pos;
			sl->req = malloc(sl->req_len ? sl->req_len : 1);
			if (sl->req_len)
				memcpy(sl->req, x->buf + x->pos, sl->req_len);
			sl->seqid = seqid;
			sl->conn = call->conn;
			sl->cachethis = cachethis;
			sl->lone = lone;
			continue;
		}
		if (i == 0 && nops > 1 && op != OP_EXCHANGE_ID && op != OP_CREATE_SESSION &&
		    op != OP_DESTROY_SESSION && op != OP_BIND_CONN_TO_SESSION &&
		    op != OP_DESTROY_CLIENTID) {
			put32(o, op);
			put32(o, NFS4ERR_OP_NOT_IN_SESSION);
			st = NFS4ERR_OP_NOT_IN_SESSION;
			nres++;
			break;
		}
		st = run_op(s, &cs, op, x, o,
			    inject_op_status && rule->op == op ? inject_op_status : 0);
		nres++;
		if (st)
			break;
	}
	patch32(o, body, st);
	patch32(o, nres_off, nres);
	call->status = st;
	if (sl && !ss->used)
		sl = NULL; /* SEQUENCE + DESTROY_SESSION: the slot went with its session */
	if (sl) {
		free(sl->rep);
		sl->rep_len = o->len - body;
		sl->rep = malloc(sl->rep_len);
		memcpy(sl->rep, o->p + body, sl->rep_len);
	}
	if (rule &&
	    (rule->act == FA_BAD_SLOT || rule->act == FA_BAD_SEQID ||
	     rule->act == FA_BAD_SESSION) &&
	    call->has_seq && o->len - body >= REP_SEQ_SLOT + 4 && !st) {
		if (rule->act == FA_BAD_SLOT)
			patch32(o, body + REP_SEQ_SLOT, call->slot + 1);
		else if (rule->act == FA_BAD_SEQID)
			patch32(o, body + REP_SEQ_SEQID, call->seqid + 7);
		else
			o->p[body + REP_SEQ_SESSION + 15] ^= 0x5a;
	}
	if (rule && rule->act == FA_DROP_AFTER) {
		cut(s);
		call->status = FSRV_NOREPLY;
		return false;
	}
	return true;
}

static void handle(struct fsrv *s, const uint8_t *rec, size_t len)
{
	struct xdr x;
	uint32_t xid, mtype, rpcvers, prog, vers, proc, fl, blen;
	struct fsrv_call *call;
	struct obuf o = {0};
	bool send_it = true;
	const uint8_t *p;

	xdr_init_decode(&x, rec, len);
	if (xdr_get_u32(&x, &xid) || xdr_get_u32(&x, &mtype) || xdr_get_u32(&x, &rpcvers) ||
	    xdr_get_u32(&x, &prog) || xdr_get_u32(&x, &vers) || xdr_get_u32(&x, &proc) ||
	    xdr_get_u32(&x, &fl) || xdr_get_opaque(&x, &p, &blen, 400) || xdr_get_u32(&x, &fl) ||
	    xdr_get_opaque(&x, &p, &blen, 400) || mtype != 0 || rpcvers != 2 ||
	    prog != NFS4_PROGRAM || vers != 4) {
		note_bad(s, "bad RPC call header", 0);
		return;
	}
	if (s->ncalls == s->logcap) {
		s->logcap = s->logcap ? s->logcap * 2 : 256;
		s->log = realloc(s->log, s->logcap * sizeof(*s->log));
		if (!s->log)
			abort();
	}
	call = &s->log[s->ncalls++];
	memset(call, 0, sizeof(*call));
	call->conn = s->conns;
	call->proc = proc;
	call->status = FSRV_NOREPLY;
	call->file = UINT32_MAX;
	clock_gettime(CLOCK_MONOTONIC, &call->when);
	if (s->grace && s->grace_end_ms &&
	    call->when.tv_sec * 1000L + call->when.tv_nsec / 1000000L >= s->grace_end_ms) {
		s->grace = false;
		s->grace_end_ms = 0;
	}
	pthread_cond_broadcast(&s->cond);
	if (s->silent) {
		/* Not run, but logged with its op list. */
		struct xdr px = x;
		char tag[256];
		uint32_t minor, nops;

		if (proc == 1 && !xdr_get_string(&px, tag, sizeof(tag)) &&
		    !xdr_get_u32(&px, &minor) && !xdr_get_u32(&px, &nops))
			scan_ops(&px, call, nops);
		return;
	}
	rpc_hdr(&o, xid);
	if (proc == 1) {
		send_it = run_compound(s, call, &x, &o);
	} else if (proc != 0) {
		o.len -= 4;
		put32(&o, 3); /* PROC_UNAVAIL */
	}
	if (send_it) {
		bool defer = false;

		for (unsigned int i = 0; i < s->nrules; i++)
			if (s->rules[i].act == FA_DEFER && proc == 1 &&
			    fsrv_call_has(call, s->rules[i].op))
				defer = true;
		if (defer && s->ndeferred < 32) {
			s->deferred[s->ndeferred] = o.p;
			s->deferred_len[s->ndeferred++] = o.len;
			o.p = NULL;
			if (s->ndeferred >= s->defer_batch)
				flush_deferred(s);
		} else {
			send_record(s, o.p, o.len);
		}
	}
	free(o.p);
}

static void serve(struct fsrv *s, int fd)
{
	for (;;) {
		uint8_t h[4];
		uint32_t v;
		uint8_t *rec;
		size_t got;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, 200);

		if (pr == 0) {
			/* Idle: deferred replies go out. */
			pthread_mutex_lock(&s->lock);
			if (s->ndeferred)
				flush_deferred(s);
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		if (pr < 0 && errno == EINTR)
			continue;
		if (recv(fd, h, 4, MSG_WAITALL) != 4)
			return;
		v = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
		if (!(v & RPC_RM_LAST) || (v & ~RPC_RM_LAST) > (4u << 20)) {
			pthread_mutex_lock(&s->lock);
			note_bad(s, "call not sent as one last fragment", 0);
			pthread_mutex_unlock(&s->lock);
			return;
		}
		v &= ~RPC_RM_LAST;
		rec = malloc(v ? v : 1);
		for (got = 0; rec && got < v;) {
			ssize_t n = recv(fd, rec + got, v - got, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (!rec || got < v) {
			free(rec);
			return;
		}
		pthread_mutex_lock(&s->lock);
		handle(s, rec, v);
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		free(rec);
	}
}

static void *srv_main(void *arg)
{
	struct fsrv *s = arg;

	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		pthread_mutex_lock(&s->lock);
		s->cfd = fd;
		s->conns++;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		serve(s, fd);
		pthread_mutex_lock(&s->lock);
		for (unsigned int i = 0; i < s->ndeferred; i++)
			free(s->deferred[i]);
		s->ndeferred = 0;
		s->cfd = -1;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		close(fd);
	}
}

struct fsrv *fsrv_start(void)
{
	struct fsrv *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t slen = sizeof(sa);
	pthread_condattr_t ca;
	int one = 1;

	if (!s)
		return NULL;
	s->cfd = -1;
	s->target = FSRV_SLOTS - 1;
	s->lease = 60;
	s->epoch = 1;
	s->defer_batch = 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		goto fail;
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(s->lfd, 8) ||
	    getsockname(s->lfd, (struct sockaddr *)&sa, &slen))
		goto fail;
	s->port = ntohs(sa.sin_port);
	if (pthread_create(&s->th, NULL, srv_main, s))
		goto fail;
	return s;
fail:
	if (s->lfd >= 0)
		close(s->lfd);
	free(s);
	return NULL;
}

void fsrv_stop(struct fsrv *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	fsrv_drop(s);
	pthread_join(s->th, NULL);
	close(s->lfd);
	kill_sessions_locked(s);
	free(s->log);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

void fsrv_lock(struct fsrv *s)
{
	pthread_mutex_lock(&s->lock);
}

void fsrv_unlock(struct fsrv *s)
{
	pthread_mutex_unlock(&s->lock);
}

void fsrv_rule(struct fsrv *s, uint32_t op, unsigned int skip, unsigned int times,
	       enum fsrv_act act, uint32_t status)
{
	pthread_mutex_lock(&s->lock);
	if (s->nrules < FSRV_MAX_RULES)
		s->rules[s->nrules++] = (struct fsrv_rule){
			.op = op, .skip = skip, .times = times, .act = act, .status = status};
	pthread_mutex_unlock(&s->lock);
}

void fsrv_clear_rules(struct fsrv *s)
{
	pthread_mutex_lock(&s->lock);
	s->nrules = 0;
	flush_deferred(s);
	pthread_mutex_unlock(&s->lock);
}

void fsrv_set_silent(struct fsrv *s, bool on)
{
	pthread_mutex_lock(&s->lock);
	s->silent = on;
	pthread_mutex_unlock(&s->lock);
}

void fsrv_set_target(struct fsrv *s, uint32_t target)
{
	pthread_mutex_lock(&s->lock);
	s->target = target;
	pthread_mutex_unlock(&s->lock);
}

void fsrv_restart(struct fsrv *s, bool grace)
{
	pthread_mutex_lock(&s->lock);
	restart_locked(s, grace);
	pthread_mutex_unlock(&s->lock);
}

void fsrv_restart_others_grace(struct fsrv *s, int grace_ms)
{
	struct timespec now;

	pthread_mutex_lock(&s->lock);
	restart_locked(s, true);
	memset(s->prev_owner_len, 0, sizeof(s->prev_owner_len));
	clock_gettime(CLOCK_MONOTONIC, &now);
	s->grace_end_ms = now.tv_sec * 1000L + now.tv_nsec / 1000000L + grace_ms;
	pthread_mutex_unlock(&s->lock);
}

void fsrv_drop(struct fsrv *s)
{
	pthread_mutex_lock(&s->lock);
	cut(s);
	pthread_mutex_unlock(&s->lock);
}

bool fsrv_wait(struct fsrv *s, bool (*pred)(struct fsrv *s, void *arg), void *arg, int ms)
{
	struct timespec dl;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (!(ok = pred(s, arg)))
		if (pthread_cond_timedwait(&s->cond, &s->lock, &dl) == ETIMEDOUT) {
			ok = pred(s, arg);
			break;
		}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

unsigned int fsrv_count(struct fsrv *s, uint32_t op, unsigned int from)
{
	unsigned int n = 0;

	pthread_mutex_lock(&s->lock);
	for (unsigned int i = from; i < s->ncalls; i++)
		if (op == FSRV_ANY ||
		    (op == FSRV_LONE_SEQ && s->log[i].nops == 1 && s->log[i].has_seq) ||
		    fsrv_call_has(&s->log[i], op))
			n++;
	pthread_mutex_unlock(&s->lock);
	return n;
}

unsigned int fsrv_ncalls(struct fsrv *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->lock);
	n = s->ncalls;
	pthread_mutex_unlock(&s->lock);
	return n;
}
