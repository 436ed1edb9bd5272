/*
 * test_list.c - what remote/ lets through: keys it will build requests for
 * (remote_key_valid, every call refusing the rest) and listings it serves
 * (remote_list's validation, remote_list_pages' progress rule).  Hostile
 * answers come from the fault remote's listing hook over a real file://
 * store.
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "remote.h"
#include "store_fixture.h"

struct fixture {
	char dir[64];
	struct remote *r;
	int warnings;
	char last_warning[1024];
	/* the hook's script */
	const char *add[8]; /* keys to add to each page */
	int add_prefixes;   /* add[] go to the prefixes instead */
	const char *token;  /* next token to answer, or NULL: leave */
	int pages_left;	    /* answer a token this many more times */
};

static void on_warn(void *ctx, const char *msg)
{
	struct fixture *f = ctx;

	f->warnings++;
	snprintf(f->last_warning, sizeof(f->last_warning), "%s", msg);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	store_fixture_open(f->dir, sizeof(f->dir), "list", &f->r);
	remote_set_warn(f->r, on_warn, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	remote_close(f->r);
	store_fixture_rmtree(f->dir);
	free(f);
	return 0;
}

static void put(struct fixture *f, const char *key)
{
	struct remote_body b = { .buf = "x", .fd = -1, .len = 1 };

	assert_int_equal(remote_put(f->r, key, &b, NULL, NULL, NULL), 0);
}

/* The hook: append f->add[] to the page (sorted where the test wants it)
 * and answer f->token while pages_left lasts. */
static void hostile(void *ctx, const struct remote_list_opts *o,
		    struct remote_list *l)
{
	struct fixture *f = ctx;
	size_t n = 0;

	(void)o;
	while (n < 8 && f->add[n])
		n++;
	if (f->add_prefixes) {
		l->prefixes = realloc(l->prefixes,
				      (l->n_prefixes + n) * sizeof(char *));
		for (size_t i = 0; i < n; i++)
			l->prefixes[l->n_prefixes++] = strdup(f->add[i]);
	} else {
		l->entries = realloc(l->entries,
				     (l->n_entries + n) * sizeof(*l->entries));
		for (size_t i = 0; i < n; i++) {
			memset(&l->entries[l->n_entries], 0,
			       sizeof(l->entries[0]));
			l->entries[l->n_entries++].key = strdup(f->add[i]);
		}
	}
	if (f->token && f->pages_left > 0) {
		f->pages_left--;
		free(l->next_token);
		l->next_token = strdup(f->token);
	}
}

static void test_key_valid(void **state)
{
	static const struct {
		const char *key;
		int ok;
	} cases[] = {
		{ "a", 1 },	   { "a/b/c.txt", 1 },
		{ "a/b/", 1 },	   /* a directory marker */
		{ "a/..b/c.", 1 }, /* dots inside names are fine */
		{ "", 0 },	   { "/a", 0 },
		{ "a//b", 0 },	   { "a/./b", 0 },
		{ "a/../b", 0 },   { "..", 0 },
		{ "a/..", 0 },	   { "a/../", 0 },
		{ ".", 0 },	   { "a//", 0 },
	};
	char big[REMOTE_KEY_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (remote_key_valid(cases[i].key) != cases[i].ok)
			fail_msg("'%s': wanted %d", cases[i].key, cases[i].ok);
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(remote_key_valid(big));
	big[REMOTE_KEY_MAX] = '\0';
	assert_true(remote_key_valid(big));
}

/* No request is built for a dot-segment key, whatever the call. */
static void test_no_request_for_bad_keys(void **state)
{
	struct fixture *f = *state;
	struct remote_body b = { .buf = "x", .fd = -1, .len = 1 };
	struct remote_error err = { { 0 } };
	struct remote_stat st = { 0 };
	const char *bad = "artifacts/jobs/j1/y/../../../projects/p1/victim";
	const char *k[1] = { bad };
	char *id = NULL;

	put(f, "artifacts/projects/p1/victim");
	assert_int_equal(remote_head(f->r, bad, &st, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "refusing key"));
	assert_int_equal(remote_put(f->r, bad, &b, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(remote_copy(f->r, "artifacts/projects/p1/victim", bad,
				     NULL, NULL),
			 -EINVAL);
	assert_int_equal(remote_copy(f->r, bad, "ok", NULL, NULL), -EINVAL);
	assert_int_equal(remote_delete(f->r, bad, NULL), -EINVAL);
	assert_int_equal(remote_delete_many(f->r, k, 1, NULL), -EINVAL);
	assert_int_equal(remote_mpu_create(f->r, bad, NULL, &id, NULL),
			 -EINVAL);
	/* none reached the backend */
	assert_int_equal(remote_fault_calls(f->r, REMOTE_FAULT_HEAD), 0);
	assert_int_equal(remote_fault_calls(f->r, REMOTE_FAULT_COPY), 0);
	assert_int_equal(remote_fault_calls(f->r, REMOTE_FAULT_DELETE), 0);
	assert_int_equal(remote_fault_calls(f->r, REMOTE_FAULT_DELETE_MANY), 0);
	assert_int_equal(remote_fault_calls(f->r, REMOTE_FAULT_MPU_CREATE), 0);
	assert_int_equal(
		remote_head(f->r, "artifacts/projects/p1/victim", &st, NULL),
		0);
	remote_stat_clear(&st);
}

/* Bad entries are dropped, counted and warned about; the rest is
 * served. */
static void test_bad_entries_skipped(void **state)
{
	struct fixture *f = *state;
	struct remote_list_opts o = { .prefix = "d/" };
	struct remote_list l = { 0 };
	char big[REMOTE_KEY_MAX + 8];

	memset(big, 'x', sizeof(big) - 1);
	big[0] = 'd';
	big[1] = '/';
	big[sizeof(big) - 1] = '\0';
	put(f, "d/a");
	put(f, "d/b");
	f->add[0] = "d/b";	  /* a duplicate */
	f->add[1] = "c";	  /* shorter than, outside the prefix */
	f->add[2] = "d/../e";	  /* a dot segment */
	f->add[3] = big;	  /* too long */
	f->add[4] = "d/c\x1b[2J"; /* fine (control bytes are allowed) */
	remote_fault_list_hook(f->r, hostile, f);
	assert_int_equal(remote_list(f->r, &o, &l, NULL), 0);
	assert_int_equal(l.n_entries, 3);
	assert_string_equal(l.entries[0].key, "d/a");
	assert_string_equal(l.entries[1].key, "d/b");
	assert_string_equal(l.entries[2].key, "d/c\x1b[2J");
	assert_int_equal(l.n_skipped, 4);
	assert_int_equal(f->warnings, 1);
	assert_non_null(strstr(f->last_warning, "skipped 4"));
	remote_list_clear(&l);
}

static void test_bad_prefixes_skipped(void **state)
{
	struct fixture *f = *state;
	struct remote_list_opts o = { .prefix = "d/", .delimiter = "/" };
	struct remote_list l = { 0 };

	put(f, "d/s/x");
	f->add_prefixes = 1;
	f->add[0] = "d/";    /* not longer than the prefix */
	f->add[1] = "e/";    /* outside */
	f->add[2] = "d/t";   /* no delimiter at the end */
	f->add[3] = "d/../"; /* a dot segment */
	remote_fault_list_hook(f->r, hostile, f);
	assert_int_equal(remote_list(f->r, &o, &l, NULL), 0);
	assert_int_equal(l.n_prefixes, 1);
	assert_string_equal(l.prefixes[0], "d/s/");
	assert_int_equal(l.n_skipped, 4);
	remote_list_clear(&l);
}

/* A token that repeats the one sent: the listing would never end. */
static void test_repeated_token(void **state)
{
	struct fixture *f = *state;
	struct remote_list_opts o = { .prefix = "d/", .token = "T" };
	struct remote_list l = { 0 };
	struct remote_error err = { { 0 } };

	put(f, "d/a");
	f->token = "T";
	f->pages_left = 1000000;
	remote_fault_list_hook(f->r, hostile, f);
	assert_int_equal(remote_list(f->r, &o, &l, &err), -EIO);
	assert_non_null(strstr(err.msg, "continuation token"));
}

static int count_page(struct remote_list *l, void *ctx)
{
	(*(size_t *)ctx) += l->n_entries;
	return 0;
}

/* Fresh tokens that do not move: the file backend reads a token as
 * "start after", and "d/!", "d/!!", ... all sort before d/a. */
static int stuck_calls;
static void stuck_tokens(void *ctx, const struct remote_list_opts *o,
			 struct remote_list *l)
{
	char t[64] = "d/";
	size_t n = stuck_calls < 60 ? (size_t)stuck_calls + 1 : 60;

	(void)ctx;
	(void)o;
	memset(t + 2, '!', n);
	t[2 + n] = '\0';
	stuck_calls++;
	free(l->next_token);
	l->next_token = strdup(t);
}

/* Fresh tokens over the same keys: the pages go nowhere. */
static void test_pages_must_progress(void **state)
{
	struct fixture *f = *state;
	struct remote_list_opts o = { .prefix = "d/" };
	struct remote_error err = { { 0 } };
	size_t n = 0;

	put(f, "d/a");
	remote_fault_list_hook(f->r, stuck_tokens, f);
	/* The second page repeats the first. */
	assert_int_equal(remote_list_pages(f->r, &o, count_page, &n, &err),
			 -EIO);
	assert_non_null(strstr(err.msg, "backwards"));
	assert_int_equal(n, 1);
	assert_true(remote_fault_calls(f->r, REMOTE_FAULT_LIST) <= 3);
}

/* Endless empty pages, each with a new token, end too. */
static int fresh_token_calls;
static void empty_pages(void *ctx, const struct remote_list_opts *o,
			struct remote_list *l)
{
	char t[32];

	(void)ctx;
	(void)o;
	for (size_t i = 0; i < l->n_entries; i++)
		free(l->entries[i].key);
	l->n_entries = 0;
	snprintf(t, sizeof(t), "t%d", ++fresh_token_calls);
	free(l->next_token);
	l->next_token = strdup(t);
}

static void test_endless_empty_pages(void **state)
{
	struct fixture *f = *state;
	struct remote_list_opts o = { .prefix = "d/" };
	struct remote_error err = { { 0 } };
	size_t n = 0;

	put(f, "d/a");
	remote_fault_list_hook(f->r, empty_pages, f);
	assert_int_equal(remote_list_pages(f->r, &o, count_page, &n, &err),
			 -EIO);
	assert_non_null(strstr(err.msg, "empty pages"));
	assert_int_equal(remote_fault_calls(f->r, REMOTE_FAULT_LIST),
			 REMOTE_LIST_EMPTY_MAX + 1);
}

static void test_printable(void **state)
{
	char out[64];

	(void)state;
	assert_string_equal(
		remote_printable("a b\x1b[2J\n\x7f", out, sizeof(out)),
		"a b\\x1b[2J\\x0a\\x7f");
	assert_string_equal(remote_printable("abcdef", out, 4), "abc");
	assert_string_equal(remote_printable("a\n", out, 4), "a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_valid),
		cmocka_unit_test(test_printable),
		cmocka_unit_test_setup_teardown(test_no_request_for_bad_keys,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_entries_skipped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_prefixes_skipped,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeated_token, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pages_must_progress, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_endless_empty_pages, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
