/*
 * guard.c - the one way to change an object: a guard claims the keys an
 * operation changes, waits for whatever is in flight on them, pins the
 * inodes it works on, and gives everything back in one call.
 *
 * Claims.  An item is an exact key ("a/b", or a directory's marker "a/d/")
 * or a prefix ("a/d/": the marker and every key under it, as a directory
 * rename or rmdir needs).  Two items conflict when they are the same exact
 * key, or one is a prefix of the other's key and is claimed as a prefix.
 * fs_guard_take() waits until none of the guard's items conflicts with a
 * held guard, then holds them all at once.  Because a guard is taken whole
 * or not at all, and an operation holds at most one guard at a time (a
 * guard's holder never takes a second one), guards cannot deadlock among
 * themselves, whatever keys they name and in whatever order: no order
 * between keys is needed, and the kernel's own serialisation of renames is
 * not relied on.
 *
 * Lock order (fs.h): guard, then wf->lock, then fs->lock.  The held claims
 * are kept in fs->claims under fs->lock; waiting uses fs->claim_cond.
 *
 * Pins.  fs_guard_pin() keeps an inode (and its staging, if it is open for
 * writing) alive until fs_guard_done(); open handles pin with fs_pin().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

void fs_guard_init(struct fs_guard *g)
{
	memset(g, 0, sizeof(*g));
}

int fs_guard_key(struct fs_guard *g, const char *key, int prefix)
{
	struct fs_claim_item *v;
	char *copy;

	if (g->held)
		return -EBUSY; /* items are fixed once taken */
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 4;

		v = realloc(g->items, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		g->items = v;
		g->cap = cap;
	}
	copy = strdup(key);
	if (!copy)
		return -ENOMEM;
	g->items[g->n].key = copy;
	g->items[g->n].prefix = prefix;
	g->n++;
	return 0;
}

/* Whether items a and b may not be held at once. */
static int items_conflict(const struct fs_claim_item *a,
			  const struct fs_claim_item *b)
{
	if (strcmp(a->key, b->key) == 0)
		return 1;
	if (a->prefix && strncmp(b->key, a->key, strlen(a->key)) == 0)
		return 1;
	if (b->prefix && strncmp(a->key, b->key, strlen(b->key)) == 0)
		return 1;
	return 0;
}

int fs_guard_conflicts(const struct fs_guard *a, const struct fs_guard *b)
{
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (items_conflict(&a->items[i], &b->items[j]))
				return 1;
	return 0;
}

/* Whether g conflicts with a held guard.  fs->lock held. */
static int blocked(struct fs *fs, const struct fs_guard *g)
{
	for (struct fs_guard *h = fs->claims; h; h = h->next)
		if (fs_guard_conflicts(g, h))
			return 1;
	return 0;
}

/* The link in fs->claims that points at the held guard g.  fs->lock
 * held. */
static struct fs_guard **held_link(struct fs *fs, const struct fs_guard *g)
{
	struct fs_guard **p = &fs->claims;

	while (*p != g)
		p = &(*p)->next;
	return p;
}

void fs_guard_take(struct fs *fs, struct fs_guard *g)
{
	pthread_mutex_lock(&fs->lock);
	while (blocked(fs, g))
		pthread_cond_wait(&fs->claim_cond, &fs->lock);
	g->held = 1;
	g->next = fs->claims;
	fs->claims = g;
	pthread_mutex_unlock(&fs->lock);
}

void fs_guard_move(struct fs *fs, struct fs_guard *dst, struct fs_guard *src)
{
	pthread_mutex_lock(&fs->lock);
	dst->items = src->items;
	dst->n = src->n;
	dst->cap = src->cap;
	dst->held = src->held;
	if (src->held) {
		dst->next = src->next;
		*held_link(fs, src) = dst;
	}
	src->items = NULL;
	src->n = src->cap = 0;
	src->held = 0;
	src->next = NULL;
	pthread_mutex_unlock(&fs->lock);
}

int fs_guard_pin_locked(struct fs_guard *g, struct inode *in)
{
	for (int i = 0; i < g->npins; i++)
		if (g->pins[i] == in)
			return 0;
	if (g->npins == FS_GUARD_PINS)
		return -ENOSPC; /* a programming error: say so */
	fs_pin_locked(in);
	g->wfs[g->npins] = fs_wfile_ref(in);
	g->pins[g->npins++] = in;
	return 0;
}

int fs_guard_pin(struct fs *fs, struct fs_guard *g, struct inode *in)
{
	int rc;

	pthread_mutex_lock(&fs->lock);
	rc = fs_guard_pin_locked(g, in);
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

struct wfile *fs_guard_wfile(struct fs_guard *g, struct inode *in)
{
	for (int i = 0; i < g->npins; i++)
		if (g->pins[i] == in)
			return g->wfs[i];
	return NULL;
}

void fs_guard_done(struct fs *fs, struct fs_guard *g)
{
	pthread_mutex_lock(&fs->lock);
	if (g->held) {
		*held_link(fs, g) = g->next;
		g->held = 0;
		pthread_cond_broadcast(&fs->claim_cond);
	}
	pthread_mutex_unlock(&fs->lock);
	/* Claims first: a last staging reference may flush, which guards
	 * the same key again. */
	for (int i = 0; i < g->npins; i++)
		fs_unpin(fs, g->pins[i], g->wfs[i]);
	for (size_t i = 0; i < g->n; i++)
		free(g->items[i].key);
	free(g->items);
	fs_guard_init(g);
}

void fs_pin_locked(struct inode *in)
{
	in->opens++;
}

void fs_pin(struct fs *fs, struct inode *in)
{
	pthread_mutex_lock(&fs->lock);
	fs_pin_locked(in);
	pthread_mutex_unlock(&fs->lock);
}

void fs_unpin(struct fs *fs, struct inode *in, struct wfile *wf)
{
	if (wf)
		fs_wfile_release(fs, in, wf);
	pthread_mutex_lock(&fs->lock);
	in->opens--;
	fs_inode_maybe_free(fs, in);
	pthread_mutex_unlock(&fs->lock);
}

int fs_guard_inode(struct fs *fs, struct fs_guard *g, struct inode *in,
		   int prefix, char **key)
{
	char *want = NULL;
	int rc;

	*key = NULL;
	fs_guard_init(g);
	for (;;) {
		int same, gone;

		pthread_mutex_lock(&fs->lock);
		want = in->key ? strdup(in->key) : NULL;
		pthread_mutex_unlock(&fs->lock);
		if (!want)
			return -ENOMEM;
		fs_guard_init(g);
		rc = fs_guard_key(g, want, prefix);
		if (rc == 0)
			rc = fs_guard_pin(fs, g, in);
		if (rc) {
			free(want);
			fs_guard_done(fs, g);
			return rc;
		}
		fs_guard_take(fs, g);
		/* A rename may have moved it while we waited, or an rm or a
		 * mv over it removed it: then its key names another object
		 * (or none), which must not be changed on its behalf. */
		pthread_mutex_lock(&fs->lock);
		same = strcmp(in->key, want) == 0;
		gone = in->unlinked;
		pthread_mutex_unlock(&fs->lock);
		if (gone) {
			free(want);
			fs_guard_done(fs, g);
			return -ENOENT;
		}
		if (same)
			break;
		free(want);
		fs_guard_done(fs, g);
	}
	*key = want;
	return 0;
}
