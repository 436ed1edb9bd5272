/*
 * store_fixture.h - what the unit tests of remote/, cache/ and fs/ share:
 * a temporary directory holding a file:// store, wrapped in the fault
 * remote (remote/fault.h) so each test can count, fail, delay or block the
 * calls it makes, and removed again at the end.  Header-only; include it
 * after <cmocka.h>.
 */
#ifndef ARTIFACTFS_TESTS_STORE_FIXTURE_H
#define ARTIFACTFS_TESTS_STORE_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fault.h"
#include "remote.h"

/* Make dir (a buffer of n bytes) a new temporary directory named after
 * tag, with the store in dir/store, and open *r: the fault remote over
 * it.  Fails the test on any error. */
static inline void store_fixture_open(char *dir, size_t n, const char *tag,
				      struct remote **r)
{
	struct remote_config cfg = { 0 };
	struct remote_error err = { { 0 } };
	struct remote *file = NULL;
	char url[256], store[200];

	snprintf(dir, n, "/tmp/afs-%s-test-XXXXXX", tag);
	assert_non_null(mkdtemp(dir));
	snprintf(store, sizeof(store), "%s/store", dir);
	assert_int_equal(mkdir(store, 0700), 0);
	snprintf(url, sizeof(url), "file://%s", store);
	cfg.url = url;
	assert_int_equal(remote_open(&cfg, &file, &err), 0);
	assert_int_equal(remote_fault_wrap(file, r), 0);
}

static inline int store_fixture_rm_one(const char *path, const struct stat *st,
				       int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove dir and everything in it (never following links). */
static inline void store_fixture_rmtree(const char *dir)
{
	nftw(dir, store_fixture_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
