/*
 * fs_dir.c - directory streams over READDIR (RFC 8881 section 18.23).
 *
 * Offsets handed to the kernel: 1 after ".", 2 after "..", then the NFS
 * cookie of each entry (cookies 0, 1 and 2 are reserved by the protocol,
 * so they never collide).  Each open directory keeps the cookie verifier
 * and the last batch READDIR returned; a readdir at an offset found in
 * the batch is served from it, anything else re-reads from that cookie.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fs/fs_int.h"
#include "util/log.h"

#define READDIR_MAXCOUNT (128u * 1024)

int efs_fs_opendir(struct efs_fs *fs, const struct rpc_cred *cr, uint64_t ino, struct efs_dir **dp)
{
	struct efs_dir *d = calloc(1, sizeof(*d));

	(void)cr;
	if (!d)
		return -ENOMEM;
	d->inode = efs_inode_get(fs, ino);
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_lock(&fs->files_lock);
	efs_list_add(&fs->dirs, &d->link);
	pthread_mutex_unlock(&fs->files_lock);
	*dp = d;
	return 0;
}

static void buf_clear(struct efs_dir *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->ents[i].name);
	d->n = 0;
	d->buf_valid = false;
	d->buf_eof = false;
}

void efs_fs_releasedir(struct efs_fs *fs, struct efs_dir *d)
{
	pthread_mutex_lock(&fs->files_lock);
	efs_list_del(&d->link);
	pthread_mutex_unlock(&fs->files_lock);
	buf_clear(d);
	free(d->ents);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static int collect(void *arg, const struct nfs4_dirent *e)
{
	struct efs_dir *d = arg;
	struct efs_dirent_buf *b;

	if ((e->namelen == 1 && e->name[0] == '.') ||
	    (e->namelen == 2 && e->name[0] == '.' && e->name[1] == '.'))
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		struct efs_dirent_buf *p = realloc(d->ents, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		d->ents = p;
		d->cap = cap;
	}
	b = &d->ents[d->n];
	b->name = strndup(e->name, e->namelen);
	if (!b->name)
		return -ENOMEM;
	b->cookie = e->cookie;
	b->attr = e->attr;
	d->n++;
	return 0;
}

/* Read the batch that follows cookie into d. */
static int fetch(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_dir *d, uint64_t cookie,
		 bool plus)
{
	uint32_t maxcount = fs->rsize < READDIR_MAXCOUNT ? fs->rsize : READDIR_MAXCOUNT;
	struct nfs4_fh fh;
	bool eof = false;
	int r;

	buf_clear(d);
	if (cookie == 0)
		memset(d->verf, 0, sizeof(d->verf));
	efs_inode_fh(d->inode, &fh);
	r = nfs4_readdir(fs->clnt, cr, &fh, cookie, d->verf, maxcount, plus, collect, d, &eof);
	if (r) {
		buf_clear(d);
		return efs_errno(r);
	}
	d->buf_cookie = cookie;
	d->buf_valid = true;
	d->buf_eof = eof;
	return 0;
}

/* Entry for a buffered dirent; with plus and a usable handle, takes a lookup ref. */
static void make_entry(struct efs_fs *fs, const struct efs_dirent_buf *b, bool plus,
		       struct efs_entry *e)
{
	const struct nfs4_attr *a = &b->attr;
	struct efs_inode *in;

	memset(e, 0, sizeof(*e));
	if (plus && a->rdattr_error == 0 && (a->valid & NFS4_ATTR_BIT(FATTR4_FILEHANDLE)) &&
	    a->fh.len > 0 && efs_attr_complete(a) && efs_inode_ref(fs, &a->fh, a, &in) == 0) {
		efs_fill_entry(fs, in, a, e);
		return;
	}
	e->st.st_ino = (ino_t)a->fileid;
	if (a->valid & NFS4_ATTR_BIT(FATTR4_TYPE))
		e->st.st_mode = efs_attr_type_mode(a->type);
}

static int fill_dot(struct efs_fs *fs, struct efs_dir *d, const char *name, uint64_t next,
		    efs_fill_fn fill, void *arg)
{
	struct efs_entry e;

	memset(&e, 0, sizeof(e));
	e.st.st_ino = (ino_t)d->inode->fileid;
	e.st.st_mode = S_IFDIR;
	(void)fs;
	return fill(arg, name, &e, next);
}

int efs_fs_readdir(struct efs_fs *fs, const struct rpc_cred *cr, struct efs_dir *d, uint64_t off,
		   bool plus, efs_fill_fn fill, void *arg)
{
	uint64_t cookie;
	size_t i, emitted = 0;
	int r = 0;

	pthread_mutex_lock(&d->lock);
	if (off == 0) {
		d->buf_valid = false; /* (re)start: read the directory afresh */
		if (fill_dot(fs, d, ".", 1, fill, arg))
			goto out;
		emitted++;
		off = 1;
	}
	if (off == 1) {
		if (fill_dot(fs, d, "..", 2, fill, arg))
			goto out;
		emitted++;
		off = 2;
	}
	cookie = off <= 2 ? 0 : off;

	/* position in the buffered batch, or re-read from cookie */
	i = 0;
	if (d->buf_valid && d->buf_cookie == cookie) {
		i = 0;
	} else {
		bool found = false;

		if (d->buf_valid) {
			for (i = 0; i < d->n; i++) {
				if (d->ents[i].cookie == cookie) {
					i++;
					found = true;
					break;
				}
			}
		}
		if (!found) {
			r = fetch(fs, cr, d, cookie, plus);
			if (r)
				goto out;
			i = 0;
		}
	}

	for (;;) {
		for (; i < d->n; i++) {
			struct efs_dirent_buf *b = &d->ents[i];
			struct efs_entry e;

			if (b->cookie <= 2)
				efs_log(EFS_LOG_WARN, "readdir: server cookie %llu is reserved",
					(unsigned long long)b->cookie);
			make_entry(fs, b, plus, &e);
			if (fill(arg, b->name, &e, b->cookie)) {
				if (e.ino)
					efs_fs_forget(fs, e.ino, 1);
				goto out;
			}
			emitted++;
			cookie = b->cookie;
		}
		if (d->buf_eof)
			break;
		if (d->n == 0) {
			efs_log(EFS_LOG_WARN, "readdir: empty batch without eof at cookie %llu",
				(unsigned long long)cookie);
			break;
		}
		r = fetch(fs, cr, d, cookie, plus);
		if (r) {
			if (emitted > 0)
				r = 0; /* return what we have; the error comes next call */
			break;
		}
		i = 0;
	}
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}
