/*
 * names.c - the operations that make, change or remove one name: create,
 * mknod (fifos, sockets, devices), mkdir, symlink, unlink, rmdir, and
 * setattr (chmod, chown, utimens, truncate).
 *
 * Each runs under a guard (guard.c) on the keys it changes.  A new name
 * is guarded as both its file key and its directory key, so that a create
 * and a mkdir of one name cannot both succeed on this mount.  What the
 * remote holds after each is what a local disk would show:
 *   - a created file exists on the remote by the time its last handle is
 *     closed (empty if nothing was written), however it was opened;
 *   - mkdir, symlink and mknod store their object before replying: a
 *     marker "dir/", the link's target as content, or a zero-byte object
 *     whose x-amz-meta-mode carries the file type (s3fs's format) and, for
 *     a device, x-amz-meta-rdev;
 *   - a failed chmod, chown, utimens or truncate leaves the attributes as
 *     they were; ctime moves with each change and is stored
 *     (x-amz-meta-ctime);
 *   - a directory's mtime and ctime move, in this mount's view, when this
 *     mount makes or removes names in it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define DIR_CTYPE "application/x-directory"

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

/* New object's initial attributes, owned by the caller.  fs->lock held. */
static void init_new(struct fs *fs, const struct fs_caller *ctx,
		     struct inode *in, mode_t mode, dev_t rdev)
{
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
	in->attr.st_rdev = rdev;
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
	/* Durations were checked against the clock when set (mount option,
	 * setfattr); one that time has carried past 9999 gets the latest
	 * expiry there is, never none. */
	if (store_expiry_after((int64_t)now.tv_sec, dur, &in->expires_at))
		in->expires_at = STORE_TIME_MAX;
out:
	in->attr_until = fs_monotonic() + fs->opts.metadata_ttl;
}

/* Guard the name parent/name for an operation that makes it: both its
 * file key and its directory key (so a create and a mkdir of one name
 * cannot both succeed), re-checked after the wait against parent's key (a
 * rename of parent may have run meanwhile).  *key is the file key, *dkey
 * the directory key (caller frees both).  -errno of fs_child_key. */
static int guard_name(struct fs *fs, struct fs_guard *g, struct inode *p,
		      const char *name, char **key, char **dkey)
{
	int rc;

	for (;;) {
		fs_guard_init(g);
		rc = fs_child_key(fs, p, name, 0, key);
		if (rc == 0)
			rc = fs_child_key(fs, p, name, 1, dkey);
		if (rc == 0)
			rc = fs_guard_key(g, *key, 0);
		if (rc == 0)
			rc = fs_guard_key(g, *dkey, 0);
		if (rc)
			break;
		fs_guard_take(fs, g);
		rc = fs_child_is(fs, p, name, 0, *key);
		if (rc) /* 1: still it; or an error */
			break;
		fs_guard_done(fs, g);
		free(*key);
		free(*dkey);
		*key = *dkey = NULL;
	}
	if (rc < 0) {
		fs_guard_done(fs, g);
		free(*key);
		free(*dkey);
		*key = *dkey = NULL;
		return rc;
	}
	return 0;
}

void fs_dir_touch(struct fs *fs, struct inode *dir)
{
	(void)fs;
	clock_gettime(CLOCK_REALTIME, &dir->touched);
	dir->attr.st_mtim = dir->touched;
	dir->attr.st_ctim = dir->touched;
}

/* Make a new named inode of kind at key under p, pinned by g (which
 * holds a guard on the name): initial attributes from the caller, mode
 * and rdev.  NULL on ENOMEM.  fs->lock NOT held. */
static struct inode *new_inode(struct fs *fs, struct fs_guard *g,
			       const struct fs_caller *ctx, struct inode *p,
			       const char *key, const char *name,
			       enum fs_kind kind, mode_t mode, dev_t rdev)
{
	struct inode *in;

	pthread_mutex_lock(&fs->lock);
	in = fs_inode_obtain(fs, key, kind, p->level);
	if (in && fs_guard_pin_locked(g, in))
		in = NULL; /* not reached: the guard has room */
	if (in && !in->wf)
		init_new(fs, ctx, in, mode, rdev);
	if (in) {
		fs_dir_note_added(p, name);
		fs_dir_touch(fs, p);
	}
	pthread_mutex_unlock(&fs->lock);
	return in;
}

/* Store a new empty object at key with in's attributes: a directory
 * marker, a symlink (body = target), a special file.  Only if nothing is
 * there (If-None-Match where the server has it).  The caller holds the
 * guard.  -EEXIST, or the remote's -errno (logged). */
