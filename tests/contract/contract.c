/*
 * contract.c - one suite, every backend: the behaviour remote.h promises,
 * checked against file:// and real S3 servers on loopback.
 *
 *   contract file            a fresh temporary directory
 *   contract moto|swift      the server scripts/test started, found through
 *                            AFS_TEST_<NAME>_{ENDPOINT,KEY,SECRET,BUCKET,
 *                            REGION}; exits 77 (skipped) without them
 *
 * Every run works under its own random prefix, so runs never see each other.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <cmocka.h>

#include "remote.h"
#include "xfer.h"

struct fixture {
	const char *backend;
	struct remote_config cfg;
	struct remote *r;
	char tmpdir[PATH_MAX]; /* file:// store, removed at the end */
};

static struct fixture fx; /* test-suite state, set up once in main() */

static void fill(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
}

static void put_buf(const char *key, const void *buf, size_t len,
		    const char *ctype, const struct remote_meta *meta)
{
	struct remote_body body = {.buf = buf, .fd = -1, .len = len};
	struct remote_put_opts opts = {.content_type = ctype, .meta = meta};
	struct remote_error err = {{0}};
	int rc = remote_put(fx.r, key, &body, &opts, NULL, &err);

	if (rc)
		fail_msg("put %s: %d %s", key, rc, err.msg);
}

static void test_put_head_get(void **state)
{
	struct remote_meta meta = {0};
	struct remote_stat st = {0};
	struct remote_error err = {{0}};
	char data[10000];
	char back[10000];
	size_t got = 0;

	(void)state;
	fill(data, sizeof(data), 1);
	assert_int_equal(remote_meta_set(&meta, "mode", "33261"), 0);
	assert_int_equal(remote_meta_set(&meta, "sha256", "abc"), 0);
	put_buf("obj/one", data, sizeof(data), "text/plain", &meta);

	assert_int_equal(remote_head(fx.r, "obj/one", &st, &err), 0);
	assert_int_equal(st.size, sizeof(data));
	assert_true(strlen(st.etag) > 0);
	assert_string_equal(st.content_type, "text/plain");
	assert_string_equal(remote_meta_get(&st.meta, "mode"), "33261");
	assert_string_equal(remote_meta_get(&st.meta, "sha256"), "abc");
	assert_true(st.mtime.tv_sec > 1600000000);

	assert_int_equal(remote_get(fx.r, "obj/one", 0, sizeof(back), back,
				    &got, NULL, &err),
			 0);
	assert_int_equal(got, sizeof(data));
	assert_memory_equal(back, data, sizeof(data));

	/* A range in the middle, one running past the end, one past it. */
	assert_int_equal(remote_get(fx.r, "obj/one", 100, 50, back, &got,
				    st.etag, &err),
			 0);
	assert_int_equal(got, 50);
	assert_memory_equal(back, data + 100, 50);
	assert_int_equal(remote_get(fx.r, "obj/one", 9990, 100, back, &got,
				    NULL, &err),
			 0);
	assert_int_equal(got, 10);
	assert_memory_equal(back, data + 9990, 10);
	assert_int_equal(remote_get(fx.r, "obj/one", 10000, 100, back, &got,
				    NULL, &err),
			 0);
	assert_int_equal(got, 0);

	remote_stat_clear(&st);
	remote_meta_clear(&meta);
}

