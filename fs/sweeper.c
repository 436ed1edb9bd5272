/*
 * sweeper.c - the mount deletes expired artifacts of its own stores.
 *
 * A background thread wakes every sweep_interval seconds and runs
 * remote_sweep() over each mounted level's prefix, as a dry run that names
 * the expired keys; it then deletes them itself, up to 1000 at a time,
 * under a guard on those keys (guard.c), so no upload or metadata copy of
 * this mount races the delete.  Under the guard each key is HEADed again:
 * one this mount has open for writing, or that got a later expiry since
 * the listing, is kept.  Readers already
 * treat expired objects as gone, so the sweep only reclaims space.
 * It also aborts the unfinished multipart uploads of its stores started
 * more than upload_max_age seconds ago (remote_sweep_uploads): what a
 * crash or a failed upload leaves behind.  Stopping wakes it at once; a sweep
 * in progress finishes its current requests first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"
#include "sweep.h"

#define SWEEP_BATCH 1000

struct doomed {
	char **keys;
	uint64_t *sizes;
	size_t n, cap;
	int rc; /* -ENOMEM while collecting */
};

/* remote_sweep's report in a dry run: remember the key. */
static void collect(void *ctx, const char *key, uint64_t size, const char *why)
{
	struct doomed *d = ctx;

	(void)why;
	if (d->rc)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		char **k = realloc(d->keys, cap * sizeof(*k));
		uint64_t *sz;

		if (!k) {
			d->rc = -ENOMEM;
			return;
		}
		d->keys = k;
		sz = realloc(d->sizes, cap * sizeof(*sz));
		if (!sz) {
			d->rc = -ENOMEM;
			return;
		}
		d->sizes = sz;
		d->cap = cap;
	}
	d->keys[d->n] = strdup(key);
	if (!d->keys[d->n]) {
		d->rc = -ENOMEM;
		return;
	}
	d->sizes[d->n++] = size;
}

/* Whether key must stay after all: open for writing here, or (HEAD
 * again, under the guard) no longer expired or gone.  No lock held. */
static int keep_key(struct fs *fs, const char *key)
{
	struct remote_stat st = { 0 };
	struct store_meta sm;
	struct inode *in;
	int keep;

	pthread_mutex_lock(&fs->lock);
	in = fs_inode_by_key(fs, key);
	keep = in && in->wf;
	pthread_mutex_unlock(&fs->lock);
	if (keep)
		return 1;
	if (remote_head(fs->remote, key, &st, NULL))
		return 1; /* gone, or unknown: leave it to the next sweep */
	store_meta_decode(&st.meta, &sm);
	keep = !store_meta_expired(&sm, fs->now());
	remote_stat_clear(&st);
	return keep;
}

/* Delete keys[0..n) under one guard; *count and *bytes grow by what
 * went.  -errno of the guard or the delete. */
static int delete_batch(struct fs *fs, char **keys, const uint64_t *sizes,
			size_t n, size_t *count, uint64_t *bytes,
			struct remote_error *err)
{
	const char *go[SWEEP_BATCH];
	struct fs_guard g;
	size_t ngo = 0;
	uint64_t gone = 0;
	int rc = 0;

	fs_guard_init(&g);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = fs_guard_key(&g, keys[i], 0);
	if (rc)
		goto out;
	fs_guard_take(fs, &g);
	for (size_t i = 0; i < n; i++) {
		if (keep_key(fs, keys[i]))
			continue;
		go[ngo++] = keys[i];
		gone += sizes[i];
	}
	if (ngo == 0)
		goto out;
	rc = remote_delete_many(fs->remote, go, ngo, err);
	if (rc)
		goto out;
	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < ngo; i++) {
		struct inode *in = fs_inode_by_key(fs, go[i]);

		if (in) {
			in->unlinked = 1;
			fs_inode_unhash_key(fs, in);
		}
	}
	pthread_mutex_unlock(&fs->lock);
	*count += ngo;
	*bytes += gone;
out:
	fs_guard_done(fs, &g);
	return rc;
}

static void sweep_once(struct fs *fs)
{
	for (int l = 0; l < STORE_LEVELS; l++) {
		struct remote_sweep_opts o = { .threads = 8, .dry_run = 1 };
		struct remote_error err = { { 0 } };
		struct doomed d = { 0 };
		uint64_t bytes = 0;
		size_t n = 0;
		char *prefix = NULL;
		int rc;

		if (!fs->opts.ids[l] ||
		    store_key(l, fs->opts.ids[l], "", &prefix))
			continue;
		o.prefix = prefix;
		o.now = fs->now();
		o.report = collect;
		o.ctx = &d;
		rc = remote_sweep(fs->remote, &o, NULL, NULL, &err);
		if (rc == 0)
			rc = d.rc;
		for (size_t i = 0; rc == 0 && i < d.n; i += SWEEP_BATCH)
			rc = delete_batch(fs, d.keys + i, d.sizes + i,
					  d.n - i < SWEEP_BATCH ? d.n - i
								: SWEEP_BATCH,
					  &n, &bytes, &err);
		for (size_t i = 0; i < d.n; i++)
			free(d.keys[i]);
		free(d.keys);
		free(d.sizes);
		if (rc == 0) {
			size_t aborted = 0;

			rc = remote_sweep_uploads(fs->remote, prefix, o.now,
						  fs->opts.upload_max_age, 0,
						  NULL, NULL, &aborted, &err);
			if (aborted)
				fs_log(fs,
				       "aborted %zu unfinished upload(s) under "
				       "%s, older than %lld s",
				       aborted, prefix,
				       (long long)fs->opts.upload_max_age);
		}
		if (rc)
			fs_log(fs, "sweeping %s: %s", prefix, err.msg);
		else if (n)
			fs_log(fs,
			       "swept %zu expired artifacts (%llu bytes) "
			       "from %s",
			       n, (unsigned long long)bytes, prefix);
		free(prefix);
	}
}

static void *sweeper_main(void *arg)
{
	struct fs *fs = arg;
	struct timespec until;

	pthread_mutex_lock(&fs->sweep_lock);
	while (!fs->sweep_stop) {
		double secs = fs->opts.sweep_interval;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)secs;
		until.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!fs->sweep_stop &&
		       pthread_cond_timedwait(&fs->sweep_cond, &fs->sweep_lock,
					      &until) != ETIMEDOUT)
			;
		if (fs->sweep_stop)
			break;
		pthread_mutex_unlock(&fs->sweep_lock);
		sweep_once(fs);
		pthread_mutex_lock(&fs->sweep_lock);
	}
	pthread_mutex_unlock(&fs->sweep_lock);
	return NULL;
}

int fs_sweeper_start(struct fs *fs)
{
	int rc;

	pthread_mutex_init(&fs->sweep_lock, NULL);
	pthread_cond_init(&fs->sweep_cond, NULL);
	fs->sweep_stop = 0;
	if (fs->opts.sweep_interval <= 0)
		return 0;
	rc = pthread_create(&fs->sweeper, NULL, sweeper_main, fs);
	if (rc)
		return -rc;
	fs->sweeper_running = 1;
	return 0;
}

void fs_sweeper_stop(struct fs *fs)
{
	pthread_mutex_lock(&fs->sweep_lock);
	fs->sweep_stop = 1;
	pthread_cond_broadcast(&fs->sweep_cond);
	pthread_mutex_unlock(&fs->sweep_lock);
	if (fs->sweeper_running)
		pthread_join(fs->sweeper, NULL);
	fs->sweeper_running = 0;
	pthread_cond_destroy(&fs->sweep_cond);
	pthread_mutex_destroy(&fs->sweep_lock);
}
