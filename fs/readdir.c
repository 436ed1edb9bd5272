/*
 * readdir.c - reading directories: one delimited listing of the prefix
 * (every page), then the attributes of each file whose cached ones do not
 * match the listed version, by HEADs in parallel; readdirplus hands them
 * to the kernel with the names.  The listing is taken whole at the first
 * readdir of a handle (offset 0) and served from the handle after, so
 * offsets stay stable.  Names are sorted; a key that is both an object and
 * a prefix is listed once, as the file; keys that cannot be names (see
 * lookup.c) and keys outside the prefix asked for are skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

struct dentry {
	char *name;
	struct inode *in; /* with one nlookup held by the listing */
	int head_rc;
};

struct dirh {
	struct dentry *v;
	size_t n, cap;
	int filled;
};

static int dirh_add(struct dirh *d, const char *name, struct inode *in)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		struct dentry *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n].name = strdup(name);
	if (!d->v[d->n].name)
		return -ENOMEM;
	d->v[d->n].in = in;
	d->v[d->n].head_rc = 0;
	in->nlookup++; /* the listing's own reference, dropped at release */
	d->n++;
	return 0;
}

/* Drop every entry of d with the references its listing took.  fs->lock
 * NOT held. */
static void dirh_clear(struct fs *fs, struct dirh *d)
{
	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < d->n; i++) {
		d->v[i].in->nlookup--;
		fs_inode_maybe_free(fs, d->v[i].in);
		free(d->v[i].name);
	}
	pthread_mutex_unlock(&fs->lock);
	d->n = 0;
}

void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirh *d = calloc(1, sizeof(*d));

	(void)ino;
	if (!d) {
		fs_reply_err(req, -ENOMEM);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = 0;
	fuse_reply_open(req, fi);
}

struct head_job {
	struct fs *fs;
	struct fs_batch *batch;
	struct dentry *de;
	char *key;
};

/* Pool job: fetch one listed file's attributes. */
static void head_one(void *arg)
{
	struct head_job *j = arg;
	struct remote_stat st = { 0 };
	struct store_meta sm;
	int rc;

	rc = remote_head(j->fs->remote, j->key, &st, NULL);
	if (rc == 0) {
		store_meta_decode(&st.meta, &sm);
		if (store_meta_expired(&sm, j->fs->now()))
			rc = -ENOENT;
	}
	pthread_mutex_lock(&j->fs->lock);
	if (rc == 0 && !j->de->in->wf)
		fs_attr_from_stat(j->fs, j->de->in, &st);
	pthread_mutex_unlock(&j->fs->lock);
	j->de->head_rc = rc;
	remote_stat_clear(&st);
	fs_batch_done(j->batch);
}

/* Whether a listing entry is the object version in's attributes came
 * from: same ETag, size and Last-Modified (a metadata-only copy keeps the
 * ETag but not Last-Modified).  Then no HEAD is needed.  fs->lock held. */
static int same_version(const struct inode *in,
			const struct remote_list_entry *e)
{
	return in->etag[0] && strcmp(in->etag, e->etag) == 0 &&
	       (uint64_t)in->attr.st_size == e->size &&
	       in->remote_mtime == (int64_t)e->mtime.tv_sec;
}

/* Whether a listed name can be shown: one safe path segment that a local
 * filesystem could hold. */
static int name_ok(const char *name)
{
	return name[0] && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	       !strchr(name, '/') && strlen(name) <= FS_NAME_MAX;
}

/* The part of a listed key after prefix (plen bytes), or NULL when the
 * server answered a key outside the prefix asked for. */
static const char *under(const char *key, const char *prefix, size_t plen)
{
	if (strncmp(key, prefix, plen) != 0)
		return NULL;
	return key + plen;
}

static int dentry_cmp(const void *a, const void *b)
{
	const struct dentry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	/* The file first: it is the one shown. */
	return (x->in->kind == FS_DIR) - (y->in->kind == FS_DIR);
}

/* Sort the entries by name and keep one of each: a key that is both an
 * object and a prefix of other keys shows as the file.  fs->lock held. */
