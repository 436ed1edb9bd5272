/*
 * xfer.c - whole-file transfers on top of the remote_*() wrappers: parallel
 * multipart upload, parallel ranged download, copy of any size, prefix
 * delete, and a small worker pool.
 *
 * Parallel pieces (parts, ranges) are handed out by a shared counter: a
 * fixed number of threads each claim the next piece until none are left or
 * one has failed.  The first failure wins (its rc and message are kept) and
 * stops the others from claiming more work.  Nothing here holds a lock over
 * a network request.
 */
#include "xfer.h"

#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XFER_DEFAULT_THREADS 8u
#define XFER_DEFAULT_PART    (8ull * 1024 * 1024)
#define XFER_DEFAULT_SINGLE  (16ull * 1024 * 1024)
#define XFER_COPY_PART	     (1ull * 1024 * 1024 * 1024)
#define XFER_COPY_THREADS    4u
#define XFER_DELETE_BATCH    1000u

/* ---- running pieces in parallel ---------------------------------------- */

/* Shared state of one parallel run.  Every field after `lock` is guarded by
 * it; `lock` is never held across a request. */
struct par {
	pthread_mutex_t lock;
	uint64_t n_pieces;	 /* how many pieces in all */
	uint64_t next;		 /* next unclaimed piece (lock) */
	int rc;			 /* first failure, 0 while none (lock) */
	struct remote_error err; /* its message (lock) */
	/* Do piece i; 0 or -errno with e filled.  `scratch` is the worker's. */
	int (*piece)(struct par *p, uint64_t i, void *scratch,
		     struct remote_error *e);
	size_t scratch_size; /* bytes of per-worker scratch (0: none) */
	void *ctx;	     /* the caller's, borrowed */
};

/* Claim the next piece; 0 when none is left or a piece failed. */
static int par_claim(struct par *p, uint64_t *i)
{
	int ok = 0;

	pthread_mutex_lock(&p->lock);
	if (!p->rc && p->next < p->n_pieces) {
		*i = p->next++;
		ok = 1;
	}
	pthread_mutex_unlock(&p->lock);
	return ok;
}

/* Record a failure; only the first is kept. */
static void par_fail(struct par *p, int rc, const struct remote_error *e)
{
	pthread_mutex_lock(&p->lock);
	if (!p->rc) {
		p->rc = rc;
		memcpy(&p->err, e, sizeof(p->err));
	}
	pthread_mutex_unlock(&p->lock);
}

static void *par_worker(void *arg)
{
	struct par *p = arg;
	void *scratch = NULL;
	struct remote_error e;
	uint64_t i = 0;
	int rc = 0;

	if (p->scratch_size) {
		scratch = malloc(p->scratch_size);
		if (!scratch) {
			memset(&e, 0, sizeof(e));
			rc = remote_error_set(
				&e, -ENOMEM,
				"out of memory for a transfer buffer");
			par_fail(p, rc, &e);
			return NULL;
		}
	}
	while (par_claim(p, &i)) {
		memset(&e, 0, sizeof(e));
		rc = p->piece(p, i, scratch, &e);
		if (rc) {
			if (!e.msg[0])
				remote_error_set(&e, rc, "transfer failed: %s",
						 strerror(-rc));
			par_fail(p, rc, &e);
			break;
		}
	}
	free(scratch);
	return NULL;
}

/* Run p->piece over all pieces on up to `threads` threads (the caller's
 * thread is one of them).  Returns the first failure, its message in err.
 * A thread that cannot be started just means fewer threads. */
static int par_run(struct par *p, unsigned threads, struct remote_error *err)
{
	pthread_t *tids = NULL;
	unsigned started = 0, want, k;
	int rc = 0;

	want = threads ? threads : 1;
	if ((uint64_t)want > p->n_pieces)
		want = p->n_pieces ? (unsigned)p->n_pieces : 1;
	if (want > 1) {
		tids = calloc(want - 1, sizeof(*tids));
		for (k = 0; tids && k < want - 1; k++) {
			if (pthread_create(&tids[k], NULL, par_worker, p))
				break;
			started++;
		}
	}
	par_worker(p);
	for (k = 0; k < started; k++)
		pthread_join(tids[k], NULL);
	free(tids);

	rc = p->rc;
	if (rc && err && !err->msg[0])
		memcpy(err, &p->err, sizeof(*err));
	return rc;
}