static void test_missing(void **state)
{
	struct remote_stat st = {0};
	struct remote_error err = {{0}};
	char buf[16];
	size_t got = 0;

	(void)state;
	assert_int_equal(remote_head(fx.r, "nope/none", &st, &err), -ENOENT);
	assert_true(strlen(err.msg) > 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(remote_get(fx.r, "nope/none", 0, sizeof(buf), buf,
				    &got, NULL, &err),
			 -ENOENT);
	assert_int_equal(remote_delete(fx.r, "nope/none", NULL), 0);
}

static void test_overwrite_changes_etag(void **state)
{
	struct remote_stat a = {0};
	struct remote_stat b = {0};
	struct remote_error err = {{0}};
	char buf[64];
	size_t got;

	(void)state;
	put_buf("ow/x", "first version", 13, NULL, NULL);
	assert_int_equal(remote_head(fx.r, "ow/x", &a, &err), 0);
	put_buf("ow/x", "second", 6, NULL, NULL);
	assert_int_equal(remote_head(fx.r, "ow/x", &b, &err), 0);
	assert_string_not_equal(a.etag, b.etag);
	assert_int_equal(b.size, 6);
	/* A read pinned to the old version must refuse the new bytes. */
	assert_int_equal(remote_get(fx.r, "ow/x", 0, sizeof(buf), buf, &got,
				    a.etag, NULL),
			 -ESTALE);
	remote_stat_clear(&a);
	remote_stat_clear(&b);
}

static void test_conditional_create(void **state)
{
	struct remote_body body = {.buf = "x", .fd = -1, .len = 1};
	struct remote_put_opts opts = {.if_none_match = 1};
	struct remote_stat st = {0};
	struct remote_error err = {{0}};

	(void)state;
	assert_int_equal(remote_put(fx.r, "cond/a", &body, &opts, NULL, &err),
			 0);
	body.buf = "yy";
	body.len = 2;
	assert_int_equal(remote_put(fx.r, "cond/a", &body, &opts, NULL, NULL),
			 -EEXIST);
	assert_int_equal(remote_head(fx.r, "cond/a", &st, &err), 0);
	assert_int_equal(st.size, 1);
	remote_stat_clear(&st);
}

static void test_put_from_fd(void **state)
{
	char path[] = "/tmp/afs-contract-XXXXXX";
	char data[70000];
	char back[100];
	struct remote_body body = {.fd = -1};
	struct remote_error err = {{0}};
	struct remote_stat st = {0};
	size_t got;
	int fd;

	(void)state;
	fill(data, sizeof(data), 2);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, data, sizeof(data)), sizeof(data));
	body.fd = fd;
	body.off = 1000;
	body.len = 50000;
	assert_int_equal(remote_put(fx.r, "fd/part", &body, NULL, NULL, &err),
			 0);
	assert_int_equal(remote_head(fx.r, "fd/part", &st, &err), 0);
	assert_int_equal(st.size, 50000);
	assert_int_equal(remote_get(fx.r, "fd/part", 49950, 100, back, &got,
				    NULL, &err),
			 0);
	assert_int_equal(got, 50);
	assert_memory_equal(back, data + 1000 + 49950, 50);
	close(fd);
	remote_stat_clear(&st);
}

static void test_copy(void **state)
{
	struct remote_meta meta = {0};
	struct remote_meta meta2 = {0};
	struct remote_put_opts repl = {.content_type = "application/x-new"};
	struct remote_stat st = {0};
	struct remote_error err = {{0}};
	char buf[32];
	size_t got;

	(void)state;
	assert_int_equal(remote_meta_set(&meta, "mode", "420"), 0);
	put_buf("cp/src", "copy me please", 14, "text/plain", &meta);

	/* Plain copy keeps metadata and type. */
	assert_int_equal(remote_copy(fx.r, "cp/src", "cp/dst", NULL, &err), 0);
	assert_int_equal(remote_head(fx.r, "cp/dst", &st, &err), 0);
	assert_string_equal(remote_meta_get(&st.meta, "mode"), "420");
	assert_string_equal(st.content_type, "text/plain");
	remote_stat_clear(&st);

	/* Copy onto itself replacing metadata: the in-place update. */
	assert_int_equal(remote_meta_set(&meta2, "mode", "493"), 0);
	assert_int_equal(remote_meta_set(&meta2, "expires-at",
					 "2030-01-01T00:00:00Z"),
			 0);
	repl.meta = &meta2;
	assert_int_equal(remote_copy(fx.r, "cp/src", "cp/src", &repl, &err), 0);
	assert_int_equal(remote_head(fx.r, "cp/src", &st, &err), 0);
	assert_string_equal(remote_meta_get(&st.meta, "mode"), "493");
	assert_string_equal(remote_meta_get(&st.meta, "expires-at"),
			    "2030-01-01T00:00:00Z");
	assert_string_equal(st.content_type, "application/x-new");
	assert_int_equal(st.size, 14);
	assert_int_equal(remote_get(fx.r, "cp/src", 0, sizeof(buf), buf, &got,
				    NULL, &err),
			 0);
	assert_int_equal(got, 14);
	assert_memory_equal(buf, "copy me please", 14);

	assert_int_equal(remote_copy(fx.r, "cp/none", "cp/x", NULL, NULL),
			 -ENOENT);
	remote_stat_clear(&st);
	remote_meta_clear(&meta);
	remote_meta_clear(&meta2);
}

