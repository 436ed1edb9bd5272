/*
 * list.c - `artifact list LEVEL [PATH] [--json]`: one level of a store, as
 * `ls` shows a directory: files with size and time, directories with a
 * trailing '/'.  PATH naming a file lists that file.  Keys that cannot be
 * a path (empty segment, ".", "..") are not shown, as in the mount.
 * --json prints an array of {name, size, mtime, is_dir} (mtime RFC 3339,
 * null for directories), names exactly as stored; a name that is not UTF-8
 * cannot be a JSON string and is left out with a warning.  The text form
 * escapes control bytes (cli_line) and shows every name (README, "The
 * `artifact` command").
 *
 * Expired artifacts are omitted (README, "Expiry and gc"): a listing has no
 * metadata, so every listed file is HEADed, in parallel on a pool of
 * CLI_HEAD_THREADS, and those whose x-amz-meta-expires-at has passed (or
 * that vanished meanwhile) are dropped.  Directories are shown as the
 * listing gives them, even when everything beneath them has expired.
 */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct cli_verb cli_verb_list = {
	.name = "list",
	.gerund = "listing",
	.arg = "[PATH]",
	.summary = "Lists a store, or a directory in it, one level deep.",
	.opts = CLI_OPT_JSON,
	.path_required = 0,
};

struct entry {
	char *name;
	uint64_t size;
	struct timespec mtime;
	int is_dir;
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static void entries_free(struct entries *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i].name);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

