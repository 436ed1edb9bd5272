/*
 * args.c - what every verb of `artifact` shares: the command line (flags may
 * come before or after the positional arguments, as with Semaphore's tool),
 * the store ID (flag, else SEMAPHORE_*_ID), opening the remote, store path
 * cleaning, the keys an artifact path names and the transfer knobs from the
 * environment.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const id_flag[STORE_LEVELS] = {
	[STORE_JOB] = "--job-id",
	[STORE_WORKFLOW] = "--workflow-id",
	[STORE_PROJECT] = "--project-id",
};

void cli_verb_help(const struct cli_verb *v)
{
	printf("Usage: artifact %s job|workflow|project %s [flags]\n\n%s\n\n"
	       "Flags:\n",
	       v->name, v->arg, v->summary);
	if (v->opts & CLI_OPT_DEST)
		printf("  -d, --destination PATH   %s\n",
		       !strcmp(v->name, "push")
			       ? "name in the store (default: the source's "
				 "name)"
			       : "local path (default: the artifact's name)");
	if (v->opts & CLI_OPT_FORCE)
		printf("  -f, --force              %s\n",
		       !strcmp(v->name, "push")
			       ? "overwrite what exists in the remote storage"
			       : "overwrite local files");
	if (v->opts & CLI_OPT_EXPIRE)
		printf("  -e, --expire-in DUR      delete the artifact after "
		       "DUR: never, 30d, 2w,\n"
		       "                           1m (30 days), 1y, 12h, \"2 "
		       "hrs 20 min\"...\n");
	if (v->opts & CLI_OPT_SAME_OWNER)
		printf("      --same-owner         give files the owner and "
		       "group stored with them,\n"
		       "                           as tar's --same-owner "
		       "(default: yours)\n");
	if (v->opts & CLI_OPT_JSON)
		printf("      --json               print a JSON array of name, "
		       "size, mtime, is_dir\n");
	printf("  -j, --job-id ID          job store ID (default: "
	       "$SEMAPHORE_JOB_ID)\n"
	       "  -w, --workflow-id ID     workflow store ID (default: "
	       "$SEMAPHORE_WORKFLOW_ID)\n"
	       "  -p, --project-id ID      project store ID (default: "
	       "$SEMAPHORE_PROJECT_ID)\n"
	       "  -v, --verbose            log each request to stderr\n"
	       "  -h, --help               show this help\n");
}

/* cli_line() with a va_list.  Out of memory, it says only that. */
static void line_v(FILE *f, const char *fmt, va_list ap)
{
	char *msg = NULL, *safe = NULL;
	size_t n;

	if (vasprintf(&msg, fmt, ap) < 0) {
		msg = NULL;
		goto nomem;
	}
	/* remote_printable() writes a byte as at most 4 and wants room for
	 * one escape more than it writes: nothing is cut. */
	n = strlen(msg) * 4 + 2;
	safe = malloc(n);
	if (!safe)
		goto nomem;
	remote_printable(msg, safe, n);
	fprintf(f, "%s\n", safe);
	goto out;
nomem:
	fputs("artifact: out of memory\n", f);
out:
	free(msg);
	free(safe);
}

void cli_line(FILE *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line_v(f, fmt, ap);
	va_end(ap);
}

void cli_fail(const struct cli_args *a, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg = NULL;
	if (a->verb->fail)
		cli_line(stderr, "%s: %s", a->verb->fail,
			 msg ? msg : "out of memory");
	else
		cli_line(stderr, "Error %s artifact: %s", a->verb->gerund,
			 msg ? msg : "out of memory");
	free(msg);
}

const char *cli_errmsg(const struct remote_error *err, int rc)
{
	if (err && err->msg[0])
		return err->msg;
	return strerror(rc < 0 ? -rc : rc);
}

int cli_usage(const struct cli_verb *v, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg = NULL;
	cli_line(stderr, "artifact %s: %s; see 'artifact %s --help'", v->name,
		 msg ? msg : "out of memory", v->name);
	free(msg);
	return -EINVAL;
}

/*
 * getopt_long over argv (argv[0] is the verb).  Every flag is known to
 * every verb so a misplaced one gets a clear message rather than "unknown
 * option".  Only the ID flag of the chosen level is accepted.
 */
