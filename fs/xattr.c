/*
 * xattr.c - expiry and integrity through extended attributes (README,
 * "Expiry, through extended attributes"):
 *
 *   user.expire_in   set: a duration from now ("2w", "3 mins 4 sec",
 *                    "never" removes); on a directory also a rule, kept on
 *                    its marker object as x-amz-meta-expire-in, that files
 *                    created beneath it later inherit.  get (directories):
 *                    the rule.
 *   user.expires_at  set: an RFC 3339 time (past: EINVAL; "never" removes);
 *                    get: RFC 3339 UTC, or "never".
 *   user.sha256      read-only: the stored digest; for objects written by
 *                    other tools it is computed, stored, then returned.
 *
 * Setting on a directory sets every file beneath it (in parallel; the first
 * error is returned).  The expiry lives on the object
 * (x-amz-meta-expires-at), written by a server-side copy onto itself, so
 * every mount and the `artifact` command see it; a file still being written
 * carries it with its upload instead.  The root refuses with EROFS, the
 * level directories with EPERM.  Other user.* names: ENOTSUP on set,
 * ENODATA on get.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define XA_EXPIRE_IN  "user.expire_in"
#define XA_EXPIRES_AT "user.expires_at"
#define XA_SHA256     "user.sha256"

/* Update one stored object's metadata: expiry (0 removes) and/or sha256
 * (NULL leaves it).  A server-side copy onto itself; nothing re-uploaded. */
static int update_object(struct fs *fs, const char *key, int set_expiry,
			 int64_t expires_at, const char *sha256,
			 struct remote_error *err)
{
	struct remote_stat st = { 0 };
	struct remote_meta meta = { 0 };
	struct remote_put_opts put = { 0 };
	char buf[40];
	int rc;

	rc = remote_head(fs->remote, key, &st, err);
	if (rc)
		goto out;
	rc = remote_meta_copy(&meta, &st.meta);
	if (rc == 0 && set_expiry) {
		if (expires_at) {
			store_time_format(expires_at, buf, sizeof(buf));
			rc = remote_meta_set(&meta, "expires-at", buf);
		} else {
			remote_meta_remove(&meta, "expires-at");
		}
	}
	if (rc == 0 && sha256)
		rc = remote_meta_set(&meta, "sha256", sha256);
	if (rc)
		goto out;
	put.meta = &meta;
	put.content_type = st.content_type[0] ? st.content_type : NULL;
	rc = remote_copy_object(fs->remote, key, key, st.size, &put, err);
out:
	remote_stat_clear(&st);
	remote_meta_clear(&meta);
	return rc;
}

struct expire_store {
	const char *key;
	int64_t expires_at;
	struct remote_error *err;
};

/* Write the expiry to the stored object (for fs_wfile_meta_changed). */
static int expire_store(struct fs *fs, struct inode *in, void *arg)
{
	struct expire_store *e = arg;

	(void)in;
	return update_object(fs, e->key, 1, e->expires_at, NULL, e->err);
}

/* The expiry is stored, or staged to go with the next flush.  fs->lock
 * held. */
static void expire_commit(struct fs *fs, struct inode *in, void *arg)
{
	struct expire_store *e = arg;

	(void)fs;
	in->expires_at = e->expires_at;
	clock_gettime(CLOCK_REALTIME, &in->attr.st_ctim);
	in->attr_until = 0; /* new ETag after the copy */
}

struct expire_job {
	struct fs *fs;
	const char *key; /* borrowed from the listing */
	int64_t expires_at;
	int rc;
	struct remote_error err;
	struct fs_batch *batch;
};

/* Pool job: the expiry of one stored object.  The caller holds a guard
 * on the whole directory: a job never waits for a guard itself (it would
 * hold a pool thread that the guard's holder may need). */
static void expire_one(void *arg)
{
	struct expire_job *j = arg;

	j->rc = update_object(j->fs, j->key, 1, j->expires_at, NULL, &j->err);
	fs_batch_done(j->batch);
}

