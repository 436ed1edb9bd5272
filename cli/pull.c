/*
 * pull.c - `artifact pull LEVEL PATH [-d DEST] [-f]`.
 *
 * PATH is one object (HEAD finds it) or, failing that, everything under
 * PATH/ (a directory).  The pull runs in three steps so that a refusal
 * costs no download: (1) HEAD every object (in parallel) for its size,
 * ETag and metadata, dropping expired ones; (2) without --force, refuse if
 * any local target exists; (3) download in parallel.
 *
 * Safety.  A remote key is only ever used below the destination: a key
 * whose remainder is not a clean relative path (empty segment, leading '/',
 * ".", "..") is skipped with a warning, and every directory below the
 * destination is entered with openat(O_NOFOLLOW), so a symbolic link
 * planted locally cannot redirect a write either.  Each file is written to
 * a temporary name in its directory, checked against x-amz-meta-sha256
 * when the object has one, given its recorded mode, then renamed into
 * place; a failure removes the temporary file.
 *
 * Modes and owners are anyone's input too (README, "Security"): the setuid
 * and setgid bits of x-amz-meta-mode are never restored, and files belong
 * to the user running pull unless --same-owner asks for x-amz-meta-uid and
 * -gid (as tar's --same-owner; failing to set them fails the file).
 *
 * An object whose x-amz-meta-mode says S_IFLNK is a symbolic link whose
 * target is the content (as the mount and s3fs write them).  It becomes a
 * link again only when the target stays inside the destination directory
 * (link_inside); any other is skipped with a warning, never written.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"

const struct cli_verb cli_verb_pull = {
	.name = "pull",
	.gerund = "pulling",
	.arg = "PATH",
	.summary = "Downloads a file or a directory (recursively) from the store.  With\n"
		   "--destination naming an existing directory, a file lands inside it.",
	.opts = CLI_OPT_DEST | CLI_OPT_FORCE | CLI_OPT_SAME_OWNER,
	.path_required = 1,
};

struct pull_ctx {
	struct remote *r;
	int dirfd;       /* the destination directory (or a file's parent) */
	int64_t now;
	mode_t umask;
	int same_owner;  /* --same-owner */
	struct remote_xfer_opts xo; /* read-only while downloading */
};

struct pull_item {
	struct pull_ctx *ctx;
	char *key;
	char *rel;    /* below ctx->dirfd; a marker ends with '/' */
	char *local;  /* the local path, for messages */
	size_t index; /* makes temporary names unique */
	struct remote_stat st;
	int marker;   /* directory marker: only mkdir */
	int skip;     /* vanished or expired */
	int link_out; /* a link not made (the reason in msg) */
	int rc;
	char msg[REMOTE_ERRMSG_MAX + 128];
};

struct pull_list {
	struct pull_item *v;
	size_t n, cap;
};

static void pull_list_free(struct pull_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].rel);
		free(l->v[i].local);
		remote_stat_clear(&l->v[i].st);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Append key/rel (copied) with local = base/rel.  -ENOMEM. */
static int pull_list_add(struct pull_list *l, const char *key, const char *rel,
			 const char *base)
{
	struct pull_item *nv, *it;
	size_t cap, lb, lr;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 16;
		nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	it = &l->v[l->n];
	memset(it, 0, sizeof(*it));
	it->key = strdup(key);
	it->rel = strdup(rel);
	lb = strlen(base);
	lr = strlen(rel);
	it->local = malloc(lb + lr + 2);
	if (!it->key || !it->rel || !it->local) {
		free(it->key);
		free(it->rel);
		free(it->local);
		return -ENOMEM;
	}
	memcpy(it->local, base, lb);
	if (lr) {
		it->local[lb] = '/';
		memcpy(it->local + lb + 1, rel, lr + 1);
	} else {
		it->local[lb] = '\0';
	}
	it->marker = lr && rel[lr - 1] == '/';
	it->index = l->n;
	l->n++;
	return 0;
}

/* mkdir -p path (following links: the destination is the user's choice);
 * then it must be a directory.  -errno. */
static int mkdir_p(const char *path)
{
	char *p = strdup(path);
	struct stat st;
	size_t i, len;
	int rc = 0;

	if (!p)
		return -ENOMEM;
	len = strlen(p);
	for (i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0777) && errno != EEXIST) {
			rc = -errno;
			goto out;
		}
		if (i < len)
			p[i] = '/';
	}
	if (stat(path, &st)) {
		rc = -errno;
		goto out;
	}
	if (!S_ISDIR(st.st_mode))
		rc = -ENOTDIR;
