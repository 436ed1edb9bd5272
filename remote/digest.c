/*
 * digest.c - SHA-256 and MD5 through OpenSSL's EVP interface.
 */
#include "digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

struct digest_sha256 {
	EVP_MD_CTX *md;
};

struct digest_sha256 *digest_sha256_new(void)
{
	struct digest_sha256 *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->md = EVP_MD_CTX_new();
	if (!ctx->md || EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1) {
		digest_sha256_free(ctx);
		return NULL;
	}
	return ctx;
}

void digest_sha256_update(struct digest_sha256 *ctx, const void *buf, size_t len)
{
	EVP_DigestUpdate(ctx->md, buf, len);
}

void digest_sha256_final(struct digest_sha256 *ctx, char hex[DIGEST_SHA256_HEX])
{
	unsigned char raw[32];
	unsigned int n = 0;

	EVP_DigestFinal_ex(ctx->md, raw, &n);
	digest_hex(raw, 32, hex);
	digest_sha256_free(ctx);
}

void digest_sha256_free(struct digest_sha256 *ctx)
{
	if (!ctx)
		return;
	EVP_MD_CTX_free(ctx->md);
	free(ctx);
}

void digest_sha256_buf(const void *buf, size_t len, char hex[DIGEST_SHA256_HEX])
{
	unsigned char raw[32];
	unsigned int n = 0;

	EVP_Digest(buf, len, raw, &n, EVP_sha256(), NULL);
	digest_hex(raw, 32, hex);
}

/* The digest md of len bytes of fd from off, as hex into hex. */
static int digest_fd(const EVP_MD *md, int fd, uint64_t off, uint64_t len,
		     char *hex)
{
	enum { CHUNK = 1 << 20 };
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *buf = malloc(CHUNK);
	unsigned char raw[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	uint64_t done = 0;
	int rc = 0;

	if (!ctx || !buf || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		rc = -ENOMEM;
		goto out;
	}
	while (done < len) {
		size_t want = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
		ssize_t got = pread(fd, buf, want, (off_t)(off + done));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = -errno;
			goto out;
		}
		if (got == 0) {
			rc = -EIO;
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)got);
		done += (uint64_t)got;
	}
	EVP_DigestFinal_ex(ctx, raw, &n);
	digest_hex(raw, n, hex);
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

int digest_sha256_fd(int fd, uint64_t len, char hex[DIGEST_SHA256_HEX])
{
	return digest_fd(EVP_sha256(), fd, 0, len, hex);
}

int digest_md5_fd(int fd, uint64_t off, uint64_t len, char hex[33])
{
	return digest_fd(EVP_md5(), fd, off, len, hex);
}

void digest_md5(const void *buf, size_t len, unsigned char out[16])
{
	unsigned int n = 0;

	EVP_Digest(buf, len, out, &n, EVP_md5(), NULL);
}

void digest_hex(const unsigned char *raw, size_t n, char *out)
{
	static const char hexdig[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[raw[i] >> 4];
		out[2 * i + 1] = hexdig[raw[i] & 15];
	}
	out[2 * n] = '\0';
}

void digest_base64(const unsigned char *raw, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, raw, (int)n);
}