static int par_init(struct par *p, uint64_t n_pieces, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->n_pieces = n_pieces;
	p->ctx = ctx;
	return -pthread_mutex_init(&p->lock, NULL);
}

/* How many pieces of piece bytes make size bytes, and how long piece i is
 * (the last one may be short). */
static uint64_t n_pieces(uint64_t size, uint64_t piece)
{
	return (size + piece - 1) / piece;
}

static uint64_t piece_len(uint64_t size, uint64_t piece, uint64_t i)
{
	uint64_t off = i * piece;

	return size - off < piece ? size - off : piece;
}

/* The threads opts asks for, or the default. */
static unsigned xfer_threads(const struct remote_xfer_opts *opts)
{
	return opts && opts->threads ? opts->threads : XFER_DEFAULT_THREADS;
}

/* ---- multipart uploads ----------------------------------------------- */

/* What the pieces of one multipart upload share.  First member of the
 * upload's context (put_ctx, copy_ctx), which is what par.ctx points at. */
struct mpu {
	struct remote *r;
	const char *key;       /* the object being written */
	const char *upload_id; /* set by mpu_run() for the pieces */
	struct remote_part
		*parts; /* one per piece; each written by one thread */
};

/*
 * A multipart upload to m->key in n pieces: create it with put's content
 * type and metadata, run piece over the pieces on up to threads threads
 * (p->ctx is m, the first member of the caller's context), then complete
 * it (its ETag into etag_out, may be NULL).  Any failure after the create
 * aborts the upload (best effort) and returns the first reason with its
 * message; "cannot start WHAT" when the run cannot be set up.  m->parts
 * and m->upload_id live only during the call.
 */
static int mpu_run(struct mpu *m, uint64_t n, const struct remote_put_opts *put,
		   int (*piece)(struct par *p, uint64_t i, void *scratch,
				struct remote_error *e),
		   unsigned threads, const char *what, char *etag_out,
		   struct remote_error *err)
{
	struct par p;
	char *upload_id = NULL;
	int have_par = 0;
	int rc = 0;

	m->parts = calloc(n, sizeof(*m->parts));
	if (!m->parts) {
		rc = remote_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = remote_mpu_create(m->r, m->key, put, &upload_id, err);
	if (rc)
		goto out;
	m->upload_id = upload_id;
	rc = par_init(&p, n, m);
	if (rc) {
		remote_error_set(err, rc, "cannot start %s: %s", what,
				 strerror(-rc));
		goto abort;
	}
	have_par = 1;
	p.piece = piece;
	rc = par_run(&p, threads, err);
	if (rc)
		goto abort;
	rc = remote_mpu_complete(m->r, m->key, upload_id, m->parts, n, etag_out,
				 err);
	if (rc)
		goto abort;
	goto out;
abort:
	/* The caller wants the first reason, so the abort's own message is
	 * dropped. */
	remote_mpu_abort(m->r, m->key, upload_id, NULL);
out:
	if (have_par)
		pthread_mutex_destroy(&p.lock);
	free(m->parts);
	m->parts = NULL;
	m->upload_id = NULL;
	free(upload_id);
	return rc;
}

/* ---- upload ------------------------------------------------------------ */

struct put_ctx {
	struct mpu m; /* first: par.ctx */
	int fd;
	uint64_t size;
	uint64_t part_size;
	const struct remote_xfer_opts *opts;
};

static int put_piece(struct par *p, uint64_t i, void *scratch,
		     struct remote_error *e)
{
	struct put_ctx *c = p->ctx;
	struct remote_body body = { .buf = NULL, .fd = c->fd };
	int rc;

