/*
 * store.h - the artifact key layout and the metadata codec, shared by the
 * mount (fs/) and the `artifact` command (cli/).
 *
 * Keys are exactly those of Semaphore's artifact CLI:
 *     artifacts/jobs/<job-id>/<path>
 *     artifacts/workflows/<workflow-id>/<path>
 *     artifacts/projects/<project-id>/<path>
 * with no leading slash (the remote adds any URL prefix).
 *
 * Object metadata (README, "Files"), as s3fs writes it:
 *     x-amz-meta-mode        decimal st_mode
 *     x-amz-meta-uid, -gid   decimal
 *     x-amz-meta-mtime       SECONDS[.NANOSECONDS]
 *     x-amz-meta-sha256      64 lower-case hex digits of the content
 *     x-amz-meta-expires-at  RFC 3339 UTC (2026-12-24T00:00:00Z)
 *
 * Everything here is pure: no I/O, no clock (callers pass `now`).
 */
#ifndef ARTIFACTFS_REMOTE_STORE_H
#define ARTIFACTFS_REMOTE_STORE_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "remote.h"

enum store_level {
	STORE_JOB = 0,
	STORE_WORKFLOW = 1,
	STORE_PROJECT = 2,
};
#define STORE_LEVELS 3

/* "job", "workflow", "project". */
const char *store_level_name(enum store_level level);
/* "jobs", "workflows", "projects" (the key segment). */
const char *store_level_dir(enum store_level level);
/* The SEMAPHORE_*_ID variable that names the level's default ID. */
const char *store_level_env(enum store_level level);
/* Parse "job"/"workflow"/"project"; -EINVAL otherwise. */
int store_level_parse(const char *s, enum store_level *level);

/* Strip what Semaphore's CLI strips from a destination: leading "/", "./"
 * and "../" (repeatedly).  Returns a pointer into s (borrowed). */
const char *store_path_trim(const char *s);

/* *out = "artifacts/<levels>/<id>/" + path (path may be "" or NULL for the
 * store's own prefix, which then ends in '/').  The id must be non-empty,
 * without '/' or control characters, and not "." or "..".  A non-empty path
 * must pass store_path_is_safe(path, 1).  -EINVAL on a bad id or path,
 * -ENAMETOOLONG when the key passes REMOTE_KEY_MAX, -ENOMEM.  Caller frees
 * *out. */
int store_key(enum store_level level, const char *id, const char *path,
	      char **out);

/* Whether a key remainder is a usable relative path: no empty segment (so no
 * leading '/', no "//"), no "." or ".." segment, no NUL.  A trailing '/' is
 * allowed when dir_ok (a directory marker).  1 if usable, 0 if not. */
int store_path_is_safe(const char *rel, int dir_ok);

/* Metadata decoded from an object.  has_* say which fields were present. */
struct store_meta {
	int has_mode, has_uid, has_gid, has_mtime, has_sha256, has_expires;
	int has_ctime, has_rdev;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
	struct timespec ctime; /* x-amz-meta-ctime, as s3fs keeps it */
	uint64_t rdev;	       /* x-amz-meta-rdev: a device node's number */
	char sha256[65];       /* hex, NUL-terminated */
	int64_t expires_at;    /* seconds since the epoch, UTC */
};

/* Read the fields above from m; a malformed value is ignored (has_* = 0),
 * as s3fs does, so a foreign object never becomes unreadable. */
void store_meta_decode(const struct remote_meta *m, struct store_meta *out);
/* Set in m every field with has_* set, replacing what m holds; fields
 * without has_* are removed from m.  -ENOMEM on failure. */
int store_meta_encode(const struct store_meta *sm, struct remote_meta *m);

/* Whether an object with this metadata has expired at time now. */
int store_meta_expired(const struct store_meta *sm, int64_t now);

/* RFC 3339 has four-digit years: the times it can name, in seconds since
 * the epoch, are 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
#define STORE_TIME_MIN (-62167219200LL)
#define STORE_TIME_MAX 253402300799LL

/* RFC 3339 UTC: "2026-12-24T00:00:00Z".  buf has at least 32 bytes.  ""
 * for a time outside the years 0000-9999. */
void store_time_format(int64_t t, char *buf, size_t len);
/* Parse RFC 3339 (Z or +hh:mm offset, optional fraction) to seconds since
 * the epoch.  A time outside [STORE_TIME_MIN, STORE_TIME_MAX] once its
 * offset is applied, or anything else: -EINVAL. */
int store_time_parse(const char *s, int64_t *t);
/* The same for the len bytes at s (not NUL-terminated, e.g. an xattr
 * value): a NUL among them is -EINVAL. */
int store_time_parsen(const char *s, size_t len, int64_t *t);

/* Parse a duration (README, "Expiry, through extended attributes"): "never" gives *seconds =
 * STORE_NEVER; Semaphore's "2w", "30d", "1m" (30 days), "1y"; GitLab's
 * "3 mins 4 sec", "2h20min", "47 yrs 6 mos and 4d"; a bare number is
 * seconds.  Case-insensitive.  Zero, garbage, and overflow: a total past
 * STORE_DURATION_MAX, which no expiry could end within, is -EINVAL.  The
 * full grammar and where it departs from GitLab is at the top of
 * duration.c. */
#define STORE_NEVER	   INT64_MAX
#define STORE_DURATION_MAX STORE_TIME_MAX
int store_duration_parse(const char *s, int64_t *seconds);
/* The same for the len bytes at s (not NUL-terminated, e.g. an xattr
 * value): a NUL among them is -EINVAL. */
int store_duration_parsen(const char *s, size_t len, int64_t *seconds);

/* The expiry dur seconds (a parsed duration) after now: *at = now + dur,
 * or 0 (no expiry) when dur is STORE_NEVER.  -EINVAL, *at untouched, when
 * dur is not positive or the expiry would pass STORE_TIME_MAX
 * (9999-12-31T23:59:59Z, the last time x-amz-meta-expires-at can hold). */
int store_expiry_after(int64_t now, int64_t dur, int64_t *at);

/* Parse a size: "512M", "10G", "4k", "1048576", "1MiB".  K, M, G, T, P, E
 * (either case) are powers of 1024, with an optional "B" or "iB" ("1MB" =
 * "1MiB" = "1M"); "B" alone or no unit is bytes.  Whole numbers only.
 * -EINVAL on garbage or overflow. */
int store_size_parse(const char *s, uint64_t *bytes);

/* "1.2 MiB" style, for messages (go-humanize's IBytes: "512 B", "1.0 KiB",
 * "1.2 MiB", "82 MiB").  buf has at least 32 bytes. */
void store_size_format(uint64_t bytes, char *buf, size_t len);

#endif
