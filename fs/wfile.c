/*
 * wfile.c - write staging: a file open for writing keeps its content in an
 * unlinked local file from the cache, and flush (close) or fsync store it.
 *
 * Reaching the remote.  flush uploads the staged bytes with their metadata
 * (mode, owner, mtime, SHA-256, expiry) and returns only once the object is
 * stored, so `cp` exiting 0 means the artifact is safe; a failure is the
 * errno close() returns.  Files opened without O_TRUNC load the object's
 * old bytes on the first write or truncate, not at open.
 *
 * Streaming.  A file written sequentially from empty is uploaded while it
 * is written: each time a full part (fs->part_size) is staged, that part
 * goes out on the pool as a multipart upload part, so close() waits only
 * for the tail.  The SHA-256 is computed on the fly.  Any write behind the
 * streamed offset, or a truncate, ends streaming; flush then aborts the
 * multipart upload and stores the whole file the ordinary way.  Since a
 * multipart upload fixes its metadata when it starts, a streamed object gets
 * its final metadata (SHA-256, mtime) by a server-side copy onto itself,
 * queued when close() returns (the data is stored by then).  The copy keeps
 * the flush's guard on the key until it is done, so the next change to
 * that object on this mount waits for it, and so does unmount.
 *
 * Locking: every upload, and the load of an object's old bytes, runs under
 * a guard on the file's key (guard.c), taken before wf->lock.  wf->lock
 * guards the wfile and is held across this file's own network I/O (other
 * files are not blocked); fs->lock is taken inside it, briefly, to read or
 * update the inode.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

struct part_job {
	struct fs *fs;
	struct wfile *wf;
	char *key;
	char *upload_id;
	int number;
	uint64_t off, len;
};

static void stream_reset(struct wfile *wf)
{
	wf->stream_ok = 0;
	digest_sha256_free(wf->hash);
	wf->hash = NULL;
	wf->hashed = 0;
}

/* With wf->lock held: wait until no part upload is in flight. */
static void wait_parts(struct wfile *wf)
{
	while (wf->parts_pending > 0)
		pthread_cond_wait(&wf->parts_done, &wf->lock);
}

/* Called with wf->lock held: wait for part uploads, then abort the stream's
 * multipart upload if one is open. */
static void stream_abort(struct fs *fs, struct wfile *wf)
{
	wait_parts(wf);
	if (wf->upload_id) {
		struct remote_error err = { { 0 } };

		if (remote_mpu_abort(fs->remote, wf->stream_key, wf->upload_id,
				     &err))
			fs_log(fs, "cannot abort the upload of %s: %s",
			       wf->stream_key, err.msg);
		free(wf->upload_id);
		wf->upload_id = NULL;
	}
	free(wf->stream_key);
	wf->stream_key = NULL;
	wf->nparts = 0;
	wf->stream_off = 0;
	wf->stream_ok = 0;
}

static char *inode_key(struct fs *fs, struct inode *in)
{
	char *key;

	pthread_mutex_lock(&fs->lock);
	key = strdup(in->key);
	pthread_mutex_unlock(&fs->lock);
	return key;
}

/* Load the object's current bytes at key into staging (the caller holds a
 * guard on key, and wf->lock). */
static int load_locked(struct fs *fs, struct wfile *wf, const char *key)
{
	struct remote_stat st = { 0 };
	struct remote_error err = { { 0 } };
	int rc = 0;

	if (wf->loaded)
		return 0;
	rc = remote_head(fs->remote, key, &st, &err);
	if (rc == -ENOENT) {
		rc = 0; /* gone meanwhile: start empty */
		st.size = 0;
	} else if (rc) {
		fs_log(fs, "cannot load %s for writing: %s", key, err.msg);
		goto out;
	} else {
		rc = remote_get_file(fs->remote, key, &st, wf->fd, NULL, &err);
		if (rc) {
			fs_log(fs, "cannot load %s for writing: %s", key,
			       err.msg);
			goto out;
		}
	}
	if (ftruncate(wf->fd, (off_t)st.size) < 0) {
		rc = -errno;
		goto out;
	}
	cache_stage_account(fs->cache, (int64_t)st.size);
	wf->size = st.size;
	wf->loaded = 1;
	stream_reset(wf);
out:
	remote_stat_clear(&st);
	return rc;
}

