/*
 * test_xfer.c - remote/xfer.c against the file:// backend in a temporary
 * directory: the worker pool, single and multipart uploads, ranged parallel
 * downloads (and their ETag pinning), copies, prefix deletes past one
 * listing page, and the progress callback.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "remote.h"
#include "xfer.h"

struct fixture {
	char dir[64];
	struct remote *r;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct remote_config cfg;
	struct remote_error err;
	char url[128];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/afs-xfer.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(url, sizeof(url), "file://%s", f->dir);
	memset(&cfg, 0, sizeof(cfg));
	memset(&err, 0, sizeof(err));
	cfg.url = url;
	assert_int_equal(remote_open(&cfg, &f->r, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	remote_close(f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* An unlinked temporary file holding size pseudo-random bytes. */
static int temp_data(uint64_t size, unsigned seed)
{
	char path[] = "/tmp/afs-xfer-data.XXXXXX";
	unsigned char buf[65536];
	uint64_t done = 0;
	size_t i, n;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	while (done < size) {
		n = size - done < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (unsigned char)(seed >> 16);
		}
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
		done += n;
	}
	return fd;
}

static void assert_same(int a, int b, uint64_t size)
{
	static char x[65536], y[65536];
	uint64_t off = 0;
	size_t n;

	while (off < size) {
		n = size - off < sizeof(x) ? (size_t)(size - off) : sizeof(x);
		assert_int_equal(pread(a, x, n, (off_t)off), (ssize_t)n);
		assert_int_equal(pread(b, y, n, (off_t)off), (ssize_t)n);
		assert_memory_equal(x, y, n);
		off += n;
	}
}

struct counter {
	pthread_mutex_t lock;
	uint64_t n;
};

static void count(void *arg)
{
	struct counter *c = arg;

	pthread_mutex_lock(&c->lock);
	c->n++;
	pthread_mutex_unlock(&c->lock);
}

static void add_bytes(void *ctx, uint64_t bytes)
{
	struct counter *c = ctx;

	pthread_mutex_lock(&c->lock);
	c->n += bytes;
	pthread_mutex_unlock(&c->lock);
}

static void test_pool(void **state)
{
	struct counter c = { PTHREAD_MUTEX_INITIALIZER, 0 };
	struct remote_pool *p = remote_pool_new(4);
	int i;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < 1000; i++)
		assert_int_equal(remote_pool_submit(p, count, &c), 0);
	remote_pool_wait(p);
	assert_int_equal(c.n, 1000);
	for (i = 0; i < 10; i++)
		assert_int_equal(remote_pool_submit(p, count, &c), 0);
	remote_pool_free(p);
	assert_int_equal(c.n, 1010);
	remote_pool_free(NULL);
}

/* Put size bytes with opts, read them back with ranged GETs, compare. */
static void round_trip(struct remote *r, uint64_t size,
		       const struct remote_xfer_opts *put_opts,
		       const char *want_etag_dash)
{
	struct counter c = { PTHREAD_MUTEX_INITIALIZER, 0 };
	struct remote_xfer_opts o = *put_opts, g;
	struct remote_error err;
	struct remote_stat st;
	char etag[REMOTE_ETAG_MAX];
	char got[DIGEST_SHA256_HEX], want[DIGEST_SHA256_HEX];
	char path[] = "/tmp/afs-xfer-out.XXXXXX";
	int in = temp_data(size, (unsigned)size), out;

	memset(&err, 0, sizeof(err));
	memset(&st, 0, sizeof(st));
	o.progress = add_bytes;
	o.progress_ctx = &c;
	assert_int_equal(remote_put_file(r, "t/obj", in, size, NULL, &o, etag,
					 &err), 0);
	assert_int_equal(c.n, size);
	if (want_etag_dash)
		assert_non_null(strchr(etag, '-'));
	assert_int_equal(remote_head(r, "t/obj", &st, &err), 0);
	assert_int_equal(st.size, size);

	out = mkstemp(path);
	assert_true(out >= 0);
	unlink(path);
	memset(&g, 0, sizeof(g));
	g.part_size = 1024 * 1024 + 7; /* odd ranges */
	g.threads = 5;
	assert_int_equal(remote_get_file(r, "t/obj", &st, out, &g, &err), 0);
	assert_same(in, out, size);

	/* Again with the SHA-256 computed on the way: pieces finish out of
	 * order on five threads, yet the digest is the file's. */
	assert_int_equal(ftruncate(out, 0), 0);
	assert_int_equal(remote_get_file_sha256(r, "t/obj", &st, out, &g, got,
						&err),
			 0);
	assert_same(in, out, size);
	assert_int_equal(digest_sha256_fd(in, size, want), 0);
	assert_string_equal(got, want);
	remote_stat_clear(&st);
	close(in);
	close(out);
}

