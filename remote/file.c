/*
 * file.c - the file:// backend: an object store in a local or network
 * directory, with the semantics of S3 (atomic puts, conditional create,
 * ETags, byte-ordered listings with common prefixes and pagination).
 *
 * Layout inside DIR (documented for users in the README):
 *
 *   DIR/<seg>/<seg>/.../<last>~   one object per file, for key seg/seg/last
 *   DIR/.afs/tmp/                 staging for atomic puts (same filesystem)
 *   DIR/.afs/uploads/<id>/        multipart uploads in progress
 *
 * Key segments map to directory names, the last one to a file name with a
 * trailing '~'.  Segments are escaped so that names stay unambiguous: '%',
 * '~', control bytes and a leading '.' become %XX, and an empty segment (as
 * in the directory marker "a/b/") becomes "%".  So a directory name never
 * contains '~' and an object name always ends with one: the key "a" and the
 * key "a/b" coexist as DIR/a~ and DIR/a/b~, as they can in S3.  Nothing
 * escaped starts with '.', so DIR/.afs never collides with a key.
 *
 * Object file format: 8 bytes "AFSOBJ01", 8 bytes little-endian length N of
 * a JSON header {"etag","content_type","meta":{name:value}}, the header,
 * then the data.  Size is the file size minus 16 + N; Last-Modified is the
 * file's mtime.  The ETag is the MD5 of the data (as S3 gives for a single
 * PUT) or "md5(part md5s)-N" for a multipart upload, so it changes exactly
 * when the content does.
 *
 * Atomicity: every write goes to a temporary file in DIR/.afs/tmp, is
 * fdatasync'ed, then rename()d into place (or link()ed for If-None-Match,
 * which fails with EEXIST when the key exists: atomic on POSIX filesystems
 * and on NFS).  Readers see the old object or the new one, never a mix.
 * Empty directories are removed after a delete; a put racing with that
 * removal retries.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

#include "digest.h"
#include "remote_int.h"

#define MAGIC	     "AFSOBJ01"
#define HDR_FIXED    16
#define HDR_JSON_MAX (1u << 20)
#define COPY_CHUNK   (1u << 20)

struct file_remote {
	struct remote base; /* must be first */
	char *root;	    /* DIR, without trailing '/'; immutable */
	char *tmpdir;	    /* DIR/.afs/tmp */
	char *updir;	    /* DIR/.afs/uploads */
	int root_fd;	    /* DIR, O_PATH: every path is resolved from it */
};

static struct file_remote *fr(struct remote *r)
{
	return (struct file_remote *)r;
}

/* ---- resolving beneath the store ---------------------------------------
 *
 * Every path operation on the store resolves its path from the store's
 * root with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): a symlink
 * anywhere in the store (a stray one, or one planted to lead a delete
 * outside) fails the operation with ELOOP or EXDEV instead of being
 * followed.  Paths are the absolute ones key_path() and upload_path()
 * make; only their part below the root is used.
 */

/* path's part below f->root ("." for the root itself), or NULL. */
static const char *below_root(const struct file_remote *f, const char *path)
{
	size_t n = strlen(f->root);

	if (strncmp(path, f->root, n) != 0 ||
	    (path[n] != '/' && path[n] != '\0'))
		return NULL;
	path += n;
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

/* open(2) of path, beneath the root, never through a symlink. */
static int beneath_open(const struct file_remote *f, const char *path,
			int flags, mode_t mode)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.mode = (flags & O_CREAT) ? mode : 0,
				.resolve = RESOLVE_BENEATH |
					   RESOLVE_NO_SYMLINKS };
	const char *rel = below_root(f, path);
	long fd;

	if (!rel)
		return -EXDEV;
	fd = syscall(SYS_openat2, f->root_fd, rel, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* The directory holding path (O_PATH, beneath the root, never through a
 * symlink); path's last component (without a directory's trailing '/')
 * goes into leaf (NAME_MAX + 1 bytes).  dir is scratch of PATH_MAX bytes.
 * -errno. */
