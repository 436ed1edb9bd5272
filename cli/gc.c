/*
 * gc.c - `artifact gc [--dry-run] [--policy FILE]`: sweep a whole remote,
 * for a cron job (README, "Expiry and gc").
 *
 * Every object under "artifacts/" (every level, every ID, directory markers
 * included) goes through remote_sweep() (remote/sweep.h), the core the
 * mount's sweeper uses too: listed page by page, HEADed in parallel for
 * x-amz-meta-expires-at, the expired ones of a page batch-deleted.  `now`
 * is read once, at the start.
 *
 * A retention policy (--policy FILE, JSON) adds age rules per level, like
 * Semaphore's project settings:
 *
 *     {"job":      [{"glob": "*.log", "age": "2w"}, {"glob": "**", "age":
 * "1m"}], "workflow": [...], "project": [...]}
 *
 * For an object artifacts/<level>s/<id>/<path>, the level's rules are tried
 * in order and the first whose glob matches <path> decides: the object goes
 * when it is older than the rule's age (counted from Last-Modified, which
 * the listing gives, so no HEAD is needed for it).  "never" as an age keeps
 * what it matches from age rules; expires-at still applies to everything.
 * Globs: fnmatch(3) with FNM_PATHNAME per '/'-separated segment (so `*`,
 * `?` and `[...]` never cross a '/'; a leading '.' is not special), and a
 * segment that is exactly `**` matches zero or more whole segments: the
 * two segments `**` and `*.log` match "a.log" as well as "x/y/a.log", and
 * `x` then `**` match x and everything under it.  A directory marker
 * ("dir/") is matched as "dir".  The policy is read and checked before the
 * remote is touched: bad JSON, an unknown level or field, a bad glob or age
 * fail with exit 1 and nothing deleted.
 *
 * Unfinished multipart uploads under "artifacts/" started more than
 * --uploads-older-than (default 24h) ago are aborted too
 * (remote_sweep_uploads), reported as "aborted KEY (unfinished upload)".
 *
 * Output: "deleted KEY" (or "would delete KEY" with --dry-run) per object,
 * on stdout after its batch went, then one summary line.  Any failure ends
 * the sweep with one line on stderr and exit 1; what was printed as deleted
 * before it is gone.
 */
#include "cli.h"
#include "sweep.h"

#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct cli_verb cli_verb_gc = {
	.name = "gc",
	.gerund = "collecting",
	.arg = "",
	.summary = "Deletes every expired artifact of the whole remote.",
	.opts = 0,
	.path_required = 0,
	.fail = "Error running gc",
};

/* One age rule: glob split at '/' into NUL-separated segments. */
struct gc_rule {
	char *buf; /* segments, NUL-separated; segs[] point into it */
	char **segs;
	size_t nsegs;
	int64_t age; /* seconds, or STORE_NEVER */
};

struct gc_policy {
	struct gc_rule *rules[STORE_LEVELS];
	size_t n[STORE_LEVELS];
};

static void policy_free(struct gc_policy *p)
{
	size_t l, i;

	for (l = 0; l < STORE_LEVELS; l++) {
		for (i = 0; i < p->n[l]; i++) {
			free(p->rules[l][i].buf);
			free(p->rules[l][i].segs);
		}
		free(p->rules[l]);
	}
	memset(p, 0, sizeof(*p));
}

/* Split glob into rule->segs.  -EINVAL for an empty glob or one starting
 * with '/' (globs are relative to the store), -ENOMEM. */
static int rule_compile(struct gc_rule *rule, const char *glob)
{
	size_t len = strlen(glob), i, n = 1;

	if (!len || glob[0] == '/')
		return -EINVAL;
	rule->buf = strdup(glob);
	for (i = 0; i < len; i++)
		n += glob[i] == '/';
	rule->segs = calloc(n, sizeof(*rule->segs));
	if (!rule->buf || !rule->segs)
		return -ENOMEM;
	rule->segs[0] = rule->buf;
	rule->nsegs = 1;
	for (i = 0; i < len; i++) {
		if (rule->buf[i] == '/') {
			rule->buf[i] = '\0';
			rule->segs[rule->nsegs++] = rule->buf + i + 1;
		}
	}
	return 0;
}

/*
 * Whether the path segments from p on (NUL-separated, ending at end) match
 * pattern segments pat[i..n).  A "**" segment tries every number of path
 * segments; consecutive ones collapse, so the cost stays polynomial in the
 * number of "**" a rule has.
 */
