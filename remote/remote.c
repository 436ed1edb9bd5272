/*
 * remote.c - the wrappers every caller goes through, and the small owned
 * types of remote.h (metadata, stat, listing, error).
 *
 * The wrappers do what is the same for every backend: prepend the store
 * prefix, refuse over-long keys, strip the prefix from listings, and make
 * sure a failure always carries a message.  Backends never see a key
 * without its prefix and never have to think about it.
 */
#include "remote.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote_int.h"

int remote_error_set(struct remote_error *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->msg[0])
		return rc;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- metadata ---------------------------------------------------------- */

int remote_meta_set(struct remote_meta *m, const char *name, const char *value)
{
	struct remote_kv *kv = NULL;
	char *n = NULL;
	char *v = NULL;

	v = strdup(value);
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->kv[i].name, name) == 0) {
			free(m->kv[i].value);
			m->kv[i].value = v;
			return 0;
		}
	}
	n = strdup(name);
	kv = realloc(m->kv, (m->n + 1) * sizeof(*kv));
	if (!n || !kv) {
		free(n);
		free(v);
		if (kv)
			m->kv = kv;
		return -ENOMEM;
	}
	m->kv = kv;
	m->kv[m->n].name = n;
	m->kv[m->n].value = v;
	m->n++;
	return 0;
}

const char *remote_meta_get(const struct remote_meta *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->kv[i].name, name) == 0)
			return m->kv[i].value;
	return NULL;
}

int remote_meta_remove(struct remote_meta *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->kv[i].name, name) != 0)
			continue;
		free(m->kv[i].name);
		free(m->kv[i].value);
		m->kv[i] = m->kv[m->n - 1];
		m->n--;
		return 0;
	}
	return -ENOENT;
}

int remote_meta_copy(struct remote_meta *dst, const struct remote_meta *src)
{
	int rc;

	remote_meta_clear(dst);
	for (size_t i = 0; i < src->n; i++) {
		rc = remote_meta_set(dst, src->kv[i].name, src->kv[i].value);
		if (rc) {
			remote_meta_clear(dst);
			return rc;
		}
	}
	return 0;
}

void remote_meta_clear(struct remote_meta *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->kv[i].name);
		free(m->kv[i].value);
	}
	free(m->kv);
	m->kv = NULL;
	m->n = 0;
}

void remote_stat_clear(struct remote_stat *st)
{
	if (!st)
		return;
	remote_meta_clear(&st->meta);
	memset(st, 0, sizeof(*st));
}

void remote_list_clear(struct remote_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_entries; i++)
		free(l->entries[i].key);
	for (size_t i = 0; i < l->n_prefixes; i++)
		free(l->prefixes[i]);
	free(l->entries);
	free(l->prefixes);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

/* ---- open / close ------------------------------------------------------- */

int remote_open(const struct remote_config *cfg, struct remote **out,
		struct remote_error *err)
{
	const char *url = cfg->url;

	*out = NULL;
	if (!url || !*url)
		return remote_error_set(err, -EINVAL, "no remote given");
	if (strncmp(url, "file://", 7) == 0)
		return remote_file_open(cfg, url + 7, out, err);
	if (strncmp(url, "s3://", 5) == 0)
		return remote_s3_open(cfg, url + 5, out, err);
	return remote_error_set(err, -EINVAL,
				"unsupported remote '%.100s' (use file:///DIR "
				"or s3://BUCKET[/PREFIX])",
				url);
}

void remote_close(struct remote *r)
{
	if (r)
		r->ops->destroy(r);
}

const char *remote_name(const struct remote *r)
{
	return r->name;
}

void remote_cancel(struct remote *r)
{
	__atomic_store_n(&r->cancelled, 1, __ATOMIC_SEQ_CST);
	if (r->ops->cancel)
		r->ops->cancel(r);
}

int remote_cancelled(const struct remote *r)
{
	return __atomic_load_n(&r->cancelled, __ATOMIC_SEQ_CST);
}

unsigned remote_caps(const struct remote *r)
{
	return __atomic_load_n(&r->caps, __ATOMIC_RELAXED);
}

size_t remote_key_room(const struct remote *r)
{
	size_t plen = strlen(r->prefix);

	return plen < REMOTE_KEY_MAX ? REMOTE_KEY_MAX - plen : 0;
}

/* ---- warnings and printing ----------------------------------------------- */

char *remote_printable(const char *s, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (n == 0)
		return out;
	for (; *s && o + 1 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != 0x7f) {
			out[o++] = (char)c;
			continue;
		}
		if (o + 5 >= n)
			break;
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	out[o] = '\0';
	return out;
}