static int beneath_parent(const struct file_remote *f, const char *path,
			  char *dir, char *leaf)
{
	size_t len = strlen(path);
	const char *slash;
	size_t n;

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(dir, path, len);
	dir[len] = '\0';
	slash = strrchr(dir, '/');
	if (!slash || !slash[1])
		return -EINVAL;
	n = (size_t)(slash - dir);
	if (len - n - 1 > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(leaf, dir + n + 1, len - n - 1);
	leaf[len - n - 1] = '\0';
	dir[n] = '\0';
	return beneath_open(f, dir, O_PATH | O_DIRECTORY, 0);
}

/* mkdir, rmdir, unlink of path beneath the root: 0 or -errno. */
static int beneath_mkdir(const struct file_remote *f, const char *path)
{
	char dir[PATH_MAX];
	char leaf[NAME_MAX + 1];
	int dfd = beneath_parent(f, path, dir, leaf);
	int rc;

	if (dfd < 0)
		return dfd;
	rc = mkdirat(dfd, leaf, 0755) < 0 ? -errno : 0;
	close(dfd);
	return rc;
}

static int beneath_unlink(const struct file_remote *f, const char *path,
			  int flags)
{
	char dir[PATH_MAX];
	char leaf[NAME_MAX + 1];
	int dfd = beneath_parent(f, path, dir, leaf);
	int rc;

	if (dfd < 0)
		return dfd;
	rc = unlinkat(dfd, leaf, flags) < 0 ? -errno : 0;
	close(dfd);
	return rc;
}

/* rename (or link, when link_it) from to to, both beneath the root. */
static int beneath_move(const struct file_remote *f, const char *from,
			const char *to, int link_it)
{
	char d1[PATH_MAX], d2[PATH_MAX];
	char l1[NAME_MAX + 1], l2[NAME_MAX + 1];
	int fd1 = beneath_parent(f, from, d1, l1);
	int fd2 = fd1 < 0 ? fd1 : beneath_parent(f, to, d2, l2);
	int rc;

	if (fd1 < 0 || fd2 < 0) {
		rc = fd1 < 0 ? fd1 : fd2;
		goto out;
	}
	if (link_it)
		rc = linkat(fd1, l1, fd2, l2, 0) < 0 ? -errno : 0;
	else
		rc = renameat(fd1, l1, fd2, l2) < 0 ? -errno : 0;
out:
	if (fd1 >= 0)
		close(fd1);
	if (fd2 >= 0)
		close(fd2);
	return rc;
}

/* opendir(3) of path beneath the root; NULL with errno set. */
static DIR *beneath_opendir(const struct file_remote *f, const char *path)
{
	int fd = beneath_open(f, path, O_RDONLY | O_DIRECTORY, 0);
	DIR *d;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

/* An open object: its descriptor and parsed header.  Free with obj_close. */
struct obj {
	int fd;
	uint64_t data_off;
	uint64_t size;
	struct timespec mtime;
	char etag[REMOTE_ETAG_MAX];
	char content_type[128];
	struct remote_meta meta;
};

static void obj_close(struct obj *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	remote_meta_clear(&o->meta);
}

/* ---- names ------------------------------------------------------------- */

static int needs_escape(unsigned char c, int first)
{
	return c == '%' || c == '~' || c < 0x20 || c == 0x7f ||
	       (first && c == '.');
}

/* Append the escaped form of seg[0..len) to out (capacity cap) at *pos.
 * -ENAMETOOLONG if it does not fit. */
static int put_seg(char *out, size_t cap, size_t *pos, const char *seg,
		   size_t len)
{
	static const char hexdig[] = "0123456789ABCDEF";

	if (len == 0) {
		if (*pos + 1 >= cap)
			return -ENAMETOOLONG;
		out[(*pos)++] = '%';
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)seg[i];

		if (needs_escape(c, i == 0)) {
			if (*pos + 3 >= cap)
				return -ENAMETOOLONG;
			out[(*pos)++] = '%';
			out[(*pos)++] = hexdig[c >> 4];
			out[(*pos)++] = hexdig[c & 15];
		} else {
			if (*pos + 1 >= cap)
				return -ENAMETOOLONG;
			out[(*pos)++] = (char)c;
		}
	}
	return 0;
}

/* Decode an escaped name (without any '~') into out; returns its length or
 * -EINVAL for a name we did not write. */
static int get_seg(const char *name, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	if (len == 1 && name[0] == '%') {
		out[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned int v;

		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		if (name[i] != '%') {
			out[o++] = name[i];
			continue;
		}
		if (i + 2 >= len)
			return -EINVAL;
		if (sscanf(name + i + 1, "%2x", &v) != 1 || v == 0)
			return -EINVAL;
		out[o++] = (char)v;
		i += 2;
	}
	out[o] = '\0';
	return (int)o;
}

/* The path of key's object file (obj=1) or of the directory for key's
 * first `upto` bytes (obj=0, key[upto-1] == '/').  path has PATH_MAX bytes. */
static int key_path(struct file_remote *f, const char *key, size_t upto,
		    int obj, char *path)
{
	size_t pos = 0;
	const char *s = key;
	const char *end = key + upto;
	int n;
	int rc;

	n = snprintf(path, PATH_MAX, "%s/", f->root);
	if (n < 0 || n >= PATH_MAX)
		return -ENAMETOOLONG;
	pos = (size_t)n;
	while (s < end) {
		const char *slash = memchr(s, '/', (size_t)(end - s));
		size_t len = slash ? (size_t)(slash - s) : (size_t)(end - s);

		rc = put_seg(path, PATH_MAX, &pos, s, len);
		if (rc)
			return rc;
		if (!slash)
			break;
		if (pos + 1 >= PATH_MAX)
			return -ENAMETOOLONG;
		path[pos++] = '/';
		s = slash + 1;
		if (s == end && obj) {
			/* key ends in '/': the marker object's name is "%". */
			rc = put_seg(path, PATH_MAX, &pos, s, 0);
			if (rc)
				return rc;
			break;
		}
	}
	if (obj) {
		if (pos + 1 >= PATH_MAX)
			return -ENAMETOOLONG;
		path[pos++] = '~';
	}
	path[pos] = '\0';
	return 0;
}

/* mkdir -p of the directories holding the object at key. */
static int make_parents(struct file_remote *f, const char *key)
{
	char path[PATH_MAX];
	const char *s = key;
	int rc;

	for (;;) {
		const char *slash = strchr(s, '/');

		if (!slash)
			return 0;
		rc = key_path(f, key, (size_t)(slash - key) + 1, 0, path);
		if (rc)
			return rc;
		rc = beneath_mkdir(f, path);
		if (rc && rc != -EEXIST)
			return rc;
		s = slash + 1;
	}
}

/* Remove now-empty directories above key's object, deepest first. */
static void prune_parents(struct file_remote *f, const char *key)
{
	char path[PATH_MAX];
	size_t len = strlen(key);

	while (len > 0) {
		while (len > 0 && key[len - 1] != '/')
			len--;
		if (len == 0)
			break;
		if (key_path(f, key, len, 0, path) ||
		    beneath_unlink(f, path, AT_REMOVEDIR) < 0)
			break;
		len--;
	}
}

/* ---- header I/O ---------------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int read_full(int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
	char *p = buf;

	*got = 0;
	while (*got < len) {
		ssize_t n =
			pread(fd, p + *got, len - *got, (off_t)(off + *got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

/* Encode the header for (etag, content type, meta) into a malloc'd buffer
 * *out of *len bytes, fixed part included. */
static int header_encode(const char *etag, const char *ctype,
			 const struct remote_meta *meta, char **out,
			 size_t *len)
{
	json_t *root = NULL;
	json_t *m = NULL;
	char *js = NULL;
	size_t jlen;
	int rc = -ENOMEM;

	*out = NULL;
	root = json_object();
	m = json_object();
	if (!root || !m)
		goto out;
	for (size_t i = 0; meta && i < meta->n; i++)
		if (json_object_set_new(m, meta->kv[i].name,
					json_string(meta->kv[i].value)))
			goto out;
	if (json_object_set_new(root, "etag", json_string(etag)) ||
	    json_object_set_new(
		    root, "content_type",
		    json_string(ctype ? ctype : "application/octet-stream")) ||
	    json_object_set(root, "meta", m))
		goto out;
	js = json_dumps(root, JSON_COMPACT);
	if (!js)
		goto out;
	jlen = strlen(js);
	*out = malloc(HDR_FIXED + jlen);
	if (!*out)
		goto out;
	memcpy(*out, MAGIC, 8);
	for (int i = 0; i < 8; i++)
		(*out)[8 + i] = (char)(((uint64_t)jlen >> (8 * i)) & 0xff);
	memcpy(*out + HDR_FIXED, js, jlen);
	*len = HDR_FIXED + jlen;
	rc = 0;
out:
	free(js);
	json_decref(m);
	json_decref(root);
	return rc;
}

/* Open the object file at path and parse its header into o. */
static int obj_open(const struct file_remote *f, const char *path,
		    struct obj *o)
{
	unsigned char fixed[HDR_FIXED];
	char *js = NULL;
	json_t *root = NULL;
	json_t *m;
	const char *name;
	json_t *val;
	struct stat st;
	uint64_t jlen = 0;
	size_t got;
	int rc;

	memset(o, 0, sizeof(*o));
	o->fd = beneath_open(f, path, O_RDONLY, 0);
	if (o->fd < 0) {
		rc = o->fd == -ENOTDIR ? -ENOENT : o->fd;
		o->fd = -1;
		goto out;
	}
	rc = read_full(o->fd, fixed, HDR_FIXED, 0, &got);
	if (rc)
		goto out;
	rc = -EIO;
	if (got != HDR_FIXED || memcmp(fixed, MAGIC, 8) != 0)
		goto out;
	for (int i = 0; i < 8; i++)
		jlen |= (uint64_t)fixed[8 + i] << (8 * i);
	if (jlen > HDR_JSON_MAX || fstat(o->fd, &st) < 0 ||
	    (uint64_t)st.st_size < HDR_FIXED + jlen)
		goto out;
	js = malloc(jlen + 1);
	if (!js) {
		rc = -ENOMEM;
		goto out;
	}
	rc = read_full(o->fd, js, jlen, HDR_FIXED, &got);
	if (rc)
		goto out;
	rc = -EIO;
	if (got != jlen)
		goto out;
	js[jlen] = '\0';
	root = json_loads(js, 0, NULL);
	if (!json_is_object(root))
		goto out;
	snprintf(o->etag, sizeof(o->etag), "%s",
		 json_string_value(json_object_get(root, "etag")) ?: "");
	snprintf(o->content_type, sizeof(o->content_type), "%s",
		 json_string_value(json_object_get(root, "content_type"))
			 ?: "application/octet-stream");
	m = json_object_get(root, "meta");
	json_object_foreach(m, name, val)
	{
		if (!json_is_string(val))
			continue;
		rc = remote_meta_set(&o->meta, name, json_string_value(val));
		if (rc)
			goto out;
	}
	o->data_off = HDR_FIXED + jlen;
	o->size = (uint64_t)st.st_size - o->data_off;
	o->mtime = st.st_mtim;
	rc = 0;
out:
	json_decref(root);
	free(js);
	if (rc)
		obj_close(o);
	return rc;
}

/* Open the object stored as key (see obj_open). */
static int obj_open_key(struct file_remote *f, const char *key, struct obj *o)
{
	char path[PATH_MAX];
	int rc;

	rc = key_path(f, key, strlen(key), 1, path);
	if (rc)
		return rc;
	return obj_open(f, path, o);
}

/* ---- staging ---------------------------------------------------------- */

static void random_hex(char *out, size_t nbytes)
{
	unsigned char raw[32];

	if (nbytes > sizeof(raw))
		nbytes = sizeof(raw);
	if (getrandom(raw, nbytes, 0) != (ssize_t)nbytes)
		memset(raw, 0x5a, nbytes);
	digest_hex(raw, nbytes, out);
}

/* Create a temporary file in DIR/.afs/tmp; path receives its name ("" on
 * failure). */
static int tmp_create(struct file_remote *f, char *path)
{
	char id[33];
	int fd;

	random_hex(id, 16);
	snprintf(path, PATH_MAX, "%s/%s", f->tmpdir, id);
	fd = beneath_open(f, path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		path[0] = '\0'; /* nothing for the caller to unlink */
	return fd;
}

/* Copy len bytes into dfd at doff: from buf when set, else from sfd at
 * soff (copy_file_range where the filesystem can, read/write otherwise). */
static int copy_bytes(int dfd, uint64_t doff, const void *buf, int sfd,
		      uint64_t soff, uint64_t len)
{
	char *chunk = NULL;
	uint64_t done = 0;
	int rc = 0;

	if (buf)
		return write_all(dfd, buf, len, doff);
	while (done < len) {
		off_t in = (off_t)(soff + done);
		off_t outp = (off_t)(doff + done);
		ssize_t n = copy_file_range(sfd, &in, dfd, &outp,
					    (size_t)(len - done), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EXDEV, ENOSYS, ...: fall back below */
		done += (uint64_t)n;
	}
	if (done < len) {
		chunk = malloc(COPY_CHUNK);
		if (!chunk)
			return -ENOMEM;
	}
	while (done < len) {
		size_t want = len - done < COPY_CHUNK ? (size_t)(len - done)
						      : COPY_CHUNK;
		size_t got;

		rc = read_full(sfd, chunk, want, soff + done, &got);
		if (rc)
			goto out;
		if (got != want) {
			rc = -EIO;
			goto out;
		}
		rc = write_all(dfd, chunk, got, doff + done);
		if (rc)
			goto out;
		done += got;
	}
out:
	free(chunk);
	return rc;
}

/* Move the finished temporary file tmp into place as key.  With excl, fail
 * with -EEXIST when key exists (link is atomic).  Retries when a concurrent
 * delete pruned a parent directory between mkdir and rename. */
static int publish(struct file_remote *f, const char *tmp, const char *key,
		   int excl)
{
	char path[PATH_MAX];
	int rc;

	rc = key_path(f, key, strlen(key), 1, path);
	if (rc)
		return rc;
	for (int tries = 0; tries < 8; tries++) {
		rc = make_parents(f, key);
		if (rc == -ENOTDIR || rc == -EEXIST)
			return -ENOTDIR;
		if (rc)
			return rc;
		rc = beneath_move(f, tmp, path, excl);
		if (rc != -ENOENT)
			break;
	}
	if (excl && rc == 0)
		beneath_unlink(f, tmp, 0);
	return rc;
}

/* The MD5 hex of len bytes: of buf when set, else of fd from off. */
static int md5_hex(const void *buf, int fd, uint64_t off, uint64_t len,
		   char hex[33])
{
	unsigned char raw[16];

	if (!buf)
		return digest_md5_fd(fd, off, len, hex);
	digest_md5(buf, (size_t)len, raw);
	digest_hex(raw, 16, hex);
	return 0;
}

/* Write a whole object (header then data from buf or sfd range) to a new
 * temporary file and publish it as key with the given ETag; etag_out (or
 * NULL) receives it. */
static int write_object(struct file_remote *f, const char *key,
			const char *etag, const char *ctype,
			const struct remote_meta *meta, const void *buf,
			int sfd, uint64_t soff, uint64_t len, int excl,
			char *etag_out)
{
	char tmp[PATH_MAX] = "";
	char *hdr = NULL;
	size_t hlen = 0;
	int fd = -1;
	int rc;

	rc = header_encode(etag, ctype, meta, &hdr, &hlen);
	if (rc)
		goto out;
	fd = tmp_create(f, tmp);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = write_all(fd, hdr, hlen, 0);
	if (rc == 0)
		rc = copy_bytes(fd, hlen, buf, sfd, soff, len);
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	if (rc)
		goto out;
	close(fd);
	fd = -1;
	rc = publish(f, tmp, key, excl);
	if (rc == 0 || rc == -EEXIST) {
		if (rc == 0 && etag_out)
			snprintf(etag_out, REMOTE_ETAG_MAX, "%s", etag);
		if (!excl || rc == 0)
			tmp[0] = '\0';
	}
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		beneath_unlink(f, tmp, 0);
	free(hdr);
	return rc;
}

/* ---- ops -------------------------------------------------------------- */

static int file_check(struct remote *r, struct remote_error *err)
{
	struct file_remote *f = fr(r);
	char tmp[PATH_MAX];
	int fd;

	fd = tmp_create(f, tmp);
	if (fd < 0)
		return remote_error_set(
			err, fd, "store directory %s is not writable: %s",
			f->root, strerror(-fd));
	close(fd);
	beneath_unlink(f, tmp, 0);
	return 0;
}

static int file_head(struct remote *r, const char *key, struct remote_stat *st,
		     struct remote_error *err)
{
	struct obj o;
	int rc;

	(void)err;
	rc = obj_open_key(fr(r), key, &o);
	if (rc)
		return rc;
	st->size = o.size;
	st->mtime = o.mtime;
	snprintf(st->etag, sizeof(st->etag), "%s", o.etag);
	snprintf(st->content_type, sizeof(st->content_type), "%s",
		 o.content_type);
	st->meta = o.meta;
	o.meta.kv = NULL;
	o.meta.n = 0;
	obj_close(&o);
	return 0;
}

static int file_get(struct remote *r, const char *key, uint64_t off, size_t len,
		    void *buf, size_t *got, const char *if_etag,
		    struct remote_error *err)
{
	struct obj o;
	int rc;

	(void)err;
	rc = obj_open_key(fr(r), key, &o);
	if (rc)
		return rc;
	if (if_etag && strcmp(if_etag, o.etag) != 0) {
		rc = -ESTALE;
		goto out;
	}
	if (off >= o.size)
		goto out;
	if (len > o.size - off)
		len = (size_t)(o.size - off);
	rc = read_full(o.fd, buf, len, o.data_off + off, got);
out:
	obj_close(&o);
	return rc;
}

static int file_put(struct remote *r, const char *key,
		    const struct remote_body *body,
		    const struct remote_put_opts *opts, char *etag_out,
		    struct remote_error *err)
{
	struct file_remote *f = fr(r);
	char etag[33];
	int rc;

	(void)err;
	/* The header holds the ETag, so the MD5 comes first. */
	rc = md5_hex(body->buf, body->fd, body->off, body->len, etag);
	if (rc)
		return rc;
	return write_object(f, key, etag, opts->content_type, opts->meta,
			    body->buf, body->buf ? -1 : body->fd,
			    body->buf ? 0 : body->off, body->len,
			    opts->if_none_match, etag_out);
}

static int file_copy(struct remote *r, const char *src, const char *dst,
		     const struct remote_put_opts *replace,
		     struct remote_error *err)
{
	struct file_remote *f = fr(r);
	struct obj o;
	int rc;

	(void)err;
	rc = obj_open_key(f, src, &o);
	if (rc)
		return rc;
	if (replace && replace->if_match && replace->if_match[0] &&
	    strcmp(replace->if_match, o.etag) != 0) {
		obj_close(&o);
		return -ESTALE;
	}
	rc = write_object(f, dst, o.etag,
			  replace ? replace->content_type : o.content_type,
			  replace ? replace->meta : &o.meta, NULL, o.fd,
			  o.data_off, o.size, 0, NULL);
	obj_close(&o);
	return rc;
}

static int file_del(struct remote *r, const char *key, struct remote_error *err)
{
	struct file_remote *f = fr(r);
	char path[PATH_MAX];
	int rc;

	(void)err;
	rc = key_path(f, key, strlen(key), 1, path);
	if (rc)
		return rc;
	rc = beneath_unlink(f, path, 0);
	if (rc == -ENOENT || rc == -ENOTDIR)
		return 0;
	if (rc)
		return rc;
	prune_parents(f, key);
	return 0;
}

static int file_del_many(struct remote *r, const char *const *keys, size_t n,
			 struct remote_error *err)
{
	for (size_t i = 0; i < n; i++) {
		int rc = file_del(r, keys[i], err);

		if (rc)
			return rc;
	}
	return 0;
}

/* ---- listing ---------------------------------------------------------- */

/* Collected listing items before sorting: keys (is_prefix=0) or common
 * prefixes (is_prefix=1). */
struct item {
	char *key;
	int is_prefix;
	uint64_t size;
	struct timespec mtime;
	char etag[REMOTE_ETAG_MAX];
};
struct items {
	struct item *v;
	size_t n, cap;
};

static int items_add(struct items *it, const char *key, int is_prefix)
{
	if (it->n == it->cap) {
		size_t cap = it->cap ? 2 * it->cap : 64;
		struct item *v = realloc(it->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		it->v = v;
		it->cap = cap;
	}
	memset(&it->v[it->n], 0, sizeof(it->v[0]));
	it->v[it->n].key = strdup(key);
	if (!it->v[it->n].key)
		return -ENOMEM;
	it->v[it->n].is_prefix = is_prefix;
	it->n++;
	return 0;
}

static void items_free(struct items *it)
{
	for (size_t i = 0; i < it->n; i++)
		free(it->v[i].key);
	free(it->v);
}

/* Whether the directory at path holds any object, at any depth. */
static int has_objects(const struct file_remote *f, const char *path)
{
	DIR *d = beneath_opendir(f, path);
	struct dirent *de;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		char sub[PATH_MAX];
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		if (len > 0 && de->d_name[len - 1] == '~') {
			found = 1;
			break;
		}
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
		    (int)sizeof(sub))
			continue;
		found = has_objects(f, sub);
	}
	closedir(d);
	return found;
}

struct walk {
	const struct file_remote *f;
	const char *prefix; /* full key prefix being listed */
	size_t plen;
	int slash_delim; /* delimiter is exactly "/": prune at prefixes */
	struct items *out;
};

/* Visit directory `path` whose keys begin with kp (ending in '/' or empty).
 * Collects objects whose key starts with the prefix; with a "/" delimiter,
 * a subdirectory past the prefix becomes a common prefix instead of being
 * walked. */
static int walk_dir(struct walk *w, const char *path, const char *kp)
{
	DIR *d = NULL;
	struct dirent *de;
	size_t kplen = strlen(kp);
	int rc = 0;

	d = beneath_opendir(w->f, path);
	if (!d) /* gone, not a directory, or a symlink: nothing of ours */
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ||
				       errno == EXDEV
			       ? 0
			       : -errno;
	while ((de = readdir(d)) != NULL) {
		char key[REMOTE_KEY_MAX * 2 + 2];
		char sub[PATH_MAX];
		size_t nlen = strlen(de->d_name);
		int is_obj = nlen > 0 && de->d_name[nlen - 1] == '~';
		int slen;

		if (de->d_name[0] == '.')
			continue;
		if (kplen >= sizeof(key) - 1)
			continue;
		memcpy(key, kp, kplen);
		slen = get_seg(de->d_name, is_obj ? nlen - 1 : nlen,
			       key + kplen, sizeof(key) - kplen - 1);
		if (slen < 0)
			continue; /* not a name we wrote */
		if (is_obj) {
			if (strncmp(key, w->prefix, w->plen) == 0) {
				rc = items_add(w->out, key, 0);
				if (rc)
					goto out;
			}
			continue;
		}
		key[kplen + (size_t)slen] = '/';
		key[kplen + (size_t)slen + 1] = '\0';
		/* Prune subtrees that cannot hold the prefix. */
		if (strncmp(key, w->prefix,
			    kplen + (size_t)slen + 1 < w->plen
				    ? kplen + (size_t)slen + 1
				    : w->plen) != 0)
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
		    (int)sizeof(sub))
			continue;
		if (w->slash_delim && strlen(key) > w->plen) {
			if (has_objects(w->f, sub)) {
				rc = items_add(w->out, key, 1);
				if (rc)
					goto out;
			}
			continue;
		}
		rc = walk_dir(w, sub, key);
		if (rc)
			goto out;
	}
out:
	closedir(d);
	return rc;
}

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->key,
		      ((const struct item *)b)->key);
}

