/*
 * ops.c - the FUSE low-level operations.
 *
 * Each op turns a kernel request about inodes into object-store requests
 * about keys, replies with 0 or a negative errno mapped straight from
 * remote/, and logs one sentence for every failure a user can see.
 * Attribute and entry timeouts are metadata_ttl; the kernel's page cache is
 * kept across opens while an object's ETag is unchanged (keep_cache).
 *
 * Name rules: a name whose key would pass REMOTE_KEY_MAX bytes is
 * ENAMETOOLONG; keys that cannot be paths (empty segments, "." or "..")
 * are never listed.  A key that is both an object and a prefix of other
 * keys shows as the file.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs.h"

#define DIR_CTYPE "application/x-directory"

struct handle {
	struct inode *in;
	struct wfile *wf; /* set when open for writing */
};

static struct fs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

void fs_log(struct fs *fs, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	(void)fs;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fuse_log(FUSE_LOG_ERR, "artifactfs: %s\n", msg);
}

/* ---- small helpers ------------------------------------------------------ */

static int64_t now_sec(struct fs *fs)
{
	return fs->now();
}

/* *out = parent's key + name (+ '/' when dir).  -ENAMETOOLONG, -EINVAL for
 * names that cannot be keys, -EROFS under the root. */
static int child_key(struct fs *fs, struct inode *parent, const char *name,
		     int dir, char **out)
{
	size_t plen, nlen = strlen(name);
	size_t room = remote_key_room(fs->remote);
	int too_long;
	char *key;

	*out = NULL;
	if (parent->kind == FS_ROOT)
		return -EROFS;
	if (nlen == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strchr(name, '/'))
		return -EINVAL;
	pthread_mutex_lock(&fs->lock);
	plen = strlen(parent->key);
	/* A directory's key ends in '/': that byte counts too. */
	too_long = plen + nlen + (dir ? 1 : 0) > room;
	key = too_long ? NULL : malloc(plen + nlen + 2);
	if (key) {
		memcpy(key, parent->key, plen);
		memcpy(key + plen, name, nlen);
		key[plen + nlen] = dir ? '/' : '\0';
		key[plen + nlen + 1] = '\0';
	}
	pthread_mutex_unlock(&fs->lock);
	if (!key)
		return too_long ? -ENAMETOOLONG : -ENOMEM;
	*out = key;
	return 0;
}

/* The parent inode (-ESTALE when unknown) and the key of its child name
 * (see child_key; caller frees *key). */
static int parent_child(struct fs *fs, fuse_ino_t parent, const char *name,
			int dir, struct inode **p, char **key)
{
	*key = NULL;
	*p = fs_inode_of(fs, parent);
	if (!*p)
		return -ESTALE;
	return child_key(fs, *p, name, dir, key);
}

static void fill_entry(struct fs *fs, struct inode *in,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = in->ino;
	e->attr = in->attr;
	e->attr_timeout = fs->opts.metadata_ttl;
	e->entry_timeout = fs->opts.metadata_ttl;
}

/* Look the key up on the remote: a file or symlink (HEAD key), else a
 * directory (anything under key/).  With fs->lock NOT held.  On success
 * the inode (with fresh attrs) is returned with fs->lock HELD. */
static int resolve(struct fs *fs, struct inode *parent, const char *name,
		   const char *key, enum store_level level, struct inode **out)
{
	struct remote_stat st = { 0 };
	struct remote_stat mst = { 0 };
	struct remote_list l = { 0 };
	struct remote_error err = { { 0 } };
	struct store_meta sm;
	char *dkey = NULL;
	struct remote_list_opts lo = { .max_keys = 1 };
	struct inode *in;
	int rc;

	*out = NULL;
	rc = remote_head(fs->remote, key, &st, &err);
	if (rc == 0) {
		store_meta_decode(&st.meta, &sm);
		if (store_meta_expired(&sm, now_sec(fs))) {
			rc = -ENOENT;
			goto out;
		}
		pthread_mutex_lock(&fs->lock);
		in = fs_inode_obtain(fs, key, FS_FILE, level);
		if (!in) {
			pthread_mutex_unlock(&fs->lock);
			rc = -ENOMEM;
			goto out;
		}
		if (!in->wf)
			fs_attr_from_stat(fs, in, &st);
		*out = in;
		goto out;
	}
	if (rc != -ENOENT) {
		fs_log(fs, "lookup of %s failed: %s", key, err.msg);
		goto out;
	}
	/* Created here and still open for writing: not stored until flush,
	 * but it exists (stat, mv) for everyone on this mount meanwhile. */
	pthread_mutex_lock(&fs->lock);
	in = fs_inode_by_key(fs, key);
	if (in && in->wf) {
		*out = in;
		rc = 0;
		goto out;
	}
	pthread_mutex_unlock(&fs->lock);
	/* Not a file.  One listing of the parent answers whether it is a
	 * directory, and the next lookups of missing names there too. */
	if (parent && name) {
		enum fs_dir_answer ans = FS_DIR_UNKNOWN;

		if (fs_dir_fetch(fs, parent) == 0) {
			pthread_mutex_lock(&fs->lock);
			ans = fs_dir_lookup(parent, name);
			pthread_mutex_unlock(&fs->lock);
		}
		if (ans == FS_DIR_ABSENT) {
			rc = -ENOENT;
			goto out;
		}
	}
	if (asprintf(&dkey, "%s/", key) < 0) {
		dkey = NULL;
		rc = -ENOMEM;
		goto out;
	}
	lo.prefix = dkey;
	memset(&err, 0, sizeof(err));
	rc = remote_list(fs->remote, &lo, &l, &err);
	if (rc) {
		fs_log(fs, "lookup of %s failed: %s", dkey, err.msg);
		goto out;
	}
	if (l.n_entries == 0) {
		rc = -ENOENT;
		goto out;
	}
	if (strcmp(l.entries[0].key, dkey) == 0)
		rc = remote_head(fs->remote, dkey, &mst, NULL);
	else
		rc = -ENOENT;
	pthread_mutex_lock(&fs->lock);
	in = fs_inode_obtain(fs, dkey, FS_DIR, level);
	if (!in) {
		pthread_mutex_unlock(&fs->lock);
		rc = -ENOMEM;
		goto out;
	}
	in->has_marker = rc == 0;
	if (rc == 0)
		fs_attr_from_stat(fs, in, &mst);
	else
		fs_attr_dir_default(fs, in);
	rc = 0;
	*out = in;
out:
	remote_stat_clear(&st);
	remote_stat_clear(&mst);
	remote_list_clear(&l);
	free(dkey);
	return rc;
}

