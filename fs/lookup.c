/*
 * lookup.c - names to inodes: child keys, lookup, the attribute refresh
 * that every op starts with, and forget.
 *
 * Name rules: a name over FS_NAME_MAX bytes, or whose key would pass the
 * store's key room, is ENAMETOOLONG; keys that cannot be paths (empty
 * segments, "." or "..") are never shown.  A key that is both an object
 * and a prefix of other keys shows as the file.  Attributes are trusted
 * for metadata_ttl, then read again with HEAD (README, "Consistency").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

int fs_child_key(struct fs *fs, struct inode *parent, const char *name, int dir,
		 char **out)
{
	size_t plen, nlen = strlen(name);
	size_t room = remote_key_room(fs->remote);
	int too_long;
	char *key;

	*out = NULL;
	if (parent->kind == FS_ROOT)
		return -EROFS;
	if (nlen > FS_NAME_MAX)
		return -ENAMETOOLONG;
	if (nlen == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strchr(name, '/'))
		return -EINVAL;
	pthread_mutex_lock(&fs->lock);
	plen = strlen(parent->key);
	/* A directory's key ends in '/': that byte counts too. */
	too_long = plen + nlen + (dir ? 1 : 0) > room;
	key = too_long ? NULL : malloc(plen + nlen + 2);
	if (key) {
		memcpy(key, parent->key, plen);
		memcpy(key + plen, name, nlen);
		key[plen + nlen] = dir ? '/' : '\0';
		key[plen + nlen + 1] = '\0';
	}
	pthread_mutex_unlock(&fs->lock);
	if (!key)
		return too_long ? -ENAMETOOLONG : -ENOMEM;
	*out = key;
	return 0;
}

int fs_child_is(struct fs *fs, struct inode *parent, const char *name, int dir,
		const char *key)
{
	char *now = NULL;
	int rc = fs_child_key(fs, parent, name, dir, &now);

	if (rc == 0)
		rc = strcmp(now, key) == 0;
	free(now);
	return rc;
}

int fs_parent_child(struct fs *fs, fuse_ino_t parent, const char *name, int dir,
		    struct inode **p, char **key)
{
	*key = NULL;
	*p = fs_inode_of(fs, parent);
	if (!*p)
		return -ESTALE;
	return fs_child_key(fs, *p, name, dir, key);
}

void fs_fill_entry(struct fs *fs, struct inode *in, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = in->ino;
	e->attr = in->attr;
	fs_attr_show(fs, &e->attr);
	e->attr_timeout = fs->opts.metadata_ttl;
	e->entry_timeout = fs->opts.metadata_ttl;
}

int fs_resolve(struct fs *fs, struct inode *parent, const char *name,
	       const char *key, enum store_level level, struct inode **out)
{
	struct remote_stat st = { 0 };
	struct remote_stat mst = { 0 };
	struct remote_error err = { { 0 } };
	struct store_meta sm;
	char *dkey = NULL;
	int marker = 0;
	struct inode *in;
	int rc;

	*out = NULL;
	rc = remote_head(fs->remote, key, &st, &err);
	if (rc == 0) {
		store_meta_decode(&st.meta, &sm);
		if (store_meta_expired(&sm, fs->now())) {
			rc = -ENOENT;
			goto out;
		}
		pthread_mutex_lock(&fs->lock);
		in = fs_inode_obtain(fs, key, FS_FILE, level);
		if (!in) {
			pthread_mutex_unlock(&fs->lock);
			rc = -ENOMEM;
			goto out;
		}
		if (!in->wf)
			fs_attr_from_stat(fs, in, &st);
		*out = in;
		goto out;
	}
	if (rc != -ENOENT) {
		fs_log(fs, "lookup of %s failed: %s", key, err.msg);
		goto out;
	}
	/* Created here and still open for writing: not stored until flush,
	 * but it exists (stat, mv) for everyone on this mount meanwhile. */
	pthread_mutex_lock(&fs->lock);
	in = fs_inode_by_key(fs, key);
	if (in && in->wf) {
		*out = in;
		rc = 0;
		goto out;
	}
	pthread_mutex_unlock(&fs->lock);
	/* Not a file.  One listing of the parent answers whether it is a
	 * directory, and the next lookups of missing names there too. */
	if (parent && name) {
		enum fs_dir_answer ans = FS_DIR_UNKNOWN;

		if (fs_dir_fetch(fs, parent) == 0) {
			pthread_mutex_lock(&fs->lock);
			ans = fs_dir_lookup(parent, name);
			pthread_mutex_unlock(&fs->lock);
		}
		if (ans == FS_DIR_ABSENT) {
			rc = -ENOENT;
			goto out;
		}
	}
	if (asprintf(&dkey, "%s/", key) < 0) {
		dkey = NULL;
		rc = -ENOMEM;
		goto out;
	}
	rc = fs_dir_probe(fs, dkey, &marker);
	if (rc < 0)
		goto out;
	rc = marker ? remote_head(fs->remote, dkey, &mst, NULL) : -ENOENT;
	pthread_mutex_lock(&fs->lock);
	in = fs_inode_obtain(fs, dkey, FS_DIR, level);
	if (!in) {
		pthread_mutex_unlock(&fs->lock);
		rc = -ENOMEM;
		goto out;
	}
	in->has_marker = rc == 0;
	if (rc == 0)
		fs_attr_from_stat(fs, in, &mst);
	else
		fs_attr_dir_default(fs, in);
	rc = 0;
	*out = in;
out:
	remote_stat_clear(&st);
	remote_stat_clear(&mst);
	free(dkey);
	return rc;
}