/* Fill size, etag and mtime of an object item. */
static int item_stat(struct file_remote *f, struct item *it)
{
	struct obj o;
	int rc;

	rc = obj_open_key(f, it->key, &o);
	if (rc)
		return rc;
	it->size = o.size;
	it->mtime = o.mtime;
	snprintf(it->etag, sizeof(it->etag), "%s", o.etag);
	obj_close(&o);
	return 0;
}

static int file_list(struct remote *r, const struct remote_list_opts *opts,
		     struct remote_list *out, struct remote_error *err)
{
	struct file_remote *f = fr(r);
	const char *prefix = opts->prefix ? opts->prefix : "";
	const char *delim =
		opts->delimiter && *opts->delimiter ? opts->delimiter : NULL;
	const char *after = opts->token ? opts->token : opts->start_after;
	unsigned max = opts->max_keys ? opts->max_keys : 1000;
	struct items all = { 0 };
	struct walk w;
	char path[PATH_MAX];
	const char *last_prefix = NULL;
	const char *last_taken = NULL;
	size_t dlen = delim ? strlen(delim) : 0;
	size_t alen = after ? strlen(after) : 0;
	size_t taken = 0;
	size_t start_len;
	int rc;

	(void)err;
	/* Start the walk at the deepest directory the prefix names fully. */
	start_len = strlen(prefix);
	while (start_len > 0 && prefix[start_len - 1] != '/')
		start_len--;
	rc = key_path(f, prefix, start_len, 0, path);
	if (rc)
		goto out;
	w.f = f;
	w.prefix = prefix;
	w.plen = strlen(prefix);
	w.slash_delim = delim && strcmp(delim, "/") == 0;
	w.out = &all;
	{
		char kp[REMOTE_KEY_MAX + 2];

		snprintf(kp, sizeof(kp), "%.*s", (int)start_len, prefix);
		rc = walk_dir(&w, path, kp);
	}
	if (rc)
		goto out;
	if (all.n > 1)
		qsort(all.v, all.n, sizeof(all.v[0]), item_cmp);