int fs_refresh(struct fs *fs, struct inode *in)
{
	struct inode *found = NULL;
	char *key = NULL;
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	if (in->kind == FS_ROOT || in->kind == FS_LEVEL || in->wf ||
	    fs_monotonic() < in->attr_until) {
		pthread_mutex_unlock(&fs->lock);
		return 0;
	}
	key = strdup(in->key);
	if (key && in->kind == FS_DIR)
		key[strlen(key) - 1] = '\0';
	pthread_mutex_unlock(&fs->lock);
	if (!key)
		return -ENOMEM;
	rc = resolve(fs, NULL, NULL, key, in->level, &found);
	if (rc == 0) {
		if (found != in) {
			rc = -ENOENT; /* changed kind: a new inode */
			fs_inode_maybe_free(fs, found);
		}
		pthread_mutex_unlock(&fs->lock);
	}
	free(key);
	return rc;
}

int fs_inode_fresh(struct fs *fs, fuse_ino_t ino, struct inode **out)
{
	*out = fs_inode_of(fs, ino);
	if (!*out)
		return -ESTALE;
	return fs_refresh(fs, *out);
}

static void reply_err(fuse_req_t req, int rc)
{
	fuse_reply_err(req, rc < 0 ? -rc : rc);
}

/* ---- lookup / forget / getattr ----------------------------------------- */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = req_fs(req);
	struct fuse_entry_param e;
	struct inode *p, *in = NULL;
	char *key = NULL;
	int rc;

	pthread_mutex_lock(&fs->lock);
	p = fs_inode_get(fs, parent);
	if (p && p->kind == FS_ROOT) {
		for (int l = 0; l < STORE_LEVELS; l++)
			if (fs->levels[l] &&
			    strcmp(name, store_level_name(l)) == 0)
				in = fs->levels[l];
		if (in) {
			in->nlookup++;
			fill_entry(fs, in, &e);
		}
		pthread_mutex_unlock(&fs->lock);
		if (in) {
			fuse_reply_entry(req, &e);
		} else {
			memset(&e, 0, sizeof(e));
			e.entry_timeout = fs->opts.metadata_ttl;
			fuse_reply_entry(req, &e);
		}
		return;
	}
	pthread_mutex_unlock(&fs->lock);
	if (!p) {
		reply_err(req, -ESTALE);
		return;
	}
	rc = child_key(fs, p, name, 0, &key);
	if (rc)
		goto out;
	pthread_mutex_lock(&fs->lock);
	if (fs_dir_lookup(p, name) == FS_DIR_ABSENT)
		rc = -ENOENT; /* the parent was listed a moment ago */
	pthread_mutex_unlock(&fs->lock);
	if (rc == 0)
		rc = resolve(fs, p, name, key, p->level, &in);
	if (rc == 0) {
		in->nlookup++;
		fill_entry(fs, in, &e);
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_entry(req, &e);
	}
out:
	if (rc == -ENOENT) {
		/* Negative entry: the kernel may cache it for the TTL. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->opts.metadata_ttl;
		fuse_reply_entry(req, &e);
	} else if (rc) {
		reply_err(req, rc);
	}
	free(key);
}

static void forget_one(struct fs *fs, fuse_ino_t ino, uint64_t n)
{
	struct inode *in = fs_inode_get(fs, ino);

	if (!in)
		return;
	in->nlookup = in->nlookup > n ? in->nlookup - n : 0;
	fs_inode_maybe_free(fs, in);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs *fs = req_fs(req);

	pthread_mutex_lock(&fs->lock);
	forget_one(fs, ino, nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct fs *fs = req_fs(req);

	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < count; i++)
		forget_one(fs, forgets[i].ino, forgets[i].nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct inode *in;
	struct stat st;
	int rc;

	(void)fi;
	rc = fs_inode_fresh(fs, ino, &in);
	if (rc) {
		reply_err(req, rc);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	st = in->attr;
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_attr(req, &st, fs->opts.metadata_ttl);
}

/* access(2) without default_permissions: the kernel asks us, and would take
 * ENOSYS as "allowed", so `test -x` held for every file.  Answer as a local
 * disk answers root: X_OK needs an x bit (execve checks the same), W_OK on
 * the read-only root is EROFS. */
static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct fs *fs = req_fs(req);
	struct inode *in;
	mode_t mode;
	int rc;

	rc = fs_inode_fresh(fs, ino, &in);
	if (rc) {
		reply_err(req, rc);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	mode = in->attr.st_mode;
	if ((mask & W_OK) && in->kind == FS_ROOT)
		rc = -EROFS;
	else if ((mask & X_OK) && !S_ISDIR(mode) && !(mode & 0111))
		rc = -EACCES;
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, -rc);
}

/* ---- metadata changes --------------------------------------------------- */

/* Store in's current attrs on its object (or directory marker) without
 * touching the data: a server-side copy onto itself with new metadata. */