static int match_segs(char *const *pat, size_t i, size_t n, const char *p,
		      const char *end)
{
	while (i < n) {
		if (!strcmp(pat[i], "**")) {
			while (i + 1 < n && !strcmp(pat[i + 1], "**"))
				i++;
			if (i + 1 == n)
				return 1;
			for (;;) {
				if (match_segs(pat, i + 1, n, p, end))
					return 1;
				if (p >= end)
					return 0;
				p += strlen(p) + 1;
			}
		}
		if (p >= end || fnmatch(pat[i], p, FNM_PATHNAME) != 0)
			return 0;
		p += strlen(p) + 1;
		i++;
	}
	return p >= end;
}

/* Whether rel ("a/b/c.log"; a trailing '/' ignored) matches rule's glob.
 * -ENOMEM when no copy can be made. */
static int rule_match(const struct gc_rule *rule, const char *rel)
{
	size_t len = strlen(rel), i;
	char *buf;
	int m;

	if (len && rel[len - 1] == '/')
		len--;
	buf = strndup(rel, len);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		if (buf[i] == '/')
			buf[i] = '\0';
	}
	m = match_segs(rule->segs, 0, rule->nsegs, buf,
		       len ? buf + len + 1 : buf);
	free(buf);
	return m;
}

/* Load the rules of one level from arr.  Prints the failure; -EINVAL,
 * -ENOMEM. */
static int policy_level(const struct cli_args *a, const char *file,
			const char *name, json_t *arr, struct gc_policy *p,
			enum store_level level)
{
	struct gc_rule *rule;
	json_t *o, *v;
	const char *field, *glob, *age;
	size_t i;
	int rc = 0;

	if (!json_is_array(arr)) {
		cli_fail(a,
			 "policy %s: \"%s\" must be a list of {\"glob\", "
			 "\"age\"} rules",
			 file, name);
		return -EINVAL;
	}
	if (json_array_size(arr) == 0)
		return 0;
	p->rules[level] = calloc(json_array_size(arr), sizeof(*rule));
	if (!p->rules[level]) {
		cli_fail(a, "out of memory");
		return -ENOMEM;
	}
	json_array_foreach(arr, i, o)
	{
		if (!json_is_object(o)) {
			cli_fail(a,
				 "policy %s: rule %zu of \"%s\" is not an "
				 "object",
				 file, i + 1, name);
			return -EINVAL;
		}
		json_object_foreach(o, field, v)
		{
			if (strcmp(field, "glob") && strcmp(field, "age")) {
				cli_fail(a,
					 "policy %s: rule %zu of \"%s\": "
					 "unknown field \"%s\" (glob, age)",
					 file, i + 1, name, field);
				return -EINVAL;
			}
		}
		glob = json_string_value(json_object_get(o, "glob"));
		age = json_string_value(json_object_get(o, "age"));
		if (!glob || !age) {
			cli_fail(a,
				 "policy %s: rule %zu of \"%s\" needs \"glob\" "
				 "and \"age\" strings",
				 file, i + 1, name);
			return -EINVAL;
		}
		rule = &p->rules[level][p->n[level]++];
		rc = rule_compile(rule, glob);
		if (rc == -EINVAL) {
			cli_fail(a,
				 "policy %s: rule %zu of \"%s\": bad glob '%s' "
				 "(relative to the store, not empty)",
				 file, i + 1, name, glob);
			return rc;
		}
		if (rc) {
			cli_fail(a, "out of memory");
			return rc;
		}
		if (store_duration_parse(age, &rule->age)) {
			cli_fail(a,
				 "policy %s: rule %zu of \"%s\": invalid age "
				 "'%s' (use never, 30d, 2w, 1m, 1y, 12h, \"2 "
				 "hrs 20 min\"...)",
				 file, i + 1, name, age);
			return -EINVAL;
		}
	}
	return 0;
}

/* Read and check the policy file.  Prints the failure; -EINVAL, -ENOMEM.
 * p is freed by the caller with policy_free() either way. */
static int policy_load(const struct cli_args *a, const char *file,
		       struct gc_policy *p)
{
	json_error_t jerr;
	json_t *root = NULL, *v;
	const char *name;
	enum store_level level;
	int rc = 0;