void remote_set_warn(struct remote *r, void (*fn)(void *ctx, const char *msg),
		     void *ctx)
{
	r->warn = fn;
	r->warn_ctx = ctx;
}

void remote_warn(struct remote *r, const char *fmt, ...)
{
	char msg[1024];
	char safe[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	remote_printable(msg, safe, sizeof(safe));
	if (r->warn)
		r->warn(r->warn_ctx, safe);
	else
		fprintf(stderr, "artifactfs: warning: %s\n", safe);
}

/* ---- key handling ------------------------------------------------------- */

int remote_key_valid(const char *key)
{
	const char *seg = key;

	if (!key || !key[0] || strlen(key) > REMOTE_KEY_MAX)
		return 0;
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);

		if (n == 0)
			return 0; /* leading '/', "//" */
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (!end || end[1] == '\0')
			return 1; /* the last segment, or a marker's '/' */
		seg = end + 1;
	}
}

/* *full = prefix + key, owned by the caller.  -ENAMETOOLONG past
 * REMOTE_KEY_MAX bytes, -EINVAL for an empty key or one that
 * remote_key_valid refuses (no request is ever built for it). */
static int full_key(struct remote *r, const char *key, char **full,
		    struct remote_error *err)
{
	size_t plen = strlen(r->prefix);
	size_t klen = strlen(key);
	char safe[256];

	*full = NULL;
	if (klen == 0)
		return remote_error_set(err, -EINVAL, "empty object key");
	if (klen <= REMOTE_KEY_MAX && !remote_key_valid(key))
		return remote_error_set(
			err, -EINVAL,
			"refusing key '%s': it has an empty, "
			"'.' or '..' segment",
			remote_printable(key, safe, sizeof(safe)));
	if (plen + klen > REMOTE_KEY_MAX)
		return remote_error_set(err, -ENAMETOOLONG,
					"object key is %zu bytes, more than "
					"the %d allowed",
					plen + klen, REMOTE_KEY_MAX);
	*full = malloc(plen + klen + 1);
	if (!*full)
		return -ENOMEM;
	memcpy(*full, r->prefix, plen);
	memcpy(*full + plen, key, klen + 1);
	return 0;
}

/* Make sure a failure leaves a message behind, whatever the backend did. */
static int finish(struct remote *r, int rc, const char *what, const char *key,
		  struct remote_error *err)
{
	if (rc == -ENOENT)
		remote_error_set(err, rc, "'%.200s' not found on %s", key,
				 r->name);
	else if (rc == -EEXIST)
		remote_error_set(err, rc, "'%.200s' already exists on %s", key,
				 r->name);
	else if (rc < 0)
		remote_error_set(err, rc, "%s '%.200s' on %s failed: %s", what,
				 key, r->name, strerror(-rc));
	return rc;
}

int remote_check(struct remote *r, struct remote_error *err)
{
	return finish(r, r->ops->check(r, err), "checking", "", err);
}

int remote_head(struct remote *r, const char *key, struct remote_stat *st,
		struct remote_error *err)
{
	char *full = NULL;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = full_key(r, key, &full, err);
	if (rc)
		goto out;
	rc = r->ops->head(r, full, st, err);
out:
	free(full);
	return finish(r, rc, "HEAD", key, err);
}

int remote_get(struct remote *r, const char *key, uint64_t off, size_t len,
	       void *buf, size_t *got, const char *if_etag,
	       struct remote_error *err)
{
	char *full = NULL;
	int rc;

	*got = 0;
	rc = full_key(r, key, &full, err);
	if (rc)
		goto out;
	if (len == 0)
		goto out;
	rc = r->ops->get(r, full, off, len, buf, got, if_etag, err);
out:
	free(full);
	return finish(r, rc, "GET", key, err);
}

int remote_put(struct remote *r, const char *key,
	       const struct remote_body *body,
	       const struct remote_put_opts *opts, char *etag_out,
	       struct remote_error *err)
{
	static const struct remote_put_opts none;
	char *full = NULL;
	int rc;

	if (body->len > REMOTE_PUT_MAX)
		return remote_error_set(err, -EFBIG,
					"single PUT of %llu bytes is too big",
					(unsigned long long)body->len);
	rc = full_key(r, key, &full, err);
	if (rc)
		goto out;
	rc = r->ops->put(r, full, body, opts ? opts : &none, etag_out, err);
out:
	free(full);
	return finish(r, rc, "PUT", key, err);
}