/* A copy conditional on the source's ETag (the metadata step after a
 * streamed upload): done when it matches, -ESTALE when not, except on moto,
 * which ignores x-amz-copy-source-if-match (README: the weaker guarantee
 * there). */
static void test_copy_if_match(void **state)
{
	struct remote_meta meta = {0};
	struct remote_put_opts repl = {.meta = &meta};
	struct remote_stat st = {0};
	struct remote_error err = {{0}};
	char etag[REMOTE_ETAG_MAX];
	int rc;

	(void)state;
	put_buf("cpm/obj", "version one", 11, NULL, NULL);
	assert_int_equal(remote_head(fx.r, "cpm/obj", &st, &err), 0);
	snprintf(etag, sizeof(etag), "%s", st.etag);
	remote_stat_clear(&st);
	assert_int_equal(remote_meta_set(&meta, "sha256", "a"), 0);
	repl.if_match = etag;
	assert_int_equal(remote_copy(fx.r, "cpm/obj", "cpm/obj", &repl, &err),
			 0);
	put_buf("cpm/obj", "version two!", 12, NULL, NULL);
	remote_meta_clear(&meta);
	assert_int_equal(remote_meta_set(&meta, "sha256", "b"), 0);
	rc = remote_copy(fx.r, "cpm/obj", "cpm/obj", &repl, &err);
	assert_int_equal(remote_head(fx.r, "cpm/obj", &st, &err), 0);
	if (strcmp(fx.backend, "moto") == 0) {
		assert_int_equal(rc, 0);
	} else {
		assert_int_equal(rc, -ESTALE);
		assert_null(remote_meta_get(&st.meta, "sha256"));
	}
	assert_int_equal(st.size, 12);
	remote_stat_clear(&st);

	/* The same for a multipart object (a streamed upload), whose ETag
	 * Swift will not test a condition against. */
	{
		struct remote_body body = {.buf = "multipart!", .fd = -1,
					   .len = 10};
		struct remote_part part = {.number = 1};
		char *id = NULL;

		assert_int_equal(remote_mpu_create(fx.r, "cpm/mp", NULL, &id,
						   &err),
				 0);
		assert_int_equal(remote_mpu_put_part(fx.r, "cpm/mp", id, 1,
						     &body, part.etag, &err),
				 0);
		assert_int_equal(remote_mpu_complete(fx.r, "cpm/mp", id, &part,
						     1, etag, &err),
				 0);
		free(id);
		remote_meta_clear(&meta);
		assert_int_equal(remote_meta_set(&meta, "sha256", "c"), 0);
		repl.if_match = etag;
		rc = remote_copy(fx.r, "cpm/mp", "cpm/mp", &repl, &err);
		if (rc)
			fail_msg("conditional copy of a multipart object: %d %s",
				 rc, err.msg);
		assert_int_equal(remote_head(fx.r, "cpm/mp", &st, &err), 0);
		assert_string_equal(remote_meta_get(&st.meta, "sha256"), "c");
		remote_stat_clear(&st);
		put_buf("cpm/mp", "replaced", 8, NULL, NULL);
		rc = remote_copy(fx.r, "cpm/mp", "cpm/mp", &repl, &err);
		if (strcmp(fx.backend, "moto") != 0)
			assert_int_equal(rc, -ESTALE);
	}
	remote_meta_clear(&meta);
}

/* Unfinished multipart uploads can be found (what gc and the sweeper
 * abort) and are gone once aborted. */
static void test_mpu_list(void **state)
{
	struct remote_uploads u = {0};
	struct remote_error err = {{0}};
	char *id = NULL;
	int found = 0;

	(void)state;
	assert_int_equal(remote_mpu_create(fx.r, "mpl/a b", NULL, &id, &err),
			 0);
	assert_int_equal(remote_mpu_list(fx.r, "mpl/", &u, &err), 0);
	for (size_t i = 0; i < u.n; i++) {
		if (strcmp(u.v[i].key, "mpl/a b") == 0 &&
		    strcmp(u.v[i].upload_id, id) == 0) {
			found++;
			assert_true(u.v[i].initiated > 0); /* moto: always 2010 */
		}
	}
	assert_int_equal(found, 1);
	remote_uploads_clear(&u);
	assert_int_equal(remote_mpu_list(fx.r, "other/", &u, &err), 0);
	assert_int_equal(u.n, 0);
	assert_int_equal(remote_mpu_abort(fx.r, "mpl/a b", id, &err), 0);
	assert_int_equal(remote_mpu_list(fx.r, "mpl/", &u, &err), 0);
	for (size_t i = 0; i < u.n; i++)
		assert_string_not_equal(u.v[i].upload_id, id);
	remote_uploads_clear(&u);
	free(id);
}

