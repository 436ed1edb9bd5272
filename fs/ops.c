/*
 * ops.c - the FUSE low-level operation table, and the simple operations:
 * getattr, access, readlink, link, open/read/write/flush/fsync/release,
 * statfs and init.  The rest live along the seams of fs/: lookup.c (names
 * to inodes), names.c (making, changing and removing one name), rename.c,
 * readdir.c and xattr.c.
 *
 * Each op turns a kernel request about inodes into object-store requests
 * about keys, replies with 0 or a negative errno mapped straight from
 * remote/, and logs one sentence, with the key, for every failure a user
 * can see.  Attribute and entry timeouts are metadata_ttl; the kernel's
 * page cache is kept across opens while an object's ETag is unchanged
 * (keep_cache).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs.h"

struct handle {
	struct inode *in;
	struct wfile *wf; /* set when open for writing, or created */
};

void fs_reply_err(fuse_req_t req, int rc)
{
	fuse_reply_err(req, rc < 0 ? -rc : rc);
}

void fs_reply_attr(fuse_req_t req, struct inode *in)
{
	struct fs *fs = fuse_req_userdata(req);
	struct stat st;

	pthread_mutex_lock(&fs->lock);
	st = in->attr;
	pthread_mutex_unlock(&fs->lock);
	fs_attr_show(fs, &st);
	fuse_reply_attr(req, &st, fs->opts.metadata_ttl);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fuse_req_userdata(req);
	struct inode *in;
	int rc;

	(void)fi;
	rc = fs_inode_fresh(fs, ino, &in);
	if (rc)
		fs_reply_err(req, rc);
	else
		fs_reply_attr(req, in);
}

/* access(2) without default_permissions: the kernel asks us, and would take
 * ENOSYS as "allowed", so `test -x` held for every file.  Answer as a local
 * disk answers root: X_OK needs an x bit (execve checks the same), W_OK on
 * the read-only root is EROFS. */
static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct fs *fs = fuse_req_userdata(req);
	struct inode *in;
	mode_t mode;
	int rc;

	rc = fs_inode_fresh(fs, ino, &in);
	if (rc) {
		fs_reply_err(req, rc);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	mode = in->attr.st_mode;
	if ((mask & W_OK) && in->kind == FS_ROOT)
		rc = -EROFS;
	else if ((mask & X_OK) && !S_ISDIR(mode) && !(mode & 0111))
		rc = -EACCES;
	pthread_mutex_unlock(&fs->lock);
	fs_reply_err(req, rc);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fuse_req_userdata(req);
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
		fs_reply_err(req, in ? -ENOMEM : -ESTALE);
		return;
	}
	rc = remote_get(fs->remote, key, 0, PATH_MAX, buf, &got, NULL, &err);
	if (rc) {
		fs_log(fs, "readlink %s failed: %s", key, err.msg);
		fs_reply_err(req, rc);
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
	fs_reply_err(req, -EPERM);
}

/* ---- open files --------------------------------------------------------- */

int fs_handle_new(struct fs *fs, struct inode *in, struct wfile *wf,
		  struct fuse_file_info *fi)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h) {
		if (wf)
			fs_wfile_release(fs, in, wf);
		return -ENOMEM;
	}
	h->in = in;
	h->wf = wf;
	fs_pin(fs, in);
	pthread_mutex_lock(&fs->lock);
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
	struct fs *fs = fuse_req_userdata(req);
	int writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct wfile *wf = NULL;
	struct inode *in;
	int rc;

	in = fs_inode_of(fs, ino);
	if (!in) {
		fs_reply_err(req, -ESTALE);
		return;
	}
	if (in->kind != FS_FILE) {
		fs_reply_err(req, in->kind == FS_SYMLINK   ? -ELOOP
				  : in->kind == FS_SPECIAL ? -ENXIO
							   : -EISDIR);
		return;
	}
	rc = fs_refresh(fs, in);
	if (rc == 0 && writing)
		rc = fs_wfile_acquire(
			fs, in, (fi->flags & O_TRUNC) ? FS_WF_NEW : FS_WF_LOAD,
			&wf);
	if (rc == 0)
		rc = fs_handle_new(fs, in, wf, fi);
	if (rc)
		fs_reply_err(req, rc);
	else
		fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = fuse_req_userdata(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct inode *in = h->in;
	struct remote_error err = { { 0 } };
	struct wfile *wf;
	char etag[REMOTE_ETAG_MAX];
	char sha[DIGEST_SHA256_HEX];
	char *key = NULL;
	char *buf = NULL;
	uint64_t osize;
	ssize_t n = 0;

	(void)ino;
	buf = malloc(size ? size : 1);
	if (!buf) {
		fs_reply_err(req, -ENOMEM);
		return;
	}
	for (int attempt = 0; attempt < 4; attempt++) {
		pthread_mutex_lock(&fs->lock);
		wf = fs_wfile_ref(in);
		key = strdup(in->key);
		snprintf(etag, sizeof(etag), "%s", in->etag);
		snprintf(sha, sizeof(sha), "%s", in->sha256);
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
			n = cache_read(fs->cache, key, etag, osize, sha,
				       (uint64_t)off, size, buf, &err);
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
		pthread_mutex_lock(&fs->lock);
		fs_log(fs, "read of %s failed: %s", in->key, strerror((int)-n));
		pthread_mutex_unlock(&fs->lock);
		fs_reply_err(req, (int)n);
	} else {
		fuse_reply_buf(req, buf, (size_t)n);
	}
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = fuse_req_userdata(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	ssize_t n;

	(void)ino;
	if (!h->wf) {
		fs_reply_err(req, -EBADF);
		return;
	}
	n = fs_wfile_write(fs, h->in, h->wf, buf, size, off);
	if (n < 0)
		fs_reply_err(req, (int)n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fuse_req_userdata(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	(void)ino;
	fs_reply_err(req, h->wf ? fs_wfile_flush(fs, h->in, h->wf) : 0);
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
	struct fs *fs = fuse_req_userdata(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	(void)ino;
	fs_unpin(fs, h->in, h->wf);
	free(h);
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fuse_req_userdata(req);
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
	sv.f_namemax = FS_NAME_MAX;
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
	.lookup = fs_op_lookup,
	.forget = fs_op_forget,
	.forget_multi = fs_op_forget_multi,
	.getattr = op_getattr,
	.access = op_access,
	.setattr = fs_op_setattr,
	.readlink = op_readlink,
	.mkdir = fs_op_mkdir,
	.mknod = fs_op_mknod,
	.unlink = fs_op_unlink,
	.rmdir = fs_op_rmdir,
	.symlink = fs_op_symlink,
	.rename = fs_op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = fs_op_opendir,
	.readdir = fs_op_readdir,
	.readdirplus = fs_op_readdirplus,
	.releasedir = fs_op_releasedir,
	.statfs = op_statfs,
	.create = fs_op_create,
	.setxattr = fs_setxattr,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.removexattr = fs_removexattr,
};
