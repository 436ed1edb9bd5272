/*
 * s3_xml.c - parse S3's XML responses and build its XML request bodies
 * (see s3_xml.h).
 *
 * One small driver (struct xp) runs expat over a body and keeps the path of
 * the current element ("ListBucketResult/Contents/Key") and its text; each
 * document type supplies an on_start and an on_end callback that look at
 * that path.  No string scanning of XML happens anywhere else.
 */
#include "s3_xml.h"

#include <errno.h>
#include <expat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XP_PATH_MAX 256
#define XP_TEXT_MAX (64 * 1024) /* no leaf we read is longer */

struct xp {
	XML_Parser p;
	char path[XP_PATH_MAX]; /* "A/B/C" of the current element */
	size_t plen;		/* strlen(path) */
	int depth;		/* nesting level of the current element */
	int lost;		/* >0: depth from which the path did not fit */
	char *text;		/* character data of the current element */
	size_t tlen;
	size_t tcap;
	int rc;	       /* first failure of a callback, or 0 */
	char root[64]; /* local name of the document element */
	/* Callbacks of the document type; either may be NULL.  They return 0
	 * or -errno, which stops the parse. */
	int (*on_start)(struct xp *x, const char *path);
	int (*on_end)(struct xp *x, const char *path, const char *text,
		      size_t len);
	void *user;
	struct s3_xml_error *err; /* receives an <Error> document */
};

/* The local part of a namespace-qualified name ("uri|Key" -> "Key"). */
static const char *local_name(const char *name)
{
	const char *bar = strrchr(name, '|');

	return bar ? bar + 1 : name;
}

static void fail(struct xp *x, int rc)
{
	if (!x->rc)
		x->rc = rc;
	XML_StopParser(x->p, XML_FALSE);
}

/* Copy at most n bytes of src into dst[size], always terminated. */
static void copy_trunc(char *dst, size_t size, const char *src, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The <Error> document, whatever the caller expected: keep Code/Message. */
static void error_doc_end(struct xp *x, const char *path, const char *text,
			  size_t len)
{
	if (!x->err)
		return;
	if (strcmp(path, "Error/Code") == 0)
		copy_trunc(x->err->code, sizeof(x->err->code), text, len);
	else if (strcmp(path, "Error/Message") == 0)
		copy_trunc(x->err->message, sizeof(x->err->message), text, len);
	else if (strcmp(path, "Error/Key") == 0)
		copy_trunc(x->err->key, sizeof(x->err->key), text, len);
}

static void XMLCALL on_start_el(void *ud, const XML_Char *name,
				const XML_Char **attrs)
{
	struct xp *x = ud;
	const char *ln = local_name(name);
	size_t n = strlen(ln);
	int rc = 0;

	(void)attrs;
	x->depth++;
	x->tlen = 0;
	if (x->depth == 1)
		copy_trunc(x->root, sizeof(x->root), ln, n);
	if (x->lost)
		return;
	if (x->plen + n + 2 > XP_PATH_MAX) {
		x->lost = x->depth;
		return;
	}
	if (x->plen)
		x->path[x->plen++] = '/';
	memcpy(x->path + x->plen, ln, n + 1);
	x->plen += n;
	if (x->on_start && strcmp(x->root, "Error") != 0)
		rc = x->on_start(x, x->path);
	if (rc)
		fail(x, rc);
}

static void XMLCALL on_end_el(void *ud, const XML_Char *name)
{
	struct xp *x = ud;
	char *slash = NULL;
	int rc = 0;

	(void)name;
	if (x->lost) {
		if (x->lost == x->depth)
			x->lost = 0;
		x->depth--;
		x->tlen = 0;
		return;
	}
	x->text[x->tlen] = '\0';
	if (strcmp(x->root, "Error") == 0)
		error_doc_end(x, x->path, x->text, x->tlen);
	else if (x->on_end)
		rc = x->on_end(x, x->path, x->text, x->tlen);
	if (rc)
		fail(x, rc);
	slash = strrchr(x->path, '/');
	x->plen = slash ? (size_t)(slash - x->path) : 0;
	x->path[x->plen] = '\0';
	x->depth--;
	x->tlen = 0;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct xp *x = ud;
	size_t n = (size_t)len;

	if (x->lost)
		return;
	if (x->tlen + n + 1 > x->tcap) {
		size_t cap = x->tcap ? x->tcap : 256;
		char *t = NULL;

		while (cap < x->tlen + n + 1)
			cap *= 2;
		if (cap > XP_TEXT_MAX) {
			fail(x, -EPROTO);
			return;
		}
		t = realloc(x->text, cap);
		if (!t) {
			fail(x, -ENOMEM);
			return;
		}
		x->text = t;
		x->tcap = cap;
	}
	memcpy(x->text + x->tlen, s, n);
	x->tlen += n;
}

/* Entity declarations have no place in S3 responses: refuse them rather
 * than expand them. */
static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int param,
				   const XML_Char *value, int vlen,
				   const XML_Char *base, const XML_Char *sysid,
				   const XML_Char *pubid,
				   const XML_Char *notation)
{
	(void)name;
	(void)param;
	(void)value;
	(void)vlen;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	fail(ud, -EPROTO);
}

