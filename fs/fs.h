/*
 * fs.h - the FUSE driver's shared state: the mount context, the inode table
 * and the write staging of open files.  Private to fs/.
 *
 * Model.  Every path the kernel knows has an inode holding its object key
 * (files "artifacts/jobs/ID/a/b", directories with a trailing '/'), cached
 * attributes and a lookup count.  The remote is the only truth: attributes
 * are re-read with HEAD once older than metadata_ttl; nothing another
 * machine needs lives only here.  Writes go to an unlinked staging file and
 * reach the remote at flush/fsync (close() waits), with large sequential
 * writes streamed as multipart parts while they are written.
 *
 * Changing objects.  Every change to an object (upload, metadata copy,
 * delete, rename, exclusive create, the sweeper's deletes) runs under a
 * guard (guard.c) that claims the keys it changes: exact keys, or whole
 * prefixes for a directory.  A guard waits for every held guard it
 * overlaps and is taken whole, so no two changes of one key ever run at
 * once, a pending metadata copy is waited for by whoever comes next, and
 * an inode's key cannot change under a guard on it.
 *
 * Locks, in the only order they may be taken (each may be skipped):
 *   1. a guard       (guard.c) claims on object keys; may be held across
 *                    network I/O.  At most one guard per thread.
 *   2. wfile->lock   one open file's staging state; may be held across
 *                    network I/O (its writers wait, no one else)
 *   3. fs->lock      the inode table, every inode's fields, the held
 *                    guards; never held across network I/O or a wait on
 *                    anything but fs->claim_cond
 * The order holds by construction, not because the kernel serialises
 * anything: no code takes a guard while holding wf->lock or fs->lock.
 */
#ifndef ARTIFACTFS_FS_H
#define ARTIFACTFS_FS_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cache.h"
#include "digest.h"
#include "remote.h"
#include "rules.h"
#include "store.h"
#include "xfer.h"

#define FS_ROOT_INO	     FUSE_ROOT_ID
#define FS_FIRST_DYNAMIC_INO 16
#define FS_HASH_BUCKETS	     65536
#define FS_NAME_MAX	     255 /* bytes in one name, as on a local disk */

enum fs_kind {
	FS_ROOT,  /* the mountpoint: job/ workflow/ project/ */
	FS_LEVEL, /* one store: read-write, but not removable */
	FS_DIR,
	FS_FILE,
	FS_SYMLINK,
	FS_SPECIAL, /* fifo, socket, device: a zero-byte object */
};

struct wfile;

struct inode {
	fuse_ino_t ino;
	enum fs_kind kind;
	enum store_level level;
	char *key; /* object key; directories end in '/'; NULL for root */
	uint64_t nlookup; /* kernel references (lookup minus forget) */
	unsigned opens;	  /* open handles */
	struct stat attr;
	char etag[REMOTE_ETAG_MAX];	 /* version the attrs describe */
	int64_t remote_mtime;		 /* its Last-Modified, seconds */
	char open_etag[REMOTE_ETAG_MAX]; /* version at last open (keep_cache) */
	double attr_until;  /* monotonic seconds: attrs trusted until then */
	int64_t expires_at; /* from x-amz-meta-expires-at; 0: none */
	char sha256[65];    /* from x-amz-meta-sha256; "" if unknown */
	int has_marker;	    /* directory: a "key/" marker object exists */
	char *expire_rule;  /* directory: expiry its new files inherit, or
			       NULL (x-amz-meta-expire-in on the marker) */
	struct timespec touched;     /* directory: when this mount last made
					or removed a name in it (mtime and
					ctime show at least this) */
	struct dir_listing *listing; /* directory: dircache.c, or NULL */
	unsigned long dir_changes;   /* directory: names made here */
	int unlinked;	  /* its key no longer names it (removed or replaced):
			     never upload again; set under a guard on the key */
	struct wfile *wf; /* staging while open for writing; guarded by
			     fs->lock, its contents by wf->lock */
	struct inode *next_ino, *next_key; /* hash chains */
};

