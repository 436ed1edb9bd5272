/*
 * test_cache.c - the block cache against a real file:// remote.
 *
 * The cache reads through the fault remote (remote/fault.h) wrapped around
 * the file:// store, which counts GETs (and delays them when asked), so
 * "one fetch" and "no GET after reopen" are counted, not guessed.  Blocks are
 * 64 KiB to keep objects small.  The only waits are bounded polls on the stats
 * (10 s at most) for read-ahead.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "digest.h"
#include "fault.h"
#include "remote.h"
#include "store_fixture.h"

#define BS (64u * 1024)

struct fixture {
	char dir[64];
	char cdir[96];
	struct remote *r;     /* the fault remote over the file:// store */
	unsigned gets_before; /* GETs not to count (reset_count) */
	struct cache *c;
};

static unsigned get_count(struct fixture *f)
{
	return remote_fault_calls(f->r, REMOTE_FAULT_GET) - f->gets_before;
}

static void reset_count(struct fixture *f)
{
	f->gets_before = remote_fault_calls(f->r, REMOTE_FAULT_GET);
}

static void fill(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

/* Put n bytes of pattern seed as key; returns the buffer (caller frees)
 * and the ETag. */
static unsigned char *put_obj(struct fixture *f, const char *key, size_t n,
			      uint32_t seed, char etag[REMOTE_ETAG_MAX])
{
	unsigned char *p = malloc(n);
	struct remote_body body = { 0 };
	struct remote_error err = { { 0 } };

	assert_non_null(p);
	fill(p, n, seed);
	body.buf = p;
	body.len = n;
	assert_int_equal(remote_put(f->r, key, &body, NULL, etag, &err), 0);
	return p;
}

static void open_cache(struct fixture *f, uint64_t max, unsigned ra)
{
	struct cache_opts o = { 0 };
	struct remote_error err = { { 0 } };

	o.dir = f->cdir;
	o.max_bytes = max;
	o.block_size = BS;
	o.readahead = ra;
	o.fetchers = 4;
	assert_int_equal(cache_open(&o, f->r, &f->c, &err), 0);
}

static struct cache_stats stats(struct fixture *f)
{
	struct cache_stats s;

	cache_get_stats(f->c, &s);
	return s;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	store_fixture_open(f->dir, sizeof(f->dir), "cache", &f->r);
	snprintf(f->cdir, sizeof(f->cdir), "%s/cache", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cache_close(f->c);
	remote_fault_clear(f->r);
	remote_close(f->r); /* and the store it wraps */
	store_fixture_rmtree(f->dir);
	free(f);
	return 0;
}

/* Wait (10 s at most) until the read-ahead counter reaches n. */
static void wait_readahead(struct fixture *f, uint64_t n)
{
	for (int i = 0; i < 1000 && stats(f).readahead < n; i++)
		usleep(10 * 1000);
	assert_true(stats(f).readahead >= n);
}

/* The path of block no of (key, etag), as the cache lays it out. */
static void block_path(struct fixture *f, const char *key, const char *etag,
		       uint64_t no, char *out, size_t n)
{
	struct digest_sha256 *d = digest_sha256_new();
	char hex[DIGEST_SHA256_HEX];
	char bs[16];

	assert_non_null(d);
	snprintf(bs, sizeof(bs), "%u", BS);
	digest_sha256_update(d, key, strlen(key) + 1);
	digest_sha256_update(d, etag, strlen(etag) + 1);
	digest_sha256_update(d, bs, strlen(bs));
	digest_sha256_final(d, hex);
	snprintf(out, n, "%s/blocks/%.2s/%s.%llu", f->cdir, hex, hex,
		 (unsigned long long)no);
}

static void test_whole_object(void **state)
{
	struct fixture *f = *state;
	size_t n = 5 * BS + 1234;
	char etag[REMOTE_ETAG_MAX];
	unsigned char *want = put_obj(f, "a/obj", n, 1, etag);
	unsigned char *got = malloc(n + 100);

	open_cache(f, 0, 0);
	assert_int_equal(cache_block_size(f->c), BS);
	assert_int_equal(
		cache_read(f->c, "a/obj", etag, n, NULL, 0, n + 100, got, NULL),
		(ssize_t)n);
	assert_memory_equal(got, want, n);
	assert_int_equal(stats(f).misses, 6);
	assert_int_equal(get_count(f), 6);
	assert_true(stats(f).block_bytes >= n);
	free(want);
	free(got);
}

static void test_random_offsets(void **state)
{
	struct fixture *f = *state;
	size_t n = 7 * BS + 99;
	char etag[REMOTE_ETAG_MAX];
	unsigned char *want = put_obj(f, "rand", n, 2, etag);
	unsigned char *got = malloc(3 * BS);
	uint32_t x = 12345;

	open_cache(f, 0, 0);
	for (int i = 0; i < 300; i++) {
		uint64_t off, len;
		ssize_t r;

		x = x * 1103515245u + 12345u;
		off = (x >> 4) % n;
		x = x * 1103515245u + 12345u;
		len = 1 + (x >> 4) % (3 * BS);
		r = cache_read(f->c, "rand", etag, n, NULL, off, len, got,
			       NULL);
		assert_int_equal(r, len < n - off ? len : n - off);
		assert_memory_equal(got, want + off, (size_t)r);
	}
	free(want);
	free(got);
}

static void test_past_eof(void **state)
{
	struct fixture *f = *state;
	size_t n = BS + 10;
	char etag[REMOTE_ETAG_MAX];
	unsigned char *want = put_obj(f, "eof", n, 3, etag);
	unsigned char got[100];

	open_cache(f, 0, 0);
	assert_int_equal(
		cache_read(f->c, "eof", etag, n, NULL, n, 100, got, NULL), 0);
	assert_int_equal(
		cache_read(f->c, "eof", etag, n, NULL, n + 5000, 1, got, NULL),
		0);
	assert_int_equal(
		cache_read(f->c, "eof", etag, n, NULL, n - 30, 100, got, NULL),
		30);
	assert_memory_equal(got, want + n - 30, 30);
	assert_int_equal(
		cache_read(f->c, "eof", etag, n, NULL, 0, 0, got, NULL), 0);
	free(want);
}

static void test_second_read_hits(void **state)
{
	struct fixture *f = *state;
	size_t n = 40000;
	char etag[REMOTE_ETAG_MAX];
	unsigned char *want = put_obj(f, "hit", n, 4, etag);
	unsigned char got[4096];
	struct cache_stats s1, s2;

	open_cache(f, 0, 0);
	assert_int_equal(
		cache_read(f->c, "hit", etag, n, NULL, 100, 4096, got, NULL),
		4096);
	s1 = stats(f);
	assert_int_equal(s1.misses, 1);
	assert_int_equal(s1.hits, 0);
	assert_int_equal(
		cache_read(f->c, "hit", etag, n, NULL, 30000, 4096, got, NULL),
		4096);
	assert_memory_equal(got, want + 30000, 4096);
	s2 = stats(f);
	assert_int_equal(s2.misses, 1);
	assert_int_equal(s2.hits, 1);
	assert_int_equal(get_count(f), 1);
	free(want);
}

static void test_persistence(void **state)
{
	struct fixture *f = *state;
	size_t n = 4 * BS + 7;
	char etag[REMOTE_ETAG_MAX];
	unsigned char *want = put_obj(f, "keep/me", n, 5, etag);
	unsigned char *got = malloc(n);
	char path[256];
	uint64_t bytes;
	int fd;

	open_cache(f, 0, 0);
	assert_int_equal(
		cache_read(f->c, "keep/me", etag, n, NULL, 0, n, got, NULL), n);
	bytes = stats(f).block_bytes;
	cache_close(f->c);
	f->c = NULL;

	/* A temp file left by a crash must be swept, not indexed. */
	block_path(f, "keep/me", etag, 0, path, sizeof(path));
	memcpy(strrchr(path, '/') + 1, ".tmp-x", 6);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);

	reset_count(f);
	memset(got, 0, n);
	open_cache(f, 0, 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(stats(f).block_bytes, bytes);
	assert_int_equal(
		cache_read(f->c, "keep/me", etag, n, NULL, 0, n, got, NULL), n);
	assert_memory_equal(got, want, n);
	assert_int_equal(stats(f).misses, 0);
	assert_int_equal(stats(f).hits, 5);
	assert_int_equal(get_count(f), 0);
	free(want);
	free(got);
}

static void test_corrupt_block(void **state)
{
	struct fixture *f = *state;
	size_t n = 3 * BS;
	char etag[REMOTE_ETAG_MAX];
	unsigned char *want = put_obj(f, "bad", n, 6, etag);
	unsigned char got[8192];
	char path[256];
	unsigned char byte;
	struct stat st;
	int fd;

	open_cache(f, 0, 0);
	assert_int_equal(cache_read(f->c, "bad", etag, n, NULL, BS + 5000, 8192,
				    got, NULL),
			 8192);
	block_path(f, "bad", etag, 1, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	/* Flip a byte of the data, inside the 64 KiB chunk the read touches. */
	assert_int_equal(pread(fd, &byte, 1, st.st_size - BS + 6000), 1);
	byte ^= 0x40;
	assert_int_equal(pwrite(fd, &byte, 1, st.st_size - BS + 6000), 1);
	close(fd);

	memset(got, 0, sizeof(got));
	assert_int_equal(cache_read(f->c, "bad", etag, n, NULL, BS + 5000, 8192,
				    got, NULL),
			 8192);
	assert_memory_equal(got, want + BS + 5000, 8192);
	assert_int_equal(stats(f).corrupt, 1);
	assert_int_equal(stats(f).misses, 2);
	/* The refetched block is good again. */
	assert_int_equal(
		cache_read(f->c, "bad", etag, n, NULL, BS, 100, got, NULL),
		100);
	assert_memory_equal(got, want + BS, 100);
	assert_int_equal(stats(f).corrupt, 1);

	/* A truncated block file is caught as well. */
	assert_int_equal(truncate(path, 1000), 0);
	assert_int_equal(
		cache_read(f->c, "bad", etag, n, NULL, BS, 100, got, NULL),
		100);
	assert_memory_equal(got, want + BS, 100);
	assert_int_equal(stats(f).corrupt, 2);
	free(want);
}

static void test_stale_etag(void **state)
{
	struct fixture *f = *state;
	size_t n = 2 * BS;
	char etag1[REMOTE_ETAG_MAX], etag2[REMOTE_ETAG_MAX];
	unsigned char *v1 = put_obj(f, "ver", n, 7, etag1);
	unsigned char *v2 = NULL;
	unsigned char got[1000];

	open_cache(f, 0, 0);
	assert_int_equal(
		cache_read(f->c, "ver", etag1, n, NULL, 0, 1000, got, NULL),
		1000);
	assert_memory_equal(got, v1, 1000);
	v2 = put_obj(f, "ver", n, 8, etag2);
	assert_string_not_equal(etag1, etag2);
	assert_int_equal(
		cache_read(f->c, "ver", etag1, n, NULL, BS, 1000, got, NULL),
		-ESTALE);
	assert_int_equal(
		cache_read(f->c, "ver", etag2, n, NULL, 0, 1000, got, NULL),
		1000);
	assert_memory_equal(got, v2, 1000);
	assert_int_equal(
		cache_read(f->c, "ver", etag2, n, NULL, BS, 1000, got, NULL),
		1000);
	assert_memory_equal(got, v2 + BS, 1000);
	free(v1);
	free(v2);
}

static void test_eviction(void **state)
{
	struct fixture *f = *state;
	static const int order[] = { 0, 2, 4, 6, 8, 1, 3, 5, 7, 9 };
	uint64_t max = 3 * BS;
	size_t n = 10 * BS;
	char etag[REMOTE_ETAG_MAX];
	unsigned char *want = put_obj(f, "big", n, 9, etag);
	unsigned char got[1000];
	char path[256];
	int present = 0;

	open_cache(f, max, 0);
	/* Every other block: not sequential, so no read-ahead runs behind our
	 * back and the budget holds after each read. */
	for (int i = 0; i < 10; i++) {
		uint64_t off = (uint64_t)order[i] * BS + 10;
		assert_int_equal(cache_read(f->c, "big", etag, n, NULL, off,
					    1000, got, NULL),
				 1000);
		assert_memory_equal(got, want + off, 1000);
		assert_true(stats(f).block_bytes <= max);
	}
	assert_true(stats(f).evictions >= 7);
	for (int i = 0; i < 10; i++) {
		block_path(f, "big", etag, (uint64_t)i, path, sizeof(path));
		present += access(path, F_OK) == 0;
	}
	assert_true(present >= 1 && present <= 3);
	/* The most recent block survived. */
	block_path(f, "big", etag, 9, path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	free(want);
}

struct reader {
	struct fixture *f;
	const char *etag;
	size_t n;
	pthread_barrier_t *bar;
	unsigned char buf[1000];
	ssize_t r;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;

	pthread_barrier_wait(rd->bar);
	rd->r = cache_read(rd->f->c, "hot", rd->etag, rd->n, NULL, 500, 1000,
			   rd->buf, NULL);
	return NULL;
}

static void test_concurrent_single_flight(void **state)
{
	struct fixture *f = *state;
	size_t n = BS - 3;
	char etag[REMOTE_ETAG_MAX];
	unsigned char *want = put_obj(f, "hot", n, 10, etag);
	struct reader rd[8];
	pthread_t th[8];
	pthread_barrier_t bar;

	open_cache(f, 0, 0);
	/* let every reader pile up */
	remote_fault_set(f->r, REMOTE_FAULT_GET, 0, REMOTE_FAULT_DELAY, 200);
	pthread_barrier_init(&bar, NULL, 8);
	for (int i = 0; i < 8; i++) {
		rd[i].f = f;
		rd[i].etag = etag;
		rd[i].n = n;
		rd[i].bar = &bar;
		assert_int_equal(
			pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(rd[i].r, 1000);
		assert_memory_equal(rd[i].buf, want + 500, 1000);
	}
	pthread_barrier_destroy(&bar);
	assert_int_equal(stats(f).misses, 1);
	assert_int_equal(stats(f).hits, 7);
	assert_int_equal(get_count(f), 1);
	free(want);
}

static void test_staging(void **state)
{
	struct fixture *f = *state;
	size_t n = 4 * BS;
	char etag[REMOTE_ETAG_MAX];
	unsigned char *want = put_obj(f, "st", n, 11, etag);
	unsigned char buf[4096];
	char path[256];
	struct stat st;
	int fd;

	open_cache(f, 3 * BS, 0);
	assert_int_equal(
		cache_read(f->c, "st", etag, n, NULL, 0, 10, buf, NULL), 10);
	assert_int_equal(
		cache_read(f->c, "st", etag, n, NULL, 2 * BS, 10, buf, NULL),
		10);
	assert_true(stats(f).block_bytes > BS);

	fd = cache_stage_open(f->c);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	fill(buf, sizeof(buf), 12);
	assert_int_equal(pwrite(fd, buf, sizeof(buf), 0), sizeof(buf));
	memset(buf, 0, sizeof(buf));
	assert_int_equal(pread(fd, buf, 4, 0), 4);

	/* Two blocks' worth of staged bytes squeeze out the clean blocks. */
	cache_stage_account(f->c, 2 * BS);
	assert_int_equal(stats(f).staged_bytes, 2 * BS);
	assert_true(stats(f).block_bytes + stats(f).staged_bytes <= 3 * BS);
	assert_true(stats(f).evictions >= 1);
	/* Staged bytes themselves are never evicted; reads still work. */
	assert_int_equal(
		cache_read(f->c, "st", etag, n, NULL, BS, 10, buf, NULL), 10);
	assert_memory_equal(buf, want + BS, 10);
	assert_int_equal(stats(f).staged_bytes, 2 * BS);
	cache_stage_account(f->c, -2 * (int64_t)BS);
	assert_int_equal(stats(f).staged_bytes, 0);
	cache_stage_account(f->c, -5);
	assert_int_equal(stats(f).staged_bytes, 0);
	close(fd);

	snprintf(path, sizeof(path), "%s/staging", f->cdir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(want);
}

static void test_readahead(void **state)
{
	struct fixture *f = *state;
	size_t n = 10 * BS;
	char etag[REMOTE_ETAG_MAX];
	unsigned char *want = put_obj(f, "seq", n, 13, etag);
	unsigned char got[4096];
	struct cache_stats s;

	open_cache(f, 0, 4);
	assert_int_equal(
		cache_read(f->c, "seq", etag, n, NULL, 0, 4096, got, NULL),
		4096);
	assert_int_equal(
		cache_read(f->c, "seq", etag, n, NULL, BS, 4096, got, NULL),
		4096);
	wait_readahead(f, 4); /* blocks 2..5 */
	s = stats(f);
	assert_int_equal(s.misses, 2);
	for (uint64_t no = 2; no <= 5; no++) {
		assert_int_equal(cache_read(f->c, "seq", etag, n, NULL, no * BS,
					    4096, got, NULL),
				 4096);
		assert_memory_equal(got, want + no * BS, 4096);
	}
	s = stats(f);
	assert_int_equal(s.hits, 4);
	assert_int_equal(s.misses, 2);
	/* Reading on drains the object without foreground misses ahead. */
	wait_readahead(f, 8);
	for (uint64_t no = 6; no < 10; no++) {
		assert_int_equal(cache_read(f->c, "seq", etag, n, NULL, no * BS,
					    4096, got, NULL),
				 4096);
		assert_memory_equal(got, want + no * BS, 4096);
	}
	assert_int_equal(stats(f).misses + stats(f).readahead, 10);
	free(want);
}

static void test_invalidate_and_busy(void **state)
{
	struct fixture *f = *state;
	size_t n = 2 * BS;
	char etag[REMOTE_ETAG_MAX];
	unsigned char *want = put_obj(f, "gone", n, 14, etag);
	unsigned char got[100];
	struct cache_opts o = { 0 };
	struct remote_error err = { { 0 } };
	struct cache *other = NULL;
	unsigned char *all = NULL;
	char path[256];

	open_cache(f, 0, 0);
	all = malloc(n);
	assert_non_null(all);
	assert_int_equal(
		cache_read(f->c, "gone", etag, n, NULL, 0, n, all, NULL), n);
	assert_memory_equal(all, want, n);
	free(all);
	assert_true(stats(f).block_bytes > 0);
	cache_invalidate(f->c, "gone", etag);
	assert_int_equal(stats(f).block_bytes, 0);
	block_path(f, "gone", etag, 0, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(
		cache_read(f->c, "gone", etag, n, NULL, 10, 100, got, NULL),
		100);
	assert_memory_equal(got, want + 10, 100);
	assert_int_equal(stats(f).misses, 3);

	/* A second cache on the same directory is refused. */
	o.dir = f->cdir;
	o.block_size = BS;
	assert_int_equal(cache_open(&o, f->r, &other, &err), -EBUSY);
	assert_null(other);
	assert_true(strlen(err.msg) > 0);
	free(want);
}

/* An object within one block is checked against its digest: bytes
 * changed on the way are fetched again, never served or cached. */
static void test_small_object_digest(void **state)
{
	struct fixture *f = *state;
	size_t n = 5000;
	unsigned char *data, *got = malloc(n);
	char etag[REMOTE_ETAG_MAX], hex[DIGEST_SHA256_HEX];
	char wrong[DIGEST_SHA256_HEX];
	struct remote_error err = { { 0 } };

	data = put_obj(f, "sum", n, 7, etag);
	digest_sha256_buf(data, n, hex);
	open_cache(f, 0, 0);
	/* one bad answer: fetched again, the right bytes served */
	remote_fault_set(f->r, REMOTE_FAULT_GET, 1, REMOTE_FAULT_CORRUPT, 0);
	assert_int_equal(cache_read(f->c, "sum", etag, n, hex, 0, n, got, &err),
			 n);
	assert_memory_equal(got, data, n);
	assert_int_equal(stats(f).corrupt_wire, 1);
	cache_invalidate(f->c, "sum", etag);
	/* bad every time: EIO, with the reason, and nothing cached */
	remote_fault_set(f->r, REMOTE_FAULT_GET, 0, REMOTE_FAULT_CORRUPT, 0);
	assert_int_equal(cache_read(f->c, "sum", etag, n, hex, 0, n, got, &err),
			 -EIO);
	assert_non_null(strstr(err.msg, "SHA-256"));
	remote_fault_clear(f->r);
	/* a digest that is not this object's: EIO, not its bytes */
	memcpy(wrong, hex, sizeof(wrong));
	wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
	assert_int_equal(
		cache_read(f->c, "sum", etag, n, wrong, 0, n, got, NULL), -EIO);
	assert_int_equal(cache_read(f->c, "sum", etag, n, hex, 0, n, got, NULL),
			 n);
	free(data);
	free(got);
}

/* A cache_dir that takes no block (RLIMIT_FSIZE stands in for a full
 * disk): blocks are kept in memory, each fetched once by a sequential
 * reader, not once per read. */
static void test_full_disk_reads_from_memory(void **state)
{
	struct fixture *f = *state;
	size_t n = 6 * BS;
	char etag[REMOTE_ETAG_MAX];
	unsigned char *data = put_obj(f, "full", n, 11, etag);
	unsigned char buf[4096];
	struct rlimit rl, old;

	open_cache(f, 0, 1);
	reset_count(f);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	rl = old;
	rl.rlim_cur = 100; /* no block file can be written */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	for (size_t off = 0; off < n; off += sizeof(buf)) {
		ssize_t r = cache_read(f->c, "full", etag, n, NULL, off,
				       sizeof(buf), buf, NULL);

		if (r != (ssize_t)sizeof(buf) ||
		    memcmp(buf, data + off, sizeof(buf)) != 0) {
			setrlimit(RLIMIT_FSIZE, &old);
			fail_msg("wrong read at %zu (%zd)", off, r);
		}
	}
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	/* 6 blocks; read-ahead may fetch one again that it raced. */
	if (get_count(f) > 8)
		fail_msg("%u GETs for 6 blocks", get_count(f));
	assert_int_equal(stats(f).block_bytes, 0);
	assert_true(stats(f).mem_blocks >= 6);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_whole_object, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_random_offsets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_past_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_read_hits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_block, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stale_etag, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eviction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_single_flight,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_staging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readahead, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_full_disk_reads_from_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_object_digest, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_invalidate_and_busy, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