static int store_attrs(struct fs *fs, struct inode *in)
{
	struct remote_stat st = { 0 };
	struct remote_meta meta = { 0 };
	struct remote_put_opts put = { 0 };
	struct remote_error err = { { 0 } };
	char *key = NULL;
	int is_dir;
	int rc;

	fs_wait_finalized(fs, in);
	pthread_mutex_lock(&fs->lock);
	key = strdup(in->key);
	is_dir = in->kind == FS_DIR;
	pthread_mutex_unlock(&fs->lock);
	if (!key)
		return -ENOMEM;
	rc = remote_head(fs->remote, key, &st, &err);
	if (rc == -ENOENT && is_dir) {
		/* An implied directory gets a marker to hold its attrs. */
		struct remote_body body = { .buf = "", .fd = -1, .len = 0 };

		rc = fs_meta_build(fs, in, NULL, &meta);
		put.content_type = DIR_CTYPE;
		put.meta = &meta;
		if (rc == 0)
			rc = remote_put(fs->remote, key, &body, &put, NULL,
					&err);
		if (rc == 0) {
			pthread_mutex_lock(&fs->lock);
			in->has_marker = 1;
			pthread_mutex_unlock(&fs->lock);
		}
		goto out;
	}
	if (rc)
		goto out;
	/* Keep what we do not manage (sha256, foreign names). */
	rc = remote_meta_copy(&meta, &st.meta);
	if (rc == 0)
		rc = fs_meta_build(fs, in, NULL, &meta);
	if (rc)
		goto out;
	put.meta = &meta;
	put.content_type = st.content_type[0] ? st.content_type : NULL;
	rc = remote_copy_object(fs->remote, key, key, st.size, &put, &err);
	if (rc == 0) {
		pthread_mutex_lock(&fs->lock);
		in->attr_until = 0; /* ETag may change: re-read later */
		pthread_mutex_unlock(&fs->lock);
	}
out:
	if (rc)
		fs_log(fs, "cannot update attributes of %s: %s", key,
		       err.msg[0] ? err.msg : strerror(-rc));
	remote_stat_clear(&st);
	remote_meta_clear(&meta);
	free(key);
	return rc;
}

/* store_attrs for fs_wfile_meta_changed. */
static int store_attrs_cb(struct fs *fs, struct inode *in, void *arg)
{
	(void)arg;
	return store_attrs(fs, in);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct wfile *wf = NULL;
	struct inode *in;
	struct stat st;
	int meta_change = to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
				    FUSE_SET_ATTR_GID | FUSE_SET_ATTR_MTIME |
				    FUSE_SET_ATTR_MTIME_NOW);
	int rc = 0;

	(void)fi; /* a handle's staging is in->wf anyway */
	in = fs_inode_of(fs, ino);
	if (!in) {
		reply_err(req, -ESTALE);
		return;
	}
	if ((in->kind == FS_ROOT || in->kind == FS_LEVEL) &&
	    (meta_change || (to_set & FUSE_SET_ATTR_SIZE))) {
		reply_err(req, -EPERM); /* the tree's skeleton is fixed */
		return;
	}
	rc = fs_refresh(fs, in);
	if (rc)
		goto out;

	pthread_mutex_lock(&fs->lock);
	if (to_set & FUSE_SET_ATTR_MODE)
		in->attr.st_mode =
			(in->attr.st_mode & S_IFMT) | (attr->st_mode & 07777);
	if (to_set & FUSE_SET_ATTR_UID)
		in->attr.st_uid = attr->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		in->attr.st_gid = attr->st_gid;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		clock_gettime(CLOCK_REALTIME, &in->attr.st_mtim);
	else if (to_set & FUSE_SET_ATTR_MTIME)
		in->attr.st_mtim = attr->st_mtim;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		clock_gettime(CLOCK_REALTIME, &in->attr.st_atim);
	else if (to_set & FUSE_SET_ATTR_ATIME)
		in->attr.st_atim = attr->st_atim;
	if (meta_change)
		clock_gettime(CLOCK_REALTIME, &in->attr.st_ctim);
	/* A handle's staging is in->wf while it is open; hold a reference
	 * so it outlives a concurrent release. */
	wf = fs_wfile_ref(in);
	pthread_mutex_unlock(&fs->lock);

	if (to_set & FUSE_SET_ATTR_SIZE) {
		int own = !wf;

		if (in->kind != FS_FILE) {
			rc = -EISDIR;
			goto out;
		}
		if (own) {
			rc = fs_wfile_acquire(fs, in, attr->st_size == 0, &wf);
			if (rc)
				goto out;
		}
		rc = fs_wfile_truncate(fs, in, wf, (uint64_t)attr->st_size);
		/* truncate(1) on a closed file: store it now (the release
		 * below would too, but could not report a failure). */
		if (rc == 0 && own)
			rc = fs_wfile_flush(fs, in, wf);
	} else if (meta_change) {
		rc = fs_wfile_meta_changed(fs, in, wf, store_attrs_cb, NULL);
	}
out:
	if (wf)
		fs_wfile_release(fs, in, wf);
	if (rc) {
		reply_err(req, rc);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	st = in->attr;
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_attr(req, &st, fs->opts.metadata_ttl);
}

/* ---- creating and removing ---------------------------------------------- */

/* The expiry rule (a duration) of the nearest directory above key that
 * has one, or STORE_NEVER.  fs->lock held. */
static int64_t inherited_expiry(struct fs *fs, const char *key)
{
	char buf[REMOTE_KEY_MAX + 2];
	size_t len = strlen(key);
	int64_t dur;

	if (len >= sizeof(buf))
		return STORE_NEVER;
	memcpy(buf, key, len + 1);
	while (len > 0) {
		struct inode *dir;

		/* Cut back to the previous '/', keeping it. */
		len--;
		while (len > 0 && buf[len - 1] != '/')
			len--;
		if (len == 0)
			break;
		buf[len] = '\0';
		dir = fs_inode_by_key(fs, buf);
		if (dir && dir->kind == FS_LEVEL)
			break;
		if (dir && dir->expire_rule &&
		    store_duration_parse(dir->expire_rule, &dur) == 0)
			return dur;
	}
	return STORE_NEVER;
}

