/*
 * inode.c - the inode table: two hash indexes over the same inodes, by
 * inode number (for the kernel's requests) and by object key (so a path
 * looked up twice is one inode).  Every function needs fs->lock held.
 *
 * Inode numbers are never reused within a mount (a 64-bit counter), so the
 * generation is always 0.  A deleted or renamed-over inode leaves the key
 * index at once but stays in the number index until the kernel forgets it
 * and the last handle closes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

static size_t hash_ino(fuse_ino_t ino)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 48) % FS_HASH_BUCKETS;
}

/* FNV-1a of the key. */
static size_t hash_key(const char *key)
{
	uint64_t h = 1469598103934665603ull;

	for (; *key; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ull;
	}
	return (size_t)(h % FS_HASH_BUCKETS);
}

int fs_inode_table_init(struct fs *fs)
{
	struct inode *root;

	fs->next_ino = FS_ROOT_INO;
	root = fs_inode_obtain(fs, "", FS_ROOT, STORE_JOB);
	if (!root)
		return -ENOMEM;
	root->nlookup = 1;
	fs->root = root;
	fs->next_ino = FS_FIRST_DYNAMIC_INO;
	return 0;
}

void fs_inode_table_free(struct fs *fs)
{
	for (size_t b = 0; b < FS_HASH_BUCKETS; b++) {
		struct inode *in = fs->by_ino[b];

		while (in) {
			struct inode *next = in->next_ino;

			fs_dir_forget(in);
			free(in->key);
			free(in->expire_rule);
			free(in);
			in = next;
		}
		fs->by_ino[b] = NULL;
		fs->by_key[b] = NULL;
	}
}

struct inode *fs_inode_get(struct fs *fs, fuse_ino_t ino)
{
	struct inode *in = fs->by_ino[hash_ino(ino)];

	while (in && in->ino != ino)
		in = in->next_ino;
	return in;
}

struct inode *fs_inode_of(struct fs *fs, fuse_ino_t ino)
{
	struct inode *in;

	pthread_mutex_lock(&fs->lock);
	in = fs_inode_get(fs, ino);
	pthread_mutex_unlock(&fs->lock);
	return in;
}

struct inode *fs_inode_by_key(struct fs *fs, const char *key)
{
	struct inode *in = fs->by_key[hash_key(key)];

	while (in && strcmp(in->key, key) != 0)
		in = in->next_key;
	return in;
}

static void link_key(struct fs *fs, struct inode *in)
{
	size_t b = hash_key(in->key);

	in->next_key = fs->by_key[b];
	fs->by_key[b] = in;
}

void fs_inode_unhash_key(struct fs *fs, struct inode *in)
{
	struct inode **p;

	if (!in->key)
		return;
	p = &fs->by_key[hash_key(in->key)];
	while (*p && *p != in)
		p = &(*p)->next_key;
	if (*p)
		*p = in->next_key;
	in->next_key = NULL;
}

struct inode *fs_inode_obtain(struct fs *fs, const char *key, enum fs_kind kind,
			      enum store_level level)
{
	struct inode *in = fs_inode_by_key(fs, key);
	size_t b;

	if (in) {
		in->kind = kind;
		return in;
	}
	in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->key = strdup(key);
	if (!in->key) {
		free(in);
		return NULL;
	}
	in->ino = fs->next_ino++;
	in->kind = kind;
	in->level = level;
	in->attr.st_ino = in->ino;
	b = hash_ino(in->ino);
	in->next_ino = fs->by_ino[b];
	fs->by_ino[b] = in;
	link_key(fs, in);
	return in;
}

int fs_inode_rekey(struct fs *fs, struct inode *in, const char *key)
{
	char *copy = strdup(key);
	struct inode *old;

	if (!copy)
		return -ENOMEM;
	/* Whatever held the target key is replaced: it leaves the index,
	 * and a handle still open on it must never upload over the new
	 * object. */
	old = fs_inode_by_key(fs, key);
	if (old && old != in) {
		fs_inode_unhash_key(fs, old);
		old->unlinked = 1;
		old->attr.st_nlink = 0;
	}
	fs_inode_unhash_key(fs, in);
	/* A directory's listing names keys under its old prefix. */
	fs_dir_forget(in);
	free(in->key);
	in->key = copy;
	link_key(fs, in);
	return 0;
}

int fs_inode_staged_under(struct fs *fs, const char *prefix)
{
	size_t plen = strlen(prefix);

	for (size_t b = 0; b < FS_HASH_BUCKETS; b++)
		for (struct inode *in = fs->by_key[b]; in; in = in->next_key)
			if (in->wf && !in->unlinked &&
			    strncmp(in->key, prefix, plen) == 0)
				return 1;
	return 0;
}

void fs_inode_rekey_tree(struct fs *fs, const char *old_prefix,
			 const char *new_prefix, enum store_level level)
{
	size_t olen = strlen(old_prefix);
	struct inode **v = NULL;
	size_t n = 0, cap = 0;

	/* Collect first: rekeying moves inodes between key chains. */
	for (size_t b = 0; b < FS_HASH_BUCKETS; b++) {
		for (struct inode *in = fs->by_key[b]; in; in = in->next_key) {
			if (strncmp(in->key, old_prefix, olen) != 0)
				continue;
			if (n == cap) {
				size_t c = cap ? 2 * cap : 64;
				struct inode **nv = realloc(v, c * sizeof(*v));

				if (!nv)
					goto rekey; /* move what we have */
				v = nv;
				cap = c;
			}
			v[n++] = in;
		}
	}
rekey:
	for (size_t i = 0; i < n; i++) {
		char *nk;

		if (asprintf(&nk, "%s%s", new_prefix, v[i]->key + olen) < 0)
			continue;
		fs_inode_rekey(fs, v[i], nk);
		v[i]->level = level;
		free(nk);
	}
	free(v);
}

void fs_inode_maybe_free(struct fs *fs, struct inode *in)
{
	struct inode **p;

	if (in->nlookup > 0 || in->opens > 0 || in->ino < FS_FIRST_DYNAMIC_INO)
		return;
	if (fs_inode_by_key(fs, in->key) == in)
		fs_inode_unhash_key(fs, in);
	p = &fs->by_ino[hash_ino(in->ino)];
	while (*p && *p != in)
		p = &(*p)->next_ino;
	if (*p)
		*p = in->next_ino;
	fs_dir_forget(in);
	free(in->key);
	free(in->expire_rule);
	free(in);
}
