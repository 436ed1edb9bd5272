/*
 * test_fs.c - fs/ driven directly, without the kernel: the guard, the
 * inode table, the directory cache, the write staging's state machine,
 * and the races earlier reviews found, each made deterministic by
 * blocking one remote call (remote/fault.h) while a competing operation
 * runs.
 *
 * The remote is a file:// store under a temporary directory, wrapped in
 * the fault remote.  "Still waiting" is checked by a flag a thread sets
 * when its operation returns: if the guard did not hold it back, the
 * operation finishes (it needs no network then) and the test fails; a slow
 * machine can only make the check pass for the right reason.
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "fs.h"
#include "store_fixture.h"
#include "xfer.h"

#define JOB "artifacts/jobs/j1/"

static void unlimit(void)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/* Writes past this size fail in the staging file (EFBIG), as a full
 * cache_dir would (ENOSPC): RLIMIT_FSIZE, raised again by unlimit(). */
static void limit_file_size(rlim_t max)
{
	struct rlimit rl;

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

struct fixture {
	char dir[64];
	struct fs *fs;
	struct remote *fault;
	struct inode *job;
	struct fs_caller me;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct remote_error err = { { 0 } };
	struct cache_opts co = { 0 };
	char cdir[96];

	assert_non_null(f);
	store_fixture_open(f->dir, sizeof(f->dir), "fs", &f->fault);
	snprintf(cdir, sizeof(cdir), "%s/cache", f->dir);

	assert_int_equal(fs_context_new(&f->fs), 0);
	f->fs->remote = f->fault;
	f->fs->opts.metadata_ttl = 1;
	for (int l = 0; l < STORE_LEVELS; l++)
		f->fs->opts.expire_in[l] = STORE_NEVER;
	f->fs->part_size = REMOTE_PART_MIN;
	co.dir = cdir;
	co.max_bytes = 64u << 20;
	co.block_size = 64u << 10;
	co.readahead = 2;
	co.fetchers = 2;
	assert_int_equal(fs_context_start(f->fs, &co, &err), 0);

	pthread_mutex_lock(&f->fs->lock);
	assert_int_equal(fs_inode_table_init(f->fs), 0);
	f->job = fs_inode_obtain(f->fs, JOB, FS_LEVEL, STORE_JOB);
	assert_non_null(f->job);
	f->job->nlookup = 1;
	fs_attr_dir_default(f->fs, f->job);
	f->job->attr_until = 1e300;
	f->fs->levels[STORE_JOB] = f->job;
	pthread_mutex_unlock(&f->fs->lock);
	f->me.uid = getuid();
	f->me.gid = getgid();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlimit();
	remote_fault_clear(f->fault);
	fs_context_free(f->fs); /* closes the fault remote and the store */
	store_fixture_rmtree(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void put_obj(struct fixture *f, const char *key, const char *data)
{
	struct remote_body b = { .buf = data, .fd = -1, .len = strlen(data) };

	assert_int_equal(remote_put(f->fault, key, &b, NULL, NULL, NULL), 0);
}

/* The object's content (malloc'd, NUL-terminated), or NULL if missing. */
static char *get_obj(struct fixture *f, const char *key)
{
	struct remote_stat st = { 0 };
	size_t got = 0;
	char *buf;

	if (remote_head(f->fault, key, &st, NULL) != 0)
		return NULL;
	buf = calloc(1, st.size + 1);
	assert_non_null(buf);
	if (st.size)
		assert_int_equal(remote_get(f->fault, key, 0, st.size, buf,
					    &got, NULL, NULL),
				 0);
	assert_int_equal(got, st.size);
	remote_stat_clear(&st);
	return buf;
}

static int obj_exists(struct fixture *f, const char *key)
{
	struct remote_stat st = { 0 };
	int rc = remote_head(f->fault, key, &st, NULL);

	remote_stat_clear(&st);
	return rc == 0;
}

/* A stored object's decoded metadata. */
static struct store_meta obj_meta(struct fixture *f, const char *key)
{
	struct remote_stat st = { 0 };
	struct store_meta sm;

	assert_int_equal(remote_head(f->fault, key, &st, NULL), 0);
	store_meta_decode(&st.meta, &sm);
	remote_stat_clear(&st);
	return sm;
}

static void write_str(struct fixture *f, struct inode *in, struct wfile *wf,
		      const char *s, off_t off)
{
	assert_int_equal(fs_wfile_write(f->fs, in, wf, s, strlen(s), off),
			 (ssize_t)strlen(s));
}

/* Create name under p with a staging reference, as open(O_CREAT) does. */
static struct inode *create(struct fixture *f, struct inode *p,
			    const char *name, int flags, struct wfile **wf)
{
	struct inode *in = NULL;

	assert_int_equal(
		fs_do_create(f->fs, &f->me, p, name, 0644, flags, &in, wf), 0);
	return in;
}

/* One operation on another thread, with a flag set when it returns. */
struct bg {
	pthread_t t;
	int (*fn)(struct bg *);
	struct fixture *f;
	struct inode *in, *p, *np;
	struct wfile *wf;
	const char *name, *newname;
	struct stat attr;
	int to_set;
	struct inode *out;
	struct wfile *out_wf;
	int rc;
	volatile int done;
};

static void *bg_main(void *arg)
{
	struct bg *b = arg;

	b->rc = b->fn(b);
	__atomic_store_n(&b->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void bg_start(struct bg *b)
{
	assert_int_equal(pthread_create(&b->t, NULL, bg_main, b), 0);
}

static int bg_join(struct bg *b)
{
	pthread_join(b->t, NULL);
	return b->rc;
}

static int bg_done(struct bg *b)
{
	return __atomic_load_n(&b->done, __ATOMIC_SEQ_CST);
}

static int do_flush(struct bg *b)
{
	return fs_wfile_flush(b->f->fs, b->in, b->wf);
}

static int do_setattr(struct bg *b)
{
	return fs_do_setattr(b->f->fs, b->in, &b->attr, b->to_set);
}

static int do_unlink(struct bg *b)
{
	return fs_do_unlink(b->f->fs, b->p, b->name);
}

static int do_rename(struct bg *b)
{
	return fs_do_rename(b->f->fs, b->p, b->name, b->np, b->newname, 0);
}

static int do_create(struct bg *b)
{
	return fs_do_create(b->f->fs, &b->f->me, b->p, b->name, 0644, 0,
			    &b->out, &b->out_wf);
}

/* Give a blocked competitor time to finish if nothing held it back. */
static void settle(void)
{
	usleep(200 * 1000);
}

/* ---- the guard ------------------------------------------------------------
 */

static void guard_of(struct fs_guard *g, const char *key, int prefix)
{
	fs_guard_init(g);
	assert_int_equal(fs_guard_key(g, key, prefix), 0);
}

static void test_guard_conflicts(void **state)
{
	static const struct {
		const char *a;
		int ap;
		const char *b;
		int bp;
		int conflict;
	} cases[] = {
		/* same exact key */
		{ "j/a", 0, "j/a", 0, 1 },
		/* different keys */
		{ "j/a", 0, "j/b", 0, 0 },
		/* a prefix covers its marker and everything under it */
		{ "j/d/", 1, "j/d/", 0, 1 },
		{ "j/d/", 1, "j/d/x", 0, 1 },
		{ "j/d/", 1, "j/d/e/f", 0, 1 },
		/* ... but not a file of the same name, nor a sibling */
		{ "j/d/", 1, "j/d", 0, 0 },
		{ "j/d/", 1, "j/dx", 0, 0 },
		/* nested prefixes, either way round */
		{ "j/d/", 1, "j/d/e/", 1, 1 },
		{ "j/d/e/", 1, "j/d/", 1, 1 },
		/* an exact marker is not a prefix */
		{ "j/d/", 0, "j/d/x", 0, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fs_guard a, b;

		guard_of(&a, cases[i].a, cases[i].ap);
		guard_of(&b, cases[i].b, cases[i].bp);
		if (fs_guard_conflicts(&a, &b) != cases[i].conflict ||
		    fs_guard_conflicts(&b, &a) != cases[i].conflict)
			fail_msg("case %zu: %s%s vs %s%s", i, cases[i].a,
				 cases[i].ap ? "*" : "", cases[i].b,
				 cases[i].bp ? "*" : "");
		free(a.items[0].key);
		free(a.items);
		free(b.items[0].key);
		free(b.items);
	}
}

struct taker {
	pthread_t t;
	struct fs *fs;
	struct fs_guard g;
	volatile int held;
};

static void *take_main(void *arg)
{
	struct taker *t = arg;

	fs_guard_take(t->fs, &t->g);
	__atomic_store_n(&t->held, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void test_guard_waits_and_is_taken_whole(void **state)
{
	struct fixture *f = *state;
	struct fs_guard a;
	struct taker both = { .fs = f->fs }, other = { .fs = f->fs };

	guard_of(&a, "k/x", 0);
	fs_guard_take(f->fs, &a);
	/* {k/y, k/x} waits for k/x and meanwhile holds nothing ... */
	fs_guard_init(&both.g);
	assert_int_equal(fs_guard_key(&both.g, "k/y", 0), 0);
	assert_int_equal(fs_guard_key(&both.g, "k/x", 0), 0);
	assert_int_equal(pthread_create(&both.t, NULL, take_main, &both), 0);
	settle();
	assert_false(__atomic_load_n(&both.held, __ATOMIC_SEQ_CST));
	/* ... so k/y alone is free */
	guard_of(&other.g, "k/y", 0);
	assert_int_equal(pthread_create(&other.t, NULL, take_main, &other), 0);
	pthread_join(other.t, NULL);
	assert_true(other.held);
	fs_guard_done(f->fs, &other.g);
	fs_guard_done(f->fs, &a);
	pthread_join(both.t, NULL);
	assert_true(both.held);
	fs_guard_done(f->fs, &both.g);
	assert_null(f->fs->claims);
}

static void test_guard_prefix_blocks_keys_under_it(void **state)
{
	struct fixture *f = *state;
	struct fs_guard dir;
	struct taker in = { .fs = f->fs }, beside = { .fs = f->fs };

	guard_of(&dir, "k/d/", 1);
	fs_guard_take(f->fs, &dir);
	guard_of(&in.g, "k/d/e/f", 0);
	guard_of(&beside.g, "k/d", 0);
	assert_int_equal(pthread_create(&in.t, NULL, take_main, &in), 0);
	assert_int_equal(pthread_create(&beside.t, NULL, take_main, &beside),
			 0);
	pthread_join(beside.t, NULL);
	assert_true(beside.held);
	settle();
	assert_false(__atomic_load_n(&in.held, __ATOMIC_SEQ_CST));
	fs_guard_done(f->fs, &dir);
	pthread_join(in.t, NULL);
	assert_true(in.held);
	fs_guard_done(f->fs, &in.g);
	fs_guard_done(f->fs, &beside.g);
}

/* ---- the inode table ---------------------------------------------------- */

static void test_inode_table(void **state)
{
	struct fixture *f = *state;
	struct fs *fs = f->fs;
	struct inode *a, *b;
	fuse_ino_t ino;

	pthread_mutex_lock(&fs->lock);
	a = fs_inode_obtain(fs, JOB "a", FS_FILE, STORE_JOB);
	b = fs_inode_obtain(fs, JOB "d/b", FS_FILE, STORE_JOB);
	assert_ptr_equal(fs_inode_obtain(fs, JOB "a", FS_FILE, STORE_JOB), a);
	assert_ptr_equal(fs_inode_by_key(fs, JOB "a"), a);
	assert_ptr_equal(fs_inode_get(fs, a->ino), a);
	assert_true(b->ino > a->ino); /* never reused */
	a->nlookup = b->nlookup = 1;

	/* rekey over b: b leaves the key index, marked unlinked */
	assert_int_equal(fs_inode_rekey(fs, a, JOB "d/b"), 0);
	assert_ptr_equal(fs_inode_by_key(fs, JOB "d/b"), a);
	assert_null(fs_inode_by_key(fs, JOB "a"));
	assert_true(b->unlinked);
	assert_ptr_equal(fs_inode_get(fs, b->ino), b); /* until forgotten */

	/* a directory rename moves every key under the prefix */
	fs_inode_rekey_tree(fs, JOB "d/", "artifacts/workflows/w/e/",
			    STORE_WORKFLOW);
	assert_string_equal(a->key, "artifacts/workflows/w/e/b");
	assert_int_equal(a->level, STORE_WORKFLOW);
	assert_int_equal(fs_inode_staged_under(fs, "artifacts/workflows/"), 0);

	/* forgotten and unpinned: freed */
	ino = b->ino;
	b->nlookup = 0;
	fs_inode_maybe_free(fs, b);
	assert_null(fs_inode_get(fs, ino));
	a->nlookup = 0;
	a->opens = 1; /* pinned: stays */
	fs_inode_maybe_free(fs, a);
	assert_non_null(fs_inode_by_key(fs, "artifacts/workflows/w/e/b"));
	a->opens = 0;
	fs_inode_maybe_free(fs, a);
	assert_null(fs_inode_by_key(fs, "artifacts/workflows/w/e/b"));
	pthread_mutex_unlock(&fs->lock);
}

/* ---- the directory cache ------------------------------------------------ */

static void test_dircache(void **state)
{
	struct fixture *f = *state;
	struct fs *fs = f->fs;
	unsigned lists;

	put_obj(f, JOB "x.txt", "x");
	put_obj(f, JOB "sub/y.txt", "y");
	assert_int_equal(fs_dir_fetch(fs, f->job), 0);
	lists = remote_fault_calls(f->fault, REMOTE_FAULT_LIST);
	pthread_mutex_lock(&fs->lock);
	assert_int_equal(fs_dir_lookup(f->job, "x.txt"), FS_DIR_PRESENT);
	assert_int_equal(fs_dir_lookup(f->job, "sub"), FS_DIR_PRESENT);
	assert_int_equal(fs_dir_lookup(f->job, "nope"), FS_DIR_ABSENT);
	/* a name made here is never reported missing */
	fs_dir_note_added(f->job, "nope");
	assert_int_not_equal(fs_dir_lookup(f->job, "nope"), FS_DIR_ABSENT);
	fs_dir_forget(f->job);
	assert_int_equal(fs_dir_lookup(f->job, "x.txt"), FS_DIR_UNKNOWN);
	pthread_mutex_unlock(&fs->lock);
	/* the answers above cost no request */
	assert_int_equal(remote_fault_calls(f->fault, REMOTE_FAULT_LIST),
			 lists);
}

/* ---- the write staging ----------------------------------------------------
 */

static void test_created_file_is_stored_once_at_close(void **state)
{
	struct fixture *f = *state;
	struct wfile *wf;
	struct inode *in = create(f, f->job, "w.txt", O_WRONLY, &wf);
	unsigned puts = remote_fault_calls(f->fault, REMOTE_FAULT_PUT);
	struct store_meta sm;
	char *got;

	write_str(f, in, wf, "hello ", 0);
	write_str(f, in, wf, "world", 6);
	assert_false(obj_exists(f, JOB "w.txt")); /* not before close */
	assert_int_equal(fs_wfile_flush(f->fs, in, wf), 0);
	assert_int_equal(fs_wfile_flush(f->fs, in, wf), 0); /* clean: no-op */
	fs_wfile_release(f->fs, in, wf);
	assert_int_equal(remote_fault_calls(f->fault, REMOTE_FAULT_PUT),
			 puts + 1);
	got = get_obj(f, JOB "w.txt");
	assert_string_equal(got, "hello world");
	free(got);
	sm = obj_meta(f, JOB "w.txt");
	assert_true(sm.has_sha256);
	/* sha256("hello world") */
	assert_string_equal(sm.sha256, "b94d27b9934d3e08a52e52d7da7dabfac484efe"
				       "37a5380ee9088f7ace2efcde9");
	assert_true(sm.has_ctime);
	assert_int_equal(sm.mode, S_IFREG | 0644);
}

static void test_created_empty_file_is_stored_at_release(void **state)
{
	struct fixture *f = *state;
	struct wfile *wf;
	struct inode *in = create(f, f->job, "empty.txt", O_RDONLY, &wf);
	char *got;

	/* A read-only create (the conformance suites' own creat) too. */
	fs_wfile_release(f->fs, in, wf);
	got = get_obj(f, JOB "empty.txt");
	assert_non_null(got);
	assert_string_equal(got, "");
	free(got);
}

static void test_exclusive_create_is_not_stored_twice(void **state)
{
	struct fixture *f = *state;
	struct wfile *wf, *wf2 = NULL;
	struct inode *in, *in2 = NULL;
	unsigned puts;

	if (!(remote_caps(f->fault) & REMOTE_CAP_CONDITIONAL_PUT))
		skip();
	in = create(f, f->job, "x.txt", O_WRONLY | O_EXCL, &wf);
	assert_true(obj_exists(f, JOB "x.txt")); /* claimed at once */
	puts = remote_fault_calls(f->fault, REMOTE_FAULT_PUT);
	fs_wfile_release(f->fs, in, wf);
	assert_int_equal(remote_fault_calls(f->fault, REMOTE_FAULT_PUT), puts);
	/* another machine (no inode here) loses the race */
	pthread_mutex_lock(&f->fs->lock);
	in->nlookup = 0;
	fs_inode_maybe_free(f->fs, in);
	pthread_mutex_unlock(&f->fs->lock);
	assert_int_equal(fs_do_create(f->fs, &f->me, f->job, "x.txt", 0644,
				      O_WRONLY | O_EXCL, &in2, &wf2),
			 -EEXIST);
	assert_null(wf2);
}

static void test_failed_upload_keeps_old_object(void **state)
{
	struct fixture *f = *state;
	struct wfile *wf;
	struct inode *in;
	char *got;
	unsigned puts;

	put_obj(f, JOB "keep.txt", "old");
	in = create(f, f->job, "keep.txt", O_WRONLY, &wf);
	write_str(f, in, wf, "new content", 0);
	remote_fault_set(f->fault, REMOTE_FAULT_PUT, 1, REMOTE_FAULT_FAIL,
			 -ECONNRESET);
	assert_int_equal(fs_wfile_flush(f->fs, in, wf), -EIO);
	got = get_obj(f, JOB "keep.txt");
	assert_string_equal(got, "old");
	free(got);
	/* storage reasons a user can act on pass through */
	remote_fault_set(f->fault, REMOTE_FAULT_PUT, 1, REMOTE_FAULT_FAIL,
			 -ENOSPC);
	write_str(f, in, wf, "!", 11);
	assert_int_equal(fs_wfile_flush(f->fs, in, wf), -ENOSPC);
	/* close() has reported it: the release does not try again */
	puts = remote_fault_calls(f->fault, REMOTE_FAULT_PUT);
	fs_wfile_release(f->fs, in, wf);
	assert_int_equal(remote_fault_calls(f->fault, REMOTE_FAULT_PUT), puts);
	got = get_obj(f, JOB "keep.txt");
	assert_string_equal(got, "old");
	free(got);
}

/* Write buf (n bytes) at off until the staging refuses: the -errno. */
static ssize_t write_until_error(struct fixture *f, struct inode *in,
				 struct wfile *wf, const char *buf, size_t n,
				 off_t off)
{
	ssize_t w = 0;

	for (int i = 0; i < 64; i++) {
		w = fs_wfile_write(f->fs, in, wf, buf, n, off);
		if (w < 0)
			break;
		off += w;
	}
	unlimit();
	return w;
}

/* A write the staging cannot hold fails the file: close() reports it and
 * the stored version stays, whatever comes after. */
static void test_staging_failure_keeps_old_object(void **state)
{
	struct fixture *f = *state;
	size_t n = 2u << 20;
	char *big = calloc(1, n);
	struct wfile *wf;
	struct inode *in;
	unsigned puts, parts;
	char *got;

	put_obj(f, JOB "good.bin", "good old content");
	in = create(f, f->job, "good.bin", O_WRONLY, &wf);
	write_str(f, in, wf, "new ", 0);
	limit_file_size(1u << 20);
	assert_true(write_until_error(f, in, wf, big, n, 4) < 0);
	write_str(f, in, wf, "more", 4); /* fits, but the file is failed */
	puts = remote_fault_calls(f->fault, REMOTE_FAULT_PUT);
	parts = remote_fault_calls(f->fault, REMOTE_FAULT_MPU_COMPLETE);
	assert_int_equal(fs_wfile_flush(f->fs, in, wf), -EFBIG);
	fs_wfile_release(f->fs, in, wf);
	assert_int_equal(remote_fault_calls(f->fault, REMOTE_FAULT_PUT), puts);
	assert_int_equal(
		remote_fault_calls(f->fault, REMOTE_FAULT_MPU_COMPLETE), parts);
	got = get_obj(f, JOB "good.bin");
	assert_string_equal(got, "good old content");
	free(got);
	free(big);
}

/* Started over from empty (O_TRUNC, truncate to 0), it stores again. */
static void test_staging_failure_then_start_over(void **state)
{
	struct fixture *f = *state;
	size_t n = 2u << 20;
	char *big = calloc(1, n);
	struct wfile *wf;
	struct inode *in = create(f, f->job, "again.bin", O_WRONLY, &wf);
	char *got;

	limit_file_size(1u << 20);
	assert_true(write_until_error(f, in, wf, big, n, 0) < 0);
	assert_int_equal(fs_wfile_truncate(f->fs, in, wf, 0), 0);
	write_str(f, in, wf, "fresh", 0);
	assert_int_equal(fs_wfile_flush(f->fs, in, wf), 0);
	fs_wfile_release(f->fs, in, wf);
	got = get_obj(f, JOB "again.bin");
	assert_string_equal(got, "fresh");
	free(got);
	free(big);
}

/* A failed new file leaves nothing behind, its O_EXCL claim included. */
static void test_failed_new_file_leaves_no_claim(void **state)
{
	struct fixture *f = *state;
	size_t n = 2u << 20;
	char *big = calloc(1, n);
	struct wfile *wf;
	struct inode *in;

	if (!(remote_caps(f->fault) & REMOTE_CAP_CONDITIONAL_PUT))
		skip();
	in = create(f, f->job, "claimed", O_WRONLY | O_EXCL, &wf);
	assert_true(obj_exists(f, JOB "claimed"));
	limit_file_size(1u << 20);
	assert_true(write_until_error(f, in, wf, big, n, 0) < 0);
	assert_int_equal(fs_wfile_flush(f->fs, in, wf), -EFBIG);
	fs_wfile_release(f->fs, in, wf);
	assert_false(obj_exists(f, JOB "claimed"));
	free(big);
}

/* A big sequential write is streamed as parts; its metadata follows by a
 * copy onto itself, queued at close. */
static struct inode *streamed(struct fixture *f, struct inode *p,
			      const char *name, struct wfile **wf, char **data,
			      size_t *len)
{
	size_t n = 2 * REMOTE_PART_MIN + 12345;
	struct inode *in = create(f, p, name, O_WRONLY, wf);
	char *d = malloc(n);

	assert_non_null(d);
	for (size_t i = 0; i < n; i++)
		d[i] = (char)('a' + i % 23);
	for (size_t off = 0; off < n; off += 1u << 20) {
		size_t k = n - off < (1u << 20) ? n - off : (1u << 20);

		assert_int_equal(
			fs_wfile_write(f->fs, in, *wf, d + off, k, (off_t)off),
			(ssize_t)k);
	}
	*data = d;
	*len = n;
	return in;
}

static void test_streamed_upload(void **state)
{
	struct fixture *f = *state;
	struct wfile *wf;
	char *data, *got;
	size_t len;
	struct inode *in = streamed(f, f->job, "big", &wf, &data, &len);
	char hex[DIGEST_SHA256_HEX];

	assert_int_equal(fs_wfile_flush(f->fs, in, wf), 0);
	assert_int_equal(remote_fault_calls(f->fault, REMOTE_FAULT_MPU_PART),
			 3); /* two while written, the tail at close */
	assert_int_equal(remote_fault_calls(f->fault, REMOTE_FAULT_PUT), 0);
	fs_wfile_release(f->fs, in, wf);
	remote_pool_wait(f->fs->pool); /* the metadata copy */
	got = get_obj(f, JOB "big");
	assert_memory_equal(got, data, len);
	digest_sha256_buf(data, len, hex);
	assert_string_equal(obj_meta(f, JOB "big").sha256, hex);
	free(got);
	free(data);
}

/* ---- the races, one call blocked ---------------------------------------- */

/* chmod while close() is uploading: the chmod waits for the upload, and
 * the stored object ends with both the bytes and the mode. */
static void test_race_chmod_during_close(void **state)
{
	struct fixture *f = *state;
	struct bg up = { .fn = do_flush, .f = f };
	struct bg ch = { .fn = do_setattr, .f = f };
	struct wfile *wf;
	struct inode *in = create(f, f->job, "c.txt", O_WRONLY, &wf);
	char *got;

	write_str(f, in, wf, "data", 0);
	remote_fault_set(f->fault, REMOTE_FAULT_PUT, 1, REMOTE_FAULT_BLOCK, 0);
	up.in = ch.in = in;
	up.wf = wf;
	bg_start(&up);
	assert_int_equal(
		remote_fault_wait_blocked(f->fault, REMOTE_FAULT_PUT, 10000),
		0);
	ch.attr.st_mode = 0600;
	ch.to_set = FUSE_SET_ATTR_MODE;
	bg_start(&ch);
	settle();
	assert_false(bg_done(&ch)); /* held by the upload's guard */
	remote_fault_unblock(f->fault, REMOTE_FAULT_PUT);
	assert_int_equal(bg_join(&up), 0);
	assert_int_equal(bg_join(&ch), 0);
	fs_wfile_release(f->fs, in, wf); /* stores the mode with the bytes */
	assert_int_equal(obj_meta(f, JOB "c.txt").mode, S_IFREG | 0600);
	got = get_obj(f, JOB "c.txt");
	assert_string_equal(got, "data");
	free(got);
}

/* mv while a streamed file's metadata copy is pending: the mv waits for
 * it, so the moved object carries the final metadata and the old key does
 * not come back. */
static void test_race_mv_during_metadata_copy(void **state)
{
	struct fixture *f = *state;
	struct bg mv = { .fn = do_rename, .f = f };
	struct wfile *wf;
	char *data, *got;
	size_t len;
	struct inode *in = streamed(f, f->job, "s", &wf, &data, &len);
	char hex[DIGEST_SHA256_HEX];

	remote_fault_set(f->fault, REMOTE_FAULT_COPY, 1, REMOTE_FAULT_BLOCK, 0);
	assert_int_equal(fs_wfile_flush(f->fs, in, wf), 0);
	fs_wfile_release(f->fs, in, wf);
	assert_int_equal(
		remote_fault_wait_blocked(f->fault, REMOTE_FAULT_COPY, 10000),
		0);
	mv.p = mv.np = f->job;
	mv.name = "s";
	mv.newname = "s2";
	bg_start(&mv);
	settle();
	assert_false(bg_done(&mv));
	remote_fault_unblock(f->fault, REMOTE_FAULT_COPY);
	assert_int_equal(bg_join(&mv), 0);
	remote_pool_wait(f->fs->pool);
	assert_false(obj_exists(f, JOB "s"));
	digest_sha256_buf(data, len, hex);
	assert_string_equal(obj_meta(f, JOB "s2").sha256, hex);
	got = get_obj(f, JOB "s2");
	assert_memory_equal(got, data, len);
	free(got);
	free(data);
}

/* chmod while a streamed file's metadata copy is pending: the chmod waits
 * for the copy, so neither undoes the other. */
static void test_race_chmod_during_metadata_copy(void **state)
{
	struct fixture *f = *state;
	struct bg ch = { .fn = do_setattr, .f = f };
	struct wfile *wf;
	char *data;
	size_t len;
	struct inode *in = streamed(f, f->job, "sc", &wf, &data, &len);
	char hex[DIGEST_SHA256_HEX];
	struct store_meta sm;

	remote_fault_set(f->fault, REMOTE_FAULT_COPY, 1, REMOTE_FAULT_BLOCK, 0);
	assert_int_equal(fs_wfile_flush(f->fs, in, wf), 0);
	fs_wfile_release(f->fs, in, wf);
	assert_int_equal(
		remote_fault_wait_blocked(f->fault, REMOTE_FAULT_COPY, 10000),
		0);
	ch.in = in;
	ch.attr.st_mode = 0600;
	ch.to_set = FUSE_SET_ATTR_MODE;
	bg_start(&ch);
	settle();
	assert_false(bg_done(&ch));
	remote_fault_unblock(f->fault, REMOTE_FAULT_COPY);
	assert_int_equal(bg_join(&ch), 0);
	remote_pool_wait(f->fs->pool);
	sm = obj_meta(f, JOB "sc");
	digest_sha256_buf(data, len, hex);
	assert_string_equal(sm.sha256, hex);
	assert_int_equal(sm.mode, S_IFREG | 0600);
	free(data);
}

/* Over an old version with a digest, a streamed file carries no digest
 * while its metadata copy is pending, and the copy lands only on the
 * version it describes: another writer's object meanwhile keeps its own. */
static void test_metadata_copy_is_conditional(void **state)
{
	struct fixture *f = *state;
	struct wfile *wf;
	char *data, *got;
	size_t len;
	struct inode *in;
	struct inode *old;
	struct wfile *owf;

	old = create(f, f->job, "cond", O_WRONLY, &owf);
	write_str(f, old, owf, "old version", 0);
	fs_wfile_release(f->fs, old, owf);
	assert_true(obj_meta(f, JOB "cond").has_sha256);
	in = streamed(f, f->job, "cond", &wf, &data, &len);
	remote_fault_set(f->fault, REMOTE_FAULT_COPY, 1, REMOTE_FAULT_BLOCK, 0);
	assert_int_equal(fs_wfile_flush(f->fs, in, wf), 0);
	fs_wfile_release(f->fs, in, wf);
	assert_int_equal(
		remote_fault_wait_blocked(f->fault, REMOTE_FAULT_COPY, 10000),
		0);
	assert_false(obj_meta(f, JOB "cond").has_sha256);
	put_obj(f, JOB "cond", "another machine");
	remote_fault_unblock(f->fault, REMOTE_FAULT_COPY);
	remote_pool_wait(f->fs->pool);
	got = get_obj(f, JOB "cond");
	assert_string_equal(got, "another machine");
	assert_false(obj_meta(f, JOB "cond").has_sha256);
	free(got);
	free(data);
}

/* rm while close() is uploading: the rm waits, then deletes what was
 * stored; the writer's last release stores nothing more. */
static void test_race_rm_during_close(void **state)
{
	struct fixture *f = *state;
	struct bg up = { .fn = do_flush, .f = f };
	struct bg rm = { .fn = do_unlink, .f = f };
	struct wfile *wf;
	struct inode *in = create(f, f->job, "r.txt", O_WRONLY, &wf);
	unsigned puts;

	write_str(f, in, wf, "doomed", 0);
	remote_fault_set(f->fault, REMOTE_FAULT_PUT, 1, REMOTE_FAULT_BLOCK, 0);
	up.in = in;
	up.wf = wf;
	bg_start(&up);
	assert_int_equal(
		remote_fault_wait_blocked(f->fault, REMOTE_FAULT_PUT, 10000),
		0);
	rm.p = f->job;
	rm.name = "r.txt";
	bg_start(&rm);
	settle();
	assert_false(bg_done(&rm));
	remote_fault_unblock(f->fault, REMOTE_FAULT_PUT);
	assert_int_equal(bg_join(&up), 0);
	assert_int_equal(bg_join(&rm), 0);
	assert_false(obj_exists(f, JOB "r.txt"));
	write_str(f, in, wf, " still writing", 6); /* unlinked, open */
	puts = remote_fault_calls(f->fault, REMOTE_FAULT_PUT);
	fs_wfile_release(f->fs, in, wf);
	assert_int_equal(remote_fault_calls(f->fault, REMOTE_FAULT_PUT), puts);
	assert_false(obj_exists(f, JOB "r.txt"));
}

/* mv over a file that is open for writing: the replaced file's writer
 * never uploads over the result. */
static void test_race_writer_replaced_by_mv(void **state)
{
	struct fixture *f = *state;
	struct wfile *wf;
	struct inode *in;
	char *got;

	put_obj(f, JOB "src.txt", "moved here");
	in = create(f, f->job, "dst.txt", O_WRONLY, &wf);
	write_str(f, in, wf, "late writer", 0);
	assert_int_equal(
		fs_do_rename(f->fs, f->job, "src.txt", f->job, "dst.txt", 0),
		0);
	assert_int_equal(fs_wfile_flush(f->fs, in, wf), 0); /* no-op */
	fs_wfile_release(f->fs, in, wf);
	got = get_obj(f, JOB "dst.txt");
	assert_string_equal(got, "moved here");
	free(got);
	assert_false(obj_exists(f, JOB "src.txt"));
}

/* mv of a directory holding a file open for writing: the file follows
 * the directory, and what is written after the mv is stored there too. */
static void test_race_mv_dir_with_open_writer(void **state)
{
	struct fixture *f = *state;
	struct inode *d = NULL, *in;
	struct wfile *wf;
	char *got;

	assert_int_equal(fs_do_mknod(f->fs, &f->me, f->job, "d", FS_DIR,
				     S_IFDIR | 0755, 0, NULL, &d),
			 0);
	put_obj(f, JOB "d/old.txt", "old");
	in = create(f, d, "a.txt", O_WRONLY, &wf);
	write_str(f, in, wf, "before ", 0);
	assert_int_equal(fs_do_rename(f->fs, f->job, "d", f->job, "e", 0), 0);
	write_str(f, in, wf, "after", 7);
	fs_wfile_release(f->fs, in, wf);
	got = get_obj(f, JOB "e/a.txt");
	assert_string_equal(got, "before after");
	free(got);
	got = get_obj(f, JOB "e/old.txt");
	assert_string_equal(got, "old");
	free(got);
	assert_false(obj_exists(f, JOB "d/a.txt"));
	assert_false(obj_exists(f, JOB "d/old.txt"));
	assert_false(obj_exists(f, JOB "d/"));
}

/* A create under a directory whose mv has started waits for the mv, then
 * lands under the new name. */
static void test_race_new_writer_during_dir_mv(void **state)
{
	struct fixture *f = *state;
	struct bg mv = { .fn = do_rename, .f = f };
	struct bg cr = { .fn = do_create, .f = f };
	struct inode *d = NULL;
	char *got;

	assert_int_equal(fs_do_mknod(f->fs, &f->me, f->job, "d6", FS_DIR,
				     S_IFDIR | 0755, 0, NULL, &d),
			 0);
	put_obj(f, JOB "d6/x", "x");
	remote_fault_set(f->fault, REMOTE_FAULT_COPY, 1, REMOTE_FAULT_BLOCK, 0);
	mv.p = mv.np = f->job;
	mv.name = "d6";
	mv.newname = "e6";
	bg_start(&mv);
	assert_int_equal(
		remote_fault_wait_blocked(f->fault, REMOTE_FAULT_COPY, 10000),
		0);
	cr.p = d;
	cr.name = "new";
	bg_start(&cr);
	settle();
	assert_false(bg_done(&cr));
	remote_fault_unblock(f->fault, REMOTE_FAULT_COPY);
	assert_int_equal(bg_join(&mv), 0);
	assert_int_equal(bg_join(&cr), 0);
	assert_string_equal(cr.out->key, JOB "e6/new");
	write_str(f, cr.out, cr.out_wf, "new", 0);
	fs_wfile_release(f->fs, cr.out, cr.out_wf);
	got = get_obj(f, JOB "e6/new");
	assert_string_equal(got, "new");
	free(got);
	assert_false(obj_exists(f, JOB "d6/new"));
	assert_false(obj_exists(f, JOB "d6/x"));
}

static int do_rmdir(struct bg *b)
{
	return fs_do_rmdir(b->f->fs, b->p, b->name);
}

static int do_expire(struct bg *b)
{
	return fs_do_expire(b->f->fs, b->in, b->f->fs->now() + 3600, "1h");
}

static int claims_held(struct fs *fs)
{
	int n = 0;

	pthread_mutex_lock(&fs->lock);
	for (struct fs_guard *g = fs->claims; g; g = g->next)
		n++;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

static struct inode *mkdir_in(struct fixture *f, struct inode *p,
			      const char *name)
{
	struct inode *d = NULL;

	assert_int_equal(fs_do_mknod(f->fs, &f->me, p, name, FS_DIR,
				     S_IFDIR | 0755, 0, NULL, &d),
			 0);
	return d;
}

/* setfattr user.expire_in on a directory while a directory above it is
 * renamed: neither waits for the other's pool jobs (a pool job never
 * waits for a guard), and the expiry lands under the new name. */
static void test_race_expire_dir_during_mv(void **state)
{
	struct fixture *f = *state;
	struct bg mv = { .fn = do_rename, .f = f };
	struct bg ex = { .fn = do_expire, .f = f };
	struct inode *p = mkdir_in(f, f->job, "p");
	struct inode *d = mkdir_in(f, p, "d");
	char key[128];

	for (int i = 0; i < 40; i++) { /* more than the pool's 16 threads */
		snprintf(key, sizeof(key), JOB "p/d/f%02d", i);
		put_obj(f, key, "x");
	}
	remote_fault_set(f->fault, REMOTE_FAULT_LIST, 0, REMOTE_FAULT_DELAY,
			 300);
	mv.p = mv.np = f->job;
	mv.name = "p";
	mv.newname = "q";
	bg_start(&mv);
	while (claims_held(f->fs) == 0)
		usleep(1000);
	ex.in = d;
	bg_start(&ex);
	/* A hang detector, far above the few seconds this takes. */
	for (int i = 0; i < 600 && !(bg_done(&mv) && bg_done(&ex)); i++)
		usleep(100 * 1000);
	assert_true(bg_done(&mv));
	assert_true(bg_done(&ex));
	remote_fault_clear(f->fault);
	assert_int_equal(bg_join(&mv), 0);
	assert_int_equal(bg_join(&ex), 0);
	assert_string_equal(d->key, JOB "q/d/");
	assert_true(obj_meta(f, JOB "q/d/f07").has_expires);
	assert_false(obj_exists(f, JOB "p/d/f07"));
}

/* mv a/f c/y while c is renamed to c2: the file follows c to c2/y. */
static void test_race_mv_into_dir_being_renamed(void **state)
{
	struct fixture *f = *state;
	struct bg mvd = { .fn = do_rename, .f = f };
	struct bg mvf = { .fn = do_rename, .f = f };
	struct inode *a = mkdir_in(f, f->job, "a");
	struct inode *c = mkdir_in(f, f->job, "c");

	put_obj(f, JOB "a/f", "data");
	put_obj(f, JOB "c/other", "o");
	remote_fault_set(f->fault, REMOTE_FAULT_COPY, 1, REMOTE_FAULT_BLOCK, 0);
	mvd.p = mvd.np = f->job;
	mvd.name = "c";
	mvd.newname = "c2";
	bg_start(&mvd);
	assert_int_equal(
		remote_fault_wait_blocked(f->fault, REMOTE_FAULT_COPY, 10000),
		0);
	mvf.p = a;
	mvf.np = c;
	mvf.name = "f";
	mvf.newname = "y";
	bg_start(&mvf);
	settle();
	assert_false(bg_done(&mvf));
	remote_fault_unblock(f->fault, REMOTE_FAULT_COPY);
	assert_int_equal(bg_join(&mvd), 0);
	assert_int_equal(bg_join(&mvf), 0);
	assert_true(obj_exists(f, JOB "c2/y"));
	assert_false(obj_exists(f, JOB "c/y"));
	assert_false(obj_exists(f, JOB "c/"));
}

/* rmdir g/x while g is renamed to h: the rmdir follows, h/x goes. */
static void test_race_rmdir_while_parent_renamed(void **state)
{
	struct fixture *f = *state;
	struct bg mvd = { .fn = do_rename, .f = f };
	struct bg rd = { .fn = do_rmdir, .f = f };
	struct inode *g = mkdir_in(f, f->job, "g");

	mkdir_in(f, g, "x");
	remote_fault_set(f->fault, REMOTE_FAULT_COPY, 1, REMOTE_FAULT_BLOCK, 0);
	mvd.p = mvd.np = f->job;
	mvd.name = "g";
	mvd.newname = "h";
	bg_start(&mvd);
	assert_int_equal(
		remote_fault_wait_blocked(f->fault, REMOTE_FAULT_COPY, 10000),
		0);
	rd.p = g;
	rd.name = "x";
	bg_start(&rd);
	settle();
	assert_false(bg_done(&rd));
	remote_fault_unblock(f->fault, REMOTE_FAULT_COPY);
	assert_int_equal(bg_join(&mvd), 0);
	assert_int_equal(bg_join(&rd), 0);
	assert_false(obj_exists(f, JOB "h/x/"));
	assert_false(obj_exists(f, JOB "g/x/"));
}

/* A removed directory, or a file replaced by mv, still open: a chmod
 * through it changes no object (no marker comes back, the new file keeps
 * its own mode). */
static void test_setattr_on_removed_inodes(void **state)
{
	struct fixture *f = *state;
	struct inode *d = mkdir_in(f, f->job, "rd");
	struct inode *x;
	struct wfile *wf;
	struct stat a = { 0 };

	assert_int_equal(fs_do_rmdir(f->fs, f->job, "rd"), 0);
	a.st_mode = 0700;
	assert_int_equal(fs_do_setattr(f->fs, d, &a, FUSE_SET_ATTR_MODE), 0);
	assert_false(obj_exists(f, JOB "rd/"));

	x = create(f, f->job, "x", O_WRONLY, &wf);
	write_str(f, x, wf, "X", 0);
	fs_wfile_release(f->fs, x, wf);
	put_obj(f, JOB "y", "Y");
	assert_int_equal(fs_do_rename(f->fs, f->job, "y", f->job, "x", 0), 0);
	a.st_mode = 0600;
	assert_int_equal(fs_do_setattr(f->fs, x, &a, FUSE_SET_ATTR_MODE), 0);
	assert_false(obj_meta(f, JOB "x").has_mode &&
		     obj_meta(f, JOB "x").mode == (S_IFREG | 0600));
}

/* A failed chmod or truncate leaves the attributes as they were. */
static void test_failed_setattr_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct wfile *wf;
	struct inode *in = create(f, f->job, "m.txt", O_WRONLY, &wf);
	struct stat before, a = { 0 };
	char *got;

	write_str(f, in, wf, "12345", 0);
	fs_wfile_release(f->fs, in, wf);
	pthread_mutex_lock(&f->fs->lock);
	before = in->attr;
	pthread_mutex_unlock(&f->fs->lock);

	remote_fault_set(f->fault, REMOTE_FAULT_COPY, 1, REMOTE_FAULT_FAIL,
			 -EACCES);
	a.st_mode = 0600;
	a.st_uid = 4242;
	assert_int_equal(fs_do_setattr(f->fs, in, &a,
				       FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID),
			 -EACCES);
	remote_fault_set(f->fault, REMOTE_FAULT_PUT, 1, REMOTE_FAULT_FAIL,
			 -EIO);
	a.st_size = 2;
	assert_int_equal(fs_do_setattr(f->fs, in, &a, FUSE_SET_ATTR_SIZE),
			 -EIO);
	pthread_mutex_lock(&f->fs->lock);
	assert_int_equal(in->attr.st_mode, before.st_mode);
	assert_int_equal(in->attr.st_uid, before.st_uid);
	assert_int_equal(in->attr.st_size, before.st_size);
	assert_int_equal(in->attr.st_ctim.tv_sec, before.st_ctim.tv_sec);
	assert_int_equal(in->attr.st_ctim.tv_nsec, before.st_ctim.tv_nsec);
	pthread_mutex_unlock(&f->fs->lock);
	got = get_obj(f, JOB "m.txt");
	assert_string_equal(got, "12345");
	free(got);
	assert_int_equal(obj_meta(f, JOB "m.txt").mode, S_IFREG | 0644);

	/* and one that works moves ctime and is stored */
	assert_int_equal(fs_do_setattr(f->fs, in, &a, FUSE_SET_ATTR_MODE), 0);
	assert_int_equal(obj_meta(f, JOB "m.txt").mode, S_IFREG | 0600);
	assert_true(obj_meta(f, JOB "m.txt").has_ctime);
}

/* mknod stores a zero-byte object whose mode carries the type, and a
 * device's number; both read back. */
static void test_special_files(void **state)
{
	struct fixture *f = *state;
	struct inode *fifo = NULL, *dev = NULL;
	struct store_meta sm;

	assert_int_equal(fs_do_mknod(f->fs, &f->me, f->job, "fifo", FS_SPECIAL,
				     S_IFIFO | 0640, 0, NULL, &fifo),
			 0);
	assert_int_equal(fs_do_mknod(f->fs, &f->me, f->job, "null", FS_SPECIAL,
				     S_IFCHR | 0666, makedev(1, 3), NULL, &dev),
			 0);
	sm = obj_meta(f, JOB "fifo");
	assert_int_equal(sm.mode, S_IFIFO | 0640);
	assert_false(sm.has_rdev);
	sm = obj_meta(f, JOB "null");
	assert_int_equal(sm.mode, S_IFCHR | 0666);
	assert_true(sm.has_rdev);
	assert_int_equal(sm.rdev, makedev(1, 3));
	assert_int_equal(fs_do_mknod(f->fs, &f->me, f->job, "fifo", FS_SPECIAL,
				     S_IFIFO | 0640, 0, NULL, &fifo),
			 -EEXIST);
}

/* Names over 255 bytes are ENAMETOOLONG, as on a local disk. */
static void test_name_too_long(void **state)
{
	struct fixture *f = *state;
	char name[FS_NAME_MAX + 2];
	char *key = NULL;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(fs_child_key(f->fs, f->job, name, 0, &key),
			 -ENAMETOOLONG);
	name[FS_NAME_MAX] = '\0';
	assert_int_equal(fs_child_key(f->fs, f->job, name, 0, &key), 0);
	free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_guard_conflicts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_guard_waits_and_is_taken_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_guard_prefix_blocks_keys_under_it, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_inode_table, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dircache, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_created_file_is_stored_once_at_close, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_created_empty_file_is_stored_at_release, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_exclusive_create_is_not_stored_twice, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_failed_upload_keeps_old_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streamed_upload, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_staging_failure_keeps_old_object, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_staging_failure_then_start_over, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_failed_new_file_leaves_no_claim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_race_chmod_during_close,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_race_chmod_during_metadata_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_metadata_copy_is_conditional, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_race_mv_during_metadata_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_race_rm_during_close,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_race_writer_replaced_by_mv,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_race_mv_dir_with_open_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_race_new_writer_during_dir_mv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_race_expire_dir_during_mv,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_race_mv_into_dir_being_renamed, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_race_rmdir_while_parent_renamed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setattr_on_removed_inodes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_failed_setattr_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_name_too_long, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