	out->entries = calloc(all.n ? all.n : 1, sizeof(*out->entries));
	out->prefixes = calloc(all.n ? all.n : 1, sizeof(*out->prefixes));
	if (!out->entries || !out->prefixes) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < all.n; i++) {
		struct item *it = &all.v[i];
		char *cp = NULL;

		if (alen) {
			if (strcmp(it->key, after) <= 0)
				continue;
			/* After a common prefix, skip what it covered. */
			if (delim && alen >= dlen &&
			    strcmp(after + alen - dlen, delim) == 0 &&
			    strncmp(it->key, after, alen) == 0)
				continue;
		}
		if (delim && !it->is_prefix) {
			const char *d = strstr(it->key + w.plen, delim);

			if (d) {
				size_t cl = (size_t)(d - it->key) + dlen;

				cp = strndup(it->key, cl);
				if (!cp) {
					rc = -ENOMEM;
					goto out;
				}
			}
		}
		if (it->is_prefix) {
			cp = strdup(it->key);
			if (!cp) {
				rc = -ENOMEM;
				goto out;
			}
		}
		if (cp && last_prefix && strcmp(cp, last_prefix) == 0) {
			free(cp);
			continue;
		}
		if (taken == max) {
			/* More remain: the token is the last item returned
			 * (a key or a common prefix), as skipped above. */
			free(cp);
			out->next_token = strdup(last_taken);
			if (!out->next_token)
				rc = -ENOMEM;
			break;
		}
		if (cp) {
			out->prefixes[out->n_prefixes++] = cp;
			last_prefix = cp;
			last_taken = cp;
		} else {
			struct remote_list_entry *e =
				&out->entries[out->n_entries];

			rc = item_stat(f, it);
			if (rc && rc != -ENOMEM) {
				/* Deleted while we listed, or not an object
				 * of ours (a stray file, a symlink): not in
				 * the listing, and no reason to fail it. */
				rc = 0;
				continue;
			}
			if (rc)
				goto out;
			e->key = it->key;
			it->key = NULL;
			last_taken = e->key;
			e->size = it->size;
			e->mtime = it->mtime;
			snprintf(e->etag, sizeof(e->etag), "%s", it->etag);
			out->n_entries++;
		}
		taken++;
	}