/* Return with wf->lock held and the object's old bytes staged (or a
 * -errno, wf->lock still held).  The first call of a file takes a guard on
 * its key for the load, before wf->lock (the lock order), so that no
 * rename or upload changes the object while it is read. */
static int lock_loaded(struct fs *fs, struct inode *in, struct wfile *wf)
{
	struct fs_guard g;
	char *key = NULL;
	int rc;

	pthread_mutex_lock(&wf->lock);
	if (wf->loaded)
		return 0;
	pthread_mutex_unlock(&wf->lock);
	rc = fs_guard_inode(fs, &g, in, 0, &key);
	pthread_mutex_lock(&wf->lock);
	if (rc == 0) {
		rc = load_locked(fs, wf, key);
	} else if (rc == -ENOENT && !wf->loaded) {
		/* Removed or replaced meanwhile: its old bytes are gone, and
		 * what is written now is never stored (as on a local disk,
		 * where it goes to the unlinked file). */
		wf->loaded = 1;
		stream_reset(wf);
		rc = 0;
	}
	pthread_mutex_unlock(&wf->lock);
	fs_guard_done(fs, &g);
	free(key);
	pthread_mutex_lock(&wf->lock); /* loaded never goes back to 0 */
	return rc;
}

/* With wf->lock held and cache_dir full: once the part uploads in flight
 * are done, give the bytes of every uploaded part back to the disk
 * (punch a hole), so a sequential write larger than cache_dir's free
 * space goes on.  From then on the stream is the only way to store the
 * file (a failed part fails the file) and reads of those bytes through
 * this staging fail with EIO.  The bytes given back, or 0. */
static uint64_t give_back_parts(struct fs *fs, struct wfile *wf)
{
	uint64_t from = wf->punched, to;

	wait_parts(wf);
	if (!wf->stream_ok || !wf->upload_id)
		return 0;
	to = wf->stream_off;
	if (to <= from ||
	    fallocate(wf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)from, (off_t)(to - from)) != 0)
		return 0;
	wf->punched = to;
	cache_stage_account(fs->cache, -(int64_t)(to - from));
	return to - from;
}

/* With wf->lock held: the staging lost bytes (err, a -errno of cache_dir).
 * The file is failed: it is never stored until started over from empty,
 * so the stored version stays intact. */
static void staging_failed(struct fs *fs, struct inode *in, struct wfile *wf,
			   int err, const char *what)
{
	if (!wf->failed)
		wf->failed = err;
	wf->stream_ok = 0;
	pthread_mutex_lock(&fs->lock);
	fs_log(fs,
	       "%s of %s failed in cache_dir: %s; it will not be stored, "
	       "the stored version stays",
	       what, in->key, strerror(-err));
	pthread_mutex_unlock(&fs->lock);
}

/* Free a wfile no one else can reach (its lock is not held). */
static void wfile_free(struct wfile *wf)
{
	close(wf->fd);
	digest_sha256_free(wf->hash);
	free(wf->parts);
	free(wf->upload_id);
	free(wf->stream_key);
	free(wf->claim_etag);
	pthread_mutex_destroy(&wf->lock);
	pthread_cond_destroy(&wf->parts_done);
	free(wf);
}