int cli_parse(int argc, char **argv, const struct cli_verb *v,
	      struct cli_args *a)
{
	static const struct option longopts[] = {
		{ "destination", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'f' },
		{ "expire-in", required_argument, NULL, 'e' },
		{ "job-id", required_argument, NULL, 'j' },
		{ "workflow-id", required_argument, NULL, 'w' },
		{ "project-id", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'J' },
		{ "same-owner", no_argument, NULL, 'O' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ids[STORE_LEVELS] = { NULL, NULL, NULL };
	const char *env = NULL;
	int c, k, npos;

	memset(a, 0, sizeof(*a));
	a->verb = v;
	opterr = 0;
	optind = 1;
	for (;;) {
		c = getopt_long(argc, argv, ":d:fe:j:w:p:vh", longopts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'd':
			if (!(v->opts & CLI_OPT_DEST))
				return cli_usage(
					v, "--destination does not apply");
			a->dest = optarg;
			break;
		case 'f':
			if (!(v->opts & CLI_OPT_FORCE))
				return cli_usage(v, "--force does not apply");
			a->force = 1;
			break;
		case 'e':
			if (!(v->opts & CLI_OPT_EXPIRE))
				return cli_usage(v,
						 "--expire-in does not apply");
			a->expire_in = optarg;
			break;
		case 'J':
			if (!(v->opts & CLI_OPT_JSON))
				return cli_usage(v, "--json does not apply");
			a->json = 1;
			break;
		case 'O':
			if (!(v->opts & CLI_OPT_SAME_OWNER))
				return cli_usage(v,
						 "--same-owner does not apply");
			a->same_owner = 1;
			break;
		case 'j':
			ids[STORE_JOB] = optarg;
			break;
		case 'w':
			ids[STORE_WORKFLOW] = optarg;
			break;
		case 'p':
			ids[STORE_PROJECT] = optarg;
			break;
		case 'v':
			a->verbose = 1;
			break;
		case 'h':
			cli_verb_help(v);
			return 1;
		case ':':
			return cli_usage(v, "flag '%s' needs a value",
					 argv[optind - 1]);
		default:
			return cli_usage(v, "unknown flag '%s'",
					 argv[optind - 1]);
		}
	}

	npos = argc - optind;
	if (npos < 1)
		return cli_usage(
			v, "missing the level (job, workflow or project)");
	if (store_level_parse(argv[optind], &a->level))
		return cli_usage(
			v, "unknown level '%s' (job, workflow or project)",
			argv[optind]);
	if (npos >= 2)
		a->path = argv[optind + 1];
	if (npos > 2)
		return cli_usage(v, "unexpected argument '%s'",
				 argv[optind + 2]);
	if (v->path_required && !a->path)
		return cli_usage(v, "missing %s", v->arg);

	for (k = 0; k < STORE_LEVELS; k++) {
		if (ids[k] && k != (int)a->level)
			return cli_usage(v, "%s does not apply to %s artifacts",
					 id_flag[k],
					 store_level_name(a->level));
	}
	a->id = ids[a->level];
	if (!a->id || !a->id[0]) {
		env = getenv(store_level_env(a->level));
		a->id = env && env[0] ? env : NULL;
	}
	if (!a->id) {
		cli_fail(a,
			 "%s ID is not set. Please use the %s environment "
			 "variable or the %s parameter to configure it",
			 store_level_name(a->level), store_level_env(a->level),
			 id_flag[a->level]);
		return -EINVAL;
	}
	return 0;
}

/* remote_set_warn's callback: what remote/ skipped (bad listing answers),
 * one line on stderr. */
static void cli_warn(void *ctx, const char *msg)
{
	(void)ctx;
	cli_line(stderr, "artifact: warning: %s", msg);
}

/*
 * remote_config_resolve() then remote_open(); no request is made (the
 * first real request reports an unreachable server or bad credentials).
 */
int cli_open_remote(const struct cli_args *a, struct remote **out)
{
	struct remote_config cfg;
	struct remote_error err;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	memset(&err, 0, sizeof(err));
	*out = NULL;
	cfg.debug = a->verbose;
	rc = remote_config_resolve(&cfg, &err);
	if (rc) {
		cli_fail(a, "%s", cli_errmsg(&err, rc));
		goto out;
	}
	rc = remote_open(&cfg, out, &err);
	if (rc)
		cli_fail(a, "%s", cli_errmsg(&err, rc));
	else
		remote_set_warn(*out, cli_warn, NULL);
out:
	remote_config_clear(&cfg);
	return rc;
}

/* At most this many bytes of an ID or name are shown in a message. */
#define CLI_SHOW_MAX 64

int cli_key(const struct cli_args *a, const char *rel, char **out)
{
	int rc = store_key(a->level, a->id, rel, out);
	char *root = NULL;
	size_t len;

	if (rc == -ENAMETOOLONG) {
		/* Is it the ID, with no name at all?  Then say so: the
		 * name the user gave is not what is wrong. */
		if (store_key(a->level, a->id, "", &root) == -ENAMETOOLONG) {
			len = strlen(a->id);
			cli_fail(a,
				 "the %s ID '%.*s%s' (%zu bytes) is too long "
				 "for the remote storage",
				 store_level_name(a->level), CLI_SHOW_MAX,
				 a->id, len > CLI_SHOW_MAX ? "..." : "", len);
		} else {
			len = strlen(rel);
			cli_fail(
				a,
				"the name '%.*s%s' (%zu bytes) is too long for "
				"the remote storage",
				CLI_SHOW_MAX * 4, rel,
				len > CLI_SHOW_MAX * 4 ? "..." : "", len);
		}
		free(root);
	} else if (rc == -EINVAL) {
		cli_fail(a, "invalid %s ID '%s'", store_level_name(a->level),
			 a->id);
	} else if (rc) {
		cli_fail(a, "%s", strerror(-rc));
	}
	return rc;
}

/* Copy in to a new string keeping only non-empty segments other than ".";
 * ".." segments are kept so the caller's safety check sees and refuses
 * them. */
int cli_clean_path(const char *in, char **out)
{
	const char *s = store_path_trim(in);
	const char *seg;
	size_t len, n = 0;
	char *buf;

	*out = NULL;
	buf = malloc(strlen(s) + 1);
	if (!buf)
		return -ENOMEM;
	while (*s) {
		seg = s;
		while (*s && *s != '/')
			s++;
		len = (size_t)(s - seg);
		while (*s == '/')
			s++;
		if (len == 0 || (len == 1 && seg[0] == '.'))
			continue;
		if (n)
			buf[n++] = '/';
		memcpy(buf + n, seg, len);
		n += len;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

int cli_dir_key(const struct cli_args *a, const char *rel, char **out)
{
	size_t len = strlen(rel) + 2;
	char *dirrel = malloc(len);
	int rc;

	*out = NULL;
	if (!dirrel) {
		cli_fail(a, "out of memory");
		return -ENOMEM;
	}
	snprintf(dirrel, len, "%s%s", rel, rel[0] ? "/" : "");
	rc = cli_key(a, dirrel, out);
	free(dirrel);
	return rc;
}

int cli_artifact_keys(const struct cli_args *a, int root_ok, char **src,
		      char **key, char **prefix)
{
	int rc = cli_clean_path(a->path ? a->path : "", src);

	if (rc) {
		cli_fail(a, "out of memory");
		return rc;
	}
	if ((*src)[0] ? !store_path_is_safe(*src, 0) : !root_ok) {
		cli_fail(a, "'%s' does not name an artifact", a->path);
		return -EINVAL;
	}
	rc = cli_key(a, *src, key);
	if (!rc && prefix)
		rc = cli_dir_key(a, *src, prefix);
	return rc;
}

void cli_xfer_opts(struct remote_xfer_opts *o, unsigned threads)
{
	const char *ps = getenv("ARTIFACT_PART_SIZE");
	uint64_t v = 0;

	memset(o, 0, sizeof(*o));
	o->threads = threads;
	if (ps && ps[0] && !store_size_parse(ps, &v) && v) {
		o->part_size = v;
		o->single_limit = v;
	}
}