out:
	free(p);
	return rc;
}

/*
 * Walk rel below base creating directories, never following a link.
 * With `all` every segment is a directory (a marker); else the last one is
 * the file's name and *leaf points at it inside rel.  *out is an fd to
 * close (it may be a dup of base).  -errno (-ENOTDIR/-ELOOP where a
 * component is a file or a link).
 */
static int open_parent(int base, const char *rel, int all, int *out,
		       const char **leaf)
{
	char seg[256];
	const char *s = rel, *e;
	size_t len;
	int fd, nfd, rc = 0;

	*out = -1;
	fd = dup(base);
	if (fd < 0)
		return -errno;
	for (;;) {
		e = strchr(s, '/');
		if (!e && !all)
			break;
		len = e ? (size_t)(e - s) : strlen(s);
		if (len == 0)
			break;
		if (len >= sizeof(seg)) {
			rc = -ENAMETOOLONG;
			goto out;
		}
		memcpy(seg, s, len);
		seg[len] = '\0';
		if (mkdirat(fd, seg, 0777) && errno != EEXIST) {
			rc = -errno;
			goto out;
		}
		nfd = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			rc = -errno;
			goto out;
		}
		close(fd);
		fd = nfd;
		if (!e)
			break;
		s = e + 1;
	}
	if (leaf)
		*leaf = s;
	*out = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Pool job, step 1: HEAD one object; expired or vanished ones are skipped. */
static void head_one(void *arg)
{
	struct pull_item *it = arg;
	struct remote_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = cli_head_live(it->ctx->r, it->key, it->ctx->now, &it->st, &err);
	if (rc == -ENOENT) {
		it->skip = 1;
	} else if (rc) {
		it->rc = rc;
		snprintf(it->msg, sizeof(it->msg), "%s", cli_errmsg(&err, rc));
	}
}

/* Download it's object into fd, and its SHA-256 into hex.  An object
 * replaced while it is read (by another writer, or a mount setting a
 * streamed file's final metadata) fails with -ESTALE: look it up again and
 * start over, a few times. */
static int get_current(struct pull_ctx *c, struct pull_item *it, int fd,
		       char hex[DIGEST_SHA256_HEX], struct remote_error *err)
{
	int rc = 0;

	for (int attempt = 0; attempt < 4; attempt++) {
		if (attempt > 0) {
			remote_stat_clear(&it->st);
			memset(err, 0, sizeof(*err));
			rc = remote_head(c->r, it->key, &it->st, err);
			if (rc)
				return rc;
			if (ftruncate(fd, 0))
				return -errno;
		}
		rc = remote_get_file_sha256(c->r, it->key, &it->st, fd, &c->xo,
					    hex, err);
		if (rc != -ESTALE)
			return rc;
	}
	return rc;
}

/*
 * Whether the link target, for a link depth directories below the
 * destination, stays inside the destination.  Only a relative target
 * qualifies, whose ".." components all come first and climb at most depth
 * levels: a ".." after a name could climb out of wherever another link
 * led ("a/../.." where a is a link to "x/y"), so it is refused too.  Empty
 * and "." components change nothing.  1 if inside, 0 if not.
 */
static int link_inside(const char *target, size_t depth)
{
	const char *s = target, *e;
	size_t len, ups = 0;
	int named = 0;

	if (!target[0] || target[0] == '/')
		return 0;
	for (; *s; s = *e ? e + 1 : e) {
		e = strchrnul(s, '/');
		len = (size_t)(e - s);
		if (len == 0 || (len == 1 && s[0] == '.'))
			continue;
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			if (named || ++ups > depth)
				return 0;
			continue;
		}
		named = 1;
	}
	return 1;
}

/*
 * Step 3 for a symbolic link object: fetch its target (the content), check
 * it, and make the link under a temporary name in pfd, then rename it to
 * leaf.  A target that would lead out of the destination, or that cannot
 * be a target (too long, a NUL inside), sets it->link_out and a reason in
 * it->msg and makes nothing (0).  -errno with it->msg on a failure.
 */
