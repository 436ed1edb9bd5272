/*
 * attrs.c - stat attributes from object metadata and back.
 *
 * Objects written by artifactfs, `artifact push` or s3fs carry mode, uid,
 * gid and mtime in x-amz-meta-*; objects from other tools get 0644 files /
 * 0755 directories owned by the mounting user, with their Last-Modified.
 * A mode with S_IFLNK marks a symbolic link whose target is the content;
 * S_IFIFO, S_IFSOCK, S_IFCHR and S_IFBLK mark a special file (a zero-byte
 * object, as s3fs stores them), whose device number is x-amz-meta-rdev.
 * ctime is x-amz-meta-ctime (s3fs's name), else the mtime.
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

static int ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* A directory where this mount made or removed names since shows that. */
static void dir_touched(struct inode *in)
{
	if (ts_before(&in->attr.st_mtim, &in->touched))
		in->attr.st_mtim = in->touched;
	if (ts_before(&in->attr.st_ctim, &in->touched))
		in->attr.st_ctim = in->touched;
}

void fs_attr_show(const struct fs *fs, struct stat *st)
{
	if (fs->opts.has_uid)
		st->st_uid = fs->opts.uid;
	if (fs->opts.has_gid)
		st->st_gid = fs->opts.gid;
	if (fs->opts.has_umask)
		st->st_mode &= ~(fs->opts.umask & 07777);
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
	in->attr.st_ctim = sm.has_ctime ? sm.ctime : in->attr.st_mtim;
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
		dir_touched(in);
	} else {
		mode = sm.has_mode ? sm.mode : (S_IFREG | 0644);
		if (S_ISLNK(mode)) {
			in->kind = FS_SYMLINK;
		} else if (S_ISFIFO(mode) || S_ISSOCK(mode) || S_ISCHR(mode) ||
			   S_ISBLK(mode)) {
			in->kind = FS_SPECIAL;
			in->attr.st_size = 0;
			in->attr.st_blocks = 0;
			if (sm.has_rdev)
				in->attr.st_rdev = (dev_t)sm.rdev;
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
	in->attr.st_blksize =
		(blksize_t)(fs->cache ? cache_block_size(fs->cache)
				      : fs->opts.block_size);
	in->attr.st_mtim = fs->mount_time;
	in->attr.st_ctim = fs->mount_time;
	in->attr.st_atim = fs->mount_time;
	dir_touched(in);
	in->attr_until = fs_monotonic() + fs->opts.metadata_ttl;
}

int fs_meta_build(struct fs *fs, struct inode *in, const struct stat *attr,
		  const char *sha256, struct remote_meta *m)
{
	struct store_meta sm;

	/* Start from what m holds, so a known SHA-256 and foreign names
	 * survive; then the fields the inode owns replace theirs. */
	store_meta_decode(m, &sm);
	pthread_mutex_lock(&fs->lock);
	if (!attr)
		attr = &in->attr;
	sm.has_mode = sm.has_uid = sm.has_gid = sm.has_mtime = 1;
	sm.has_ctime = 1;
	sm.mode = attr->st_mode;
	sm.uid = attr->st_uid;
	sm.gid = attr->st_gid;
	sm.mtime = attr->st_mtim;
	sm.ctime = attr->st_ctim;
	sm.has_rdev = S_ISCHR(attr->st_mode) || S_ISBLK(attr->st_mode);
	sm.rdev = (uint64_t)attr->st_rdev;
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