int remote_copy(struct remote *r, const char *src, const char *dst,
		const struct remote_put_opts *replace, struct remote_error *err)
{
	char *fsrc = NULL;
	char *fdst = NULL;
	int rc;

	rc = full_key(r, src, &fsrc, err);
	if (rc)
		goto out;
	rc = full_key(r, dst, &fdst, err);
	if (rc)
		goto out;
	rc = r->ops->copy(r, fsrc, fdst, replace, err);
out:
	free(fsrc);
	free(fdst);
	return finish(r, rc, "COPY", src, err);
}

int remote_delete(struct remote *r, const char *key, struct remote_error *err)
{
	char *full = NULL;
	int rc;

	rc = full_key(r, key, &full, err);
	if (rc)
		goto out;
	rc = r->ops->del(r, full, err);
out:
	free(full);
	return finish(r, rc, "DELETE", key, err);
}

int remote_delete_many(struct remote *r, const char *const *keys, size_t n,
		       struct remote_error *err)
{
	char **full = NULL;
	size_t made = 0;
	int rc = 0;

	if (n == 0)
		return 0;
	if (n > 1000)
		return remote_error_set(
			err, -EINVAL, "batch delete of %zu keys (max 1000)", n);
	full = calloc(n, sizeof(*full));
	if (!full)
		return -ENOMEM;
	for (made = 0; made < n; made++) {
		rc = full_key(r, keys[made], &full[made], err);
		if (rc)
			goto out;
	}
	rc = r->ops->del_many(r, (const char *const *)full, n, err);
out:
	for (size_t i = 0; i < made; i++)
		free(full[i]);
	free(full);
	return finish(r, rc, "batch DELETE", n ? keys[0] : "", err);
}

/* Whether a listed key (with the store prefix) is one we may show: under
 * the prefix asked for, usable, after start_after and after prev.  The
 * reason when not, else NULL. */
static const char *bad_key(const char *key, const char *asked, size_t alen,
			   const char *after, const char *prev)
{
	if (strncmp(key, asked, alen) != 0)
		return "outside the prefix asked for";
	if (strlen(key) > REMOTE_KEY_MAX)
		return "longer than 1024 bytes";
	if (!remote_key_valid(key))
		return "an empty, '.' or '..' segment";
	if (after && strcmp(key, after) <= 0)
		return "not after start-after";
	if (prev && strcmp(key, prev) <= 0)
		return "a duplicate, or out of order";
	return NULL;
}

/* Drop what bad_key refuses from a page (keys still with the store
 * prefix), warning once per page with the first one. */
static void validate_page(struct remote *r, const struct remote_list_opts *o,
			  struct remote_list *l)
{
	size_t alen = o->prefix ? strlen(o->prefix) : 0;
	const char *after =
		o->start_after && *o->start_after ? o->start_after : NULL;
	const char *why = NULL, *first = NULL;
	char *first_copy = NULL;
	size_t keep = 0;
	const char *prev = NULL;

	for (size_t i = 0; i < l->n_entries; i++) {
		const char *w = bad_key(l->entries[i].key, o->prefix, alen,
					after, prev);

		if (w) {
			if (!why) {
				why = w;
				first_copy = strdup(l->entries[i].key);
			}
			free(l->entries[i].key);
			l->n_skipped++;
			continue;
		}
		l->entries[keep++] = l->entries[i];
		prev = l->entries[keep - 1].key;
	}
	l->n_entries = keep;
	keep = 0;
	prev = NULL;
	for (size_t i = 0; i < l->n_prefixes; i++) {
		const char *p = l->prefixes[i];
		size_t n = strlen(p);
		/* (a prefix may sort before start-after and still hold keys
		 * after it) */
		const char *w = bad_key(p, o->prefix, alen, NULL, prev);

		if (!w && (n <= alen || (o->delimiter && *o->delimiter &&
					 p[n - 1] != o->delimiter[0])))
			w = "not a sub-prefix of the prefix asked for";
		if (w) {
			if (!why) {
				why = w;
				first_copy = strdup(p);
			}
			free(l->prefixes[i]);
			l->n_skipped++;
			continue;
		}
		l->prefixes[keep++] = l->prefixes[i];
		prev = l->prefixes[keep - 1];
	}
	l->n_prefixes = keep;
	first = first_copy ? first_copy : "?";
	if (why)
		remote_warn(r,
			    "listing '%.200s' on %s: skipped %zu answer(s) "
			    "the server should not give, first '%.300s' (%s)",
			    o->prefix, r->name, l->n_skipped, first, why);
	free(first_copy);
}

