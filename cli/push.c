/*
 * push.c - `artifact push LEVEL SRC [-d DEST] [-f] [-e DUR]`.
 *
 * SRC is a file, a directory (every regular file beneath it, keys
 * DEST/relative/path) or "-" for standard input (spooled to an unlinked
 * temporary file first, so a retry can resend it).  Without --force nothing
 * is uploaded when the target exists (for a directory: when anything lies
 * under DEST/).  Files go up in parallel on a pool; each object carries its
 * SHA-256, mode, uid, gid, mtime and, with --expire-in, its expiry.  The
 * outcome is all-or-nothing in what is reported: one failed file means exit
 * 1 and no success line.
 *
 * A pushed tree is untrusted input (README, "Security"): a symbolic link in
 * it is followed only when its target resolves inside the tree (then its
 * content is uploaded, as Semaphore's CLI does); one that leads out (to
 * ~/.aws/credentials, say) is skipped with a warning.  Files of a tree are
 * opened from the tree's root one component at a time without following
 * links (open_beneath), along the path checked when the tree was walked,
 * so a link swapped in meanwhile fails the file instead of leaking another.
 */
#include "cli.h"
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"

const struct cli_verb cli_verb_push = {
	.name = "push",
	.gerund = "pushing",
	.arg = "SRC",
	.summary = "Uploads a file, a directory (recursively) or standard input (SRC '-',\n"
		   "which needs --destination) to the store.",
	.opts = CLI_OPT_DEST | CLI_OPT_FORCE | CLI_OPT_EXPIRE,
	.path_required = 1,
};

struct push_ctx {
	struct remote *r;
	const struct cli_args *a;
	int has_expiry;
	int64_t expires_at;
	mode_t stdin_mode;            /* mode recorded for a spooled stream */
	int rootfd;		      /* a pushed tree's root, else -1 */
	struct remote_xfer_opts xo;   /* shared, read-only while uploading */
};

struct push_item {
	struct push_ctx *ctx;
	char *local;  /* path for messages and to open */
	char *inner;  /* in a tree: the path below its root to open */
	char *key;
	int fd;       /* already open (spooled stream), else -1 */
	int rc;       /* result, written by the one worker that runs it */
	char msg[REMOTE_ERRMSG_MAX + 128];
};

struct push_list {
	struct push_item *v;
	size_t n, cap;
};

static void push_list_free(struct push_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].local);
		free(l->v[i].inner);
		free(l->v[i].key);
		if (l->v[i].fd >= 0)
			close(l->v[i].fd);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Append an item; takes ownership of local and key (freed on failure). */
static int push_list_add(struct push_list *l, char *local, char *key, int fd)
{
	struct push_item *nv;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 16;
		nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv) {
			free(local);
			free(key);
			return -ENOMEM;
		}
		l->v = nv;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	l->v[l->n].local = local;
	l->v[l->n].key = key;
	l->v[l->n].fd = fd;
	l->n++;
	return 0;
}

/* "a" + "/" + "b" (just "b" when a is empty).  NULL on ENOMEM. */
static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 2);

	if (!s)
		return NULL;
	if (la) {
		memcpy(s, a, la);
		s[la] = '/';
		memcpy(s + la + 1, b, lb + 1);
	} else {
		memcpy(s, b, lb + 1);
	}
	return s;
}

/* The tree a directory push walks: its real path (realpath(3)). */
struct tree {
	const char *real;
	size_t len;
};

/* Where the resolved path real lies below the tree's root: a pointer into
 * real past the root and its '/', or NULL when real is not inside. */
static const char *below(const struct tree *t, const char *real)
{
	size_t n = t->len;

	if (n == 1 && t->real[0] == '/')
		n = 0; /* the tree is "/": everything is inside */
	if (strncmp(real, t->real, n) != 0 || real[n] != '/')
		return NULL;
	return real + n + 1;
}

/*
 * Open the regular file at path inner below the directory rootfd, one
 * component at a time, following no link (O_NOFOLLOW), so what is opened
 * lies inside the tree whatever changed since it was walked.  Returns the
 * fd, or -errno (-ELOOP where a component is now a link, -EINVAL when the
 * file is not a regular one).
 */