/* Run x's callbacks over body.  Returns 0, -EREMOTEIO for an <Error>
 * document (x->err filled), -EPROTO when the body is not well-formed XML,
 * or the first callback failure. */
static int xp_run(struct xp *x, const char *body, size_t len)
{
	int rc = 0;

	x->text = malloc(256);
	x->tcap = 256;
	x->p = XML_ParserCreateNS(NULL, '|');
	if (!x->text || !x->p) {
		rc = -ENOMEM;
		goto out;
	}
	if (x->err)
		memset(x->err, 0, sizeof(*x->err));
	XML_SetUserData(x->p, x);
	XML_SetElementHandler(x->p, on_start_el, on_end_el);
	XML_SetCharacterDataHandler(x->p, on_text);
	XML_SetEntityDeclHandler(x->p, on_entity_decl);
	if (len > INT32_MAX) {
		rc = -EPROTO;
		goto out;
	}
	if (XML_Parse(x->p, body, (int)len, XML_TRUE) != XML_STATUS_OK) {
		rc = x->rc ? x->rc : -EPROTO;
		goto out;
	}
	if (x->rc) {
		rc = x->rc;
		goto out;
	}
	if (strcmp(x->root, "Error") == 0)
		rc = -EREMOTEIO;
out:
	if (x->p)
		XML_ParserFree(x->p);
	x->p = NULL;
	free(x->text);
	x->text = NULL;
	return rc;
}

int s3_xml_parse_error(const char *body, size_t len, struct s3_xml_error *e)
{
	struct xp x = { .err = e };
	int rc = xp_run(&x, body, len);

	return rc == -EREMOTEIO ? 0 : rc ? rc : -EPROTO;
}

/* ---- ETag and time helpers ---------------------------------------------- */

void s3_etag_unquote(const char *in, size_t len, char out[REMOTE_ETAG_MAX])
{
	while (len && (*in == ' ' || *in == '\t' || *in == '"')) {
		in++;
		len--;
	}
	while (len && (in[len - 1] == ' ' || in[len - 1] == '\t' ||
		       in[len - 1] == '\r' || in[len - 1] == '\n' ||
		       in[len - 1] == '"'))
		len--;
	copy_trunc(out, REMOTE_ETAG_MAX, in, len);
}

int s3_parse_iso8601(const char *s, struct timespec *ts)
{
	struct tm tm;
	const char *p = NULL;
	long nsec = 0;
	long scale = 100000000;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			nsec += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z')
		p++;
	else if (strcmp(p, "+00:00") == 0)
		p += 6;
	if (*p)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	ts->tv_sec = t;
	ts->tv_nsec = nsec;
	return 0;
}

/* Parse a decimal uint64.  -EPROTO unless the whole text is a number. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EPROTO;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EPROTO;
	*out = v;
	return 0;
}

/* ---- ListObjectsV2 ------------------------------------------------------- */

struct list_state {
	struct remote_list *out;
	size_t cap_entries;
	size_t cap_prefixes;
	int url_encoded;
	int truncated;
};