	(void)scratch;
	body.off = i * c->part_size;
	body.len = piece_len(c->size, c->part_size, i);
	c->m.parts[i].number = (int)(i + 1);
	rc = remote_mpu_put_part(c->m.r, c->m.key, c->m.upload_id, (int)(i + 1),
				 &body, c->m.parts[i].etag, e);
	if (!rc && c->opts && c->opts->progress)
		c->opts->progress(c->opts->progress_ctx, body.len);
	return rc;
}

/* The multipart part size for size bytes: at least the asked size, at least
 * S3's minimum, and large enough to stay within S3's part count. */
static uint64_t upload_part_size(uint64_t size, uint64_t asked)
{
	uint64_t ps = asked ? asked : XFER_DEFAULT_PART;
	uint64_t need = (size + REMOTE_PARTS_MAX - 1) / REMOTE_PARTS_MAX;

	if (ps < REMOTE_PART_MIN)
		ps = REMOTE_PART_MIN;
	if (ps < need)
		ps = need;
	return ps;
}

/*
 * Single PUT below the single limit, else a multipart upload with parts on
 * several threads.  On any failure the upload is aborted (best effort) and
 * the first failure is returned with its message.  fd is borrowed.
 */
int remote_put_file(struct remote *r, const char *key, int fd, uint64_t size,
		    const struct remote_put_opts *put,
		    const struct remote_xfer_opts *opts, char *etag_out,
		    struct remote_error *err)
{
	struct remote_body body = {
		.buf = NULL, .fd = fd, .off = 0, .len = size
	};
	struct put_ctx c;
	uint64_t single = XFER_DEFAULT_SINGLE;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	if (opts && opts->single_limit)
		single = opts->single_limit;
	if (single > REMOTE_PUT_MAX)
		single = REMOTE_PUT_MAX;
	if (size < single || size == 0) {
		rc = remote_put(r, key, &body, put, etag_out, err);
		if (!rc && opts && opts->progress)
			opts->progress(opts->progress_ctx, size);
		return rc;
	}