static int open_beneath(int rootfd, const char *inner)
{
	char *copy = strdup(inner), *seg, *slash;
	struct stat st;
	int fd = -1, nfd, rc = 0;

	if (!copy)
		return -ENOMEM;
	fd = dup(rootfd);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	for (seg = copy;; seg = slash + 1) {
		slash = strchr(seg, '/');
		if (slash)
			*slash = '\0';
		nfd = openat(fd, seg,
			     O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
				     (slash ? O_DIRECTORY : O_NONBLOCK));
		if (nfd < 0) {
			rc = -errno;
			goto out;
		}
		close(fd);
		fd = nfd;
		if (!slash)
			break;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode))
		rc = -EINVAL;
out:
	if (rc && fd >= 0)
		close(fd);
	free(copy);
	return rc ? rc : fd;
}

/*
 * Add every regular file under dir (recursively) with store path rel/NAME;
 * inner is dir's path below the tree's root ("" at the root).  A symbolic
 * link is followed only to a regular file inside the tree t; links that
 * lead out of it, links to directories (they could loop), sockets, FIFOs
 * and devices are skipped, each with a one-line warning.  Prints the
 * failure; -errno.
 */
static int walk(const struct cli_args *a, const struct tree *t, const char *dir,
		const char *rel, const char *inner, struct push_list *l)
{
	DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	char *local = NULL, *r = NULL, *key = NULL, *in = NULL;
	char *real = NULL;
	const char *target;
	int rc = 0;

	d = opendir(dir);
	if (!d) {
		rc = -errno;
		cli_fail(a, "cannot read directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				rc = -errno;
				cli_fail(a, "cannot read directory '%s': %s",
					 dir, strerror(errno));
			}
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		local = join(dir, de->d_name);
		r = join(rel, de->d_name);
		in = join(inner, de->d_name);
		if (!local || !r || !in) {
			rc = -ENOMEM;
			cli_fail(a, "out of memory");
			goto out;
		}
		if (lstat(local, &st)) {
			cli_line(stderr, "artifact: skipping '%s': %s", local,
				 strerror(errno));
			goto next;
		}
		if (S_ISLNK(st.st_mode)) {
			/* Where does it lead, all links followed? */
			real = realpath(local, NULL);
			if (!real || stat(real, &st)) {
				cli_line(stderr, "artifact: skipping '%s': %s",
					 local, strerror(errno));
				goto next;
			}
			target = below(t, real);
			if (!target) {
				cli_line(stderr,
					 "artifact: skipping '%s': a link that leads out of '%s'",
					 local, a->path);
				goto next;
			}
			if (S_ISDIR(st.st_mode)) {
				cli_line(stderr,
					 "artifact: skipping '%s': a link to a directory",
					 local);
				goto next;
			}
			free(in);
			in = strdup(target);
			if (!in) {
				rc = -ENOMEM;
				cli_fail(a, "out of memory");
				goto out;
			}
		}
		if (S_ISDIR(st.st_mode)) {
			rc = walk(a, t, local, r, in, l);
			if (rc)
				goto out;
		} else if (S_ISREG(st.st_mode)) {
			rc = cli_key(a, r, &key);
			if (rc)
				goto out;
			rc = push_list_add(l, local, key, -1);
			local = NULL;
			key = NULL;
			if (rc) {
				cli_fail(a, "out of memory");
				goto out;
			}
			l->v[l->n - 1].inner = in;
			in = NULL;
		} else {
			cli_line(stderr,
				 "artifact: skipping '%s': not a regular file",
				 local);
		}
next:
		free(local);
		free(r);
		free(in);
		free(real);
		local = NULL;
		r = NULL;
		in = NULL;
		real = NULL;
	}
out:
	free(local);
	free(r);
	free(in);
	free(real);
	free(key);
	if (d)
		closedir(d);
	return rc;
}

/* Copy fd `in` to an unlinked temporary file; *out is its fd.  -errno. */
static int spool(int in, int *out)
{
	const char *tmpdir = getenv("TMPDIR");
	char *path = NULL;
	char buf[65536];
	ssize_t n, w, off;
	int fd = -1, rc = 0;

	*out = -1;
	path = join(tmpdir && tmpdir[0] ? tmpdir : "/tmp", "artifact-stdin-XXXXXX");
	if (!path)
		return -ENOMEM;
	fd = mkstemp(path);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	unlink(path);
	for (;;) {
		n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		for (off = 0; off < n; off += w) {
			w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0) {
				rc = -errno;
				goto out;
			}
		}
	}
	*out = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