	root = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (jerr.line > 0)
			cli_fail(a, "policy %s: line %d: %s", file, jerr.line,
				 jerr.text);
		else
			cli_fail(a, "policy %s: %s", file, jerr.text);
		rc = -EINVAL;
		goto out;
	}
	if (!json_is_object(root)) {
		cli_fail(a,
			 "policy %s: must be an object with \"job\", "
			 "\"workflow\" and/or \"project\" rules",
			 file);
		rc = -EINVAL;
		goto out;
	}
	json_object_foreach(root, name, v)
	{
		if (store_level_parse(name, &level)) {
			cli_fail(a,
				 "policy %s: unknown level \"%s\" (job, "
				 "workflow or project)",
				 file, name);
			rc = -EINVAL;
			goto out;
		}
		rc = policy_level(a, file, name, v, p, level);
		if (rc)
			goto out;
	}
out:
	json_decref(root);
	return rc;
}

/*
 * Which level a key belongs to and where its store path starts:
 * "artifacts/<levels>/<id>/<rel>" with a non-empty id and rel.  0 and *rel
 * (borrowed from key), or -ENOENT for a key outside the layout.
 */
static int key_split(const char *key, enum store_level *level, const char **rel)
{
	const char *s, *id, *slash;
	size_t dlen = 0;
	int l;

	if (strncmp(key, "artifacts/", 10))
		return -ENOENT;
	s = key + 10;
	for (l = 0; l < STORE_LEVELS; l++) {
		dlen = strlen(store_level_dir((enum store_level)l));
		if (!strncmp(s, store_level_dir((enum store_level)l), dlen) &&
		    s[dlen] == '/')
			break;
	}
	if (l == STORE_LEVELS)
		return -ENOENT;
	id = s + dlen + 1;
	slash = strchr(id, '/');
	if (!slash || slash == id || !slash[1])
		return -ENOENT;
	*level = (enum store_level)l;
	*rel = slash + 1;
	return 0;
}

/* What remote_sweep() asks gc about each listed object. */
struct gc_ctx {
	const struct gc_policy *p;
	int64_t now;
	int dry_run;
	int oom; /* a glob could not be matched for lack of memory */
};

/* The age rules' verdict on one listed object: DELETE when the first
 * matching rule says it is too old, else CHECK (HEAD for its expiry). */
static enum remote_sweep_verdict
policy_decide(void *arg, const struct remote_list_entry *e)
{
	struct gc_ctx *ctx = arg;
	const struct gc_policy *p = ctx->p;
	enum store_level level;
	const char *rel;
	size_t i;
	int m;

	if (key_split(e->key, &level, &rel))
		return REMOTE_SWEEP_CHECK;
	for (i = 0; i < p->n[level]; i++) {
		m = rule_match(&p->rules[level][i], rel);
		if (m < 0) {
			ctx->oom = 1; /* keep it: never delete on doubt */
			return REMOTE_SWEEP_KEEP;
		}
		if (!m)
			continue;
		if (p->rules[level][i].age != STORE_NEVER &&
		    ctx->now - (int64_t)e->mtime.tv_sec >
			    p->rules[level][i].age)
			return REMOTE_SWEEP_DELETE;
		break;
	}
	return REMOTE_SWEEP_CHECK;
}

/* One line per deleted (or, dry run, doomed) key, once its batch went. */
static void report(void *arg, const char *key, uint64_t size, const char *why)
{
	struct gc_ctx *ctx = arg;

	(void)size;
	if (strcmp(why, "unfinished upload") == 0)
		cli_line(stdout, "%s %s (unfinished upload)",
			 ctx->dry_run ? "would abort" : "aborted", key);
	else
		cli_line(stdout, "%s %s",
			 ctx->dry_run ? "would delete" : "deleted", key);
	fflush(stdout);
}

static void gc_help(void)
{
	printf("Usage: artifact gc [--dry-run] [--policy FILE] [flags]\n"
	       "\n"
	       "Sweeps the whole remote (every level, every ID) and deletes "
	       "every object\n"
	       "whose expiry (push -e, the mount's *_expire_in) has passed.  "
	       "Meant for a\n"
	       "cron job.\n"
	       "\n"
	       "Flags:\n"
	       "  -n, --dry-run            print what would be deleted; delete "
	       "nothing\n"
	       "      --policy FILE        also delete by age, per level, "
	       "first matching\n"
	       "                           glob wins (age from "
	       "Last-Modified):\n"
	       "                           {\"job\": [{\"glob\": \"**/*.log\", "
	       "\"age\": \"2w\"}],\n"
	       "                            \"workflow\": [...], \"project\": "
	       "[...]}\n"
	       "                           globs are fnmatch per path segment; "
	       "a \"**\"\n"
	       "                           segment matches any number of "
	       "directories\n"
	       "      --uploads-older-than DUR  also abort unfinished "
	       "multipart\n"
	       "                           uploads started that long ago "
	       "(default\n"
	       "                           24h): what crashed or failed "
	       "uploads\n"
	       "                           leave behind\n"
	       "  -v, --verbose            log each request to stderr\n"
	       "  -h, --help               show this help\n");
}