#define LBR "ListBucketResult"

/* Grow *arr (of elem-sized items) so one more fits. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p = NULL;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int list_start(struct xp *x, const char *path)
{
	struct list_state *ls = x->user;
	struct remote_list *l = ls->out;
	int rc = 0;

	if (strcmp(path, LBR "/Contents") == 0) {
		rc = grow((void **)&l->entries, &ls->cap_entries, l->n_entries,
			  sizeof(*l->entries));
		if (rc)
			return rc;
		memset(&l->entries[l->n_entries], 0, sizeof(*l->entries));
		l->n_entries++;
	}
	return 0;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static int list_end(struct xp *x, const char *path, const char *text,
		    size_t len)
{
	struct list_state *ls = x->user;
	struct remote_list *l = ls->out;
	struct remote_list_entry *cur =
		l->n_entries ? &l->entries[l->n_entries - 1] : NULL;
	int rc = 0;

	if (strcmp(x->root, LBR) != 0)
		return -EPROTO;
	if (strncmp(path, LBR "/Contents/", sizeof(LBR "/Contents/") - 1) ==
	    0) {
		const char *f = path + sizeof(LBR "/Contents/") - 1;

		if (!cur)
			return -EPROTO;
		if (strcmp(f, "Key") == 0) {
			free(cur->key);
			cur->key = dup_n(text, len);
			if (!cur->key)
				rc = -ENOMEM;
		} else if (strcmp(f, "Size") == 0) {
			rc = parse_u64(text, &cur->size);
		} else if (strcmp(f, "ETag") == 0) {
			s3_etag_unquote(text, len, cur->etag);
		} else if (strcmp(f, "LastModified") == 0) {
			/* A time we cannot read is not worth failing a listing
			 * over; the entry keeps mtime 0. */
			s3_parse_iso8601(text, &cur->mtime);
		}
	} else if (strcmp(path, LBR "/CommonPrefixes/Prefix") == 0) {
		rc = grow((void **)&l->prefixes, &ls->cap_prefixes,
			  l->n_prefixes, sizeof(*l->prefixes));
		if (rc)
			return rc;
		l->prefixes[l->n_prefixes] = dup_n(text, len);
		if (!l->prefixes[l->n_prefixes])
			return -ENOMEM;
		l->n_prefixes++;
	} else if (strcmp(path, LBR "/NextContinuationToken") == 0) {
		free(l->next_token);
		l->next_token = len ? dup_n(text, len) : NULL;
		if (len && !l->next_token)
			rc = -ENOMEM;
	} else if (strcmp(path, LBR "/IsTruncated") == 0) {
		ls->truncated = strcmp(text, "true") == 0;
	} else if (strcmp(path, LBR "/EncodingType") == 0) {
		ls->url_encoded = strcmp(text, "url") == 0;
	}
	return rc;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode S3's encoding-type=url in place: %XX is a byte and '+' a space
 * (AWS form-encodes; Swift never writes '+' unencoded).  -EPROTO for a
 * malformed escape or an encoded NUL. */
