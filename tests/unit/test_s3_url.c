/*
 * test_s3_url.c - the pure parts of the s3:// backend: bucket names,
 * "bucket[/prefix]" splitting, endpoint parsing, errno mapping and retry
 * decisions, plus remote_s3_open()'s validation (which does no I/O).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "remote_int.h"
#include "s3_int.h"

static void test_bucket_names(void **state)
{
	(void)state;
	assert_true(s3_bucket_valid("abc"));
	assert_true(s3_bucket_valid("my.bucket-1"));
	assert_true(s3_bucket_valid("Legacy_Bucket"));
	assert_false(s3_bucket_valid("ab"));
	assert_false(s3_bucket_valid("-abc"));
	assert_false(s3_bucket_valid("abc."));
	assert_false(s3_bucket_valid("a b c"));
	assert_false(s3_bucket_valid("a/bc"));
	assert_false(s3_bucket_valid(""));

	assert_true(s3_bucket_dns_safe("my-bucket-1"));
	assert_false(s3_bucket_dns_safe("my.bucket")); /* breaks TLS */
	assert_false(s3_bucket_dns_safe("MyBucket"));
	assert_false(s3_bucket_dns_safe("under_score"));
	assert_false(s3_bucket_dns_safe("-abc"));
}

static void split_ok(const char *path, const char *bucket, const char *prefix)
{
	char *b = NULL;
	char *p = NULL;

	assert_int_equal(s3_split_path(path, &b, &p), 0);
	assert_string_equal(b, bucket);
	assert_string_equal(p, prefix);
	free(b);
	free(p);
}

static void test_split_path(void **state)
{
	char *b = NULL;
	char *p = NULL;

	(void)state;
	split_ok("bucket", "bucket", "");
	split_ok("bucket/", "bucket", "");
	split_ok("bucket/ci", "bucket", "ci/");
	split_ok("bucket/ci/", "bucket", "ci/");
	split_ok("bucket//a///b/", "bucket", "a/b/");
	split_ok("bucket/with space/+plus", "bucket", "with space/+plus/");
	assert_int_equal(s3_split_path("bucket/a/../b", &b, &p), -EINVAL);
	assert_int_equal(s3_split_path("bucket/./b", &b, &p), -EINVAL);
	assert_int_equal(s3_split_path("", &b, &p), -EINVAL);
	assert_int_equal(s3_split_path("/bucket", &b, &p), -EINVAL);
	assert_int_equal(s3_split_path("b!d/x", &b, &p), -EINVAL);
	assert_null(b);
	assert_null(p);
}

static void test_endpoint(void **state)
{
	struct s3_endpoint ep;

	(void)state;
	assert_int_equal(s3_endpoint_parse("http://127.0.0.1:9000", &ep), 0);
	assert_string_equal(ep.base, "http://127.0.0.1:9000");
	assert_string_equal(ep.host, "127.0.0.1:9000");
	assert_string_equal(ep.path, "");
	s3_endpoint_clear(&ep);

	assert_int_equal(s3_endpoint_parse("HTTPS://S3.Example.COM/", &ep), 0);
	assert_string_equal(ep.base, "https://s3.example.com");
	assert_string_equal(ep.host, "s3.example.com");
	assert_string_equal(ep.path, "");
	s3_endpoint_clear(&ep);

	/* User info is dropped so it is never printed. */
	assert_int_equal(s3_endpoint_parse("http://user:pw@[::1]:8080/base/s3//"
					   "?q=1#f",
					   &ep),
			 0);
	assert_string_equal(ep.base, "http://[::1]:8080");
	assert_string_equal(ep.host, "[::1]:8080");
	assert_string_equal(ep.path, "/base/s3");
	s3_endpoint_clear(&ep);

	assert_int_equal(s3_endpoint_parse("127.0.0.1:9000", &ep), -EINVAL);
	assert_int_equal(s3_endpoint_parse("ftp://x", &ep), -EINVAL);
	assert_int_equal(s3_endpoint_parse("http://", &ep), -EINVAL);
	assert_int_equal(s3_endpoint_parse("http:///path", &ep), -EINVAL);
	s3_endpoint_clear(NULL);
}