static int put_new(struct fs *fs, struct inode *in, const char *key,
		   const char *body_buf, const char *ctype, const char *what)
{
	struct remote_body body = { .buf = body_buf,
				    .fd = -1,
				    .len = strlen(body_buf) };
	struct remote_meta meta = { 0 };
	struct remote_put_opts put = { .meta = &meta,
				       .content_type = ctype,
				       .if_none_match = 1 };
	struct remote_error err = { { 0 } };
	char etag[REMOTE_ETAG_MAX] = "";
	int rc;

	rc = fs_meta_build(fs, in, NULL, NULL, &meta);
	if (rc == 0)
		rc = remote_put(fs->remote, key, &body, &put, etag, &err);
	if (rc && rc != -EEXIST)
		fs_log(fs, "%s %s failed: %s", what, key,
		       err.msg[0] ? err.msg : strerror(-rc));
	if (rc == 0) {
		pthread_mutex_lock(&fs->lock);
		snprintf(in->etag, sizeof(in->etag), "%s", etag);
		pthread_mutex_unlock(&fs->lock);
	}
	remote_meta_clear(&meta);
	return rc;
}

int fs_do_mknod(struct fs *fs, const struct fs_caller *ctx, struct inode *p,
		const char *name, enum fs_kind kind, mode_t mode, dev_t rdev,
		const char *link, struct inode **out)
{
	struct fs_guard g;
	struct inode *in = NULL;
	char *key = NULL, *dkey = NULL;
	const char *what = kind == FS_DIR	? "mkdir"
			   : kind == FS_SYMLINK ? "ln -s"
						: "mknod";
	int rc;

	*out = NULL;
	fs_guard_init(&g);
	if (link && strlen(link) >= PATH_MAX)
		return -ENAMETOOLONG;
	rc = guard_name(fs, &g, p, name, &key, &dkey);
	if (rc)
		goto out;
	rc = fs_exists(fs, key);
	if (rc > 0)
		rc = -EEXIST;
	if (rc)
		goto out;
	in = new_inode(fs, &g, ctx, p, kind == FS_DIR ? dkey : key, name, kind,
		       mode, rdev);
	if (!in) {
		rc = -ENOMEM;
		goto out;
	}
	if (kind == FS_SYMLINK) {
		pthread_mutex_lock(&fs->lock);
		in->attr.st_size = (off_t)strlen(link);
		pthread_mutex_unlock(&fs->lock);
	}
	rc = put_new(fs, in, kind == FS_DIR ? dkey : key,
		     kind == FS_SYMLINK ? link : "",
		     kind == FS_DIR ? DIR_CTYPE : NULL, what);
	if (rc)
		goto out;
	pthread_mutex_lock(&fs->lock);
	if (kind == FS_DIR)
		in->has_marker = 1;
	in->nlookup++;
	pthread_mutex_unlock(&fs->lock);
	*out = in;
out:
	fs_guard_done(fs, &g); /* unpins in, freeing it after a failure */
	free(key);
	free(dkey);
	return rc;
}

int fs_do_create(struct fs *fs, const struct fs_caller *ctx, struct inode *p,
		 const char *name, mode_t mode, int flags, struct inode **out,
		 struct wfile **wf)
{
	struct fs_guard g;
	struct inode *in = NULL;
	char *key = NULL, *dkey = NULL;
	enum fs_wf_start start = FS_WF_NEW;
	int rc;

	*out = NULL;
	*wf = NULL;
	fs_guard_init(&g);
	rc = guard_name(fs, &g, p, name, &key, &dkey);
	if (rc)
		goto out;
	in = new_inode(fs, &g, ctx, p, key, name, FS_FILE,
		       S_IFREG | (mode & 07777), 0);
	if (!in) {
		rc = -ENOMEM;
		goto out;
	}
	if ((flags & O_EXCL) &&
	    (remote_caps(fs->remote) & REMOTE_CAP_CONDITIONAL_PUT)) {
		/* Claim the name on the remote now, atomically, so two
		 * machines cannot both create it.  A server without
		 * conditional writes could only check-then-write, which the
		 * kernel's lookup has just done.  The empty object is then
		 * stored: close() stores again only what is written. */
		rc = put_new(fs, in, key, "", NULL, "create");
		if (rc)
			goto out;
		start = FS_WF_STORED_EMPTY;
	}
	pthread_mutex_lock(&fs->lock);
	in->nlookup++; /* the kernel's, from the reply */
	pthread_mutex_unlock(&fs->lock);
	fs_guard_done(fs, &g);
	/* Every created file has a staging, whatever its access mode: its
	 * last close stores it (empty if nothing was written), so it exists
	 * on the remote by then, at the cost of that one upload.  Taken
	 * after the guard: dropping a staging reference may store, under a
	 * guard of its own. */
	rc = fs_wfile_acquire(fs, in, start, wf);
	if (rc) {
		pthread_mutex_lock(&fs->lock);
		in->nlookup--;
		fs_inode_maybe_free(fs, in);
		pthread_mutex_unlock(&fs->lock);
		goto out;
	}
	*out = in;
out:
	fs_guard_done(fs, &g);
	free(key);
	free(dkey);
	return rc;
}

