/*
 * sweeper.c - the mount deletes expired artifacts of its own stores.
 *
 * A background thread wakes every sweep_interval seconds and runs
 * remote_sweep() over each mounted level's prefix.  It never holds
 * fs->lock: readers already treat expired objects as gone, so the sweep
 * only reclaims space.  Stopping wakes it at once; a sweep in progress
 * finishes its current requests first.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "fs.h"
#include "sweep.h"

static void sweep_once(struct fs *fs)
{
	for (int l = 0; l < STORE_LEVELS; l++) {
		struct remote_sweep_opts o = {.threads = 8};
		struct remote_error err = {{0}};
		uint64_t bytes = 0;
		size_t n = 0;
		char *prefix = NULL;
		int rc;

		if (!fs->opts.ids[l] ||
		    store_key(l, fs->opts.ids[l], "", &prefix))
			continue;
		o.prefix = prefix;
		o.now = fs->now();
		rc = remote_sweep(fs->remote, &o, &n, &bytes, &err);
		if (rc)
			fs_log(fs, "sweeping %s: %s", prefix, err.msg);
		else if (n)
			fs_log(fs, "swept %zu expired artifacts (%llu bytes) "
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
