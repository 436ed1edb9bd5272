/*
 * test_s3_xml.c - the S3 XML parsers and body builders, on response bodies
 * captured from AWS documentation, moto and Swift.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "s3_xml.h"

#define S(lit) lit, sizeof(lit) - 1

static void test_list_aws(void **state)
{
	static const char body[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
		"  <Name>bucket</Name>\n  <Prefix>p/</Prefix>\n"
		"  <KeyCount>3</KeyCount>\n  <MaxKeys>3</MaxKeys>\n"
		"  <Delimiter>/</Delimiter>\n  <IsTruncated>true</IsTruncated>\n"
		"  <Contents>\n    <Key>p/a &amp; b.txt</Key>\n"
		"    <LastModified>2013-09-17T18:07:53.250Z</LastModified>\n"
		"    <ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag>\n"
		"    <Size>857</Size>\n    <StorageClass>STANDARD</StorageClass>\n"
		"  </Contents>\n"
		"  <Contents><Key>p/big</Key><LastModified>2020-01-01T00:00:00Z"
		"</LastModified><ETag>\"abc-2\"</ETag><Size>10737418240</Size>"
		"<Owner><ID>x</ID><DisplayName>y</DisplayName></Owner></Contents>\n"
		"  <CommonPrefixes><Prefix>p/dir/</Prefix></CommonPrefixes>\n"
		"  <CommonPrefixes><Prefix>p/\xc3\xa9t\xc3\xa9/</Prefix></CommonPrefixes>\n"
		"  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
		"</NextContinuationToken>\n"
		"</ListBucketResult>";
	struct remote_list l;
	struct s3_xml_error e;

	(void)state;
	assert_int_equal(s3_xml_parse_list(S(body), &l, &e), 0);
	assert_int_equal(l.n_entries, 2);
	assert_string_equal(l.entries[0].key, "p/a & b.txt");
	assert_int_equal(l.entries[0].size, 857);
	assert_string_equal(l.entries[0].etag,
			    "599bab3ed2c697f1d26842727561fd94");
	assert_int_equal(l.entries[0].mtime.tv_sec, 1379441273);
	assert_int_equal(l.entries[0].mtime.tv_nsec, 250000000);
	assert_string_equal(l.entries[1].key, "p/big");
	assert_true(l.entries[1].size == 10737418240ull);
	assert_string_equal(l.entries[1].etag, "abc-2");
	assert_int_equal(l.n_prefixes, 2);
	assert_string_equal(l.prefixes[0], "p/dir/");
	assert_string_equal(l.prefixes[1], "p/\xc3\xa9t\xc3\xa9/");
	assert_string_equal(l.next_token,
			    "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	remote_list_clear(&l);
}

static void test_list_url_encoded(void **state)
{
	/* EncodingType after the entries, as AWS writes it; '+' is a space. */
	static const char body[] =
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Name>b</Name><Prefix>odd%2F</Prefix><IsTruncated>false</IsTruncated>"
		"<Contents><Key>odd/a+b%2Bc%25d%01%C3%A9</Key><Size>0</Size>"
		"<ETag>\"d41d8cd98f00b204e9800998ecf8427e\"</ETag>"
		"<LastModified>2024-02-03T04:05:06.000Z</LastModified></Contents>"
		"<CommonPrefixes><Prefix>odd/x%20y/</Prefix></CommonPrefixes>"
		"<NextContinuationToken>ignored-when-not-truncated</NextContinuationToken>"
		"<EncodingType>url</EncodingType></ListBucketResult>";
	struct remote_list l;

	(void)state;
	assert_int_equal(s3_xml_parse_list(S(body), &l, NULL), 0);
	assert_int_equal(l.n_entries, 1);
	assert_string_equal(l.entries[0].key, "odd/a b+c%d\x01\xc3\xa9");
	assert_int_equal(l.entries[0].size, 0);
	assert_int_equal(l.n_prefixes, 1);
	assert_string_equal(l.prefixes[0], "odd/x y/");
	assert_null(l.next_token);
	remote_list_clear(&l);
}