/* Append a copy of name[0..len).  -ENOMEM. */
static int entries_add(struct entries *e, const char *name, size_t len,
		       uint64_t size, const struct timespec *mtime, int is_dir)
{
	struct entry *nv;
	size_t cap;

	if (e->n == e->cap) {
		cap = e->cap ? e->cap * 2 : 32;
		nv = realloc(e->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		e->v = nv;
		e->cap = cap;
	}
	e->v[e->n].name = strndup(name, len);
	if (!e->v[e->n].name)
		return -ENOMEM;
	e->v[e->n].size = size;
	e->v[e->n].mtime = *mtime;
	e->v[e->n].is_dir = is_dir;
	e->n++;
	return 0;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;

	return strcmp(a->name, b->name);
}

/* One listed file whose expiry a HEAD checks.  Written by one job only. */
struct head_job {
	struct remote *r;
	char *key;
	int64_t now;
	size_t idx; /* into struct entries */
	int drop;   /* expired, or gone since the listing */
	int rc;
	char msg[REMOTE_ERRMSG_MAX];
};

/* Pool job: HEAD one file; mark it dropped when expired or missing. */
static void head_one(void *arg)
{
	struct head_job *j = arg;
	struct remote_stat st;
	struct remote_error err;
	int rc;

	memset(&st, 0, sizeof(st));
	memset(&err, 0, sizeof(err));
	rc = cli_head_live(j->r, j->key, j->now, &st, &err);
	if (rc == -ENOENT) {
		j->drop = 1;
	} else if (rc) {
		j->rc = rc;
		snprintf(j->msg, sizeof(j->msg), "%s", cli_errmsg(&err, rc));
	}
	remote_stat_clear(&st);
}

/*
 * HEAD every file of e (key prefix + name) and remove the expired ones from
 * e: inline for one file, else on a pool.  Prints failures; -ENOMEM, or a
 * HEAD's -errno.
 */
static int drop_expired(const struct cli_args *a, struct remote *r,
			const char *prefix, int64_t now, struct entries *e)
{
	struct remote_pool *pool = NULL;
	struct head_job *jobs = NULL;
	size_t nfiles = 0, nj = 0, i, k, len;
	int rc = 0;

	for (i = 0; i < e->n; i++)
		nfiles += !e->v[i].is_dir;
	if (nfiles == 0)
		return 0;
	jobs = calloc(nfiles, sizeof(*jobs));
	if (!jobs)
		goto nomem;
	for (i = 0; i < e->n; i++) {
		if (e->v[i].is_dir)
			continue;
		len = strlen(prefix) + strlen(e->v[i].name) + 1;
		jobs[nj].key = malloc(len);
		if (!jobs[nj].key)
			goto nomem;
		snprintf(jobs[nj].key, len, "%s%s", prefix, e->v[i].name);
		jobs[nj].r = r;
		jobs[nj].now = now;
		jobs[nj].idx = i;
		nj++;
	}
	if (nj == 1) {
		head_one(&jobs[0]);
	} else {
		pool = remote_pool_new(nj < CLI_HEAD_THREADS ? (unsigned)nj
							     : CLI_HEAD_THREADS);
		if (!pool)
			goto nomem;
		for (i = 0; i < nj; i++) {
			if (remote_pool_submit(pool, head_one, &jobs[i]))
				goto nomem;
		}
		remote_pool_wait(pool);
	}
	for (i = 0; i < nj; i++) {
		if (jobs[i].rc) {
			rc = jobs[i].rc;
			cli_fail(a, "%s", jobs[i].msg);
			goto out;
		}
		if (jobs[i].drop) {
			free(e->v[jobs[i].idx].name);
			e->v[jobs[i].idx].name = NULL;
		}
	}
	for (i = 0, k = 0; i < e->n; i++) {
		if (e->v[i].name)
			e->v[k++] = e->v[i];
	}
	e->n = k;
	goto out;
nomem:
	rc = -ENOMEM;
	cli_fail(a, "out of memory");
out:
	remote_pool_free(pool); /* waits for queued jobs before jobs[] goes */
	for (i = 0; jobs && i < nj; i++)
		free(jobs[i].key);
	free(jobs);
	return rc;
}

/* What list_level() adds one page's entries to. */
struct level_ctx {
	const struct cli_args *a;
	const char *prefix;
	size_t plen;
	struct entries *e;
};

/* cli_list_pages() callback: the safe names of one page into the entries.
 * Prints failures. */
static int add_page(const struct remote_list *page, void *arg)
{
	static const struct timespec zero = { 0, 0 };
	struct level_ctx *c = arg;
	const char *rel;
	size_t i, len;
	int rc = 0;

	for (i = 0; i < page->n_entries && !rc; i++) {
		if (strncmp(page->entries[i].key, c->prefix, c->plen))
			continue;
		rel = page->entries[i].key + c->plen;
		if (!rel[0] || !store_path_is_safe(rel, 0))
			continue;
		rc = entries_add(c->e, rel, strlen(rel), page->entries[i].size,
				 &page->entries[i].mtime, 0);
	}
	for (i = 0; i < page->n_prefixes && !rc; i++) {
		if (strncmp(page->prefixes[i], c->prefix, c->plen))
			continue;
		rel = page->prefixes[i] + c->plen;
		len = strlen(rel);
		if (len < 2 || !store_path_is_safe(rel, 1))
			continue;
		rc = entries_add(c->e, rel, len - 1, 0, &zero, 1);
	}
	if (rc)
		cli_fail(c->a, "out of memory");
	return rc;
}

/* Every page of the delimited listing of prefix into e.  Prints failures. */
static int list_level(const struct cli_args *a, struct remote *r,
		      const char *prefix, struct entries *e)
{
	struct level_ctx c = { a, prefix, strlen(prefix), e };

	return cli_list_pages(a, r, prefix, "/", add_page, &c);
}

static int print_json(const struct entries *e)
{
	json_t *arr = json_array(), *o = NULL;
	char when[40];
	char *s = NULL;
	size_t i;
	int rc = -ENOMEM;

	if (!arr)
		goto out;
	for (i = 0; i < e->n; i++) {
		if (e->v[i].is_dir)
			o = json_pack("{s:s, s:I, s:n, s:b}", "name", e->v[i].name,
				      "size", (json_int_t)0, "mtime", "is_dir", 1);
		else {
			store_time_format((int64_t)e->v[i].mtime.tv_sec, when,
					  sizeof(when));
			o = json_pack("{s:s, s:I, s:s, s:b}", "name", e->v[i].name,
				      "size", (json_int_t)e->v[i].size, "mtime",
				      when, "is_dir", 0);
		}
		if (!o) {
			cli_line(stderr,
				 "artifact: skipping '%s' in --json: not UTF-8",
				 e->v[i].name);
			continue;
		}
		if (json_array_append_new(arr, o))
			goto out;
	}
	s = json_dumps(arr, JSON_INDENT(2));
	if (!s)
		goto out;
	printf("%s\n", s);
	rc = 0;
out:
	free(s);
	json_decref(arr);
	return rc;
}

static void print_text(const struct entries *e)
{
	char size[32], when[40];
	struct tm tm;
	time_t t;
	size_t i;

	for (i = 0; i < e->n; i++) {
		if (e->v[i].is_dir) {
			cli_line(stdout, "%10s  %16s  %s/", "-", "",
				 e->v[i].name);
			continue;
		}
		store_size_format(e->v[i].size, size, sizeof(size));
		t = e->v[i].mtime.tv_sec;
		if (gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
		else
			snprintf(when, sizeof(when), "?");
		cli_line(stdout, "%10s  %16s  %s", size, when, e->v[i].name);
	}
}

int cli_list(int argc, char **argv, mode_t um)
{
	struct cli_args a;
	struct entries e = { NULL, 0, 0 };
	struct remote *r = NULL;
	struct remote_stat st;
	struct remote_error err;
	char *src = NULL, *key = NULL, *prefix = NULL;
	const char *base;
	int64_t now;
	int rc;

	(void)um; /* only pull and push create files */
	memset(&st, 0, sizeof(st));
	memset(&err, 0, sizeof(err));
	rc = cli_parse(argc, argv, &cli_verb_list, &a);
	if (rc)
		return rc > 0 ? 0 : 1;

	rc = cli_artifact_keys(&a, 1, &src, &key, &prefix);
	if (rc)
		goto out;
	rc = cli_open_remote(&a, &r);
	if (rc)
		goto out;

	now = (int64_t)time(NULL);
	rc = list_level(&a, r, prefix, &e);
	if (!rc)
		rc = drop_expired(&a, r, prefix, now, &e);
	if (rc)
		goto out;
	if (e.n == 0 && src[0]) {
		rc = cli_head_live(r, key, now, &st, &err);
		if (rc == -ENOENT) {
			cli_fail(&a, "'%s' does not exist in the remote storage",
				 key);
			goto out;
		}
		if (rc) {
			cli_fail(&a, "%s", cli_errmsg(&err, rc));
			goto out;
		}
		base = strrchr(src, '/');
		base = base ? base + 1 : src;
		rc = entries_add(&e, base, strlen(base), st.size, &st.mtime, 0);
		if (rc) {
			cli_fail(&a, "out of memory");
			goto out;
		}
	}
	if (e.n > 1)
		qsort(e.v, e.n, sizeof(*e.v), cmp_entry);
	if (a.json) {
		rc = print_json(&e);
		if (rc)
			cli_fail(&a, "out of memory");
	} else {
		print_text(&e);
	}
out:
	entries_free(&e);
	remote_stat_clear(&st);
	remote_close(r);
	free(src);
	free(key);
	free(prefix);
	return rc ? 1 : 0;
}