static void test_delete_many(void **state)
{
	const char *keys[] = {"dm/a", "dm/b c", "dm/sub/d", "dm/missing"};
	struct remote_list l = {0};
	struct remote_list_opts lo = {.prefix = "dm/"};
	struct remote_error err = {{0}};

	(void)state;
	for (int i = 0; i < 3; i++)
		put_buf(keys[i], "z", 1, NULL, NULL);
	assert_int_equal(remote_delete_many(fx.r, keys, 4, &err), 0);
	assert_int_equal(remote_list(fx.r, &lo, &l, &err), 0);
	assert_int_equal(l.n_entries, 0);
	remote_list_clear(&l);
}

/* Keys S3 must keep byte-exact, listed in byte order with a delimiter. */
static void test_list_delimiter_and_order(void **state)
{
	const char *keys[] = {
		"ls/a",       "ls/a-b",       "ls/a/b",     "ls/a/c/d",
		"ls/a0",      "ls/b c+d%e",   "ls/dir/",    "ls/z\xc3\xa9t\xc3\xa9",
		"ls/~tilde",  "ls/.hidden",
	};
	const size_t nkeys = sizeof(keys) / sizeof(keys[0]);
	struct remote_list_opts lo = {.prefix = "ls/", .delimiter = "/"};
	struct remote_list l = {0};
	struct remote_error err = {{0}};

	(void)state;
	for (size_t i = 0; i < nkeys; i++)
		put_buf(keys[i], "", 0,
			strcmp(keys[i], "ls/dir/") == 0
				? "application/x-directory"
				: NULL,
			NULL);

	assert_int_equal(remote_list(fx.r, &lo, &l, &err), 0);
	assert_null(l.next_token);
	/* Objects: byte order, '-' (0x2d) < '.' < '0' < 'b' < 'z' < '~'. */
	assert_int_equal(l.n_entries, 7);
	assert_string_equal(l.entries[0].key, "ls/.hidden");
	assert_string_equal(l.entries[1].key, "ls/a");
	assert_string_equal(l.entries[2].key, "ls/a-b");
	assert_string_equal(l.entries[3].key, "ls/a0");
	assert_string_equal(l.entries[4].key, "ls/b c+d%e");
	assert_string_equal(l.entries[5].key, "ls/z\xc3\xa9t\xc3\xa9");
	assert_string_equal(l.entries[6].key, "ls/~tilde");
	assert_int_equal(l.entries[1].size, 0);
	assert_int_equal(l.n_prefixes, 2);
	assert_string_equal(l.prefixes[0], "ls/a/");
	assert_string_equal(l.prefixes[1], "ls/dir/");
	remote_list_clear(&l);

	/* Inside a directory marker's prefix: the marker itself is a key. */
	lo.prefix = "ls/dir/";
	assert_int_equal(remote_list(fx.r, &lo, &l, &err), 0);
	assert_int_equal(l.n_entries, 1);
	assert_string_equal(l.entries[0].key, "ls/dir/");
	remote_list_clear(&l);

	/* A prefix that is not a whole segment. */
	lo.prefix = "ls/a";
	assert_int_equal(remote_list(fx.r, &lo, &l, &err), 0);
	assert_int_equal(l.n_entries, 3); /* a, a-b, a0 */
	assert_int_equal(l.n_prefixes, 1);
	assert_string_equal(l.prefixes[0], "ls/a/");
	remote_list_clear(&l);

	/* Flat listing: everything under the prefix. */
	lo.prefix = "ls/a/";
	lo.delimiter = NULL;
	assert_int_equal(remote_list(fx.r, &lo, &l, &err), 0);
	assert_int_equal(l.n_entries, 2);
	assert_string_equal(l.entries[0].key, "ls/a/b");
	assert_string_equal(l.entries[1].key, "ls/a/c/d");
	remote_list_clear(&l);
}