static int url_decode(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (*p == '+') {
			*o++ = ' ';
		} else if (*p == '%') {
			int hi = hexval(p[1]);
			int lo = hi < 0 ? -1 : hexval(p[2]);

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EPROTO;
			*o++ = (char)(hi * 16 + lo);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return 0;
}

int s3_xml_parse_list(const char *body, size_t len, struct remote_list *out,
		      struct s3_xml_error *e)
{
	struct list_state ls = { .out = out };
	struct xp x = { .on_start = list_start,
			.on_end = list_end,
			.user = &ls,
			.err = e };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = xp_run(&x, body, len);
	if (rc)
		goto out;
	if (strcmp(x.root, LBR) != 0) {
		rc = -EPROTO;
		goto out;
	}
	for (size_t i = 0; i < out->n_entries; i++) {
		if (!out->entries[i].key) {
			rc = -EPROTO;
			goto out;
		}
		if (ls.url_encoded) {
			rc = url_decode(out->entries[i].key);
			if (rc)
				goto out;
		}
	}
	for (size_t i = 0; ls.url_encoded && i < out->n_prefixes; i++) {
		rc = url_decode(out->prefixes[i]);
		if (rc)
			goto out;
	}
	if (!ls.truncated) {
		free(out->next_token);
		out->next_token = NULL;
	} else if (!out->next_token) {
		/* Truncated without a token: we could only loop forever. */
		rc = -EPROTO;
	}
out:
	if (rc)
		remote_list_clear(out);
	return rc;
}

/* ---- ListMultipartUploadsResult ------------------------------------------ */

#define LMU "ListMultipartUploadsResult"

struct uploads_state {
	struct remote_uploads *out;
	size_t cap;
	struct s3_xml_uploads_page *page;
	int url_encoded;
};

static int uploads_start(struct xp *x, const char *path)
{
	struct uploads_state *us = x->user;
	struct remote_uploads *u = us->out;
	int rc;

	if (strcmp(path, LMU "/Upload") != 0)
		return 0;
	rc = grow((void **)&u->v, &us->cap, u->n, sizeof(*u->v));
	if (rc)
		return rc;
	memset(&u->v[u->n], 0, sizeof(u->v[0]));
	u->n++;
	return 0;
}

static int uploads_end(struct xp *x, const char *path, const char *text,
		       size_t len)
{
	struct uploads_state *us = x->user;
	struct remote_uploads *u = us->out;
	struct remote_upload *cur = u->n ? &u->v[u->n - 1] : NULL;
	char **slot = NULL;

	if (strcmp(x->root, LMU) != 0)
		return -EPROTO;
	if (strncmp(path, LMU "/Upload/", sizeof(LMU "/Upload/") - 1) == 0) {
		const char *f = path + sizeof(LMU "/Upload/") - 1;

		if (!cur)
			return -EPROTO;
		if (strcmp(f, "Key") == 0) {
			slot = &cur->key;
		} else if (strcmp(f, "UploadId") == 0) {
			slot = &cur->upload_id;
		} else if (strcmp(f, "Initiated") == 0) {
			struct timespec ts = { 0 };

			if (s3_parse_iso8601(text, &ts) == 0)
				cur->initiated = (int64_t)ts.tv_sec;
		}
	} else if (strcmp(path, LMU "/NextKeyMarker") == 0) {
		slot = &us->page->next_key;
	} else if (strcmp(path, LMU "/NextUploadIdMarker") == 0) {
		slot = &us->page->next_upload_id;
	} else if (strcmp(path, LMU "/IsTruncated") == 0) {
		us->page->truncated = strcmp(text, "true") == 0;
	} else if (strcmp(path, LMU "/EncodingType") == 0) {
		us->url_encoded = strcmp(text, "url") == 0;
	}
	if (slot) {
		free(*slot);
		*slot = dup_n(text, len);
		if (!*slot)
			return -ENOMEM;
	}
	return 0;
}

int s3_xml_parse_uploads(const char *body, size_t len,
			 struct remote_uploads *out,
			 struct s3_xml_uploads_page *page,
			 struct s3_xml_error *e)
{
	struct uploads_state us = { .out = out, .page = page };
	struct xp x = { .on_start = uploads_start,
			.on_end = uploads_end,
			.user = &us,
			.err = e };
	size_t first = out->n;
	int rc;

	memset(page, 0, sizeof(*page));
	us.cap = out->n; /* grow() doubles from here */
	rc = xp_run(&x, body, len);
	if (rc == 0 && strcmp(x.root, LMU) != 0)
		rc = -EPROTO;
	for (size_t i = first; rc == 0 && i < out->n; i++) {
		if (!out->v[i].key || !out->v[i].upload_id)
			rc = -EPROTO;
		else if (us.url_encoded)
			rc = url_decode(out->v[i].key);
	}
	if (rc == 0 && us.url_encoded && page->next_key)
		rc = url_decode(page->next_key);
	if (rc == 0 && page->truncated &&
	    (!page->next_key || !page->next_upload_id))
		rc = -EPROTO; /* truncated without markers: no way on */
	if (rc) {
		for (size_t i = first; i < out->n; i++) {
			free(out->v[i].key);
			free(out->v[i].upload_id);
		}
		out->n = first;
		s3_xml_uploads_page_clear(page);
	}
	return rc;
}

void s3_xml_uploads_page_clear(struct s3_xml_uploads_page *page)
{
	free(page->next_key);
	free(page->next_upload_id);
	memset(page, 0, sizeof(*page));
}

/* ---- single-value documents ---------------------------------------------- */

struct value_state {
	const char *const *paths; /* NULL-terminated accepted paths, where
				   * "*" + "/NAME" is NAME under any root */
	char *value;		  /* malloc'd text of the first match */
};

static int value_end(struct xp *x, const char *path, const char *text,
		     size_t len)
{
	struct value_state *vs = x->user;

	const char *slash = strchr(path, '/');

	for (size_t i = 0; vs->paths[i]; i++) {
		const char *want = vs->paths[i];
		int hit = strcmp(path, want) == 0;

		if (!hit && want[0] == '*' && want[1] == '/' && slash)
			hit = strcmp(slash + 1, want + 2) == 0;
		if (hit && !vs->value) {
			vs->value = dup_n(text, len);
			return vs->value ? 0 : -ENOMEM;
		}
	}
	return 0;
}

/* *value = malloc'd text of the first element at one of paths. */
static int parse_value(const char *body, size_t len, const char *const *paths,
		       char **value, struct s3_xml_error *e)
{
	struct value_state vs = { .paths = paths };
	struct xp x = { .on_end = value_end, .user = &vs, .err = e };
	int rc = xp_run(&x, body, len);

	if (!rc && !vs.value)
		rc = -EPROTO;
	if (rc) {
		free(vs.value);
		vs.value = NULL;
	}
	*value = vs.value;
	return rc;
}

int s3_xml_parse_etag(const char *body, size_t len, char etag[REMOTE_ETAG_MAX],
		      struct s3_xml_error *e)
{
	/* CopyObjectResult, CopyPartResult, CompleteMultipartUploadResult;
	 * moto writes CompleteMultipartUploadResponse, so take any root. */
	static const char *const paths[] = { "*/ETag", NULL };
	char *v = NULL;
	int rc = parse_value(body, len, paths, &v, e);

	if (!rc)
		s3_etag_unquote(v, strlen(v), etag);
	free(v);
	return rc;
}

int s3_xml_parse_upload_id(const char *body, size_t len, char **upload_id,
			   struct s3_xml_error *e)
{
	static const char *const paths[] = {
		"InitiateMultipartUploadResult/UploadId",
		NULL,
	};
	int rc = parse_value(body, len, paths, upload_id, e);

	if (!rc && !**upload_id) {
		free(*upload_id);
		*upload_id = NULL;
		rc = -EPROTO;
	}
	return rc;
}

/* ---- DeleteResult -------------------------------------------------------- */

struct delete_state {
	size_t n_failed;
	struct s3_xml_error *first;
};

static int delete_start(struct xp *x, const char *path)
{
	struct delete_state *ds = x->user;

	if (strcmp(path, "DeleteResult/Error") == 0)
		ds->n_failed++;
	return 0;
}

static int delete_end(struct xp *x, const char *path, const char *text,
		      size_t len)
{
	struct delete_state *ds = x->user;

	if (strcmp(x->root, "DeleteResult") != 0)
		return -EPROTO;
	if (ds->n_failed != 1 || !ds->first)
		return 0;
	if (strcmp(path, "DeleteResult/Error/Key") == 0)
		copy_trunc(ds->first->key, sizeof(ds->first->key), text, len);
	else if (strcmp(path, "DeleteResult/Error/Code") == 0)
		copy_trunc(ds->first->code, sizeof(ds->first->code), text, len);
	else if (strcmp(path, "DeleteResult/Error/Message") == 0)
		copy_trunc(ds->first->message, sizeof(ds->first->message), text,
			   len);
	return 0;
}

int s3_xml_parse_delete(const char *body, size_t len, size_t *n_failed,
			struct s3_xml_error *e)
{
	struct delete_state ds = { .first = e };
	struct xp x = { .on_start = delete_start,
			.on_end = delete_end,
			.user = &ds,
			.err = e };
	int rc = xp_run(&x, body, len);

	if (!rc && strcmp(x.root, "DeleteResult") != 0)
		rc = -EPROTO;
	*n_failed = rc ? 0 : ds.n_failed;
	return rc;
}

/* ---- request bodies ------------------------------------------------------ */

int s3_xml_key_ok(const char *key)
{
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			return 0;
	}
	return 1;
}