static int pull_link(struct pull_ctx *c, struct pull_item *it, int pfd,
		     const char *leaf, const struct store_meta *sm)
{
	struct remote_error err;
	char target[PATH_MAX], tmp[256], hex[DIGEST_SHA256_HEX];
	const char *p;
	size_t got = 0, depth = 0;
	int rc = 0, tmp_made = 0;

	memset(&err, 0, sizeof(err));
	if (it->st.size >= sizeof(target)) {
		it->link_out = 1;
		snprintf(it->msg, sizeof(it->msg),
			 "a link whose target is %llu bytes long",
			 (unsigned long long)it->st.size);
		return 0;
	}
	rc = remote_get(c->r, it->key, 0, (size_t)it->st.size, target, &got,
			it->st.etag, &err);
	if (rc == 0 && got != it->st.size)
		rc = remote_error_set(&err, -EIO, "got %zu of %llu bytes", got,
				      (unsigned long long)it->st.size);
	if (rc) {
		snprintf(it->msg, sizeof(it->msg), "'%s': %s", it->key,
			 cli_errmsg(&err, rc));
		return rc;
	}
	target[got] = '\0';
	if (sm->has_sha256) {
		digest_sha256_buf(target, got, hex);
		if (strcasecmp(hex, sm->sha256)) {
			snprintf(it->msg, sizeof(it->msg),
				 "'%s' failed its SHA-256 check (stored %s, received %s); nothing written",
				 it->key, sm->sha256, hex);
			return -EIO;
		}
	}
	for (p = it->rel; *p; p++)
		depth += *p == '/';
	if (memchr(target, '\0', got) || !link_inside(target, depth)) {
		it->link_out = 1;
		snprintf(it->msg, sizeof(it->msg),
			 "a link that leads out of the destination ('%.*s')",
			 (int)strnlen(target, 256), target);
		return 0;
	}
	snprintf(tmp, sizeof(tmp), ".%.160s.artifact-%ld-%zu", leaf,
		 (long)getpid(), it->index);
	if (symlinkat(target, pfd, tmp)) {
		rc = -errno;
		snprintf(it->msg, sizeof(it->msg), "cannot create '%s': %s",
			 it->local, strerror(errno));
		goto out;
	}
	tmp_made = 1;
	if (c->same_owner && (sm->has_uid || sm->has_gid) &&
	    fchownat(pfd, tmp, sm->has_uid ? sm->uid : (uid_t)-1,
		     sm->has_gid ? sm->gid : (gid_t)-1, AT_SYMLINK_NOFOLLOW)) {
		rc = -errno;
		snprintf(it->msg, sizeof(it->msg),
			 "cannot give '%s' its stored owner (uid %ld, gid %ld): %s",
			 it->local, sm->has_uid ? (long)sm->uid : -1L,
			 sm->has_gid ? (long)sm->gid : -1L, strerror(errno));
		goto out;
	}
	if (renameat(pfd, tmp, pfd, leaf)) {
		rc = -errno;
		snprintf(it->msg, sizeof(it->msg), "cannot write '%s': %s",
			 it->local, strerror(errno));
		goto out;
	}
	tmp_made = 0;
out:
	if (tmp_made)
		unlinkat(pfd, tmp, 0);
	return rc;
}

