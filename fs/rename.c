/*
 * rename.c - mv of files and directories, as server-side copies.
 *
 * A file: copy the object to the new key, then delete the old one, under a
 * guard on both keys; a file open for writing is stored first, so what
 * moves is what was written.  A directory: copy every key under its prefix
 * (in parallel), then delete the sources in batches, under a guard on both
 * prefixes, so no upload, delete or metadata copy of any key under either
 * runs meanwhile.  Nothing is deleted unless every copy worked, so a failed
 * mv leaves the source whole (and perhaps some copies at the target).
 * Files under a moved directory that are open for writing follow it: their
 * inodes take the new keys, and their next flush stores them there.  The
 * target of a directory mv must be missing or an empty directory
 * (ENOTEMPTY, also when a file there is open for writing here).
 * RENAME_EXCHANGE is EINVAL; RENAME_NOREPLACE is honoured.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

struct move_job {
	struct fs *fs;
	struct fs_batch *batch;
	const char *src; /* borrowed from the listing */
	char *dst;
	uint64_t size;
	int rc;
	struct remote_error err;
};

static void move_copy(void *arg)
{
	struct move_job *j = arg;

	j->rc = remote_copy_object(j->fs->remote, j->src, j->dst, j->size, NULL,
				   &j->err);
	fs_batch_done(j->batch);
}

/* Copy every key under src_prefix to dst_prefix in parallel, then delete
 * the sources.  Nothing is deleted unless every copy succeeded.  The
 * caller's guard holds both prefixes. */
static int move_tree(struct fs *fs, const char *src_prefix,
		     const char *dst_prefix)
{
	struct remote_list l = { 0 };
	struct remote_error err = { { 0 } };
	struct move_job *jobs = NULL;
	struct fs_batch batch;
	size_t njobs = 0;
	size_t plen = strlen(src_prefix);
	int rc;

	rc = remote_list_all(fs->remote, src_prefix, &l, &err);
	if (rc)
		goto out;
	jobs = calloc(l.n_entries ? l.n_entries : 1, sizeof(*jobs));
	if (!jobs) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l.n_entries; i++) {
		struct move_job *j = &jobs[njobs++];

		j->fs = fs;
		j->size = l.entries[i].size;
		j->src = l.entries[i].key; /* borrowed from l */
		if (asprintf(&j->dst, "%s%s", dst_prefix,
			     l.entries[i].key + plen) < 0) {
			j->dst = NULL;
			rc = -ENOMEM;
			goto out;
		}
		if (strlen(j->dst) > REMOTE_KEY_MAX) {
			rc = -ENAMETOOLONG;
			goto out;
		}
	}

	fs_batch_init(&batch);
	for (size_t i = 0; i < njobs && rc == 0; i++) {
		jobs[i].batch = &batch;
		rc = fs_batch_submit(fs, &batch, move_copy, &jobs[i]);
	}
	fs_batch_finish(&batch);
	if (rc)
		goto out;
	for (size_t i = 0; i < njobs; i++) {
		if (jobs[i].rc) {
			rc = jobs[i].rc;
			fs_log(fs, "mv of %s failed: %s", jobs[i].src,
			       jobs[i].err.msg);
			goto out;
		}
	}
	for (size_t i = 0; i < njobs; i += 1000) {
		const char *keys[1000];
		size_t n = njobs - i < 1000 ? njobs - i : 1000;

		for (size_t k = 0; k < n; k++)
			keys[k] = jobs[i + k].src;
		rc = remote_delete_many(fs->remote, keys, n, &err);
		if (rc) {
			fs_log(fs, "mv: cannot remove sources: %s", err.msg);
			goto out;
		}
	}
out:
	for (size_t i = 0; i < njobs; i++)
		free(jobs[i].dst);
	free(jobs);
	remote_list_clear(&l);
	return rc;
}

struct probe {
	const char *dkey;
	int marker;   /* the marker "dkey" itself is listed */
	int children; /* a usable key other than the marker is */
};