static void dedupe(struct fs *fs, struct dirh *d)
{
	size_t out = 0;

	if (d->n > 1)
		qsort(d->v, d->n, sizeof(d->v[0]), dentry_cmp);
	for (size_t i = 0; i < d->n; i++) {
		if (out > 0 && strcmp(d->v[out - 1].name, d->v[i].name) == 0) {
			d->v[i].in->nlookup--;
			fs_inode_maybe_free(fs, d->v[i].in);
			free(d->v[i].name);
			continue;
		}
		d->v[out++] = d->v[i];
	}
	d->n = out;
}

struct fill_page {
	struct fs *fs;
	struct inode *dir;
	struct dirh *d;
	const char *prefix;
	size_t plen;
	int failed; /* the callback's own error (not the listing's) */
};

/* remote_list_pages callback: one page's names into the handle. */
static int fill_page(struct remote_list *l, void *arg)
{
	struct fill_page *fp = arg;
	struct fs *fs = fp->fs;
	struct dirh *d = fp->d;
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < l->n_prefixes && rc == 0; i++) {
		const char *rest = under(l->prefixes[i], fp->prefix, fp->plen);
		size_t nlen = rest ? strlen(rest) : 0;
		char *name;
		struct inode *in = NULL;

		if (nlen < 2 || rest[nlen - 1] != '/')
			continue; /* not a sub-prefix of ours */
		name = strndup(rest, nlen - 1);
		if (!name) {
			rc = -ENOMEM;
			break;
		}
		if (name_ok(name))
			in = fs_inode_obtain(fs, l->prefixes[i], FS_DIR,
					     fp->dir->level);
		if (in && fs_monotonic() >= in->attr_until)
			fs_attr_dir_default(fs, in);
		if (in)
			rc = dirh_add(d, name, in);
		else if (name_ok(name))
			rc = -ENOMEM;
		free(name);
	}
	for (size_t i = 0; i < l->n_entries && rc == 0; i++) {
		const char *name =
			under(l->entries[i].key, fp->prefix, fp->plen);
		struct inode *in;

		if (!name || !name_ok(name))
			continue; /* our own marker, or unusable */
		in = fs_inode_obtain(fs, l->entries[i].key, FS_FILE,
				     fp->dir->level);
		if (!in) {
			rc = -ENOMEM;
			break;
		}
		rc = dirh_add(d, name, in);
		if (rc || in->wf)
			continue;
		if (same_version(in, &l->entries[i]))
			in->attr_until = fs_monotonic() + fs->opts.metadata_ttl;
		else
			d->v[d->n - 1].head_rc = 1; /* needs HEAD */
	}
	pthread_mutex_unlock(&fs->lock);
	fp->failed = rc != 0;
	return rc;
}

/* Read the whole directory once: a delimited listing (all pages), then the
 * attributes of every file not fresh in the table, HEADs in parallel. */