/* Pool job, step 3: download one object as described above. */
static void pull_one(void *arg)
{
	struct pull_item *it = arg;
	struct pull_ctx *c = it->ctx;
	struct remote_error err;
	struct store_meta sm;
	char tmp[256], hex[DIGEST_SHA256_HEX];
	const char *leaf = NULL;
	mode_t mode;
	int pfd = -1, fd = -1, rc = 0, tmp_made = 0;

	memset(&err, 0, sizeof(err));
	if (it->marker) {
		rc = open_parent(c->dirfd, it->rel, 1, &pfd, NULL);
		if (rc)
			snprintf(it->msg, sizeof(it->msg),
				 "cannot create directory '%s': %s", it->local,
				 strerror(-rc));
		goto out;
	}
	rc = open_parent(c->dirfd, it->rel, 0, &pfd, &leaf);
	if (rc) {
		snprintf(it->msg, sizeof(it->msg),
			 "cannot create the directories of '%s': %s", it->local,
			 strerror(-rc));
		goto out;
	}
	store_meta_decode(&it->st.meta, &sm);
	if (sm.has_mode && S_ISLNK(sm.mode)) {
		rc = pull_link(c, it, pfd, leaf, &sm);
		goto out;
	}
	snprintf(tmp, sizeof(tmp), ".%.160s.artifact-%ld-%zu", leaf,
		 (long)getpid(), it->index);
	fd = openat(pfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(it->msg, sizeof(it->msg), "cannot create '%s': %s",
			 it->local, strerror(errno));
		goto out;
	}
	tmp_made = 1;
	rc = get_current(c, it, fd, hex, &err);
	if (rc) {
		snprintf(it->msg, sizeof(it->msg), "'%s': %s", it->key,
			 cli_errmsg(&err, rc));
		goto out;
	}
	store_meta_decode(&it->st.meta, &sm);
	if (sm.has_sha256) {
		if (strcasecmp(hex, sm.sha256)) {
			rc = -EIO;
			snprintf(it->msg, sizeof(it->msg),
				 "'%s' failed its SHA-256 check (stored %s, received %s); nothing written",
				 it->key, sm.sha256, hex);
			goto out;
		}
	}
	if (c->same_owner && (sm.has_uid || sm.has_gid) &&
	    fchown(fd, sm.has_uid ? sm.uid : (uid_t)-1,
		   sm.has_gid ? sm.gid : (gid_t)-1)) {
		rc = -errno;
		snprintf(it->msg, sizeof(it->msg),
			 "cannot give '%s' its stored owner (uid %ld, gid %ld): %s",
			 it->local, sm.has_uid ? (long)sm.uid : -1L,
			 sm.has_gid ? (long)sm.gid : -1L, strerror(errno));
		goto out;
	}
	/* Never setuid or setgid: the stored mode is anyone's input. */
	mode = sm.has_mode ? (sm.mode & 07777 & ~(mode_t)06000) : 0666;
	if (fchmod(fd, mode & ~c->umask)) {
		rc = -errno;
		snprintf(it->msg, sizeof(it->msg), "cannot set the mode of '%s': %s",
			 it->local, strerror(errno));
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		rc = -errno;
		snprintf(it->msg, sizeof(it->msg), "cannot write '%s': %s",
			 it->local, strerror(errno));
		goto out;
	}
	fd = -1;
	if (renameat(pfd, tmp, pfd, leaf)) {
		rc = -errno;
		snprintf(it->msg, sizeof(it->msg), "cannot write '%s': %s",
			 it->local, strerror(errno));
		goto out;
	}
	tmp_made = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp_made)
		unlinkat(pfd, tmp, 0);
	if (pfd >= 0)
		close(pfd);
	it->rc = rc;
}

static int wanted(const struct pull_item *it, int markers_only, int files_only)
{
	return !it->skip && !(markers_only && !it->marker) &&
	       !(files_only && it->marker);
}

/* Run fn over every item not skipped: inline for one, else on a pool.
 * -ENOMEM if the pool cannot start. */
static int run_all(struct pull_list *l, void (*fn)(void *), int markers_only,
		   int files_only)
{
	struct remote_pool *pool = NULL;
	size_t i;

	size_t n = 0;

	for (i = 0; i < l->n; i++)
		n += wanted(&l->v[i], markers_only, files_only);
	if (n == 0)
		return 0;
	if (n == 1) {
		for (i = 0; i < l->n; i++) {
			if (wanted(&l->v[i], markers_only, files_only))
				fn(&l->v[i]);
		}
		return 0;
	}
	pool = remote_pool_new(CLI_FILE_THREADS);
	if (!pool)
		return -ENOMEM;
	for (i = 0; i < l->n; i++) {
		if (!wanted(&l->v[i], markers_only, files_only))
			continue;
		if (remote_pool_submit(pool, fn, &l->v[i]))
			fn(&l->v[i]);
	}
	remote_pool_free(pool);
	return 0;
}

/* What list_tree() adds one page's keys to. */
struct tree_ctx {
	const struct cli_args *a;
	const char *prefix;
	size_t plen;
	const char *base;
	struct pull_list *l;
};

/* cli_list_pages() callback: one page's keys into the list, skipping (with
 * a warning) those that are no safe relative path.  Prints failures. */