/* Pages of two, with common prefixes counting toward max-keys. */
static void test_list_pagination(void **state)
{
	char key[64];
	struct remote_list_opts lo = {
		.prefix = "pg/", .delimiter = "/", .max_keys = 2};
	struct remote_list l = {0};
	struct remote_error err = {{0}};
	char seen[32][64];
	size_t nseen = 0;
	char *token = NULL;
	int pages = 0;

	(void)state;
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "pg/f%d", i);
		put_buf(key, "1", 1, NULL, NULL);
	}
	put_buf("pg/d1/x", "1", 1, NULL, NULL);
	put_buf("pg/d1/y", "1", 1, NULL, NULL);
	put_buf("pg/e/z", "1", 1, NULL, NULL);
	do {
		lo.token = token;
		assert_int_equal(remote_list(fx.r, &lo, &l, &err), 0);
		assert_true(l.n_entries + l.n_prefixes <= 2);
		for (size_t i = 0; i < l.n_prefixes; i++)
			snprintf(seen[nseen++], 64, "%s", l.prefixes[i]);
		for (size_t i = 0; i < l.n_entries; i++)
			snprintf(seen[nseen++], 64, "%s", l.entries[i].key);
		free(token);
		token = l.next_token ? strdup(l.next_token) : NULL;
		remote_list_clear(&l);
		pages++;
		assert_true(pages < 10);
	} while (token);
	/* 5 files + 2 prefixes, each exactly once. */
	assert_int_equal(nseen, 7);
	for (size_t i = 0; i < nseen; i++)
		for (size_t j = i + 1; j < nseen; j++)
			assert_string_not_equal(seen[i], seen[j]);

	/* start-after skips what sorts before it. */
	lo.token = NULL;
	lo.max_keys = 0;
	lo.start_after = "pg/f2";
	assert_int_equal(remote_list(fx.r, &lo, &l, &err), 0);
	assert_int_equal(l.n_entries, 2);
	assert_string_equal(l.entries[0].key, "pg/f3");
	assert_int_equal(l.n_prefixes, 0);
	remote_list_clear(&l);
}

static void test_multipart(void **state)
{
	const size_t p1 = REMOTE_PART_MIN;
	const size_t p2 = 12345;
	struct remote_body body = {.fd = -1};
	struct remote_part parts[2];
	struct remote_meta meta = {0};
	struct remote_put_opts opts = {.meta = &meta};
	struct remote_stat st = {0};
	struct remote_error err = {{0}};
	char *data = malloc(p1 + p2);
	char *back = malloc(p1 + p2);
	char *id = NULL;
	size_t got;

	(void)state;
	assert_non_null(data);
	assert_non_null(back);
	fill(data, p1 + p2, 3);
	assert_int_equal(remote_meta_set(&meta, "sha256", "feed"), 0);
	assert_int_equal(remote_mpu_create(fx.r, "mp/big", &opts, &id, &err),
			 0);
	/* Parts go up out of order, as parallel uploads do. */
	body.buf = data + p1;
	body.len = p2;
	parts[1].number = 2;
	assert_int_equal(remote_mpu_put_part(fx.r, "mp/big", id, 2, &body,
					     parts[1].etag, &err),
			 0);
	body.buf = data;
	body.len = p1;
	parts[0].number = 1;
	assert_int_equal(remote_mpu_put_part(fx.r, "mp/big", id, 1, &body,
					     parts[0].etag, &err),
			 0);
	assert_int_equal(remote_mpu_complete(fx.r, "mp/big", id, parts, 2,
					     NULL, &err),
			 0);
	free(id);
	id = NULL;
	assert_int_equal(remote_head(fx.r, "mp/big", &st, &err), 0);
	assert_int_equal(st.size, p1 + p2);
	assert_string_equal(remote_meta_get(&st.meta, "sha256"), "feed");
	assert_int_equal(remote_get(fx.r, "mp/big", 0, p1 + p2, back, &got,
				    st.etag, &err),
			 0);
	assert_int_equal(got, p1 + p2);
	assert_memory_equal(back, data, p1 + p2);

	/* Part-copy: a new object made of a range of the old one. */
	assert_int_equal(remote_mpu_create(fx.r, "mp/copy", NULL, &id, &err),
			 0);
	parts[0].number = 1;
	assert_int_equal(remote_mpu_copy_part(fx.r, "mp/copy", id, 1, "mp/big",
					      p1 - 100, 200, parts[0].etag,
					      &err),
			 0);
	assert_int_equal(remote_mpu_complete(fx.r, "mp/copy", id, parts, 1,
					     NULL, &err),
			 0);
	free(id);
	id = NULL;
	assert_int_equal(remote_get(fx.r, "mp/copy", 0, 1000, back, &got, NULL,
				    &err),
			 0);
	assert_int_equal(got, 200);
	assert_memory_equal(back, data + p1 - 100, 200);

	/* An aborted upload leaves nothing behind. */
	assert_int_equal(remote_mpu_create(fx.r, "mp/aborted", NULL, &id, &err),
			 0);
	body.buf = data;
	body.len = 100;
	assert_int_equal(remote_mpu_put_part(fx.r, "mp/aborted", id, 1, &body,
					     parts[0].etag, &err),
			 0);
	assert_int_equal(remote_mpu_abort(fx.r, "mp/aborted", id, &err), 0);
	remote_stat_clear(&st);
	assert_int_equal(remote_head(fx.r, "mp/aborted", &st, NULL), -ENOENT);

	free(id);
	remote_stat_clear(&st);
	remote_meta_clear(&meta);
	free(data);
	free(back);
}