/* A file under a directory whose expiry is set that is open for writing
 * here: pinned, with its staging reference, until the guard is gone. */
struct staged {
	struct inode *in;
	struct wfile *wf;
};

/* With a guard on the directory prefix held: the files open for writing
 * under it take the expiry with their next upload.  *out (caller frees,
 * and unpins each once the guard is released) lists them.  -ENOMEM. */
static int expire_staged(struct fs *fs, const char *prefix, int64_t expires_at,
			 struct staged **out, size_t *n)
{
	size_t plen = strlen(prefix), cap = 0;
	struct staged *v = NULL;
	int rc = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&fs->lock);
	for (size_t b = 0; b < FS_HASH_BUCKETS && rc == 0; b++) {
		for (struct inode *in = fs->by_key[b]; in; in = in->next_key) {
			if (!in->wf || in->kind != FS_FILE ||
			    strncmp(in->key, prefix, plen) != 0)
				continue;
			if (*n == cap) {
				size_t c = cap ? 2 * cap : 16;
				struct staged *nv = realloc(v, c * sizeof(*v));

				if (!nv) {
					rc = -ENOMEM;
					break;
				}
				v = nv;
				cap = c;
			}
			fs_pin_locked(in); /* fs_unpin drops it */
			v[*n].in = in;
			v[(*n)++].wf = fs_wfile_ref(in);
		}
	}
	pthread_mutex_unlock(&fs->lock);
	for (size_t i = 0; i < *n; i++) {
		struct wfile *wf = v[i].wf;

		pthread_mutex_lock(&wf->lock);
		if (wf->loaded) {
			wf->dirty = 1;
			wf->flush_failed = 0;
		}
		pthread_mutex_unlock(&wf->lock);
		pthread_mutex_lock(&fs->lock);
		v[i].in->expires_at = expires_at;
		clock_gettime(CLOCK_REALTIME, &v[i].in->attr.st_ctim);
		pthread_mutex_unlock(&fs->lock);
	}
	*out = v;
	return rc;
}

/* With a guard on the directory prefix held: set the expiry of every
 * stored file under it, in parallel, and of the files open for writing
 * (*staged, see expire_staged).  Markers keep no expiry: a directory
 * lives while anything is in it.  The first failure's -errno (logged). */
static int expire_tree(struct fs *fs, const char *prefix, int64_t expires_at,
		       struct staged **staged, size_t *nstaged)
{
	struct remote_list l = { 0 };
	struct remote_error err = { { 0 } };
	struct expire_job *jobs = NULL;
	struct fs_batch batch;
	size_t njobs = 0;
	int rc;

	rc = expire_staged(fs, prefix, expires_at, staged, nstaged);
	if (rc)
		return rc;
	rc = remote_list_all(fs->remote, prefix, &l, &err);
	if (rc) {
		fs_log(fs, "expiry of %s: %s", prefix, err.msg);
		goto out;
	}
	jobs = calloc(l.n_entries ? l.n_entries : 1, sizeof(*jobs));
	if (!jobs) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l.n_entries; i++) {
		const char *k = l.entries[i].key;

		if (k[strlen(k) - 1] != '/') /* markers keep no expiry */
			jobs[njobs++].key = k;
	}
	fs_batch_init(&batch);
	for (size_t i = 0; i < njobs; i++) {
		jobs[i].fs = fs;
		jobs[i].expires_at = expires_at;
		jobs[i].batch = &batch;
		if (fs_batch_submit(fs, &batch, expire_one, &jobs[i]))
			jobs[i].rc =
				update_object(fs, jobs[i].key, 1, expires_at,
					      NULL, &jobs[i].err);
	}
	fs_batch_finish(&batch);
	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < njobs; i++) {
		struct inode *in = fs_inode_by_key(fs, jobs[i].key);

		if (jobs[i].rc == 0 && in)
			expire_commit(fs, in,
				      &(struct expire_store){
					      .expires_at = expires_at });
	}
	pthread_mutex_unlock(&fs->lock);
	for (size_t i = 0; i < njobs && rc == 0; i++) {
		if (jobs[i].rc && jobs[i].rc != -ENOENT) {
			rc = jobs[i].rc;
			fs_log(fs, "expiry of %s: %s", jobs[i].key,
			       jobs[i].err.msg);
		}
	}