static void test_put_single(void **state)
{
	struct fixture *f = *state;
	struct remote_xfer_opts o;

	memset(&o, 0, sizeof(o));
	round_trip(f->r, 3 * 1024 * 1024 + 11, &o, NULL);
	round_trip(f->r, 0, &o, NULL);
}

static void test_put_multipart(void **state)
{
	struct fixture *f = *state;
	struct remote_xfer_opts o;

	memset(&o, 0, sizeof(o));
	o.single_limit = 1024 * 1024;
	o.part_size = 1; /* raised to S3's 5 MiB minimum */
	o.threads = 3;
	round_trip(f->r, 12 * 1024 * 1024 + 5, &o, "-");
}

static void test_get_stale(void **state)
{
	struct fixture *f = *state;
	struct remote_body b = { .buf = "first version", .fd = -1, .len = 13 };
	struct remote_error err;
	struct remote_stat st;
	int out = temp_data(0, 1);

	memset(&err, 0, sizeof(err));
	memset(&st, 0, sizeof(st));
	assert_int_equal(remote_put(f->r, "t/stale", &b, NULL, NULL, &err), 0);
	assert_int_equal(remote_head(f->r, "t/stale", &st, &err), 0);
	b.buf = "second version!";
	b.len = 15;
	assert_int_equal(remote_put(f->r, "t/stale", &b, NULL, NULL, &err), 0);
	assert_int_equal(remote_get_file(f->r, "t/stale", &st, out, NULL, &err),
			 -ESTALE);
	assert_true(err.msg[0] != '\0');
	remote_stat_clear(&st);
	close(out);
}

static void test_copy_and_delete_prefix(void **state)
{
	struct fixture *f = *state;
	struct remote_body b = { .buf = "x", .fd = -1, .len = 1 };
	struct remote_error err;
	struct remote_stat st;
	struct remote_list_opts lo;
	struct remote_list l;
	char key[64];
	size_t deleted = 0;
	int i;

	memset(&err, 0, sizeof(err));
	memset(&st, 0, sizeof(st));
	memset(&l, 0, sizeof(l));
	for (i = 0; i < 1205; i++) {
		snprintf(key, sizeof(key), "del/%04d", i);
		assert_int_equal(remote_put(f->r, key, &b, NULL, NULL, &err), 0);
	}
	assert_int_equal(remote_put(f->r, "delx", &b, NULL, NULL, &err), 0);
	assert_int_equal(remote_copy_object(f->r, "del/0007", "kept/copy", 1,
					    NULL, &err), 0);
	assert_int_equal(remote_head(f->r, "kept/copy", &st, &err), 0);
	assert_int_equal(st.size, 1);
	remote_stat_clear(&st);

	assert_int_equal(remote_delete_prefix(f->r, "del/", &deleted, &err), 0);
	assert_int_equal(deleted, 1205);
	memset(&lo, 0, sizeof(lo));
	lo.prefix = "del";
	assert_int_equal(remote_list(f->r, &lo, &l, &err), 0);
	assert_int_equal(l.n_entries, 1); /* "delx" is not under "del/" */
	remote_list_clear(&l);
	assert_int_equal(remote_delete_prefix(f->r, "", NULL, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool),
		cmocka_unit_test_setup_teardown(test_put_single, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_multipart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_and_delete_prefix, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