	c.m.r = r;
	c.m.key = key;
	c.fd = fd;
	c.size = size;
	c.opts = opts;
	c.part_size = upload_part_size(size, opts ? opts->part_size : 0);
	return mpu_run(&c.m, n_pieces(size, c.part_size), put, put_piece,
		       xfer_threads(opts), "an upload", etag_out, err);
}

/* ---- download ---------------------------------------------------------- */

struct get_ctx {
	struct remote *r;
	const char *key;
	const char *etag; /* NULL: not pinned */
	int fd;
	uint64_t size;
	uint64_t part_size;
	const struct remote_xfer_opts *opts;
	/* Hashing while downloading (remote_get_file_sha256): the worker that
	 * completes the next piece in order feeds every contiguous finished
	 * piece to `hash`, one worker at a time; the others go on fetching. */
	struct digest_sha256 *hash; /* NULL: no hashing */
	pthread_mutex_t hlock;	    /* guards done, hnext, hashing, hfail */
	bool *done;		    /* piece written to fd */
	uint64_t n_pieces;
	uint64_t hnext; /* pieces [0, hnext) are hashed */
	bool hashing;	/* a worker is feeding the hash */
	bool hfail;	/* reading back failed: hash from fd */
};

/* pread exactly len bytes at off; -errno, or -EIO at end of file. */
static int pread_all(int fd, char *buf, size_t len, uint64_t off)
{
	ssize_t n;

	while (len) {
		n = pread(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Piece i is written (its bytes still in scratch): hash every finished
 * piece from c->hnext on, in order, unless another worker is at it.  A
 * piece other than i is read back from fd into scratch (it is in the page
 * cache); after that scratch no longer holds i, which is read back too. */
static void hash_advance(struct get_ctx *c, uint64_t i, char *scratch)
{
	bool have_i = true;

	pthread_mutex_lock(&c->hlock);
	c->done[i] = true;
	if (c->hashing || c->hfail) {
		pthread_mutex_unlock(&c->hlock);
		return;
	}
	c->hashing = true;
	while (c->hnext < c->n_pieces && c->done[c->hnext] && !c->hfail) {
		uint64_t k = c->hnext;
		size_t len = (size_t)piece_len(c->size, c->part_size, k);
		int rc = 0;

		pthread_mutex_unlock(&c->hlock);
		if (k != i || !have_i) {
			have_i = false;
			rc = pread_all(c->fd, scratch, len, k * c->part_size);
		}
		if (rc == 0)
			digest_sha256_update(c->hash, scratch, len);
		pthread_mutex_lock(&c->hlock);
		if (rc)
			c->hfail = true;
		else
			c->hnext++;
	}
	c->hashing = false;
	pthread_mutex_unlock(&c->hlock);
}

/* Write all of buf at off; -errno on failure. */
static int pwrite_all(int fd, const char *buf, size_t len, uint64_t off)
{
	ssize_t n;

	while (len) {
		n = pwrite(fd, buf, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int get_piece(struct par *p, uint64_t i, void *scratch,
		     struct remote_error *e)
{
	struct get_ctx *c = p->ctx;
	uint64_t off = i * c->part_size;
	size_t len = (size_t)piece_len(c->size, c->part_size, i), got = 0;
	int rc;

	rc = remote_get(c->r, c->key, off, len, scratch, &got, c->etag, e);
	if (rc)
		return rc;
	if (got != len)
		return remote_error_set(e, -EIO,
					"'%s' is shorter than expected "
					"(changed while reading?)",
					c->key);
	rc = pwrite_all(c->fd, scratch, len, off);
	if (rc)
		return remote_error_set(e, rc,
					"cannot write the download of '%s': %s",
					c->key, strerror(-rc));
	if (c->hash)
		hash_advance(c, i, scratch);
	if (c->opts && c->opts->progress)
		c->opts->progress(c->opts->progress_ctx, len);
	return 0;
}

/*
 * Ranged GETs of part_size bytes each, on several threads, each pinned to
 * st->etag (a changed object fails with -ESTALE), written with pwrite.  A
 * short object is -EIO.  fd and st are borrowed.  With hex non-NULL the
 * SHA-256 of the object is computed on the way.
 */
static int get_file(struct remote *r, const char *key,
		    const struct remote_stat *st, int fd,
		    const struct remote_xfer_opts *opts,
		    char hex[DIGEST_SHA256_HEX], struct remote_error *err)
{
	struct get_ctx c;
	struct par p;
	int have_par = 0, have_hlock = 0;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.key = key;
	c.etag = st->etag[0] ? st->etag : NULL;
	c.fd = fd;
	c.size = st->size;
	c.opts = opts;
	c.part_size =
		opts && opts->part_size ? opts->part_size : XFER_DEFAULT_PART;
	if (c.part_size > (uint64_t)SIZE_MAX / 2)
		c.part_size = (uint64_t)SIZE_MAX / 2;
	c.n_pieces = n_pieces(c.size, c.part_size);
	if (hex) {
		c.hash = digest_sha256_new();
		c.done = calloc(c.n_pieces ? c.n_pieces : 1, sizeof(*c.done));
		if (!c.hash || !c.done) {
			rc = remote_error_set(err, -ENOMEM,
					      "out of memory for a download");
			goto out;
		}
		pthread_mutex_init(&c.hlock, NULL);
		have_hlock = 1;
	}
	if (c.size == 0)
		goto out;

	rc = par_init(&p, c.n_pieces, &c);
	if (rc) {
		remote_error_set(err, rc, "cannot start a download: %s",
				 strerror(-rc));
		goto out;
	}
	have_par = 1;
	p.piece = get_piece;
	p.scratch_size = (size_t)(c.size < c.part_size ? c.size : c.part_size);
	rc = par_run(&p, xfer_threads(opts), err);
out:
	if (rc == 0 && hex) {
		if (c.hnext == c.n_pieces) {
			digest_sha256_final(c.hash, hex);
			c.hash = NULL;
		} else {
			rc = digest_sha256_fd(fd, c.size, hex);
			if (rc)
				remote_error_set(err, rc,
						 "cannot read back the "
						 "download of '%s': %s",
						 key, strerror(-rc));
		}
	}
	if (have_par)
		pthread_mutex_destroy(&p.lock);
	if (have_hlock)
		pthread_mutex_destroy(&c.hlock);
	digest_sha256_free(c.hash);
	free(c.done);
	return rc;
}

int remote_get_file(struct remote *r, const char *key,
		    const struct remote_stat *st, int fd,
		    const struct remote_xfer_opts *opts,
		    struct remote_error *err)
{
	return get_file(r, key, st, fd, opts, NULL, err);
}

int remote_get_file_sha256(struct remote *r, const char *key,
			   const struct remote_stat *st, int fd,
			   const struct remote_xfer_opts *opts,
			   char hex[DIGEST_SHA256_HEX],
			   struct remote_error *err)
{
	return get_file(r, key, st, fd, opts, hex, err);
}

/* ---- copy -------------------------------------------------------------- */

struct copy_ctx {
	struct mpu m; /* first: par.ctx; m.key is the destination */
	const char *src;
	uint64_t size;
};

static int copy_piece(struct par *p, uint64_t i, void *scratch,
		      struct remote_error *e)
{
	struct copy_ctx *c = p->ctx;
	uint64_t off = i * XFER_COPY_PART;
	uint64_t len = piece_len(c->size, XFER_COPY_PART, i);

	(void)scratch;
	c->m.parts[i].number = (int)(i + 1);
	return remote_mpu_copy_part(c->m.r, c->m.key, c->m.upload_id,
				    (int)(i + 1), c->src, off, len,
				    c->m.parts[i].etag, e);
}

/*
 * remote_copy() up to REMOTE_PUT_MAX; beyond it a multipart upload of
 * 1 GiB part-copies.  With replace NULL the source's metadata and content
 * type are read (HEAD) and given to the new object, as remote_copy() does.
 * A failed part-copy aborts the upload.
 */
int remote_copy_object(struct remote *r, const char *src, const char *dst,
		       uint64_t size, const struct remote_put_opts *replace,
		       struct remote_error *err)
{
	struct remote_stat st;
	struct remote_put_opts po;
	struct copy_ctx c;
	int rc = 0;

	memset(&st, 0, sizeof(st));
	memset(&c, 0, sizeof(c));
	if (size <= REMOTE_PUT_MAX) {
		rc = remote_copy(r, src, dst, replace, err);
		goto out;
	}
	if (!replace) {
		rc = remote_head(r, src, &st, err);
		if (rc)
			goto out;
		memset(&po, 0, sizeof(po));
		po.content_type = st.content_type[0] ? st.content_type : NULL;
		po.meta = &st.meta;
		replace = &po;
	}
	c.m.r = r;
	c.m.key = dst;
	c.src = src;
	c.size = size;
	rc = mpu_run(&c.m, n_pieces(size, XFER_COPY_PART), replace, copy_piece,
		     XFER_COPY_THREADS, "a copy", NULL, err);
out:
	remote_stat_clear(&st);
	return rc;
}

/* ---- delete a prefix --------------------------------------------------- */

struct list_all {
	struct remote_list *out;
	size_t cap;
};

/* remote_list_pages callback: move a page's entries into the result. */
static int take_page(struct remote_list *p, void *ctx)
{
	struct list_all *a = ctx;
	struct remote_list *out = a->out;

	if (out->n_entries + p->n_entries > a->cap) {
		size_t ncap = 2 * (out->n_entries + p->n_entries);
		struct remote_list_entry *v =
			realloc(out->entries, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		out->entries = v;
		a->cap = ncap;
	}
	/* Move the entries: their keys change owner. */
	if (p->n_entries)
		memcpy(out->entries + out->n_entries, p->entries,
		       p->n_entries * sizeof(*p->entries));
	out->n_entries += p->n_entries;
	out->n_skipped += p->n_skipped;
	p->n_entries = 0;
	return 0;
}

int remote_list_all(struct remote *r, const char *prefix,
		    struct remote_list *out, struct remote_error *err)
{
	struct remote_list_opts lo = { .prefix = prefix };
	struct list_all a = { .out = out };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = remote_list_pages(r, &lo, take_page, &a, err);
	if (rc)
		remote_list_clear(out);
	return rc;
}

/*
 * List flat pages under prefix and delete each page's keys in one batch.
 * The next page starts after the last key seen (not from a continuation
 * token, which a delete may invalidate).  An empty prefix is refused
 * (-EINVAL): it would mean the whole store.
 */
int remote_delete_prefix(struct remote *r, const char *prefix, size_t *deleted,
			 struct remote_error *err)
{
	struct remote_list_opts lo;
	struct remote_list l;
	const char **keys = NULL;
	char *after = NULL;
	size_t total = 0, i;
	int rc = 0;

	memset(&l, 0, sizeof(l));
	if (deleted)
		*deleted = 0;
	if (!prefix || !prefix[0])
		return remote_error_set(
			err, -EINVAL,
			"refusing to delete with an empty prefix");
	keys = calloc(XFER_DELETE_BATCH, sizeof(*keys));
	if (!keys) {
		rc = remote_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		memset(&lo, 0, sizeof(lo));
		lo.prefix = prefix;
		lo.start_after = after;
		lo.max_keys = XFER_DELETE_BATCH;
		rc = remote_list(r, &lo, &l, err);
		if (rc)
			goto out;
		if (l.n_entries == 0)
			break;
		for (i = 0; i < l.n_entries && i < XFER_DELETE_BATCH; i++)
			keys[i] = l.entries[i].key;
		rc = remote_delete_many(r, keys, i, err);
		if (rc)
			goto out;
		total += i;
		free(after);
		after = strdup(l.entries[i - 1].key);
		if (!after) {
			rc = remote_error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		if (!l.next_token)
			break;
		remote_list_clear(&l);
	}
out:
	remote_list_clear(&l);
	free(after);
	free(keys);
	if (deleted)
		*deleted = total;
	return rc;
}

/* ---- the pool ---------------------------------------------------------- */

struct pool_job {
	void (*fn)(void *arg);
	void *arg;
	struct pool_job *next;
};

/* Lock order: only `lock`; jobs run without it. */
struct remote_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;   /* a job was queued, or stop (lock) */
	pthread_cond_t idle;   /* pending fell to 0 (lock) */
	struct pool_job *head; /* queue (lock) */
	struct pool_job *tail; /* (lock) */
	size_t pending;	       /* queued plus running (lock) */
	int stop;	       /* workers exit when the queue is empty (lock) */
	unsigned n;	       /* workers started; immutable after new */
	pthread_t *threads;
};

static void *pool_worker(void *arg)
{
	struct remote_pool *p = arg;
	struct pool_job *j;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->work, &p->lock);
		if (!p->head)
			break;
		j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&p->lock);
		if (--p->pending == 0)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* n workers; if fewer threads can be started the pool works with those,
 * and with none it fails (NULL).  Free with remote_pool_free(). */
struct remote_pool *remote_pool_new(unsigned n)
{
	struct remote_pool *p = NULL;
	unsigned k;

	if (n == 0)
		n = 1;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->threads = calloc(n, sizeof(*p->threads));
	if (!p->threads)
		goto fail;
	if (pthread_mutex_init(&p->lock, NULL))
		goto fail;
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, NULL);
	for (k = 0; k < n; k++) {
		if (pthread_create(&p->threads[k], NULL, pool_worker, p))
			break;
		p->n++;
	}
	if (p->n == 0) {
		pthread_cond_destroy(&p->work);
		pthread_cond_destroy(&p->idle);
		pthread_mutex_destroy(&p->lock);
		goto fail;
	}
	return p;
fail:
	free(p->threads);
	free(p);
	return NULL;
}

/* Queue fn(arg); -ENOMEM when the job cannot be allocated (fn not run). */
int remote_pool_submit(struct remote_pool *p, void (*fn)(void *arg), void *arg)
{
	struct pool_job *j = malloc(sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->pending++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void remote_pool_wait(struct remote_pool *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->pending)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void remote_pool_free(struct remote_pool *p)
{
	unsigned k;

	if (!p)
		return;
	remote_pool_wait(p);
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (k = 0; k < p->n; k++)
		pthread_join(p->threads[k], NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->idle);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}
