/*
 * sweep.h - deleting expired artifacts: the core shared by the mount's
 * periodic sweeper and `artifact gc`.
 *
 * remote_sweep() lists every key under a prefix (page by page, any number
 * of keys), asks the caller's `decide` about each listed object (retention
 * rules that need only the listing: key, size, Last-Modified), HEADs the
 * undecided ones in parallel to read x-amz-meta-expires-at, and deletes
 * the doomed keys of each page with one batch delete.  With dry_run nothing
 * is deleted, but `report` still names what would go.
 */
#ifndef ARTIFACTFS_REMOTE_SWEEP_H
#define ARTIFACTFS_REMOTE_SWEEP_H

#include "remote.h"

enum remote_sweep_verdict {
	REMOTE_SWEEP_KEEP = 0,
	REMOTE_SWEEP_DELETE = 1,
	REMOTE_SWEEP_CHECK = 2, /* HEAD it; delete if its expiry passed */
};

struct remote_sweep_opts {
	const char *prefix; /* what to sweep, e.g. "artifacts/" */
	int64_t now;	    /* the clock, seconds since the epoch */
	int dry_run;
	unsigned threads; /* parallel HEADs; 0: 16 */
	/* NULL: every object is REMOTE_SWEEP_CHECK.  Called from the
	 * sweeping thread only. */
	enum remote_sweep_verdict (*decide)(void *ctx,
					    const struct remote_list_entry *e);
	/* Called once per deleted (or, dry run, doomed) key, from the
	 * sweeping thread.  why: "expired" or "policy".  May be NULL. */
	void (*report)(void *ctx, const char *key, uint64_t size,
		       const char *why);
	void *ctx;
};

/* Sweep opts->prefix.  *count and *bytes (may be NULL) receive how many
 * objects and bytes went (or would go).  Returns 0 or the first -errno
 * (listing, HEAD or delete); keys already handled stay handled. */
int remote_sweep(struct remote *r, const struct remote_sweep_opts *opts,
		 size_t *count, uint64_t *bytes, struct remote_error *err);

/* Abort the unfinished multipart uploads under prefix that were started
 * (the server's Initiated time) at least max_age seconds before now: what
 * a crash or a failed upload leaves behind.  With dry_run nothing is
 * aborted.  report (may be NULL) is called per upload, why "unfinished
 * upload"; *count (may be NULL) gets how many.  0 or the first -errno
 * (listing, abort).  Note: moto reports every upload as started in 2010,
 * so there any max_age aborts everything unfinished. */
#define REMOTE_UPLOAD_MAX_AGE (24 * 3600) /* the default threshold */
int remote_sweep_uploads(struct remote *r, const char *prefix, int64_t now,
			 int64_t max_age, int dry_run,
			 void (*report)(void *ctx, const char *key,
					uint64_t size, const char *why),
			 void *ctx, size_t *count, struct remote_error *err);

#endif