out:
	free(jobs);
	remote_list_clear(&l);
	return rc;
}

/* Keep (rule non-NULL) or drop the inheritance rule on a directory's
 * marker at key, creating the marker when the directory was only implied.
 * The caller holds a guard covering key. */
static int set_dir_rule(struct fs *fs, struct inode *dir, const char *key,
			const char *rule)
{
	struct remote_stat st = { 0 };
	struct remote_meta meta = { 0 };
	struct remote_put_opts put = { .content_type =
					       "application/x-directory" };
	struct remote_error err = { { 0 } };
	int rc;

	rc = remote_head(fs->remote, key, &st, &err);
	if (rc == 0)
		rc = remote_meta_copy(&meta, &st.meta);
	else if (rc == -ENOENT)
		rc = fs_meta_build(fs, dir, NULL, NULL, &meta);
	if (rc)
		goto out;
	if (rule)
		rc = remote_meta_set(&meta, REMOTE_META_RULE, rule);
	else
		remote_meta_remove(&meta, REMOTE_META_RULE);
	if (rc)
		goto out;
	put.meta = &meta;
	if (st.etag[0]) {
		rc = remote_copy(fs->remote, key, key, &put, &err);
	} else {
		struct remote_body body = { .buf = "", .fd = -1, .len = 0 };

		rc = remote_put(fs->remote, key, &body, &put, NULL, &err);
	}
	if (rc)
		goto out;
	pthread_mutex_lock(&fs->lock);
	free(dir->expire_rule);
	dir->expire_rule = rule ? strdup(rule) : NULL;
	dir->has_marker = 1;
	pthread_mutex_unlock(&fs->lock);
out:
	if (rc)
		fs_log(fs, "cannot keep the expiry rule of %s: %s", key,
		       err.msg);
	remote_stat_clear(&st);
	remote_meta_clear(&meta);
	return rc;
}

int fs_do_expire(struct fs *fs, struct inode *in, int64_t expires_at,
		 const char *rule)
{
	struct remote_error err = { { 0 } };
	struct expire_store e = { NULL, expires_at, &err };
	struct staged *staged = NULL;
	size_t nstaged = 0;
	struct fs_guard g;
	char *key = NULL;
	int dir = in->kind == FS_DIR;
	int rc;

	rc = fs_guard_inode(fs, &g, in, dir, &key);
	if (rc)
		goto out;
	if (dir) {
		rc = expire_tree(fs, key, expires_at, &staged, &nstaged);
		if (rc == 0)
			rc = set_dir_rule(fs, in, key, rule);
	} else {
		e.key = key;
		rc = fs_wfile_meta_changed(fs, in, fs_guard_wfile(&g, in),
					   expire_store, expire_commit, &e);
		if (rc)
			fs_log(fs, "expiry of %s: %s", key, err.msg);
	}
out:
	fs_guard_done(fs, &g);
	/* Only now: a last staging reference may store, under its guard. */
	for (size_t i = 0; i < nstaged; i++)
		fs_unpin(fs, staged[i].in, staged[i].wf);
	free(staged);
	free(key);
	return rc;
}

/* Keep a computed SHA-256 on the object at key, under a guard on it, if
 * the object is still the version (etag) it was computed from. */
static int store_sha256(struct fs *fs, const char *key, const char *etag,
			const char *hex, struct remote_error *err)
{
	struct remote_stat st = { 0 };
	struct fs_guard g;
	int rc;

	fs_guard_init(&g);
	rc = fs_guard_key(&g, key, 0);
	if (rc)
		goto out;
	fs_guard_take(fs, &g);
	rc = remote_head(fs->remote, key, &st, err);
	if (rc == 0 && etag[0] && strcmp(st.etag, etag) != 0)
		rc = remote_error_set(err, -ESTALE,
				      "%s changed while it was hashed", key);
	if (rc == 0)
		rc = update_object(fs, key, 0, 0, hex, err);
out:
	remote_stat_clear(&st);
	fs_guard_done(fs, &g);
	return rc;
}

