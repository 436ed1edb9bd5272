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
 * Locks, in the only order they may nest:
 *   1. wfile->lock   one open file's staging state (may be held across
 *                    network I/O: only that file's writers wait)
 *   2. fs->lock      the inode table and every inode's fields
 * Never do network I/O while holding fs->lock: copy what you need out,
 * unlock, talk to the remote, lock again and re-check.
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

enum fs_kind {
	FS_ROOT,  /* the mountpoint: job/ workflow/ project/ */
	FS_LEVEL, /* one store: read-write, but not removable */
	FS_DIR,
	FS_FILE,
	FS_SYMLINK,
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
	struct dir_listing *listing; /* directory: dircache.c, or NULL */
	unsigned long dir_changes;   /* directory: names made here */
	int unlinked;	     /* removed while open: never upload again */
	unsigned finalizing; /* metadata copies in flight (wfile.c) */
	struct wfile *wf;    /* staging while open for writing; guarded by
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
	/* Streaming multipart: parts [1..parts_sent] are in flight or done.
	 * Valid while stream_ok; any write before stream_off ends it. */
	int stream_ok;
	uint64_t stream_off; /* bytes handed to part uploads so far */
	char *upload_id;     /* multipart upload in progress, or NULL */
	struct remote_part *parts;
	int nparts, parts_cap;
	int parts_pending; /* part uploads not finished yet */
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
	double sweep_interval; /* seconds between sweeps; 0: never */
	int debug, foreground, read_only;
};

/* A directory rename in progress: files under prefix cannot be opened for
 * writing until it is done (their uploads would race the copies). */
struct fs_moving {
	const char *prefix; /* the source directory's key, borrowed */
	struct fs_moving *next;
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