/* Write s to f with XML escaping; tab, LF and CR as character references
 * so they survive end-of-line normalisation.  -EIO on a stream error. */
static int put_escaped(FILE *f, const char *s)
{
	int n = 0;

	for (; *s && n >= 0; s++) {
		switch (*s) {
		case '&':
			n = fputs("&amp;", f);
			break;
		case '<':
			n = fputs("&lt;", f);
			break;
		case '>':
			n = fputs("&gt;", f);
			break;
		case '"':
			n = fputs("&quot;", f);
			break;
		case '\'':
			n = fputs("&apos;", f);
			break;
		case '\t':
			n = fputs("&#9;", f);
			break;
		case '\n':
			n = fputs("&#10;", f);
			break;
		case '\r':
			n = fputs("&#13;", f);
			break;
		default:
			n = fputc(*s, f) == EOF ? -1 : 0;
			break;
		}
	}
	return n < 0 ? -EIO : 0;
}

/* Close the memstream f; on failure free *body.  Returns 0 or -ENOMEM. */
static int finish_body(FILE *f, int rc, char **body, size_t *len)
{
	if (fclose(f) != 0 && !rc)
		rc = -ENOMEM;
	if (rc) {
		free(*body);
		*body = NULL;
		*len = 0;
		return rc == -EIO ? -ENOMEM : rc;
	}
	return 0;
}

