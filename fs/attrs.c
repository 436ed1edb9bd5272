/*
 * attrs.c - stat attributes from object metadata and back.
 *
 * Objects written by artifactfs, `artifact push` or s3fs carry mode, uid,
 * gid and mtime in x-amz-meta-*; objects from other tools get 0644 files /
 * 0755 directories owned by the mounting user, with their Last-Modified.
 * A mode with S_IFLNK marks a symbolic link whose target is the content.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"

double fs_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fs_attr_from_stat(struct fs *fs, struct inode *in,
		       const struct remote_stat *st)
{
	struct store_meta sm;
	mode_t mode;

	store_meta_decode(&st->meta, &sm);
	memset(&in->attr, 0, sizeof(in->attr));
	in->attr.st_ino = in->ino;
	in->attr.st_nlink = 1;
	in->attr.st_size = (off_t)st->size;
	in->attr.st_blksize = (blksize_t)cache_block_size(fs->cache);
	in->attr.st_blocks = (blkcnt_t)((st->size + 511) / 512);
	in->attr.st_uid = sm.has_uid ? sm.uid : fs->uid;
	in->attr.st_gid = sm.has_gid ? sm.gid : fs->gid;
	in->attr.st_mtim = sm.has_mtime ? sm.mtime : st->mtime;
	in->attr.st_ctim = in->attr.st_mtim;
	in->attr.st_atim = in->attr.st_mtim;
	if (in->kind == FS_DIR || in->kind == FS_LEVEL) {
		const char *rule = remote_meta_get(&st->meta, REMOTE_META_RULE);

		free(in->expire_rule);
		in->expire_rule = rule ? strdup(rule) : NULL;
		mode = sm.has_mode ? (sm.mode & 07777) : 0755;
		in->attr.st_mode = S_IFDIR | mode;
		in->attr.st_nlink = 2;
		in->attr.st_size = 0;
		in->attr.st_blocks = 0;
	} else {
		mode = sm.has_mode ? sm.mode : (S_IFREG | 0644);
		if (S_ISLNK(mode)) {
			in->kind = FS_SYMLINK;
		} else {
			in->kind = FS_FILE;
			mode = S_IFREG | (mode & 07777);
		}
		in->attr.st_mode = mode;
	}
	snprintf(in->etag, sizeof(in->etag), "%s", st->etag);
	in->remote_mtime = (int64_t)st->mtime.tv_sec;
	snprintf(in->sha256, sizeof(in->sha256), "%s",
		 sm.has_sha256 ? sm.sha256 : "");
	in->expires_at = sm.has_expires ? sm.expires_at : 0;
	in->attr_until = fs_monotonic() + fs->opts.metadata_ttl;
}

void fs_attr_dir_default(struct fs *fs, struct inode *in)
{
	mode_t mode = in->kind == FS_ROOT ? 0555 : 0755;

	memset(&in->attr, 0, sizeof(in->attr));
	in->attr.st_ino = in->ino;
	in->attr.st_mode = S_IFDIR | mode;
	in->attr.st_nlink = 2;
	in->attr.st_uid = fs->uid;
	in->attr.st_gid = fs->gid;
	/* The skeleton is built before the cache is opened (after mounting). */
	in->attr.st_blksize = (blksize_t)(fs->cache ? cache_block_size(fs->cache)
						     : fs->opts.block_size);
	in->attr.st_mtim = fs->mount_time;
	in->attr.st_ctim = fs->mount_time;
	in->attr.st_atim = fs->mount_time;
	in->attr_until = fs_monotonic() + fs->opts.metadata_ttl;
}

int fs_meta_build(struct fs *fs, struct inode *in, const char *sha256,
		  struct remote_meta *m)
{
	struct store_meta sm;

	/* Start from what m holds, so a known SHA-256 and foreign names
	 * survive; then the fields the inode owns replace theirs. */
	store_meta_decode(m, &sm);
	pthread_mutex_lock(&fs->lock);
	sm.has_mode = sm.has_uid = sm.has_gid = sm.has_mtime = 1;
	sm.mode = in->attr.st_mode;
	sm.uid = in->attr.st_uid;
	sm.gid = in->attr.st_gid;
	sm.mtime = in->attr.st_mtim;
	if (sha256 && *sha256) {
		sm.has_sha256 = 1;
		snprintf(sm.sha256, sizeof(sm.sha256), "%s", sha256);
	} else if (in->sha256[0]) {
		sm.has_sha256 = 1;
		snprintf(sm.sha256, sizeof(sm.sha256), "%s", in->sha256);
	}
	sm.has_expires = in->expires_at != 0;
	sm.expires_at = in->expires_at;
	pthread_mutex_unlock(&fs->lock);
	return store_meta_encode(&sm, m);
}