/* in's object (if in is not NULL) was deleted from p, under a guard on
 * its key: it leaves the key index and is never uploaded again; p's times
 * move.  fs->lock held. */
static void removed(struct fs *fs, struct inode *p, struct inode *in)
{
	if (in) {
		in->unlinked = 1;
		in->attr.st_nlink = 0;
		clock_gettime(CLOCK_REALTIME, &in->attr.st_ctim);
		fs_inode_unhash_key(fs, in);
	}
	fs_dir_touch(fs, p);
}

int fs_do_unlink(struct fs *fs, struct inode *p, const char *name)
{
	struct remote_error err = { { 0 } };
	struct fs_guard g;
	struct inode *in;
	char *key = NULL, *dkey = NULL;
	int rc;

	fs_guard_init(&g);
	/* Under the guard no upload or metadata copy of the file can land
	 * after the delete: a writer still open finds it unlinked. */
	rc = guard_name(fs, &g, p, name, &key, &dkey);
	if (rc)
		goto out;
	pthread_mutex_lock(&fs->lock);
	in = fs_inode_by_key(fs, key);
	if (in)
		rc = fs_guard_pin_locked(&g, in);
	pthread_mutex_unlock(&fs->lock);
	if (rc == 0)
		rc = remote_delete(fs->remote, key, &err);
	if (rc) {
		fs_log(fs, "rm %s failed: %s", key,
		       err.msg[0] ? err.msg : strerror(-rc));
		goto out;
	}
	pthread_mutex_lock(&fs->lock);
	removed(fs, p, in);
	pthread_mutex_unlock(&fs->lock);
out:
	fs_guard_done(fs, &g);
	free(key);
	free(dkey);
	return rc;
}

int fs_do_rmdir(struct fs *fs, struct inode *p, const char *name)
{
	struct remote_error err = { { 0 } };
	struct fs_guard g;
	char *key = NULL;
	int rc;

	fs_guard_init(&g);
	for (;;) {
		rc = fs_child_key(fs, p, name, 1, &key);
		if (rc)
			goto out;
		/* The whole prefix: no upload under it may land meanwhile. */
		rc = fs_guard_key(&g, key, 1);
		if (rc)
			goto out;
		fs_guard_take(fs, &g);
		/* A rename of p while we waited: start over with its key. */
		rc = fs_child_is(fs, p, name, 1, key);
		if (rc < 0)
			goto out;
		if (rc == 1)
			break;
		fs_guard_done(fs, &g);
		free(key);
		key = NULL;
	}
	pthread_mutex_lock(&fs->lock);
	rc = fs_inode_staged_under(fs, key) ? -ENOTEMPTY : 0;
	pthread_mutex_unlock(&fs->lock);
	if (rc == 0)
		rc = fs_dir_probe(fs, key, NULL);
	if (rc == 1)
		rc = -ENOTEMPTY;
	if (rc)
		goto out;
	rc = remote_delete(fs->remote, key, &err);
	if (rc) {
		fs_log(fs, "rmdir %s failed: %s", key,
		       err.msg[0] ? err.msg : strerror(-rc));
		goto out;
	}
	pthread_mutex_lock(&fs->lock);
	removed(fs, p, fs_inode_by_key(fs, key));
	pthread_mutex_unlock(&fs->lock);
out:
	fs_guard_done(fs, &g);
	free(key);
	return rc;
}

/* ---- the FUSE operations ------------------------------------------------ */

static void caller_of(fuse_req_t req, struct fs_caller *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	c->uid = ctx->uid;
	c->gid = ctx->gid;
}