/* New object's initial attributes, owned by the caller of req.  fs->lock
 * held. */
static void init_new(struct fs *fs, fuse_req_t req, struct inode *in,
		     mode_t mode)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct timespec now;
	int64_t dur;

	clock_gettime(CLOCK_REALTIME, &now);
	memset(&in->attr, 0, sizeof(in->attr));
	in->attr.st_ino = in->ino;
	in->attr.st_mode = mode;
	in->attr.st_nlink = S_ISDIR(mode) ? 2 : 1;
	in->attr.st_uid = ctx->uid;
	in->attr.st_gid = ctx->gid;
	in->attr.st_blksize = (blksize_t)cache_block_size(fs->cache);
	in->attr.st_mtim = in->attr.st_ctim = in->attr.st_atim = now;
	in->etag[0] = in->sha256[0] = '\0';
	in->unlinked = 0;
	in->expires_at = 0;
	if (S_ISDIR(mode))
		goto out; /* markers keep no expiry: a directory lives while
			     anything is in it */
	dur = inherited_expiry(fs, in->key);
	if (dur == STORE_NEVER)
		dur = fs->opts.expire_in[in->level];
	/* An expiry past the end of time is no expiry. */
	if (dur != STORE_NEVER &&
	    __builtin_add_overflow((int64_t)now.tv_sec, dur, &in->expires_at))
		in->expires_at = 0;
out:
	in->attr_until = fs_monotonic() + fs->opts.metadata_ttl;
}

/* Whether anything (file or directory) exists at parent/name. */
static int exists(struct fs *fs, const char *key)
{
	struct inode *in = NULL;
	int rc = resolve(fs, NULL, NULL, key, STORE_JOB, &in);

	if (rc == 0) {
		fs_inode_maybe_free(fs, in); /* unless someone holds it */
		pthread_mutex_unlock(&fs->lock);
	}
	return rc == 0 ? 1 : rc == -ENOENT ? 0 : rc;
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct fs *fs = req_fs(req);
	struct remote_body body = { .buf = "", .fd = -1, .len = 0 };
	struct remote_meta meta = { 0 };
	struct remote_put_opts put = { .content_type = DIR_CTYPE,
				       .meta = &meta };
	struct remote_error err = { { 0 } };
	struct fuse_entry_param e;
	struct inode *p, *in;
	char *key = NULL;
	char *fkey = NULL;
	int rc;

	rc = parent_child(fs, parent, name, 1, &p, &key);
	if (rc == 0)
		rc = child_key(fs, p, name, 0, &fkey);
	if (rc)
		goto out;
	rc = exists(fs, fkey);
	if (rc > 0)
		rc = -EEXIST;
	if (rc)
		goto out;
	pthread_mutex_lock(&fs->lock);
	in = fs_inode_obtain(fs, key, FS_DIR, p->level);
	if (in)
		init_new(fs, req, in, S_IFDIR | (mode & 07777));
	fs_dir_note_added(p, name);
	pthread_mutex_unlock(&fs->lock);
	if (!in) {
		rc = -ENOMEM;
		goto out;
	}
	rc = fs_meta_build(fs, in, NULL, &meta);
	if (rc == 0)
		rc = remote_put(fs->remote, key, &body, &put, NULL, &err);
	if (rc) {
		fs_log(fs, "mkdir %s failed: %s", key, err.msg);
		goto out;
	}
	pthread_mutex_lock(&fs->lock);
	in->has_marker = 1;
	in->nlookup++;
	fill_entry(fs, in, &e);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_entry(req, &e);
out:
	if (rc)
		reply_err(req, rc);
	remote_meta_clear(&meta);
	free(key);
	free(fkey);
}

/* The staging of the file at key (when it is not `except`), locked, with a
 * reference and a pin on *in, and no metadata copy pending on it: while it
 * is held no upload of that file can land, so a delete or a rename over it
 * cannot be undone.  NULL (and *in NULL) when that file is not open for
 * writing.  Undo with pthread_mutex_unlock(&wf->lock), fs_unpin(). */
static struct wfile *hold_writer(struct fs *fs, const char *key,
				 struct inode *except, struct inode **in)
{
	struct wfile *wf = NULL;

	pthread_mutex_lock(&fs->lock);
	*in = fs_inode_by_key(fs, key);
	if (*in && *in != except)
		wf = fs_wfile_ref(*in);
	if (wf)
		(*in)->opens++;
	else
		*in = NULL; /* not pinned: the caller must not touch it */
	pthread_mutex_unlock(&fs->lock);
	if (!wf)
		return NULL;
	pthread_mutex_lock(&wf->lock);
	fs_wait_finalized(fs, *in);
	return wf;
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = req_fs(req);
	struct remote_error err = { { 0 } };
	struct wfile *wf = NULL;
	struct inode *p, *in = NULL, *gone;
	char *key = NULL;
	int rc;

	rc = parent_child(fs, parent, name, 0, &p, &key);
	if (rc)
		goto out;
	fs_wait_finalized_key(fs, key); /* or its copy would bring it back */
	/* A file open for writing may be uploading right now: delete and
	 * mark it under its lock, so no upload lands after the delete. */
	wf = hold_writer(fs, key, NULL, &in);
	rc = remote_delete(fs->remote, key, &err);
	if (rc) {
		fs_log(fs, "rm %s failed: %s", key, err.msg);
	} else {
		pthread_mutex_lock(&fs->lock);
		gone = in ? in : fs_inode_by_key(fs, key);
		if (gone) {
			gone->unlinked = 1;
			gone->attr.st_nlink = 0;
			fs_inode_unhash_key(fs, gone);
		}
		pthread_mutex_unlock(&fs->lock);
	}
	if (wf) {
		pthread_mutex_unlock(&wf->lock);
		fs_unpin(fs, in, wf);
	}
out:
	reply_err(req, rc);
	free(key);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = req_fs(req);
	struct remote_list_opts lo = { .max_keys = 2 };
	struct remote_list l = { 0 };
	struct remote_error err = { { 0 } };
	struct inode *p, *in;
	char *key = NULL;
	int rc;

