/*
 * context.c - the mount context: making and freeing struct fs, starting
 * its threads, and its log.  main.c builds one from the command line; the
 * unit tests of fs/ build one around a test remote the same way.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"

void fs_log(struct fs *fs, const char *fmt, ...)
{
	char msg[1024];
	char safe[1024];
	va_list ap;

	(void)fs;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Keys are anyone's bytes: no ESC sequence or newline reaches the
	 * log raw. */
	remote_printable(msg, safe, sizeof(safe));
	fuse_log(FUSE_LOG_ERR, "artifactfs: %s\n", safe);
}

void fs_remote_warn(void *ctx, const char *msg)
{
	fs_log(ctx, "warning: %s", msg);
}

static int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

int fs_context_new(struct fs **out)
{
	struct fs *fs = calloc(1, sizeof(*fs));

	*out = NULL;
	if (!fs)
		return -ENOMEM;
	pthread_mutex_init(&fs->lock, NULL);
	pthread_cond_init(&fs->claim_cond, NULL);
	fs->now = wall_now;
	fs->uid = getuid();
	fs->gid = getgid();
	clock_gettime(CLOCK_REALTIME, &fs->mount_time);
	fs->part_size = 8u << 20;
	*out = fs;
	return 0;
}

int fs_context_start(struct fs *fs, const struct cache_opts *co,
		     struct remote_error *err)
{
	int rc = cache_open(co, fs->remote, &fs->cache, err);

	if (rc)
		return rc;
	fs->pool = remote_pool_new(8);
	fs->meta_pool = remote_pool_new(16);
	if (!fs->pool || !fs->meta_pool)
		return remote_error_set(err, -ENOMEM, "out of memory");
	return 0;
}

struct drain_timer {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
	double grace;
	struct remote *r;
};

/* After grace seconds still draining: cancel every request in flight. */
static void *drain_timer(void *arg)
{
	struct drain_timer *t = arg;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)t->grace;
	until.tv_nsec += (long)((t->grace - (double)(time_t)t->grace) * 1e9);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->lock);
	while (!t->done &&
	       pthread_cond_timedwait(&t->cond, &t->lock, &until) != ETIMEDOUT)
		;
	if (!t->done)
		remote_cancel(t->r);
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

void fs_context_drain(struct fs *fs, double grace)
{
	struct drain_timer t = { .grace = grace, .r = fs->remote };
	pthread_t th;
	int timer;

	if (!fs->remote || (!fs->pool && !fs->meta_pool))
		return;
	pthread_mutex_init(&t.lock, NULL);
	pthread_cond_init(&t.cond, NULL);
	timer = pthread_create(&th, NULL, drain_timer, &t) == 0;
	if (fs->pool)
		remote_pool_wait(fs->pool);
	if (fs->meta_pool)
		remote_pool_wait(fs->meta_pool);
	pthread_mutex_lock(&t.lock);
	t.done = 1;
	pthread_cond_broadcast(&t.cond);
	pthread_mutex_unlock(&t.lock);
	if (timer)
		pthread_join(th, NULL);
	if (remote_cancelled(fs->remote))
		fs_log(fs, "stopped what was still in flight after %.0f s",
		       grace);
	pthread_cond_destroy(&t.cond);
	pthread_mutex_destroy(&t.lock);
}

void fs_context_free(struct fs *fs)
{
	if (!fs)
		return;
	/* The pools finish their queued jobs (metadata copies) first. */
	remote_pool_free(fs->pool);
	remote_pool_free(fs->meta_pool);
	cache_close(fs->cache);
	fs_inode_table_free(fs);
	remote_close(fs->remote);
	pthread_cond_destroy(&fs->claim_cond);
	pthread_mutex_destroy(&fs->lock);
	for (int l = 0; l < STORE_LEVELS; l++)
		free(fs->opts.ids[l]);
	free(fs->opts.cache_dir);
	free(fs);
}