/* Reply with the entry of in, or the error rc. */
static void reply_entry(fuse_req_t req, int rc, struct inode *in)
{
	struct fs *fs = fuse_req_userdata(req);
	struct fuse_entry_param e;

	if (rc) {
		fs_reply_err(req, rc);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	fs_fill_entry(fs, in, &e);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_entry(req, &e);
}

static void make_node(fuse_req_t req, fuse_ino_t parent, const char *name,
		      enum fs_kind kind, mode_t mode, dev_t rdev,
		      const char *link)
{
	struct fs *fs = fuse_req_userdata(req);
	struct inode *p = fs_inode_of(fs, parent);
	struct inode *in = NULL;
	struct fs_caller c;
	int rc = -ESTALE;

	caller_of(req, &c);
	if (p)
		rc = fs_do_mknod(fs, &c, p, name, kind, mode, rdev, link, &in);
	reply_entry(req, rc, in);
}

void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode)
{
	make_node(req, parent, name, FS_DIR, S_IFDIR | (mode & 07777), 0, NULL);
}

void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		   const char *name)
{
	make_node(req, parent, name, FS_SYMLINK, S_IFLNK | 0777, 0, link);
}

/* mkfifo, mknod and bind(2) of a unix socket.  A regular file made by
 * mknod(2) is a create without a handle. */
void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, dev_t rdev)
{
	switch (mode & S_IFMT) {
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFCHR:
	case S_IFBLK:
		make_node(req, parent, name, FS_SPECIAL, mode, rdev, NULL);
		return;
	case S_IFREG:
	case 0:
		make_node(req, parent, name, FS_FILE, S_IFREG | (mode & 07777),
			  0, NULL);
		return;
	default:
		fs_reply_err(req, -EINVAL);
	}
}

void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, struct fuse_file_info *fi)
{
	struct fs *fs = fuse_req_userdata(req);
	struct fuse_entry_param e;
	struct inode *p = fs_inode_of(fs, parent);
	struct inode *in = NULL;
	struct wfile *wf = NULL;
	struct fs_caller c;
	int rc = -ESTALE;

	caller_of(req, &c);
	if (p)
		rc = fs_do_create(fs, &c, p, name, mode, fi->flags, &in, &wf);
	if (rc == 0)
		rc = fs_handle_new(fs, in, wf, fi);
	if (rc) {
		if (in) {
			pthread_mutex_lock(&fs->lock);
			in->nlookup--;
			fs_inode_maybe_free(fs, in);
			pthread_mutex_unlock(&fs->lock);
		}
		fs_reply_err(req, rc);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	fs_fill_entry(fs, in, &e);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_create(req, &e, fi);
}

void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fuse_req_userdata(req);
	struct inode *p = fs_inode_of(fs, parent);

	fs_reply_err(req, p ? fs_do_unlink(fs, p, name) : -ESTALE);
}

void fs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fuse_req_userdata(req);
	struct inode *p = fs_inode_of(fs, parent);

	fs_reply_err(req, p ? fs_do_rmdir(fs, p, name) : -ESTALE);
}

/* ---- attribute changes -------------------------------------------------- */

/* Store attrs on in's object (or directory marker) at key without touching
 * the data: a server-side copy onto itself with new metadata; an implied
 * directory gets a marker.  The caller holds a guard on key. */
