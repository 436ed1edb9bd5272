/*
 * test_store.c - unit tests for remote/store.c: levels, the key layout
 * (byte-identical to Semaphore's artifact CLI), path trimming and safety,
 * the metadata codec (s3fs and rclone forms), RFC 3339 times and sizes.
 * Table-driven; no I/O, no clock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "store.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- levels ------------------------------------------------------------ */

static void test_levels(void **state)
{
	enum store_level l = STORE_JOB;

	(void)state;
	assert_string_equal(store_level_name(STORE_JOB), "job");
	assert_string_equal(store_level_name(STORE_WORKFLOW), "workflow");
	assert_string_equal(store_level_name(STORE_PROJECT), "project");
	assert_string_equal(store_level_dir(STORE_JOB), "jobs");
	assert_string_equal(store_level_dir(STORE_WORKFLOW), "workflows");
	assert_string_equal(store_level_dir(STORE_PROJECT), "projects");
	assert_string_equal(store_level_env(STORE_JOB), "SEMAPHORE_JOB_ID");
	assert_string_equal(store_level_env(STORE_WORKFLOW),
			    "SEMAPHORE_WORKFLOW_ID");
	assert_string_equal(store_level_env(STORE_PROJECT),
			    "SEMAPHORE_PROJECT_ID");
	assert_null(store_level_name((enum store_level)3));
	assert_null(store_level_dir((enum store_level)-1));

	assert_int_equal(store_level_parse("workflow", &l), 0);
	assert_int_equal(l, STORE_WORKFLOW);
	assert_int_equal(store_level_parse("project", &l), 0);
	assert_int_equal(l, STORE_PROJECT);
	assert_int_equal(store_level_parse("job", &l), 0);
	assert_int_equal(l, STORE_JOB);
	assert_int_equal(store_level_parse("jobs", &l), -EINVAL);
	assert_int_equal(store_level_parse("", &l), -EINVAL);
	assert_int_equal(store_level_parse("Job", &l), -EINVAL);
	assert_int_equal(store_level_parse(NULL, &l), -EINVAL);
}

/* ---- keys -------------------------------------------------------------- */

/* From Semaphore's pkg/files/files_test.go (TestPrefixedPath*): the
 * destination after ToRelative, joined under the level and ID. */
static const struct {
	enum store_level level;
	const char *id, *path, *key;
} key_cases[] = {
	{ STORE_PROJECT, "PR_01", "x.zip", "artifacts/projects/PR_01/x.zip" },
	{ STORE_PROJECT, "PR_01", "y.zip", "artifacts/projects/PR_01/y.zip" },
	{ STORE_PROJECT, "PR_01", "tmp/x.zip",
	  "artifacts/projects/PR_01/tmp/x.zip" },
	{ STORE_PROJECT, "PR_01", "/tmp/x.zip",
	  "artifacts/projects/PR_01/tmp/x.zip" },
	{ STORE_WORKFLOW, "WF_02", "x.zip", "artifacts/workflows/WF_02/x.zip" },
	{ STORE_WORKFLOW, "WF_02", "path/to/the/deep/x.zip",
	  "artifacts/workflows/WF_02/path/to/the/deep/x.zip" },
	{ STORE_JOB, "JOB_03", "x.zip", "artifacts/jobs/JOB_03/x.zip" },
	{ STORE_JOB, "fixed", "/tmp/x.zip", "artifacts/jobs/fixed/tmp/x.zip" },
	{ STORE_JOB, "fixed", "./../.source", "artifacts/jobs/fixed/.source" },
	{ STORE_JOB, "a1b2c3d4-0000-4000-8000-1234567890ab", "logs/test.log",
	  "artifacts/jobs/a1b2c3d4-0000-4000-8000-1234567890ab/logs/test.log" },
	/* The store's own prefix and a directory marker end in '/'. */
	{ STORE_JOB, "J", "", "artifacts/jobs/J/" },
	{ STORE_JOB, "J", NULL, "artifacts/jobs/J/" },
	{ STORE_PROJECT, "P", "dir/", "artifacts/projects/P/dir/" },
	{ STORE_JOB, "J", "with space/ünïcode.txt",
	  "artifacts/jobs/J/with space/ünïcode.txt" },
};

