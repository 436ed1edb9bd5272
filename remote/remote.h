/*
 * remote.h - the object-store interface.
 *
 * A struct remote is one open object store: a local or network directory
 * (file://DIR) or an S3-compatible bucket (s3://bucket[/prefix]).  Everything
 * above remote/ talks to it through the remote_*() wrappers declared here and
 * never learns which backend it has.  A new backend is one new file that
 * fills a `static const struct remote_ops` and embeds struct remote first in
 * its own struct (see remote_int.h).
 *
 * Keys.  Callers pass keys relative to the store's prefix
 * ("artifacts/jobs/ID/a.log"); the wrappers prepend the URL's prefix and strip
 * it from listings, so a prefix is invisible above this layer.  A key, with
 * the prefix, longer than REMOTE_KEY_MAX bytes fails with -ENAMETOOLONG.
 *
 * Errors.  Every function returns 0 or a negative errno.  When `err` is not
 * NULL it receives one sentence for a user ("access denied by the S3 server
 * (check AWS_SECRET_ACCESS_KEY)"), never a secret.  Mapping, once per backend:
 *   -ENOENT   no such key / bucket        -EACCES  denied (401/403)
 *   -EEXIST   conditional create lost     -EIO     server error after retries
 *   -ENOTSUP  feature the server lacks    -ETIMEDOUT, -ECONNREFUSED,
 *   -EHOSTUNREACH  network                -ENOSPC, -EDQUOT, -EFBIG  storage
 *
 * Threads.  Every operation is safe to call from many threads at once on one
 * struct remote; backends keep their own locks and never call back up.
 */
#ifndef ARTIFACTFS_REMOTE_H
#define ARTIFACTFS_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define REMOTE_KEY_MAX	  1024
#define REMOTE_ETAG_MAX	  128
#define REMOTE_ERRMSG_MAX 384
/* S3's limits on multipart uploads. */
#define REMOTE_PART_MIN	 (5u * 1024 * 1024)
#define REMOTE_PARTS_MAX 10000
#define REMOTE_PUT_MAX	 (5ull * 1024 * 1024 * 1024)

/* One human-readable reason for the last failure. */
struct remote_error {
	char msg[REMOTE_ERRMSG_MAX];
};

/* Record a message in err (NULL is fine) and return rc, so a failure path
 * reads `return remote_error_set(err, -EIO, "...", ...)`.  Keeps the first
 * message already set unless it is empty, so the deepest reason wins. */