/* Strip r->prefix from the front of *s in place (memmove). */
static void strip_prefix(const char *prefix, size_t plen, char *s)
{
	if (plen && strncmp(s, prefix, plen) == 0)
		memmove(s, s + plen, strlen(s + plen) + 1);
}

int remote_list(struct remote *r, const struct remote_list_opts *opts,
		struct remote_list *out, struct remote_error *err)
{
	struct remote_list_opts o = *opts;
	size_t plen = strlen(r->prefix);
	char *fprefix = NULL;
	char *fafter = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	fprefix = malloc(plen + (o.prefix ? strlen(o.prefix) : 0) + 1);
	if (!fprefix) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(fprefix, r->prefix, plen);
	memcpy(fprefix + plen, o.prefix ? o.prefix : "",
	       (o.prefix ? strlen(o.prefix) : 0) + 1);
	o.prefix = fprefix;
	if (o.start_after && *o.start_after) {
		rc = full_key(r, o.start_after, &fafter, err);
		if (rc)
			goto out;
		o.start_after = fafter;
	}
	rc = r->ops->list(r, &o, out, err);
	if (rc)
		goto out;
	if (out->next_token && o.token &&
	    strcmp(out->next_token, o.token) == 0) {
		rc = remote_error_set(err, -EIO,
				      "listing '%.200s' on %s: the server "
				      "repeated its continuation token, so "
				      "the listing would never end",
				      opts->prefix ? opts->prefix : "",
				      r->name);
		goto out;
	}
	validate_page(r, &o, out);
	for (size_t i = 0; i < out->n_entries; i++)
		strip_prefix(r->prefix, plen, out->entries[i].key);
	for (size_t i = 0; i < out->n_prefixes; i++)
		strip_prefix(r->prefix, plen, out->prefixes[i]);
out:
	if (rc)
		remote_list_clear(out);
	free(fprefix);
	free(fafter);
	return finish(r, rc, "LIST", opts->prefix ? opts->prefix : "", err);
}

/* The greatest key or prefix of a page (both are sorted), or NULL. */
static const char *page_last(const struct remote_list *l)
{
	const char *e = l->n_entries ? l->entries[l->n_entries - 1].key : NULL;
	const char *p = l->n_prefixes ? l->prefixes[l->n_prefixes - 1] : NULL;

	if (!e)
		return p;
	if (!p)
		return e;
	return strcmp(e, p) > 0 ? e : p;
}

/* Whether every key and prefix of l comes after last. */
static int page_after(const struct remote_list *l, const char *last)
{
	for (size_t i = 0; i < l->n_entries; i++)
		if (strcmp(l->entries[i].key, last) <= 0)
			return 0;
	for (size_t i = 0; i < l->n_prefixes; i++)
		if (strcmp(l->prefixes[i], last) <= 0)
			return 0;
	return 1;
}

int remote_list_pages(struct remote *r, const struct remote_list_opts *opts,
		      int (*each)(struct remote_list *page, void *ctx),
		      void *ctx, struct remote_error *err)
{
	struct remote_list_opts o = *opts;
	struct remote_list page = { 0 };
	char *token = NULL;
	char *last = NULL;
	unsigned empty = 0;
	int rc = 0;

	for (;;) {
		const char *pl;

		o.token = token;
		rc = remote_list(r, &o, &page, err);
		if (rc)
			break;
		if (last && !page_after(&page, last)) {
			rc = remote_error_set(err, -EIO,
					      "listing '%.200s' on %s went "
					      "backwards: the server repeats "
					      "itself",
					      opts->prefix ? opts->prefix : "",
					      r->name);
			break;
		}
		empty = page.n_entries + page.n_prefixes ? 0 : empty + 1;
		if (empty > REMOTE_LIST_EMPTY_MAX) {
			rc = remote_error_set(
				err, -EIO,
				"listing '%.200s' on %s: %d empty "
				"pages in a row",
				opts->prefix ? opts->prefix : "", r->name,
				REMOTE_LIST_EMPTY_MAX);
			break;
		}
		pl = page_last(&page);
		if (pl) {
			free(last);
			last = strdup(pl);
			if (!last) {
				rc = -ENOMEM;
				break;
			}
		}
		rc = each(&page, ctx);
		if (rc)
			break;
		free(token);
		token = NULL;
		if (!page.next_token)
			break;
		token = strdup(page.next_token);
		if (!token) {
			rc = -ENOMEM;
			break;
		}
		remote_list_clear(&page);
	}
	remote_list_clear(&page);
	free(token);
	free(last);
	return rc;
}

/* ---- multipart ---------------------------------------------------------- */

