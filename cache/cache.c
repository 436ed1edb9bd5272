/*
 * cache.c - the block cache (contract in cache.h; README, "The block cache").
 *
 * On disk, under opts->dir:
 *   lock                  flock()ed while a cache is open: one mount per dir
 *   staging/              staging files, unlinked from birth
 *   blocks/HH/OBJ.N       block N of object OBJ, where OBJ is the hex SHA-256
 *                         of "key NUL etag NUL block_size" and HH its first
 *                         two digits (so a new ETag or block size never
 *                         finds old blocks)
 *   blocks/HH/.tmp-OBJ.N  a block being written; renamed into place whole
 *
 * A block file is a header followed by the block's bytes (little-endian):
 *   0  "AFSBLK02"          8  u32 block size      12 u32 data length
 *   16 u64 block number    24 u32 chunk size      28 u32 number of chunks
 *   32 u32 crc32 of bytes 0..31
 *   36 u32 crc32 of each CHUNK (4 KiB) of data, then the data.
 * A read checks the fixed header, then reads the crcs of only the chunks it
 * touches and verifies those chunks, so a 4 KiB read of a 4 MiB block costs
 * three small preads and one 4 KiB crc.  The crc table has no checksum of
 * its own: a damaged entry fails its chunk's check like damaged data, and
 * the block is dropped.  Files are written under a
 * temporary name and renamed; there is no fsync: after a crash a file whose
 * data never reached the disk fails its checksum (or its size check) and is
 * dropped and fetched again, so the checksum, not write ordering, is what
 * keeps a torn block from being served.
 *
 * In memory every block we know of is a struct block in a hash table keyed
 * by (OBJ, N).  Its state says who may touch its file:
 *   QUEUED    waiting for a read-ahead thread; no file yet
 *   FETCHING  one thread (the owner, holding a pin) is fetching and writing
 *   PRESENT   file complete; on the LRU list; readers pin it while reading
 *   REMOVING  one thread (the owner) is unlinking the file
 *   GONE      out of the table; err/retry tell waiters what happened
 * Only the owner of a FETCHING or REMOVING block touches its file name, so
 * the rename and unlink can run without the lock.  A pinned block is never
 * evicted; a block is freed when it is out of the table and unpinned.
 *
 * Locking: one mutex, c->lock, guards the hash table, the LRU list, every
 * mutable field of struct block, the read-ahead streams, the fetch queue,
 * staged bytes and the stats.  Two condition variables go with it: c->done
 * (some block left FETCHING or REMOVING) and c->work (a job was queued or
 * the cache is closing).  There is no other lock in this file, hence no lock
 * order beyond "the backend's own locks are only ever taken by remote_get(),
 * never with c->lock held".  Network I/O, block reads and writes, rename and
 * unlink all happen with c->lock released.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cache.h"
#include "digest.h"

#define CHUNK		  (4u * 1024)
#define MIN_BLOCK	  (64u * 1024)
#define MAX_BLOCK	  (64u * 1024 * 1024)
#define HDR_FIXED	  36
#define MAGIC		  "AFSBLK02"
#define CRC_STACK	  256 /* chunk crcs read without malloc */
#define OBJ_HEX		  64
#define NAME_MAX_LEN	  128
#define NSTREAMS	  32
#define NMEM		  8 /* blocks kept in memory when the disk is full */
#define DEFAULT_MAX_BYTES (2ull * 1024 * 1024 * 1024)
#define DEFAULT_BLOCK	  (4u * 1024 * 1024)
#define DEFAULT_READAHEAD 4
#define DEFAULT_FETCHERS  4
#define MAX_FETCHERS	  64

enum bstate { B_QUEUED, B_FETCHING, B_PRESENT, B_REMOVING, B_GONE };

struct block {
	struct block *hnext;	   /* hash chain; lock */
	struct block *prev, *next; /* LRU, only while PRESENT; lock */
	struct block *vnext;	   /* victim list; owner while REMOVING */
	char obj[OBJ_HEX + 1];	   /* immutable */
	uint64_t no;		   /* immutable */
	uint64_t disk;		   /* file size while PRESENT; lock */
	enum bstate state;	   /* lock */
	unsigned pins;		   /* threads and jobs holding it; lock */
	int err;		   /* GONE: the fetch's error; lock */
	bool retry;		   /* GONE: waiters should look again; lock */
	bool hashed;		   /* in c->tab; lock */
	bool doomed;		   /* invalidated: drop when unpinned; lock */
	bool bg;		   /* being fetched by read-ahead; lock */
};

/* A read-ahead fetch waiting in c->qhead.  Owns its strings and one pin. */
struct job {
	struct job *next;
	struct block *b;
	char *key;
	char *etag;
	uint32_t len;
};

/* The last block read of one object, to spot sequential readers. */
struct stream {
	char obj[OBJ_HEX + 1];
	uint64_t last;
	uint64_t stamp; /* 0: slot unused; else c->tick at last use */
};

struct cache {
	char *dir;	    /* immutable */
	struct remote *r;   /* borrowed; immutable */
	uint64_t max_bytes; /* immutable */
	uint32_t bs;	    /* immutable */
	unsigned ra;	    /* immutable */
	int lock_fd;	    /* immutable */
	int blocks_fd;	    /* immutable */
	int staging_fd;	    /* immutable */

	pthread_mutex_t lock;
	pthread_cond_t done;
	pthread_cond_t work;
	bool sync_ok; /* lock and conds initialised; immutable after open */