int fs_exists(struct fs *fs, const char *key)
{
	struct inode *in = NULL;
	int rc = fs_resolve(fs, NULL, NULL, key, STORE_JOB, &in);

	if (rc == 0) {
		fs_inode_maybe_free(fs, in); /* unless someone holds it */
		pthread_mutex_unlock(&fs->lock);
	}
	return rc == 0 ? 1 : rc == -ENOENT ? 0 : rc;
}

int fs_refresh(struct fs *fs, struct inode *in)
{
	struct inode *found = NULL;
	char *key = NULL;
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	if (in->kind == FS_ROOT || in->kind == FS_LEVEL || in->wf ||
	    fs_monotonic() < in->attr_until) {
		pthread_mutex_unlock(&fs->lock);
		return 0;
	}
	key = strdup(in->key);
	if (key && in->kind == FS_DIR)
		key[strlen(key) - 1] = '\0';
	pthread_mutex_unlock(&fs->lock);
	if (!key)
		return -ENOMEM;
	rc = fs_resolve(fs, NULL, NULL, key, in->level, &found);
	if (rc == 0) {
		if (found != in) {
			rc = -ENOENT; /* changed kind: a new inode */
			fs_inode_maybe_free(fs, found);
		}
		pthread_mutex_unlock(&fs->lock);
	}
	free(key);
	return rc;
}

int fs_inode_fresh(struct fs *fs, fuse_ino_t ino, struct inode **out)
{
	*out = fs_inode_of(fs, ino);
	if (!*out)
		return -ESTALE;
	return fs_refresh(fs, *out);
}

void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fuse_req_userdata(req);
	struct fuse_entry_param e;
	struct inode *p, *in = NULL;
	char *key = NULL;
	int rc;

	pthread_mutex_lock(&fs->lock);
	p = fs_inode_get(fs, parent);
	if (p && p->kind == FS_ROOT) {
		for (int l = 0; l < STORE_LEVELS; l++)
			if (fs->levels[l] &&
			    strcmp(name, store_level_name(l)) == 0)
				in = fs->levels[l];
		if (in) {
			in->nlookup++;
			fs_fill_entry(fs, in, &e);
		}
		pthread_mutex_unlock(&fs->lock);
		if (in) {
			fuse_reply_entry(req, &e);
		} else {
			memset(&e, 0, sizeof(e));
			e.entry_timeout = fs->opts.metadata_ttl;
			fuse_reply_entry(req, &e);
		}
		return;
	}
	pthread_mutex_unlock(&fs->lock);
	if (!p) {
		fs_reply_err(req, -ESTALE);
		return;
	}
	rc = fs_child_key(fs, p, name, 0, &key);
	if (rc)
		goto out;
	pthread_mutex_lock(&fs->lock);
	if (fs_dir_lookup(p, name) == FS_DIR_ABSENT)
		rc = -ENOENT; /* the parent was listed a moment ago */
	pthread_mutex_unlock(&fs->lock);
	if (rc == 0)
		rc = fs_resolve(fs, p, name, key, p->level, &in);
	if (rc == 0) {
		in->nlookup++;
		fs_fill_entry(fs, in, &e);
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_entry(req, &e);
	}
out:
	if (rc == -ENOENT) {
		/* Negative entry: the kernel may cache it for the TTL. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->opts.metadata_ttl;
		fuse_reply_entry(req, &e);
	} else if (rc) {
		fs_reply_err(req, rc);
	}
	free(key);
}

static void forget_one(struct fs *fs, fuse_ino_t ino, uint64_t n)
{
	struct inode *in = fs_inode_get(fs, ino);

	if (!in)
		return;
	in->nlookup = in->nlookup > n ? in->nlookup - n : 0;
	fs_inode_maybe_free(fs, in);
}

void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs *fs = fuse_req_userdata(req);

	pthread_mutex_lock(&fs->lock);
	forget_one(fs, ino, nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

void fs_op_forget_multi(fuse_req_t req, size_t count,
			struct fuse_forget_data *forgets)
{
	struct fs *fs = fuse_req_userdata(req);

	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < count; i++)
		forget_one(fs, forgets[i].ino, forgets[i].nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}