/* A file's staged content while it is open for writing. */
struct wfile {
	pthread_mutex_t lock; /* guards everything below */
	int fd;		      /* unlinked staging file from the cache */
	unsigned refs;	      /* open handles sharing it */
	uint64_t size;	      /* logical size */
	int loaded;	      /* staging holds the object's old bytes */
	int dirty;	      /* differs from the remote object */
	int flush_failed;     /* the last flush failed; nothing new since */
	int failed;	      /* -errno: the staging lost bytes (ENOSPC on
				 cache_dir...): never stored, until it is
				 started over from empty */
	char *claim_etag;     /* our O_EXCL claim (an empty object) stands
				 in for this file: removed if the file is
				 never stored; NULL once it is */
	/* Streaming multipart: parts [1..parts_sent] are in flight or done.
	 * Valid while stream_ok; any write before stream_off ends it. */
	int stream_ok;
	uint64_t stream_off; /* bytes handed to part uploads so far */
	char *upload_id;     /* multipart upload in progress, or NULL */
	char *stream_key;    /* the key upload_id is for (a rename may move
				the file on meanwhile) */
	struct remote_part *parts;
	int nparts, parts_cap;
	int parts_pending; /* part uploads not finished yet */
	uint64_t punched;  /* bytes [0, punched) were uploaded as parts and
			      given back to cache_dir (hole punched): the
			      stream is then the only way to store it */
	pthread_cond_t parts_done;
	struct digest_sha256 *hash; /* running SHA-256 while sequential */
	uint64_t hashed;	    /* bytes fed to hash */
};

struct fs_opts {
	char *remote_url, *endpoint, *region;
	char *ids[STORE_LEVELS];
	char *cache_dir;
	uint64_t cache_size;
	uint32_t block_size;
	int64_t expire_in[STORE_LEVELS]; /* seconds, or STORE_NEVER */
	double metadata_ttl;
	double timeout;		/* seconds: remote_config.timeout */
	double sweep_interval;	/* seconds between sweeps; 0: never */
	int64_t upload_max_age; /* seconds: older unfinished uploads are
				   aborted by the sweeper */
	int debug, foreground, read_only;
	/* uid=, gid=, umask= (as s3fs): what every file shows, whatever
	 * its metadata says; stored metadata is not changed. */
	int has_uid, has_gid, has_umask;
	uid_t uid;
	gid_t gid;
	mode_t umask;
};

/* One key an operation changes: exact, or a prefix (a directory: its
 * marker and everything under it). */
struct fs_claim_item {
	char *key;
	int prefix;
};

#define FS_GUARD_PINS 4

/* An operation's claim on the keys it changes (guard.c).  Lives on the
 * operation's stack, or in a pool job it is handed to (fs_guard_move). */
struct fs_guard {
	struct fs_claim_item *items;
	size_t n, cap;
	int held;			   /* in fs->claims */
	struct fs_guard *next;		   /* fs->claims chain; fs->lock */
	struct inode *pins[FS_GUARD_PINS]; /* opens++ until done */
	struct wfile *wfs[FS_GUARD_PINS];  /* their staging refs, or NULL */
	int npins;
};

struct fs {
	struct remote *remote;
	struct cache *cache;
	struct remote_pool *pool;      /* streamed part uploads */
	struct remote_pool *meta_pool; /* HEADs of listings, copies of mv */
	struct fs_opts opts;
	uid_t uid;
	gid_t gid;
	struct timespec mount_time;
	uint64_t part_size;

	pthread_mutex_t lock;	   /* the inode table and inode fields */
	pthread_cond_t claim_cond; /* with lock: a guard was released */
	struct fs_guard *claims;   /* guards held now; fs->lock */
	struct inode *by_ino[FS_HASH_BUCKETS];
	struct inode *by_key[FS_HASH_BUCKETS];
	fuse_ino_t next_ino;
	struct inode *root;
	struct inode *levels[STORE_LEVELS];

	/* The sweeper (sweeper.c). */
	pthread_t sweeper;
	int sweeper_running;
	pthread_mutex_t sweep_lock;
	pthread_cond_t sweep_cond;
	int sweep_stop; /* guarded by sweep_lock */