int fs_wfile_acquire(struct fs *fs, struct inode *in, enum fs_wf_start start,
		     struct wfile **out)
{
	int truncate = start != FS_WF_LOAD;
	struct wfile *wf = NULL;
	int fd;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&fs->lock);
	wf = fs_wfile_ref(in);
	pthread_mutex_unlock(&fs->lock);
	if (wf) {
		if (truncate)
			rc = fs_wfile_truncate(fs, in, wf, 0);
		if (rc) {
			fs_wfile_release(fs, in, wf);
			return rc;
		}
		*out = wf;
		return 0;
	}

	fd = cache_stage_open(fs->cache);
	if (fd < 0)
		return fd;
	wf = calloc(1, sizeof(*wf));
	if (!wf) {
		close(fd);
		return -ENOMEM;
	}
	pthread_mutex_init(&wf->lock, NULL);
	pthread_cond_init(&wf->parts_done, NULL);
	wf->fd = fd;
	wf->refs = 1;
	if (truncate) {
		wf->loaded = 1;
		wf->dirty = start == FS_WF_NEW;
		wf->stream_ok = 1;
		wf->hash = digest_sha256_new();
	}

	pthread_mutex_lock(&fs->lock);
	if (in->wf) {
		/* Another open won the race: share its staging. */
		struct wfile *other = in->wf;

		other->refs++;
		pthread_mutex_unlock(&fs->lock);
		wfile_free(wf);
		wf = other;
		if (truncate) {
			rc = fs_wfile_truncate(fs, in, wf, 0);
			if (rc) {
				fs_wfile_release(fs, in, wf);
				return rc;
			}
		}
	} else {
		in->wf = wf;
		if (start == FS_WF_STORED_EMPTY && in->etag[0])
			wf->claim_etag = strdup(in->etag); /* NULL: keep it */
		if (start == FS_WF_NEW) {
			/* New, empty content (O_TRUNC, or a create). */
			in->attr.st_size = 0;
			clock_gettime(CLOCK_REALTIME, &in->attr.st_mtim);
			in->attr.st_ctim = in->attr.st_mtim;
		}
		pthread_mutex_unlock(&fs->lock);
	}
	*out = wf;
	return 0;
}

struct wfile *fs_wfile_ref(struct inode *in)
{
	if (in->wf)
		in->wf->refs++;
	return in->wf;
}

/* A file created with an O_EXCL claim failed and was never stored: remove
 * the claim, under a guard on its key, if the object is still our claim
 * (its ETag), so a failed new file leaves nothing behind.  No lock held. */
static void drop_claim(struct fs *fs, struct inode *in, const char *etag)
{
	struct remote_error err = { { 0 } };
	struct remote_stat st = { 0 };
	struct fs_guard g;
	char *key = NULL;
	int rc;

	/* (an inode removed or replaced meanwhile gives -ENOENT: its key
	 * names another object, which is left alone) */
	rc = fs_guard_inode(fs, &g, in, 0, &key);
	if (rc == 0) {
		rc = remote_head(fs->remote, key, &st, &err);
		if (rc == 0 && strcmp(st.etag, etag) == 0)
			rc = remote_delete(fs->remote, key, &err);
		if (rc && rc != -ENOENT)
			fs_log(fs,
			       "cannot remove the claim on %s of a failed "
			       "new file: %s",
			       key, err.msg);
	}
	remote_stat_clear(&st);
	fs_guard_done(fs, &g);
	free(key);
}