static void test_key_layout(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEM(key_cases); i++) {
		const char *path = key_cases[i].path;
		char *key = NULL;

		if (path)
			path = store_path_trim(path);
		assert_int_equal(store_key(key_cases[i].level, key_cases[i].id,
					   path, &key),
				 0);
		assert_non_null(key);
		assert_string_equal(key, key_cases[i].key);
		free(key);
	}
}

static void test_key_bad(void **state)
{
	static const char *const bad_ids[] = {
		"", ".", "..", "a/b", "/", "ab/", "a\nb", "\t", "x\x7f", "\x01",
	};
	static const char *const bad_paths[] = {
		"/x", "a//b", "../x", "a/../b", "a/./b", ".", "..", "a/..", "//",
	};
	char *key = (char *)"sentinel";

	(void)state;
	for (size_t i = 0; i < N_ELEM(bad_ids); i++) {
		assert_int_equal(store_key(STORE_JOB, bad_ids[i], "x", &key),
				 -EINVAL);
		assert_null(key);
	}
	assert_int_equal(store_key(STORE_JOB, NULL, "x", &key), -EINVAL);
	assert_int_equal(store_key((enum store_level)7, "J", "x", &key),
			 -EINVAL);
	for (size_t i = 0; i < N_ELEM(bad_paths); i++) {
		assert_int_equal(store_key(STORE_JOB, "J", bad_paths[i], &key),
				 -EINVAL);
		assert_null(key);
	}
	/* Odd but harmless ids stay allowed. */
	assert_int_equal(store_key(STORE_JOB, "...", "x", &key), 0);
	assert_string_equal(key, "artifacts/jobs/.../x");
	free(key);
}

/* A key of exactly REMOTE_KEY_MAX bytes is fine; one more is not. */
static void test_key_length(void **state)
{
	const char *prefix = "artifacts/jobs/J/";
	size_t plen = strlen(prefix);
	char path[REMOTE_KEY_MAX + 2];
	char *key = NULL;

	(void)state;
	memset(path, 'a', sizeof(path));
	path[REMOTE_KEY_MAX - plen] = '\0';
	assert_int_equal(store_key(STORE_JOB, "J", path, &key), 0);
	assert_int_equal(strlen(key), REMOTE_KEY_MAX);
	free(key);
	key = NULL;

	memset(path, 'a', sizeof(path));
	path[REMOTE_KEY_MAX - plen + 1] = '\0';
	assert_int_equal(store_key(STORE_JOB, "J", path, &key),
			 -ENAMETOOLONG);
	assert_null(key);

	/* A long id counts too. */
	memset(path, 'i', sizeof(path));
	path[REMOTE_KEY_MAX + 1] = '\0';
	assert_int_equal(store_key(STORE_JOB, path, "x", &key), -ENAMETOOLONG);
	path[REMOTE_KEY_MAX - strlen("artifacts/jobs//x")] = '\0';
	assert_int_equal(store_key(STORE_JOB, path, "x", &key), 0);
	assert_int_equal(strlen(key), REMOTE_KEY_MAX);
	free(key);
}

/* ---- paths ------------------------------------------------------------- */

/* Semaphore's TestToRelative cases that need no path.Clean, plus ours. */
static const struct {
	const char *in, *out;
} trim_cases[] = {
	{ "", "" },
	{ "./../source", "source" },
	{ "./../.source", ".source" },
	{ "source", "source" },
	{ ".source", ".source" },
	{ "/source", "source" },
	{ "./source", "source" },
	{ "/.source", ".source" },
	{ "long/path/to/source", "long/path/to/source" },
	{ ".long/path/to/source", ".long/path/to/source" },
	{ "/long/path/to/source", "long/path/to/source" },
	{ "/.long/path/to/source", ".long/path/to/source" },
	{ "./.long/path/to/source", ".long/path/to/source" },
	{ "//a", "a" },
	{ "../../../etc/passwd", "etc/passwd" },
	{ "/./../x/", "x/" },
	{ ".", "" },
	{ "..", "" },
	{ "./..", "" },
	{ "../.", "" },
	{ "..foo", "..foo" },
	{ "a/../b", "a/../b" }, /* not a prefix: left for is_safe */
};