	/* The clock, so tests can pin it. */
	int64_t (*now)(void);
};

/* ---- inode.c: the table.  All need fs->lock held. ---------------------- */

/* Empty table holding only the root (inode 1, key "").  -ENOMEM. */
int fs_inode_table_init(struct fs *fs);
/* Free every inode (and its listing) whatever its references: at
 * unmount, when no request runs any more.  Never fails. */
void fs_inode_table_free(struct fs *fs);
/* The inode the kernel knows as ino, or NULL.  Borrowed: valid while
 * fs->lock is held, or while the caller holds a kernel reference or a pin
 * on it. */
struct inode *fs_inode_get(struct fs *fs, fuse_ino_t ino);
/* fs_inode_get taking fs->lock itself (so: fs->lock NOT held); for the
 * inode of a request, which the kernel's reference keeps alive. */
struct inode *fs_inode_of(struct fs *fs, fuse_ino_t ino);
/* The inode that names key now (unlinked ones do not), or NULL; borrowed
 * as fs_inode_get. */
struct inode *fs_inode_by_key(struct fs *fs, const char *key);
/* Find the inode for key or make one (nlookup 0, no pin: the caller must
 * take a reference or pin before dropping fs->lock, or call
 * fs_inode_maybe_free); NULL on ENOMEM. */
struct inode *fs_inode_obtain(struct fs *fs, const char *key, enum fs_kind kind,
			      enum store_level level);
/* Give an inode a new key (rename), rehashing it; an inode that held that
 * key is marked unlinked (never uploaded again).  -ENOMEM. */
int fs_inode_rekey(struct fs *fs, struct inode *in, const char *key);
/* Whether a file under prefix is open for writing here and not unlinked
 * (a name this mount shows that may not be on the remote yet). */
int fs_inode_staged_under(struct fs *fs, const char *prefix);
/* Rekey every inode whose key starts with old_prefix (a directory
 * rename) to new_prefix + the rest, now in level.  On ENOMEM some inodes
 * keep old keys: they are found again by lookup. */
void fs_inode_rekey_tree(struct fs *fs, const char *old_prefix,
			 const char *new_prefix, enum store_level level);
/* Drop the inode from the key index (deleted); it lives on until forgotten. */
void fs_inode_unhash_key(struct fs *fs, struct inode *in);
/* Free the inode if the kernel and every handle are done with it. */
void fs_inode_maybe_free(struct fs *fs, struct inode *in);

/* ---- attrs.c: attributes from objects --------------------------------- */

/* Fill in->attr and friends from a HEAD result (kind too: a file may turn
 * out a symlink or special file).  fs->lock held.  Never fails: malformed
 * metadata is ignored, as s3fs does. */
void fs_attr_from_stat(struct fs *fs, struct inode *in,
		       const struct remote_stat *st);
/* Attributes of a directory without (or before reading) its marker.
 * fs->lock held (or in private).  Never fails. */
void fs_attr_dir_default(struct fs *fs, struct inode *in);
/* What the kernel is told of attributes st: the uid=, gid= and umask=
 * options applied. */
void fs_attr_show(const struct fs *fs, struct stat *st);
/* CLOCK_MONOTONIC in seconds: what attr_until and listings are timed by. */
double fs_monotonic(void);

/* ---- guard.c: the one way to change an object ----------------------- */

/* An empty guard (no keys, no pins), owned by the caller's stack frame or
 * a job; it owns nothing until fs_guard_key/pin, and fs_guard_done frees
 * all it took. */
void fs_guard_init(struct fs_guard *g);
/* Add key (prefix: the key and everything under it) to g before it is
 * taken; the guard owns a copy.  -ENOMEM, -EBUSY once taken. */
int fs_guard_key(struct fs_guard *g, const char *key, int prefix);
/* Wait until no held guard overlaps g, then hold all of g's keys.  No
 * lock held; never fails. */
