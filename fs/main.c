/*
 * main.c - artifactfs MOUNTPOINT [-f] [-d] [-o OPTION[,OPTION...]]
 *
 * Parses options (README, "Mounting"), proves the mount can work before
 * mounting anything (remote reachable, credentials accepted, bucket present,
 * cache directory usable: otherwise one line on stderr and exit 1, with no
 * dead mountpoint left behind), then mounts and runs the multi-threaded
 * FUSE loop.  Unknown -o options go to FUSE (allow_other, ro, ...).
 * Secrets are never options: they come from the environment or the AWS
 * credentials file, so they never show in `ps`.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fuse_opt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "sweep.h"

struct cli {
	char *remote, *endpoint, *region;
	char *ids[STORE_LEVELS];
	char *cache_dir, *cache_size, *block_size, *metadata_ttl;
	char *sweep_interval;
	char *expire_in[STORE_LEVELS];
	char *uid, *gid, *umask, *timeout, *upload_max_age;
	int allow_other, default_permissions;
	int refused; /* note_opt said why already */
	int nonempty;
	int help, version;
};

enum { KEY_ALLOW_OTHER, KEY_DEFAULT_PERMISSIONS, KEY_SUID_DEV };

#define OPT(t, f)                                                              \
	{                                                                      \
		t, offsetof(struct cli, f), 0                                  \
	}
static const struct fuse_opt cli_spec[] = {
	OPT("remote=%s", remote),
	OPT("endpoint=%s", endpoint),
	OPT("region=%s", region),
	OPT("job=%s", ids[STORE_JOB]),
	OPT("workflow=%s", ids[STORE_WORKFLOW]),
	OPT("project=%s", ids[STORE_PROJECT]),
	OPT("cache_dir=%s", cache_dir),
	OPT("cache_size=%s", cache_size),
	OPT("block_size=%s", block_size),
	OPT("metadata_ttl=%s", metadata_ttl),
	OPT("sweep_interval=%s", sweep_interval),
	OPT("job_expire_in=%s", expire_in[STORE_JOB]),
	OPT("workflow_expire_in=%s", expire_in[STORE_WORKFLOW]),
	OPT("project_expire_in=%s", expire_in[STORE_PROJECT]),
	OPT("timeout=%s", timeout),
	OPT("upload_max_age=%s", upload_max_age),
	OPT("uid=%s", uid),
	OPT("gid=%s", gid),
	OPT("umask=%s", umask),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("default_permissions", KEY_DEFAULT_PERMISSIONS),
	{ "nonempty", offsetof(struct cli, nonempty), 1 },
	FUSE_OPT_KEY("suid", KEY_SUID_DEV),
	FUSE_OPT_KEY("dev", KEY_SUID_DEV),
	{ "-h", offsetof(struct cli, help), 1 },
	{ "--help", offsetof(struct cli, help), 1 },
	{ "-V", offsetof(struct cli, version), 1 },
	{ "--version", offsetof(struct cli, version), 1 },
	FUSE_OPT_END,
};

