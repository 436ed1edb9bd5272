/*
 * fault.c - the fault-injecting wrapper remote (fault.h).
 *
 * The wrapper takes the wrapped backend's prefix, so the wrappers of
 * remote.c prepend it once, and calls the backend's ops directly with the
 * full keys they already carry.
 */
#include "fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "remote_int.h"

struct rule {
	enum remote_fault_action action; /* PASS: no rule */
	int every;			 /* fire on every call, until cleared */
	unsigned nth; /* else: calls to go until it fires (once) */
	int arg;
};

struct fault_remote {
	struct remote base; /* first: remote.c casts */
	struct remote *inner;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rule rules[REMOTE_FAULT_OPS];
	unsigned calls[REMOTE_FAULT_OPS];
	unsigned blocked[REMOTE_FAULT_OPS];	  /* calls held now */
	unsigned long released[REMOTE_FAULT_OPS]; /* unblock generations */
	void (*list_hook)(void *ctx, const struct remote_list_opts *opts,
			  struct remote_list *page);
	void *list_ctx;
};

static const struct remote_ops fault_ops;

static struct fault_remote *fr_of(struct remote *r)
{
	return r && r->ops == &fault_ops ? (struct fault_remote *)r : NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Count the call and apply op's rule: 0 to go on to the backend, or the
 * injected -errno.  *corrupt (may be NULL) is set when the call's data
 * must be damaged after the backend ran. */
static int enter_data(struct remote *r, enum remote_fault_op op,
		      struct remote_error *err, int *corrupt)
{
	struct fault_remote *f = (struct fault_remote *)r;
	struct rule *ru = &f->rules[op];
	enum remote_fault_action act = REMOTE_FAULT_PASS;
	int arg = 0;

	pthread_mutex_lock(&f->lock);
	f->calls[op]++;
	if (ru->action != REMOTE_FAULT_PASS && (ru->every || --ru->nth == 0)) {
		act = ru->action;
		arg = ru->arg;
		if (!ru->every)
			ru->action = REMOTE_FAULT_PASS; /* fired once */
	}
	if (act == REMOTE_FAULT_BLOCK) {
		unsigned long gen = f->released[op];

		f->blocked[op]++;
		pthread_cond_broadcast(&f->cond);
		while (f->released[op] == gen)
			pthread_cond_wait(&f->cond, &f->lock);
		f->blocked[op]--;
	}
	pthread_mutex_unlock(&f->lock);
	if (corrupt)
		*corrupt = act == REMOTE_FAULT_CORRUPT;
	if (act == REMOTE_FAULT_FAIL)
		return remote_error_set(err, arg, "injected fault");
	if (act == REMOTE_FAULT_DELAY)
		sleep_ms(arg);
	return 0;
}

static int enter(struct remote *r, enum remote_fault_op op,
		 struct remote_error *err)
{
	return enter_data(r, op, err, NULL);
}

/* ---- the ops: enter, then the backend ------------------------------------ */

#define INNER(r) (((struct fault_remote *)(r))->inner)

static int f_check(struct remote *r, struct remote_error *err)
{
	return INNER(r)->ops->check(INNER(r), err);
}

static int f_head(struct remote *r, const char *key, struct remote_stat *st,
		  struct remote_error *err)
{
	int rc = enter(r, REMOTE_FAULT_HEAD, err);

	return rc ? rc : INNER(r)->ops->head(INNER(r), key, st, err);
}

static int f_get(struct remote *r, const char *key, uint64_t off, size_t len,
		 void *buf, size_t *got, const char *if_etag,
		 struct remote_error *err)
{
	int corrupt = 0;
	int rc = enter_data(r, REMOTE_FAULT_GET, err, &corrupt);

	if (rc == 0)
		rc = INNER(r)->ops->get(INNER(r), key, off, len, buf, got,
					if_etag, err);
	if (rc == 0 && corrupt && *got)
		((unsigned char *)buf)[*got / 2] ^= 0x20;
	return rc;
}

static int f_put(struct remote *r, const char *key,
		 const struct remote_body *body,
		 const struct remote_put_opts *opts, char *etag_out,
		 struct remote_error *err)
{
	int rc = enter(r, REMOTE_FAULT_PUT, err);