static void test_path_trim(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEM(trim_cases); i++) {
		const char *r = store_path_trim(trim_cases[i].in);

		assert_non_null(r);
		assert_string_equal(r, trim_cases[i].out);
		/* A pointer into the input, never a copy. */
		assert_true(r >= trim_cases[i].in &&
			    r <= trim_cases[i].in + strlen(trim_cases[i].in));
	}
	assert_null(store_path_trim(NULL));
}

static const struct {
	const char *rel;
	int file_ok, dir_ok;
} safe_cases[] = {
	{ "a", 1, 1 },
	{ "a/b/c.txt", 1, 1 },
	{ ".hidden", 1, 1 },
	{ "...", 1, 1 },
	{ "a..b/..c", 1, 1 },
	{ "a/", 0, 1 },
	{ "a/b/", 0, 1 },
	{ "", 0, 0 },
	{ "/", 0, 0 },
	{ "/a", 0, 0 },
	{ "a//b", 0, 0 },
	{ "a//", 0, 0 },
	{ ".", 0, 0 },
	{ "..", 0, 0 },
	{ "./a", 0, 0 },
	{ "../a", 0, 0 },
	{ "a/.", 0, 0 },
	{ "a/..", 0, 0 },
	{ "a/../b", 0, 0 },
	{ "a/./b", 0, 0 },
	{ "./", 0, 0 },
	{ "../", 0, 0 },
};

static void test_path_safe(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEM(safe_cases); i++) {
		const char *rel = safe_cases[i].rel;

		if (store_path_is_safe(rel, 0) != safe_cases[i].file_ok ||
		    store_path_is_safe(rel, 1) != safe_cases[i].dir_ok)
			fail_msg("store_path_is_safe(\"%s\")", rel);
	}
	assert_int_equal(store_path_is_safe(NULL, 1), 0);
}

/* ---- metadata ---------------------------------------------------------- */

static void meta_from(struct remote_meta *m, const char *const *kv, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		assert_int_equal(remote_meta_set(m, kv[i], kv[i + 1]), 0);
}

