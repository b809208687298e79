/*
 * fuzz_nfs4_dec.c - libFuzzer target for the NFSv4.1 reply decoders.
 * The first input byte picks a decoder; the rest is the reply, copied to an
 * exact-size heap buffer so ASan sees any overread.  Built by hand:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc/nfs4 \
 *       tests/fuzz/fuzz_nfs4_dec.c src/nfs4/nfs4_xdr_*.c src/util/xdr.c \
 *       -o fuzz_nfs4_dec && ./fuzz_nfs4_dec -max_total_time=60
 */
#include <stdlib.h>
#include <string.h>
#include "nfs4/nfs4_xdr.h"

static int count_cb(void *arg, const struct nfs4_dirent *e)
{
	size_t *n = arg;

	*n += e->namelen + strlen(e->name); /* touch the name */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union {
		struct nfs4_sequence_res seq;
		struct nfs4_exchange_id_res eid;
		struct nfs4_create_session_res cs;
		struct nfs4_fh fh;
		struct nfs4_attr attr;
		struct nfs4_open_res open;
		struct nfs4_stateid sid;
		struct nfs4_lock_denied denied;
		struct nfs4_bitmap bm;
	} u;
	uint8_t *buf, verf[NFS4_VERIFIER_SIZE];
	const uint8_t *view;
	uint32_t a, b, len, st, nres;
	char link[64];
	size_t names = 0;
	struct xdr x;
	bool eof;

	if (size < 1)
		return 0;
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	xdr_init_decode(&x, buf, size - 1);
	switch (data[0] % 24) {
	case 0:
		nfs4_dec_compound_hdr(&x, &st, &nres);
		break;
	case 1:
		nfs4_dec_sequence(&x, &u.seq);
		break;
	case 2:
		nfs4_dec_exchange_id(&x, &u.eid);
		break;
	case 3:
		nfs4_dec_create_session(&x, &u.cs);
		break;
	case 4:
		nfs4_dec_getfh(&x, &u.fh);
		break;
	case 5:
		nfs4_dec_fattr(&x, &u.attr);
		break;
	case 6:
		nfs4_dec_getattr(&x, &u.attr);
		break;
	case 7:
		nfs4_dec_open(&x, &u.open);
		break;
	case 8:
		nfs4_dec_close(&x, &u.sid);
		break;
	case 9:
		nfs4_dec_read(&x, &eof, &view, &len, 1 << 20);
		break;
	case 10:
		nfs4_dec_write(&x, &a, &b, verf);
		break;
	case 11:
		nfs4_dec_commit(&x, verf);
		break;
	case 12:
		nfs4_dec_readdir(&x, verf, count_cb, &names, &eof);
		break;
	case 13:
		nfs4_dec_lock(&x, &u.sid, &u.denied);
		break;
	case 14:
		nfs4_dec_lockt(&x, &u.denied);
		break;
	case 15:
		nfs4_dec_locku(&x, &u.sid);
		break;
	case 16:
		nfs4_dec_readlink(&x, link, sizeof(link));
		break;
	case 17:
		nfs4_dec_setattr(&x);
		break;
	case 18:
		nfs4_dec_access(&x, &a, &b);
		break;
	case 19:
		nfs4_dec_create(&x);
		break;
	case 20:
		nfs4_dec_rename(&x);
		break;
	case 21:
		nfs4_dec_remove(&x);
		break;
	case 22:
		nfs4_dec_bitmap(&x, &u.bm);
		break;
	default:
		nfs4_dec_link(&x);
		break;
	}
	if (x.pos > x.len)
		abort();
	free(buf);
	return 0;
}
