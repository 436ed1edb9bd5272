/*
 * sigv4.c - AWS Signature Version 4 signing for S3 (see sigv4.h).
 *
 * A straight pipeline of small stages, each a pure function: encode,
 * canonical query, canonical headers, canonical request, string to sign,
 * signing key, signature.  Strings are built with open_memstream so no
 * stage has to guess a buffer size.  The secret only ever lives in the
 * HMAC key buffers, which are wiped before they go out of scope.
 */
#include "sigv4.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"

#define SHA256_LEN 32

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

char *sigv4_encode(const char *s, size_t len, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = NULL;
	size_t o = 0;

	out = malloc(len * 3 + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || (keep_slash && c == '/')) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/* An encoded query parameter, for sorting. */
struct enc_pair {
	char *name;
	char *value;
};

static int cmp_enc_pair(const void *a, const void *b)
{
	const struct enc_pair *x = a;
	const struct enc_pair *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

char *sigv4_query(const struct sigv4_pair *params, size_t n)
{
	struct enc_pair *enc = NULL;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = NULL;
	size_t made = 0;
	int ok = 0;

	if (n) {
		enc = calloc(n, sizeof(*enc));
		if (!enc)
			goto out;
	}
	for (made = 0; made < n; made++) {
		const char *v = params[made].value ? params[made].value : "";

		enc[made].name = sigv4_encode(params[made].name,
					      strlen(params[made].name), 0);
		enc[made].value = sigv4_encode(v, strlen(v), 0);
		if (!enc[made].name || !enc[made].value) {
			made++;
			goto out;
		}
	}
	if (n)
		qsort(enc, n, sizeof(*enc), cmp_enc_pair);
	f = open_memstream(&buf, &size);
	if (!f)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (fprintf(f, "%s%s=%s", i ? "&" : "", enc[i].name,
			    enc[i].value) < 0)
			goto out;
	}
	ok = 1;
out:
	if (f && fclose(f) != 0)
		ok = 0;
	for (size_t i = 0; i < made; i++) {
		free(enc[i].name);
		free(enc[i].value);
	}
	free(enc);
	if (!ok) {
		free(buf);
		buf = NULL;
	}
	return buf;
}

void sigv4_amz_date(time_t t, char out[SIGV4_DATE_LEN])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, SIGV4_DATE_LEN, "%Y%m%dT%H%M%SZ", &tm);
}

/* A header ready for the canonical form: lower-case name, trimmed value. */
struct canon_hdr {
	char *name;
	char *value;
};

static int cmp_canon_hdr(const void *a, const void *b)
{
	const struct canon_hdr *x = a;
	const struct canon_hdr *y = b;

	return strcmp(x->name, y->name);
}

/* Lower-case copy of s.  NULL on ENOMEM. */
static char *lower_dup(const char *s)
{
	char *d = strdup(s);

	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* Copy of v with leading and trailing spaces dropped and inner runs of
 * spaces collapsed to one, as SigV4 canonical headers want. */
static char *trim_dup(const char *v)
{
	char *d = malloc(strlen(v) + 1);
	size_t o = 0;
	int space = 0;

	if (!d)
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = 1;
			continue;
		}
		if (space && o)
			d[o++] = ' ';
		space = 0;
		d[o++] = *v;
	}
	d[o] = '\0';
	return d;
}

