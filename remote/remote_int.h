/*
 * remote_int.h - what a backend implements.  Private to remote/.
 *
 * A backend embeds struct remote as the FIRST member of its own struct, fills
 * a `static const struct remote_ops` with designated initialisers and offers
 * one constructor that remote_open() calls.  The wrappers in remote.c have
 * already prepended the store prefix to every key the ops see, checked the
 * key length, and will strip the prefix from listings; ops deal in full keys.
 * Ops follow the contracts written over the wrappers in remote.h.
 */
#ifndef ARTIFACTFS_REMOTE_INT_H
#define ARTIFACTFS_REMOTE_INT_H

#include "remote.h"

struct remote_ops {
	const char *scheme;
	int (*check)(struct remote *r, struct remote_error *err);
	int (*head)(struct remote *r, const char *key, struct remote_stat *st,
		    struct remote_error *err);
	int (*get)(struct remote *r, const char *key, uint64_t off, size_t len,
		   void *buf, size_t *got, const char *if_etag,
		   struct remote_error *err);
	int (*put)(struct remote *r, const char *key,
		   const struct remote_body *body,
		   const struct remote_put_opts *opts, char *etag_out,
		   struct remote_error *err);
	int (*copy)(struct remote *r, const char *src, const char *dst,
		    const struct remote_put_opts *replace,
		    struct remote_error *err);
	int (*del)(struct remote *r, const char *key, struct remote_error *err);
	int (*del_many)(struct remote *r, const char *const *keys, size_t n,
			struct remote_error *err);
	int (*list)(struct remote *r, const struct remote_list_opts *opts,
		    struct remote_list *out, struct remote_error *err);
	int (*mpu_create)(struct remote *r, const char *key,
			  const struct remote_put_opts *opts, char **upload_id,
			  struct remote_error *err);
	int (*mpu_put_part)(struct remote *r, const char *key,
			    const char *upload_id, int part,
			    const struct remote_body *body, char *etag_out,
			    struct remote_error *err);
	int (*mpu_copy_part)(struct remote *r, const char *key,
			     const char *upload_id, int part, const char *src,
			     uint64_t off, uint64_t len, char *etag_out,
			     struct remote_error *err);
	int (*mpu_complete)(struct remote *r, const char *key,
			    const char *upload_id,
			    const struct remote_part *parts, size_t n,
			    char *etag_out, struct remote_error *err);
	int (*mpu_abort)(struct remote *r, const char *key,
			 const char *upload_id, struct remote_error *err);
	/* Every upload under the full prefix, full keys (the wrapper
	 * validates and strips). */
	int (*mpu_list)(struct remote *r, const char *prefix,
			struct remote_uploads *out, struct remote_error *err);
	void (*destroy)(struct remote *r);
	/* Optional: pass remote_cancel on to what the backend wraps. */
	void (*cancel)(struct remote *r);
};

struct remote {
	const struct remote_ops *ops;
	char *prefix;  /* "" or "some/prefix/"; immutable after open */
	char *name;    /* printable, secret-free; immutable after open */
	unsigned caps; /* REMOTE_CAP_*; atomic access (__atomic builtins) */
	int debug;     /* immutable after open */
	void (*warn)(void *ctx, const char *msg); /* remote_set_warn */
	void *warn_ctx;
	int cancelled; /* remote_cancel; atomic access */
};

/* Report one thing remote/ skipped, through r->warn. */
void remote_warn(struct remote *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Backend constructors, called by remote_open().  `path` is what follows the
 * scheme: the directory for file://, "bucket[/prefix]" for s3://.  On success
 * *out is a fully built backend with ->ops, ->prefix ("" or ending in '/'),
 * ->name and ->debug set; remote_close() calls ->destroy, which frees it all.
 */
int remote_file_open(const struct remote_config *cfg, const char *path,
		     struct remote **out, struct remote_error *err);
int remote_s3_open(const struct remote_config *cfg, const char *path,
		   struct remote **out, struct remote_error *err);

#endif
