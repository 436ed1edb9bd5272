/*
 * cli.h - the pieces of the `artifact` command shared by its verbs.
 *
 * Each verb (push, pull, yank, list, gc) lives in its own file and has one entry
 * point, cli_VERB(argc, argv), called with argv[0] being the verb, and
 * returning the process exit status (0, or 1 after printing one line to
 * stderr).  Argument parsing, ID resolution, opening the remote, the
 * paged listing, the expiry-aware HEAD and the progress bar are shared
 * here.  Nothing here keeps global state: what a verb needs travels in
 * struct cli_args.
 */
#ifndef ARTIFACTFS_CLI_H
#define ARTIFACTFS_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "remote.h"
#include "store.h"
#include "xfer.h"

/* Flags a verb accepts besides the ID flags, --verbose and --help. */
#define CLI_OPT_DEST 0x1u
#define CLI_OPT_FORCE 0x2u
#define CLI_OPT_EXPIRE 0x4u
#define CLI_OPT_JSON 0x8u
#define CLI_OPT_SAME_OWNER 0x10u

/* Threads for many files at once, and per file for a single big one. */
#define CLI_FILE_THREADS 8u
#define CLI_PART_THREADS_SINGLE 8u
#define CLI_PART_THREADS_MANY 2u
/* Pulling one file: fewer, larger ranged GETs.  A GET's fixed cost adds up
 * over 8 MiB ranges on a busy server (1 GiB from loopback Swift: 5.5 s with
 * 8 x 8 MiB in flight, 3.6 s with 4 x 64 MiB); 256 MiB of buffers. */
#define CLI_GET_RANGE (64u << 20)
#define CLI_GET_THREADS 4u
/* Parallel HEADs (list's expiry check, gc's sweep): small requests, so
 * more of them in flight than transfers. */
#define CLI_HEAD_THREADS 16u

/* What a verb describes about itself for parsing and help. */
struct cli_verb {
	const char *name;    /* "push" */
	const char *gerund;  /* "pushing", for "Error pushing artifact: ..." */
	const char *arg;     /* "SRC", "PATH", "[PATH]" */
	const char *summary; /* one line */
	unsigned opts;       /* CLI_OPT_* */
	int path_required;   /* 1: the positional after LEVEL is required */
	const char *fail;    /* NULL: errors read "Error GERUND artifact: ";
			      * else "FAIL: " (gc, which has no one artifact) */
};

/* The parsed command line.  Strings are borrowed from argv/environ. */
struct cli_args {
	const struct cli_verb *verb;
	enum store_level level;
	const char *path;      /* SRC or PATH, NULL when absent */
	const char *dest;      /* -d, NULL when absent */
	const char *expire_in; /* -e, NULL when absent */
	const char *id;        /* from the flag, else the environment */
	int force;
	int json;
	int same_owner; /* pull --same-owner: restore x-amz-meta-uid/gid */
	int verbose;
};

/* Parse argv (argv[0] is the verb) into a.  Returns 0 to go on, 1 when
 * --help was printed (exit 0), -EINVAL after printing a usage error. */
int cli_parse(int argc, char **argv, const struct cli_verb *verb,
	      struct cli_args *a);
/* One usage error on stderr ("artifact VERB: MESSAGE; see 'artifact VERB
 * --help'"), escaped as cli_line(); returns -EINVAL. */