/* Compute the SHA-256 of a stored object and keep it on the object. */
static int compute_sha256(struct fs *fs, struct inode *in, char *hex)
{
	enum { CHUNK = 8 << 20 };
	struct remote_error err = { { 0 } };
	struct digest_sha256 *ctx = NULL;
	char etag[REMOTE_ETAG_MAX];
	char *buf = NULL;
	char *key = NULL;
	uint64_t size, off = 0;
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	key = strdup(in->key);
	size = (uint64_t)in->attr.st_size;
	snprintf(etag, sizeof(etag), "%s", in->etag);
	pthread_mutex_unlock(&fs->lock);
	ctx = digest_sha256_new();
	buf = malloc(CHUNK);
	if (!key || !ctx || !buf) {
		rc = -ENOMEM;
		goto out;
	}
	while (off < size) {
		size_t got = 0;

		rc = remote_get(fs->remote, key, off, CHUNK, buf, &got,
				etag[0] ? etag : NULL, &err);
		if (rc)
			goto out;
		if (got == 0) {
			rc = -EIO;
			goto out;
		}
		digest_sha256_update(ctx, buf, got);
		off += got;
	}
	digest_sha256_final(ctx, hex);
	ctx = NULL;
	rc = store_sha256(fs, key, etag, hex, &err);
	if (rc == 0) {
		pthread_mutex_lock(&fs->lock);
		snprintf(in->sha256, sizeof(in->sha256), "%s", hex);
		in->attr_until = 0;
		pthread_mutex_unlock(&fs->lock);
	}
out:
	if (rc)
		fs_log(fs, "cannot compute the SHA-256 of %s: %s", key,
		       err.msg);
	digest_sha256_free(ctx);
	free(buf);
	free(key);
	return rc;
}

/* Trim trailing NULs and newlines that setfattr or echo may add; a NUL
 * left inside makes the value junk (NULL, errno EINVAL), so "2w\0x" is
 * never read as "2w". */
static char *value_str(const char *value, size_t size)
{
	while (size > 0 && (value[size - 1] == '\0' || value[size - 1] == '\n'))
		size--;
	if (memchr(value, '\0', size)) {
		errno = EINVAL;
		return NULL;
	}
	return strndup(value, size);
}

void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		 const char *value, size_t size, int flags)
{
	struct fs *fs = fuse_req_userdata(req);
	struct inode *in = fs_inode_of(fs, ino);
	int64_t when = 0, dur = 0;
	char *v = NULL;
	const char *rule = NULL;
	int rc = 0;

	(void)flags;
	if (!in) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (strcmp(name, XA_EXPIRE_IN) != 0 &&
	    strcmp(name, XA_EXPIRES_AT) != 0) {
		fuse_reply_err(req,
			       strcmp(name, XA_SHA256) == 0 ? EPERM : ENOTSUP);
		return;
	}
	if (in->kind == FS_ROOT || in->kind == FS_LEVEL) {
		fs_log(fs, "%s: the %s cannot expire", name,
		       in->kind == FS_ROOT ? "root" : "store directory");
		fuse_reply_err(req, in->kind == FS_ROOT ? EROFS : EPERM);
		return;
	}
	v = value_str(value, size);
	if (!v) {
		if (errno == EINVAL)
			fs_log(fs, "%s: a NUL inside the value", name);
		fuse_reply_err(req, errno == EINVAL ? EINVAL : ENOMEM);
		return;
	}
	if (strcasecmp(v, "never") == 0) {
		when = 0;
	} else if (strcmp(name, XA_EXPIRE_IN) == 0) {
		rc = store_duration_parsen(v, strlen(v), &dur);
		if (rc == 0)
			rc = store_expiry_after(fs->now(), dur, &when);
		if (rc == 0 && dur != STORE_NEVER)
			rule = v;
	} else {
		rc = store_time_parsen(v, strlen(v), &when);
		if (rc == 0 && when <= fs->now())
			rc = -EINVAL; /* already past */
	}
	if (rc) {
		fs_log(fs, "%s: bad value '%.60s'", name, v);
		goto out;
	}
	rc = fs_do_expire(fs, in, when,
			  strcmp(name, XA_EXPIRE_IN) == 0 ? rule : NULL);
out:
	fuse_reply_err(req, -rc);
	free(v);
}

