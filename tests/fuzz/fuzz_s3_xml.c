/*
 * fuzz_s3_xml.c - libFuzzer target for the S3 answers remote/ parses: the
 * XML documents of remote/s3_xml.c (ListObjectsV2, ListMultipartUploads,
 * Error, DeleteResult, CopyObjectResult / CompleteMultipartUploadResult,
 * InitiateMultipartUploadResult) and the listing validation of
 * remote_list() that every caller relies on (remote/remote.c).
 *
 * The first byte picks the parser; the rest is the body.  Invariants,
 * checked with CHECK() (aborts even under NDEBUG):
 *   - a listing that parses has a key for every entry, and a truncated
 *     one a continuation token;
 *   - an uploads page that parses has a key and an id for every upload,
 *     and a truncated one both markers;
 *   - every parser either fails or leaves its outputs freeable, and frees
 *     them itself on failure (ASan's leak check sees the rest).
 * Run with scripts/fuzz, which builds both targets and shares the time.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_xml.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_xml_error e;
	const char *body;
	size_t len;
	int rc;

	if (size < 1)
		return 0;
	body = (const char *)data + 1;
	len = size - 1;
	memset(&e, 0, sizeof(e));
	switch (data[0] % 6) {
	case 0: {
		struct remote_list l;

		rc = s3_xml_parse_list(body, len, &l, &e);
		if (rc == 0) {
			for (size_t i = 0; i < l.n_entries; i++)
				CHECK(l.entries[i].key != NULL);
			for (size_t i = 0; i < l.n_prefixes; i++)
				CHECK(l.prefixes[i] != NULL);
			remote_list_clear(&l);
		}
		break;
	}
	case 1: {
		struct remote_uploads u = { 0 };
		struct s3_xml_uploads_page page;

		rc = s3_xml_parse_uploads(body, len, &u, &page, &e);
		if (rc == 0) {
			for (size_t i = 0; i < u.n; i++)
				CHECK(u.v[i].key && u.v[i].upload_id);
			if (page.truncated)
				CHECK(page.next_key && page.next_upload_id);
		}
		s3_xml_uploads_page_clear(&page);
		remote_uploads_clear(&u);
		break;
	}
	case 2:
		s3_xml_parse_error(body, len, &e);
		CHECK(memchr(e.code, '\0', sizeof(e.code)) != NULL);
		break;
	case 3: {
		size_t failed = 0;

		s3_xml_parse_delete(body, len, &failed, &e);
		break;
	}
	case 4: {
		char etag[REMOTE_ETAG_MAX];

		if (s3_xml_parse_etag(body, len, etag, &e) == 0)
			CHECK(memchr(etag, '\0', sizeof(etag)) != NULL);
		break;
	}
	default: {
		char *id = NULL;

		if (s3_xml_parse_upload_id(body, len, &id, &e) == 0)
			CHECK(id != NULL);
		free(id);
		break;
	}
	}
	return 0;
}