	struct block **tab; /* lock */
	size_t nbuckets;    /* power of two; lock */
	size_t nblocks;	    /* lock */
	struct block lru;   /* sentinel: lru.next most recent; lock */

	struct job *qhead, *qtail; /* lock */
	size_t qlen, qmax;	   /* lock; qmax immutable */
	bool stop;		   /* lock */

	struct stream streams[NSTREAMS]; /* lock */
	uint64_t tick;			 /* lock */

	pthread_t *threads; /* immutable after open */
	unsigned nthreads;  /* immutable after open */

	struct cache_stats st; /* lock */

	/* Blocks fetched that the disk could not take (cache_dir full):
	 * kept in memory, the last NMEM of them, so a sequential reader
	 * gets each block once instead of once per read. */
	struct memblk {
		char obj[OBJ_HEX + 1]; /* "" when the slot is free */
		uint64_t no;
		unsigned char *data;
		uint32_t len;
		uint64_t stamp;
	} mem[NMEM]; /* lock */
};

/* ---- blocks held in memory ------------------------------------------------
 */

/* The memory copy of block no of obj, or NULL.  c->lock held. */
static struct memblk *mem_get(struct cache *c, const char *obj, uint64_t no)
{
	for (int i = 0; i < NMEM; i++)
		if (c->mem[i].data && c->mem[i].no == no &&
		    memcmp(c->mem[i].obj, obj, OBJ_HEX) == 0) {
			c->mem[i].stamp = ++c->tick;
			return &c->mem[i];
		}
	return NULL;
}

/* Keep data (len bytes, malloc'd; the cache owns it now) as block no of
 * obj, in place of the least recently used slot.  c->lock held. */
static void mem_put(struct cache *c, const char *obj, uint64_t no,
		    unsigned char *data, uint32_t len)
{
	struct memblk *m = &c->mem[0];

	for (int i = 0; i < NMEM; i++) {
		if (c->mem[i].data && c->mem[i].no == no &&
		    memcmp(c->mem[i].obj, obj, OBJ_HEX) == 0) {
			m = &c->mem[i];
			break;
		}
		if (!c->mem[i].data || c->mem[i].stamp < m->stamp)
			m = &c->mem[i];
	}
	free(m->data);
	memcpy(m->obj, obj, OBJ_HEX + 1);
	m->no = no;
	m->data = data;
	m->len = len;
	m->stamp = ++c->tick;
	c->st.mem_blocks++;
}

/* Drop the memory copies of obj (every block when obj is NULL).  c->lock
 * held. */
static void mem_drop(struct cache *c, const char *obj)
{
	for (int i = 0; i < NMEM; i++) {
		if (!c->mem[i].data ||
		    (obj && memcmp(c->mem[i].obj, obj, OBJ_HEX) != 0))
			continue;
		free(c->mem[i].data);
		c->mem[i].data = NULL;
		c->mem[i].obj[0] = '\0';
	}
}

/* ---- small helpers ------------------------------------------------------ */

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t crc(const void *p, size_t n)
{
	return (uint32_t)crc32(0L, (const Bytef *)p, (uInt)n);
}

static uint32_t nchunks(uint32_t len)
{
	return (len + CHUNK - 1) / CHUNK;
}

static size_t hdr_len(uint32_t len)
{
	return HDR_FIXED + 4 * (size_t)nchunks(len);
}

/* The length of chunk i of a block of len data bytes. */
static uint32_t chunk_len(uint32_t len, uint32_t i)
{
	return len - i * CHUNK < CHUNK ? len - i * CHUNK : CHUNK;
}

/* pread exactly n bytes; -EBADMSG if the file ends first, -errno on error. */
static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = pread(fd, (char *)buf + done, n - done,
				  (off_t)(off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EBADMSG;
		done += (size_t)k;
	}
	return 0;
}