int cli_usage(const struct cli_verb *verb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print a verb's help to stdout. */
void cli_verb_help(const struct cli_verb *verb);

/* Print the formatted text to f as one line (a newline is added), every
 * control byte in it escaped by remote_printable(): names come from keys
 * and local paths anyone may have written, and must not drive the
 * terminal (README, "Security").  Every line of the command that can
 * carry a name goes through here (or cli_fail, cli_usage). */
void cli_line(FILE *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "Error VERBing artifact: MESSAGE" (or the verb's own `fail` prefix)
 * to stderr as one line, escaped as cli_line(). */
void cli_fail(const struct cli_args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The message in err, or strerror(-rc) when err is empty.  Borrowed. */
const char *cli_errmsg(const struct remote_error *err, int rc);

/* Resolve the configuration and open the remote.  Prints the failure and
 * returns -errno; on success *out is closed with remote_close(). */
int cli_open_remote(const struct cli_args *a, struct remote **out);

/* The key of rel in the store a names ("artifacts/jobs/ID/rel").  Prints
 * the failure (bad ID, name too long).  Caller frees *out. */
int cli_key(const struct cli_args *a, const char *rel, char **out);

/* Clean a store path given by the user: strip leading "/", "./", "../"
 * (store_path_trim), collapse "//" and "./" segments, drop trailing '/'.
 * The result may be "" (the store's root).  Caller frees *out.  -ENOMEM. */
int cli_clean_path(const char *in, char **out);

/* The artifact a->path names: its cleaned store path ("" when a->path is
 * absent) into *src, its key into *key and, unless prefix is NULL, the key
 * prefix of everything under it into *prefix (as cli_dir_key()).  The path
 * must be safe, and not "" (the store's root) unless root_ok.  Prints the
 * failure; -ENOMEM, -EINVAL, or cli_key()'s.  The caller frees all three,
 * also after a failure. */
int cli_artifact_keys(const struct cli_args *a, int root_ok, char **src,
		      char **key, char **prefix);

/* The key prefix of everything under the store path rel ("rel/", or the
 * store's root for "").  Prints the failure, as cli_key().  Caller frees
 * *out. */
int cli_dir_key(const struct cli_args *a, const char *rel, char **out);

/* Transfer options from the environment: ARTIFACT_PART_SIZE (part size
 * and single-PUT limit, e.g. "5M").  threads as given. */
void cli_xfer_opts(struct remote_xfer_opts *o, unsigned threads);

/* HEAD key into *st (the caller clears it, whatever the result): 0 when
 * it exists and has not expired at now, -ENOENT when missing or expired,
 * else the HEAD's -errno with its message in err.  Prints nothing. */
int cli_head_live(struct remote *r, const char *key, int64_t now,
		  struct remote_stat *st, struct remote_error *err);

/* Call each(page, ctx) for every page of the listing of prefix (with
 * delimiter, or NULL for a flat listing).  Prints a listing failure; a
 * nonzero return of each (which prints its own) stops and is returned. */
int cli_list_pages(const struct cli_args *a, struct remote *r,
		   const char *prefix, const char *delimiter,
		   int (*each)(const struct remote_list *page, void *ctx),
		   void *ctx);

/* The progress bar on stderr: shown only when stderr is a terminal and the
 * transfer has run for about two seconds.  cli_progress_start() returns
 * NULL when no bar can be shown (callers pass NULL on unchanged);
 * cli_progress_add() has the xfer progress signature and is thread-safe. */
struct cli_progress;
struct cli_progress *cli_progress_start(uint64_t total);
void cli_progress_add(void *ctx, uint64_t bytes);
void cli_progress_stop(struct cli_progress *p);

/* cli_xfer_opts() with the part threads for n_files files, and the
 * progress bar for total bytes started and wired into o.  Returns the bar
 * (NULL when none) for cli_progress_stop(). */
struct cli_progress *cli_xfer_start(struct remote_xfer_opts *o,
				    size_t n_files, uint64_t total);

/* Verbs. */
int cli_push(int argc, char **argv, mode_t um);
int cli_pull(int argc, char **argv, mode_t um);
int cli_yank(int argc, char **argv, mode_t um);
int cli_list(int argc, char **argv, mode_t um);
int cli_gc(int argc, char **argv, mode_t um);

extern const struct cli_verb cli_verb_push;
extern const struct cli_verb cli_verb_pull;
extern const struct cli_verb cli_verb_yank;
extern const struct cli_verb cli_verb_list;
extern const struct cli_verb cli_verb_gc;

#endif