/* Pool job: upload one item; records rc and a message in the item. */
static void push_one(void *arg)
{
	struct push_item *it = arg;
	struct push_ctx *c = it->ctx;
	struct remote_meta meta = { NULL, 0 };
	struct remote_put_opts po;
	struct remote_error err;
	struct store_meta sm;
	struct stat st;
	int fd = it->fd, rc = 0;

	memset(&err, 0, sizeof(err));
	memset(&sm, 0, sizeof(sm));
	if (fd < 0) {
		if (it->inner)
			fd = open_beneath(c->rootfd, it->inner);
		else
			fd = open(it->local, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			rc = it->inner ? fd : -errno;
			snprintf(it->msg, sizeof(it->msg),
				 "cannot open '%s': %s", it->local,
				 strerror(-rc));
			goto out;
		}
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		snprintf(it->msg, sizeof(it->msg), "cannot stat '%s': %s",
			 it->local, strerror(errno));
		goto out;
	}
	rc = digest_sha256_fd(fd, (uint64_t)st.st_size, sm.sha256);
	if (rc) {
		snprintf(it->msg, sizeof(it->msg), "cannot read '%s': %s",
			 it->local, strerror(-rc));
		goto out;
	}
	sm.has_sha256 = 1;
	sm.has_mode = sm.has_uid = sm.has_gid = sm.has_mtime = 1;
	sm.mode = it->fd >= 0 ? c->stdin_mode : st.st_mode;
	sm.uid = st.st_uid;
	sm.gid = st.st_gid;
	sm.mtime = st.st_mtim;
	if (c->has_expiry) {
		sm.has_expires = 1;
		sm.expires_at = c->expires_at;
	}
	rc = store_meta_encode(&sm, &meta);
	if (rc) {
		snprintf(it->msg, sizeof(it->msg), "out of memory");
		goto out;
	}
	memset(&po, 0, sizeof(po));
	po.meta = &meta;
	rc = remote_put_file(c->r, it->key, fd, (uint64_t)st.st_size, &po,
			     &c->xo, NULL, &err);
	if (rc)
		snprintf(it->msg, sizeof(it->msg), "'%s': %s", it->local,
			 cli_errmsg(&err, rc));
out:
	if (fd >= 0 && fd != it->fd)
		close(fd);
	remote_meta_clear(&meta);
	it->rc = rc;
}

static int cmp_item(const void *x, const void *y)
{
	const struct push_item *a = x, *b = y;

	return strcmp(a->key, b->key);
}

/* The remote name of a source: its last path component ("dir/" -> "dir";
 * "." and ".." -> that of the real path).  Caller frees; NULL on ENOMEM or
 * when there is none ("/"). */
static char *source_name(const char *src)
{
	char *copy = NULL, *real = NULL, *end, *slash, *name = NULL;

	copy = strdup(src);
	if (!copy)
		goto out;
	end = copy + strlen(copy);
	while (end > copy + 1 && end[-1] == '/')
		*--end = '\0';
	slash = strrchr(copy, '/');
	name = slash ? slash + 1 : copy;
	if (!strcmp(name, ".") || !strcmp(name, "..") || !name[0]) {
		real = realpath(src, NULL);
		if (!real) {
			name = NULL;
			goto out;
		}
		slash = strrchr(real, '/');
		name = slash ? slash + 1 : real;
	}
	name = name[0] ? strdup(name) : NULL;
out:
	free(copy);
	free(real);
	return name;
}

/* Refuse (-EEXIST, message printed) when the single key, or anything under
 * prefix, exists.  Other failures print their reason. */
static int check_absent(const struct cli_args *a, struct remote *r,
			const char *key, const char *prefix)
{
	struct remote_list_opts lo;
	struct remote_list l;
	struct remote_stat st;
	struct remote_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	memset(&st, 0, sizeof(st));
	memset(&l, 0, sizeof(l));
	if (key) {
		rc = remote_head(r, key, &st, &err);
		remote_stat_clear(&st);
		if (rc == 0) {
			cli_fail(a, "'%s' already exists in the remote storage; delete it first, or use --force flag",
				 key);
			return -EEXIST;
		}
		if (rc != -ENOENT) {
			cli_fail(a, "%s", cli_errmsg(&err, rc));
			return rc;
		}
		return 0;
	}
	memset(&lo, 0, sizeof(lo));
	lo.prefix = prefix;
	lo.max_keys = 1;
	rc = remote_list(r, &lo, &l, &err);
	if (rc) {
		cli_fail(a, "%s", cli_errmsg(&err, rc));
		return rc;
	}
	if (l.n_entries) {
		cli_fail(a, "'%s' already exists in the remote storage; delete it first, or use --force flag",
			 l.entries[0].key);
		rc = -EEXIST;
	}
	remote_list_clear(&l);
	return rc;
}