	pthread_mutex_t lock;	  /* the inode table and inode fields */
	pthread_cond_t finalized; /* with lock: an inode's finalizing fell */
	struct inode *by_ino[FS_HASH_BUCKETS];
	struct inode *by_key[FS_HASH_BUCKETS];
	fuse_ino_t next_ino;
	struct inode *root;
	struct inode *levels[STORE_LEVELS];
	struct fs_moving *moving; /* renames in progress; fs->lock */

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

/* Empty table holding only the root (inode 1, key ""). */
int fs_inode_table_init(struct fs *fs);
void fs_inode_table_free(struct fs *fs);
struct inode *fs_inode_get(struct fs *fs, fuse_ino_t ino);
/* fs_inode_get taking fs->lock itself (so: fs->lock NOT held). */
struct inode *fs_inode_of(struct fs *fs, fuse_ino_t ino);
struct inode *fs_inode_by_key(struct fs *fs, const char *key);
/* Find the inode for key or make one (nlookup 0); NULL on ENOMEM. */
struct inode *fs_inode_obtain(struct fs *fs, const char *key, enum fs_kind kind,
			      enum store_level level);
/* Give an inode a new key (rename), rehashing it; an inode that held that
 * key is marked unlinked (never uploaded again).  -ENOMEM. */
int fs_inode_rekey(struct fs *fs, struct inode *in, const char *key);
/* Drop the inode from the key index (deleted); it lives on until forgotten. */
void fs_inode_unhash_key(struct fs *fs, struct inode *in);
/* Free the inode if the kernel and every handle are done with it. */
void fs_inode_maybe_free(struct fs *fs, struct inode *in);
/* Whether key lies under a directory being renamed (fs->moving). */
int fs_key_moving(struct fs *fs, const char *key);

/* ---- attrs.c: attributes from objects --------------------------------- */

/* Fill in->attr and friends from a HEAD result. */
void fs_attr_from_stat(struct fs *fs, struct inode *in,
		       const struct remote_stat *st);
/* Attributes of a directory without (or before reading) its marker. */
void fs_attr_dir_default(struct fs *fs, struct inode *in);
double fs_monotonic(void);

/* ---- wfile.c: staging and upload -------------------------------------- */

/* Start staging for in (called with fs->lock NOT held); truncate: start
 * empty instead of loading the object.  Shares an existing wfile. */
int fs_wfile_acquire(struct fs *fs, struct inode *in, int truncate,
		     struct wfile **out);
/* Take a reference on in's staging, if it has one (NULL otherwise), to use
 * it with fs->lock released.  fs->lock held.  Drop it with
 * fs_wfile_release(). */
struct wfile *fs_wfile_ref(struct inode *in);
/* Drop one reference.  The last one stores anything changed since the last
 * successful flush (a failure is only logged: close() has returned), then
 * frees the staging. */
void fs_wfile_release(struct fs *fs, struct inode *in, struct wfile *wf);
/* Undo a pin (in->opens++, taken under fs->lock to use in unlocked): drop
 * the staging reference wf first when not NULL, then the pin, freeing in
 * if no one else holds it.  fs->lock not held. */
void fs_unpin(struct fs *fs, struct inode *in, struct wfile *wf);
ssize_t fs_wfile_write(struct fs *fs, struct inode *in, struct wfile *wf,
		       const char *buf, size_t len, off_t off);
ssize_t fs_wfile_read(struct fs *fs, struct inode *in, struct wfile *wf,
		      char *buf, size_t len, off_t off);
int fs_wfile_truncate(struct fs *fs, struct inode *in, struct wfile *wf,
		      uint64_t size);
/* in's attributes or expiry changed (already in the inode).  When bytes
 * are staged in wf, the next flush carries the change; otherwise
 * store(fs, in, arg) writes it to the object now, under wf->lock (when
 * the file is open for writing, wf non-NULL) so no upload of the file runs
 * meanwhile.  0 or store's -errno.  fs->lock not held. */
int fs_wfile_meta_changed(struct fs *fs, struct inode *in, struct wfile *wf,
			  int (*store)(struct fs *fs, struct inode *in,
				       void *arg),
			  void *arg);
/* Wait until no metadata copy of a streamed upload is pending on in: call
 * before changing its object (data or metadata).  fs->lock not held. */
void fs_wait_finalized(struct fs *fs, struct inode *in);
/* The same for whatever inode holds key, if any. */
void fs_wait_finalized_key(struct fs *fs, const char *key);
/* Upload if dirty; returns 0 or the -errno close()/fsync() should give:
 * EACCES, ENOSPC, EDQUOT, EFBIG... as the store said, EIO for network and
 * server failures (the reason is logged). */
int fs_wfile_flush(struct fs *fs, struct inode *in, struct wfile *wf);
/* The same with wf->lock already held (and still held on return). */
int fs_wfile_flush_locked(struct fs *fs, struct inode *in, struct wfile *wf);

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
/* List dir (one page) and keep it for metadata_ttl.  fs->lock NOT held.
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
void fs_batch_init(struct fs_batch *b);
/* Queue fn(arg) on fs->meta_pool as part of b; -ENOMEM if it cannot. */
int fs_batch_submit(struct fs *fs, struct fs_batch *b, void (*fn)(void *),
		    void *arg);
/* Each job calls this when it is finished. */
void fs_batch_done(struct fs_batch *b);
/* Wait for every job of b, then free b's resources. */
void fs_batch_finish(struct fs_batch *b);

/* ---- sweeper.c: deleting expired artifacts of the mounted stores ------ */

/* Start the sweeper thread (none when sweep_interval is 0).  -errno. */
int fs_sweeper_start(struct fs *fs);
/* Stop it and wait for it; a sweep in progress finishes first. */
void fs_sweeper_stop(struct fs *fs);

/* ---- ops.c ------------------------------------------------------------ */

/* Make sure in's attrs are fresh (HEAD again once older than the TTL).
 * fs->lock not held.  -ENOENT when it is gone or expired. */
int fs_refresh(struct fs *fs, struct inode *in);
/* The inode for ino (-ESTALE when the kernel's number is unknown) with
 * fresh attributes (fs_refresh). */
int fs_inode_fresh(struct fs *fs, fuse_ino_t ino, struct inode **out);

/* ---- xattr.c: user.expire_in, user.expires_at, user.sha256 ------------- */

void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		 const char *value, size_t size, int flags);
void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* ---- metadata --------------------------------------------------------- */

/* Set in m the metadata of in's attributes: mode/uid/gid/mtime, expiry
 * (removed when in has none) and sha256 (the one given, else in's, else
 * whatever m held).  m may start empty or hold the object's current
 * metadata, whose other names are kept.  Takes fs->lock itself. */
int fs_meta_build(struct fs *fs, struct inode *in, const char *sha256,
		  struct remote_meta *m);

void fs_log(struct fs *fs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

extern const struct fuse_lowlevel_ops fs_ops;

#endif
