/*
 * sigv4.h - AWS Signature Version 4 for S3, as pure functions.
 *
 * Nothing here touches the network, the clock or global state: the caller
 * passes the request's parts and the time, and gets back the Authorization
 * header value.  That is what lets the golden tests pin the clock and
 * compare against AWS's published examples.
 *
 * We sign ourselves rather than use CURLOPT_AWS_SIGV4 because libcurl 7.88
 * signs the query string exactly as given and does not canonicalize it; the
 * query builder here produces the one string that is both sent and signed.
 *
 * Ownership: every returned string is malloc'd and freed by the caller with
 * free().  Inputs are borrowed.
 */
#ifndef ARTIFACTFS_REMOTE_SIGV4_H
#define ARTIFACTFS_REMOTE_SIGV4_H

#include <stddef.h>
#include <time.h>

/* SHA-256 of the empty string, the payload hash of a body-less request. */
#define SIGV4_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* "20130524T000000Z" and its NUL. */
#define SIGV4_DATE_LEN 17

/* A name=value pair: a query parameter or a header. */
struct sigv4_pair {
	const char *name;
	const char *value; /* NULL is the same as "" */
};

/* Everything the signature covers. */
struct sigv4_request {
	const char *method;         /* "GET", "PUT", ... */
	const char *uri;            /* canonical URI, already percent-encoded */
	const char *query;          /* canonical query from sigv4_query(), or "" */
	const struct sigv4_pair *headers; /* headers to sign, any case/order */
	size_t n_headers;
	const char *payload_hash;   /* hex SHA-256 or SIGV4_UNSIGNED_PAYLOAD */
	const char *region;         /* "us-east-1" */
	const char *service;        /* "s3" */
	const char *access_key;
	const char *secret_key;
	time_t now;                 /* must match the x-amz-date header */
};

/* Percent-encode len bytes of s per RFC 3986: every byte except
 * A-Za-z0-9-._~ becomes %XX (upper-case hex); '/' is kept when keep_slash.
 * Returns a malloc'd string, or NULL on ENOMEM. */
char *sigv4_encode(const char *s, size_t len, int keep_slash);

/* The canonical query string of n parameters: names and values encoded
 * with sigv4_encode(), sorted by encoded name (then value), joined with '&',
 * '=' always present ("uploads=").  The same string goes into the URL and
 * the signature.  Returns malloc'd "" for n == 0, NULL on ENOMEM. */
char *sigv4_query(const struct sigv4_pair *params, size_t n);

/* x-amz-date for t: "YYYYMMDDTHHMMSSZ" (UTC). */
void sigv4_amz_date(time_t t, char out[SIGV4_DATE_LEN]);

/* The canonical request (for tests and debugging; holds no secret).
 * Malloc'd; NULL on ENOMEM or an invalid request. */
char *sigv4_canonical_request(const struct sigv4_request *req);

/* Sign req.  *auth receives the malloc'd Authorization header value
 * ("AWS4-HMAC-SHA256 Credential=...,SignedHeaders=...,Signature=...").
 * Returns 0, -ENOMEM, or -EINVAL when a required field is missing. */
int sigv4_sign(const struct sigv4_request *req, char **auth);

#endif