out:
	items_free(&all);
	return rc;
}

/* ---- multipart ---------------------------------------------------------- */

/* DIR/.afs/uploads/<id>[/name] into path; -EINVAL for an id we did not make. */
static int upload_path(struct file_remote *f, const char *id, const char *name,
		       char *path)
{
	int n;

	if (strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32)
		return -ENOENT;
	n = snprintf(path, PATH_MAX, "%s/%s%s%s", f->updir, id, name ? "/" : "",
		     name ? name : "");
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int file_mpu_create(struct remote *r, const char *key,
			   const struct remote_put_opts *opts, char **upload_id,
			   struct remote_error *err)
{
	struct file_remote *f = fr(r);
	char id[33];
	char path[PATH_MAX];
	char *hdr = NULL;
	size_t hlen = 0;
	int fd = -1;
	int rc;

	(void)err;
	random_hex(id, 16);
	rc = upload_path(f, id, NULL, path);
	if (rc)
		goto out;
	rc = beneath_mkdir(f, path);
	if (rc)
		goto out;
	/* The upload's info file: the usual header with the key as "etag". */
	rc = header_encode(key, opts->content_type, opts->meta, &hdr, &hlen);
	if (rc)
		goto out;
	rc = upload_path(f, id, "info", path);
	if (rc)
		goto out;
	fd = beneath_open(f, path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = write_all(fd, hdr, hlen, 0);
	if (rc)
		goto out;
	*upload_id = strdup(id);
	if (!*upload_id)
		rc = -ENOMEM;
out:
	if (fd >= 0)
		close(fd);
	free(hdr);
	return rc;
}

/* Store part `part` of upload id from buf or a range of sfd; its ETag (MD5)
 * goes into the file name, "<part>-<md5>", so complete can check it. */
static int put_part(struct file_remote *f, const char *id, int part,
		    const void *buf, int sfd, uint64_t soff, uint64_t len,
		    char *etag_out)
{
	char tmp[PATH_MAX] = "";
	char path[PATH_MAX];
	char name[64];
	char etag[33];
	int fd = -1;
	int rc;

	rc = upload_path(f, id, "info", path);
	if (rc)
		goto out;
	fd = beneath_open(f, path, O_PATH, 0);
	if (fd < 0) {
		rc = -ENOENT;
		fd = -1;
		goto out;
	}
	close(fd);
	fd = tmp_create(f, tmp);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = copy_bytes(fd, 0, buf, sfd, soff, len);
	if (rc == 0) /* an fd body is hashed as staged, i.e. as stored */
		rc = md5_hex(buf, fd, 0, len, etag);
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	if (rc)
		goto out;
	snprintf(name, sizeof(name), "%d-%s", part, etag);
	rc = upload_path(f, id, name, path);
	if (rc)
		goto out;
	rc = beneath_move(f, tmp, path, 0);
	if (rc)
		goto out;
	tmp[0] = '\0';
	if (etag_out)
		snprintf(etag_out, REMOTE_ETAG_MAX, "%s", etag);
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		beneath_unlink(f, tmp, 0);
	return rc;
}

static int file_mpu_put_part(struct remote *r, const char *key,
			     const char *upload_id, int part,
			     const struct remote_body *body, char *etag_out,
			     struct remote_error *err)
{
	(void)key;
	(void)err;
	return put_part(fr(r), upload_id, part, body->buf, body->fd, body->off,
			body->len, etag_out);
}

static int file_mpu_copy_part(struct remote *r, const char *key,
			      const char *upload_id, int part, const char *src,
			      uint64_t off, uint64_t len, char *etag_out,
			      struct remote_error *err)
{
	struct file_remote *f = fr(r);
	struct obj o;
	int rc;

	(void)key;
	(void)err;
	rc = obj_open_key(f, src, &o);
	if (rc)
		return rc;
	if (off > o.size || len > o.size - off)
		rc = -EINVAL;
	else
		rc = put_part(f, upload_id, part, NULL, o.fd, o.data_off + off,
			      len, etag_out);
	obj_close(&o);
	return rc;
}

/* rm -r of an upload directory (flat: info and part files). */
static void remove_upload(struct file_remote *f, const char *id)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;

	if (upload_path(f, id, NULL, path))
		return;
	d = beneath_opendir(f, path);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char sub[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		if (upload_path(f, id, de->d_name, sub) == 0)
			beneath_unlink(f, sub, 0);
	}
	closedir(d);
	beneath_unlink(f, path, AT_REMOVEDIR);
}

static int file_mpu_complete(struct remote *r, const char *key,
			     const char *upload_id,
			     const struct remote_part *parts, size_t n,
			     char *etag_out, struct remote_error *err)
{
	struct file_remote *f = fr(r);
	char tmp[PATH_MAX] = "";
	char path[PATH_MAX];
	char etag[REMOTE_ETAG_MAX];
	unsigned char *md5s = NULL;
	unsigned char raw[16];
	struct obj info = { .fd = -1 };
	char *hdr = NULL;
	size_t hlen = 0;
	uint64_t off;
	int fd = -1;
	int rc;

	rc = upload_path(f, upload_id, "info", path);
	if (rc)
		goto out;
	rc = obj_open(f, path, &info);
	if (rc)
		goto out;
	if (strcmp(info.etag, key) != 0) {
		rc = remote_error_set(err, -EINVAL,
				      "upload %s is not for this key",
				      upload_id);
		goto out;
	}
	md5s = malloc(16 * n);
	if (!md5s) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (strlen(parts[i].etag) != 32 ||
		    (i > 0 && parts[i].number <= parts[i - 1].number)) {
			rc = remote_error_set(err, -EINVAL,
					      "invalid part list");
			goto out;
		}
		for (int b = 0; b < 16; b++) {
			unsigned int v;

			if (sscanf(parts[i].etag + 2 * b, "%2x", &v) != 1) {
				rc = -EINVAL;
				goto out;
			}
			md5s[16 * i + (size_t)b] = (unsigned char)v;
		}
	}
	digest_md5(md5s, 16 * n, raw);
	digest_hex(raw, 16, etag);
	snprintf(etag + 32, sizeof(etag) - 32, "-%zu", n);

	rc = header_encode(etag, info.content_type, &info.meta, &hdr, &hlen);
	if (rc)
		goto out;
	fd = tmp_create(f, tmp);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = write_all(fd, hdr, hlen, 0);
	if (rc)
		goto out;
	off = hlen;
	for (size_t i = 0; i < n; i++) {
		char name[REMOTE_ETAG_MAX + 16];
		struct stat st;
		int pfd;

		snprintf(name, sizeof(name), "%d-%s", parts[i].number,
			 parts[i].etag);
		rc = upload_path(f, upload_id, name, path);
		if (rc)
			goto out;
		pfd = beneath_open(f, path, O_RDONLY, 0);
		if (pfd < 0) {
			rc = remote_error_set(err, -EINVAL,
					      "part %d was not uploaded",
					      parts[i].number);
			goto out;
		}
		rc = fstat(pfd, &st) < 0 ? -errno : 0;
		if (rc == 0)
			rc = copy_bytes(fd, off, NULL, pfd, 0,
					(uint64_t)st.st_size);
		close(pfd);
		if (rc)
			goto out;
		off += (uint64_t)st.st_size;
	}
	if (fdatasync(fd) < 0) {
		rc = -errno;
		goto out;
	}
	close(fd);
	fd = -1;
	rc = publish(f, tmp, key, 0);
	if (rc)
		goto out;
	tmp[0] = '\0';
	remove_upload(f, upload_id);
	if (etag_out)
		snprintf(etag_out, REMOTE_ETAG_MAX, "%s", etag);
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		beneath_unlink(f, tmp, 0);
	obj_close(&info);
	free(md5s);
	free(hdr);
	return rc;
}