	if (rc == 0)
		rc = INNER(r)->ops->put(INNER(r), key, body, opts, etag_out,
					err);
	/* The backend may learn what the server lacks on a PUT. */
	__atomic_store_n(&r->caps, remote_caps(INNER(r)), __ATOMIC_RELAXED);
	return rc;
}

static int f_copy(struct remote *r, const char *src, const char *dst,
		  const struct remote_put_opts *replace,
		  struct remote_error *err)
{
	int rc = enter(r, REMOTE_FAULT_COPY, err);

	return rc ? rc : INNER(r)->ops->copy(INNER(r), src, dst, replace, err);
}

static int f_del(struct remote *r, const char *key, struct remote_error *err)
{
	int rc = enter(r, REMOTE_FAULT_DELETE, err);

	return rc ? rc : INNER(r)->ops->del(INNER(r), key, err);
}

static int f_del_many(struct remote *r, const char *const *keys, size_t n,
		      struct remote_error *err)
{
	int rc = enter(r, REMOTE_FAULT_DELETE_MANY, err);

	return rc ? rc : INNER(r)->ops->del_many(INNER(r), keys, n, err);
}

static int f_list(struct remote *r, const struct remote_list_opts *opts,
		  struct remote_list *out, struct remote_error *err)
{
	struct fault_remote *f = (struct fault_remote *)r;
	void (*hook)(void *, const struct remote_list_opts *,
		     struct remote_list *);
	void *ctx;
	int rc = enter(r, REMOTE_FAULT_LIST, err);

	if (rc == 0)
		rc = INNER(r)->ops->list(INNER(r), opts, out, err);
	pthread_mutex_lock(&f->lock);
	hook = f->list_hook;
	ctx = f->list_ctx;
	pthread_mutex_unlock(&f->lock);
	if (rc == 0 && hook)
		hook(ctx, opts, out);
	return rc;
}

static int f_mpu_create(struct remote *r, const char *key,
			const struct remote_put_opts *opts, char **upload_id,
			struct remote_error *err)
{
	int rc = enter(r, REMOTE_FAULT_MPU_CREATE, err);

	return rc ? rc
		  : INNER(r)->ops->mpu_create(INNER(r), key, opts, upload_id,
					      err);
}

static int f_mpu_put_part(struct remote *r, const char *key,
			  const char *upload_id, int part,
			  const struct remote_body *body, char *etag_out,
			  struct remote_error *err)
{
	int rc = enter(r, REMOTE_FAULT_MPU_PART, err);

	return rc ? rc
		  : INNER(r)->ops->mpu_put_part(INNER(r), key, upload_id, part,
						body, etag_out, err);
}

static int f_mpu_copy_part(struct remote *r, const char *key,
			   const char *upload_id, int part, const char *src,
			   uint64_t off, uint64_t len, char *etag_out,
			   struct remote_error *err)
{
	int rc = enter(r, REMOTE_FAULT_MPU_COPY_PART, err);

	return rc ? rc
		  : INNER(r)->ops->mpu_copy_part(INNER(r), key, upload_id, part,
						 src, off, len, etag_out, err);
}

static int f_mpu_complete(struct remote *r, const char *key,
			  const char *upload_id,
			  const struct remote_part *parts, size_t n,
			  char *etag_out, struct remote_error *err)
{
	int rc = enter(r, REMOTE_FAULT_MPU_COMPLETE, err);

	return rc ? rc
		  : INNER(r)->ops->mpu_complete(INNER(r), key, upload_id, parts,
						n, etag_out, err);
}

static int f_mpu_abort(struct remote *r, const char *key, const char *upload_id,
		       struct remote_error *err)
{
	int rc = enter(r, REMOTE_FAULT_MPU_ABORT, err);

	return rc ? rc
		  : INNER(r)->ops->mpu_abort(INNER(r), key, upload_id, err);
}

static int f_mpu_list(struct remote *r, const char *prefix,
		      struct remote_uploads *out, struct remote_error *err)
{
	struct remote *in = INNER(r);