static void usage(const char *prog)
{
	printf("usage: %s MOUNTPOINT [-f] [-d] [-o OPTION[,OPTION...]]\n"
	       "\n"
	       "Mounts CI artifact stores as "
	       "MOUNTPOINT/{job,workflow,project}.\n"
	       "Unmount with: fusermount3 -u MOUNTPOINT\n"
	       "\n"
	       "  -f                      stay in the foreground\n"
	       "  -d                      debug logging (implies -f)\n"
	       "  -o remote=URL           file:///DIR or s3://BUCKET[/PREFIX]\n"
	       "                          (default $ARTIFACT_REMOTE, else\n"
	       "                          file://$XDG_DATA_HOME/artifactfs)\n"
	       "  -o endpoint=URL         S3 endpoint (default "
	       "$AWS_ENDPOINT_URL_S3,\n"
	       "                          $AWS_ENDPOINT_URL, else AWS)\n"
	       "  -o region=NAME          signing region (default "
	       "$AWS_REGION,\n"
	       "                          $AWS_DEFAULT_REGION, else "
	       "us-east-1)\n"
	       "  -o job=ID,workflow=ID,project=ID\n"
	       "                          stores to show (default\n"
	       "                          "
	       "$SEMAPHORE_{JOB,WORKFLOW,PROJECT}_ID)\n"
	       "  -o cache_dir=DIR        block cache and write staging\n"
	       "                          (default "
	       "$XDG_CACHE_HOME/artifactfs)\n"
	       "  -o cache_size=SIZE      disk budget of the cache (default "
	       "2G)\n"
	       "  -o block_size=SIZE      cache block size (default 4M)\n"
	       "  -o metadata_ttl=SECONDS trust attributes this long (default "
	       "1)\n"
	       "  -o sweep_interval=SECONDS  delete expired artifacts of the\n"
	       "                          mounted stores this often (default\n"
	       "                          600; 0 never)\n"
	       "  -o job_expire_in=DUR, workflow_expire_in=DUR,\n"
	       "     project_expire_in=DUR  expiry of new files (default "
	       "never)\n"
	       "  -o timeout=SECONDS      how long a request may wait on a\n"
	       "                          server that answers nothing,\n"
	       "                          retries and all (default 20)\n"
	       "  -o upload_max_age=DUR   the sweeper aborts unfinished "
	       "uploads\n"
	       "                          started this long ago (default 24h)\n"
	       "  -o uid=N, gid=N         show every file as owned by N\n"
	       "  -o umask=OOO            clear these permission bits of\n"
	       "                          every file shown (octal)\n"
	       "  -o allow_other          let other users in, with permission\n"
	       "                          checks as on a local disk\n"
	       "\n"
	       "Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,\n"
	       "AWS_SESSION_TOKEN, else ~/.aws/credentials [AWS_PROFILE].\n"
	       "Standard FUSE options (allow_other, ro, ...) pass through.\n",
	       prog);
}

/* Seconds as a plain decimal ("1", "0.5": digits, at most one point, no
 * sign, exponent, hex, inf or nan) within [min, max]; -EINVAL otherwise. */
static int parse_seconds(const char *s, double min, double max, double *out)
{
	size_t digits = strspn(s, "0123456789");
	const char *p = s + digits;
	double v;

	if (*p == '.') {
		size_t frac = strspn(p + 1, "0123456789");

		if (frac == 0)
			return -EINVAL;
		digits += frac;
		p += 1 + frac;
	}
	if (digits == 0 || *p != '\0')
		return -EINVAL;
	v = strtod(s, NULL);
	if (!(v >= min && v <= max))
		return -EINVAL;
	*out = v;
	return 0;
}