	rc = parent_child(fs, parent, name, 1, &p, &key);
	if (rc)
		goto out;
	lo.prefix = key;
	rc = remote_list(fs->remote, &lo, &l, &err);
	if (rc)
		goto out;
	for (size_t i = 0; i < l.n_entries; i++)
		if (strcmp(l.entries[i].key, key) != 0)
			rc = -ENOTEMPTY;
	if (rc)
		goto out;
	if (l.n_entries == 0) {
		rc = -ENOENT;
		goto out;
	}
	rc = remote_delete(fs->remote, key, &err);
	if (rc)
		goto out;
	pthread_mutex_lock(&fs->lock);
	in = fs_inode_by_key(fs, key);
	if (in) {
		in->unlinked = 1;
		fs_inode_unhash_key(fs, in);
	}
	pthread_mutex_unlock(&fs->lock);
out:
	if (rc && rc != -ENOTEMPTY && rc != -ENOENT)
		fs_log(fs, "rmdir %s failed: %s", key ? key : name, err.msg);
	reply_err(req, rc);
	remote_list_clear(&l);
	free(key);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct fs *fs = req_fs(req);
	struct remote_body body = { .buf = link,
				    .fd = -1,
				    .len = strlen(link) };
	struct remote_meta meta = { 0 };
	struct remote_put_opts put = { .meta = &meta, .if_none_match = 1 };
	struct remote_error err = { { 0 } };
	struct fuse_entry_param e;
	struct inode *p, *in;
	char *key = NULL;
	int rc;

	rc = parent_child(fs, parent, name, 0, &p, &key);
	if (rc)
		goto out;
	pthread_mutex_lock(&fs->lock);
	fs_dir_note_added(p, name);
	in = fs_inode_obtain(fs, key, FS_SYMLINK, p->level);
	if (in) {
		init_new(fs, req, in, S_IFLNK | 0777);
		in->attr.st_size = (off_t)body.len;
	}
	pthread_mutex_unlock(&fs->lock);
	if (!in) {
		rc = -ENOMEM;
		goto out;
	}
	rc = fs_meta_build(fs, in, NULL, &meta);
	if (rc == 0)
		rc = remote_put(fs->remote, key, &body, &put, in->etag, &err);
	if (rc) {
		if (rc != -EEXIST)
			fs_log(fs, "ln -s %s failed: %s", key, err.msg);
		goto out;
	}
	pthread_mutex_lock(&fs->lock);
	in->nlookup++;
	fill_entry(fs, in, &e);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_entry(req, &e);
out:
	if (rc)
		reply_err(req, rc);
	remote_meta_clear(&meta);
	free(key);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = req_fs(req);
	struct remote_error err = { { 0 } };
	char buf[PATH_MAX + 1];
	struct inode *in;
	char *key = NULL;
	size_t got = 0;
	int rc;

	pthread_mutex_lock(&fs->lock);
	in = fs_inode_get(fs, ino);
	key = in ? strdup(in->key) : NULL;
	pthread_mutex_unlock(&fs->lock);
	if (!key) {
		reply_err(req, in ? -ENOMEM : -ESTALE);
		return;
	}
	rc = remote_get(fs->remote, key, 0, PATH_MAX, buf, &got, NULL, &err);
	if (rc) {
		fs_log(fs, "readlink %s failed: %s", key, err.msg);
		reply_err(req, rc);
	} else {
		buf[got] = '\0';
		fuse_reply_readlink(req, buf);
	}
	free(key);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	/* Objects cannot share content; say so rather than copy silently. */
	reply_err(req, -EPERM);
}