void fs_wfile_release(struct fs *fs, struct inode *in, struct wfile *wf)
{
	char *claim = NULL;

	/* The last reference stores what was changed since the last flush
	 * (writes of a shared mmap arriving after close(), a chmod or an
	 * expiry set while the file was open) before it drops the staging.
	 * Deciding under both locks means no one can take a reference and
	 * dirty the file in between. */
	for (;;) {
		int must_flush;

		pthread_mutex_lock(&wf->lock);
		pthread_mutex_lock(&fs->lock);
		if (wf->refs > 1) {
			wf->refs--;
			pthread_mutex_unlock(&fs->lock);
			pthread_mutex_unlock(&wf->lock);
			return;
		}
		must_flush = wf->dirty && !wf->flush_failed && !wf->failed &&
			     !in->unlinked;
		if (!must_flush) {
			wf->refs = 0;
			in->wf = NULL;
			if (wf->claim_etag && !in->unlinked &&
			    (wf->failed || wf->flush_failed)) {
				claim = wf->claim_etag;
				wf->claim_etag = NULL;
			}
			pthread_mutex_unlock(&fs->lock);
			break; /* still holding wf->lock */
		}
		pthread_mutex_unlock(&fs->lock);
		pthread_mutex_unlock(&wf->lock);
		if (fs_wfile_flush(fs, in, wf) != 0)
			fs_log(fs, "changes to a closed file were not stored");
	}
	stream_abort(fs, wf);
	pthread_mutex_unlock(&wf->lock);
	if (wf->loaded) /* what was given back is not counted any more */
		cache_stage_account(fs->cache,
				    -(int64_t)(wf->size - wf->punched));
	wfile_free(wf);
	if (claim) {
		drop_claim(fs, in, claim);
		free(claim);
	}
}

/* Pool job: upload one streamed part from the staging file. */
static void part_upload(void *arg)
{
	struct part_job *job = arg;
	struct wfile *wf = job->wf;
	struct remote_body body = { .fd = wf->fd,
				    .off = job->off,
				    .len = job->len };
	struct remote_error err = { { 0 } };
	char etag[REMOTE_ETAG_MAX] = "";
	int rc;

	rc = remote_mpu_put_part(job->fs->remote, job->key, job->upload_id,
				 job->number, &body, etag, &err);
	if (rc)
		fs_log(job->fs, "part %d of %s failed: %s", job->number,
		       job->key, err.msg);
	pthread_mutex_lock(&wf->lock);
	if (rc) {
		wf->stream_ok = 0; /* flush falls back to a whole upload */
	} else {
		wf->parts[job->number - 1].number = job->number;
		memcpy(wf->parts[job->number - 1].etag, etag, sizeof(etag));
	}
	wf->parts_pending--;
	pthread_cond_broadcast(&wf->parts_done);
	pthread_mutex_unlock(&wf->lock);
	free(job->key);
	free(job->upload_id);
	free(job);
}

/* With wf->lock held: send every full part staged beyond stream_off. */
static void stream_parts(struct fs *fs, struct inode *in, struct wfile *wf)
{
	struct remote_meta meta = { 0 };
	struct remote_put_opts put = { .meta = &meta };
	struct remote_error err = { { 0 } };
	char *key = NULL;
	int rc;

	if (!wf->stream_ok || wf->size - wf->stream_off < fs->part_size)
		return;
	if (!wf->upload_id) {
		/* Parts change no object until the upload completes, under
		 * the flush's guard: no guard needed to send them. */
		key = inode_key(fs, in);
		if (!key)
			goto fail;
		rc = fs_meta_build(fs, in, NULL, NULL, &meta);
		/* No digest until it is known (the metadata copy at close):
		 * none is better than the previous version's. */
		remote_meta_remove(&meta, "sha256");
		if (rc == 0)
			rc = remote_mpu_create(fs->remote, key, &put,
					       &wf->upload_id, &err);
		if (rc) {
			fs_log(fs, "cannot start upload of %s: %s", key,
			       err.msg);
			goto fail;
		}
		wf->stream_key = key;
		key = NULL;
	}
	while (wf->size - wf->stream_off >= fs->part_size) {
		struct part_job *job;

		if (wf->nparts == REMOTE_PARTS_MAX - 1)
			goto fail; /* the tail needs a part of its own */
		if (wf->nparts == wf->parts_cap) {
			int cap = wf->parts_cap ? 2 * wf->parts_cap : 64;
			struct remote_part *p =
				realloc(wf->parts, (size_t)cap * sizeof(*p));

			if (!p)
				goto fail;
			wf->parts = p;
			wf->parts_cap = cap;
		}
		job = calloc(1, sizeof(*job));
		if (!job)
			goto fail;
		job->fs = fs;
		job->wf = wf;
		job->key = strdup(wf->stream_key);
		job->upload_id = strdup(wf->upload_id);
		job->number = ++wf->nparts;
		job->off = wf->stream_off;
		job->len = fs->part_size;
		memset(&wf->parts[job->number - 1], 0, sizeof(wf->parts[0]));
		if (!job->key || !job->upload_id ||
		    remote_pool_submit(fs->pool, part_upload, job)) {
			wf->nparts--;
			free(job->key);
			free(job->upload_id);
			free(job);
			goto fail;
		}
		wf->parts_pending++;
		wf->stream_off += fs->part_size;
	}
	goto out;
fail:
	wf->stream_ok = 0;
out:
	remote_meta_clear(&meta);
	free(key);
}

