/*
 * s3_xml.h - the XML documents of the S3 API: parse responses, build
 * request bodies.  Private to the s3:// backend.
 *
 * Parsing goes through expat (namespace-aware, so a default or prefixed
 * xmlns makes no difference; DTD entity declarations are refused).  Each
 * parser takes the whole body in memory, as the S3 backend collects it.
 *
 * Return values shared by every parser:
 *   0            the expected document, outputs filled
 *   -EREMOTEIO   the body is an <Error> document; *e has its Code/Message.
 *                (S3 can answer 200 with an <Error> body, e.g. for
 *                CompleteMultipartUpload and CopyObject.)
 *   -EPROTO      not XML, or not the document expected
 *   -ENOMEM
 * Outputs are only valid on 0, and are freed by the parser otherwise.
 */
#ifndef ARTIFACTFS_REMOTE_S3_XML_H
#define ARTIFACTFS_REMOTE_S3_XML_H

#include <stddef.h>
#include <time.h>

#include "remote.h"

/* An S3 error: the <Error> document, or one entry of a DeleteResult. */
struct s3_xml_error {
	char code[64];	   /* "NoSuchKey"; "" when unknown */
	char message[256]; /* the server's sentence, truncated */
	char key[256];	   /* DeleteResult entries: the key, truncated */
};

int s3_xml_parse_error(const char *body, size_t len, struct s3_xml_error *e);

/* One ListObjectsV2 page into *out (zeroed first; free with
 * remote_list_clear()).  Keys are decoded when the response says
 * <EncodingType>url</EncodingType>; full keys, prefix not stripped. */
int s3_xml_parse_list(const char *body, size_t len, struct remote_list *out,
		      struct s3_xml_error *e);

/* One ListMultipartUploadsResult page: its uploads are appended to *out
 * (keys decoded when EncodingType is url; full keys); the markers of the
 * next page go into *page (free with s3_xml_uploads_page_clear).  A
 * truncated page without both markers is -EPROTO.  On failure nothing is
 * appended. */
struct s3_xml_uploads_page {
	char *next_key;
	char *next_upload_id;
	int truncated;
};
int s3_xml_parse_uploads(const char *body, size_t len,
			 struct remote_uploads *out,
			 struct s3_xml_uploads_page *page,
			 struct s3_xml_error *e);
void s3_xml_uploads_page_clear(struct s3_xml_uploads_page *page);

/* The unquoted ETag of a CopyObjectResult, CopyPartResult or
 * CompleteMultipartUploadResult. */
int s3_xml_parse_etag(const char *body, size_t len, char etag[REMOTE_ETAG_MAX],
		      struct s3_xml_error *e);

/* The UploadId of an InitiateMultipartUploadResult; *upload_id is malloc'd
 * and freed by the caller. */
int s3_xml_parse_upload_id(const char *body, size_t len, char **upload_id,
			   struct s3_xml_error *e);

/* A DeleteResult: *n_failed is the number of <Error> entries; the first one
 * is in *e (key, code, message).  Deleted entries are ignored. */
int s3_xml_parse_delete(const char *body, size_t len, size_t *n_failed,
			struct s3_xml_error *e);

/* The body of a DeleteObjects request in quiet mode.  *body is malloc'd
 * (caller frees), *len its length.  -EINVAL if a key holds a control
 * character XML 1.0 cannot carry (see s3_xml_key_ok()); -ENOMEM. */
int s3_xml_delete_body(const char *const *keys, size_t n, char **body,
		       size_t *len);

/* 1 if key can travel inside an XML 1.0 document (no bytes 0x01-0x1f other
 * than tab, LF, CR), else 0. */
int s3_xml_key_ok(const char *key);

/* The body of a CompleteMultipartUpload request.  Same ownership. */
int s3_xml_complete_body(const struct remote_part *parts, size_t n, char **body,
			 size_t *len);

/* Copy an ETag without surrounding quotes or blanks into out
 * (truncated to REMOTE_ETAG_MAX - 1 bytes). */
void s3_etag_unquote(const char *in, size_t len, char out[REMOTE_ETAG_MAX]);

/* Parse an ISO 8601 UTC time as S3 writes it ("2013-09-17T18:07:53.000Z").
 * -EINVAL if it is not one. */
int s3_parse_iso8601(const char *s, struct timespec *ts);

#endif