void fs_guard_take(struct fs *fs, struct fs_guard *g);
/* Whether two guards' keys overlap (exposed for tests). */
int fs_guard_conflicts(const struct fs_guard *a, const struct fs_guard *b);
/* Keep in (and a reference to its staging, if open for writing) until
 * fs_guard_done.  Up to FS_GUARD_PINS inodes; -ENOSPC past that. */
int fs_guard_pin(struct fs *fs, struct fs_guard *g, struct inode *in);
/* The same with fs->lock held (an inode just found must be pinned before
 * the lock is dropped, or a forget may free it). */
int fs_guard_pin_locked(struct fs_guard *g, struct inode *in);
/* The staging reference the pin of in took, or NULL. */
struct wfile *fs_guard_wfile(struct fs_guard *g, struct inode *in);
/* Hand a guard's keys, held or not, to someone else (a pool job): dst
 * (with no keys of its own) takes them over, src keeps its pins and no
 * keys.  No lock held. */
void fs_guard_move(struct fs *fs, struct fs_guard *dst, struct fs_guard *src);
/* Release the keys, wake the waiters, then drop the pins (a last staging
 * reference may store the file, under a guard of its own).  g is empty and
 * reusable after.  No lock held. */
void fs_guard_done(struct fs *fs, struct fs_guard *g);
/* Guard in's current key (exact, or as a prefix: a directory and all
 * under it) and pin in, re-checking after the wait that a rename did not
 * move it.  *key (caller frees) is the key held.
 * -ENOENT when in was removed or replaced (unlinked): nothing may be
 * changed on its behalf; -ENOMEM.  On failure g is empty (fs_guard_done
 * is still fine). */
int fs_guard_inode(struct fs *fs, struct fs_guard *g, struct inode *in,
		   int prefix, char **key);
/* An open handle's pin (opens++) and its undo: drop the staging reference
 * wf first when not NULL, then the pin, freeing in if no one else holds
 * it.  No lock held. */
void fs_pin(struct fs *fs, struct inode *in);
/* fs_pin with fs->lock held. */
void fs_pin_locked(struct inode *in);
void fs_unpin(struct fs *fs, struct inode *in, struct wfile *wf);

/* ---- wfile.c: staging and upload -------------------------------------- */

/* How a staging starts. */
enum fs_wf_start {
	FS_WF_LOAD,	    /* the object's bytes, loaded at the first write */
	FS_WF_NEW,	    /* empty new content (create, O_TRUNC): stored at
			       the last close even if nothing is written */
	FS_WF_STORED_EMPTY, /* empty, and already stored as such */
};

/* Start staging for in, or share the staging it has (FS_WF_NEW then
 * truncates it; mtime and ctime move).  The
 * caller owns one reference (*out) and drops it with fs_wfile_release.
 * -ENOMEM, or the cache's -errno (ENOSPC...) for the staging file.  No
 * lock held. */
int fs_wfile_acquire(struct fs *fs, struct inode *in, enum fs_wf_start start,
		     struct wfile **out);
/* Take a reference on in's staging, if it has one (NULL otherwise).
 * fs->lock held.  Drop it with fs_wfile_release(). */
struct wfile *fs_wfile_ref(struct inode *in);
/* Drop one reference.  The last one stores anything changed since the last
 * successful flush (a failure is only logged: close() has returned), then
 * frees the staging.  No lock held. */
void fs_wfile_release(struct fs *fs, struct inode *in, struct wfile *wf);
/* Staged I/O: bytes or a -errno (the cache disk's ENOSPC, EIO of a failed
 * load of the old content, logged with the key).  No lock held. */
ssize_t fs_wfile_write(struct fs *fs, struct inode *in, struct wfile *wf,
		       const char *buf, size_t len, off_t off);
ssize_t fs_wfile_read(struct fs *fs, struct inode *in, struct wfile *wf,
		      char *buf, size_t len, off_t off);
int fs_wfile_truncate(struct fs *fs, struct inode *in, struct wfile *wf,
		      uint64_t size);
/* in's attributes or expiry are about to change to what store() writes.
 * When bytes are staged in wf, the inode is updated by commit(arg) and
 * the next flush carries the change; otherwise store(fs, in, arg) writes
 * it to the object now and commits on success.  The caller holds a guard
 * on in's key.  0 or store's -errno (nothing changed then).  No lock
 * held. */