/* remote_list_pages callback: stop (1) at the first usable child. */
static int probe_page(struct remote_list *l, void *arg)
{
	struct probe *p = arg;

	for (size_t i = 0; i < l->n_entries; i++) {
		if (strcmp(l->entries[i].key, p->dkey) == 0)
			p->marker = 1;
		else
			p->children = 1;
	}
	return p->children;
}

int fs_dir_probe(struct fs *fs, const char *dkey, int *marker)
{
	/* Two keys a page: the marker and one child say everything; a page
	 * that held only keys remote/ refused goes on to the next. */
	struct remote_list_opts lo = { .prefix = dkey, .max_keys = 2 };
	struct remote_error err = { { 0 } };
	struct probe p = { .dkey = dkey };
	int rc;

	rc = remote_list_pages(fs->remote, &lo, probe_page, &p, &err);
	if (rc < 0) {
		fs_log(fs, "listing %s failed: %s", dkey, err.msg);
		return rc;
	}
	if (marker)
		*marker = p.marker;
	if (p.children)
		return 1;
	return p.marker ? 0 : -ENOENT;
}

/* mv of a directory: both prefixes are guarded. */
static int rename_dir(struct fs *fs, struct inode *src, const char *sdir,
		      const char *ddir, enum store_level level, int dst_exists)
{
	int rc;

	pthread_mutex_lock(&fs->lock);
	rc = fs_inode_staged_under(fs, ddir) ? -ENOTEMPTY : 0;
	pthread_mutex_unlock(&fs->lock);
	if (rc)
		return rc;
	if (dst_exists) {
		rc = fs_dir_probe(fs, ddir, NULL);
		if (rc == 1)
			return -ENOTEMPTY;
		if (rc == -ENOENT)
			return -ENOTDIR; /* the target is a file */
		if (rc)
			return rc;
	}
	rc = move_tree(fs, sdir, ddir);
	if (rc)
		return rc;
	pthread_mutex_lock(&fs->lock);
	fs_inode_rekey_tree(fs, sdir, ddir, level);
	clock_gettime(CLOCK_REALTIME, &src->attr.st_ctim);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* mv of a file (or symlink, or special file): both keys are guarded, src
 * is pinned by g (with its staging, if open for writing). */
static int rename_file(struct fs *fs, struct fs_guard *g, struct inode *src,
		       const char *skey, const char *dkey,
		       enum store_level level, int dst_exists)
{
	struct remote_error err = { { 0 } };
	struct wfile *wf = fs_guard_wfile(g, src);
	uint64_t size;
	int rc;

	if (dst_exists) {
		char *dd = NULL;
		int isdir;

		if (asprintf(&dd, "%s/", dkey) < 0)
			return -ENOMEM;
		pthread_mutex_lock(&fs->lock);
		isdir = fs_inode_by_key(fs, dd) != NULL;
		pthread_mutex_unlock(&fs->lock);
		free(dd);
		if (isdir)
			return -EISDIR;
	}
	if (wf) {
		/* Store what is staged first (it may never have been
		 * stored: a new file), then move it.  The guard keeps every
		 * other upload of it out until the move is done. */
		rc = fs_wfile_store(fs, src, wf, NULL);
		if (rc)
			return rc;
	}
	pthread_mutex_lock(&fs->lock);
	size = (uint64_t)src->attr.st_size;
	pthread_mutex_unlock(&fs->lock);
	rc = remote_copy_object(fs->remote, skey, dkey, size, NULL, &err);
	if (rc == 0)
		rc = remote_delete(fs->remote, skey, &err);
	if (rc) {
		fs_log(fs, "mv %s %s failed: %s", skey, dkey, err.msg);
		return rc;
	}
	pthread_mutex_lock(&fs->lock);
	/* Whatever held dkey is replaced: rekey marks it unlinked, so a
	 * writer still open on it never uploads over the result. */
	rc = fs_inode_rekey(fs, src, dkey);
	src->level = level;
	clock_gettime(CLOCK_REALTIME, &src->attr.st_ctim);
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

int fs_do_rename(struct fs *fs, struct inode *p, const char *name,
		 struct inode *np, const char *newname, unsigned int flags)
{
	struct fs_guard g;
	struct inode *src = NULL;
	char *skey = NULL, *dkey = NULL;
	char *sdir = NULL, *ddir = NULL;
	enum fs_kind kind;
	int dst_exists;
	int rc;

	fs_guard_init(&g);
	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
again:
	rc = fs_child_key(fs, p, name, 0, &skey);
	if (rc == 0)
		rc = fs_child_key(fs, np, newname, 0, &dkey);
	if (rc)
		goto out;
	rc = fs_resolve(fs, NULL, NULL, skey, p->level, &src);
	if (rc)
		goto out;
	kind = src->kind;
	rc = fs_guard_pin_locked(&g, src);
	pthread_mutex_unlock(&fs->lock);
	if (rc)
		goto out;
	if (kind == FS_DIR) {
		if (asprintf(&sdir, "%s/", skey) < 0 ||
		    asprintf(&ddir, "%s/", dkey) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		if (strncmp(ddir, sdir, strlen(sdir)) == 0) {
			rc = -EINVAL; /* into itself */
			goto out;
		}
		rc = fs_guard_key(&g, sdir, 1);
		if (rc == 0)
			rc = fs_guard_key(&g, ddir, 1);
	} else {
		rc = fs_guard_key(&g, skey, 0);
		if (rc == 0)
			rc = fs_guard_key(&g, dkey, 0);
	}
	if (rc)
		goto out;
	fs_guard_take(fs, &g);
	/* Re-check under the guard: a rename of either parent may have run
	 * while we waited (then start over with the keys it made), or an
	 * rm or mv of src itself. */
	rc = fs_child_is(fs, p, name, 0, skey);
	if (rc == 1)
		rc = fs_child_is(fs, np, newname, 0, dkey);
	if (rc == 0) {
		fs_guard_done(fs, &g);
		free(skey);
		free(dkey);
		free(sdir);
		free(ddir);
		skey = dkey = sdir = ddir = NULL;
		goto again;
	}
	if (rc < 0)
		goto out;
	rc = 0;
	pthread_mutex_lock(&fs->lock);
	if (src->unlinked ||
	    strcmp(src->key, kind == FS_DIR ? sdir : skey) != 0)
		rc = -ENOENT;
	pthread_mutex_unlock(&fs->lock);
	if (rc)
		goto out;
	dst_exists = fs_exists(fs, dkey);
	if (dst_exists < 0) {
		rc = dst_exists;
		goto out;
	}
	if (dst_exists && (flags & RENAME_NOREPLACE)) {
		rc = -EEXIST;
		goto out;
	}
	if (kind == FS_DIR)
		rc = rename_dir(fs, src, sdir, ddir, np->level, dst_exists);
	else
		rc = rename_file(fs, &g, src, skey, dkey, np->level,
				 dst_exists);
	if (rc == 0) {
		pthread_mutex_lock(&fs->lock);
		fs_dir_note_added(np, newname);
		fs_dir_touch(fs, p);
		fs_dir_touch(fs, np);
		pthread_mutex_unlock(&fs->lock);
	}
out:
	fs_guard_done(fs, &g); /* unpins src, freeing it if unused */
	free(skey);
	free(dkey);
	free(sdir);
	free(ddir);
	return rc;
}

void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		  fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fs *fs = fuse_req_userdata(req);
	struct inode *p, *np;

	pthread_mutex_lock(&fs->lock);
	p = fs_inode_get(fs, parent);
	np = fs_inode_get(fs, newparent);
	pthread_mutex_unlock(&fs->lock);
	fs_reply_err(req,
		     p && np ? fs_do_rename(fs, p, name, np, newname, flags)
			     : -ESTALE);
}