int remote_error_set(struct remote_error *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* User metadata of an object: x-amz-meta-NAME pairs, NAME lower case and
 * without the "x-amz-meta-" prefix.  Owns its strings. */
struct remote_kv {
	char *name;
	char *value;
};
struct remote_meta {
	struct remote_kv *kv;
	size_t n;
};
/* Set (replace or add) name=value; copies both.  -ENOMEM on failure. */
int remote_meta_set(struct remote_meta *m, const char *name, const char *value);
/* Borrowed pointer to the value of name, or NULL. */
const char *remote_meta_get(const struct remote_meta *m, const char *name);
int remote_meta_remove(struct remote_meta *m, const char *name);
int remote_meta_copy(struct remote_meta *dst, const struct remote_meta *src);
/* Free every pair; m is left empty and reusable.  NULL is fine. */
void remote_meta_clear(struct remote_meta *m);

/* What HEAD returns.  Free with remote_stat_clear(). */
struct remote_stat {
	uint64_t size;
	char etag[REMOTE_ETAG_MAX]; /* without surrounding quotes */
	struct timespec mtime;	    /* Last-Modified */
	char content_type[128];
	struct remote_meta meta;
};
void remote_stat_clear(struct remote_stat *st);

/* A request body: buf[0..len) when buf is set, else len bytes of fd read
 * with pread from off.  Bodies are re-readable so a retry can resend. */
struct remote_body {
	const void *buf;
	int fd;
	uint64_t off;
	uint64_t len;
};

struct remote_put_opts {
	const char *content_type;	/* NULL: application/octet-stream */
	const struct remote_meta *meta; /* NULL: none */
	int if_none_match;		/* create only; -EEXIST if key exists */
	/* remote_copy: only if the source's ETag is this one (S3's
	 * x-amz-copy-source-if-match), else -ESTALE.  Swift and AWS honour
	 * it; moto ignores it (the copy then happens anyway). */
	const char *if_match;
};

struct remote_list_entry {
	char *key; /* relative to the store prefix */
	uint64_t size;
	char etag[REMOTE_ETAG_MAX];
	struct timespec mtime;
};
struct remote_list_opts {
	const char *prefix;    /* NULL or "" lists everything */
	const char *delimiter; /* NULL: flat listing */
	const char *token;     /* continuation from a previous page, or NULL */
	const char *start_after; /* keys strictly after this, or NULL */
	unsigned max_keys;	 /* 0: backend default (1000) */
};
/* One page of a listing, keys in byte order (as S3).  Free with
 * remote_list_clear().  Validated by remote_list() before the caller sees
 * it (see there): every key and prefix is usable and in order. */
struct remote_list {
	struct remote_list_entry *entries;
	size_t n_entries;
	char **prefixes; /* common prefixes, ending with the delimiter */
	size_t n_prefixes;
	char *next_token; /* NULL when this is the last page */
	size_t n_skipped; /* answers dropped by validation (warned about) */
};
void remote_list_clear(struct remote_list *l);

struct remote_part {
	int number; /* 1..10000 */
	char etag[REMOTE_ETAG_MAX];
};

/* Capabilities learnt at open or on first use. */
#define REMOTE_CAP_CONDITIONAL_PUT 0x1 /* If-None-Match: * is atomic */

struct remote;

/* Connection settings.  Secrets are only ever copied, never printed. */
struct remote_config {
	char *url;	     /* file:///dir or s3://bucket[/prefix] */
	char *endpoint;	     /* S3 endpoint URL, or NULL for AWS */
	char *region;	     /* signing region */
	char *access_key;    /* NULL: anonymous */
	char *secret_key;    /* secret */
	char *session_token; /* secret; NULL if none */
	int debug;	     /* log each request (never headers) to stderr */
	int connect_timeout; /* seconds; 0: default 5 */
	int max_retries;     /* 0: default 12 (the deadline ends them) */
	double timeout;	     /* seconds one request may take while the
				server answers nothing, retries and all;
				0: default 20 (a moving transfer is never
				cut) */
};

/* Fill cfg from the environment as the README says ("Mounting"):
 * ARTIFACT_REMOTE (else file://$XDG_DATA_HOME/artifactfs), AWS_ENDPOINT_URL_S3,
 * AWS_ENDPOINT_URL, AWS_REGION, AWS_DEFAULT_REGION (else us-east-1),
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, else the
 * [AWS_PROFILE or default] section of $AWS_SHARED_CREDENTIALS_FILE or
 * ~/.aws/credentials.  Fields already set in cfg are kept (options win over
 * the environment).  cfg owns its strings; free with remote_config_clear(). */
int remote_config_resolve(struct remote_config *cfg, struct remote_error *err);
void remote_config_clear(struct remote_config *cfg);
/* Replace *field with a copy of value (NULL clears).  -ENOMEM on failure. */
int remote_config_set(char **field, const char *value);

/* Open the store cfg names.  Does not touch the network; call
 * remote_check() for that.  *out is freed with remote_close(). */
int remote_open(const struct remote_config *cfg, struct remote **out,
		struct remote_error *err);
void remote_close(struct remote *r);
/* A printable name for the store, with no secret ("s3://bucket/prefix at
 * http://127.0.0.1:9000").  Borrowed; lives as long as r. */
const char *remote_name(const struct remote *r);
unsigned remote_caps(const struct remote *r);
/* The longest key (relative to the store's prefix) this store takes:
 * REMOTE_KEY_MAX less the prefix's length. */
size_t remote_key_room(const struct remote *r);

/* Stop: every request in flight on r ends within about 100 ms, and every
 * later one fails at once, with -ECANCELED ("stopped: the mount is
 * shutting down").  Safe from any thread; cannot be undone. */
void remote_cancel(struct remote *r);
int remote_cancelled(const struct remote *r);

/* Prove the store works now: reachable, credentials accepted, bucket or
 * directory present and writable-looking.  One clear message on failure. */
int remote_check(struct remote *r, struct remote_error *err);

int remote_head(struct remote *r, const char *key, struct remote_stat *st,
		struct remote_error *err);
/* Read up to len bytes from off into buf; *got is how many (fewer at end of
 * object, 0 at or past it).  if_etag, when set, makes the read fail with
 * -ESTALE if the object changed. */
int remote_get(struct remote *r, const char *key, uint64_t off, size_t len,
	       void *buf, size_t *got, const char *if_etag,
	       struct remote_error *err);
/* Store body as key in one request (body->len <= REMOTE_PUT_MAX).
 * etag_out (REMOTE_ETAG_MAX bytes, or NULL) receives the new ETag.
 * opts->if_none_match on a server without conditional writes falls back to
 * HEAD-then-PUT (not atomic); see remote_caps(). */
int remote_put(struct remote *r, const char *key,
	       const struct remote_body *body,
	       const struct remote_put_opts *opts, char *etag_out,
	       struct remote_error *err);
/* Server-side copy of an object up to REMOTE_PUT_MAX bytes.  replace NULL
 * keeps the source's metadata and content type; else they are replaced by
 * replace->meta and replace->content_type.  src may equal dst (metadata
 * update in place). */
int remote_copy(struct remote *r, const char *src, const char *dst,
		const struct remote_put_opts *replace,
		struct remote_error *err);
/* Delete key; a missing key is success, as in S3. */
int remote_delete(struct remote *r, const char *key, struct remote_error *err);
/* Delete up to 1000 keys in one request.  Missing keys are success. */
int remote_delete_many(struct remote *r, const char *const *keys, size_t n,
		       struct remote_error *err);
/* One page of a listing; see struct remote_list.  The server's answer is
 * validated first: a key or prefix that does not start with the prefix
 * asked for, is longer than REMOTE_KEY_MAX, is not a usable key
 * (remote_key_valid), is not after opts->start_after, or does not come
 * strictly after the one before it (a duplicate) is dropped, counted in
 * out->n_skipped and warned about (remote_set_warn); the rest is served.
 * A continuation token equal to the one sent is -EIO: the listing would
 * never end. */
int remote_list(struct remote *r, const struct remote_list_opts *opts,
		struct remote_list *out, struct remote_error *err);
/* Every page of a listing, for each(page, ctx) in order.  each may move
 * entries out of the page (then set page->n_entries to 0); what is left
 * is freed after it returns.  Pagination must make progress:
 * a page whose keys do not all come after the previous page's, or more
 * than REMOTE_LIST_EMPTY_MAX empty pages in a row, is -EIO with err
 * saying so.  opts->token is ignored.  Stops at each's first non-zero
 * return, which it returns. */
#define REMOTE_LIST_EMPTY_MAX 100
int remote_list_pages(struct remote *r, const struct remote_list_opts *opts,
		      int (*each)(struct remote_list *page, void *ctx),
		      void *ctx, struct remote_error *err);

/* Whether key can name an object we address: not empty, at most
 * REMOTE_KEY_MAX bytes, and no empty, "." or ".." segment (so no leading
 * '/', no "//"), except that a directory marker's trailing '/' is fine.
 * Such keys are refused (-EINVAL) by every call that builds a request for
 * one, since a library or server may squash the dot segments and reach
 * another key.  1 if usable, 0 if not. */
int remote_key_valid(const char *key);
/* Where remote/ reports what it skipped (bad listing entries): fn(ctx,
 * message), one line without newline, control bytes escaped.  Default:
 * stderr, "artifactfs: warning: ".  Not thread-safe against calls in
 * flight: set it right after remote_open. */
void remote_set_warn(struct remote *r, void (*fn)(void *ctx, const char *msg),
		     void *ctx);
/* Copy s into out (size n, NUL-terminated, cut to fit) with every control
 * byte (< 0x20, 0x7f) written as \xNN, for terminals and logs; every other
 * byte (spaces, UTF-8) is copied as it is.  A backslash is not escaped, so
 * escaping twice changes nothing (and a name holding the four characters
 * "\x1b" prints as one holding ESC does).  4 * strlen(s) + 2 bytes always
 * suffice.  Returns out. */
char *remote_printable(const char *s, char *out, size_t n);

/* Multipart upload.  *upload_id is malloc'd; the caller frees it. */
int remote_mpu_create(struct remote *r, const char *key,
		      const struct remote_put_opts *opts, char **upload_id,
		      struct remote_error *err);
int remote_mpu_put_part(struct remote *r, const char *key,
			const char *upload_id, int part,
			const struct remote_body *body, char *etag_out,
			struct remote_error *err);
/* Part `part` is bytes [off, off+len) of the existing object src. */
int remote_mpu_copy_part(struct remote *r, const char *key,
			 const char *upload_id, int part, const char *src,
			 uint64_t off, uint64_t len, char *etag_out,
			 struct remote_error *err);
/* parts must be in ascending part-number order. */
int remote_mpu_complete(struct remote *r, const char *key,
			const char *upload_id, const struct remote_part *parts,
			size_t n, char *etag_out, struct remote_error *err);
int remote_mpu_abort(struct remote *r, const char *key, const char *upload_id,
		     struct remote_error *err);

/* An unfinished multipart upload: what a crash or a failed upload leaves
 * behind (its parts take space until it is aborted). */
struct remote_upload {
	char *key; /* relative to the store prefix */
	char *upload_id;
	int64_t initiated; /* seconds since the epoch; 0: unknown */
};
struct remote_uploads {
	struct remote_upload *v;
	size_t n;
};
void remote_uploads_clear(struct remote_uploads *u);
/* Every unfinished multipart upload whose key starts with prefix (all
 * pages; a server whose markers do not advance is -EIO).  Keys are
 * validated as listings are (remote_list): one outside the prefix or not
 * usable is skipped with a warning. */
int remote_mpu_list(struct remote *r, const char *prefix,
		    struct remote_uploads *out, struct remote_error *err);

#endif