static int add_page(const struct remote_list *page, void *arg)
{
	struct tree_ctx *c = arg;
	const char *rel;
	size_t i;
	int rc;

	for (i = 0; i < page->n_entries; i++) {
		if (strncmp(page->entries[i].key, c->prefix, c->plen))
			continue;
		rel = page->entries[i].key + c->plen;
		if (!rel[0])
			continue; /* the directory's own marker */
		if (!store_path_is_safe(rel, 1)) {
			cli_line(stderr,
				 "artifact: skipping '%s': not a safe local path",
				 page->entries[i].key);
			continue;
		}
		rc = pull_list_add(c->l, page->entries[i].key, rel, c->base);
		if (rc) {
			cli_fail(c->a, "out of memory");
			return rc;
		}
	}
	return 0;
}

/* Flat listing of everything under prefix into l (rel = key after prefix),
 * skipping keys that are no safe relative path.  Prints failures. */
static int list_tree(const struct cli_args *a, struct remote *r,
		     const char *prefix, const char *base, struct pull_list *l)
{
	struct tree_ctx c = { a, prefix, strlen(prefix), base, l };

	return cli_list_pages(a, r, prefix, NULL, add_page, &c);
}

/* The last component of p, trailing slashes ignored.  Caller frees. */
static char *base_name(const char *p)
{
	const char *end = p + strlen(p), *s;

	while (end > p && end[-1] == '/')
		end--;
	s = end;
	while (s > p && s[-1] != '/')
		s--;
	return strndup(s, (size_t)(end - s));
}

