/*
 * s3.c - the s3:// backend: S3-compatible object stores over libcurl.
 *
 * Every operation builds a struct req (method, key, query, headers, body,
 * where the answer goes) and hands it to perform(), which signs it with our
 * own SigV4 signer (sigv4.c), runs it on a pooled curl handle, and retries
 * with full-jitter exponential backoff on 5xx, 429 and broken connections.
 * The operation then looks at the status and the body (s3_xml.c) and turns a
 * failure into -errno and one sentence through req_fail(), which uses the one
 * mapping in s3_errno().
 *
 * Addressing: path style (ENDPOINT/bucket/key) whenever an endpoint is
 * given; for AWS without one, virtual-hosted https://bucket.s3.REGION.
 * amazonaws.com, or path style when the bucket is not a DNS-safe label.
 *
 * Threads: any number at once.  The only shared mutable state is the pool
 * of curl handles (guarded by s3.lock; handles are reused so their
 * keep-alive connections are too) and base.caps (atomic).  No lock is held
 * while a request runs.  Secrets (secret key, session token, the
 * Authorization header) go into the signer and the header list only; no
 * message or debug line is built from them.
 */
#include "remote_int.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "digest.h"
#include "s3_int.h"
#include "s3_xml.h"
#include "sigv4.h"

#define S3_ERRBODY_MAX (64 * 1024)        /* error bodies we keep */
#define S3_XMLBODY_MAX (64 * 1024 * 1024) /* listings and results */
#define S3_MAX_HDRS 64                    /* extra headers per request */
#define S3_BACKOFF_BASE_MS 200
#define S3_BACKOFF_CAP_MS 5000
#define S3_LOW_SPEED_TIME 15 /* seconds below 1 byte/s = stalled */
#define S3_TIMEOUT 20	     /* default bound of one request, retries and
				all, while the server answers nothing */
#define S3_MAX_RETRIES 12    /* default: the deadline ends them first */
#define S3_REFUSED_RETRIES 4 /* retries of a refused connection */
#define S3_RANGE_LEN 64      /* "bytes=FIRST-LAST" and its NUL */

struct s3 {
	struct remote base; /* first: what remote.c sees */
	char *bucket;
	struct s3_endpoint ep; /* where requests go */
	int vhost;             /* bucket is in ep.host, not the path */
	char *region;
	char *access_key; /* NULL: anonymous, unsigned requests */
	char *secret_key; /* secret */
	char *token;      /* secret; NULL if none */
	long connect_timeout;
	int max_retries;
	double timeout; /* seconds: see S3_TIMEOUT */
	pthread_mutex_t lock; /* guards pool, n_pool, cap_pool */
	CURL **pool;          /* idle handles */
	size_t n_pool;
	size_t cap_pool;
};

/* One request and what came back.  Built on the stack by an operation,
 * cleaned with req_clear(). */
struct req {
	/* what to send */
	const char *method;                /* GET HEAD PUT POST DELETE */
	const char *key;                   /* full key, or NULL: the bucket */
	const struct sigv4_pair *query;    /* unencoded; perform() encodes */
	size_t n_query;
	struct sigv4_pair hdr[S3_MAX_HDRS]; /* extra headers, all signed */
	size_t n_hdr;
	char *hdr_own[S3_MAX_HDRS]; /* strings of hdr[] this req owns */
	size_t n_own;
	const struct remote_body *body; /* PUT/POST body, or NULL */
	int fast_fail;  /* no retry on network errors (check) */
	int err_in_200; /* a 200 may carry an <Error> body */
	/* where the answer goes */
	void *dst; /* GET: the caller's buffer ... */
	size_t dst_cap;
	size_t dst_len;
	uint64_t range_off; /* ... and the offset asked for */
	int want_meta;      /* keep x-amz-meta-* headers */
	/* what came back (reset for each attempt) */
	CURL *curl;
	long status;
	CURLcode cc;
	int local_rc;   /* a callback's own failure (-errno), or 0 */
	int dst_full;   /* stopped reading: the buffer is full */
	uint64_t skip;  /* body bytes still to drop (Range ignored) */
	int checked_range;
	uint64_t body_pos;
	char *resp; /* body when not into dst */
	size_t resp_len;
	size_t resp_cap;
	char etag[REMOTE_ETAG_MAX];
	char content_type[128];
	uint64_t content_length;
	time_t last_modified;
	struct remote_meta meta;
	struct s3_xml_error xerr; /* parsed <Error>, when there was one */
	int attempts;
	char curl_err[CURL_ERROR_SIZE];
	/* on_progress's stall detector, per attempt */
	const struct remote *owner;
	double stall;	   /* seconds without a byte moved = stalled */
	double last_move;  /* when bytes last moved (monotonic) */
	curl_off_t moved;  /* bytes up + down at last_move */
	int stalled;	   /* the detector ended the attempt */
};

/* Seconds on the monotonic clock. */
static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* curl's progress callback (about once a second, and on every chunk): a
 * cancelled remote stops every transfer, and an attempt in which no byte
 * moved, either way, for q->stall seconds is stalled (curl's own low-speed
 * check averages over the whole window, so an upload that went out at
 * once and then waits for an answer would get twice as long). */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		       curl_off_t un)
{
	struct req *q = ud;
	double now = mono_now();

	(void)dt;
	(void)ut;
	if (remote_cancelled(q->owner))
		return 1;
	if (dn + un != q->moved) {
		q->moved = dn + un;
		q->last_move = now;
	} else if (now - q->last_move > q->stall) {
		q->stalled = 1;
		return 1;
	}
	return 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	/* A failure here shows again as curl_easy_init() returning NULL. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- pure helpers (s3_int.h) ------------------------------------------- */

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

int s3_bucket_valid(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > 255 || !is_alnum(b[0]) || !is_alnum(b[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_alnum(b[i]) && b[i] != '.' && b[i] != '_' &&
		    b[i] != '-')
			return 0;
	}
	return 1;
}

int s3_bucket_dns_safe(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!((b[i] >= 'a' && b[i] <= 'z') ||
		      (b[i] >= '0' && b[i] <= '9') || b[i] == '-'))
			return 0;
	}
	return 1;
}