/* A whole number in base (8 or 10) up to max; -EINVAL otherwise. */
static int parse_id(const char *s, int base, unsigned long max,
		    unsigned long *out)
{
	char *end = NULL;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || !end || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Once daemonized, stderr is /dev/null: the log goes to syslog.  libfuse's
 * levels are syslog's. */
static void log_to_syslog(enum fuse_log_level level, const char *fmt,
			  va_list ap)
{
	vsyslog((int)level, fmt, ap);
}

/* One line on stderr, the way every mount-time failure is reported. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("artifactfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* fuse_opt's callback for the FUSE options we need to know of: note them,
 * and keep them for FUSE (1). */
static int note_opt(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct cli *c = data;

	(void)arg;
	(void)outargs;
	if (key == KEY_ALLOW_OTHER)
		c->allow_other = 1;
	else if (key == KEY_DEFAULT_PERMISSIONS)
		c->default_permissions = 1;
	else if (key == KEY_SUID_DEV) {
		/* The store's modes and device numbers are anyone's input:
		 * never honour them (README, "Permissions"). */
		fail("-o %s refused: artifactfs mounts are always nosuid,nodev",
		     arg);
		c->refused = 1;
		return -1;
	}
	return 1;
}

/* Turn parsed strings into fs->opts; 1 (reported) on a bad value. */
static int apply_options(struct fs *fs, struct cli *c)
{
	struct fs_opts *o = &fs->opts;
	const char *env;
	unsigned long id;
	uint64_t v;

	/* fs->opts owns what it takes from c from here on. */
	o->remote_url = c->remote;
	o->endpoint = c->endpoint;
	o->region = c->region;
	o->cache_dir = c->cache_dir;
	c->cache_dir = NULL;
	for (int l = 0; l < STORE_LEVELS; l++) {
		o->ids[l] = c->ids[l];
		c->ids[l] = NULL;
		env = getenv(store_level_env(l));
		if (!o->ids[l] && env && *env)
			o->ids[l] = strdup(env);
		o->expire_in[l] = STORE_NEVER;
		if (c->expire_in[l] &&
		    (store_duration_parse(c->expire_in[l], &o->expire_in[l]) ||
		     store_expiry_after((int64_t)time(NULL), o->expire_in[l],
					&(int64_t){ 0 })))
			return fail(
				"bad %s_expire_in '%s' (try 2w, 30d, never)",
				store_level_name(l), c->expire_in[l]);
	}
	o->cache_size = 2ull << 30;
	if (c->cache_size) {
		if (store_size_parse(c->cache_size, &v) || v < (16u << 20))
			return fail("bad cache_size '%s' (at least 16M)",
				    c->cache_size);
		o->cache_size = v;
	}
	o->block_size = 4u << 20;
	if (c->block_size) {
		if (store_size_parse(c->block_size, &v) || v < (64u << 10) ||
		    v > (64u << 20))
			return fail("bad block_size '%s' (64K to 64M)",
				    c->block_size);
		o->block_size = (uint32_t)v;
	}
	o->metadata_ttl = 1.0;
	if (c->metadata_ttl &&
	    parse_seconds(c->metadata_ttl, 0, 86400, &o->metadata_ttl))
		return fail("bad metadata_ttl '%s' (seconds, 0-86400)",
			    c->metadata_ttl);
	o->timeout = 20;
	if (c->timeout && parse_seconds(c->timeout, 1, 3600, &o->timeout))
		return fail("bad timeout '%s' (seconds, 1-3600)", c->timeout);
	o->upload_max_age = REMOTE_UPLOAD_MAX_AGE;
	if (c->upload_max_age &&
	    (store_duration_parse(c->upload_max_age, &o->upload_max_age) ||
	     o->upload_max_age == STORE_NEVER))
		return fail("bad upload_max_age '%s' (try 24h, 2d)",
			    c->upload_max_age);
	o->sweep_interval = 600;
	if (c->sweep_interval &&
	    parse_seconds(c->sweep_interval, 0, 31536000, &o->sweep_interval))
		return fail("bad sweep_interval '%s' (seconds; 0 never)",
			    c->sweep_interval);
	if (c->uid) {
		if (parse_id(c->uid, 10, UINT32_MAX - 1u, &id))
			return fail("bad uid '%s' (a number)", c->uid);
		o->has_uid = 1;
		o->uid = (uid_t)id;
	}
	if (c->gid) {
		if (parse_id(c->gid, 10, UINT32_MAX - 1u, &id))
			return fail("bad gid '%s' (a number)", c->gid);
		o->has_gid = 1;
		o->gid = (gid_t)id;
	}
	if (c->umask) {
		if (parse_id(c->umask, 8, 07777, &id))
			return fail("bad umask '%s' (octal, e.g. 022)",
				    c->umask);
		o->has_umask = 1;
		o->umask = (mode_t)id;
	}
	if (!o->ids[STORE_JOB] && !o->ids[STORE_WORKFLOW] &&
	    !o->ids[STORE_PROJECT])
		return fail("no store to mount: give -o job=ID, workflow=ID or "
			    "project=ID (or set SEMAPHORE_JOB_ID, "
			    "SEMAPHORE_WORKFLOW_ID, SEMAPHORE_PROJECT_ID)");
	if (!o->cache_dir) {
		const char *xdg = getenv("XDG_CACHE_HOME");
		const char *home = getenv("HOME");
		int n = -1;

		if (xdg && *xdg)
			n = asprintf(&o->cache_dir, "%s/artifactfs", xdg);
		else if (home && *home)
			n = asprintf(&o->cache_dir, "%s/.cache/artifactfs",
				     home);
		if (n < 0)
			return fail(
				"no cache_dir: set -o cache_dir=DIR or HOME");
	}
	return 0;
}

/* The fixed part of the tree: root and one directory per configured level. */
static int make_skeleton(struct fs *fs)
{
	int rc = fs_inode_table_init(fs);

	if (rc)
		return rc;
	fs_attr_dir_default(fs, fs->root);
	fs->root->attr_until = 1e300;
	for (int l = 0; l < STORE_LEVELS; l++) {
		char *key = NULL;
		struct inode *in;

		if (!fs->opts.ids[l])
			continue;
		if (store_key(l, fs->opts.ids[l], "", &key)) {
			fail("bad %s ID '%s'", store_level_name(l),
			     fs->opts.ids[l]);
			return -EINVAL;
		}
		in = fs_inode_obtain(fs, key, FS_LEVEL, l);
		free(key);
		if (!in)
			return -ENOMEM;
		in->nlookup = 1;
		fs_attr_dir_default(fs, in);
		in->attr.st_mode = S_IFDIR | 0755;
		in->attr_until = 1e300;
		fs->levels[l] = in;
	}
	return 0;
}

/* mkdir -p path; the first failure's -errno. */
static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Say so when cache_size is more than cache_dir has free: the cache then
 * fills the disk first, and keeps what does not fit in memory. */
static void warn_cache_space(struct fs *fs)
{
	struct statvfs sv;
	uint64_t avail;
	char want[32], have[32];

	if (statvfs(fs->opts.cache_dir, &sv) != 0)
		return;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (avail >= fs->opts.cache_size)
		return;
	store_size_format(fs->opts.cache_size, want, sizeof(want));
	store_size_format(avail, have, sizeof(have));
	fprintf(stderr,
		"artifactfs: warning: cache_size %s is more than the %s free "
		"in %s: blocks that do not fit are kept in memory\n",
		want, have, fs->opts.cache_dir);
}

/* A mountpoint must be an empty directory (-o nonempty allows one with
 * files, as s3fs does; libfuse 3 dropped that option, so we take it
 * ourselves).  1 (reported) when not. */
static int check_mountpoint(const char *path, int nonempty)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (stat(path, &st) != 0)
		return fail("mountpoint %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail("mountpoint %s is not a directory", path);
	if (nonempty)
		return 0;
	d = opendir(path);
	if (!d)
		return fail("mountpoint %s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	if (n)
		return fail("mountpoint %s is not empty (use -o nonempty to "
			    "mount over it anyway)",
			    path);
	return 0;
}

/* Prove cache_dir is usable before mounting (so failure is one line). */
static int probe_cache(struct fs *fs)
{
	struct cache_opts co = { .dir = fs->opts.cache_dir,
				 .max_bytes = fs->opts.cache_size,
				 .block_size = fs->opts.block_size };
	struct remote_error err = { { 0 } };
	struct cache *c = NULL;
	int fd;
	int rc;

	rc = mkdir_p(co.dir);
	if (rc)
		return fail("cache_dir %s is not usable: %s", co.dir,
			    strerror(-rc));
	rc = cache_open(&co, fs->remote, &c, &err);
	if (rc)
		return fail("cache_dir %s is not usable: %s", co.dir,
			    err.msg[0] ? err.msg : strerror(-rc));
	fd = cache_stage_open(c);
	if (fd < 0) {
		cache_close(c);
		return fail("cache_dir %s is not usable: %s", co.dir,
			    strerror(-fd));
	}
	close(fd);
	cache_close(c);
	warn_cache_space(fs);
	return 0;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmd = { 0 };
	struct fuse_loop_config loop = { .clone_fd = 0,
					 .max_idle_threads = 16 };
	struct remote_config cfg = { 0 };
	struct remote_error err = { { 0 } };
	struct cache_opts co = { 0 };
	struct fuse_session *se = NULL;
	struct cli c = { 0 };
	struct fs *fs = NULL;
	int mounted = 0;
	int sweeping = 0;
	int ret = 1;
	int rc;

	if (fuse_opt_parse(&args, &c, cli_spec, note_opt) < 0) {
		if (!c.refused)
			fail("bad options (see --help)");
		goto out;
	}
	/* Setuid bits and device nodes stored in objects stay inert. */
	if (fuse_opt_add_arg(&args, "-onosuid,nodev") < 0) {
		fail("out of memory");
		goto out;
	}
	/* Other users may come in: the kernel checks their permissions as
	 * on a local disk (README, "Permissions"). */
	if (c.allow_other && !c.default_permissions &&
	    fuse_opt_add_arg(&args, "-odefault_permissions") < 0) {
		fail("out of memory");
		goto out;
	}
	if (c.help) {
		usage(argv[0]);
		ret = 0;
		goto out;
	}
	if (c.version) {
		printf("artifactfs %s (libfuse %s)\n", AFS_VERSION,
		       fuse_pkgversion());
		ret = 0;
		goto out;
	}
	if (fuse_parse_cmdline(&args, &cmd) != 0)
		goto out;
	if (!cmd.mountpoint) {
		fail("no MOUNTPOINT given (see --help)");
		goto out;
	}
	if (check_mountpoint(cmd.mountpoint, c.nonempty))
		goto out;
	if (fs_context_new(&fs))
		goto out;
	fs->opts.debug = cmd.debug;
	fs->opts.foreground = cmd.foreground;
	if (apply_options(fs, &c))
		goto out;

	remote_config_set(&cfg.url, fs->opts.remote_url);
	remote_config_set(&cfg.endpoint, fs->opts.endpoint);
	remote_config_set(&cfg.region, fs->opts.region);
	cfg.debug = cmd.debug;
	cfg.timeout = fs->opts.timeout;
	rc = remote_config_resolve(&cfg, &err);
	if (rc == 0)
		rc = remote_open(&cfg, &fs->remote, &err);
	if (rc == 0) {
		remote_set_warn(fs->remote, fs_remote_warn, fs);
		rc = remote_check(fs->remote, &err);
	}
	if (rc) {
		fail("%s", err.msg[0] ? err.msg : strerror(-rc));
		goto out;
	}
	if (probe_cache(fs))
		goto out;
	if (make_skeleton(fs))
		goto out;

	se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), fs);
	if (!se) {
		fail("cannot start a FUSE session");
		goto out;
	}
	if (fuse_set_signal_handlers(se) != 0)
		goto out;
	if (fuse_session_mount(se, cmd.mountpoint) != 0) {
		fail("cannot mount on %s", cmd.mountpoint);
		goto out;
	}
	mounted = 1;
	if (fuse_daemonize(cmd.foreground) != 0)
		goto out;
	if (!cmd.foreground) {
		openlog("artifactfs", LOG_PID, LOG_DAEMON);
		fuse_set_log_func(log_to_syslog);
	}

	/* Threads start only now: they would not survive daemonizing. */
	co.dir = fs->opts.cache_dir;
	co.max_bytes = fs->opts.cache_size;
	co.block_size = fs->opts.block_size;
	/* A sequential reader keeps 8 ranged GETs in flight, 64 MiB ahead
	 * with 4 MiB blocks: what a loopback Swift needs to stream at full
	 * speed (scripts/bench, test a). */
	co.readahead = (unsigned)((64u << 20) / fs->opts.block_size);
	if (co.readahead < 2)
		co.readahead = 2;
	co.fetchers = 8;
	rc = fs_context_start(fs, &co, &err);
	if (rc) {
		fs_log(fs, "cannot start: %s", err.msg);
		goto out;
	}
	if (fs_sweeper_start(fs))
		goto out;
	sweeping = 1;
	fs_log(fs, "mounted %s on %s", remote_name(fs->remote), cmd.mountpoint);
	if (cmd.singlethread)
		ret = fuse_session_loop(se);
	else
		ret = fuse_session_loop_mt(se, &loop);
	ret = ret ? 1 : 0;
out:
	if (se) {
		if (mounted)
			fuse_session_unmount(se);
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
	}
	if (sweeping)
		fs_sweeper_stop(fs);
	/* Pending uploads get the operations' deadline, then are stopped:
	 * unmount (and SIGTERM) never waits on a stuck server for long. */
	if (fs)
		fs_context_drain(fs, fs->opts.timeout);
	fs_context_free(fs);
	for (int l = 0; l < STORE_LEVELS; l++)
		free(c.ids[l]);
	free(c.cache_dir);
	for (int l = 0; l < STORE_LEVELS; l++)
		free(c.expire_in[l]);
	free(c.remote);
	free(c.endpoint);
	free(c.region);
	free(c.cache_size);
	free(c.block_size);
	free(c.metadata_ttl);
	free(c.sweep_interval);
	free(c.uid);
	free(c.timeout);
	free(c.upload_max_age);
	free(c.gid);
	free(c.umask);
	remote_config_clear(&cfg);
	free(cmd.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