/* Without --expire-in, what is pushed into a directory that has an expiry
 * rule (set on a mount with setfattr user.expire_in) inherits it.  where is
 * the file's key, or the directory's prefix (ending in '/', which counts as
 * one of the directories).  Prints failures. */
static int inherit_expiry(const struct cli_args *a, struct remote *r,
			  const char *where, struct push_ctx *ctx)
{
	struct remote_error err;
	char *store = NULL, *probe = NULL;
	int64_t secs = STORE_NEVER, now = (int64_t)time(NULL);
	int rc;

	memset(&err, 0, sizeof(err));
	rc = cli_key(a, "", &store);
	if (rc)
		return rc;
	/* For a directory, a name inside it, so its own marker is looked at. */
	if (asprintf(&probe, "%s%s", where,
		     where[0] && where[strlen(where) - 1] == '/' ? "x" : "") < 0)
		probe = NULL;
	if (!probe) {
		cli_fail(a, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	rc = remote_rule_inherited(r, store, probe, &secs, &err);
	if (rc) {
		cli_fail(a, "%s", cli_errmsg(&err, rc));
		goto out;
	}
	/* The rule was checked when it was set; if the time since has
	 * carried it past 9999, the latest expiry there is, not none. */
	if (secs != STORE_NEVER) {
		ctx->has_expiry = 1;
		if (store_expiry_after(now, secs, &ctx->expires_at))
			ctx->expires_at = STORE_TIME_MAX;
	}
out:
	free(store);
	free(probe);
	return rc;
}

int cli_push(int argc, char **argv, mode_t um)
{
	struct cli_args a;
	struct push_ctx ctx;
	struct push_list items = { NULL, 0, 0 };
	struct remote *r = NULL;
	struct remote_pool *pool = NULL;
	struct cli_progress *prog = NULL;
	struct stat st;
	char *dest = NULL, *name = NULL, *key = NULL, *prefix = NULL;
	char *root = NULL, stotal[32];
	struct tree tree;
	int64_t secs = 0, now;
	uint64_t total = 0;
	size_t i, failed = 0;
	int is_dir = 0, fd = -1, sfd = -1, stream = 0, rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.rootfd = -1;
	rc = cli_parse(argc, argv, &cli_verb_push, &a);
	if (rc)
		return rc > 0 ? 0 : 1;
	ctx.a = &a;
	ctx.stdin_mode = S_IFREG | (0666 & ~um);

	if (a.expire_in) {
		if (store_duration_parse(a.expire_in, &secs)) {
			cli_fail(&a, "invalid --expire-in '%s' (use never, 30d, 2w, 1m, 1y, 12h, \"2 hrs 20 min\"...)",
				 a.expire_in);
			rc = -EINVAL;
			goto out;
		}
		now = (int64_t)time(NULL);
		if (store_expiry_after(now, secs, &ctx.expires_at)) {
			cli_fail(&a, "--expire-in '%s' is too far away (past 9999-12-31T23:59:59Z)",
				 a.expire_in);
			rc = -EINVAL;
			goto out;
		}
		ctx.has_expiry = secs != STORE_NEVER;
	}

	/* What is pushed: a stream, a file or a directory. */
	if (!strcmp(a.path, "-")) {
		stream = 1;
		if (!a.dest) {
			cli_fail(&a, "pushing standard input needs a name: use --destination NAME");
			rc = -EINVAL;
			goto out;
		}
	} else if (stat(a.path, &st)) {
		cli_fail(&a, "path '%s' does not exist locally", a.path);
		rc = -ENOENT;
		goto out;
	} else if (S_ISDIR(st.st_mode)) {
		is_dir = 1;
	} else if (!S_ISREG(st.st_mode)) {
		stream = 1; /* /dev/stdin, a FIFO: read it through once */
	}

	/* Where it goes. */
	if (a.dest) {
		rc = cli_clean_path(a.dest, &dest);
	} else {
		name = source_name(a.path);
		rc = name ? cli_clean_path(name, &dest) : -EINVAL;
	}
	if (rc == -ENOMEM) {
		cli_fail(&a, "out of memory");
		goto out;
	}
	if (rc || (dest[0] && !store_path_is_safe(dest, 0)) ||
	    (!dest[0] && !is_dir)) {
		cli_fail(&a, "cannot use '%s' as the name in the remote storage; name it with --destination",
			 a.dest ? a.dest : a.path);
		rc = -EINVAL;
		goto out;
	}

	if (stream) {
		fd = open(a.path[0] == '-' && !a.path[1] ? "/dev/stdin" : a.path,
			  O_RDONLY | O_CLOEXEC);
		if (fd < 0 && a.path[0] == '-' && !a.path[1])
			fd = dup(STDIN_FILENO);
		if (fd < 0) {
			cli_fail(&a, "cannot open '%s': %s", a.path, strerror(errno));
			rc = -errno;
			goto out;
		}
		rc = spool(fd, &sfd);
		close(fd);
		fd = sfd;
		if (rc) {
			cli_fail(&a, "cannot read '%s': %s", a.path, strerror(-rc));
			goto out;
		}
	}

	rc = cli_open_remote(&a, &r);
	if (rc)
		goto out;

	rc = cli_key(&a, dest, &key);
	if (rc)
		goto out;
	if (is_dir) {
		rc = cli_dir_key(&a, dest, &prefix);
		if (rc)
			goto out;
		if (!a.force) {
			rc = check_absent(&a, r, NULL, prefix);
			if (rc)
				goto out;
		}
		root = realpath(a.path, NULL);
		ctx.rootfd =
			root ? open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
			     : -1;
		if (ctx.rootfd < 0) {
			rc = -errno;
			cli_fail(&a, "cannot read directory '%s': %s", a.path,
				 strerror(errno));
			goto out;
		}
		tree.real = root;
		tree.len = strlen(root);
		rc = walk(&a, &tree, a.path, dest, "", &items);
		if (rc)
			goto out;
	} else {
		if (!a.force) {
			rc = check_absent(&a, r, key, NULL);
			if (rc)
				goto out;
		}
		rc = push_list_add(&items, strdup(stream ? "standard input" : a.path),
				   strdup(key), fd);
		fd = -1;
		if (rc || !items.v[0].local || !items.v[0].key) {
			cli_fail(&a, "out of memory");
			rc = -ENOMEM;
			goto out;
		}
	}
	if (items.n > 1)
		qsort(items.v, items.n, sizeof(*items.v), cmp_item);
	if (!a.expire_in) {
		rc = inherit_expiry(&a, r, is_dir ? prefix : key, &ctx);
		if (rc)
			goto out;
	}

	for (i = 0; i < items.n; i++) {
		items.v[i].ctx = &ctx;
		if (items.v[i].fd >= 0 ? !fstat(items.v[i].fd, &st)
				       : !stat(items.v[i].local, &st))
			total += (uint64_t)st.st_size;
	}
	ctx.r = r;
	prog = cli_xfer_start(&ctx.xo, items.n, total);

	if (items.n == 1) {
		push_one(&items.v[0]);
	} else if (items.n > 1) {
		pool = remote_pool_new(CLI_FILE_THREADS);
		if (!pool) {
			cli_fail(&a, "cannot start worker threads");
			rc = -ENOMEM;
			goto out;
		}
		for (i = 0; i < items.n; i++) {
			if (remote_pool_submit(pool, push_one, &items.v[i]))
				push_one(&items.v[i]);
		}
		remote_pool_wait(pool);
	}
	cli_progress_stop(prog);
	prog = NULL;

	for (i = 0; i < items.n; i++) {
		if (items.v[i].rc) {
			failed++;
			cli_fail(&a, "%s", items.v[i].msg);
		}
	}
	if (failed) {
		if (items.n > 1)
			cli_fail(&a, "%zu of %zu files failed", failed, items.n);
		rc = -EIO;
		goto out;
	}

	store_size_format(total, stotal, sizeof(stotal));
	cli_line(stdout, "Successfully pushed artifact for current %s.",
		 store_level_name(a.level));
	cli_line(stdout, "* Local source: %s.",
		 stream ? "standard input" : a.path);
	cli_line(stdout, "* Remote destination: %s.", key);
	cli_line(stdout, "Pushed %zu file%s. Total of %s", items.n,
		 items.n == 1 ? "" : "s", stotal);
	rc = 0;
out:
	cli_progress_stop(prog);
	remote_pool_free(pool);
	push_list_free(&items);
	if (fd >= 0)
		close(fd);
	if (ctx.rootfd >= 0)
		close(ctx.rootfd);
	remote_close(r);
	free(root);
	free(dest);
	free(name);
	free(key);
	free(prefix);
	return rc ? 1 : 0;
}