int fs_wfile_meta_changed(
	struct fs *fs, struct inode *in, struct wfile *wf,
	int (*store)(struct fs *fs, struct inode *in, void *arg),
	void (*commit)(struct fs *fs, struct inode *in, void *arg), void *arg);
/* Upload if dirty, under a guard on in's key that it takes itself.
 * Returns 0 or the -errno close()/fsync() should give: EACCES, ENOSPC,
 * EDQUOT, EFBIG... as the store said, EIO for network and server failures
 * (the reason is logged with the key).  No lock held. */
int fs_wfile_flush(struct fs *fs, struct inode *in, struct wfile *wf);
/* The same for a caller already holding a guard on in's key.  A streamed
 * upload's metadata copy is handed to a pool job with the guard in
 * *handoff (left empty then), or done before returning when handoff is
 * NULL.  No lock held. */
int fs_wfile_store(struct fs *fs, struct inode *in, struct wfile *wf,
		   struct fs_guard *handoff);

/* ---- dircache.c: recent listings answer lookups of missing names ------ */

enum fs_dir_answer {
	FS_DIR_UNKNOWN, /* no fresh listing, or a name made here: ask */
	FS_DIR_ABSENT,	/* not in the fresh listing */
	FS_DIR_PRESENT, /* listed (as an object or a prefix) */
};
/* What dir's fresh listing says of name.  fs->lock held. */
enum fs_dir_answer fs_dir_lookup(struct inode *dir, const char *name);
/* This mount made name in dir (create, mkdir, symlink, rename). fs->lock
 * held. */
void fs_dir_note_added(struct inode *dir, const char *name);
/* List dir (one page) and keep it for metadata_ttl (dir owns the
 * listing; fs_dir_forget frees it).  fs->lock NOT held.
 * -EFBIG when it has more than a page (not kept), -errno from the remote. */
int fs_dir_fetch(struct fs *fs, struct inode *dir);
/* Drop dir's listing.  fs->lock held (or the inode is private). */
void fs_dir_forget(struct inode *dir);

/* ---- batch.c: waiting for one's own pool jobs ------------------------- */

struct fs_batch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t pending; /* jobs queued and not finished; guarded by lock */
};
/* An empty batch on the caller's stack; fs_batch_finish frees it. */
void fs_batch_init(struct fs_batch *b);
/* Queue fn(arg) on fs->meta_pool as part of b; -ENOMEM if it cannot (arg
 * stays the caller's then; else the job owns it until it is done). */
int fs_batch_submit(struct fs *fs, struct fs_batch *b, void (*fn)(void *),
		    void *arg);
/* Each job calls this when it is finished, as its last use of b. */
void fs_batch_done(struct fs_batch *b);
/* Wait for every job of b, then free b's resources. */
void fs_batch_finish(struct fs_batch *b);

/* ---- sweeper.c: deleting expired artifacts of the mounted stores ------ */

/* Start the sweeper thread (none when sweep_interval is 0).  -errno of
 * pthread_create. */
int fs_sweeper_start(struct fs *fs);
/* Stop it and wait for it; a sweep in progress finishes its current
 * requests first.  Never fails. */
void fs_sweeper_stop(struct fs *fs);

/* ---- lookup.c: names to inodes ---------------------------------------- */

/* *out (caller frees) = parent's key + name (+ '/' when dir).
 * -ENAMETOOLONG (name over FS_NAME_MAX, or key past the store's room),
 * -EINVAL for names that cannot be keys, -EROFS under the root, -ENOMEM.
 * fs->lock NOT held. */
int fs_child_key(struct fs *fs, struct inode *parent, const char *name, int dir,
		 char **out);
/* Whether parent/name still makes key (1), or a rename of parent changed
 * it meanwhile (0): the re-check after waiting for a guard.  -errno of
 * fs_child_key.  fs->lock NOT held. */
int fs_child_is(struct fs *fs, struct inode *parent, const char *name, int dir,
		const char *key);
