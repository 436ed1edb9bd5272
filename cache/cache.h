/*
 * cache.h - the block cache: object bytes kept on local disk in fixed-size
 * blocks, so reads are lazy and a re-read costs no request.
 *
 * A block belongs to one object version, (key, ETag): a changed object gets
 * new blocks and never serves old bytes.  Blocks live under
 * cache_dir/blocks/ and survive unmount; a new cache opened on the same
 * directory serves them without a GET.  Each block file carries a checksum
 * verified on every read; a damaged block is dropped and fetched again.
 * Least-recently-used blocks are evicted to keep the total under max_bytes.
 * A block the disk cannot take (cache_dir full) is kept in memory instead,
 * the last 8 of them, so reads go on at network speed and each block is
 * fetched once per sequential pass.
 *
 * Concurrency: every function is thread-safe.  Concurrent readers of the
 * same block cause one fetch (the others wait for it).  A sequential reader
 * (block after block of one object) triggers read-ahead of the next blocks
 * with parallel ranged GETs on background threads.  No lock is held across
 * network I/O.
 *
 * The cache also hands out staging files for writes (cache_stage_open);
 * their bytes count toward the disk budget but are never evicted: only the
 * writer deletes them once uploaded.
 */
#ifndef ARTIFACTFS_CACHE_H
#define ARTIFACTFS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "remote.h"

struct cache;

struct cache_opts {
	const char *dir;     /* cache_dir; created if missing */
	uint64_t max_bytes;  /* disk budget for blocks; 0: default 2 GiB */
	uint32_t block_size; /* 0: default 4 MiB; 64 KiB..64 MiB */
	unsigned readahead;  /* blocks to read ahead; 0: default 4 */
	unsigned fetchers;   /* background fetch threads; 0: default 4 */
};

/* Open (or reopen) the cache at opts->dir, indexing blocks already there.
 * r is borrowed and must outlive the cache.  -errno with err set on a
 * directory that cannot be used. */
int cache_open(const struct cache_opts *opts, struct remote *r,
	       struct cache **out, struct remote_error *err);
/* Stop background fetches and free memory; blocks stay on disk. */
void cache_close(struct cache *c);

/* Read up to len bytes at off of the object (key, etag, size) into buf.
 * sha256 (64 hex digits, or NULL/"" when unknown) is the object's stored
 * digest: an object that fits in one block is checked against it when
 * fetched, before it is served or cached; a mismatch (bytes changed on the
 * wire) is fetched again, twice at most, then -EIO, counted in
 * corrupt_wire.  Returns the number of bytes read (short only at end of
 * object) or
 * -errno: -ESTALE when the object changed on the remote since etag (the
 * caller should look it up again), -EIO etc. from the remote, with the
 * reason in err (may be NULL): the backend's sentence, or which block a
 * fetch of another reader failed on. */
ssize_t cache_read(struct cache *c, const char *key, const char *etag,
		   uint64_t size, const char *sha256, uint64_t off, size_t len,
		   void *buf, struct remote_error *err);

/* Forget every cached block of (key, etag), e.g. after a delete. */
void cache_invalidate(struct cache *c, const char *key, const char *etag);

/* Create a new staging file for a write; returns an fd open O_RDWR on an
 * already-unlinked file (nothing to clean up after a crash).  -errno. */
int cache_stage_open(struct cache *c);

/* Account for staged bytes: delta may be negative.  When the budget is
 * short, clean blocks are evicted to make room; staged bytes never are. */
void cache_stage_account(struct cache *c, int64_t delta);

struct cache_stats {
	uint64_t hits, misses; /* blocks served from disk / fetched */
	uint64_t block_bytes;  /* bytes of blocks on disk */
	uint64_t staged_bytes; /* bytes in staging files */
	uint64_t evictions;
	uint64_t corrupt;      /* blocks dropped on a bad checksum */
	uint64_t corrupt_wire; /* fetches whose bytes failed the SHA-256 */
	uint64_t readahead;    /* blocks fetched ahead of need */
	uint64_t mem_blocks;   /* blocks kept in memory: cache_dir was full */
};
void cache_get_stats(struct cache *c, struct cache_stats *out);

/* The configured block size. */
uint32_t cache_block_size(const struct cache *c);

#endif