static void free_hdrs(struct canon_hdr *h, size_t n)
{
	for (size_t i = 0; h && i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

/* Canonical request into *creq and the signed-header list into *signed_hdrs
 * (both malloc'd).  -EINVAL if a required field is missing, -ENOMEM. */
static int build_canonical(const struct sigv4_request *req, char **creq,
			   char **signed_hdrs)
{
	struct canon_hdr *h = NULL;
	char *buf = NULL;
	size_t size = 0;
	char *sbuf = NULL;
	size_t ssize = 0;
	FILE *f = NULL;
	FILE *s = NULL;
	size_t made = 0;
	int rc = -ENOMEM;

	*creq = NULL;
	*signed_hdrs = NULL;
	if (!req->method || !req->uri || !req->payload_hash ||
	    (req->n_headers && !req->headers))
		return -EINVAL;
	if (req->n_headers) {
		h = calloc(req->n_headers, sizeof(*h));
		if (!h)
			goto out;
	}
	for (made = 0; made < req->n_headers; made++) {
		const char *v = req->headers[made].value;

		h[made].name = lower_dup(req->headers[made].name);
		h[made].value = trim_dup(v ? v : "");
		if (!h[made].name || !h[made].value) {
			made++;
			goto out;
		}
	}
	if (made)
		qsort(h, made, sizeof(*h), cmp_canon_hdr);
	f = open_memstream(&buf, &size);
	s = open_memstream(&sbuf, &ssize);
	if (!f || !s)
		goto out;
	if (fprintf(f, "%s\n%s\n%s\n", req->method, *req->uri ? req->uri : "/",
		    req->query ? req->query : "") < 0)
		goto out;
	for (size_t i = 0; i < made; i++) {
		if (fprintf(f, "%s:%s\n", h[i].name, h[i].value) < 0 ||
		    fprintf(s, "%s%s", i ? ";" : "", h[i].name) < 0)
			goto out;
	}
	if (fclose(s) != 0) {
		s = NULL;
		goto out;
	}
	s = NULL;
	if (fprintf(f, "\n%s\n%s", sbuf, req->payload_hash) < 0)
		goto out;
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	rc = 0;
out:
	if (f)
		fclose(f);
	if (s)
		fclose(s);
	free_hdrs(h, made);
	if (rc) {
		free(buf);
		free(sbuf);
	} else {
		*creq = buf;
		*signed_hdrs = sbuf;
	}
	return rc;
}

char *sigv4_canonical_request(const struct sigv4_request *req)
{
	char *creq = NULL;
	char *sh = NULL;

	if (build_canonical(req, &creq, &sh))
		return NULL;
	free(sh);
	return creq;
}

/* out = HMAC-SHA256(key, data).  -EIO if libcrypto fails. */
static int hmac(const unsigned char *key, size_t klen, const char *data,
		unsigned char out[SHA256_LEN])
{
	unsigned char tmp[SHA256_LEN];
	unsigned int n = 0;

	/* Through tmp, so out may be the key buffer itself. */
	if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)data,
		  strlen(data), tmp, &n) ||
	    n != SHA256_LEN)
		return -EIO;
	memcpy(out, tmp, SHA256_LEN);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return 0;
}

int sigv4_sign(const struct sigv4_request *req, char **auth)
{
	char amz_date[SIGV4_DATE_LEN];
	char day[9];
	char scope[256];
	char creq_hash[DIGEST_SHA256_HEX];
	char sig_hex[2 * SHA256_LEN + 1];
	unsigned char k[SHA256_LEN];
	unsigned char sig[SHA256_LEN];
	char *creq = NULL;
	char *signed_hdrs = NULL;
	char *sts = NULL;
	char *secret = NULL;
	size_t slen = 0;
	int n;
	int rc;

	*auth = NULL;
	if (!req->region || !req->service || !req->access_key ||
	    !req->secret_key)
		return -EINVAL;
	rc = build_canonical(req, &creq, &signed_hdrs);
	if (rc)
		goto out;
	sigv4_amz_date(req->now, amz_date);
	memcpy(day, amz_date, 8);
	day[8] = '\0';
	n = snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", day,
		     req->region, req->service);
	if (n < 0 || (size_t)n >= sizeof(scope)) {
		rc = -EINVAL;
		goto out;
	}
	digest_sha256_buf(creq, strlen(creq), creq_hash);
	if (asprintf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope,
		     creq_hash) < 0) {
		sts = NULL;
		rc = -ENOMEM;
		goto out;
	}
	/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region),
	 * service), "aws4_request"); the signature is HMAC(kSigning, sts). */
	slen = 4 + strlen(req->secret_key);
	secret = malloc(slen + 1);
	if (!secret) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(secret, "AWS4", 4);
	memcpy(secret + 4, req->secret_key, slen - 4 + 1);
	rc = hmac((unsigned char *)secret, slen, day, k);
	if (!rc)
		rc = hmac(k, SHA256_LEN, req->region, k);
	if (!rc)
		rc = hmac(k, SHA256_LEN, req->service, k);
	if (!rc)
		rc = hmac(k, SHA256_LEN, "aws4_request", k);
	if (!rc)
		rc = hmac(k, SHA256_LEN, sts, sig);
	if (rc)
		goto out;
	digest_hex(sig, SHA256_LEN, sig_hex);
	if (asprintf(auth,
		     "AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,"
		     "Signature=%s",
		     req->access_key, scope, signed_hdrs, sig_hex) < 0) {
		*auth = NULL;
		rc = -ENOMEM;
	}
out:
	if (secret) {
		OPENSSL_cleanse(secret, slen);
		free(secret);
	}
	OPENSSL_cleanse(k, sizeof(k));
	free(creq);
	free(signed_hdrs);
	free(sts);
	return rc;
}