/* The parent inode (-ESTALE when unknown) and the key of its child name
 * (fs_child_key; caller frees *key). */
int fs_parent_child(struct fs *fs, fuse_ino_t parent, const char *name, int dir,
		    struct inode **p, char **key);
/* A kernel entry for in (attributes as fs_attr_show).  fs->lock held. */
void fs_fill_entry(struct fs *fs, struct inode *in, struct fuse_entry_param *e);
/* Look key up: a file, symlink or special file (HEAD key), a file created
 * here and not stored yet, else a directory (anything under key/; parent
 * and name, when given, let a fresh listing of parent answer a miss).
 * fs->lock NOT held on entry; on success the inode (fresh attributes, not
 * pinned) is returned with fs->lock HELD.  -ENOENT (also when expired),
 * the remote's -errno (logged with the key), -ENOMEM. */
int fs_resolve(struct fs *fs, struct inode *parent, const char *name,
	       const char *key, enum store_level level, struct inode **out);
/* Whether anything (file or directory) exists at key: 1, 0, or -errno.
 * fs->lock NOT held. */
int fs_exists(struct fs *fs, const char *key);
/* Make sure in's attributes are fresh (HEAD again once older than
 * metadata_ttl).  fs->lock NOT held.  -ENOENT when it is gone or
 * expired, the remote's -errno. */
int fs_refresh(struct fs *fs, struct inode *in);
/* The inode for ino (-ESTALE when the kernel's number is unknown) with
 * fresh attributes (fs_refresh). */
int fs_inode_fresh(struct fs *fs, fuse_ino_t ino, struct inode **out);
void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void fs_op_forget_multi(fuse_req_t req, size_t count,
			struct fuse_forget_data *forgets);

/* ---- names.c: making, changing and removing one name ------------------- */

/* Who asks (the caller of a request): owner of what it creates. */
struct fs_caller {
	uid_t uid;
	gid_t gid;
};

/* This mount made or removed a name in dir: its mtime and ctime move (in
 * this mount's view; no request).  fs->lock held. */
void fs_dir_touch(struct fs *fs, struct inode *dir);
/* The cores of the operations below, for the FUSE ops and the unit tests.
 * Each takes its guard itself; no lock held.  They return 0 or -errno:
 * the remote's (logged with the key), -EEXIST, -ENOTEMPTY, -ENAMETOOLONG,
 * -EINVAL, -ENOMEM.
 *
 * mkdir/symlink/mknod (kind FS_DIR, FS_SYMLINK with link, FS_SPECIAL or
 * FS_FILE): *out is the new inode with one more kernel reference
 * (nlookup). */
int fs_do_mknod(struct fs *fs, const struct fs_caller *ctx, struct inode *p,
		const char *name, enum fs_kind kind, mode_t mode, dev_t rdev,
		const char *link, struct inode **out);
/* create: *out gains a kernel reference, *wf is the staging reference of
 * the handle to be (stored at its last release).  flags: open(2)'s. */
int fs_do_create(struct fs *fs, const struct fs_caller *ctx, struct inode *p,
		 const char *name, mode_t mode, int flags, struct inode **out,
		 struct wfile **wf);
int fs_do_unlink(struct fs *fs, struct inode *p, const char *name);
int fs_do_rmdir(struct fs *fs, struct inode *p, const char *name);
/* setattr: FUSE_SET_ATTR_* bits of to_set from attr.  Nothing changes
 * unless it is stored. */
int fs_do_setattr(struct fs *fs, struct inode *in, const struct stat *attr,
		  int to_set);
void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, struct fuse_file_info *fi);
void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, dev_t rdev);
void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode);
void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		   const char *name);
void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		   int to_set, struct fuse_file_info *fi);

/* ---- rename.c ---------------------------------------------------------- */

/* What lies under the directory key dkey ("a/d/") on the remote: 1 when a
 * usable key other than its marker does, 0 when only the marker, -ENOENT
 * when nothing usable (keys remote/ refuses, with dot segments, do not
 * count: a directory holding only those does not exist here), or the
 * listing's -errno (logged).  *marker (may be NULL): the marker exists.
 * fs->lock NOT held. */