int cli_pull(int argc, char **argv, mode_t um)
{
	struct cli_args a;
	struct pull_ctx ctx;
	struct pull_list items = { NULL, 0, 0 };
	struct remote *r = NULL;
	struct cli_progress *prog = NULL;
	struct remote_stat st;
	struct remote_error err;
	struct stat lst;
	char *src = NULL, *key = NULL, *prefix = NULL;
	char *dest = NULL, *name = NULL, *parent = NULL, stotal[32];
	const char *slash;
	uint64_t total = 0;
	size_t i, n_files = 0, failed = 0;
	int is_dir = 0, rc;

	memset(&ctx, 0, sizeof(ctx));
	memset(&st, 0, sizeof(st));
	memset(&err, 0, sizeof(err));
	ctx.dirfd = -1;
	rc = cli_parse(argc, argv, &cli_verb_pull, &a);
	if (rc)
		return rc > 0 ? 0 : 1;
	ctx.umask = um;
	ctx.same_owner = a.same_owner;
	ctx.now = (int64_t)time(NULL);

	rc = cli_artifact_keys(&a, 0, &src, &key, NULL);
	if (rc)
		goto out;
	rc = cli_open_remote(&a, &r);
	if (rc)
		goto out;
	ctx.r = r;

	/* One object, or a directory? */
	rc = cli_head_live(r, key, ctx.now, &st, &err);
	if (rc && rc != -ENOENT) {
		cli_fail(&a, "%s", cli_errmsg(&err, rc));
		goto out;
	}
	if (rc == -ENOENT) {
		is_dir = 1;
		rc = cli_dir_key(&a, src, &prefix);
		if (rc)
			goto out;
	}

	/* The local destination. */
	name = base_name(src);
	if (!name) {
		rc = -ENOMEM;
		cli_fail(&a, "out of memory");
		goto out;
	}
	if (!a.dest) {
		dest = strdup(name);
	} else if (!is_dir && (a.dest[strlen(a.dest) - 1] == '/' ||
			       (!stat(a.dest, &lst) && S_ISDIR(lst.st_mode)))) {
		dest = malloc(strlen(a.dest) + strlen(name) + 2);
		if (dest)
			snprintf(dest, strlen(a.dest) + strlen(name) + 2, "%s%s%s",
				 a.dest, a.dest[strlen(a.dest) - 1] == '/' ? "" : "/",
				 name);
	} else {
		dest = strdup(a.dest);
	}
	if (!dest) {
		rc = -ENOMEM;
		cli_fail(&a, "out of memory");
		goto out;
	}
	if (!dest[0]) {
		rc = -EINVAL;
		cli_fail(&a, "the destination is empty");
		goto out;
	}

	if (is_dir) {
		rc = list_tree(&a, r, prefix, dest, &items);
		if (rc)
			goto out;
	} else {
		/* A file: its parent directory and its name in it. */
		slash = strrchr(dest, '/');
		parent = slash ? strndup(dest, (size_t)(slash - dest + (slash == dest)))
			       : strdup(".");
		rc = parent ? pull_list_add(&items, key, slash ? slash + 1 : dest, parent)
			    : -ENOMEM;
		if (rc) {
			cli_fail(&a, "out of memory");
			goto out;
		}
		free(items.v[0].local);
		items.v[0].local = strdup(dest);
		if (!items.v[0].local || !items.v[0].rel[0] ||
		    !strcmp(items.v[0].rel, ".") || !strcmp(items.v[0].rel, "..")) {
			rc = -EINVAL;
			cli_fail(&a, "cannot write a file at '%s'", dest);
			goto out;
		}
		items.v[0].st = st;
		memset(&st, 0, sizeof(st));
	}

	/* Step 1: what exists, and how big. */
	for (i = 0; i < items.n; i++)
		items.v[i].ctx = &ctx;
	if (is_dir) {
		rc = run_all(&items, head_one, 0, 1);
		if (rc) {
			cli_fail(&a, "cannot start worker threads");
			goto out;
		}
	}
	for (i = 0; i < items.n; i++) {
		if (items.v[i].rc) {
			cli_fail(&a, "%s", items.v[i].msg);
			rc = items.v[i].rc;
			goto out;
		}
		if (items.v[i].skip || items.v[i].marker)
			continue;
		n_files++;
		total += items.v[i].st.size;
	}
	if (is_dir && n_files == 0) {
		for (i = 0; i < items.n && (items.v[i].skip || !items.v[i].marker); i++)
			;
		if (i == items.n) {
			cli_fail(&a, "'%s' does not exist in the remote storage. Please check if the artifact you are trying to pull exists.",
				 key);
			rc = -ENOENT;
			goto out;
		}
	}

	/* Step 2: refuse before downloading anything. */
	if (!a.force) {
		for (i = 0; i < items.n; i++) {
			if (items.v[i].skip || items.v[i].marker)
				continue;
			if (lstat(items.v[i].local, &lst) == 0) {
				cli_fail(&a, "'%s' already exists locally; delete it first, or use --force flag",
					 items.v[i].local);
				rc = -EEXIST;
				goto out;
			}
		}
	}

	/* Step 3: download. */
	rc = mkdir_p(is_dir ? dest : parent);
	if (rc) {
		cli_fail(&a, "cannot create directory '%s': %s",
			 is_dir ? dest : parent, strerror(-rc));
		goto out;
	}
	ctx.dirfd = open(is_dir ? dest : parent,
			 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx.dirfd < 0) {
		rc = -errno;
		cli_fail(&a, "cannot open directory '%s': %s",
			 is_dir ? dest : parent, strerror(errno));
		goto out;
	}
	prog = cli_xfer_start(&ctx.xo, n_files, total);
	if (n_files == 1 && !ctx.xo.part_size) { /* not set by the user */
		ctx.xo.part_size = CLI_GET_RANGE;
		ctx.xo.threads = CLI_GET_THREADS;
	}
	rc = run_all(&items, pull_one, 1, 0);
	if (!rc)
		rc = run_all(&items, pull_one, 0, 1);
	cli_progress_stop(prog);
	prog = NULL;
	if (rc) {
		cli_fail(&a, "cannot start worker threads");
		goto out;
	}
	for (i = 0; i < items.n; i++) {
		if (items.v[i].rc) {
			failed++;
			cli_fail(&a, "%s", items.v[i].msg);
		} else if (items.v[i].link_out) {
			cli_line(stderr, "artifact: skipping '%s': %s",
				 items.v[i].local, items.v[i].msg);
			n_files--;
			total -= items.v[i].st.size;
		}
	}
	if (failed) {
		if (items.n > 1)
			cli_fail(&a, "%zu of %zu files failed", failed, items.n);
		rc = -EIO;
		goto out;
	}

	store_size_format(total, stotal, sizeof(stotal));
	cli_line(stdout, "Successfully pulled artifact for current %s.",
		 store_level_name(a.level));
	cli_line(stdout, "> Source: '%s'.", key);
	cli_line(stdout, "> Destination: '%s'.", dest);
	cli_line(stdout, "Pulled %zu file%s. Total of %s", n_files,
		 n_files == 1 ? "" : "s", stotal);
	rc = 0;
out:
	cli_progress_stop(prog);
	if (ctx.dirfd >= 0)
		close(ctx.dirfd);
	pull_list_free(&items);
	remote_stat_clear(&st);
	remote_close(r);
	free(src);
	free(key);
	free(prefix);
	free(dest);
	free(name);
	free(parent);
	return rc ? 1 : 0;
}