static int file_mpu_abort(struct remote *r, const char *key,
			  const char *upload_id, struct remote_error *err)
{
	(void)key;
	(void)err;
	remove_upload(fr(r), upload_id);
	return 0;
}

/* Every upload under DIR/.afs/uploads whose key (kept in its info file)
 * starts with prefix; initiated is the info file's mtime.  Entries that
 * are not our uploads are ignored. */
static int file_mpu_list(struct remote *r, const char *prefix,
			 struct remote_uploads *out, struct remote_error *err)
{
	struct file_remote *f = fr(r);
	size_t plen = strlen(prefix), cap = 0;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	(void)err;
	d = beneath_opendir(f, f->updir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char path[PATH_MAX];
		struct obj info = { .fd = -1 };
		struct remote_upload *u;

		if (upload_path(f, de->d_name, "info", path) != 0 ||
		    obj_open(f, path, &info) != 0)
			continue; /* not one of ours, or half made */
		if (strncmp(info.etag, prefix, plen) != 0) {
			obj_close(&info);
			continue;
		}
		if (out->n == cap) {
			size_t c = cap ? 2 * cap : 16;
			struct remote_upload *v =
				realloc(out->v, c * sizeof(*v));

			if (!v) {
				obj_close(&info);
				rc = -ENOMEM;
				break;
			}
			out->v = v;
			cap = c;
		}
		u = &out->v[out->n];
		u->key = strdup(info.etag);
		u->upload_id = strdup(de->d_name);
		u->initiated = (int64_t)info.mtime.tv_sec;
		obj_close(&info);
		if (!u->key || !u->upload_id) {
			free(u->key);
			free(u->upload_id);
			rc = -ENOMEM;
			break;
		}
		out->n++;
	}
	closedir(d);
	return rc;
}

