/*
 * fuzz_headers.c - libFuzzer target for the S3 response headers the s3://
 * backend reads (ETag, Content-Type, Content-Length, Last-Modified,
 * x-amz-meta-*): remote/s3.c's on_header(), which is static, so this file
 * includes s3.c itself.  Each input is split at newlines into header lines
 * and fed to on_header as curl would, then the request is cleared.
 *
 * Invariants, checked with CHECK() (aborts even under NDEBUG):
 *   - the ETag and Content-Type fields stay terminated and unquoted;
 *   - every metadata name kept is lower case and every value holds no
 *     CR, LF or NUL (so it can never end a header early when sent back).
 */
#include "../../remote/s3.c"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req q;
	size_t start = 0;
	char *copy = malloc(size + 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	memset(&q, 0, sizeof(q));
	q.want_meta = 1;
	for (size_t i = 0; i <= size; i++) {
		if (i < size && copy[i] != '\n')
			continue;
		if (i > start)
			on_header(copy + start, 1, i - start + (i < size), &q);
		start = i + 1;
	}
	CHECK(memchr(q.etag, '\0', sizeof(q.etag)) != NULL);
	CHECK(memchr(q.content_type, '\0', sizeof(q.content_type)) != NULL);
	CHECK(q.etag[0] != '"');
	for (size_t i = 0; i < q.meta.n; i++) {
		for (const char *p = q.meta.kv[i].name; *p; p++)
			CHECK(!(*p >= 'A' && *p <= 'Z'));
		CHECK(strpbrk(q.meta.kv[i].value, "\r\n") == NULL);
	}
	req_clear(&q);
	free(copy);
	return 0;
}