int s3_split_path(const char *path, char **bucket, char **prefix)
{
	const char *slash = strchr(path, '/');
	size_t blen = slash ? (size_t)(slash - path) : strlen(path);
	const char *p = slash ? slash + 1 : "";
	char *b = NULL;
	char *pre = NULL;
	size_t o = 0;
	int rc = 0;

	*bucket = NULL;
	*prefix = NULL;
	b = strndup(path, blen);
	pre = malloc(strlen(p) + 2);
	if (!b || !pre) {
		rc = -ENOMEM;
		goto out;
	}
	if (!s3_bucket_valid(b)) {
		rc = -EINVAL;
		goto out;
	}
	while (*p) {
		size_t n = strcspn(p, "/");

		if ((n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.')) {
			rc = -EINVAL;
			goto out;
		}
		if (n) {
			memcpy(pre + o, p, n);
			o += n;
			pre[o++] = '/';
		}
		p += n;
		if (*p == '/')
			p++;
	}
	pre[o] = '\0';
out:
	if (rc) {
		free(b);
		free(pre);
	} else {
		*bucket = b;
		*prefix = pre;
	}
	return rc;
}

void s3_endpoint_clear(struct s3_endpoint *ep)
{
	if (!ep)
		return;
	free(ep->base);
	free(ep->host);
	free(ep->path);
	memset(ep, 0, sizeof(*ep));
}

int s3_endpoint_parse(const char *url, struct s3_endpoint *ep)
{
	const char *scheme = NULL;
	const char *auth = NULL;
	const char *at = NULL;
	size_t alen;
	size_t plen;
	const char *path = NULL;
	int rc = 0;

	memset(ep, 0, sizeof(*ep));
	if (strncasecmp(url, "http://", 7) == 0) {
		scheme = "http://";
		auth = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		scheme = "https://";
		auth = url + 8;
	} else {
		return -EINVAL;
	}
	alen = strcspn(auth, "/?#");
	at = memchr(auth, '@', alen);
	if (at) {
		alen -= (size_t)(at + 1 - auth);
		auth = at + 1;
	}
	if (alen == 0)
		return -EINVAL;
	path = auth + alen;
	plen = *path == '/' ? strcspn(path, "?#") : 0;
	while (plen && path[plen - 1] == '/')
		plen--;
	ep->host = strndup(auth, alen);
	ep->path = strndup(path, plen);
	if (!ep->host || !ep->path ||
	    asprintf(&ep->base, "%s%s", scheme, ep->host) < 0) {
		ep->base = NULL;
		rc = -ENOMEM;
		goto out;
	}
	for (char *c = ep->host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (char *c = ep->base; *c; c++)
		*c = (char)tolower((unsigned char)*c);
out:
	if (rc)
		s3_endpoint_clear(ep);
	return rc;
}

int s3_errno(long status, const char *code, CURLcode cc, enum s3_on_412 on412)
{
	static const struct {
		const char *code;
		int err;
	} codes[] = {
		{"AccessDenied", -EACCES},
		{"InvalidAccessKeyId", -EACCES},
		{"SignatureDoesNotMatch", -EACCES},
		{"AllAccessDisabled", -EACCES},
		{"NoSuchKey", -ENOENT},
		{"NoSuchBucket", -ENOENT},
		{"NoSuchUpload", -ENOENT},
		{"EntityTooLarge", -EFBIG},
		{"QuotaExceeded", -EDQUOT},
		{"NotImplemented", -ENOTSUP},
		{"KeyTooLongError", -ENAMETOOLONG},
		{"RequestTimeout", -ETIMEDOUT},
		{"OperationAborted", -EBUSY},
		{"ConditionalRequestConflict", -EBUSY},
		{"InvalidPart", -EINVAL},
		{"InvalidPartOrder", -EINVAL},
		{"EntityTooSmall", -EINVAL},
		{"InvalidBucketName", -EINVAL},
	};

	switch (cc) {
	case CURLE_OK:
		break;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
	if (status == 412 || (code && strcmp(code, "PreconditionFailed") == 0))
		return on412 == S3_412_ESTALE ? -ESTALE : -EEXIST;
	for (size_t i = 0; code && i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (strcmp(code, codes[i].code) == 0)
			return codes[i].err;
	}
	switch (status) {
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 408:
		return -ETIMEDOUT;
	case 409:
		return -EBUSY;
	case 413:
		return -EFBIG;
	case 501:
		return -ENOTSUP;
	case 507:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

int s3_retryable(long status, const char *code, CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
	if (status >= 500 || status == 429)
		return status != 501; /* NotImplemented will not change */
	if (code && (strcmp(code, "SlowDown") == 0 ||
		     strcmp(code, "InternalError") == 0))
		return 1;
	return 0;
}

/* ---- the curl handle pool ---------------------------------------------- */

/* An idle handle from the pool, or a new one.  NULL on ENOMEM. */
static CURL *pool_get(struct s3 *s)
{
	CURL *c = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->n_pool)
		c = s->pool[--s->n_pool];
	pthread_mutex_unlock(&s->lock);
	if (!c)
		c = curl_easy_init();
	return c;
}

/* Give c back so its connection is reused; frees it if the pool cannot
 * grow. */
static void pool_put(struct s3 *s, CURL *c)
{
	int kept = 0;

	pthread_mutex_lock(&s->lock);
	if (s->n_pool == s->cap_pool) {
		size_t cap = s->cap_pool ? s->cap_pool * 2 : 8;
		CURL **p = realloc(s->pool, cap * sizeof(*p));

		if (p) {
			s->pool = p;
			s->cap_pool = cap;
		}
	}
	if (s->n_pool < s->cap_pool) {
		s->pool[s->n_pool++] = c;
		kept = 1;
	}
	pthread_mutex_unlock(&s->lock);
	if (!kept)
		curl_easy_cleanup(c);
}

/* ---- building a request ------------------------------------------------ */

static void req_clear(struct req *q)
{
	for (size_t i = 0; i < q->n_own; i++)
		free(q->hdr_own[i]);
	q->n_own = 0;
	free(q->resp);
	q->resp = NULL;
	remote_meta_clear(&q->meta);
}

/* Add header name: value to q, both borrowed.  -E2BIG past S3_MAX_HDRS. */
static int req_hdr(struct req *q, const char *name, const char *value)
{
	if (q->n_hdr == S3_MAX_HDRS)
		return -E2BIG;
	q->hdr[q->n_hdr].name = name;
	q->hdr[q->n_hdr].value = value;
	q->n_hdr++;
	return 0;
}

/* Make q own str (malloc'd, or NULL after a failed allocation): it is
 * freed by req_clear() whatever happens.  -ENOMEM for NULL, -E2BIG when q
 * cannot hold more (str is freed at once). */
static int req_own(struct req *q, char *str)
{
	if (!str)
		return -ENOMEM;
	if (q->n_own == S3_MAX_HDRS) {
		free(str);
		return -E2BIG;
	}
	q->hdr_own[q->n_own++] = str;
	return 0;
}

/* Content-Type and x-amz-meta-* headers of opts (may be NULL). */
static int req_put_opts(struct req *q, const struct remote_put_opts *opts)
{
	const char *ct = opts && opts->content_type ? opts->content_type
						    : "application/octet-stream";
	int rc = req_hdr(q, "Content-Type", ct);

	for (size_t i = 0; !rc && opts && opts->meta && i < opts->meta->n; i++) {
		const struct remote_kv *kv = &opts->meta->kv[i];
		char *name = NULL;

		/* A CR or LF would end the header early: refuse, never send. */
		if (strpbrk(kv->name, "\r\n:") || strpbrk(kv->value, "\r\n"))
			return -EINVAL;
		if (asprintf(&name, "x-amz-meta-%s", kv->name) < 0)
			name = NULL;
		rc = req_own(q, name);
		if (rc)
			return rc;
		for (char *c = name; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		rc = req_hdr(q, name, kv->value);
	}
	return rc;
}

/* Send xml[len] as q's body, "Content-Type: application/xml".  body is the
 * caller's, and it and xml must outlive q.  -E2BIG. */
static int req_xml_body(struct req *q, struct remote_body *body,
			const char *xml, size_t len)
{
	body->buf = xml;
	body->len = len;
	q->body = body;
	return req_hdr(q, "Content-Type", "application/xml");
}

/*
 * The one place a request path is made: the path of key (or of the bucket
 * when key is NULL) as sent and as signed, malloc'd.  Every byte of the
 * key outside RFC 3986's unreserved set is percent-encoded ('/' kept), and
 * curl sends it as it is (CURLOPT_PATH_AS_IS), so the signed bytes are the
 * sent bytes.  remote.c never lets a key with a "." or ".." segment get
 * here (remote_key_valid), so no server can resolve it to another key.
 * copy_source: the x-amz-copy-source form, "/bucket/key" whatever the
 * addressing style.
 */
static char *object_path(const struct s3 *s, const char *key, int copy_source)
{
	char *enc = NULL;
	char *uri = NULL;
	int n;

	if (key) {
		enc = sigv4_encode(key, strlen(key), 1);
		if (!enc)
			return NULL;
	}
	if (copy_source)
		n = asprintf(&uri, "/%s/%s", s->bucket, enc ? enc : "");
	else if (s->vhost)
		n = asprintf(&uri, "%s/%s", s->ep.path, enc ? enc : "");
	else if (key)
		n = asprintf(&uri, "%s/%s/%s", s->ep.path, s->bucket, enc);
	else
		n = asprintf(&uri, "%s/%s", s->ep.path, s->bucket);
	free(enc);
	return n < 0 ? NULL : uri;
}

/* ---- curl callbacks ---------------------------------------------------- */

/* Append n bytes to q->resp, keeping at most max; the rest is dropped. */
static int resp_append(struct req *q, const char *p, size_t n, size_t max)
{
	if (q->resp_len + n > max)
		n = max - q->resp_len;
	if (n == 0)
		return 0;
	if (q->resp_len + n + 1 > q->resp_cap) {
		size_t cap = q->resp_cap ? q->resp_cap : 4096;
		char *r = NULL;

		while (cap < q->resp_len + n + 1)
			cap *= 2;
		r = realloc(q->resp, cap);
		if (!r)
			return -ENOMEM;
		q->resp = r;
		q->resp_cap = cap;
	}
	memcpy(q->resp + q->resp_len, p, n);
	q->resp_len += n;
	q->resp[q->resp_len] = '\0';
	return 0;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct req *q = ud;
	size_t n = size * nmemb;
	long status = 0;

	curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, &status);
	if (q->dst && status >= 200 && status < 300) {
		size_t take;

		if (!q->checked_range) {
			/* 200 to a ranged GET: the server sent it all. */
			q->checked_range = 1;
			if (status == 200)
				q->skip = q->range_off;
		}
		if (q->skip) {
			size_t drop = q->skip < n ? (size_t)q->skip : n;

			q->skip -= drop;
			p += drop;
			n -= drop;
		}
		take = q->dst_cap - q->dst_len < n ? q->dst_cap - q->dst_len : n;
		memcpy((char *)q->dst + q->dst_len, p, take);
		q->dst_len += take;
		if (take < n) {
			q->dst_full = 1;
			return 0; /* stop the transfer; we have what we want */
		}
		return size * nmemb;
	}
	q->local_rc = resp_append(q, p, n,
				  status >= 200 && status < 300 ? S3_XMLBODY_MAX
								: S3_ERRBODY_MAX);
	return q->local_rc ? 0 : n;
}

/* Trimmed copy of a header value into out[size]. */
static void hdr_value(const char *v, size_t len, char *out, size_t size)
{
	while (len && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' ||
		       v[len - 1] == '\r' || v[len - 1] == '\n'))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(out, v, len);
	out[len] = '\0';
}

/* Forget the response headers recorded so far. */
static void resp_headers_clear(struct req *q)
{
	q->etag[0] = '\0';
	q->content_type[0] = '\0';
	q->content_length = 0;
	q->last_modified = 0;
	remote_meta_clear(&q->meta);
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct req *q = ud;
	size_t n = size * nmemb;
	const char *colon = memchr(p, ':', n);
	char val[1024];
	char name[256];
	size_t nlen;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new response (after a 100 Continue): forget the last. */
		resp_headers_clear(q);
		return n;
	}
	if (!colon)
		return n;
	/* A NUL would cut the value short ("2w\0junk" read as "2w"): such a
	 * header is junk, and ignored. */
	if (memchr(p, '\0', n))
		return n;
	nlen = (size_t)(colon - p);
	if (nlen == 0 || nlen >= sizeof(name))
		return n;
	for (size_t i = 0; i < nlen; i++)
		name[i] = (char)tolower((unsigned char)p[i]);
	name[nlen] = '\0';
	hdr_value(colon + 1, n - nlen - 1, val, sizeof(val));
	/* A CR or LF inside a value (a server may send one) could never be
	 * sent back in a header: junk, ignored, like a NUL. */
	if (strpbrk(val, "\r\n"))
		return n;
	if (strcmp(name, "etag") == 0) {
		s3_etag_unquote(val, strlen(val), q->etag);
	} else if (strcmp(name, "content-type") == 0) {
		hdr_value(val, strlen(val), q->content_type,
			  sizeof(q->content_type));
	} else if (strcmp(name, "content-length") == 0) {
		char *end = NULL;
		unsigned long long v;

		errno = 0;
		v = strtoull(val, &end, 10);
		if (!errno && end != val && !*end)
			q->content_length = v;
	} else if (strcmp(name, "last-modified") == 0) {
		q->last_modified = curl_getdate(val, NULL);
	} else if (q->want_meta && nlen > 11 &&
		   strncmp(name, "x-amz-meta-", 11) == 0) {
		if (remote_meta_set(&q->meta, name + 11, val)) {
			q->local_rc = -ENOMEM;
			return 0;
		}
	}
	return n;
}

static size_t on_read(char *p, size_t size, size_t nmemb, void *ud)
{
	struct req *q = ud;
	const struct remote_body *b = q->body;
	size_t want = size * nmemb;
	uint64_t left = b->len - q->body_pos;
	ssize_t got;

	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (b->buf) {
		memcpy(p, (const char *)b->buf + q->body_pos, want);
		q->body_pos += want;
		return want;
	}
	do {
		got = pread(b->fd, p, want, (off_t)(b->off + q->body_pos));
	} while (got < 0 && errno == EINTR);
	if (got <= 0) {
		q->local_rc = got < 0 ? -errno : -EIO;
		return CURL_READFUNC_ABORT;
	}
	q->body_pos += (uint64_t)got;
	return (size_t)got;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
	struct req *q = ud;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > q->body->len)
		return CURL_SEEKFUNC_CANTSEEK;
	q->body_pos = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

/* ---- running a request --------------------------------------------------- */

/* Append "name: value" to *list (an empty value as "name;", which is how
 * curl sends a header with nothing after the colon). */
static int add_header(struct curl_slist **list, const char *name,
		      const char *value)
{
	struct curl_slist *l = NULL;
	char *line = NULL;
	int n;

	if (value && *value)
		n = asprintf(&line, "%s: %s", name, value);
	else
		n = asprintf(&line, "%s;", name);
	if (n < 0)
		return -ENOMEM;
	l = curl_slist_append(*list, line);
	free(line);
	if (!l)
		return -ENOMEM;
	*list = l;
	return 0;
}

static int remove_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *l = curl_slist_append(*list, line);

	if (!l)
		return -ENOMEM;
	*list = l;
	return 0;
}

/* Reset what an earlier attempt left in q. */
static void req_reset_result(struct req *q)
{
	q->status = 0;
	q->cc = CURLE_OK;
	q->local_rc = 0;
	q->dst_len = 0;
	q->dst_full = 0;
	q->skip = 0;
	q->checked_range = 0;
	q->body_pos = 0;
	q->resp_len = 0;
	if (q->resp)
		q->resp[0] = '\0';
	resp_headers_clear(q);
	memset(&q->xerr, 0, sizeof(q->xerr));
	q->curl_err[0] = '\0';
}

/* One attempt: sign q at the current time, send it on a pooled handle,
 * record status or curl result in q.  Returns 0 when the exchange ran (any
 * status, or a network failure in q->cc), -errno for a local failure. */
static int attempt(struct s3 *s, struct req *q, const char *uri,
		   const char *url, const char *query, double left)
{
	char amz_date[SIGV4_DATE_LEN];
	const char *payload = q->body && q->body->len ? SIGV4_UNSIGNED_PAYLOAD
						      : SIGV4_EMPTY_SHA256;
	struct sigv4_pair sh[S3_MAX_HDRS + 4];
	struct curl_slist *hl = NULL;
	char *auth = NULL;
	time_t now = time(NULL);
	size_t nsh = 0;
	int has_ct = 0;
	int rc = 0;

	req_reset_result(q);
	sigv4_amz_date(now, amz_date);
	sh[nsh++] = (struct sigv4_pair){"Host", s->ep.host};
	sh[nsh++] = (struct sigv4_pair){"x-amz-date", amz_date};
	sh[nsh++] = (struct sigv4_pair){"x-amz-content-sha256", payload};
	if (s->token)
		sh[nsh++] = (struct sigv4_pair){"x-amz-security-token", s->token};
	for (size_t i = 0; i < q->n_hdr; i++) {
		sh[nsh++] = q->hdr[i];
		if (strcasecmp(q->hdr[i].name, "content-type") == 0)
			has_ct = 1;
	}
	for (size_t i = 0; i < nsh && !rc; i++)
		rc = add_header(&hl, sh[i].name, sh[i].value);
	if (!rc && s->access_key) {
		struct sigv4_request sr = {
			.method = q->method,
			.uri = uri,
			.query = query,
			.headers = sh,
			.n_headers = nsh,
			.payload_hash = payload,
			.region = s->region,
			.service = "s3",
			.access_key = s->access_key,
			.secret_key = s->secret_key,
			.now = now,
		};

		rc = sigv4_sign(&sr, &auth);
		if (!rc)
			rc = add_header(&hl, "Authorization", auth);
	}
	/* "Name:" removes a header curl would add: no "Expect:
	 * 100-continue" round trip, no form Content-Type on a POST. */
	if (!rc)
		rc = remove_header(&hl, "Expect:");
	if (!rc && !has_ct)
		rc = remove_header(&hl, "Content-Type:");
	if (rc)
		goto out;
	q->curl = pool_get(s);
	if (!q->curl) {
		rc = -ENOMEM;
		goto out;
	}
	curl_easy_reset(q->curl);
	curl_easy_setopt(q->curl, CURLOPT_URL, url);
	/* The path is what we signed: curl must not squash or re-encode. */
	curl_easy_setopt(q->curl, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(q->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(q->curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	/* A stalled server (nothing for LOW_SPEED_TIME seconds) ends the
	 * attempt, and no attempt outlives the request's deadline; a
	 * transfer that moves is never cut. */
	curl_easy_setopt(q->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(1000 * (left < (double)s->connect_timeout
						? left
						: (double)s->connect_timeout)));
	curl_easy_setopt(q->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(q->curl, CURLOPT_LOW_SPEED_TIME,
			 2L * S3_LOW_SPEED_TIME); /* a backstop: see on_progress */
	q->owner = &s->base;
	q->stall = left < S3_LOW_SPEED_TIME ? left : S3_LOW_SPEED_TIME;
	q->last_move = mono_now();
	q->moved = 0;
	q->stalled = 0;
	curl_easy_setopt(q->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(q->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(q->curl, CURLOPT_XFERINFODATA, q);
	curl_easy_setopt(q->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(q->curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(q->curl, CURLOPT_ERRORBUFFER, q->curl_err);
	curl_easy_setopt(q->curl, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(q->curl, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(q->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(q->curl, CURLOPT_HEADERDATA, q);
	if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(q->curl, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "PUT") == 0 ||
		   strcmp(q->method, "POST") == 0) {
		static const struct remote_body empty = {.fd = -1};

		if (!q->body)
			q->body = &empty;
		curl_easy_setopt(q->curl, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(q->curl, CURLOPT_READDATA, q);
		curl_easy_setopt(q->curl, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(q->curl, CURLOPT_SEEKDATA, q);
		if (q->method[1] == 'U') {
			curl_easy_setopt(q->curl, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(q->curl, CURLOPT_INFILESIZE_LARGE,
					 (curl_off_t)q->body->len);
		} else {
			curl_easy_setopt(q->curl, CURLOPT_POST, 1L);
			curl_easy_setopt(q->curl, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)q->body->len);
		}
	} else if (strcmp(q->method, "GET") != 0) {
		curl_easy_setopt(q->curl, CURLOPT_CUSTOMREQUEST, q->method);
	}
	q->cc = curl_easy_perform(q->curl);
	if (q->cc == CURLE_ABORTED_BY_CALLBACK && q->stalled) {
		q->cc = CURLE_OPERATION_TIMEDOUT;
		snprintf(q->curl_err, sizeof(q->curl_err),
			 "no answer for %.0f s: the server stalled", q->stall);
	}
	curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, &q->status);
	if (q->cc == CURLE_WRITE_ERROR && q->dst_full && !q->local_rc)
		q->cc = CURLE_OK; /* we stopped it: the buffer was full */
	if (q->cc != CURLE_OK)
		q->status = 0;
	if (q->local_rc)
		rc = q->local_rc;
	/* Keep the handle: its connection stays alive for the next request. */
	curl_easy_setopt(q->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(q->curl, CURLOPT_ERRORBUFFER, NULL);
	pool_put(s, q->curl);
	q->curl = NULL;
out:
	curl_slist_free_all(hl);
	if (auth) {
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	return rc;
}

/* A random delay in [0, min(cap, base * 2^n)) ms (full jitter), cut at
 * left seconds, and short when r is cancelled. */
static void backoff(const struct remote *r, int n, const void *salt,
		    double left)
{
	struct timespec now;
	unsigned seed;
	long ceil_ms = S3_BACKOFF_BASE_MS;
	long ms;
	struct timespec ts;

	for (int i = 0; i < n && ceil_ms < S3_BACKOFF_CAP_MS; i++)
		ceil_ms *= 2;
	if (ceil_ms > S3_BACKOFF_CAP_MS)
		ceil_ms = S3_BACKOFF_CAP_MS;
	clock_gettime(CLOCK_MONOTONIC, &now);
	seed = (unsigned)now.tv_nsec ^ (unsigned)(uintptr_t)salt ^
	       (unsigned)n * 2654435761u;
	ms = (long)(rand_r(&seed) % ceil_ms);
	if ((double)ms > left * 1000)
		ms = (long)(left * 1000);
	/* In slices, so a cancel is seen within 100 ms. */
	while (ms > 0 && !remote_cancelled(r)) {
		long slice = ms < 100 ? ms : 100;

		ts.tv_sec = 0;
		ts.tv_nsec = slice * 1000000L;
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		ms -= slice;
	}
}

/* Fill q->xerr from an error body (or, for err_in_200, a 200 body that is
 * an <Error> document; then q->status becomes 500 so the request counts as
 * failed). */
static void parse_error_body(struct req *q)
{
	int rc;

	if (!q->resp_len)
		return;
	if (q->status >= 200 && q->status < 300) {
		if (!q->err_in_200)
			return;
		rc = s3_xml_parse_error(q->resp, q->resp_len, &q->xerr);
		if (rc == 0)
			q->status = strcmp(q->xerr.code, "SlowDown") == 0 ? 503
									  : 500;
		return;
	}
	if (s3_xml_parse_error(q->resp, q->resp_len, &q->xerr))
		memset(&q->xerr, 0, sizeof(q->xerr));
}

/* Run q, retrying what s3_retryable() allows up to s->max_retries times
 * with jittered backoff, until s->timeout seconds after the start: the
 * deadline always wins, and a cancelled remote stops at once
 * (CURLE_ABORTED_BY_CALLBACK).  Returns 0 when an answer came back (look
 * at q->status; q->xerr holds a parsed <Error>) or a network failure
 * stuck (q->cc != CURLE_OK), -errno for a local failure (ENOMEM,
 * unreadable body). */
static int perform(struct s3 *s, struct req *q)
{
	struct timespec t0;
	struct timespec t1;
	double deadline;
	char *uri = NULL;
	char *query = NULL;
	char *url = NULL;
	int rc = 0;

	uri = object_path(s, q->key, 0);
	query = sigv4_query(q->query, q->n_query);
	if (!uri || !query ||
	    asprintf(&url, "%s%s%s%s", s->ep.base, uri, *query ? "?" : "",
		     query) < 0) {
		url = NULL;
		rc = -ENOMEM;
		goto out;
	}
	deadline = mono_now() + s->timeout;
	for (q->attempts = 1;; q->attempts++) {
		double left = deadline - mono_now();

		if (remote_cancelled(&s->base)) {
			q->cc = CURLE_ABORTED_BY_CALLBACK;
			q->status = 0;
			snprintf(q->curl_err, sizeof(q->curl_err),
				 "stopped: the mount is shutting down");
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = attempt(s, q, uri, url, query, left > 0.5 ? left : 0.5);
		if (rc)
			goto out;
		parse_error_body(q);
		if (s->base.debug) {
			curl_off_t up = 0;
			curl_off_t down = 0;
			long ms;

			clock_gettime(CLOCK_MONOTONIC, &t1);
			ms = (t1.tv_sec - t0.tv_sec) * 1000 +
			     (t1.tv_nsec - t0.tv_nsec) / 1000000;
			down = (curl_off_t)(q->dst_len + q->resp_len);
			if (q->body && q->status)
				up = (curl_off_t)q->body->len;
			char safe[320];

			remote_printable(q->key ? q->key : "", safe,
					 sizeof(safe));
			fprintf(stderr,
				"artifactfs: s3 %s /%.300s%s%.200s -> %ld%s%s, "
				"%lld bytes, %ld ms%s\n",
				q->method, safe, *query ? "?" : "",
				query, q->status,
				q->xerr.code[0] ? " " : "", q->xerr.code,
				(long long)(up + down), ms,
				q->cc ? " (network error)" : "");
		}
		if (!s3_retryable(q->status, q->xerr.code, q->cc) ||
		    q->attempts > s->max_retries)
			break;
		if (q->cc != CURLE_OK && q->fast_fail)
			break;
		/* Nothing listens there: a few tries, not the whole budget. */
		if (q->cc == CURLE_COULDNT_CONNECT &&
		    q->attempts > S3_REFUSED_RETRIES)
			break;
		if (mono_now() >= deadline - 0.05)
			break; /* out of time: the last answer stands */
		backoff(&s->base, q->attempts - 1, q, deadline - mono_now());
	}
out:
	free(uri);
	free(query);
	free(url);
	return rc;
}

/* The -errno of q's network failure (q->cc), with "cannot reach" and the
 * endpoint in err, then tries (a suffix, may be ""). */
static int req_unreachable(const struct s3 *s, const struct req *q,
			   const char *tries, struct remote_error *err)
{
	return remote_error_set(err, s3_errno(0, NULL, q->cc, S3_412_EEXIST),
				"cannot reach %s: %s%s", s->ep.base,
				q->curl_err[0] ? q->curl_err
					       : curl_easy_strerror(q->cc),
				tries);
}

/* The -errno of a finished request that failed, with one sentence in err
 * naming the operation and key (never a secret). */
static int req_fail(struct s3 *s, struct req *q, const char *what,
		    enum s3_on_412 on412, struct remote_error *err)
{
	int rc = s3_errno(q->status, q->xerr.code, q->cc, on412);
	const char *key = q->key ? q->key : "";
	char tries[48] = "";

	if (q->attempts > 1)
		snprintf(tries, sizeof(tries), " (after %d attempts)",
			 q->attempts);
	if (q->cc != CURLE_OK)
		return req_unreachable(s, q, tries, err);
	/* ENOENT and EEXIST get their sentence from the wrapper. */
	if (rc == -ENOENT || rc == -EEXIST)
		return rc;
	if (rc == -ESTALE)
		return remote_error_set(err, rc,
					"'%.200s' changed on %s while being read",
					key, s->base.name);
	if (rc == -EACCES)
		return remote_error_set(err, rc,
					"access denied by S3 server on %s "
					"'%.200s' (%s; check AWS_ACCESS_KEY_ID / "
					"AWS_SECRET_ACCESS_KEY)",
					what, key,
					q->xerr.code[0] ? q->xerr.code
							: "no error code");
	return remote_error_set(err, rc, "S3 %s '%.200s' failed: HTTP %ld %s%s%s%s",
				what, key, q->status, q->xerr.code,
				q->xerr.message[0] ? ": " : "",
				q->xerr.message, tries);
}

static int ok_status(const struct req *q)
{
	return q->cc == CURLE_OK && q->status >= 200 && q->status < 300;
}

/* perform() q; an answer other than 2xx becomes req_fail() for what, a 412
 * counting as -EEXIST. */
static int perform_ok(struct s3 *s, struct req *q, const char *what,
		      struct remote_error *err)
{
	int rc = perform(s, q);

	if (!rc && !ok_status(q))
		rc = req_fail(s, q, what, S3_412_EEXIST, err);
	return rc;
}

/* perform() a DELETE q; a 404 (the thing is already gone) is success. */
static int perform_delete(struct s3 *s, struct req *q, const char *what,
			  struct remote_error *err)
{
	int rc = perform(s, q);

	if (!rc && !ok_status(q) && !(q->cc == CURLE_OK && q->status == 404))
		rc = req_fail(s, q, what, S3_412_EEXIST, err);
	return rc;
}

/* The answer body of q as a string ("" when there was none). */
static const char *resp_text(const struct req *q)
{
	return q->resp ? q->resp : "";
}

/* -EIO with the sentence for a 2xx answer to what on key that we could not
 * parse. */
static int unreadable(const struct s3 *s, const char *what, const char *key,
		      struct remote_error *err)
{
	return remote_error_set(err, -EIO,
				"S3 %s '%.200s': unreadable answer from %s",
				what, key, s->base.name);
}

/* The ETag of q's XML answer (a copy or a completed upload) into
 * etag[REMOTE_ETAG_MAX]; unreadable() for what on key if there is none. */
static int answer_etag(const struct s3 *s, const struct req *q,
		       const char *what, const char *key, char *etag,
		       struct remote_error *err)
{
	if (s3_xml_parse_etag(resp_text(q), q->resp_len, etag, NULL))
		return unreadable(s, what, key, err);
	return 0;
}

/* "bytes=off-(off+len-1)" into out[S3_RANGE_LEN]; len > 0. */
static void range_value(char *out, uint64_t off, uint64_t len)
{
	snprintf(out, S3_RANGE_LEN, "bytes=%llu-%llu", (unsigned long long)off,
		 (unsigned long long)(off + len - 1));
}

/* ---- operations ---------------------------------------------------------- */

static int s3_check(struct remote *r, struct remote_error *err)
{
	struct s3 *s = (struct s3 *)r;
	const struct sigv4_pair query[] = {
		{"list-type", "2"},
		{"max-keys", "1"},
		{"prefix", r->prefix},
	};
	struct req q = {.method = "GET", .query = query, .n_query = 3,
			.fast_fail = 1};
	int rc;

	rc = perform(s, &q);
	if (rc)
		goto out;
	if (q.cc != CURLE_OK) {
		rc = req_unreachable(s, &q, "", err);
		goto out;
	}
	if (ok_status(&q))
		goto out;
	rc = s3_errno(q.status, q.xerr.code, q.cc, S3_412_EEXIST);
	if (rc == -EACCES)
		rc = remote_error_set(err, rc,
				      "access denied by S3 server (check "
				      "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
				      "%s%s",
				      q.xerr.code[0] ? ": " : "", q.xerr.code);
	else if (rc == -ENOENT)
		rc = remote_error_set(err, rc, "bucket '%s' does not exist at %s",
				      s->bucket, s->ep.base);
	else
		rc = req_fail(s, &q, "LIST", S3_412_EEXIST, err);
out:
	req_clear(&q);
	return rc;
}

static int s3_head(struct remote *r, const char *key, struct remote_stat *st,
		   struct remote_error *err)
{
	struct s3 *s = (struct s3 *)r;
	struct req q = {.method = "HEAD", .key = key, .want_meta = 1};
	int rc;

	rc = perform_ok(s, &q, "HEAD", err);
	if (rc)
		goto out;
	remote_meta_clear(&st->meta);
	st->size = q.content_length;
	snprintf(st->etag, sizeof(st->etag), "%s", q.etag);
	st->mtime.tv_sec = q.last_modified > 0 ? q.last_modified : 0;
	st->mtime.tv_nsec = 0;
	snprintf(st->content_type, sizeof(st->content_type), "%s",
		 q.content_type);
	st->meta = q.meta;
	memset(&q.meta, 0, sizeof(q.meta));
out:
	req_clear(&q);
	return rc;
}

static int s3_get(struct remote *r, const char *key, uint64_t off, size_t len,
		  void *buf, size_t *got, const char *if_etag,
		  struct remote_error *err)
{
	struct s3 *s = (struct s3 *)r;
	struct req q = {.method = "GET", .key = key, .dst = buf,
			.dst_cap = len, .range_off = off};
	char range[S3_RANGE_LEN];
	char *match = NULL;
	int rc = 0;

	*got = 0;
	if (len == 0)
		return 0;
	range_value(range, off, len);
	rc = req_hdr(&q, "Range", range);
	if (!rc && if_etag && *if_etag) {
		if (asprintf(&match, "\"%s\"", if_etag) < 0)
			match = NULL;
		rc = req_own(&q, match);
		if (!rc)
			rc = req_hdr(&q, "If-Match", match);
	}
	if (rc)
		goto out;
	rc = perform(s, &q);
	if (rc)
		goto out;
	if (q.cc == CURLE_OK && q.status == 416)
		goto out; /* at or past the end: nothing to read */
	if (!ok_status(&q)) {
		rc = req_fail(s, &q, "GET", S3_412_ESTALE, err);
		goto out;
	}
	*got = q.dst_len;
out:
	req_clear(&q);
	return rc;
}

/* One PUT of body to key; if_none_match adds "If-None-Match: *".  On a
 * failure *status has the HTTP status (0 for a network failure) and err is
 * untouched when quiet_501 and the server said 501. */
static int put_once(struct s3 *s, const char *key,
		    const struct remote_body *body,
		    const struct remote_put_opts *opts, int if_none_match,
		    char *etag_out, long *status, struct remote_error *err)
{
	struct req q = {.method = "PUT", .key = key, .body = body};
	int rc;

	*status = 0;
	rc = req_put_opts(&q, opts);
	if (!rc && if_none_match)
		rc = req_hdr(&q, "If-None-Match", "*");
	if (rc)
		goto out;
	rc = perform(s, &q);
	if (rc)
		goto out;
	*status = q.status;
	if (if_none_match && q.status == 501) {
		rc = -ENOTSUP;
		goto out;
	}
	if (!ok_status(&q)) {
		rc = req_fail(s, &q, "PUT", S3_412_EEXIST, err);
		goto out;
	}
	if (etag_out)
		snprintf(etag_out, REMOTE_ETAG_MAX, "%s", q.etag);
out:
	req_clear(&q);
	return rc;
}

/* 0 if key exists, -ENOENT if not (err untouched), else -errno with a
 * message in err. */
static int head_exists(struct s3 *s, const char *key, struct remote_error *err)
{
	struct remote_stat st;
	int rc;

	memset(&st, 0, sizeof(st));
	rc = s3_head(&s->base, key, &st, err);
	remote_stat_clear(&st);
	return rc;
}

/* PUT; with opts->if_none_match, "If-None-Match: *" where the server has
 * it, else (learnt from a 501, remembered in caps) HEAD then PUT. */
static int s3_put(struct remote *r, const char *key,
		  const struct remote_body *body,
		  const struct remote_put_opts *opts, char *etag_out,
		  struct remote_error *err)
{
	struct s3 *s = (struct s3 *)r;
	unsigned caps = __atomic_load_n(&r->caps, __ATOMIC_RELAXED);
	long status = 0;
	int rc;

	if (!opts->if_none_match)
		return put_once(s, key, body, opts, 0, etag_out, &status, err);
	if (caps & REMOTE_CAP_CONDITIONAL_PUT) {
		rc = put_once(s, key, body, opts, 1, etag_out, &status, err);
		if (rc != -ENOTSUP || status != 501)
			return rc;
		__atomic_fetch_and(&r->caps, ~(unsigned)REMOTE_CAP_CONDITIONAL_PUT,
				   __ATOMIC_RELAXED);
		if (r->debug)
			fprintf(stderr, "artifactfs: %s has no conditional "
					"PUT; using HEAD then PUT\n",
				r->name);
	}
	rc = head_exists(s, key, err);
	if (rc == 0)
		return -EEXIST;
	if (rc != -ENOENT)
		return rc;
	return put_once(s, key, body, opts, 0, etag_out, &status, err);
}

/* Add "x-amz-copy-source: /bucket/encoded-src" to q (the value owned by
 * q).  -ENOMEM, -E2BIG. */
static int req_copy_source(struct req *q, const struct s3 *s, const char *src)
{
	char *source = object_path(s, src, 1);
	int rc;

	rc = req_own(q, source);
	if (!rc)
		rc = req_hdr(q, "x-amz-copy-source", source);
	return rc;
}

/* One CopyObject of src to dst, replacing metadata when replace is set,
 * only if src's ETag is if_match when that is set (-ESTALE otherwise). */
static int copy_once(struct s3 *s, const char *src, const char *dst,
		     const struct remote_put_opts *replace,
		     const char *if_match, struct remote_error *err)
{
	struct req q = {.method = "PUT", .key = dst, .err_in_200 = 1};
	char etag[REMOTE_ETAG_MAX];
	int rc;

	rc = req_copy_source(&q, s, src);
	if (!rc)
		rc = req_hdr(&q, "x-amz-metadata-directive", replace ? "REPLACE" : "COPY");
	if (!rc && replace)
		rc = req_put_opts(&q, replace);
	if (!rc && if_match) {
		char *quoted = NULL;

		if (asprintf(&quoted, "\"%s\"", if_match) < 0)
			quoted = NULL;
		rc = req_own(&q, quoted);
		if (!rc)
			rc = req_hdr(&q, "x-amz-copy-source-if-match", quoted);
	}
	if (rc)
		goto out;
	rc = perform(s, &q);
	if (rc == 0 && !ok_status(&q))
		rc = req_fail(s, &q, "COPY", S3_412_ESTALE, err);
	if (rc)
		goto out;
	rc = answer_etag(s, &q, "COPY", dst, etag, err);
out:
	req_clear(&q);
	return rc;
}

static int s3_copy(struct remote *r, const char *src, const char *dst,
		   const struct remote_put_opts *replace,
		   struct remote_error *err)
{
	struct s3 *s = (struct s3 *)r;
	const char *if_match = replace && replace->if_match &&
				       replace->if_match[0]
				       ? replace->if_match
				       : NULL;
	struct remote_stat st = {0};
	int rc;

	if (!replace && strcmp(src, dst) == 0) {
		/* S3 refuses a copy onto itself that changes nothing; it is a
		 * no-op, as long as the object is there. */
		return head_exists(s, src, err);
	}
	rc = copy_once(s, src, dst, replace, if_match, err);
	if (rc != -ESTALE || !if_match)
		return rc;
	/* Swift's S3 API refuses the condition on a multipart object even
	 * when its ETag matches.  When a HEAD shows the ETag asked for, the
	 * server could not evaluate it: copy without it (a writer landing
	 * between the HEAD and the copy is not caught there; README,
	 * "Failures and time bounds"). */
	if (s3_head(r, src, &st, NULL) == 0 && strcmp(st.etag, if_match) == 0) {
		if (err)
			err->msg[0] = '\0';
		rc = copy_once(s, src, dst, replace, NULL, err);
	}
	remote_stat_clear(&st);
	return rc;
}

static int s3_del(struct remote *r, const char *key, struct remote_error *err)
{
	struct s3 *s = (struct s3 *)r;
	struct req q = {.method = "DELETE", .key = key};
	int rc;

	rc = perform_delete(s, &q, "DELETE", err);
	req_clear(&q);
	return rc;
}

/* DeleteObjects for the keys XML can carry; the rest one by one. */
static int s3_del_many(struct remote *r, const char *const *keys, size_t n,
		       struct remote_error *err)
{
	struct s3 *s = (struct s3 *)r;
	const struct sigv4_pair query[] = {{"delete", ""}};
	struct req q = {.method = "POST", .query = query, .n_query = 1};
	const char **batch = NULL;
	struct remote_body body = {.fd = -1};
	char *xml = NULL;
	size_t xml_len = 0;
	size_t nb = 0;
	size_t failed = 0;
	unsigned char md5[16];
	char md5_b64[25];
	int rc = 0;

	if (n == 0)
		return 0;
	batch = calloc(n, sizeof(*batch));
	if (!batch)
		return -ENOMEM;
	for (size_t i = 0; i < n && !rc; i++) {
		if (s3_xml_key_ok(keys[i]))
			batch[nb++] = keys[i];
		else
			rc = s3_del(r, keys[i], err);
	}
	if (rc || nb == 0)
		goto out;
	rc = s3_xml_delete_body(batch, nb, &xml, &xml_len);
	if (rc)
		goto out;
	/* Swift's s3api refuses DeleteObjects without Content-MD5. */
	digest_md5(xml, xml_len, md5);
	digest_base64(md5, sizeof(md5), md5_b64);
	rc = req_hdr(&q, "Content-MD5", md5_b64);
	if (!rc)
		rc = req_xml_body(&q, &body, xml, xml_len);
	if (rc)
		goto out;
	rc = perform_ok(s, &q, "batch DELETE", err);
	if (rc)
		goto out;
	rc = s3_xml_parse_delete(resp_text(&q), q.resp_len, &failed, &q.xerr);
	if (rc) {
		rc = remote_error_set(err, -EIO,
				      "S3 batch DELETE: unreadable answer from %s",
				      s->base.name);
		goto out;
	}
	if (failed) {
		rc = s3_errno(0, q.xerr.code, CURLE_OK, S3_412_EEXIST);
		if (rc == -ENOENT) /* a missing key is deleted enough */
			rc = 0;
		else
			rc = remote_error_set(err, rc == 0 ? -EIO : rc,
					      "cannot delete '%s' on %s: %s: %s "
					      "(%zu of %zu keys failed)",
					      q.xerr.key, s->base.name,
					      q.xerr.code, q.xerr.message,
					      failed, nb);
	}
out:
	req_clear(&q);
	free(xml);
	free(batch);
	return rc;
}

static int s3_list(struct remote *r, const struct remote_list_opts *opts,
		   struct remote_list *out, struct remote_error *err)
{
	struct s3 *s = (struct s3 *)r;
	struct sigv4_pair query[7];
	struct req q = {.method = "GET", .query = query};
	char max_keys[16];
	struct s3_xml_error xe;
	int rc;

	memset(out, 0, sizeof(*out));
	query[q.n_query++] = (struct sigv4_pair){"list-type", "2"};
	query[q.n_query++] = (struct sigv4_pair){"encoding-type", "url"};
	if (opts->prefix && *opts->prefix)
		query[q.n_query++] = (struct sigv4_pair){"prefix", opts->prefix};
	if (opts->delimiter && *opts->delimiter)
		query[q.n_query++] =
			(struct sigv4_pair){"delimiter", opts->delimiter};
	if (opts->token && *opts->token)
		query[q.n_query++] =
			(struct sigv4_pair){"continuation-token", opts->token};
	if (opts->start_after && *opts->start_after)
		query[q.n_query++] =
			(struct sigv4_pair){"start-after", opts->start_after};
	if (opts->max_keys) {
		snprintf(max_keys, sizeof(max_keys), "%u", opts->max_keys);
		query[q.n_query++] = (struct sigv4_pair){"max-keys", max_keys};
	}
	rc = perform_ok(s, &q, "LIST", err);
	if (rc)
		goto out;
	rc = s3_xml_parse_list(resp_text(&q), q.resp_len, out, &xe);
	if (rc && rc != -ENOMEM)
		rc = unreadable(s, "LIST", opts->prefix ? opts->prefix : "",
				err);
out:
	req_clear(&q);
	return rc;
}

static int s3_mpu_create(struct remote *r, const char *key,
			 const struct remote_put_opts *opts, char **upload_id,
			 struct remote_error *err)
{
	struct s3 *s = (struct s3 *)r;
	const struct sigv4_pair query[] = {{"uploads", ""}};
	struct req q = {.method = "POST", .key = key, .query = query,
			.n_query = 1};
	int rc;

	*upload_id = NULL;
	rc = req_put_opts(&q, opts);
	if (rc)
		goto out;
	rc = perform_ok(s, &q, "multipart create", err);
	if (rc)
		goto out;
	rc = s3_xml_parse_upload_id(resp_text(&q), q.resp_len, upload_id,
				    NULL);
	if (rc && rc != -ENOMEM)
		rc = unreadable(s, "multipart create", key, err);
out:
	req_clear(&q);
	return rc;
}

/* PUT ?partNumber=&uploadId=, with a body or (src set) as a server-side
 * copy of src's bytes [off, off+len). */
static int put_part(struct s3 *s, const char *key, const char *upload_id,
		    int part, const struct remote_body *body, const char *src,
		    uint64_t off, uint64_t len, char *etag_out,
		    struct remote_error *err)
{
	char num[16];
	const struct sigv4_pair query[] = {
		{"partNumber", num},
		{"uploadId", upload_id},
	};
	struct req q = {.method = "PUT", .key = key, .query = query,
			.n_query = 2, .body = body, .err_in_200 = src != NULL};
	char range[S3_RANGE_LEN];
	char etag[REMOTE_ETAG_MAX] = "";
	int rc = 0;

	if (part < 1 || part > REMOTE_PARTS_MAX || (src && len == 0))
		return remote_error_set(err, -EINVAL,
					"bad multipart part %d", part);
	snprintf(num, sizeof(num), "%d", part);
	if (src) {
		rc = req_copy_source(&q, s, src);
		range_value(range, off, len);
		if (!rc)
			rc = req_hdr(&q, "x-amz-copy-source-range", range);
		if (rc)
			goto out;
	}
	rc = perform_ok(s, &q, src ? "multipart copy" : "multipart PUT", err);
	if (rc)
		goto out;
	if (src) {
		rc = answer_etag(s, &q, "multipart copy", key, etag, err);
		if (rc)
			goto out;
	} else {
		snprintf(etag, sizeof(etag), "%s", q.etag);
	}
	if (!etag[0]) {
		rc = remote_error_set(err, -EIO,
				      "S3 multipart part %d of '%.200s': no ETag "
				      "from %s",
				      part, key, s->base.name);
		goto out;
	}
	if (etag_out)
		snprintf(etag_out, REMOTE_ETAG_MAX, "%s", etag);
out:
	req_clear(&q);
	return rc;
}

static int s3_mpu_put_part(struct remote *r, const char *key,
			   const char *upload_id, int part,
			   const struct remote_body *body, char *etag_out,
			   struct remote_error *err)
{
	return put_part((struct s3 *)r, key, upload_id, part, body, NULL, 0, 0,
			etag_out, err);
}

static int s3_mpu_copy_part(struct remote *r, const char *key,
			    const char *upload_id, int part, const char *src,
			    uint64_t off, uint64_t len, char *etag_out,
			    struct remote_error *err)
{
	return put_part((struct s3 *)r, key, upload_id, part, NULL, src, off,
			len, etag_out, err);
}

static int s3_mpu_complete(struct remote *r, const char *key,
			   const char *upload_id,
			   const struct remote_part *parts, size_t n,
			   char *etag_out, struct remote_error *err)
{
	struct s3 *s = (struct s3 *)r;
	const struct sigv4_pair query[] = {{"uploadId", upload_id}};
	struct req q = {.method = "POST", .key = key, .query = query,
			.n_query = 1, .err_in_200 = 1};
	struct remote_body body = {.fd = -1};
	char etag[REMOTE_ETAG_MAX];
	char *xml = NULL;
	size_t xml_len = 0;
	int rc;

	if (n == 0)
		return remote_error_set(err, -EINVAL,
					"multipart upload of '%.200s' has no "
					"parts",
					key);
	rc = s3_xml_complete_body(parts, n, &xml, &xml_len);
	if (rc)
		goto out;
	rc = req_xml_body(&q, &body, xml, xml_len);
	if (rc)
		goto out;
	rc = perform_ok(s, &q, "multipart complete", err);
	if (rc)
		goto out;
	rc = answer_etag(s, &q, "multipart complete", key, etag, err);
	if (rc)
		goto out;
	if (etag_out)
		snprintf(etag_out, REMOTE_ETAG_MAX, "%s", etag);
out:
	req_clear(&q);
	free(xml);
	return rc;
}

static int s3_mpu_abort(struct remote *r, const char *key,
			const char *upload_id, struct remote_error *err)
{
	struct s3 *s = (struct s3 *)r;
	const struct sigv4_pair query[] = {{"uploadId", upload_id}};
	struct req q = {.method = "DELETE", .key = key, .query = query,
			.n_query = 1};
	int rc;

	/* An upload already gone (aborted, completed) is aborted enough. */
	rc = perform_delete(s, &q, "multipart abort", err);
	req_clear(&q);
	return rc;
}

/* ListMultipartUploads, every page; the markers must move on. */
static int s3_mpu_list(struct remote *r, const char *prefix,
		       struct remote_uploads *out, struct remote_error *err)
{
	struct s3 *s = (struct s3 *)r;
	struct s3_xml_uploads_page page = { 0 };
	char *key_marker = NULL, *id_marker = NULL;
	struct s3_xml_error xe;
	int rc = 0;

	for (;;) {
		struct sigv4_pair query[6];
		struct req q = { .method = "GET", .query = query };

		query[q.n_query++] = (struct sigv4_pair){ "uploads", "" };
		query[q.n_query++] = (struct sigv4_pair){ "encoding-type", "url" };
		if (prefix && *prefix)
			query[q.n_query++] =
				(struct sigv4_pair){ "prefix", prefix };
		if (key_marker)
			query[q.n_query++] =
				(struct sigv4_pair){ "key-marker", key_marker };
		if (id_marker)
			query[q.n_query++] = (struct sigv4_pair){
				"upload-id-marker", id_marker
			};
		rc = perform_ok(s, &q, "LIST uploads", err);
		if (rc == 0) {
			rc = s3_xml_parse_uploads(resp_text(&q), q.resp_len,
						  out, &page, &xe);
			if (rc && rc != -ENOMEM)
				rc = unreadable(s, "LIST uploads",
						prefix ? prefix : "", err);
		}
		req_clear(&q);
		if (rc || !page.truncated)
			break;
		if (key_marker && strcmp(page.next_key, key_marker) == 0 &&
		    strcmp(page.next_upload_id, id_marker) == 0) {
			rc = remote_error_set(err, -EIO,
					      "listing uploads on %s: the "
					      "server repeated its markers",
					      s->base.name);
			break;
		}
		free(key_marker);
		free(id_marker);
		key_marker = page.next_key;
		id_marker = page.next_upload_id;
		page.next_key = page.next_upload_id = NULL;
	}
	s3_xml_uploads_page_clear(&page);
	free(key_marker);
	free(id_marker);
	return rc;
}

static void s3_destroy(struct remote *r)
{
	struct s3 *s = (struct s3 *)r;

	if (!s)
		return;
	for (size_t i = 0; i < s->n_pool; i++)
		curl_easy_cleanup(s->pool[i]);
	free(s->pool);
	pthread_mutex_destroy(&s->lock);
	s3_endpoint_clear(&s->ep);
	free(s->bucket);
	free(s->region);
	free(s->access_key);
	if (s->secret_key) {
		memset(s->secret_key, 0, strlen(s->secret_key));
		free(s->secret_key);
	}
	if (s->token) {
		memset(s->token, 0, strlen(s->token));
		free(s->token);
	}
	free(s->base.prefix);
	free(s->base.name);
	free(s);
}

static const struct remote_ops s3_ops = {
	.scheme = "s3",
	.check = s3_check,
	.head = s3_head,
	.get = s3_get,
	.put = s3_put,
	.copy = s3_copy,
	.del = s3_del,
	.del_many = s3_del_many,
	.list = s3_list,
	.mpu_create = s3_mpu_create,
	.mpu_put_part = s3_mpu_put_part,
	.mpu_copy_part = s3_mpu_copy_part,
	.mpu_complete = s3_mpu_complete,
	.mpu_abort = s3_mpu_abort,
	.mpu_list = s3_mpu_list,
	.destroy = s3_destroy,
};

/* Copy src into *dst (NULL stays NULL).  -ENOMEM. */
static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int remote_s3_open(const struct remote_config *cfg, const char *path,
		   struct remote **out, struct remote_error *err)
{
	struct s3 *s = NULL;
	char *aws = NULL;
	int locked = 0;
	int rc = 0;

	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	if (!cfg->region || !*cfg->region)
		return remote_error_set(err, -EINVAL,
					"no S3 region set (region= or "
					"AWS_REGION)");
	if (cfg->access_key && (!cfg->secret_key || !*cfg->secret_key))
		return remote_error_set(err, -EINVAL,
					"AWS_ACCESS_KEY_ID is set but "
					"AWS_SECRET_ACCESS_KEY is not");
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &s3_ops;
	s->base.debug = cfg->debug;
	s->base.caps = REMOTE_CAP_CONDITIONAL_PUT;
	s->connect_timeout = cfg->connect_timeout > 0 ? cfg->connect_timeout : 5;
	s->max_retries =
		cfg->max_retries > 0 ? cfg->max_retries : S3_MAX_RETRIES;
	s->timeout = cfg->timeout > 0 ? cfg->timeout : S3_TIMEOUT;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return -ENOMEM;
	}
	locked = 1;
	rc = s3_split_path(path, &s->bucket, &s->base.prefix);
	if (rc == -EINVAL) {
		rc = remote_error_set(err, rc,
				      "invalid S3 bucket or prefix in "
				      "'s3://%.200s'",
				      path);
		goto out;
	}
	if (rc)
		goto out;
	if (cfg->endpoint && *cfg->endpoint) {
		rc = s3_endpoint_parse(cfg->endpoint, &s->ep);
		if (rc == -EINVAL)
			rc = remote_error_set(err, rc,
					      "invalid S3 endpoint (want "
					      "http://HOST[:PORT] or https://...)");
		if (rc)
			goto out;
	} else {
		s->vhost = s3_bucket_dns_safe(s->bucket);
		if (s->vhost)
			rc = asprintf(&aws, "https://%s.s3.%s.amazonaws.com",
				      s->bucket, cfg->region);
		else
			rc = asprintf(&aws, "https://s3.%s.amazonaws.com",
				      cfg->region);
		if (rc < 0) {
			aws = NULL;
			rc = -ENOMEM;
			goto out;
		}
		rc = s3_endpoint_parse(aws, &s->ep);
		if (rc == -EINVAL)
			rc = remote_error_set(err, rc, "invalid S3 region");
		if (rc)
			goto out;
	}
	rc = dup_opt(&s->region, cfg->region);
	if (!rc)
		rc = dup_opt(&s->access_key,
			     cfg->access_key && *cfg->access_key
				     ? cfg->access_key
				     : NULL);
	if (!rc && s->access_key)
		rc = dup_opt(&s->secret_key, cfg->secret_key);
	if (!rc && s->access_key && cfg->session_token && *cfg->session_token)
		rc = dup_opt(&s->token, cfg->session_token);
	if (rc)
		goto out;
	if (asprintf(&s->base.name, "s3://%s%s%.*s at %s%s", s->bucket,
		     *s->base.prefix ? "/" : "",
		     *s->base.prefix ? (int)strlen(s->base.prefix) - 1 : 0,
		     s->base.prefix, s->ep.base, s->ep.path) < 0) {
		s->base.name = NULL;
		rc = -ENOMEM;
		goto out;
	}
	*out = &s->base;
out:
	free(aws);
	if (rc && locked)
		s3_destroy(&s->base);
	return rc;
}