/* ---- open / close ----------------------------------------------------- */

static void file_destroy(struct remote *r)
{
	struct file_remote *f = fr(r);

	if (f->root_fd >= 0)
		close(f->root_fd);
	free(f->root);
	free(f->tmpdir);
	free(f->updir);
	free(r->prefix);
	free(r->name);
	free(f);
}

static const struct remote_ops file_ops = {
	.scheme = "file",
	.check = file_check,
	.head = file_head,
	.get = file_get,
	.put = file_put,
	.copy = file_copy,
	.del = file_del,
	.del_many = file_del_many,
	.list = file_list,
	.mpu_create = file_mpu_create,
	.mpu_put_part = file_mpu_put_part,
	.mpu_copy_part = file_mpu_copy_part,
	.mpu_complete = file_mpu_complete,
	.mpu_abort = file_mpu_abort,
	.mpu_list = file_mpu_list,
	.destroy = file_destroy,
};

/* mkdir -p path (absolute). */
static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int remote_file_open(const struct remote_config *cfg, const char *path,
		     struct remote **out, struct remote_error *err)
{
	struct file_remote *f = NULL;
	size_t len = strlen(path);
	int rc;

	*out = NULL;
	if (path[0] != '/')
		return remote_error_set(err, -EINVAL,
					"file:// remote needs an absolute "
					"path (file:///DIR), not '%.200s'",
					path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->base.ops = &file_ops;
	f->base.debug = cfg->debug;
	f->root_fd = -1;
	f->root = strndup(path, len);
	f->base.prefix = strdup("");
	if (!f->root || !f->base.prefix ||
	    asprintf(&f->tmpdir, "%s/.afs/tmp", f->root) < 0 ||
	    asprintf(&f->base.name, "file://%s", f->root) < 0 ||
	    asprintf(&f->updir, "%s/.afs/uploads", f->root) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	rc = mkdir_p(f->tmpdir);
	if (rc == 0)
		rc = mkdir_p(f->updir);
	if (rc == 0) {
		/* The root itself may be reached through a symlink; nothing
		 * below it is (see beneath_open). */
		f->root_fd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (f->root_fd < 0)
			rc = -errno;
	}
	if (rc) {
		rc = remote_error_set(err, rc,
				      "cannot use store directory %s: %s",
				      f->root, strerror(-rc));
		goto out;
	}
	/* Conditional create is link(2), atomic on every POSIX filesystem. */
	f->base.caps = REMOTE_CAP_CONDITIONAL_PUT;
	*out = &f->base;
	f = NULL;
out:
	if (f)
		file_destroy(&f->base);
	return rc;
}