/* Reply to a getxattr with the string s (size 0 asks for the length). */
static void reply_value(fuse_req_t req, size_t size, const char *s)
{
	size_t len = strlen(s);

	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, s, len);
}

void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs *fs = fuse_req_userdata(req);
	struct inode *in;
	char buf[REMOTE_ETAG_MAX];
	enum fs_kind kind;
	int rc;

	/* `ls -l` asks every entry for system.posix_acl_access and
	 * security.selinux: names we never store need no request. */
	if (strcmp(name, XA_EXPIRES_AT) != 0 &&
	    strcmp(name, XA_EXPIRE_IN) != 0 && strcmp(name, XA_SHA256) != 0) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	rc = fs_inode_fresh(fs, ino, &in);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	kind = in->kind;
	buf[0] = '\0';
	if (strcmp(name, XA_EXPIRES_AT) == 0 && kind == FS_FILE) {
		if (in->expires_at)
			store_time_format(in->expires_at, buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "never");
	} else if (strcmp(name, XA_EXPIRE_IN) == 0 && kind == FS_DIR &&
		   in->expire_rule) {
		snprintf(buf, sizeof(buf), "%s", in->expire_rule);
	} else if (strcmp(name, XA_SHA256) == 0 && kind == FS_FILE) {
		snprintf(buf, sizeof(buf), "%s", in->sha256);
		if (!buf[0] && in->wf)
			rc = -EBUSY; /* being written: known at close */
		else if (!buf[0])
			rc = 1; /* compute below, unlocked */
	} else {
		rc = -ENODATA;
	}
	pthread_mutex_unlock(&fs->lock);
	if (rc == 1)
		rc = compute_sha256(fs, in, buf);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_value(req, size, buf);
}

void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = fuse_req_userdata(req);
	struct inode *in;
	char list[64];
	size_t len = 0;
	int rc;

	rc = fs_inode_fresh(fs, ino, &in);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	if (in->kind == FS_FILE) {
		memcpy(list + len, XA_SHA256, sizeof(XA_SHA256));
		len += sizeof(XA_SHA256);
		if (in->expires_at) {
			memcpy(list + len, XA_EXPIRES_AT,
			       sizeof(XA_EXPIRES_AT));
			len += sizeof(XA_EXPIRES_AT);
		}
	} else if (in->kind == FS_DIR && in->expire_rule) {
		memcpy(list + len, XA_EXPIRE_IN, sizeof(XA_EXPIRE_IN));
		len += sizeof(XA_EXPIRE_IN);
	}
	pthread_mutex_unlock(&fs->lock);
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, list, len);
}

void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fs *fs = fuse_req_userdata(req);
	struct inode *in = fs_inode_of(fs, ino);
	int rc;

	if (!in) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (strcmp(name, XA_EXPIRE_IN) != 0 &&
	    strcmp(name, XA_EXPIRES_AT) != 0) {
		fuse_reply_err(req,
			       strcmp(name, XA_SHA256) == 0 ? EPERM : ENODATA);
		return;
	}
	if (in->kind == FS_ROOT || in->kind == FS_LEVEL) {
		fuse_reply_err(req, in->kind == FS_ROOT ? EROFS : EPERM);
		return;
	}
	rc = fs_do_expire(fs, in, 0, NULL);
	fuse_reply_err(req, -rc);
}
