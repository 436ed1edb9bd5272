/*
 * fuzz_duration.c - libFuzzer target for the user-facing parsers of
 * remote/: store_duration_parse(), store_time_parse(), store_size_parse(),
 * plus the path checks and the metadata codec, which read what other tools
 * wrote into object keys and x-amz-meta-* headers.
 *
 * Build and run for 30 seconds (clang only; exit status 0 means no crash):
 *
 *     scripts/fuzz 30
 *
 * which does
 *
 *     cmake -S tests/fuzz -B build-fuzz -DCMAKE_C_COMPILER=clang \
 *         -DAFS_FUZZ=ON && cmake --build build-fuzz --target fuzz_duration &&
 *     build-fuzz/fuzz_duration -max_total_time=30 build-fuzz/corpus
 *
 * (scripts/fuzz also seeds build-fuzz/corpus and writes a dictionary.)
 *
 * Each input is copied into a NUL-terminated buffer of its own, so ASan sees
 * any read past the string; inputs with an embedded NUL are parsed up to it,
 * as C callers would.  Invariants are checked with CHECK(), which aborts
 * even under NDEBUG:
 *   - a duration that parses is STORE_NEVER or in [1,
 *     STORE_DURATION_MAX]; with its length given (the *_parsen variants,
 *     which see the whole input) an input holding a NUL never parses;
 *   - a time that parses lies in [STORE_TIME_MIN, STORE_TIME_MAX] and
 *     formats back to a string that parses to the same second;
 *   - a size that parses formats into a terminated string of < 32 bytes;
 *   - a trimmed path that is safe makes a key with the right prefix, or
 *     -ENAMETOOLONG; store_key never accepts an unsafe path;
 *   - metadata decoded from arbitrary values re-encodes and decodes to the
 *     same fields.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "fuzz_check.h"

/* Durations: 0 or -EINVAL; success means a positive total. */
static void fuzz_duration(const char *s)
{
	int64_t v = -1;
	int rc = store_duration_parse(s, &v);

	CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0)
		CHECK(v == STORE_NEVER || (v > 0 && v <= STORE_DURATION_MAX));
	else
		CHECK(v == -1);
}

/* The length-taking parsers over the raw input, NULs included. */
static void fuzz_parsen(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	int has_nul = memchr(data, '\0', size) != NULL;
	int64_t v = -1, t = 0;
	int rc;

	rc = store_duration_parsen(s, size, &v);
	CHECK(rc == 0 || rc == -EINVAL);
	CHECK(rc != 0 || !has_nul);
	CHECK(rc != 0 || v == STORE_NEVER ||
	      (v > 0 && v <= STORE_DURATION_MAX));
	rc = store_time_parsen(s, size, &t);
	CHECK(rc == 0 || rc == -EINVAL);
	CHECK(rc != 0 || !has_nul);
	CHECK(rc != 0 || (t >= STORE_TIME_MIN && t <= STORE_TIME_MAX));
}

/* Times: what parses formats (within gmtime's range) to canonical UTC,
 * which parses to the same second. */
static void fuzz_time(const char *s)
{
	char buf[64];
	int64_t t = 0, back = 0;
	int rc = store_time_parse(s, &t);

	CHECK(rc == 0 || rc == -EINVAL);
	if (rc != 0)
		return;
	store_time_format(t, buf, sizeof(buf));
	CHECK(memchr(buf, '\0', sizeof(buf)) != NULL);
	/* Offsets never move a time out of the years 0000-9999. */
	CHECK(t >= STORE_TIME_MIN && t <= STORE_TIME_MAX);
	CHECK(buf[0] != '\0');
	CHECK(store_time_parse(buf, &back) == 0);
	CHECK(back == t);
}

static void fuzz_size(const char *s)
{
	char buf[32];
	uint64_t b = 0;
	int rc = store_size_parse(s, &b);

	CHECK(rc == 0 || rc == -EINVAL);
	if (rc != 0)
		return;
	memset(buf, 'x', sizeof(buf));
	store_size_format(b, buf, sizeof(buf));
	CHECK(memchr(buf, '\0', sizeof(buf)) != NULL);
	CHECK(strlen(buf) >= 3);
}

static void fuzz_path(const char *s)
{
	const char *rel = store_path_trim(s);
	char *key = NULL;
	int safe, rc;

	CHECK(rel >= s && rel <= s + strlen(s));
	safe = store_path_is_safe(rel, 1);
	CHECK(safe == 0 || safe == 1);
	rc = store_key(STORE_WORKFLOW, "wf", rel, &key);
	if (!rel[0] || safe) {
		CHECK(rc == 0 || rc == -ENAMETOOLONG);
	} else {
		CHECK(rc == -EINVAL);
	}
	if (rc == 0) {
		CHECK(strncmp(key, "artifacts/workflows/wf/", 23) == 0);
		CHECK(strcmp(key + 23, rel) == 0);
		CHECK(strlen(key) <= REMOTE_KEY_MAX);
	} else {
		CHECK(key == NULL);
	}
	free(key);
	/* The input as an id. */
	rc = store_key(STORE_JOB, s, "x", &key);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENAMETOOLONG);
	CHECK((rc == 0) == (key != NULL));
	free(key);
}

/* Every metadata field set to s, decoded, then re-encoded and decoded
 * again: the second decode must equal the first. */
static void fuzz_meta(const char *s)
{
	static const char *const names[] = { "mode",  "uid",	"gid",
					     "mtime", "sha256", "expires-at" };
	struct remote_meta m = { 0 }, m2 = { 0 };
	struct store_meta a, b;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (remote_meta_set(&m, names[i], s) != 0)
			goto out;
	store_meta_decode(&m, &a);
	if (store_meta_encode(&a, &m2) != 0)
		goto out; /* -ENOMEM, or an expiry gmtime cannot format */
	store_meta_decode(&m2, &b);
	CHECK(a.has_mode == b.has_mode && a.mode == b.mode);
	CHECK(a.has_uid == b.has_uid && a.uid == b.uid);
	CHECK(a.has_gid == b.has_gid && a.gid == b.gid);
	CHECK(a.has_mtime == b.has_mtime);
	CHECK(a.mtime.tv_sec == b.mtime.tv_sec);
	CHECK(a.mtime.tv_nsec == b.mtime.tv_nsec);
	CHECK(a.has_sha256 == b.has_sha256 && !strcmp(a.sha256, b.sha256));
	CHECK(a.has_expires == b.has_expires && a.expires_at == b.expires_at);
out:
	remote_meta_clear(&m);
	remote_meta_clear(&m2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_duration(s);
	fuzz_time(s);
	fuzz_size(s);
	fuzz_path(s);
	fuzz_meta(s);
	fuzz_parsen(data, size);
	free(s);
	return 0;
}
