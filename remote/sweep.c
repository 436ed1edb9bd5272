/*
 * sweep.c - find and delete expired objects under a prefix; see sweep.h.
 */
#include "sweep.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "xfer.h"

/* One listed object of the current page. */
struct item {
	const struct remote_list_entry *e; /* borrowed from the page */
	enum remote_sweep_verdict verdict;
	const char *why;
	int rc; /* HEAD failure */
};

/* Shared by the HEAD jobs of one page. */
struct page {
	struct remote *r;
	int64_t now;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t pending; /* guarded by lock */
};

struct head_job {
	struct page *pg;
	struct item *it;
};

/* Read one object's expiry and decide. */
static void check_one(struct remote *r, int64_t now, struct item *it)
{
	struct remote_stat st = { 0 };
	struct store_meta sm;
	int rc;

	rc = remote_head(r, it->e->key, &st, NULL);
	if (rc == 0) {
		store_meta_decode(&st.meta, &sm);
		it->verdict = store_meta_expired(&sm, now) ? REMOTE_SWEEP_DELETE
							   : REMOTE_SWEEP_KEEP;
	} else {
		/* Gone already is not a failure: someone else swept it. */
		it->verdict = REMOTE_SWEEP_KEEP;
		it->rc = rc == -ENOENT ? 0 : rc;
	}
	remote_stat_clear(&st);
}

/* Pool job: check_one, then count the page's pending HEADs down. */
static void head_one(void *arg)
{
	struct head_job *j = arg;

	check_one(j->pg->r, j->pg->now, j->it);
	pthread_mutex_lock(&j->pg->lock);
	if (--j->pg->pending == 0)
		pthread_cond_broadcast(&j->pg->cond);
	pthread_mutex_unlock(&j->pg->lock);
}

/* Decide, HEAD and delete one listing page. */
static int sweep_page(struct remote *r, struct remote_pool *pool,
		      const struct remote_sweep_opts *o,
		      const struct remote_list *l, size_t *count,
		      uint64_t *bytes, struct remote_error *err)
{
	struct page pg = { .r = r, .now = o->now };
	struct item *items = NULL;
	struct head_job *jobs = NULL;
	const char **doomed = NULL;
	size_t ndoomed = 0;
	int rc = 0;

	if (l->n_entries == 0)
		return 0;
	items = calloc(l->n_entries, sizeof(*items));
	jobs = calloc(l->n_entries, sizeof(*jobs));
	doomed = calloc(l->n_entries, sizeof(*doomed));
	if (!items || !jobs || !doomed) {
		rc = -ENOMEM;
		goto out;
	}
	pthread_mutex_init(&pg.lock, NULL);
	pthread_cond_init(&pg.cond, NULL);
	for (size_t i = 0; i < l->n_entries; i++) {
		struct item *it = &items[i];

		it->e = &l->entries[i];
		it->verdict = o->decide ? o->decide(o->ctx, it->e)
					: REMOTE_SWEEP_CHECK;
		it->why = it->verdict == REMOTE_SWEEP_DELETE ? "policy"
							     : "expired";
		if (it->verdict != REMOTE_SWEEP_CHECK)
			continue;
		jobs[i].pg = &pg;
		jobs[i].it = it;
		pthread_mutex_lock(&pg.lock);
		pg.pending++;
		pthread_mutex_unlock(&pg.lock);
		if (remote_pool_submit(pool, head_one, &jobs[i])) {
			/* No room in the pool: do it here. */
			pthread_mutex_lock(&pg.lock);
			pg.pending--;
			pthread_mutex_unlock(&pg.lock);
			check_one(r, o->now, it);
		}
	}
	pthread_mutex_lock(&pg.lock);
	while (pg.pending > 0)
		pthread_cond_wait(&pg.cond, &pg.lock);
	pthread_mutex_unlock(&pg.lock);
	pthread_cond_destroy(&pg.cond);
	pthread_mutex_destroy(&pg.lock);

	for (size_t i = 0; i < l->n_entries; i++) {
		if (items[i].rc && rc == 0)
			rc = remote_error_set(err, items[i].rc,
					      "cannot read '%.200s'",
					      items[i].e->key);
		if (items[i].verdict == REMOTE_SWEEP_DELETE)
			doomed[ndoomed++] = items[i].e->key;
	}
	if (ndoomed && !o->dry_run) {
		int drc = remote_delete_many(r, doomed, ndoomed, err);

		if (drc) {
			rc = drc;
			goto out;
		}
	}
	for (size_t i = 0; i < l->n_entries; i++) {
		if (items[i].verdict != REMOTE_SWEEP_DELETE)
			continue;
		if (o->report)
			o->report(o->ctx, items[i].e->key, items[i].e->size,
				  items[i].why);
		(*count)++;
		*bytes += items[i].e->size;
	}
out:
	free(items);
	free(jobs);
	free(doomed);
	return rc;
}

int remote_sweep(struct remote *r, const struct remote_sweep_opts *opts,
		 size_t *count, uint64_t *bytes, struct remote_error *err)
{
	struct remote_list_opts lo = { .prefix = opts->prefix };
	struct remote_list l = { 0 };
	struct remote_pool *pool = NULL;
	size_t n = 0;
	uint64_t b = 0;
	char *after = NULL;
	int more = 0;
	int rc = 0;

	pool = remote_pool_new(opts->threads ? opts->threads : 16);
	if (!pool)
		return -ENOMEM;
	/* Each page resumes strictly after the last key seen (start-after,
	 * not a continuation token), so deleting behind the cursor can never
	 * make a listing skip keys. */
	do {
		lo.start_after = after;
		lo.max_keys = 1000;
		rc = remote_list(r, &lo, &l, err);
		if (rc)
			break;
		rc = sweep_page(r, pool, opts, &l, &n, &b, err);
		more = l.next_token != NULL && l.n_entries > 0;
		free(after);
		after = NULL;
		if (rc == 0 && more) {
			after = strdup(l.entries[l.n_entries - 1].key);
			if (!after)
				rc = -ENOMEM;
		}
		remote_list_clear(&l);
	} while (rc == 0 && more);
	free(after);
	remote_pool_free(pool);
	if (count)
		*count = n;
	if (bytes)
		*bytes = b;
	return rc;
}

int remote_sweep_uploads(struct remote *r, const char *prefix, int64_t now,
			 int64_t max_age, int dry_run,
			 void (*report)(void *ctx, const char *key,
					uint64_t size, const char *why),
			 void *ctx, size_t *count, struct remote_error *err)
{
	struct remote_uploads u = { 0 };
	size_t n = 0;
	int rc;

	rc = remote_mpu_list(r, prefix, &u, err);
	for (size_t i = 0; rc == 0 && i < u.n; i++) {
		if (u.v[i].initiated <= 0 || now - u.v[i].initiated < max_age)
			continue; /* unknown age, or maybe still going */
		if (!dry_run)
			rc = remote_mpu_abort(r, u.v[i].key, u.v[i].upload_id,
					      err);
		if (rc)
			break;
		if (report)
			report(ctx, u.v[i].key, 0, "unfinished upload");
		n++;
	}
	remote_uploads_clear(&u);
	if (count)
		*count = n;
	return rc;
}
