/*
 * dircache.c - what a directory held when last listed, so a lookup of a
 * name that is not there costs no request.
 *
 * Creating a file starts with a lookup that fails: a HEAD of the key and a
 * LIST of key/ (is it a directory?).  When the HEAD misses, we list the
 * parent directory instead, one page (up to 1000 names), and keep it for
 * metadata_ttl: further lookups of missing names in that directory are
 * answered from it, as the kernel answers from its negative dentries for
 * the same time.  Names this mount creates there meanwhile are added, so
 * they are never reported missing.  A directory bigger than one page is
 * not cached (its lookups go to the remote as before).  Positive lookups
 * still HEAD the object: the listing has no metadata.
 *
 * All of it is guarded by fs->lock; fs_dir_fetch lists without it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

struct dir_listing {
	struct remote_list l; /* one complete page, sorted by key */
	char **added;	      /* names created here since, unsorted */
	size_t n_added, cap_added;
	double until; /* monotonic seconds: trusted until then */
};

void fs_dir_forget(struct inode *dir)
{
	struct dir_listing *d = dir->listing;

	if (!d)
		return;
	remote_list_clear(&d->l);
	for (size_t i = 0; i < d->n_added; i++)
		free(d->added[i]);
	free(d->added);
	free(d);
	dir->listing = NULL;
}

/* Binary search of key in a sorted array of n keys (entries or prefixes,
 * reached through get). */
static int sorted_has(size_t n, const char *key,
		      const char *(*get)(const struct remote_list *, size_t),
		      const struct remote_list *l)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(get(l, mid), key);

		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static const char *entry_key(const struct remote_list *l, size_t i)
{
	return l->entries[i].key;
}

static const char *prefix_key(const struct remote_list *l, size_t i)
{
	return l->prefixes[i];
}

enum fs_dir_answer fs_dir_lookup(struct inode *dir, const char *name)
{
	struct dir_listing *d = dir->listing;
	char key[REMOTE_KEY_MAX + 2];
	int n;

	if (!d || fs_monotonic() >= d->until)
		return FS_DIR_UNKNOWN;
	for (size_t i = 0; i < d->n_added; i++)
		if (strcmp(d->added[i], name) == 0)
			return FS_DIR_UNKNOWN; /* made here: ask the remote */
	n = snprintf(key, sizeof(key), "%s%s/", dir->key, name);
	if (n < 0 || (size_t)n >= sizeof(key))
		return FS_DIR_UNKNOWN;
	if (sorted_has(d->l.n_prefixes, key, prefix_key, &d->l))
		return FS_DIR_PRESENT;
	key[n - 1] = '\0';
	if (sorted_has(d->l.n_entries, key, entry_key, &d->l))
		return FS_DIR_PRESENT;
	return FS_DIR_ABSENT;
}

void fs_dir_note_added(struct inode *dir, const char *name)
{
	struct dir_listing *d = dir->listing;
	char *copy;

	dir->dir_changes++; /* a listing fetched meanwhile is not installed */
	if (!d)
		return;
	if (d->n_added == d->cap_added) {
		size_t cap = d->cap_added ? 2 * d->cap_added : 16;
		char **v = realloc(d->added, cap * sizeof(*v));

		if (!v) {
			fs_dir_forget(dir); /* cannot track: trust nothing */
			return;
		}
		d->added = v;
		d->cap_added = cap;
	}
	copy = strdup(name);
	if (!copy) {
		fs_dir_forget(dir);
		return;
	}
	d->added[d->n_added++] = copy;
}

int fs_dir_fetch(struct fs *fs, struct inode *dir)
{
	struct remote_list_opts lo = { .delimiter = "/", .max_keys = 1000 };
	struct remote_error err = { { 0 } };
	struct dir_listing *d = NULL;
	char *prefix = NULL;
	unsigned long changes;
	double until;
	int rc;

	pthread_mutex_lock(&fs->lock);
	prefix = strdup(dir->key);
	changes = dir->dir_changes;
	pthread_mutex_unlock(&fs->lock);
	if (!prefix)
		return -ENOMEM;
	d = calloc(1, sizeof(*d));
	if (!d) {
		rc = -ENOMEM;
		goto out;
	}
	/* Trusted from before the request: a name created meanwhile by
	 * another machine is seen at the same delay as any attribute. */
	until = fs_monotonic() + fs->opts.metadata_ttl;
	lo.prefix = prefix;
	rc = remote_list(fs->remote, &lo, &d->l, &err);
	if (rc)
		goto out;
	if (d->l.next_token) {
		rc = -EFBIG; /* more than a page: not cached */
		goto out;
	}
	d->until = until;
	pthread_mutex_lock(&fs->lock);
	if (dir->dir_changes == changes) {
		fs_dir_forget(dir);
		dir->listing = d;
		d = NULL;
	} else {
		rc = -EAGAIN; /* a name was made here while we listed */
	}
	pthread_mutex_unlock(&fs->lock);
out:
	if (d) {
		remote_list_clear(&d->l);
		free(d);
	}
	free(prefix);
	return rc;
}