	return in->ops->mpu_list ? in->ops->mpu_list(in, prefix, out, err) : 0;
}

static void f_cancel(struct remote *r)
{
	remote_cancel(INNER(r));
}

static void f_destroy(struct remote *r)
{
	struct fault_remote *f = (struct fault_remote *)r;

	remote_close(f->inner);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f->base.prefix);
	free(f->base.name);
	free(f);
}

static const struct remote_ops fault_ops = {
	.scheme = "fault",
	.check = f_check,
	.head = f_head,
	.get = f_get,
	.put = f_put,
	.copy = f_copy,
	.del = f_del,
	.del_many = f_del_many,
	.list = f_list,
	.mpu_create = f_mpu_create,
	.mpu_put_part = f_mpu_put_part,
	.mpu_copy_part = f_mpu_copy_part,
	.mpu_complete = f_mpu_complete,
	.mpu_abort = f_mpu_abort,
	.mpu_list = f_mpu_list,
	.destroy = f_destroy,
	.cancel = f_cancel,
};

/* ---- control ------------------------------------------------------------- */

int remote_fault_wrap(struct remote *inner, struct remote **out)
{
	struct fault_remote *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->base.ops = &fault_ops;
	f->base.prefix = strdup(inner->prefix);
	f->base.name = strdup(inner->name);
	f->base.debug = inner->debug;
	f->base.caps = remote_caps(inner);
	if (!f->base.prefix || !f->base.name) {
		free(f->base.prefix);
		free(f->base.name);
		free(f);
		return -ENOMEM;
	}
	f->inner = inner;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	*out = &f->base;
	return 0;
}

int remote_fault_set(struct remote *r, enum remote_fault_op op, unsigned nth,
		     enum remote_fault_action action, int arg)
{
	struct fault_remote *f = fr_of(r);

	if (!f || (unsigned)op >= REMOTE_FAULT_OPS)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	f->rules[op].action = action;
	f->rules[op].every = nth == 0;
	f->rules[op].nth = nth;
	f->rules[op].arg = arg;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

void remote_fault_clear(struct remote *r)
{
	struct fault_remote *f = fr_of(r);

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	for (int op = 0; op < REMOTE_FAULT_OPS; op++) {
		f->rules[op].action = REMOTE_FAULT_PASS;
		f->released[op]++;
	}
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

unsigned remote_fault_calls(struct remote *r, enum remote_fault_op op)
{
	struct fault_remote *f = fr_of(r);
	unsigned n;

	if (!f || (unsigned)op >= REMOTE_FAULT_OPS)
		return 0;
	pthread_mutex_lock(&f->lock);
	n = f->calls[op];
	pthread_mutex_unlock(&f->lock);
	return n;
}

int remote_fault_wait_blocked(struct remote *r, enum remote_fault_op op,
			      unsigned timeout_ms)
{
	struct fault_remote *f = fr_of(r);
	struct timespec until;
	int rc = 0;

	if (!f || (unsigned)op >= REMOTE_FAULT_OPS)
		return -EINVAL;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->lock);
	while (f->blocked[op] == 0 && rc == 0)
		if (pthread_cond_timedwait(&f->cond, &f->lock, &until) ==
		    ETIMEDOUT)
			rc = f->blocked[op] ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

void remote_fault_unblock(struct remote *r, enum remote_fault_op op)
{
	struct fault_remote *f = fr_of(r);

	if (!f || (unsigned)op >= REMOTE_FAULT_OPS)
		return;
	pthread_mutex_lock(&f->lock);
	if (f->rules[op].action == REMOTE_FAULT_BLOCK)
		f->rules[op].action = REMOTE_FAULT_PASS;
	f->released[op]++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

void remote_fault_list_hook(struct remote *r,
			    void (*fn)(void *ctx,
				       const struct remote_list_opts *opts,
				       struct remote_list *page),
			    void *ctx)
{
	struct fault_remote *f = fr_of(r);

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->list_hook = fn;
	f->list_ctx = ctx;
	pthread_mutex_unlock(&f->lock);
}