int s3_xml_delete_body(const char *const *keys, size_t n, char **body,
		       size_t *len)
{
	FILE *f = NULL;
	int rc = 0;

	*body = NULL;
	*len = 0;
	for (size_t i = 0; i < n; i++) {
		if (!s3_xml_key_ok(keys[i]))
			return -EINVAL;
	}
	f = open_memstream(body, len);
	if (!f)
		return -ENOMEM;
	if (fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Delete xmlns="
		  "\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		  "<Quiet>true</Quiet>",
		  f) < 0)
		rc = -EIO;
	for (size_t i = 0; i < n && !rc; i++) {
		if (fputs("<Object><Key>", f) < 0)
			rc = -EIO;
		if (!rc)
			rc = put_escaped(f, keys[i]);
		if (!rc && fputs("</Key></Object>", f) < 0)
			rc = -EIO;
	}
	if (!rc && fputs("</Delete>", f) < 0)
		rc = -EIO;
	return finish_body(f, rc, body, len);
}

int s3_xml_complete_body(const struct remote_part *parts, size_t n, char **body,
			 size_t *len)
{
	FILE *f = NULL;
	int rc = 0;

	*body = NULL;
	*len = 0;
	f = open_memstream(body, len);
	if (!f)
		return -ENOMEM;
	if (fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		  "<CompleteMultipartUpload xmlns="
		  "\"http://s3.amazonaws.com/doc/2006-03-01/\">",
		  f) < 0)
		rc = -EIO;
	for (size_t i = 0; i < n && !rc; i++) {
		char etag[REMOTE_ETAG_MAX];

		s3_etag_unquote(parts[i].etag, strlen(parts[i].etag), etag);
		if (fprintf(f, "<Part><PartNumber>%d</PartNumber><ETag>&quot;",
			    parts[i].number) < 0)
			rc = -EIO;
		if (!rc)
			rc = put_escaped(f, etag);
		if (!rc && fputs("&quot;</ETag></Part>", f) < 0)
			rc = -EIO;
	}
	if (!rc && fputs("</CompleteMultipartUpload>", f) < 0)
		rc = -EIO;
	return finish_body(f, rc, body, len);
}