static void test_errno_map(void **state)
{
	static const struct {
		long status;
		const char *code;
		CURLcode cc;
		enum s3_on_412 on412;
		int want;
	} cases[] = {
		{403, "AccessDenied", CURLE_OK, S3_412_EEXIST, -EACCES},
		{403, "", CURLE_OK, S3_412_EEXIST, -EACCES},
		{401, NULL, CURLE_OK, S3_412_EEXIST, -EACCES},
		{404, "NoSuchKey", CURLE_OK, S3_412_EEXIST, -ENOENT},
		{404, "", CURLE_OK, S3_412_EEXIST, -ENOENT},
		{412, "PreconditionFailed", CURLE_OK, S3_412_EEXIST, -EEXIST},
		{412, "", CURLE_OK, S3_412_ESTALE, -ESTALE},
		{409, "", CURLE_OK, S3_412_EEXIST, -EBUSY},
		{400, "EntityTooLarge", CURLE_OK, S3_412_EEXIST, -EFBIG},
		{403, "QuotaExceeded", CURLE_OK, S3_412_EEXIST, -EDQUOT},
		{507, "", CURLE_OK, S3_412_EEXIST, -ENOSPC},
		{501, "NotImplemented", CURLE_OK, S3_412_EEXIST, -ENOTSUP},
		{500, "InternalError", CURLE_OK, S3_412_EEXIST, -EIO},
		{503, "SlowDown", CURLE_OK, S3_412_EEXIST, -EIO},
		{400, "InvalidArgument", CURLE_OK, S3_412_EEXIST, -EIO},
		{0, NULL, CURLE_OPERATION_TIMEDOUT, S3_412_EEXIST, -ETIMEDOUT},
		{0, NULL, CURLE_COULDNT_CONNECT, S3_412_EEXIST, -ECONNREFUSED},
		{0, NULL, CURLE_COULDNT_RESOLVE_HOST, S3_412_EEXIST, -EHOSTUNREACH},
		{0, NULL, CURLE_RECV_ERROR, S3_412_EEXIST, -EIO},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = s3_errno(cases[i].status, cases[i].code, cases[i].cc,
				   cases[i].on412);

		if (got != cases[i].want)
			print_error("case %zu: HTTP %ld '%s', curl %d\n", i,
				    cases[i].status,
				    cases[i].code ? cases[i].code : "(null)",
				    (int)cases[i].cc);
		assert_int_equal(got, cases[i].want);
	}
}

static void test_retryable(void **state)
{
	(void)state;
	assert_true(s3_retryable(500, "InternalError", CURLE_OK));
	assert_true(s3_retryable(503, "SlowDown", CURLE_OK));
	assert_true(s3_retryable(502, "", CURLE_OK));
	assert_true(s3_retryable(429, "", CURLE_OK));
	assert_true(s3_retryable(0, NULL, CURLE_COULDNT_CONNECT));
	assert_true(s3_retryable(0, NULL, CURLE_OPERATION_TIMEDOUT));
	assert_true(s3_retryable(0, NULL, CURLE_RECV_ERROR));
	assert_true(s3_retryable(0, NULL, CURLE_SEND_ERROR));
	assert_true(s3_retryable(0, NULL, CURLE_GOT_NOTHING));
	assert_false(s3_retryable(501, "NotImplemented", CURLE_OK));
	assert_false(s3_retryable(400, "", CURLE_OK));
	assert_false(s3_retryable(403, "AccessDenied", CURLE_OK));
	assert_false(s3_retryable(404, "NoSuchKey", CURLE_OK));
	assert_false(s3_retryable(412, "", CURLE_OK));
	assert_false(s3_retryable(200, "", CURLE_OK));
	assert_false(s3_retryable(0, NULL, CURLE_COULDNT_RESOLVE_HOST));
}

static void test_open(void **state)
{
	struct remote_config cfg = {
		.url = "s3://bucket/ci//jobs",
		.endpoint = "http://k:SECRETPW@127.0.0.1:9/",
		.region = "us-east-1",
		.access_key = "AKID",
		.secret_key = "TOPSECRET",
		.session_token = "TOKENSECRET",
	};
	struct remote_error err = {{0}};
	struct remote *r = NULL;

	(void)state;
	assert_int_equal(remote_s3_open(&cfg, "bucket/ci//jobs", &r, &err), 0);
	assert_string_equal(r->prefix, "ci/jobs/");
	assert_string_equal(r->name, "s3://bucket/ci/jobs at http://127.0.0.1:9");
	assert_null(strstr(r->name, "SECRET"));
	assert_true(r->caps & REMOTE_CAP_CONDITIONAL_PUT);
	remote_close(r);

	/* AWS: virtual-hosted when the bucket is a DNS label. */
	cfg.endpoint = NULL;
	cfg.region = "eu-west-1";
	assert_int_equal(remote_s3_open(&cfg, "bucket", &r, &err), 0);
	assert_string_equal(r->prefix, "");
	assert_string_equal(r->name,
			    "s3://bucket at https://bucket.s3.eu-west-1.amazonaws.com");
	remote_close(r);
	assert_int_equal(remote_s3_open(&cfg, "my.bucket/x", &r, &err), 0);
	assert_string_equal(r->name,
			    "s3://my.bucket/x at https://s3.eu-west-1.amazonaws.com");
	remote_close(r);

	/* Anonymous is fine. */
	cfg.access_key = NULL;
	cfg.secret_key = NULL;
	assert_int_equal(remote_s3_open(&cfg, "bucket", &r, &err), 0);
	remote_close(r);

	assert_int_equal(remote_s3_open(&cfg, "b!", &r, &err), -EINVAL);
	assert_null(r);
	assert_non_null(strstr(err.msg, "bucket"));
	memset(&err, 0, sizeof(err));
	cfg.region = NULL;
	assert_int_equal(remote_s3_open(&cfg, "bucket", &r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "region"));
	memset(&err, 0, sizeof(err));
	cfg.region = "us-east-1";
	cfg.endpoint = "localhost:9000";
	assert_int_equal(remote_s3_open(&cfg, "bucket", &r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "endpoint"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_names),
		cmocka_unit_test(test_split_path),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_errno_map),
		cmocka_unit_test(test_retryable),
		cmocka_unit_test(test_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
