/*
 * digest.h - content hashes (OpenSSL libcrypto underneath).
 *
 * We use libcrypto rather than our own SHA-256/MD5: it is audited, uses the
 * CPU's SHA extensions, and is already linked by libcurl's OpenSSL flavour.
 */
#ifndef ARTIFACTFS_REMOTE_DIGEST_H
#define ARTIFACTFS_REMOTE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_SHA256_HEX 65 /* 64 hex digits and NUL */

/* Incremental SHA-256.  digest_sha256_new() returns NULL on ENOMEM;
 * digest_sha256_final() writes the hex digest and frees ctx. */
struct digest_sha256;
struct digest_sha256 *digest_sha256_new(void);
void digest_sha256_update(struct digest_sha256 *ctx, const void *buf, size_t len);
void digest_sha256_final(struct digest_sha256 *ctx, char hex[DIGEST_SHA256_HEX]);
/* Free without a result (error paths).  NULL is fine. */
void digest_sha256_free(struct digest_sha256 *ctx);

/* SHA-256 of buf, as hex. */
void digest_sha256_buf(const void *buf, size_t len, char hex[DIGEST_SHA256_HEX]);
/* SHA-256 of the first len bytes of fd (pread from 0).  -errno on a read
 * error, -EIO if the file is shorter than len. */
int digest_sha256_fd(int fd, uint64_t len, char hex[DIGEST_SHA256_HEX]);

/* MD5 of buf: raw 16 bytes. */
void digest_md5(const void *buf, size_t len, unsigned char out[16]);
/* MD5 hex of len bytes of fd from off; errors as digest_sha256_fd(). */
int digest_md5_fd(int fd, uint64_t off, uint64_t len, char hex[33]);
/* Hex of n raw bytes into out (2n+1 bytes). */
void digest_hex(const unsigned char *raw, size_t n, char *out);
/* Base64 of n raw bytes into out (4*((n+2)/3)+1 bytes). */
void digest_base64(const unsigned char *raw, size_t n, char *out);

#endif