int remote_mpu_create(struct remote *r, const char *key,
		      const struct remote_put_opts *opts, char **upload_id,
		      struct remote_error *err)
{
	static const struct remote_put_opts none;
	char *full = NULL;
	int rc;

	*upload_id = NULL;
	rc = full_key(r, key, &full, err);
	if (rc)
		goto out;
	rc = r->ops->mpu_create(r, full, opts ? opts : &none, upload_id, err);
out:
	free(full);
	return finish(r, rc, "multipart create", key, err);
}

int remote_mpu_put_part(struct remote *r, const char *key,
			const char *upload_id, int part,
			const struct remote_body *body, char *etag_out,
			struct remote_error *err)
{
	char *full = NULL;
	int rc;

	if (part < 1 || part > REMOTE_PARTS_MAX)
		return remote_error_set(err, -EINVAL, "part number %d", part);
	rc = full_key(r, key, &full, err);
	if (rc)
		goto out;
	rc = r->ops->mpu_put_part(r, full, upload_id, part, body, etag_out,
				  err);
out:
	free(full);
	return finish(r, rc, "multipart upload", key, err);
}

int remote_mpu_copy_part(struct remote *r, const char *key,
			 const char *upload_id, int part, const char *src,
			 uint64_t off, uint64_t len, char *etag_out,
			 struct remote_error *err)
{
	char *full = NULL;
	char *fsrc = NULL;
	int rc;

	if (part < 1 || part > REMOTE_PARTS_MAX)
		return remote_error_set(err, -EINVAL, "part number %d", part);
	rc = full_key(r, key, &full, err);
	if (rc)
		goto out;
	rc = full_key(r, src, &fsrc, err);
	if (rc)
		goto out;
	rc = r->ops->mpu_copy_part(r, full, upload_id, part, fsrc, off, len,
				   etag_out, err);
out:
	free(full);
	free(fsrc);
	return finish(r, rc, "multipart copy", key, err);
}

int remote_mpu_complete(struct remote *r, const char *key,
			const char *upload_id, const struct remote_part *parts,
			size_t n, char *etag_out, struct remote_error *err)
{
	char *full = NULL;
	int rc;

	if (n == 0 || n > REMOTE_PARTS_MAX)
		return remote_error_set(err, -EINVAL, "%zu parts", n);
	rc = full_key(r, key, &full, err);
	if (rc)
		goto out;
	rc = r->ops->mpu_complete(r, full, upload_id, parts, n, etag_out, err);
out:
	free(full);
	return finish(r, rc, "multipart complete", key, err);
}

int remote_mpu_abort(struct remote *r, const char *key, const char *upload_id,
		     struct remote_error *err)
{
	char *full = NULL;
	int rc;

	rc = full_key(r, key, &full, err);
	if (rc)
		goto out;
	rc = r->ops->mpu_abort(r, full, upload_id, err);
out:
	free(full);
	return finish(r, rc, "multipart abort", key, err);
}

void remote_uploads_clear(struct remote_uploads *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++) {
		free(u->v[i].key);
		free(u->v[i].upload_id);
	}
	free(u->v);
	u->v = NULL;
	u->n = 0;
}

int remote_mpu_list(struct remote *r, const char *prefix,
		    struct remote_uploads *out, struct remote_error *err)
{
	size_t plen = strlen(r->prefix);
	size_t alen;
	char *full = NULL;
	size_t keep = 0, skipped = 0;
	char first[256] = "";
	int rc;

	memset(out, 0, sizeof(*out));
	if (!r->ops->mpu_list)
		return 0; /* a backend without uploads has none left over */
	if (asprintf(&full, "%s%s", r->prefix, prefix ? prefix : "") < 0)
		return -ENOMEM;
	alen = strlen(full);
	rc = r->ops->mpu_list(r, full, out, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < out->n; i++) {
		struct remote_upload *u = &out->v[i];

		if (!u->key || !u->upload_id ||
		    strncmp(u->key, full, alen) != 0 ||
		    !remote_key_valid(u->key)) {
			if (!skipped++ && u->key)
				remote_printable(u->key, first, sizeof(first));
			free(u->key);
			free(u->upload_id);
			continue;
		}
		memmove(u->key, u->key + plen, strlen(u->key + plen) + 1);
		out->v[keep++] = *u;
	}
	out->n = keep;
	if (skipped)
		remote_warn(r,
			    "listing uploads under '%.200s' on %s: skipped "
			    "%zu the server should not give, first '%s'",
			    full, r->name, skipped, first);
out:
	if (rc)
		remote_uploads_clear(out);
	free(full);
	return finish(r, rc, "LIST uploads", prefix ? prefix : "", err);
}