int fs_dir_probe(struct fs *fs, const char *dkey, int *marker);
int fs_do_rename(struct fs *fs, struct inode *p, const char *name,
		 struct inode *np, const char *newname, unsigned int flags);
void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		  fuse_ino_t newparent, const char *newname,
		  unsigned int flags);

/* ---- readdir.c --------------------------------------------------------- */

void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi);
void fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi);
void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		      struct fuse_file_info *fi);

/* ---- ops.c: the table and the simple ops ------------------------------- */

/* Reply with the errno rc (negative or positive; 0 is success). */
void fs_reply_err(fuse_req_t req, int rc);
/* Reply with in's attributes (as fs_attr_show), valid metadata_ttl. */
void fs_reply_attr(fuse_req_t req, struct inode *in);
/* Make the handle of fi on in, taking over the staging reference wf (or
 * NULL: read-only) and pinning in until release.  -ENOMEM (wf is dropped
 * then). */
int fs_handle_new(struct fs *fs, struct inode *in, struct wfile *wf,
		  struct fuse_file_info *fi);

/* ---- xattr.c: user.expire_in, user.expires_at, user.sha256 ------------- */

/* Set in's expiry (seconds since the epoch; 0: none): a file under a guard
 * on its key (a file open for writing carries it with its upload), a
 * directory under one guard on its whole prefix, every file beneath it,
 * and the rule (a duration, or NULL to drop it) its new files inherit.
 * 0 or the first -errno (logged with the key).  No lock held. */
int fs_do_expire(struct fs *fs, struct inode *in, int64_t expires_at,
		 const char *rule);

/* The FUSE xattr ops (README, "Expiry, through extended attributes"): they
 * reply themselves, with EINVAL for a bad value (logged with the value),
 * ENOTSUP/ENODATA for names we do not keep, EPERM/EROFS on the skeleton,
 * and the remote's errno (logged with the key). */
void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		 const char *value, size_t size, int flags);
void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* ---- metadata --------------------------------------------------------- */

/* Set in m the metadata of attr (NULL: in's attributes): mode, uid, gid,
 * mtime, ctime, rdev of a device; in's expiry (removed when it has none)
 * and sha256 (the one given, else in's, else whatever m held).  m may
 * start empty or hold the object's current metadata, whose other names are
 * kept.  -EINVAL for a time before 1970, -ENOMEM.  Takes fs->lock. */
int fs_meta_build(struct fs *fs, struct inode *in, const struct stat *attr,
		  const char *sha256, struct remote_meta *m);

/* ---- context.c: the mount context ------------------------------------- */

/* A new context (*out, freed with fs_context_free): locks, the wall clock
 * (fs->now), the caller's uid/gid, no remote, cache or threads yet.
 * -ENOMEM. */
int fs_context_new(struct fs **out);
/* Open the cache over fs->remote (set by the caller) and start the
 * pools.  -errno with err set. */
int fs_context_start(struct fs *fs, const struct cache_opts *co,
		     struct remote_error *err);
/* Let the queued jobs (part uploads, metadata copies) finish, for grace
 * seconds at most: then every request still in flight is cancelled
 * (remote_cancel) and fails, logged.  At unmount, after the FUSE loop has
 * ended.  Never fails. */
void fs_context_drain(struct fs *fs, double grace);
/* Finish queued jobs (metadata copies), then free everything fs owns:
 * pools, cache, inode table, remote, options.  NULL is fine.  The
 * sweeper must be stopped first. */
void fs_context_free(struct fs *fs);

/* One line to the mount's log (stderr in the foreground, syslog once
 * daemonized), prefixed "artifactfs: ".  Never fails. */
void fs_log(struct fs *fs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* remote_set_warn's callback (ctx: the struct fs): the remote's warnings
 * (answers it skipped) go to the mount's log. */
void fs_remote_warn(void *ctx, const char *msg);

extern const struct fuse_lowlevel_ops fs_ops;

#endif