static void test_key_too_long(void **state)
{
	char key[REMOTE_KEY_MAX + 2];

	(void)state;
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(remote_delete(fx.r, key, NULL), -ENAMETOOLONG);
}

/* Whole-file transfers: multipart upload in parallel, ranged download. */
static void test_xfer_file(void **state)
{
	const size_t size = 3 * REMOTE_PART_MIN + 777;
	struct remote_xfer_opts xo = {.threads = 4,
				      .part_size = REMOTE_PART_MIN,
				      .single_limit = REMOTE_PART_MIN};
	struct remote_stat st = {0};
	struct remote_error err = {{0}};
	char src[] = "/tmp/afs-contract-src-XXXXXX";
	char dst[] = "/tmp/afs-contract-dst-XXXXXX";
	char *data = malloc(size);
	char *back = malloc(size);
	int sfd, dfd;
	int rc;

	(void)state;
	fill(data, size, 4);
	sfd = mkstemp(src);
	dfd = mkstemp(dst);
	assert_true(sfd >= 0 && dfd >= 0);
	unlink(src);
	unlink(dst);
	assert_int_equal(write(sfd, data, size), (ssize_t)size);
	rc = remote_put_file(fx.r, "xf/big", sfd, size, NULL, &xo, NULL, &err);
	if (rc)
		fail_msg("put_file: %d %s", rc, err.msg);
	assert_int_equal(remote_head(fx.r, "xf/big", &st, &err), 0);
	assert_int_equal(st.size, size);
	rc = remote_get_file(fx.r, "xf/big", &st, dfd, &xo, &err);
	if (rc)
		fail_msg("get_file: %d %s", rc, err.msg);
	assert_int_equal(pread(dfd, back, size, 0), (ssize_t)size);
	assert_memory_equal(back, data, size);
	close(sfd);
	close(dfd);
	remote_stat_clear(&st);
	free(data);
	free(back);
}

static void test_check(void **state)
{
	struct remote_error err = {{0}};

	(void)state;
	assert_int_equal(remote_check(fx.r, &err), 0);
}

/* Open a second remote like fx's but with cfg changed by the caller. */
static int check_variant(struct remote_config *cfg, struct remote_error *err)
{
	struct remote *r = NULL;
	int rc;

	rc = remote_open(cfg, &r, err);
	if (rc == 0)
		rc = remote_check(r, err);
	remote_close(r);
	return rc;
}

/* The failures a user meets first, each with one clear message. */
static void test_bad_config(void **state)
{
	struct remote_config cfg = {0};
	struct remote_error err = {{0}};
	int rc;

	(void)state;
	if (strcmp(fx.backend, "file") == 0) {
		remote_config_set(&cfg.url, "file://relative/path");
		assert_int_equal(check_variant(&cfg, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "absolute"));
		remote_config_clear(&cfg);
		return;
	}
	/* Unreachable endpoint: a closed loopback port. */
	remote_config_set(&cfg.url, fx.cfg.url);
	remote_config_set(&cfg.endpoint, "http://127.0.0.1:9");
	remote_config_set(&cfg.region, fx.cfg.region);
	remote_config_set(&cfg.access_key, fx.cfg.access_key);
	remote_config_set(&cfg.secret_key, fx.cfg.secret_key);
	cfg.max_retries = 1;
	rc = check_variant(&cfg, &err);
	assert_true(rc == -ECONNREFUSED || rc == -EHOSTUNREACH ||
		    rc == -ETIMEDOUT);
	assert_true(strlen(err.msg) > 0);
	assert_null(strstr(err.msg, fx.cfg.secret_key));

	/* Missing bucket. */
	memset(&err, 0, sizeof(err));
	remote_config_set(&cfg.endpoint, fx.cfg.endpoint);
	remote_config_set(&cfg.url, "s3://afs-no-such-bucket-here");
	assert_int_equal(check_variant(&cfg, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "afs-no-such-bucket-here"));

	/* Wrong secret: only a server that checks signatures can say. */
	if (strcmp(fx.backend, "swift") == 0) {
		memset(&err, 0, sizeof(err));
		remote_config_set(&cfg.url, fx.cfg.url);
		remote_config_set(&cfg.secret_key, "definitely-wrong-secret");
		assert_int_equal(check_variant(&cfg, &err), -EACCES);
		assert_non_null(strstr(err.msg, "denied"));
		assert_null(strstr(err.msg, "definitely-wrong-secret"));
	}
	remote_config_clear(&cfg);
}