/* Parse gc's own flags (it takes no level).  0 to go on, 1 after --help,
 * -EINVAL after a usage error. */
static int gc_parse(int argc, char **argv, struct cli_args *a, int *dry_run,
		    const char **policy, const char **age)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "policy", required_argument, NULL, 'P' },
		{ "uploads-older-than", required_argument, NULL, 'U' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->verb = &cli_verb_gc;
	*dry_run = 0;
	*policy = NULL;
	opterr = 0;
	optind = 1;
	for (;;) {
		c = getopt_long(argc, argv, ":nvh", longopts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'n':
			*dry_run = 1;
			break;
		case 'P':
			*policy = optarg;
			break;
		case 'U':
			*age = optarg;
			break;
		case 'v':
			a->verbose = 1;
			break;
		case 'h':
			gc_help();
			return 1;
		case ':':
			return cli_usage(a->verb, "flag '%s' needs a value",
					 argv[optind - 1]);
		default:
			return cli_usage(a->verb, "unknown flag '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage(
			a->verb,
			"unexpected argument '%s' (gc sweeps the whole remote)",
			argv[optind]);
	return 0;
}

int cli_gc(int argc, char **argv, mode_t um)
{
	struct cli_args a;
	struct gc_policy p;
	struct gc_ctx ctx = { 0 };
	struct remote_sweep_opts so = { .prefix = "artifacts/",
					.threads = CLI_HEAD_THREADS,
					.decide = policy_decide,
					.report = report,
					.ctx = &ctx };
	struct remote_error err = { { 0 } };
	struct remote *r = NULL;
	uint64_t bytes = 0;
	size_t count = 0, uploads = 0;
	const char *policy;
	const char *age_text = "24h";
	int64_t upload_age = REMOTE_UPLOAD_MAX_AGE;
	char freed[32];
	int dry_run, rc;

	(void)um; /* only pull and push create files */
	memset(&p, 0, sizeof(p));
	rc = gc_parse(argc, argv, &a, &dry_run, &policy, &age_text);
	if (rc)
		return rc > 0 ? 0 : 1;
	if (store_duration_parse(age_text, &upload_age) != 0 ||
	    upload_age == STORE_NEVER) {
		cli_usage(a.verb, "bad --uploads-older-than '%s' (try 24h, 2d)",
			  age_text);
		return 1;
	}
	if (policy) {
		rc = policy_load(&a, policy, &p);
		if (rc)
			goto out;
	}
	rc = cli_open_remote(&a, &r);
	if (rc)
		goto out;
	ctx.p = &p;
	ctx.now = (int64_t)time(NULL);
	ctx.dry_run = dry_run;
	so.now = ctx.now;
	so.dry_run = dry_run;
	rc = remote_sweep(r, &so, &count, &bytes, &err);
	if (rc == 0 && ctx.oom)
		rc = -ENOMEM;
	if (rc == 0)
		rc = remote_sweep_uploads(r, "artifacts/", ctx.now, upload_age,
					  dry_run, report, &ctx, &uploads,
					  &err);
	if (rc) {
		cli_fail(&a, "%s", cli_errmsg(&err, rc));
		goto out;
	}
	store_size_format(bytes, freed, sizeof(freed));
	if (dry_run)
		printf("Would delete %zu expired artifact%s, freeing %s.\n",
		       count, count == 1 ? "" : "s", freed);
	else
		printf("Deleted %zu expired artifact%s, freed %s.\n", count,
		       count == 1 ? "" : "s", freed);
	if (uploads)
		printf("%s %zu unfinished upload%s older than %s.\n",
		       dry_run ? "Would abort" : "Aborted", uploads,
		       uploads == 1 ? "" : "s", age_text);
out:
	policy_free(&p);
	remote_close(r);
	return rc ? 1 : 0;
}