ssize_t fs_wfile_write(struct fs *fs, struct inode *in, struct wfile *wf,
		       const char *buf, size_t len, off_t off)
{
	uint64_t end = (uint64_t)off + len;
	ssize_t n;
	int rc;

	rc = lock_loaded(fs, in, wf);
	if (rc) {
		n = rc;
		goto out;
	}
	if ((uint64_t)off != wf->size || (uint64_t)off != wf->hashed) {
		/* Not an append to a file written from empty. */
		wf->stream_ok = 0;
		digest_sha256_free(wf->hash);
		wf->hash = NULL;
	}
	n = pwrite(wf->fd, buf, len, off);
	if (n < 0 && errno == ENOSPC && give_back_parts(fs, wf) > 0)
		n = pwrite(wf->fd, buf, len, off); /* with the room made */
	if (n < 0) {
		n = -errno;
		staging_failed(fs, in, wf, (int)n, "write");
		goto out;
	}
	end = (uint64_t)off + (uint64_t)n;
	if (wf->hash) {
		digest_sha256_update(wf->hash, buf, (size_t)n);
		wf->hashed += (uint64_t)n;
	}
	if (end > wf->size) {
		cache_stage_account(fs->cache, (int64_t)(end - wf->size));
		wf->size = end;
	}
	wf->dirty = 1;
	wf->flush_failed = 0;
	stream_parts(fs, in, wf);
	pthread_mutex_lock(&fs->lock);
	in->attr.st_size = (off_t)wf->size;
	clock_gettime(CLOCK_REALTIME, &in->attr.st_mtim);
	in->attr.st_ctim = in->attr.st_mtim;
	pthread_mutex_unlock(&fs->lock);
out:
	pthread_mutex_unlock(&wf->lock);
	return n;
}

ssize_t fs_wfile_read(struct fs *fs, struct inode *in, struct wfile *wf,
		      char *buf, size_t len, off_t off)
{
	ssize_t n;

	(void)fs;
	(void)in;
	pthread_mutex_lock(&wf->lock);
	if ((uint64_t)off >= wf->size)
		n = 0;
	else if ((uint64_t)off < wf->punched)
		n = -EIO; /* given back to cache_dir; stored at close */
	else
		n = pread(wf->fd, buf,
			  len < wf->size - (uint64_t)off
				  ? len
				  : (size_t)(wf->size - (uint64_t)off),
			  off);
	if (n < 0)
		n = -errno;
	pthread_mutex_unlock(&wf->lock);
	return n;
}