static int store_attrs(struct fs *fs, struct inode *in, const char *key,
		       const struct stat *attrs)
{
	struct remote_stat st = { 0 };
	struct remote_meta meta = { 0 };
	struct remote_put_opts put = { 0 };
	struct remote_error err = { { 0 } };
	int is_dir;
	int rc;

	pthread_mutex_lock(&fs->lock);
	is_dir = in->kind == FS_DIR;
	pthread_mutex_unlock(&fs->lock);
	rc = remote_head(fs->remote, key, &st, &err);
	if (rc == -ENOENT && is_dir) {
		struct remote_body body = { .buf = "", .fd = -1, .len = 0 };

		rc = fs_meta_build(fs, in, attrs, NULL, &meta);
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
		rc = fs_meta_build(fs, in, attrs, NULL, &meta);
	if (rc)
		goto out;
	put.meta = &meta;
	put.content_type = st.content_type[0] ? st.content_type : NULL;
	rc = remote_copy_object(fs->remote, key, key, st.size, &put, &err);
out:
	if (rc)
		fs_log(fs, "cannot update attributes of %s: %s", key,
		       err.msg[0] ? err.msg : strerror(-rc));
	remote_stat_clear(&st);
	remote_meta_clear(&meta);
	return rc;
}

struct attr_change {
	const char *key;
	struct stat attrs; /* what the inode's attributes become */
};

static int store_attrs_cb(struct fs *fs, struct inode *in, void *arg)
{
	struct attr_change *c = arg;

	return store_attrs(fs, in, c->key, &c->attrs);
}

/* fs->lock held. */
static void commit_attrs_cb(struct fs *fs, struct inode *in, void *arg)
{
	struct attr_change *c = arg;

	(void)fs;
	in->attr.st_mode = c->attrs.st_mode;
	in->attr.st_uid = c->attrs.st_uid;
	in->attr.st_gid = c->attrs.st_gid;
	in->attr.st_mtim = c->attrs.st_mtim;
	in->attr.st_atim = c->attrs.st_atim;
	in->attr.st_ctim = c->attrs.st_ctim;
	in->attr_until = 0; /* the copy made a new version: HEAD again */
}

/* chmod, chown, utimens: under a guard on in's key.  Nothing changes in
 * the inode unless the store worked. */
static int change_attrs(struct fs *fs, struct inode *in, const struct stat *a,
			int to_set)
{
	struct attr_change c;
	struct fs_guard g;
	struct timespec now;
	char *key = NULL;
	int rc;

	rc = fs_guard_inode(fs, &g, in, 0, &key);
	if (rc && rc != -ENOENT)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	c.key = key;
	pthread_mutex_lock(&fs->lock);
	c.attrs = in->attr;
	pthread_mutex_unlock(&fs->lock);
	if (to_set & FUSE_SET_ATTR_MODE)
		c.attrs.st_mode =
			(c.attrs.st_mode & S_IFMT) | (a->st_mode & 07777);
	if (to_set & FUSE_SET_ATTR_UID)
		c.attrs.st_uid = a->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		c.attrs.st_gid = a->st_gid;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		c.attrs.st_mtim = now;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		c.attrs.st_mtim = a->st_mtim;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		c.attrs.st_atim = now;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		c.attrs.st_atim = a->st_atim;
	if (to_set & FUSE_SET_ATTR_CTIME)
		c.attrs.st_ctim = a->st_ctim;
	else
		c.attrs.st_ctim = now;
	if (rc == -ENOENT) {
		/* Removed or replaced while open (fchmod of an unlinked
		 * file): only this inode changes, no object. */
		pthread_mutex_lock(&fs->lock);
		commit_attrs_cb(fs, in, &c);
		pthread_mutex_unlock(&fs->lock);
		rc = 0;
	} else {
		rc = fs_wfile_meta_changed(fs, in, fs_guard_wfile(&g, in),
					   store_attrs_cb, commit_attrs_cb, &c);
	}
	fs_guard_done(fs, &g);
	free(key);
	return rc;
}

/* truncate(2) and ftruncate(2): through the staging (the file's own, or
 * one made for the call and stored before replying, so that a failure is
 * the call's).  On failure the reported attributes are what they were. */
static int change_size(struct fs *fs, struct inode *in, uint64_t size)
{
	struct wfile *wf;
	struct stat before;
	int own;
	int rc;

	pthread_mutex_lock(&fs->lock);
	before = in->attr;
	wf = fs_wfile_ref(in);
	pthread_mutex_unlock(&fs->lock);
	own = !wf;
	if (own) {
		rc = fs_wfile_acquire(fs, in,
				      size == 0 ? FS_WF_NEW : FS_WF_LOAD, &wf);
		if (rc)
			return rc;
	}
	rc = fs_wfile_truncate(fs, in, wf, size);
	if (rc == 0 && own)
		rc = fs_wfile_flush(fs, in, wf);
	if (rc) {
		pthread_mutex_lock(&fs->lock);
		in->attr = before;
		pthread_mutex_unlock(&fs->lock);
	}
	fs_wfile_release(fs, in, wf);
	return rc;
}

int fs_do_setattr(struct fs *fs, struct inode *in, const struct stat *attr,
		  int to_set)
{
	int meta_change =
		to_set &
		(FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
		 FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW |
		 FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW);
	int rc = 0;

	if ((in->kind == FS_ROOT || in->kind == FS_LEVEL) &&
	    (meta_change || (to_set & FUSE_SET_ATTR_SIZE)))
		return -EPERM; /* the tree's skeleton is fixed */
	rc = fs_refresh(fs, in);
	if (rc == 0 && (to_set & FUSE_SET_ATTR_SIZE)) {
		if (in->kind == FS_DIR)
			rc = -EISDIR;
		else if (in->kind != FS_FILE)
			rc = -EINVAL;
		else
			rc = change_size(fs, in, (uint64_t)attr->st_size);
	}
	if (rc == 0 && meta_change)
		rc = change_attrs(fs, in, attr, to_set);
	return rc;
}

void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		   int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = fuse_req_userdata(req);
	struct inode *in = fs_inode_of(fs, ino);
	int rc;

	(void)fi; /* a handle's staging is in->wf anyway */
	rc = in ? fs_do_setattr(fs, in, attr, to_set) : -ESTALE;
	if (rc)
		fs_reply_err(req, rc);
	else
		fs_reply_attr(req, in);
}
