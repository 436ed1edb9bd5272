/*
 * batch.c - a set of pool jobs that one operation waits for, without
 * waiting for the rest of the pool (other files' part uploads).
 */
#include "fs.h"

void fs_batch_init(struct fs_batch *b)
{
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	b->pending = 0;
}

/* Queue fn(arg) as part of b; -ENOMEM if the pool cannot take it. */
int fs_batch_submit(struct fs *fs, struct fs_batch *b, void (*fn)(void *),
		    void *arg)
{
	int rc;

	pthread_mutex_lock(&b->lock);
	b->pending++;
	pthread_mutex_unlock(&b->lock);
	rc = remote_pool_submit(fs->meta_pool, fn, arg);
	if (rc) {
		pthread_mutex_lock(&b->lock);
		b->pending--;
		pthread_mutex_unlock(&b->lock);
	}
	return rc;
}

/* Called by each job when it is finished. */
void fs_batch_done(struct fs_batch *b)
{
	pthread_mutex_lock(&b->lock);
	if (--b->pending == 0)
		pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* Wait for every job of b, then free its resources. */
void fs_batch_finish(struct fs_batch *b)
{
	pthread_mutex_lock(&b->lock);
	while (b->pending > 0)
		pthread_cond_wait(&b->cond, &b->lock);
	pthread_mutex_unlock(&b->lock);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
}