static const char *env_of(const char *backend, const char *what)
{
	char name[128];
	char up[32];
	size_t i;

	for (i = 0; backend[i] && i < sizeof(up) - 1; i++)
		up[i] = (char)(backend[i] >= 'a' && backend[i] <= 'z'
				       ? backend[i] - 32
				       : backend[i]);
	up[i] = '\0';
	snprintf(name, sizeof(name), "AFS_TEST_%s_%s", up, what);
	return getenv(name);
}

/* Build fx for the backend; 77 when its server is not configured. */
static int setup_backend(const char *backend)
{
	struct remote_error err = {{0}};
	unsigned char rnd[6];
	char hex[13];
	char url[PATH_MAX + 64];
	int rc;

	fx.backend = backend;
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return 1;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	if (strcmp(backend, "file") == 0) {
		snprintf(fx.tmpdir, sizeof(fx.tmpdir),
			 "/tmp/afs-contract-%s", hex);
		snprintf(url, sizeof(url), "file://%s", fx.tmpdir);
	} else {
		const char *endpoint = env_of(backend, "ENDPOINT");
		const char *bucket = env_of(backend, "BUCKET");

		if (!endpoint || !bucket || !env_of(backend, "KEY") ||
		    !env_of(backend, "SECRET")) {
			fprintf(stderr,
				"SKIP: no %s server (AFS_TEST_*_ENDPOINT unset; "
				"scripts/test starts one)\n",
				backend);
			return 77;
		}
		snprintf(url, sizeof(url), "s3://%s/contract-%s", bucket, hex);
		remote_config_set(&fx.cfg.endpoint, endpoint);
		remote_config_set(&fx.cfg.access_key, env_of(backend, "KEY"));
		remote_config_set(&fx.cfg.secret_key,
				  env_of(backend, "SECRET"));
		remote_config_set(&fx.cfg.region, env_of(backend, "REGION")
							  ?: "us-east-1");
	}
	remote_config_set(&fx.cfg.url, url);
	rc = remote_open(&fx.cfg, &fx.r, &err);
	if (rc) {
		fprintf(stderr, "cannot open %s: %s\n", url, err.msg);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_put_head_get),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_overwrite_changes_etag),
		cmocka_unit_test(test_conditional_create),
		cmocka_unit_test(test_put_from_fd),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_copy_if_match),
		cmocka_unit_test(test_mpu_list),
		cmocka_unit_test(test_delete_many),
		cmocka_unit_test(test_list_delimiter_and_order),
		cmocka_unit_test(test_list_pagination),
		cmocka_unit_test(test_multipart),
		cmocka_unit_test(test_key_too_long),
		cmocka_unit_test(test_xfer_file),
		cmocka_unit_test(test_bad_config),
	};
	char name[64];
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: contract file|moto|swift\n");
		return 2;
	}
	rc = setup_backend(argv[1]);
	if (rc)
		return rc;
	snprintf(name, sizeof(name), "contract.%s", argv[1]);
	rc = _cmocka_run_group_tests(name, tests, sizeof(tests) / sizeof(tests[0]),
				     NULL, NULL);
	if (fx.r) {
		size_t n = 0;

		remote_delete_prefix(fx.r, "", &n, NULL);
	}
	remote_close(fx.r);
	remote_config_clear(&fx.cfg);
	if (fx.tmpdir[0]) {
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", fx.tmpdir);
	}
	return rc;
}