/* ---- rename ------------------------------------------------------------- */

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
 * the sources.  Nothing is deleted unless every copy succeeded. */
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

	/* A metadata copy still pending on a source or a target would
	 * bring back the old object: let them finish first. */
	for (size_t i = 0; i < njobs; i++) {
		fs_wait_finalized_key(fs, jobs[i].src);
		fs_wait_finalized_key(fs, jobs[i].dst);
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

/* Whether a file under prefix is open for writing on this mount.  fs->lock
 * held. */
static int writing_under(struct fs *fs, const char *prefix)
{
	size_t plen = strlen(prefix);

	for (size_t b = 0; b < FS_HASH_BUCKETS; b++)
		for (struct inode *in = fs->by_ino[b]; in; in = in->next_ino)
			if (in->wf && !in->unlinked && in->key &&
			    strncmp(in->key, prefix, plen) == 0)
				return 1;
	return 0;
}

/* Rekey every inode under old_prefix (a directory rename). */
static void rekey_tree(struct fs *fs, const char *old_prefix,
		       const char *new_prefix)
{
	size_t olen = strlen(old_prefix);

	for (size_t b = 0; b < FS_HASH_BUCKETS; b++) {
		for (struct inode *in = fs->by_ino[b]; in; in = in->next_ino) {
			char *nk;

			if (!in->key ||
			    strncmp(in->key, old_prefix, olen) != 0 ||
			    fs_inode_by_key(fs, in->key) != in)
				continue;
			if (asprintf(&nk, "%s%s", new_prefix, in->key + olen) <
			    0)
				continue;
			fs_inode_rekey(fs, in, nk);
			free(nk);
		}
	}
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct fs *fs = req_fs(req);
	struct remote_error err = { { 0 } };
	struct inode *p, *np, *src = NULL;
	char *skey = NULL, *dkey = NULL;
	char *sdir = NULL, *ddir = NULL;
	enum fs_kind kind;
	struct wfile *wf = NULL, *dwf = NULL;
	struct inode *din = NULL;
	struct fs_moving mv_src = { 0 }, mv_dst = { 0 };
	uint64_t size = 0;
	int dst_exists;
	int rc;

	if (flags & RENAME_EXCHANGE) {
		reply_err(req, -EINVAL);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	p = fs_inode_get(fs, parent);
	np = fs_inode_get(fs, newparent);
	if (np)
		fs_dir_note_added(np, newname);
	pthread_mutex_unlock(&fs->lock);
	if (!p || !np) {
		reply_err(req, -ESTALE);
		return;
	}
	rc = child_key(fs, p, name, 0, &skey);
	if (rc == 0)
		rc = child_key(fs, np, newname, 0, &dkey);
	if (rc)
		goto out;
	rc = resolve(fs, NULL, NULL, skey, p->level, &src);
	if (rc)
		goto out;
	kind = src->kind;
	size = (uint64_t)src->attr.st_size;
	wf = fs_wfile_ref(src);
	src->opens++; /* pin across the unlocked work below */
	pthread_mutex_unlock(&fs->lock);
	fs_wait_finalized(fs, src);

	dst_exists = exists(fs, dkey);
	if (dst_exists < 0) {
		rc = dst_exists;
		goto out;
	}
	if (dst_exists && (flags & RENAME_NOREPLACE)) {
		rc = -EEXIST;
		goto out;
	}
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
		/* A file open for writing under either would miss the move
		 * (its upload racing the copies) or vanish with the target:
		 * refuse rather than lose its data, and keep new writers out
		 * of both until the move is done.  Files open only for
		 * reading move fine. */
		pthread_mutex_lock(&fs->lock);
		rc = writing_under(fs, sdir) ? -EBUSY
		     : writing_under(fs, ddir) ? -ENOTEMPTY
					       : 0;
		if (rc == 0) {
			mv_src.prefix = sdir;
			mv_dst.prefix = ddir;
			mv_src.next = &mv_dst;
			mv_dst.next = fs->moving;
			fs->moving = &mv_src;
		}
		pthread_mutex_unlock(&fs->lock);
		if (rc)
			goto out;
		if (dst_exists) {
			struct remote_list_opts lo = { .prefix = ddir,
						       .max_keys = 2 };
			struct remote_list l = { 0 };

			rc = remote_list(fs->remote, &lo, &l, &err);
			for (size_t i = 0; rc == 0 && i < l.n_entries; i++)
				if (strcmp(l.entries[i].key, ddir) != 0)
					rc = -ENOTEMPTY;
			if (rc == 0 && l.n_entries == 0)
				rc = -ENOTDIR; /* the target is a file */
			remote_list_clear(&l);
			if (rc)
				goto out;
		}
		rc = move_tree(fs, sdir, ddir);
		if (rc)
			goto out;
		pthread_mutex_lock(&fs->lock);
		rekey_tree(fs, sdir, ddir);
		pthread_mutex_unlock(&fs->lock);
	} else {
		if (dst_exists) {
			char *dd = NULL;
			int isdir;

			if (asprintf(&dd, "%s/", dkey) < 0) {
				rc = -ENOMEM;
				goto out;
			}
			pthread_mutex_lock(&fs->lock);
			isdir = fs_inode_by_key(fs, dd) != NULL;
			pthread_mutex_unlock(&fs->lock);
			free(dd);
			if (isdir) {
				rc = -EISDIR;
				goto out;
			}
		}
		if (wf) {
			/* Store what is staged first, then move it, holding
			 * the staging so that no upload of the source (mmap
			 * writeback, a last release) lands at the old key
			 * between the copy and the delete. */
			pthread_mutex_lock(&wf->lock);
			rc = fs_wfile_flush_locked(fs, src, wf);
			if (rc) {
				pthread_mutex_unlock(&wf->lock);
				goto out;
			}
			size = wf->size;
			fs_wait_finalized(fs, src); /* its final metadata */
		}
		/* Nor may a pending copy onto the target, or an upload by a
		 * writer of the file replaced, overwrite the result: the
		 * rekey marks that file unlinked while we hold its lock. */
		fs_wait_finalized_key(fs, dkey);
		dwf = hold_writer(fs, dkey, src, &din);
		rc = remote_copy_object(fs->remote, skey, dkey, size, NULL,
					&err);
		if (rc == 0)
			rc = remote_delete(fs->remote, skey, &err);
		if (rc) {
			fs_log(fs, "mv %s %s failed: %s", skey, dkey, err.msg);
		} else {
			pthread_mutex_lock(&fs->lock);
			if (din && din != src)
				din->unlinked = 1; /* replaced, even on ENOMEM */
			rc = fs_inode_rekey(fs, src, dkey);
			src->level = np->level;
			pthread_mutex_unlock(&fs->lock);
		}
		if (dwf) {
			pthread_mutex_unlock(&dwf->lock);
			fs_unpin(fs, din, dwf);
		}
		if (wf)
			pthread_mutex_unlock(&wf->lock);
	}
out:
	if (mv_src.prefix) {
		struct fs_moving **m;

		pthread_mutex_lock(&fs->lock);
		for (m = &fs->moving; *m != &mv_src; m = &(*m)->next)
			;
		*m = mv_dst.next;
		pthread_mutex_unlock(&fs->lock);
	}
	if (src)
		fs_unpin(fs, src, wf);
	reply_err(req, rc);
	free(skey);
	free(dkey);
	free(sdir);
	free(ddir);
}

/* ---- open files --------------------------------------------------------- */

static int open_handle(struct fs *fs, struct inode *in,
		       struct fuse_file_info *fi, int truncate)
{
	struct handle *h = calloc(1, sizeof(*h));
	int writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	int rc;

	if (!h)
		return -ENOMEM;
	h->in = in;
	if (writing) {
		rc = fs_wfile_acquire(fs, in, truncate, &h->wf);
		if (rc) {
			free(h);
			return rc;
		}
	}
	pthread_mutex_lock(&fs->lock);
	in->opens++;
	/* Keep the kernel's cached pages while the object is unchanged. */
	fi->keep_cache =
		!in->wf && in->etag[0] && strcmp(in->etag, in->open_etag) == 0;
	snprintf(in->open_etag, sizeof(in->open_etag), "%s", in->etag);
	pthread_mutex_unlock(&fs->lock);
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct inode *in;
	int rc;

	in = fs_inode_of(fs, ino);
	if (!in) {
		reply_err(req, -ESTALE);
		return;
	}
	if (in->kind != FS_FILE) {
		reply_err(req, in->kind == FS_SYMLINK ? -ELOOP : -EISDIR);
		return;
	}
	rc = fs_refresh(fs, in);
	if (rc == 0)
		rc = open_handle(fs, in, fi, (fi->flags & O_TRUNC) != 0);
	if (rc)
		reply_err(req, rc);
	else
		fuse_reply_open(req, fi);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct fuse_entry_param e;
	struct inode *p, *in = NULL;
	char *key = NULL;
	int rc;

	rc = parent_child(fs, parent, name, 0, &p, &key);
	if (rc)
		goto out;
	pthread_mutex_lock(&fs->lock);
	in = fs_inode_obtain(fs, key, FS_FILE, p->level);
	if (in && !in->wf)
		init_new(fs, req, in, S_IFREG | (mode & 07777));
	fs_dir_note_added(p, name);
	pthread_mutex_unlock(&fs->lock);
	if (!in) {
		rc = -ENOMEM;
		goto out;
	}
	if ((fi->flags & O_EXCL) &&
	    (remote_caps(fs->remote) & REMOTE_CAP_CONDITIONAL_PUT)) {
		/* Claim the name on the remote now, atomically, so two
		 * machines cannot both create it.  A server without
		 * conditional writes could only check-then-write, which the
		 * kernel's lookup has just done. */
		struct remote_body body = { .buf = "", .fd = -1, .len = 0 };
		struct remote_meta meta = { 0 };
		struct remote_put_opts put = { .meta = &meta,
					       .if_none_match = 1 };
		struct remote_error err = { { 0 } };

		rc = fs_meta_build(fs, in, NULL, &meta);
		if (rc == 0)
			rc = remote_put(fs->remote, key, &body, &put, NULL,
					&err);
		remote_meta_clear(&meta);
		if (rc) {
			if (rc != -EEXIST)
				fs_log(fs, "create %s failed: %s", key,
				       err.msg);
			goto out;
		}
	}
	rc = open_handle(fs, in, fi, 1);
	if (rc)
		goto out;
	pthread_mutex_lock(&fs->lock);
	in->nlookup++;
	fill_entry(fs, in, &e);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_create(req, &e, fi);
out:
	if (rc) {
		if (in) {
			pthread_mutex_lock(&fs->lock);
			fs_inode_maybe_free(fs, in);
			pthread_mutex_unlock(&fs->lock);
		}
		reply_err(req, rc);
	}
	free(key);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct inode *in = h->in;
	struct wfile *wf;
	char etag[REMOTE_ETAG_MAX];
	char *key = NULL;
	char *buf = NULL;
	uint64_t osize;
	ssize_t n = 0;

	(void)ino;
	buf = malloc(size ? size : 1);
	if (!buf) {
		reply_err(req, -ENOMEM);
		return;
	}
	for (int attempt = 0; attempt < 4; attempt++) {
		pthread_mutex_lock(&fs->lock);
		wf = fs_wfile_ref(in);
		key = strdup(in->key);
		snprintf(etag, sizeof(etag), "%s", in->etag);
		osize = (uint64_t)in->attr.st_size;
		pthread_mutex_unlock(&fs->lock);
		if (wf) {
			int loaded;

			pthread_mutex_lock(&wf->lock);
			loaded = wf->loaded;
			pthread_mutex_unlock(&wf->lock);
			if (loaded)
				n = fs_wfile_read(fs, in, wf, buf, size, off);
			fs_wfile_release(fs, in, wf);
			if (loaded)
				break;
		}
		if (!key) {
			n = -ENOMEM;
			break;
		}
		/* An empty ETag (stored by a streamed upload, version not
		 * read yet) takes the refresh path below first. */
		if (etag[0] || attempt > 0)
			n = cache_read(fs->cache, key, etag, osize,
				       (uint64_t)off, size, buf);
		else
			n = -ESTALE;
		free(key);
		key = NULL;
		if (n != -ESTALE)
			break;
		/* Changed on the remote since we looked: look again. */
		pthread_mutex_lock(&fs->lock);
		in->attr_until = 0;
		pthread_mutex_unlock(&fs->lock);
		n = fs_refresh(fs, in);
		if (n)
			break;
		n = -ESTALE;
	}
	free(key);
	if (n < 0) {
		fs_log(fs, "read failed: %s", strerror((int)-n));
		reply_err(req, (int)n);
	} else {
		fuse_reply_buf(req, buf, (size_t)n);
	}
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	ssize_t n;

	(void)ino;
	if (!h->wf) {
		reply_err(req, -EBADF);
		return;
	}
	n = fs_wfile_write(fs, h->in, h->wf, buf, size, off);
	if (n < 0)
		reply_err(req, (int)n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	(void)ino;
	reply_err(req, h->wf ? fs_wfile_flush(fs, h->in, h->wf) : 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	(void)datasync;
	op_flush(req, ino, fi);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	(void)ino;
	fs_unpin(fs, h->in, h->wf);
	free(h);
	fuse_reply_err(req, 0);
}

/* ---- directories -------------------------------------------------------- */

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

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct dirh *d = calloc(1, sizeof(*d));

	(void)ino;
	if (!d) {
		reply_err(req, -ENOMEM);
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
		if (store_meta_expired(&sm, now_sec(j->fs)))
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

/* Whether a listed name can be shown: one safe path segment. */
static int name_ok(const char *name)
{
	return name[0] && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	       !strchr(name, '/');
}

/* Read the whole directory once: a delimited listing (all pages), then the
 * attributes of every file not fresh in the table, HEADs in parallel. */
static int fill_dir(struct fs *fs, struct inode *dir, struct dirh *d)
{
	struct remote_list_opts lo = { .delimiter = "/" };
	struct remote_list l = { 0 };
	struct remote_error err = { { 0 } };
	struct head_job *jobs = NULL;
	struct fs_batch batch;
	size_t njobs = 0;
	char *prefix = NULL;
	char *token = NULL;
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
	do {
		lo.token = token;
		rc = remote_list(fs->remote, &lo, &l, &err);
		if (rc) {
			fs_log(fs, "listing %s failed: %s", prefix, err.msg);
			goto out;
		}
		pthread_mutex_lock(&fs->lock);
		for (size_t i = 0; i < l.n_prefixes && rc == 0; i++) {
			size_t nlen = strlen(l.prefixes[i]) - plen - 1;
			char *name = strndup(l.prefixes[i] + plen, nlen);
			struct inode *in = NULL;

			if (!name) {
				rc = -ENOMEM;
				break;
			}
			if (name_ok(name))
				in = fs_inode_obtain(fs, l.prefixes[i], FS_DIR,
						     dir->level);
			if (in && fs_monotonic() >= in->attr_until)
				fs_attr_dir_default(fs, in);
			if (in)
				rc = dirh_add(d, name, in);
			else if (name_ok(name))
				rc = -ENOMEM;
			free(name);
		}
		for (size_t i = 0; i < l.n_entries && rc == 0; i++) {
			const char *name = l.entries[i].key + plen;
			struct inode *in;

			if (!name_ok(name))
				continue; /* our own marker, or unusable */
			in = fs_inode_obtain(fs, l.entries[i].key, FS_FILE,
					     dir->level);
			if (!in) {
				rc = -ENOMEM;
				break;
			}
			rc = dirh_add(d, name, in);
			if (rc || in->wf)
				continue;
			if (same_version(in, &l.entries[i]))
				in->attr_until =
					fs_monotonic() + fs->opts.metadata_ttl;
			else
				d->v[d->n - 1].head_rc = 1; /* needs HEAD */
		}
		pthread_mutex_unlock(&fs->lock);
		if (rc)
			goto out;
		free(token);
		token = l.next_token ? strdup(l.next_token) : NULL;
		remote_list_clear(&l);
	} while (token);

	/* Files created here and still open for writing are stored only at
	 * flush; list them meanwhile, as a local disk would. */
	pthread_mutex_lock(&fs->lock);
	for (size_t b = 0; b < FS_HASH_BUCKETS && rc == 0; b++) {
		for (struct inode *in = fs->by_key[b]; in && rc == 0;
		     in = in->next_key) {
			size_t k;

			if (!in->wf || in->kind != FS_FILE ||
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
	free(token);
	remote_list_clear(&l);
	return rc;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct fs *fs = req_fs(req);
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	struct inode *dir;
	char *buf = NULL;
	size_t used = 0;
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	dir = fs_inode_get(fs, ino);
	pthread_mutex_unlock(&fs->lock);
	if (!dir) {
		reply_err(req, -ESTALE);
		return;
	}
	if (!d->filled || off == 0) {
		if (d->filled) {
			pthread_mutex_lock(&fs->lock);
			for (size_t i = 0; i < d->n; i++) {
				d->v[i].in->nlookup--;
				fs_inode_maybe_free(fs, d->v[i].in);
				free(d->v[i].name);
			}
			pthread_mutex_unlock(&fs->lock);
			d->n = 0;
		}
		rc = fill_dir(fs, dir, d);
		d->filled = 1;
		if (rc) {
			reply_err(req, rc);
			return;
		}
	}
	buf = malloc(size);
	if (!buf) {
		reply_err(req, -ENOMEM);
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
			     de->in->expires_at <= now_sec(fs)))
				continue; /* gone or expired */
			name = de->name;
			st = de->in->attr;
		}
		if (plus) {
			struct fuse_entry_param e = { 0 };

			if (i >= 2) {
				fill_entry(fs, d->v[i - 2].in, &e);
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

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;

	(void)ino;
	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < d->n; i++) {
		d->v[i].in->nlookup--;
		fs_inode_maybe_free(fs, d->v[i].in);
		free(d->v[i].name);
	}
	pthread_mutex_unlock(&fs->lock);
	free(d->v);
	free(d);
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = req_fs(req);
	struct statvfs sv = { 0 };
	const fsblkcnt_t total = (fsblkcnt_t)1 << 40; /* 1 PiB in KiB */

	(void)ino;
	(void)fs;
	/* An object store has no fixed size: report a large, stable one. */
	sv.f_bsize = 4096;
	sv.f_frsize = 1024;
	sv.f_blocks = total;
	sv.f_bfree = total;
	sv.f_bavail = total;
	sv.f_files = 1u << 30;
	sv.f_ffree = 1u << 30;
	sv.f_favail = 1u << 30;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->max_write = 1 << 20;
	conn->max_readahead = 1 << 20;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.access = op_access,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
	.create = op_create,
	.setxattr = fs_setxattr,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.removexattr = fs_removexattr,
};