static int pwrite_full(int fd, const void *buf, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = pwrite(fd, (const char *)buf + done, n - done,
				   (off_t)(off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		done += (size_t)k;
	}
	return 0;
}

/* OBJ for (key, etag) at block size bs, as 64 hex digits.  -ENOMEM. */
static int objid(const char *key, const char *etag, uint32_t bs,
		 char out[OBJ_HEX + 1])
{
	struct digest_sha256 *d = digest_sha256_new();
	char bsbuf[16];
	int n;

	if (!d)
		return -ENOMEM;
	n = snprintf(bsbuf, sizeof(bsbuf), "%u", (unsigned)bs);
	digest_sha256_update(d, key, strlen(key) + 1);
	digest_sha256_update(d, etag, strlen(etag) + 1);
	digest_sha256_update(d, bsbuf, (size_t)n);
	digest_sha256_final(d, out);
	return 0;
}

/* "HH/OBJ.N" or "HH/.tmp-OBJ.N", relative to c->blocks_fd. */
static void block_name(const char *obj, uint64_t no, bool tmp,
		       char out[NAME_MAX_LEN])
{
	snprintf(out, NAME_MAX_LEN, "%.2s/%s%s.%llu", obj, tmp ? ".tmp-" : "",
		 obj, (unsigned long long)no);
}

/* Data bytes of block no of an object of size bytes. */
static uint32_t block_len(const struct cache *c, uint64_t size, uint64_t no)
{
	uint64_t start = no * c->bs;
	uint64_t left = size > start ? size - start : 0;

	return left < c->bs ? (uint32_t)left : c->bs;
}

/* ---- index: hash table and LRU (all with c->lock held) ------------------ */

static size_t bucket(const struct cache *c, const char *obj, uint64_t no)
{
	uint64_t h = 0;

	for (int i = 0; i < 16; i++) {
		char ch = obj[i];
		h = (h << 4) | (uint64_t)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
	}
	h ^= (no + 1) * 0x9E3779B97F4A7C15ull;
	h ^= h >> 29;
	return (size_t)h & (c->nbuckets - 1);
}

static struct block *lookup(const struct cache *c, const char *obj, uint64_t no)
{
	struct block *b = c->tab[bucket(c, obj, no)];

	while (b && (b->no != no || memcmp(b->obj, obj, OBJ_HEX) != 0))
		b = b->hnext;
	return b;
}

/* Double the table when it gets crowded; on ENOMEM keep the old one (only
 * lookups get slower). */
static void grow(struct cache *c)
{
	size_t oldn = c->nbuckets;
	struct block **old = c->tab;
	struct block **tab = calloc(oldn * 2, sizeof(*tab));

	if (!tab)
		return;
	c->tab = tab;
	c->nbuckets = oldn * 2;
	for (size_t i = 0; i < oldn; i++) {
		struct block *b = old[i];
		while (b) {
			struct block *next = b->hnext;
			size_t k = bucket(c, b->obj, b->no);
			b->hnext = tab[k];
			tab[k] = b;
			b = next;
		}
	}
	free(old);
}

static void hash_insert(struct cache *c, struct block *b)
{
	size_t k;

	if (c->nblocks >= c->nbuckets)
		grow(c);
	k = bucket(c, b->obj, b->no);
	b->hnext = c->tab[k];
	c->tab[k] = b;
	b->hashed = true;
	c->nblocks++;
}

static void hash_remove(struct cache *c, struct block *b)
{
	struct block **pp = &c->tab[bucket(c, b->obj, b->no)];

	if (!b->hashed)
		return;
	while (*pp && *pp != b)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = b->hnext;
	b->hnext = NULL;
	b->hashed = false;
	c->nblocks--;
}

static void lru_remove(struct block *b)
{
	b->prev->next = b->next;
	b->next->prev = b->prev;
	b->prev = NULL;
	b->next = NULL;
}

static void lru_push_front(struct cache *c, struct block *b)
{
	b->next = c->lru.next;
	b->prev = &c->lru;
	c->lru.next->prev = b;
	c->lru.next = b;
}

/* A new block in state st, in the table, with one pin.  NULL on ENOMEM. */
static struct block *block_new(struct cache *c, const char *obj, uint64_t no,
			       enum bstate st)
{
	struct block *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	memcpy(b->obj, obj, OBJ_HEX + 1);
	b->no = no;
	b->state = st;
	b->pins = 1;
	hash_insert(c, b);
	return b;
}

/* Turn a PRESENT block into REMOVING, owned by whoever reaps *victims (it
 * takes a pin for that). */
static void make_victim(struct cache *c, struct block *b,
			struct block **victims)
{
	lru_remove(b);
	c->st.block_bytes -= b->disk;
	b->state = B_REMOVING;
	b->pins++;
	b->vnext = *victims;
	*victims = b;
}

/* Evict unpinned blocks from the cold end until blocks plus staged bytes
 * fit in max_bytes (or nothing unpinned is left). */
static void evict(struct cache *c, struct block **victims)
{
	struct block *b = c->lru.prev;

	while (b != &c->lru &&
	       c->st.block_bytes + c->st.staged_bytes > c->max_bytes) {
		struct block *prev = b->prev;
		if (b->pins == 0) {
			make_victim(c, b, victims);
			c->st.evictions++;
		}
		b = prev;
	}
}

/* Drop one pin.  The last pin frees a block already out of the table,
 * queues an invalidated PRESENT block for removal, or evicts if pinned
 * blocks had kept us over budget.  victims may be NULL only when b is known
 * to be out of the table. */
static void unpin(struct cache *c, struct block *b, struct block **victims)
{
	b->pins--;
	if (b->pins > 0)
		return;
	if (!b->hashed)
		free(b);
	else if (b->doomed && b->state == B_PRESENT)
		make_victim(c, b, victims);
	else if (b->state == B_PRESENT)
		evict(c, victims);
}

/* Unlink the files of victims (c->lock NOT held), then take them out of
 * the table and wake whoever waits on them. */
static void reap(struct cache *c, struct block *victims)
{
	char name[NAME_MAX_LEN];
	struct block *b;

	if (!victims)
		return;
	for (b = victims; b; b = b->vnext) {
		block_name(b->obj, b->no, false, name);
		unlinkat(c->blocks_fd, name, 0);
	}
	pthread_mutex_lock(&c->lock);
	while (victims) {
		b = victims;
		victims = b->vnext;
		hash_remove(c, b);
		b->state = B_GONE;
		b->retry = true;
		unpin(c, b, NULL);
	}
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
}

/* ---- block files (no lock held) ----------------------------------------- */

/* Write data as block no of obj: temp file then rename.  *disk receives the
 * file size.  -errno (ENOSPC...) leaves no file behind. */
static int store_block(struct cache *c, const char *obj, uint64_t no,
		       const unsigned char *data, uint32_t len, uint64_t *disk)
{
	char tmp[NAME_MAX_LEN], name[NAME_MAX_LEN], dir[3];
	size_t hlen = hdr_len(len);
	uint32_t n = nchunks(len);
	unsigned char *hdr = malloc(hlen);
	int fd = -1;
	int rc = 0;

	block_name(obj, no, true, tmp);
	block_name(obj, no, false, name);
	if (!hdr)
		return -ENOMEM;
	memcpy(hdr, MAGIC, 8);
	put32(hdr + 8, c->bs);
	put32(hdr + 12, len);
	put64(hdr + 16, no);
	put32(hdr + 24, CHUNK);
	put32(hdr + 28, n);
	put32(hdr + 32, crc(hdr, 32));
	for (uint32_t i = 0; i < n; i++)
		put32(hdr + HDR_FIXED + 4 * i,
		      crc(data + (size_t)i * CHUNK, chunk_len(len, i)));

	fd = openat(c->blocks_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644);
	if (fd < 0 && errno == ENOENT) {
		memcpy(dir, obj, 2);
		dir[2] = '\0';
		if (mkdirat(c->blocks_fd, dir, 0755) < 0 && errno != EEXIST) {
			rc = -errno;
			goto out;
		}
		fd = openat(c->blocks_fd, tmp,
			    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	}
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = pwrite_full(fd, hdr, hlen, 0);
	if (rc)
		goto out;
	rc = pwrite_full(fd, data, len, hlen);
	if (rc)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto out;
	}
	fd = -1;
	if (renameat(c->blocks_fd, tmp, c->blocks_fd, name) < 0) {
		rc = -errno;
		goto out;
	}
	*disk = hlen + len;
out:
	free(hdr);
	if (fd >= 0)
		close(fd);
	if (rc)
		unlinkat(c->blocks_fd, tmp, 0);
	return rc;
}

/* Copy bytes [a, b) of block no of obj (len data bytes) into out, checking
 * the header and the crc of every chunk touched.  -EBADMSG when the file is
 * damaged or not the block we expect, -ENOENT when it vanished, other
 * -errno on I/O errors.  out may hold garbage after a failure. */
static int read_block_file(struct cache *c, const char *obj, uint64_t no,
			   uint32_t len, uint32_t a, uint32_t b, void *out)
{
	char name[NAME_MAX_LEN];
	unsigned char hdr[HDR_FIXED];
	unsigned char crcs_stack[4 * CRC_STACK];
	unsigned char *crcs = crcs_stack;
	size_t hlen = hdr_len(len);
	uint32_t c0 = a / CHUNK, c1 = (b - 1) / CHUNK;
	uint32_t from = c0 * CHUNK;
	uint32_t to = (c1 + 1) * CHUNK < len ? (c1 + 1) * CHUNK : len;
	unsigned char *tmp = NULL;
	unsigned char *dst = NULL;
	struct stat st;
	int fd = -1;
	int rc = 0;

	block_name(obj, no, false, name);
	fd = openat(c->blocks_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if ((uint64_t)st.st_size != hlen + len) {
		rc = -EBADMSG;
		goto out;
	}
	rc = pread_full(fd, hdr, HDR_FIXED, 0);
	if (rc)
		goto out;
	if (memcmp(hdr, MAGIC, 8) != 0 || get32(hdr + 8) != c->bs ||
	    get32(hdr + 12) != len || get64(hdr + 16) != no ||
	    get32(hdr + 24) != CHUNK || get32(hdr + 28) != nchunks(len) ||
	    get32(hdr + 32) != crc(hdr, 32)) {
		rc = -EBADMSG;
		goto out;
	}
	if (c1 - c0 + 1 > CRC_STACK) {
		crcs = malloc(4 * (size_t)(c1 - c0 + 1));
		if (!crcs) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = pread_full(fd, crcs, 4 * (size_t)(c1 - c0 + 1),
			HDR_FIXED + 4 * (uint64_t)c0);
	if (rc)
		goto out;
	if (from == a && to == b) {
		dst = out;
	} else {
		tmp = malloc(to - from);
		if (!tmp) {
			rc = -ENOMEM;
			goto out;
		}
		dst = tmp;
	}
	rc = pread_full(fd, dst, to - from, hlen + from);
	if (rc)
		goto out;
	for (uint32_t i = c0; i <= c1; i++) {
		if (crc(dst + (i * CHUNK - from), chunk_len(len, i)) !=
		    get32(crcs + 4 * (i - c0))) {
			rc = -EBADMSG;
			goto out;
		}
	}
	if (tmp)
		memcpy(out, tmp + (a - from), b - a);
out:
	if (crcs != crcs_stack)
		free(crcs);
	free(tmp);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* GET block no of (key, etag), len bytes, pinned to etag, and store it.
 * On success *data is the malloc'd block (caller frees) and *disk the
 * stored file size, 0 when storing failed (the data is still good).
 * -ESTALE when the object changed, -EIO when it is shorter than len,
 * other -errno from the remote. */
static int fetch_block(struct cache *c, const char *obj, uint64_t no,
		       const char *key, const char *etag, uint32_t len,
		       const char *sha256, unsigned char **data, uint64_t *disk,
		       struct remote_error *err)
{
	unsigned char *buf = malloc(len ? len : 1);
	size_t done = 0;
	int tries = 0;
	int rc = 0;

	*data = NULL;
	*disk = 0;
	if (!buf)
		return -ENOMEM;
again:
	done = 0;
	while (done < len) {
		size_t got = 0;
		rc = remote_get(c->r, key, no * c->bs + done, len - done,
				buf + done, &got, etag, err);
		if (rc)
			goto out;
		if (got == 0) {
			rc = remote_error_set(err, -EIO,
					      "%s ended early, in block %llu",
					      key, (unsigned long long)no);
			goto out;
		}
		done += got;
	}
	if (sha256 && sha256[0]) {
		/* The whole object: its stored digest says whether these are
		 * the bytes that were written. */
		char hex[DIGEST_SHA256_HEX];

		digest_sha256_buf(buf, len, hex);
		if (strcmp(hex, sha256) != 0) {
			pthread_mutex_lock(&c->lock);
			c->st.corrupt_wire++;
			pthread_mutex_unlock(&c->lock);
			if (++tries < 3)
				goto again;
			rc = remote_error_set(err, -EIO,
					      "%s: the server sent other bytes "
					      "than were stored (SHA-256 "
					      "mismatch, %d tries)",
					      key, tries);
			goto out;
		}
	}
	if (store_block(c, obj, no, buf, len, disk) != 0)
		*disk = 0;
	*data = buf;
	buf = NULL;
out:
	free(buf);
	return rc;
}

/* With c->lock held: record the end of b's fetch (rc, disk as from
 * fetch_block), wake waiters, and evict to make room. */
static void fetch_done(struct cache *c, struct block *b, int rc, uint64_t disk,
		       struct block **victims)
{
	if (rc == 0 && disk) {
		b->state = B_PRESENT;
		b->disk = disk;
		c->st.block_bytes += disk;
		lru_push_front(c, b);
	} else {
		hash_remove(c, b);
		b->state = B_GONE;
		b->err = rc;
		b->retry = rc == 0 || b->bg;
	}
	if (rc == 0 && b->bg)
		c->st.readahead++;
	else if (rc == 0)
		c->st.misses++;
	pthread_cond_broadcast(&c->done);
	evict(c, victims);
}

/* ---- read-ahead --------------------------------------------------------- */

/* With c->lock held: note that blocks [first, last] of obj are being read
 * and, when that continues a sequential stream, queue the next c->ra blocks
 * not already known.  Never blocks; drops read-ahead on ENOMEM or a full
 * queue. */
static void readahead_note(struct cache *c, const char *obj, const char *key,
			   const char *etag, uint64_t size, uint64_t first,
			   uint64_t last)
{
	struct stream *s = NULL;
	struct stream *old = &c->streams[0];
	uint64_t nblk = (size + c->bs - 1) / c->bs;
	bool seq;
	bool queued = false;

	for (int i = 0; i < NSTREAMS; i++) {
		if (c->streams[i].stamp &&
		    memcmp(c->streams[i].obj, obj, OBJ_HEX) == 0) {
			s = &c->streams[i];
			break;
		}
		if (c->streams[i].stamp < old->stamp)
			old = &c->streams[i];
	}
	if (!s) {
		memcpy(old->obj, obj, OBJ_HEX + 1);
		old->last = last;
		old->stamp = ++c->tick;
		return;
	}
	seq = first == s->last || first == s->last + 1;
	s->last = last;
	s->stamp = ++c->tick;
	if (!seq || c->nthreads == 0)
		return;
	for (uint64_t no = last + 1; no <= last + c->ra && no < nblk; no++) {
		struct job *j = NULL;
		struct block *b = NULL;

		if (lookup(c, obj, no) || mem_get(c, obj, no))
			continue;
		if (c->qlen >= c->qmax)
			break;
		j = calloc(1, sizeof(*j));
		if (j) {
			j->key = strdup(key);
			j->etag = strdup(etag);
		}
		if (j && j->key && j->etag)
			b = block_new(c, obj, no, B_QUEUED);
		if (!b) {
			if (j) {
				free(j->key);
				free(j->etag);
			}
			free(j);
			break;
		}
		b->bg = true;
		j->b = b;
		j->len = block_len(c, size, no);
		if (c->qtail)
			c->qtail->next = j;
		else
			c->qhead = j;
		c->qtail = j;
		c->qlen++;
		queued = true;
	}
	if (queued)
		pthread_cond_broadcast(&c->work);
}

static void job_free(struct job *j)
{
	free(j->key);
	free(j->etag);
	free(j);
}

/* A read-ahead thread: fetch queued blocks until the cache closes.  A
 * block a reader took over meanwhile (no longer QUEUED) is skipped; a
 * failure is dropped (the block leaves the table; a reader retries). */
static void *fetcher(void *arg)
{
	struct cache *c = arg;

	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		struct block *victims = NULL;
		unsigned char *data = NULL;
		struct job *j = c->qhead;
		struct block *b = NULL;

		if (!j) {
			pthread_cond_wait(&c->work, &c->lock);
			continue;
		}
		c->qhead = j->next;
		if (!c->qhead)
			c->qtail = NULL;
		c->qlen--;
		b = j->b;
		if (b->state == B_QUEUED && !b->doomed) {
			uint64_t disk = 0;
			int rc;

			b->state = B_FETCHING;
			pthread_mutex_unlock(&c->lock);
			rc = fetch_block(c, b->obj, b->no, j->key, j->etag,
					 j->len, NULL, &data, &disk, NULL);
			pthread_mutex_lock(&c->lock);
			if (rc == 0 && !disk && data) {
				mem_put(c, b->obj, b->no, data, j->len);
				data = NULL;
			}
			fetch_done(c, b, rc, disk, &victims);
		} else if (b->state == B_QUEUED) {
			hash_remove(c, b);
			b->state = B_GONE;
			b->retry = true;
		}
		unpin(c, b, &victims);
		pthread_mutex_unlock(&c->lock);
		reap(c, victims);
		free(data);
		job_free(j);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* ---- reads -------------------------------------------------------------- */

/* Copy bytes [a, b) of block no of obj into out: from disk when present
 * (dropping and refetching a damaged block), else fetched once however
 * many readers want it.  0 or -errno (-ESTALE from the remote). */
static int read_one(struct cache *c, const char *obj, const char *key,
		    const char *etag, uint64_t size, const char *sha256,
		    uint64_t no, uint32_t a, uint32_t b, unsigned char *out,
		    struct remote_error *err)
{
	uint32_t len = block_len(c, size, no);
	struct block *victims = NULL;
	unsigned char *data = NULL;
	struct block *blk = NULL;
	uint64_t disk = 0;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct memblk *m;

		blk = lookup(c, obj, no);
		if (!blk && (m = mem_get(c, obj, no)) != NULL) {
			/* Fetched before, the disk could not take it. */
			memcpy(out, m->data + a, b - a);
			c->st.hits++;
			goto out_locked;
		}
		if (!blk) {
			blk = block_new(c, obj, no, B_FETCHING);
			if (!blk) {
				rc = -ENOMEM;
				goto out_locked;
			}
			break;
		}
		if (blk->state == B_QUEUED) {
			/* Take the read-ahead job over: its thread will skip
			 * it. */
			blk->state = B_FETCHING;
			blk->bg = false;
			blk->pins++;
			break;
		}
		blk->pins++;
		if (blk->state != B_PRESENT) {
			while (blk->state == B_FETCHING ||
			       blk->state == B_REMOVING)
				pthread_cond_wait(&c->done, &c->lock);
			if (blk->state == B_GONE && !blk->retry) {
				rc = remote_error_set(
					err, blk->err,
					"fetching block %llu failed: %s",
					(unsigned long long)no,
					strerror(-blk->err));
				unpin(c, blk, NULL);
				goto out_locked;
			}
			unpin(c, blk, &victims);
			continue;
		}
		if (blk->prev != &c->lru) {
			lru_remove(blk);
			lru_push_front(c, blk);
		}
		pthread_mutex_unlock(&c->lock);
		rc = read_block_file(c, obj, no, len, a, b, out);
		pthread_mutex_lock(&c->lock);
		if (rc == 0) {
			c->st.hits++;
			unpin(c, blk, &victims);
			goto out_locked;
		}
		if (rc != -EBADMSG && rc != -ENOENT) {
			unpin(c, blk, &victims);
			goto out_locked;
		}
		if (blk->state == B_PRESENT) {
			/* Damaged or gone: remove it ourselves, then refetch.
			 */
			char name[NAME_MAX_LEN];

			if (rc == -EBADMSG)
				c->st.corrupt++;
			lru_remove(blk);
			c->st.block_bytes -= blk->disk;
			blk->state = B_REMOVING;
			pthread_mutex_unlock(&c->lock);
			block_name(obj, no, false, name);
			unlinkat(c->blocks_fd, name, 0);
			pthread_mutex_lock(&c->lock);
			hash_remove(c, blk);
			blk->state = B_GONE;
			blk->retry = true;
			pthread_cond_broadcast(&c->done);
		}
		rc = 0;
		unpin(c, blk, &victims);
	}

	/* We own blk in state FETCHING, with one pin. */
	pthread_mutex_unlock(&c->lock);
	/* An object within one block is checked whole against its digest. */
	rc = fetch_block(c, obj, no, key, etag, len,
			 no == 0 && len == size ? sha256 : NULL, &data, &disk,
			 err);
	pthread_mutex_lock(&c->lock);
	if (rc == 0 && !disk && data) {
		/* cache_dir is full: keep it in memory for the next reads. */
		memcpy(out, data + a, b - a);
		mem_put(c, obj, no, data, len);
		data = NULL;
	}
	fetch_done(c, blk, rc, disk, &victims);
	unpin(c, blk, &victims);
out_locked:
	pthread_mutex_unlock(&c->lock);
	reap(c, victims);
	if (data && rc == 0)
		memcpy(out, data + a, b - a);
	free(data);
	return rc;
}

ssize_t cache_read(struct cache *c, const char *key, const char *etag,
		   uint64_t size, const char *sha256, uint64_t off, size_t len,
		   void *buf, struct remote_error *err)
{
	char obj[OBJ_HEX + 1];
	uint64_t end, first, last;
	int rc;

	if (off >= size || len == 0)
		return 0;
	end = len < size - off ? off + len : size;
	rc = objid(key, etag, c->bs, obj);
	if (rc)
		return rc;
	first = off / c->bs;
	last = (end - 1) / c->bs;

	pthread_mutex_lock(&c->lock);
	readahead_note(c, obj, key, etag, size, first, last);
	pthread_mutex_unlock(&c->lock);

	for (uint64_t no = first; no <= last; no++) {
		uint64_t start = no * c->bs;
		uint64_t a = off > start ? off - start : 0;
		uint64_t b = end - start < c->bs ? end - start : c->bs;

		rc = read_one(c, obj, key, etag, size, sha256, no, (uint32_t)a,
			      (uint32_t)b,
			      (unsigned char *)buf + (start + a - off), err);
		if (rc)
			return rc;
	}
	return (ssize_t)(end - off);
}

void cache_invalidate(struct cache *c, const char *key, const char *etag)
{
	struct block *victims = NULL;
	char obj[OBJ_HEX + 1];

	if (objid(key, etag, c->bs, obj) != 0)
		return;
	pthread_mutex_lock(&c->lock);
	mem_drop(c, obj);
	for (size_t i = 0; i < c->nbuckets; i++) {
		for (struct block *b = c->tab[i]; b; b = b->hnext) {
			if (memcmp(b->obj, obj, OBJ_HEX) != 0)
				continue;
			if (b->state == B_PRESENT && b->pins == 0)
				make_victim(c, b, &victims);
			else
				b->doomed = true;
		}
	}
	pthread_mutex_unlock(&c->lock);
	reap(c, victims);
}

/* ---- staging ------------------------------------------------------------ */

int cache_stage_open(struct cache *c)
{
	char path[PATH_MAX];
	int fd;
	int n;

	fd = openat(c->staging_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	n = snprintf(path, sizeof(path), "%s/staging/stage-XXXXXX", c->dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

void cache_stage_account(struct cache *c, int64_t delta)
{
	struct block *victims = NULL;

	pthread_mutex_lock(&c->lock);
	if (delta < 0 && (uint64_t)(-(delta + 1)) + 1 > c->st.staged_bytes)
		c->st.staged_bytes = 0;
	else
		c->st.staged_bytes += (uint64_t)delta;
	if (delta > 0)
		evict(c, &victims);
	pthread_mutex_unlock(&c->lock);
	reap(c, victims);
}

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->st;
	pthread_mutex_unlock(&c->lock);
}

uint32_t cache_block_size(const struct cache *c)
{
	return c->bs;
}

/* ---- open and close ----------------------------------------------------- */

struct found {
	struct block *b;
	int64_t when;
};

static int found_cmp(const void *x, const void *y)
{
	const struct found *a = x, *b = y;

	return (a->when > b->when) - (a->when < b->when);
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Parse "OBJ.N" into obj and *no; false for anything else. */
static bool parse_name(const char *name, char obj[OBJ_HEX + 1], uint64_t *no)
{
	const char *p = name + OBJ_HEX + 1;
	char *end = NULL;

	if (strlen(name) < OBJ_HEX + 2 || !is_hex(name, OBJ_HEX) ||
	    name[OBJ_HEX] != '.' || *p < '0' || *p > '9')
		return false;
	errno = 0;
	*no = strtoull(p, &end, 10);
	if (errno || *end != '\0')
		return false;
	memcpy(obj, name, OBJ_HEX);
	obj[OBJ_HEX] = '\0';
	return true;
}

/* Index one directory blocks/HH: add its blocks to *list (growing it),
 * unlink temp files left by a crash and files too small to be a block. */
static int scan_dir(struct cache *c, const char *hh, struct found **list,
		    size_t *n, size_t *cap)
{
	struct dirent *de;
	DIR *d = NULL;
	int fd = -1;
	int rc = 0;

	fd = openat(c->blocks_fd, hh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOTDIR ? 0 : -errno;
	d = fdopendir(fd);
	if (!d) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		char obj[OBJ_HEX + 1];
		struct stat st;
		struct block *b;
		uint64_t no;

		if (strncmp(de->d_name, ".tmp-", 5) == 0) {
			unlinkat(fd, de->d_name, 0);
			continue;
		}
		if (!parse_name(de->d_name, obj, &no) ||
		    memcmp(obj, hh, 2) != 0)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if ((uint64_t)st.st_size < HDR_FIXED) {
			unlinkat(fd, de->d_name, 0);
			continue;
		}
		if (lookup(c, obj, no))
			continue;
		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 256;
			struct found *nl =
				realloc(*list, ncap * sizeof(**list));
			if (!nl) {
				rc = -ENOMEM;
				goto out;
			}
			*list = nl;
			*cap = ncap;
		}
		b = block_new(c, obj, no, B_PRESENT);
		if (!b) {
			rc = -ENOMEM;
			goto out;
		}
		b->pins = 0;
		b->disk = (uint64_t)st.st_size;
		(*list)[*n].b = b;
		(*list)[*n].when = st.st_atim.tv_sec > st.st_mtim.tv_sec
					   ? st.st_atim.tv_sec
					   : st.st_mtim.tv_sec;
		(*n)++;
	}
out:
	closedir(d);
	return rc;
}

/* Rebuild the index from blocks/: every block file becomes PRESENT, in LRU
 * order of its newer of atime and mtime (atime moves only as the
 * filesystem's relatime allows, so the order is approximate).  Called
 * before any thread runs; takes c->lock only to keep the helpers honest. */
static int scan(struct cache *c)
{
	struct found *list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *top = NULL;
	int fd = -1;
	int rc = 0;

	fd = dup(c->blocks_fd);
	if (fd < 0)
		return -errno;
	top = fdopendir(fd);
	if (!top) {
		rc = -errno;
		close(fd);
		return rc;
	}
	pthread_mutex_lock(&c->lock);
	while ((de = readdir(top)) != NULL) {
		if (strlen(de->d_name) != 2 || !is_hex(de->d_name, 2))
			continue;
		rc = scan_dir(c, de->d_name, &list, &n, &cap);
		if (rc)
			goto out;
	}
	if (n)
		qsort(list, n, sizeof(*list), found_cmp);
	for (size_t i = 0; i < n; i++) {
		lru_push_front(c, list[i].b);
		c->st.block_bytes += list[i].b->disk;
	}
out:
	pthread_mutex_unlock(&c->lock);
	closedir(top);
	free(list);
	return rc;
}

/* Remove whatever a crash left in staging/ (mkstemp fallback files). */
static void sweep_staging(struct cache *c)
{
	struct dirent *de;
	DIR *d = NULL;
	int fd = dup(c->staging_fd);

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "stage-", 6) == 0)
			unlinkat(c->staging_fd, de->d_name, 0);
	closedir(d);
}

/* mkdir dir/sub (sub NULL: dir itself) if missing and open it. */
static int open_dir(const char *dir, const char *sub, int *out)
{
	char path[PATH_MAX];
	int n;

	n = snprintf(path, sizeof(path), "%s%s%s", dir, sub ? "/" : "",
		     sub ? sub : "");
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	*out = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return *out < 0 ? -errno : 0;
}

int cache_open(const struct cache_opts *opts, struct remote *r,
	       struct cache **out, struct remote_error *err)
{
	struct block *victims = NULL;
	struct cache *c = NULL;
	int dir_fd = -1;
	int rc = 0;

	*out = NULL;
	if (!opts->dir || !*opts->dir)
		return remote_error_set(err, -EINVAL, "no cache directory");
	if (opts->block_size &&
	    (opts->block_size < MIN_BLOCK || opts->block_size > MAX_BLOCK))
		return remote_error_set(err, -EINVAL,
					"cache block size %u is outside "
					"64 KiB..64 MiB",
					(unsigned)opts->block_size);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->lock_fd = c->blocks_fd = c->staging_fd = -1;
	c->r = r;
	c->max_bytes = opts->max_bytes ? opts->max_bytes : DEFAULT_MAX_BYTES;
	c->bs = opts->block_size ? opts->block_size : DEFAULT_BLOCK;
	c->ra = opts->readahead ? opts->readahead : DEFAULT_READAHEAD;
	c->lru.next = c->lru.prev = &c->lru;
	c->qmax = 4 * (size_t)c->ra *
		  (opts->fetchers ? opts->fetchers : DEFAULT_FETCHERS);
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return -ENOMEM;
	}
	if (pthread_cond_init(&c->done, NULL) != 0) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return -ENOMEM;
	}
	if (pthread_cond_init(&c->work, NULL) != 0) {
		pthread_cond_destroy(&c->done);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return -ENOMEM;
	}
	c->sync_ok = true;
	c->dir = strdup(opts->dir);
	c->nbuckets = 1024;
	c->tab = calloc(c->nbuckets, sizeof(*c->tab));
	if (!c->dir || !c->tab) {
		rc = -ENOMEM;
		goto out;
	}

	rc = open_dir(c->dir, NULL, &dir_fd);
	if (rc) {
		remote_error_set(err, rc,
				 "cannot create cache directory %s: %s", c->dir,
				 strerror(-rc));
		goto out;
	}
	c->lock_fd = openat(dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->lock_fd < 0) {
		rc = remote_error_set(err, -errno, "cannot open %s/lock: %s",
				      c->dir, strerror(errno));
		goto out;
	}
	if (flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		remote_error_set(err, rc,
				 "cache directory %s is in use by another "
				 "mount",
				 c->dir);
		goto out;
	}
	rc = open_dir(c->dir, "blocks", &c->blocks_fd);
	if (rc == 0)
		rc = open_dir(c->dir, "staging", &c->staging_fd);
	if (rc) {
		remote_error_set(err, rc, "cannot use cache directory %s: %s",
				 c->dir, strerror(-rc));
		goto out;
	}
	sweep_staging(c);
	rc = scan(c);
	if (rc) {
		remote_error_set(err, rc, "cannot index cache directory %s: %s",
				 c->dir, strerror(-rc));
		goto out;
	}
	pthread_mutex_lock(&c->lock);
	evict(c, &victims);
	pthread_mutex_unlock(&c->lock);
	reap(c, victims);

	{
		unsigned nf =
			opts->fetchers ? opts->fetchers : DEFAULT_FETCHERS;

		if (nf > MAX_FETCHERS)
			nf = MAX_FETCHERS;
		c->threads = calloc(nf, sizeof(*c->threads));
		if (!c->threads) {
			rc = -ENOMEM;
			goto out;
		}
		for (unsigned i = 0; i < nf; i++) {
			int e = pthread_create(&c->threads[i], NULL, fetcher,
					       c);
			if (e) {
				rc = remote_error_set(err, -e,
						      "cannot start cache "
						      "threads: %s",
						      strerror(e));
				goto out;
			}
			c->nthreads++;
		}
	}
	*out = c;
	c = NULL;
out:
	if (dir_fd >= 0)
		close(dir_fd);
	cache_close(c);
	return rc;
}

/* Stops the read-ahead threads (after their current fetch), drops queued
 * jobs and frees everything in memory.  NULL is fine.  No other call may
 * run on c meanwhile. */
void cache_close(struct cache *c)
{
	if (!c)
		return;
	if (c->sync_ok) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_cond_broadcast(&c->work);
		pthread_mutex_unlock(&c->lock);
	}
	for (unsigned i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	while (c->qhead) {
		struct job *j = c->qhead;
		c->qhead = j->next;
		j->b->pins--;
		if (!j->b->hashed && j->b->pins == 0)
			free(j->b);
		job_free(j);
	}
	for (size_t i = 0; c->tab && i < c->nbuckets; i++) {
		struct block *b = c->tab[i];
		while (b) {
			struct block *next = b->hnext;
			free(b);
			b = next;
		}
	}
	free(c->tab);
	free(c->threads);
	mem_drop(c, NULL); /* the threads are gone: no lock needed */
	if (c->blocks_fd >= 0)
		close(c->blocks_fd);
	if (c->staging_fd >= 0)
		close(c->staging_fd);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	if (c->sync_ok) {
		pthread_cond_destroy(&c->work);
		pthread_cond_destroy(&c->done);
		pthread_mutex_destroy(&c->lock);
	}
	free(c->dir);
	free(c);
}