static int fill_dir(struct fs *fs, struct inode *dir, struct dirh *d)
{
	struct remote_list_opts lo = { .delimiter = "/" };
	struct remote_error err = { { 0 } };
	struct fill_page fp = { 0 };
	struct head_job *jobs = NULL;
	struct fs_batch batch;
	size_t njobs = 0;
	char *prefix = NULL;
	size_t plen;
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	if (dir->kind == FS_ROOT) {
		for (int i = 0; i < STORE_LEVELS && rc == 0; i++)
			if (fs->levels[i])
				rc = dirh_add(d, store_level_name(i),
					      fs->levels[i]);
		pthread_mutex_unlock(&fs->lock);
		return rc;
	}
	prefix = strdup(dir->key);
	pthread_mutex_unlock(&fs->lock);
	if (!prefix)
		return -ENOMEM;
	plen = strlen(prefix);
	lo.prefix = prefix;
	fp.fs = fs;
	fp.dir = dir;
	fp.d = d;
	fp.prefix = prefix;
	fp.plen = plen;
	rc = remote_list_pages(fs->remote, &lo, fill_page, &fp, &err);
	if (rc && !fp.failed) {
		fs_log(fs, "listing %s failed: %s", prefix, err.msg);
		goto out;
	}
	if (rc)
		goto out;

	/* Files created here and still open for writing are stored only at
	 * flush; list them meanwhile, as a local disk would. */
	pthread_mutex_lock(&fs->lock);
	dedupe(fs, d);
	for (size_t b = 0; b < FS_HASH_BUCKETS && rc == 0; b++) {
		for (struct inode *in = fs->by_key[b]; in && rc == 0;
		     in = in->next_key) {
			size_t k;

			if (!in->wf || in->kind == FS_DIR ||
			    strncmp(in->key, prefix, plen) != 0 ||
			    !name_ok(in->key + plen))
				continue;
			for (k = 0; k < d->n && d->v[k].in != in; k++)
				;
			if (k == d->n)
				rc = dirh_add(d, in->key + plen, in);
		}
	}
	pthread_mutex_unlock(&fs->lock);
	if (rc)
		goto out;

	jobs = calloc(d->n ? d->n : 1, sizeof(*jobs));
	if (!jobs) {
		rc = -ENOMEM;
		goto out;
	}
	fs_batch_init(&batch);
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].head_rc != 1)
			continue;
		jobs[njobs].fs = fs;
		jobs[njobs].batch = &batch;
		jobs[njobs].de = &d->v[i];
		pthread_mutex_lock(&fs->lock);
		jobs[njobs].key = strdup(d->v[i].in->key);
		pthread_mutex_unlock(&fs->lock);
		if (!jobs[njobs].key ||
		    fs_batch_submit(fs, &batch, head_one, &jobs[njobs])) {
			free(jobs[njobs].key);
			d->v[i].head_rc = -ENOMEM;
			continue;
		}
		njobs++;
	}
	fs_batch_finish(&batch);
out:
	for (size_t i = 0; i < njobs; i++)
		free(jobs[i].key);
	free(jobs);
	free(prefix);
	return rc;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct fs *fs = fuse_req_userdata(req);
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	struct inode *dir;
	char *buf = NULL;
	size_t used = 0;
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	dir = fs_inode_get(fs, ino);
	pthread_mutex_unlock(&fs->lock);
	if (!dir) {
		fs_reply_err(req, -ESTALE);
		return;
	}
	if (!d->filled || off == 0) {
		if (d->filled)
			dirh_clear(fs, d);
		rc = fill_dir(fs, dir, d);
		d->filled = 1;
		if (rc) {
			fs_reply_err(req, rc);
			return;
		}
	}
	buf = malloc(size);
	if (!buf) {
		fs_reply_err(req, -ENOMEM);
		return;
	}
	/* Offsets: 1 is ".", 2 is "..", 3+i is entry i. */
	pthread_mutex_lock(&fs->lock);
	for (size_t i = (size_t)off; i < d->n + 2; i++) {
		struct stat st = { 0 };
		const char *name;
		size_t need;

		if (i < 2) {
			name = i == 0 ? "." : "..";
			st.st_ino = i == 0 ? ino : FUSE_ROOT_ID;
			st.st_mode = S_IFDIR;
		} else {
			struct dentry *de = &d->v[i - 2];

			if (de->head_rc < 0 ||
			    (de->in->expires_at &&
			     de->in->expires_at <= fs->now()))
				continue; /* gone or expired */
			name = de->name;
			st = de->in->attr;
		}
		if (plus) {
			struct fuse_entry_param e = { 0 };

			if (i >= 2) {
				fs_fill_entry(fs, d->v[i - 2].in, &e);
			} else {
				e.attr = st;
			}
			need = fuse_add_direntry_plus(req, buf + used,
						      size - used, name, &e,
						      (off_t)i + 1);
			if (need > size - used)
				break;
			if (i >= 2)
				d->v[i - 2].in->nlookup++;
		} else {
			need = fuse_add_direntry(req, buf + used, size - used,
						 name, &st, (off_t)i + 1);
			if (need > size - used)
				break;
		}
		used += need;
	}
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

void fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fuse_req_userdata(req);
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;

	(void)ino;
	dirh_clear(fs, d);
	free(d->v);
	free(d);
	fuse_reply_err(req, 0);
}