int fs_wfile_truncate(struct fs *fs, struct inode *in, struct wfile *wf,
		      uint64_t size)
{
	int rc = 0;

	if (size != 0) {
		rc = lock_loaded(fs, in, wf);
		if (rc)
			goto out;
	} else {
		pthread_mutex_lock(&wf->lock);
	}
	if (size == 0) {
		/* Start over: the old bytes do not matter any more. */
		if (wf->loaded)
			cache_stage_account(fs->cache,
					    -(int64_t)(wf->size - wf->punched));
		wf->loaded = 1;
		stream_reset(wf);
		wf->stream_ok = wf->upload_id == NULL && wf->nparts == 0;
		if (wf->stream_ok)
			wf->stream_off = 0;
		wf->hash = digest_sha256_new();
	} else {
		if (size != wf->size)
			stream_reset(wf);
		cache_stage_account(fs->cache,
				    (int64_t)size - (int64_t)wf->size);
	}
	if (ftruncate(wf->fd, (off_t)size) < 0) {
		rc = -errno;
		staging_failed(fs, in, wf, rc, "truncate");
		goto out;
	}
	if (size == 0) {
		wf->failed = 0; /* started over: nothing is lost any more */
		wf->punched = 0;
	}
	wf->size = size;
	wf->dirty = 1;
	wf->flush_failed = 0;
	pthread_mutex_lock(&fs->lock);
	in->attr.st_size = (off_t)size;
	clock_gettime(CLOCK_REALTIME, &in->attr.st_mtim);
	in->attr.st_ctim = in->attr.st_mtim;
	pthread_mutex_unlock(&fs->lock);
out:
	pthread_mutex_unlock(&wf->lock);
	return rc;
}

int fs_wfile_meta_changed(
	struct fs *fs, struct inode *in, struct wfile *wf,
	int (*store)(struct fs *fs, struct inode *in, void *arg),
	void (*commit)(struct fs *fs, struct inode *in, void *arg), void *arg)
{
	int rc = 0;

	if (wf)
		pthread_mutex_lock(&wf->lock);
	if (wf && wf->loaded) {
		/* Staged bytes go up with the next flush, carrying it. */
		wf->dirty = 1;
		wf->flush_failed = 0;
	} else {
		/* Nothing staged: marking the file dirty would upload the
		 * empty staging file over the object.  Store the change on
		 * the object now (wf->lock keeps this file's writers out). */
		rc = store(fs, in, arg);
	}
	if (rc == 0) {
		pthread_mutex_lock(&fs->lock);
		commit(fs, in, arg);
		pthread_mutex_unlock(&fs->lock);
	}
	if (wf)
		pthread_mutex_unlock(&wf->lock);
	return rc;
}

/* A streamed object's final metadata, set after close() by a copy onto
 * itself, under the guard of the flush that stored it. */
struct finalize_job {
	struct fs *fs;
	struct fs_guard guard;	    /* the flush's claim on the key */
	struct inode *in;	    /* pinned (fs_pin) until done */
	char etag[REMOTE_ETAG_MAX]; /* the version the metadata describes */
	char *key;
	uint64_t size;
	struct remote_meta meta;
};

/* The metadata copy (a pool job, or inline).  Whoever changes the object
 * next waits for its guard, so it can never overwrite newer data or
 * metadata. */
static void finalize_meta(void *arg)
{
	struct finalize_job *j = arg;
	struct fs *fs = j->fs;
	struct remote_put_opts put = { .meta = &j->meta, .if_match = j->etag };
	struct remote_error err = { { 0 } };
	int rc;

	/* Only onto the version it describes: another machine's write of
	 * the same key since must not get our digest. */
	rc = remote_copy_object(fs->remote, j->key, j->key, j->size, &put,
				&err);
	if (rc == -ESTALE)
		fs_log(fs,
		       "%s was replaced by another writer before its "
		       "metadata (SHA-256, mtime) was set; left as it is",
		       j->key);
	else if (rc)
		fs_log(fs,
		       "%s is stored but its metadata (SHA-256, mtime) is "
		       "not: %s; it has no SHA-256",
		       j->key, err.msg);
	pthread_mutex_lock(&fs->lock);
	j->in->attr_until = 0; /* the copy made a new version: HEAD again */
	pthread_mutex_unlock(&fs->lock);
	fs_guard_done(fs, &j->guard);
	fs_unpin(fs, j->in, NULL);
	remote_meta_clear(&j->meta);
	free(j->key);
	free(j);
}

/* Set the metadata of a completed streamed upload: queued with the guard
 * in *handoff, or now when handoff is NULL or the pool cannot take it. */