static void test_list_empty_and_bad(void **state)
{
	static const char empty[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult>"
		"<Name>b</Name><KeyCount>0</KeyCount>"
		"<IsTruncated>false</IsTruncated></ListBucketResult>";
	static const char truncated_no_token[] =
		"<ListBucketResult><IsTruncated>true</IsTruncated>"
		"<Contents><Key>a</Key><Size>1</Size></Contents></ListBucketResult>";
	static const char bad_size[] =
		"<ListBucketResult><Contents><Key>a</Key><Size>-1</Size>"
		"</Contents></ListBucketResult>";
	struct remote_list l;

	(void)state;
	assert_int_equal(s3_xml_parse_list(S(empty), &l, NULL), 0);
	assert_int_equal(l.n_entries, 0);
	assert_int_equal(l.n_prefixes, 0);
	assert_null(l.next_token);
	remote_list_clear(&l);
	assert_int_equal(s3_xml_parse_list(S(truncated_no_token), &l, NULL),
			 -EPROTO);
	assert_null(l.entries);
	assert_int_equal(s3_xml_parse_list(S(bad_size), &l, NULL), -EPROTO);
	assert_int_equal(s3_xml_parse_list(S("<ListBucketResult><Con"), &l,
					   NULL),
			 -EPROTO);
	assert_int_equal(s3_xml_parse_list(S("not xml at all"), &l, NULL),
			 -EPROTO);
	assert_int_equal(s3_xml_parse_list(S("<Other/>"), &l, NULL), -EPROTO);
}

static void test_error(void **state)
{
	static const char body[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
		"<Code>NoSuchBucket</Code>"
		"<Message>The specified bucket does not exist</Message>"
		"<BucketName>nope</BucketName>"
		"<RequestId>tx1</RequestId></Error>";
	struct s3_xml_error e;
	struct remote_list l;

	(void)state;
	assert_int_equal(s3_xml_parse_error(S(body), &e), 0);
	assert_string_equal(e.code, "NoSuchBucket");
	assert_string_equal(e.message, "The specified bucket does not exist");
	/* Any parser hands an Error document back as -EREMOTEIO. */
	assert_int_equal(s3_xml_parse_list(S(body), &l, &e), -EREMOTEIO);
	assert_string_equal(e.code, "NoSuchBucket");
	assert_int_equal(s3_xml_parse_error(S("<html>oops</html>"), &e),
			 -EPROTO);
	assert_int_equal(s3_xml_parse_error(S(""), &e), -EPROTO);
}

static void test_complete(void **state)
{
	static const char ok[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<CompleteMultipartUploadResult "
		"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Location>http://b.s3.amazonaws.com/k</Location>"
		"<Bucket>b</Bucket><Key>k</Key>"
		"<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag>"
		"</CompleteMultipartUploadResult>";
	/* moto 5.2 names the root differently. */
	static const char moto[] =
		"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		"<CompleteMultipartUploadResponse xmlns=\"http://s3.amazonaws.com/"
		"doc/2006-03-01/\"><Location>http://afs-test.s3.amazonaws.com/mk"
		"</Location><Bucket>afs-test</Bucket><Key>mk</Key>"
		"<ETag>\"62109206880d38a4010a98e11243924a-1\"</ETag>"
		"</CompleteMultipartUploadResponse>";
	/* 200 OK with an Error body, after the server sent whitespace to keep
	 * the connection alive. */
	static const char err200[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n            \n"
		"<Error><Code>InternalError</Code>"
		"<Message>We encountered an internal error. Please try again."
		"</Message></Error>";
	char etag[REMOTE_ETAG_MAX];
	struct s3_xml_error e;

	(void)state;
	assert_int_equal(s3_xml_parse_etag(S(ok), etag, &e), 0);
	assert_string_equal(etag, "3858f62230ac3c915f300c664312c11f-9");
	assert_int_equal(s3_xml_parse_etag(S(moto), etag, &e), 0);
	assert_string_equal(etag, "62109206880d38a4010a98e11243924a-1");
	assert_int_equal(s3_xml_parse_etag(S(err200), etag, &e), -EREMOTEIO);
	assert_string_equal(e.code, "InternalError");
}

static void test_copy_results(void **state)
{
	static const char obj[] =
		"<CopyObjectResult><LastModified>2009-10-28T22:32:00Z"
		"</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;"
		"</ETag></CopyObjectResult>";
	static const char part[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><CopyPartResult "
		"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<LastModified>2011-04-11T20:34:56.000Z</LastModified>"
		"<ETag>\"9b2cf535f27731c974343645a3985328\"</ETag>"
		"</CopyPartResult>";
	char etag[REMOTE_ETAG_MAX];

	(void)state;
	assert_int_equal(s3_xml_parse_etag(S(obj), etag, NULL), 0);
	assert_string_equal(etag, "9b2cf535f27731c974343645a3985328");
	assert_int_equal(s3_xml_parse_etag(S(part), etag, NULL), 0);
	assert_string_equal(etag, "9b2cf535f27731c974343645a3985328");
	assert_int_equal(s3_xml_parse_etag(S("<CopyObjectResult/>"), etag,
					   NULL),
			 -EPROTO);
}

static void test_upload_id(void **state)
{
	static const char body[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<InitiateMultipartUploadResult "
		"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Bucket>b</Bucket><Key>k</Key>"
		"<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"
		"</UploadId></InitiateMultipartUploadResult>";
	char *id = NULL;

	(void)state;
	assert_int_equal(s3_xml_parse_upload_id(S(body), &id, NULL), 0);
	assert_string_equal(id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
	free(id);
	assert_int_equal(
		s3_xml_parse_upload_id(
			S("<InitiateMultipartUploadResult><UploadId></UploadId>"
			  "</InitiateMultipartUploadResult>"),
			&id, NULL),
		-EPROTO);
	assert_null(id);
}

static void test_delete_result(void **state)
{
	static const char ok[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult "
		"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></DeleteResult>";
	static const char verbose[] =
		"<DeleteResult><Deleted><Key>a</Key></Deleted></DeleteResult>";
	static const char bad[] =
		"<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Error><Key>secret/x</Key><Code>AccessDenied</Code>"
		"<Message>Access Denied</Message></Error>"
		"<Error><Key>y</Key><Code>InternalError</Code>"
		"<Message>oops</Message></Error></DeleteResult>";
	struct s3_xml_error e;
	size_t n = 99;

	(void)state;
	assert_int_equal(s3_xml_parse_delete(S(ok), &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(s3_xml_parse_delete(S(verbose), &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(s3_xml_parse_delete(S(bad), &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(e.key, "secret/x");
	assert_string_equal(e.code, "AccessDenied");
	assert_string_equal(e.message, "Access Denied");
}

static void test_entities_refused(void **state)
{
	static const char body[] =
		"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
		"<!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>"
		"<Error><Code>&lol2;</Code></Error>";
	struct s3_xml_error e;

	(void)state;
	assert_int_equal(s3_xml_parse_error(S(body), &e), -EPROTO);
}

static void test_deep_nesting(void **state)
{
	char body[8192];
	size_t o = 0;
	struct s3_xml_error e;

	(void)state;
	o += (size_t)snprintf(body + o, sizeof(body) - o, "<Error>");
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o,
				      "<Nested%02d>", i);
	for (int i = 99; i >= 0; i--)
		o += (size_t)snprintf(body + o, sizeof(body) - o,
				      "</Nested%02d>", i);
	o += (size_t)snprintf(body + o, sizeof(body) - o,
			      "<Code>SlowDown</Code></Error>");
	assert_int_equal(s3_xml_parse_error(body, o, &e), 0);
	assert_string_equal(e.code, "SlowDown");
}

static void test_delete_body(void **state)
{
	const char *keys[] = {"a&b", "<c>", "q\"'", "tab\there\r\n", "\xc3\xa9"};
	const char *bad[] = {"ok", "ctl\x01"};
	char *body = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(s3_xml_delete_body(keys, 5, &body, &len), 0);
	assert_int_equal(len, strlen(body));
	assert_string_equal(
		body,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Quiet>true</Quiet>"
		"<Object><Key>a&amp;b</Key></Object>"
		"<Object><Key>&lt;c&gt;</Key></Object>"
		"<Object><Key>q&quot;&apos;</Key></Object>"
		"<Object><Key>tab&#9;here&#13;&#10;</Key></Object>"
		"<Object><Key>\xc3\xa9</Key></Object></Delete>");
	free(body);
	assert_int_equal(s3_xml_delete_body(bad, 2, &body, &len), -EINVAL);
	assert_null(body);
	assert_true(s3_xml_key_ok("fine/key with space"));
	assert_false(s3_xml_key_ok("x\x1f"));
}

static void test_complete_body(void **state)
{
	const struct remote_part parts[] = {
		{.number = 1, .etag = "\"aaa\""},
		{.number = 2, .etag = "bbb"},
	};
	char *body = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(s3_xml_complete_body(parts, 2, &body, &len), 0);
	assert_string_equal(
		body,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<CompleteMultipartUpload xmlns="
		"\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Part><PartNumber>1</PartNumber><ETag>&quot;aaa&quot;</ETag></Part>"
		"<Part><PartNumber>2</PartNumber><ETag>&quot;bbb&quot;</ETag></Part>"
		"</CompleteMultipartUpload>");
	free(body);
}

static void test_etag_time(void **state)
{
	char etag[REMOTE_ETAG_MAX];
	struct timespec ts;

	(void)state;
	s3_etag_unquote(S(" \"abc\"\r\n"), etag);
	assert_string_equal(etag, "abc");
	s3_etag_unquote(S("plain"), etag);
	assert_string_equal(etag, "plain");
	assert_int_equal(s3_parse_iso8601("1970-01-02T00:00:01Z", &ts), 0);
	assert_int_equal(ts.tv_sec, 86401);
	assert_int_equal(ts.tv_nsec, 0);
	assert_int_equal(s3_parse_iso8601("2013-09-17T18:07:53.5Z", &ts), 0);
	assert_int_equal(ts.tv_nsec, 500000000);
	assert_int_equal(s3_parse_iso8601("2013-09-17 18:07", &ts), -EINVAL);
	assert_int_equal(s3_parse_iso8601("2013-09-17T18:07:53Zjunk", &ts),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_aws),
		cmocka_unit_test(test_list_url_encoded),
		cmocka_unit_test(test_list_empty_and_bad),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_copy_results),
		cmocka_unit_test(test_upload_id),
		cmocka_unit_test(test_delete_result),
		cmocka_unit_test(test_entities_refused),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_delete_body),
		cmocka_unit_test(test_complete_body),
		cmocka_unit_test(test_etag_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
