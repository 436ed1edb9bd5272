/*
 * xfer.h - whole-file transfers on top of remote.h, in parallel.
 *
 * remote_put_file() stores a local file as one object: a single PUT when it
 * is small, else a multipart upload whose parts go out on several threads at
 * once; on any failure the upload is aborted, so nothing half-written is ever
 * visible.  remote_get_file() fetches an object into a local fd with parallel
 * ranged GETs, each pinned to the ETag it started with (a changing object
 * fails with -ESTALE instead of mixing versions).  remote_copy_object() is a
 * server-side copy of any size (part-copy above REMOTE_PUT_MAX).
 *
 * The pool (struct remote_pool) is a fixed set of worker threads running
 * queued jobs; the CLI uses it for many small files at once.
 *
 * Progress: when opts->progress is set it is called from worker threads
 * (serialise inside it) with the number of bytes just moved.
 */
#ifndef ARTIFACTFS_REMOTE_XFER_H
#define ARTIFACTFS_REMOTE_XFER_H

#include "digest.h"
#include "remote.h"

struct remote_xfer_opts {
	unsigned threads;      /* parallel requests per file; 0: 8 */
	uint64_t part_size;    /* multipart part / ranged-GET size; 0: 8 MiB */
	uint64_t single_limit; /* below this size a single PUT; 0: 16 MiB */
	void (*progress)(void *ctx, uint64_t bytes);
	void *progress_ctx;
};

/* Store size bytes of fd (read with pread from 0) as key.  etag_out
 * (REMOTE_ETAG_MAX, or NULL) receives the new ETag. */
int remote_put_file(struct remote *r, const char *key, int fd, uint64_t size,
		    const struct remote_put_opts *put,
		    const struct remote_xfer_opts *opts, char *etag_out,
		    struct remote_error *err);

/* Write the whole object `key` (as described by st, from remote_head) into
 * fd at offset 0 with pwrite.  Does not truncate or fsync fd. */
int remote_get_file(struct remote *r, const char *key,
		    const struct remote_stat *st, int fd,
		    const struct remote_xfer_opts *opts,
		    struct remote_error *err);
/* The same, and hex receives the SHA-256 of what was written, computed
 * while downloading (pieces are hashed in order as they complete, read
 * back from the page cache when they finish out of order), so checking a
 * download costs little time after its last byte. */
int remote_get_file_sha256(struct remote *r, const char *key,
			   const struct remote_stat *st, int fd,
			   const struct remote_xfer_opts *opts,
			   char hex[DIGEST_SHA256_HEX],
			   struct remote_error *err);

/* Server-side copy of src (size bytes) to dst of any size; replace as in
 * remote_copy(). */
int remote_copy_object(struct remote *r, const char *src, const char *dst,
		       uint64_t size, const struct remote_put_opts *replace,
		       struct remote_error *err);

/* Every object under prefix, all pages of a flat listing gathered into
 * one struct remote_list (no prefixes, no next_token).  Free with
 * remote_list_clear(). */
int remote_list_all(struct remote *r, const char *prefix,
		    struct remote_list *out, struct remote_error *err);

/* Delete every key under prefix (a listing followed by batch deletes).
 * *deleted (may be NULL) receives how many keys went. */
int remote_delete_prefix(struct remote *r, const char *prefix, size_t *deleted,
			 struct remote_error *err);

struct remote_pool;
/* A pool of n worker threads (n >= 1).  NULL on allocation failure. */
struct remote_pool *remote_pool_new(unsigned n);
/* Queue fn(arg); it runs on some worker.  -ENOMEM on failure. */
int remote_pool_submit(struct remote_pool *p, void (*fn)(void *arg), void *arg);
/* Wait until every queued job has finished. */
void remote_pool_wait(struct remote_pool *p);
/* Wait, then stop the workers and free the pool.  NULL is fine. */
void remote_pool_free(struct remote_pool *p);

#endif