static int finalize(struct fs *fs, struct inode *in, const char *key,
		    const char *etag, uint64_t size,
		    const struct remote_meta *meta, struct fs_guard *handoff)
{
	struct finalize_job *j = calloc(1, sizeof(*j));
	int rc;

	if (!j)
		return -ENOMEM;
	j->fs = fs;
	j->in = in;
	j->size = size;
	snprintf(j->etag, sizeof(j->etag), "%s", etag);
	j->key = strdup(key);
	fs_guard_init(&j->guard);
	rc = j->key ? remote_meta_copy(&j->meta, meta) : -ENOMEM;
	if (rc) {
		remote_meta_clear(&j->meta);
		free(j->key);
		free(j);
		return rc;
	}
	/* A plain pin, no staging reference: a pool job must never be the
	 * one to drop a staging's last reference (that may upload, and wait
	 * for part uploads queued on this very pool). */
	fs_pin(fs, in);
	if (!handoff) {
		finalize_meta(j);
		return 0;
	}
	/* The job takes the flush's claim on the key; the flush keeps its
	 * pins (a handle's staging reference must not outlive close()), the
	 * job has its own pin on the inode. */
	fs_guard_move(fs, &j->guard, handoff);
	if (remote_pool_submit(fs->pool, finalize_meta, j))
		finalize_meta(j);
	return 0;
}

/* With wf->lock held: finish the streamed multipart upload with the tail.
 * The object is then complete and stored; its final metadata (SHA-256,
 * mtime: known only now) follows by a copy onto itself, off close()'s
 * path.  On failure the caller falls back to a whole upload. */
static int stream_finish(struct fs *fs, struct inode *in, struct wfile *wf,
			 const char *key, const struct remote_meta *meta,
			 char *etag, struct fs_guard *handoff)
{
	struct remote_body body = { .fd = wf->fd };
	struct remote_error err = { { 0 } };
	int rc;

	wait_parts(wf);
	/* Renamed while streaming: the parts went to the old key. */
	if (!wf->stream_ok || strcmp(wf->stream_key, key) != 0)
		return -EAGAIN;
	if (wf->size > wf->stream_off) {
		if (wf->nparts == wf->parts_cap) {
			struct remote_part *p =
				realloc(wf->parts, (size_t)(wf->parts_cap + 1) *
							   sizeof(*p));

			if (!p)
				return -EAGAIN;
			wf->parts = p;
			wf->parts_cap++;
		}
		body.off = wf->stream_off;
		body.len = wf->size - wf->stream_off;
		wf->nparts++;
		rc = remote_mpu_put_part(fs->remote, key, wf->upload_id,
					 wf->nparts, &body,
					 wf->parts[wf->nparts - 1].etag, &err);
		wf->parts[wf->nparts - 1].number = wf->nparts;
		if (rc)
			goto fail;
	}
	rc = remote_mpu_complete(fs->remote, key, wf->upload_id, wf->parts,
				 (size_t)wf->nparts, etag, &err);
	if (rc)
		goto fail;
	free(wf->upload_id);
	wf->upload_id = NULL;
	free(wf->stream_key);
	wf->stream_key = NULL;
	wf->nparts = 0;
	wf->stream_off = 0;
	rc = finalize(fs, in, key, etag, wf->size, meta, handoff);
	if (rc)
		return rc;
	etag[0] = '\0'; /* the copy makes a new version: HEAD later */
	return 0;
fail:
	fs_log(fs, "streamed upload of %s failed, retrying whole: %s", key,
	       err.msg);
	return -EAGAIN;
}

/* The errno close() gives for a failed upload: the storage reasons a user
 * can act on pass through, everything else (network, server) is EIO. */
static int close_errno(int rc)
{
	switch (rc) {
	case 0:
	case -EACCES:
	case -EPERM:
	case -ENOSPC:
	case -EDQUOT:
	case -EFBIG:
	case -ENAMETOOLONG:
	case -ENOMEM:
	case -EROFS:
		return rc;
	default:
		return -EIO;
	}
}

