/*
 * s3_int.h - the pure helpers of the s3:// backend, shared between its
 * files and exposed for unit tests.  Private to remote/.
 *
 * Nothing here does I/O: bucket-name rules, splitting "bucket[/prefix]",
 * parsing an endpoint URL, and the one mapping from an HTTP status, an S3
 * error code and a curl result to -errno (and whether to retry).
 */
#ifndef ARTIFACTFS_REMOTE_S3_INT_H
#define ARTIFACTFS_REMOTE_S3_INT_H

#include <curl/curl.h>

/* 1 if b is a bucket name we accept: 3 to 255 bytes of A-Za-z0-9 . _ -,
 * starting and ending with a letter or digit (S3's rules, loosened for
 * legacy and non-AWS buckets). */
int s3_bucket_valid(const char *b);

/* 1 if b can be a host-name label under TLS: 3 to 63 bytes of a-z 0-9 -,
 * no dots, no leading or trailing '-'.  Decides virtual-hosted style. */
int s3_bucket_dns_safe(const char *b);

/* Split "bucket[/prefix]" into malloc'd *bucket and *prefix, the prefix
 * normalised to "" or "a/b/" (empty segments dropped).  -EINVAL for an
 * invalid bucket name or a "." / ".." segment; -ENOMEM. */
int s3_split_path(const char *path, char **bucket, char **prefix);

/* An endpoint URL taken apart.  All malloc'd; free with
 * s3_endpoint_clear(). */
struct s3_endpoint {
	char *base; /* "http://127.0.0.1:9000": scheme and authority */
	char *host; /* "127.0.0.1:9000": the Host header, lower case */
	char *path; /* "" or "/some/base", no trailing '/' */
};

/* Parse "http[s]://[user@]host[:port][/path]".  User info, query and
 * fragment are dropped (never kept, so never printed).  -EINVAL for
 * another scheme or an empty host; -ENOMEM. */
int s3_endpoint_parse(const char *url, struct s3_endpoint *ep);
void s3_endpoint_clear(struct s3_endpoint *ep);

/* What a 412 means to the operation that got it. */
enum s3_on_412 {
	S3_412_EEXIST, /* a conditional create lost */
	S3_412_ESTALE, /* the object changed under a conditional read */
};

/* The one mapping to -errno.  cc != CURLE_OK wins (the request never got
 * an answer); then a known S3 error code; then the HTTP status. */
int s3_errno(long status, const char *code, CURLcode cc, enum s3_on_412 on412);

/* 1 if a request that ended this way may be tried again: 5xx, 429,
 * SlowDown, InternalError, and connection failures, resets and timeouts.
 * Never another 4xx. */
int s3_retryable(long status, const char *code, CURLcode cc);

#endif