static void test_meta_round_trip(void **state)
{
	struct remote_meta m = { 0 };
	struct store_meta in, out;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.has_mode = in.has_uid = in.has_gid = in.has_mtime = 1;
	in.has_sha256 = in.has_expires = 1;
	in.mode = 0100755;
	in.uid = 1000;
	in.gid = 0;
	in.mtime.tv_sec = 1700000000;
	in.mtime.tv_nsec = 123456789;
	memcpy(in.sha256,
	       "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
	       65);
	in.expires_at = 1798070400;
	assert_int_equal(store_meta_encode(&in, &m), 0);

	assert_string_equal(remote_meta_get(&m, "mode"), "33261");
	assert_string_equal(remote_meta_get(&m, "uid"), "1000");
	assert_string_equal(remote_meta_get(&m, "gid"), "0");
	assert_string_equal(remote_meta_get(&m, "mtime"),
			    "1700000000.123456789");
	assert_string_equal(
		remote_meta_get(&m, "sha256"),
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_string_equal(remote_meta_get(&m, "expires-at"),
			    "2026-12-24T00:00:00Z");

	store_meta_decode(&m, &out);
	assert_true(out.has_mode && out.has_uid && out.has_gid);
	assert_true(out.has_mtime && out.has_sha256 && out.has_expires);
	assert_int_equal(out.mode, 0100755);
	assert_int_equal(out.uid, 1000);
	assert_int_equal(out.gid, 0);
	assert_int_equal(out.mtime.tv_sec, 1700000000);
	assert_int_equal(out.mtime.tv_nsec, 123456789);
	assert_string_equal(
		out.sha256,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(out.expires_at, 1798070400);

	/* Whole seconds are written as s3fs writes them; unset fields are
	 * removed, foreign ones kept. */
	assert_int_equal(remote_meta_set(&m, "foreign", "x"), 0);
	in.mtime.tv_nsec = 0;
	in.has_sha256 = in.has_expires = in.has_uid = 0;
	assert_int_equal(store_meta_encode(&in, &m), 0);
	assert_string_equal(remote_meta_get(&m, "mtime"), "1700000000");
	assert_null(remote_meta_get(&m, "sha256"));
	assert_null(remote_meta_get(&m, "expires-at"));
	assert_null(remote_meta_get(&m, "uid"));
	assert_string_equal(remote_meta_get(&m, "foreign"), "x");
	store_meta_decode(&m, &out);
	assert_false(out.has_sha256 || out.has_expires || out.has_uid);
	assert_true(out.has_mtime);
	assert_int_equal(out.mtime.tv_nsec, 0);
	remote_meta_clear(&m);

	/* Nothing set, nothing written. */
	memset(&in, 0, sizeof(in));
	assert_int_equal(store_meta_encode(&in, &m), 0);
	assert_int_equal(m.n, 0);
	remote_meta_clear(&m);
}

/* mtime as s3fs, rclone and we write it. */
static const struct {
	const char *v;
	int ok;
	int64_t sec;
	long nsec;
} mtime_cases[] = {
	{ "1700000000", 1, 1700000000, 0 },
	{ "1700000000.5", 1, 1700000000, 500000000 },
	{ "1700000000.05", 1, 1700000000, 50000000 },
	{ "1700000000.123456789", 1, 1700000000, 123456789 },
	{ "1700000000.1234567891234", 1, 1700000000, 123456789 },
	{ "1700000000.000000001", 1, 1700000000, 1 },
	{ "0", 1, 0, 0 },
	{ "0.0", 1, 0, 0 },
	{ "-1", 0, 0, 0 },
	{ "-1700000000.5", 0, 0, 0 },
	{ "+1700000000", 0, 0, 0 },
	{ " 1700000000", 0, 0, 0 },
	{ "1700000000 ", 0, 0, 0 },
	{ "1700000000.", 0, 0, 0 },
	{ ".5", 0, 0, 0 },
	{ "1700000000.5x", 0, 0, 0 },
	{ "1700000000.-5", 0, 0, 0 },
	{ "1.2.3", 0, 0, 0 },
	{ "0x10", 0, 0, 0 },
	{ "1e9", 0, 0, 0 },
	{ "", 0, 0, 0 },
	{ "99999999999999999999", 0, 0, 0 },
	{ "2023-11-14T22:13:20Z", 0, 0, 0 },
};

static void test_meta_mtime(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEM(mtime_cases); i++) {
		struct remote_meta m = { 0 };
		struct store_meta sm;

		assert_int_equal(remote_meta_set(&m, "mtime", mtime_cases[i].v),
				 0);
		store_meta_decode(&m, &sm);
		if (sm.has_mtime != mtime_cases[i].ok)
			fail_msg("mtime \"%s\": has_mtime %d", mtime_cases[i].v,
				 sm.has_mtime);
		if (sm.has_mtime) {
			assert_int_equal(sm.mtime.tv_sec, mtime_cases[i].sec);
			assert_int_equal(sm.mtime.tv_nsec, mtime_cases[i].nsec);
		}
		remote_meta_clear(&m);
	}
}

/* Malformed values are ignored one by one; the good ones still count. */
static void test_meta_malformed(void **state)
{
	static const char *const bad[][2] = {
		{ "mode", "-1" },	 { "mode", "0755" /* ok: decimal 755 */ },
		{ "mode", "abc" },	 { "mode", "" },
		{ "mode", "65536" },	 { "mode", "33188 " },
		{ "uid", "-5" },	 { "uid", "4294967295" },
		{ "uid", "4294967296" }, { "uid", "1e3" },
		{ "gid", "" },		 { "gid", "0x10" },
		{ "sha256", "abc" },
		{ "sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85" },
		{ "sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555" },
		{ "sha256", "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "expires-at", "never" },
		{ "expires-at", "2026-12-24" },
		{ "expires-at", "1798070400" },
		{ "expires-at", "2026-02-30T00:00:00Z" },
	};
	struct remote_meta m = { 0 };
	struct store_meta sm;

	(void)state;
	for (size_t i = 0; i < N_ELEM(bad); i++) {
		int ok = strcmp(bad[i][1], "0755") == 0;

		assert_int_equal(remote_meta_set(&m, bad[i][0], bad[i][1]), 0);
		store_meta_decode(&m, &sm);
		if (strcmp(bad[i][0], "mode") == 0 && sm.has_mode != ok)
			fail_msg("mode \"%s\"", bad[i][1]);
		if (strcmp(bad[i][0], "uid") == 0)
			assert_false(sm.has_uid);
		if (strcmp(bad[i][0], "gid") == 0)
			assert_false(sm.has_gid);
		if (strcmp(bad[i][0], "sha256") == 0) {
			assert_false(sm.has_sha256);
			assert_string_equal(sm.sha256, "");
		}
		if (strcmp(bad[i][0], "expires-at") == 0)
			assert_false(sm.has_expires);
		remote_meta_clear(&m);
	}

	/* A mix: the bad field is dropped, the others read. */
	{
		static const char *const kv[] = {
			"mode", "33188", "uid", "junk", "gid", "20",
			"mtime", "1700000000.25", "sha256", "nope",
		};

		meta_from(&m, kv, N_ELEM(kv));
		store_meta_decode(&m, &sm);
		assert_true(sm.has_mode && sm.has_gid && sm.has_mtime);
		assert_false(sm.has_uid || sm.has_sha256 || sm.has_expires);
		assert_int_equal(sm.mode, 0100644);
		assert_int_equal(sm.gid, 20);
		assert_int_equal(sm.mtime.tv_nsec, 250000000);
		remote_meta_clear(&m);
	}
	/* No metadata at all. */
	store_meta_decode(&m, &sm);
	assert_false(sm.has_mode || sm.has_uid || sm.has_gid || sm.has_mtime ||
		     sm.has_sha256 || sm.has_expires);
	store_meta_decode(NULL, &sm);
	assert_false(sm.has_mode);
}

static void test_meta_encode_invalid(void **state)
{
	struct remote_meta m = { 0 };
	struct store_meta sm;

	(void)state;
	memset(&sm, 0, sizeof(sm));
	sm.has_mtime = 1;
	sm.mtime.tv_sec = -1;
	assert_int_equal(store_meta_encode(&sm, &m), -EINVAL);
	sm.mtime.tv_sec = 1;
	sm.mtime.tv_nsec = 1000000000L;
	assert_int_equal(store_meta_encode(&sm, &m), -EINVAL);
	sm.mtime.tv_nsec = -1;
	assert_int_equal(store_meta_encode(&sm, &m), -EINVAL);
	sm.has_mtime = 0;
	sm.has_sha256 = 1;
	memcpy(sm.sha256, "short", 6);
	assert_int_equal(store_meta_encode(&sm, &m), -EINVAL);
	sm.has_sha256 = 0;
	sm.has_expires = 1;
	sm.expires_at = -1;
	assert_int_equal(store_meta_encode(&sm, &m), -EINVAL);
	sm.expires_at = 253402300800LL; /* year 10000: not RFC 3339 */
	assert_int_equal(store_meta_encode(&sm, &m), -EINVAL);
	/* A rejected encode leaves m untouched. */
	assert_int_equal(m.n, 0);
	remote_meta_clear(&m);
}

static void test_meta_expired(void **state)
{
	struct store_meta sm;

	(void)state;
	memset(&sm, 0, sizeof(sm));
	sm.expires_at = 100;
	assert_false(store_meta_expired(&sm, 1000)); /* no expiry set */
	sm.has_expires = 1;
	assert_false(store_meta_expired(&sm, 99));
	assert_true(store_meta_expired(&sm, 100));
	assert_true(store_meta_expired(&sm, 101));
}

/* ---- time -------------------------------------------------------------- */

static const struct {
	const char *s;
	int64_t t;
} time_ok[] = {
	{ "1970-01-01T00:00:00Z", 0 },
	{ "2026-12-24T00:00:00Z", 1798070400 },
	{ "2026-12-24t00:00:00z", 1798070400 },
	{ "2026-12-24 00:00:00Z", 1798070400 },
	{ "2026-12-24T01:00:00+01:00", 1798070400 },
	{ "2026-12-23T18:30:00-05:30", 1798070400 },
	{ "2026-12-24T00:00:00+00:00", 1798070400 },
	{ "2026-12-24T00:00:00-00:00", 1798070400 },
	{ "2026-12-24T00:00:00.999999999Z", 1798070400 },
	{ "2026-12-24T00:00:00.5+00:00", 1798070400 },
	{ "2024-02-29T12:34:56Z", 1709210096 },
	{ "2000-02-29T00:00:00Z", 951782400 },
	{ "1969-12-31T23:59:59Z", -1 },
	{ "9999-12-31T23:59:59Z", 253402300799 },
	{ "0000-01-01T00:00:00Z", -62167219200 },
	{ "2016-12-31T23:59:60Z", 1483228800 }, /* leap second */
	{ "2026-01-01T00:00:00+23:59", 1767225600 - 86340 },
	/* Offsets that stay within the years 0000-9999. */
	{ "9999-12-31T23:30:00-00:29", 253402300740 },
	{ "0000-01-01T01:00:00+01:00", -62167219200 },
};

static const char *const time_bad[] = {
	"",
	"2026-12-24",
	"2026-12-24T00:00:00",
	"2026-12-24T00:00Z",
	"2026-12-24T00:00:00ZZ",
	"2026-12-24T00:00:00Z ",
	" 2026-12-24T00:00:00Z",
	"2026-12-24X00:00:00Z",
	"2026/12/24T00:00:00Z",
	"2026-12-24T00:00:00+0100",
	"2026-12-24T00:00:00+01",
	"2026-12-24T00:00:00+01:00:00",
	"2026-12-24T00:00:00+24:00",
	"2026-12-24T00:00:00+01:60",
	"2026-12-24T00:00:00.Z",
	"2026-12-24T00:00:00,5Z",
	"2026-00-10T00:00:00Z",
	"2026-13-10T00:00:00Z",
	"2026-12-00T00:00:00Z",
	"2026-12-32T00:00:00Z",
	"2026-04-31T00:00:00Z",
	"2023-02-29T00:00:00Z",
	"1900-02-29T00:00:00Z",
	"2100-02-29T00:00:00Z",
	"2026-12-24T24:00:00Z",
	"2026-12-24T23:60:00Z",
	"2026-12-24T23:59:61Z",
	"+2026-12-24T00:00:00Z",
	"20261-12-24T00:00:00Z",
	"2026-1-24T00:00:00Z",
	"2026-12-24T0:00:00Z",
	"never",
	"1798070400",
	"2026-12-24T00:00:00+",
	"2026-12-24T00:00:00-",
	"2026-12-24T00:00:00+1",
	/* Past 9999-12-31T23:59:59Z (or before year 0) once the offset is
	 * applied: no expiry may name such a time. */
	"9999-12-31T23:59:59-00:01",
	"9999-12-31T23:00:00-01:00",
	"9999-12-31T12:00:00-23:59",
	"0000-01-01T00:00:00+00:01",
};

static void test_time_parse(void **state)
{
	int64_t t;

	(void)state;
	for (size_t i = 0; i < N_ELEM(time_ok); i++) {
		t = 42;
		if (store_time_parse(time_ok[i].s, &t) != 0)
			fail_msg("rejected \"%s\"", time_ok[i].s);
		if (t != time_ok[i].t)
			fail_msg("\"%s\": %lld, want %lld", time_ok[i].s,
				 (long long)t, (long long)time_ok[i].t);
	}
	for (size_t i = 0; i < N_ELEM(time_bad); i++) {
		t = 42;
		if (store_time_parse(time_bad[i], &t) != -EINVAL)
			fail_msg("accepted \"%s\"", time_bad[i]);
		assert_int_equal(t, 42);
	}
	assert_int_equal(store_time_parse(NULL, &t), -EINVAL);
}

/* With a length: exactly those bytes count; a NUL among them is junk. */
static void test_time_parsen(void **state)
{
	static const char z[] = "2026-12-24T00:00:00Z";
	int64_t t = 42;

	(void)state;
	assert_int_equal(store_time_parsen(z, sizeof(z) - 1, &t), 0);
	assert_int_equal(t, 1798070400);
	assert_int_equal(store_time_parsen("2026-12-24T00:00:00Zjunk", 20, &t),
			 0);
	assert_int_equal(t, 1798070400);
	assert_int_equal(
		store_time_parsen("2026-12-24T00:00:00+01:00xx", 25, &t), 0);
	assert_int_equal(t, 1798070400 - 3600);
	t = 42;
	assert_int_equal(store_time_parsen(z, sizeof(z), &t), -EINVAL);
	assert_int_equal(
		store_time_parsen("2026-12-24T00:00:00Z\0junk", 25, &t),
		-EINVAL);
	assert_int_equal(store_time_parsen("2026-12-24T00:00:00\0Z", 21, &t),
			 -EINVAL);
	assert_int_equal(store_time_parsen("2026-12-24T00:00:00.\0Z", 22, &t),
			 -EINVAL);
	assert_int_equal(store_time_parsen(z, 19, &t), -EINVAL);
	assert_int_equal(store_time_parsen(z, 21 - 2, &t), -EINVAL);
	assert_int_equal(store_time_parsen("2026-12-24T00:00:00Z ", 21, &t),
			 -EINVAL);
	assert_int_equal(store_time_parsen(NULL, 20, &t), -EINVAL);
	assert_int_equal(t, 42);
}

static void test_time_format(void **state)
{
	char buf[32];

	(void)state;
	store_time_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	store_time_format(1798070400, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-24T00:00:00Z");
	store_time_format(1709210096, buf, sizeof(buf));
	assert_string_equal(buf, "2024-02-29T12:34:56Z");
	store_time_format(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	/* Too small a buffer gives "", never a truncated time. */
	store_time_format(0, buf, 20);
	assert_string_equal(buf, "");
	store_time_format(0, buf, 21);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	/* RFC 3339's four-digit years, and nothing outside them. */
	store_time_format(-62167219200LL, buf, sizeof(buf));
	assert_string_equal(buf, "0000-01-01T00:00:00Z");
	store_time_format(-59011459200LL, buf, sizeof(buf));
	assert_string_equal(buf, "0100-01-01T00:00:00Z");
	store_time_format(253402300799LL, buf, sizeof(buf));
	assert_string_equal(buf, "9999-12-31T23:59:59Z");
	store_time_format(253402300800LL, buf, sizeof(buf));
	assert_string_equal(buf, "");
	store_time_format(-62167219201LL, buf, sizeof(buf));
	assert_string_equal(buf, "");
	store_time_format(INT64_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "");
	store_time_format(INT64_MIN, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

/* Format then parse is the identity, and agrees with timegm(3), over a
 * spread of times from year 0 to 9999 (every step lands on other fields). */
static void test_time_round_trip(void **state)
{
	char buf[32];
	int64_t t, back;

	(void)state;
	for (t = -62167219200LL; t < 253402300799LL; t += 7777777LL + 13) {
		struct tm tm;
		time_t tt = (time_t)t;

		store_time_format(t, buf, sizeof(buf));
		assert_int_equal(store_time_parse(buf, &back), 0);
		assert_int_equal(back, t);
		assert_non_null(gmtime_r(&tt, &tm));
		assert_int_equal((int64_t)timegm(&tm), t);
	}
}

/* ---- sizes ------------------------------------------------------------- */

static const struct {
	const char *s;
	uint64_t v;
} size_ok[] = {
	{ "0", 0 },
	{ "1048576", 1048576 },
	{ "512M", 512ull << 20 },
	{ "10G", 10ull << 30 },
	{ "4k", 4096 },
	{ "4K", 4096 },
	{ "4KB", 4096 },
	{ "4kb", 4096 },
	{ "4KiB", 4096 },
	{ "4kib", 4096 },
	{ "1MiB", 1048576 },
	{ "1MB", 1048576 },
	{ "1 MiB", 1048576 },
	{ "8 M", 8ull << 20 },
	{ "2T", 2ull << 40 },
	{ "1P", 1ull << 50 },
	{ "15E", 15ull << 60 },
	{ "512B", 512 },
	{ "512 b", 512 },
	{ "18446744073709551615", UINT64_MAX },
	{ "16777215T", 16777215ull << 40 },
};

static const char *const size_bad[] = {
	"", " ", "M", "B", "iB", "-1", "+1", " 1", "1 ", "1M ", "1.5G",
	"1,5G", "1X", "1MM", "1MiBB", "1Mi", "1iB", "0x10", "1e6",
	"18446744073709551616", "16E", "16777216T", "99999999999999999999K",
	"1 2", "1Z", "1Y",
};

static void test_size_parse(void **state)
{
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < N_ELEM(size_ok); i++) {
		v = 42;
		if (store_size_parse(size_ok[i].s, &v) != 0)
			fail_msg("rejected \"%s\"", size_ok[i].s);
		if (v != size_ok[i].v)
			fail_msg("\"%s\": %llu", size_ok[i].s,
				 (unsigned long long)v);
	}
	for (size_t i = 0; i < N_ELEM(size_bad); i++) {
		v = 42;
		if (store_size_parse(size_bad[i], &v) != -EINVAL)
			fail_msg("accepted \"%s\"", size_bad[i]);
		assert_int_equal(v, 42);
	}
	assert_int_equal(store_size_parse(NULL, &v), -EINVAL);
}

/* go-humanize IBytes, which Go CLIs print: "%.1f" below 10, "%.0f" above. */
static const struct {
	uint64_t v;
	const char *s;
} size_fmt[] = {
	{ 0, "0 B" },
	{ 9, "9 B" },
	{ 10, "10 B" },
	{ 512, "512 B" },
	{ 1023, "1023 B" },
	{ 1024, "1.0 KiB" },
	{ 1536, "1.5 KiB" },
	{ 10239, "10 KiB" },
	{ 10240, "10 KiB" },
	{ 10752, "10 KiB" },  /* 10.5 -> "%.0f" rounds to even */
	{ 11776, "12 KiB" },  /* 11.5 */
	{ 1048575, "1024 KiB" },
	{ 1048576, "1.0 MiB" },
	{ 1258291, "1.2 MiB" },
	{ 1310720, "1.3 MiB" },  /* 1.25 exactly: tenths round half up */
	{ 1363149, "1.3 MiB" },
	{ 82854982, "79 MiB" },
	{ 5ull << 30, "5.0 GiB" },
	{ 3ull << 40, "3.0 TiB" },
	{ 1ull << 50, "1.0 PiB" },
	{ 1ull << 60, "1.0 EiB" },
	{ UINT64_MAX, "16 EiB" },
};

static void test_size_format(void **state)
{
	char buf[32];

	(void)state;
	for (size_t i = 0; i < N_ELEM(size_fmt); i++) {
		store_size_format(size_fmt[i].v, buf, sizeof(buf));
		if (strcmp(buf, size_fmt[i].s) != 0)
			fail_msg("%llu: \"%s\", want \"%s\"",
				 (unsigned long long)size_fmt[i].v, buf,
				 size_fmt[i].s);
	}
	/* Truncates, never overflows. */
	store_size_format(1258291, buf, 4);
	assert_string_equal(buf, "1.2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_key_layout),
		cmocka_unit_test(test_key_bad),
		cmocka_unit_test(test_key_length),
		cmocka_unit_test(test_path_trim),
		cmocka_unit_test(test_path_safe),
		cmocka_unit_test(test_meta_round_trip),
		cmocka_unit_test(test_meta_mtime),
		cmocka_unit_test(test_meta_malformed),
		cmocka_unit_test(test_meta_encode_invalid),
		cmocka_unit_test(test_meta_expired),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_time_parsen),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_time_round_trip),
		cmocka_unit_test(test_size_parse),
		cmocka_unit_test(test_size_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