int fs_wfile_flush(struct fs *fs, struct inode *in, struct wfile *wf)
{
	struct fs_guard g;
	char *key = NULL;
	int rc;

	pthread_mutex_lock(&wf->lock);
	rc = wf->dirty;
	pthread_mutex_unlock(&wf->lock);
	if (!rc)
		return 0; /* nothing to store: no need to wait for anyone */
	rc = fs_guard_inode(fs, &g, in, 0, &key);
	if (rc == 0)
		rc = fs_wfile_store(fs, in, wf, &g);
	else if (rc == -ENOENT)
		rc = 0; /* removed or replaced: never stored again */
	fs_guard_done(fs, &g);
	free(key);
	return rc;
}

int fs_wfile_store(struct fs *fs, struct inode *in, struct wfile *wf,
		   struct fs_guard *handoff)
{
	struct remote_meta meta = { 0 };
	struct remote_put_opts put = { .meta = &meta };
	struct remote_error err = { { 0 } };
	char etag[REMOTE_ETAG_MAX] = "";
	char sha[DIGEST_SHA256_HEX] = "";
	char *key = NULL;
	int unlinked;
	int rc = 0;

	pthread_mutex_lock(&wf->lock);
	pthread_mutex_lock(&fs->lock);
	unlinked = in->unlinked;
	key = strdup(in->key);
	pthread_mutex_unlock(&fs->lock);
	if (!key) {
		rc = -ENOMEM;
		goto out;
	}
	if (!wf->dirty || unlinked)
		goto out;
	if (wf->failed) {
		rc = wf->failed; /* logged when it happened */
		goto out;
	}

	if (wf->hash && wf->hashed == wf->size) {
		digest_sha256_final(wf->hash, sha);
		wf->hash = NULL;
	} else {
		rc = digest_sha256_fd(wf->fd, wf->size, sha);
		if (rc)
			goto out;
	}
	rc = fs_meta_build(fs, in, NULL, sha, &meta);
	if (rc)
		goto out;

	rc = -EAGAIN;
	if (wf->upload_id)
		rc = stream_finish(fs, in, wf, key, &meta, etag, handoff);
	if (rc == -EAGAIN && wf->punched) {
		/* Its first bytes were given back to cache_dir: only the
		 * stream could have stored it. */
		stream_abort(fs, wf);
		fs_log(fs,
		       "upload of %s failed: its streamed upload broke after "
		       "cache_dir was full; it is not stored, the stored "
		       "version stays",
		       key);
		wf->failed = -EIO;
		rc = -EIO;
	} else if (rc == -EAGAIN) {
		stream_abort(fs, wf);
		rc = remote_put_file(fs->remote, key, wf->fd, wf->size, &put,
				     NULL, etag, &err);
		if (rc)
			fs_log(fs, "upload of %s failed: %s", key, err.msg);
	}
	if (rc)
		goto out;
	wf->dirty = 0;
	wf->stream_ok = 0;
	free(wf->claim_etag); /* the file itself stands there now */
	wf->claim_etag = NULL;
	pthread_mutex_lock(&fs->lock);
	snprintf(in->sha256, sizeof(in->sha256), "%s", sha);
	snprintf(in->etag, sizeof(in->etag), "%s", etag);
	snprintf(in->open_etag, sizeof(in->open_etag), "%s", etag);
	in->attr.st_size = (off_t)wf->size;
	/* A streamed object's ETag changed with its metadata copy: let the
	 * next getattr ask the remote. */
	in->attr_until = etag[0] ? fs_monotonic() + fs->opts.metadata_ttl : 0;
	pthread_mutex_unlock(&fs->lock);
out:
	wf->flush_failed = rc != 0;
	pthread_mutex_unlock(&wf->lock);
	remote_meta_clear(&meta);
	free(key);
	return close_errno(rc);
}
