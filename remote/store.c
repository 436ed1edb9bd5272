/*
 * store.c - the artifact key layout, path checks, and the codecs for object
 * metadata, RFC 3339 times and sizes (see store.h).
 *
 * Everything here is pure: no I/O, no clock, no global mutable state.  The
 * parsers are strict (every byte must be accounted for) because their input
 * comes from users (setfattr, mount options) and from objects other tools
 * wrote; the metadata decoder, in contrast, never fails: a value it cannot
 * read is treated as absent, as s3fs does, so a foreign object stays
 * readable.  Durations live in duration.c.
 */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The largest mode we accept from metadata: type bits plus permissions. */
#define STORE_MODE_MAX 0177777u

/* ---- levels ------------------------------------------------------------ */

static const char *const level_names[STORE_LEVELS] = { "job", "workflow",
						       "project" };
static const char *const level_dirs[STORE_LEVELS] = { "jobs", "workflows",
						      "projects" };
static const char *const level_envs[STORE_LEVELS] = { "SEMAPHORE_JOB_ID",
						      "SEMAPHORE_WORKFLOW_ID",
						      "SEMAPHORE_PROJECT_ID" };

static int level_ok(enum store_level level)
{
	return (int)level >= 0 && (int)level < STORE_LEVELS;
}

const char *store_level_name(enum store_level level)
{
	return level_ok(level) ? level_names[level] : NULL;
}

const char *store_level_dir(enum store_level level)
{
	return level_ok(level) ? level_dirs[level] : NULL;
}

const char *store_level_env(enum store_level level)
{
	return level_ok(level) ? level_envs[level] : NULL;
}

int store_level_parse(const char *s, enum store_level *level)
{
	if (!s)
		return -EINVAL;
	for (int i = 0; i < STORE_LEVELS; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*level = (enum store_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- paths and keys ---------------------------------------------------- */

/*
 * Semaphore's CLI (ToRelative) cleans the path and then drops everything
 * made of '.' and '/' at its front.  We return a pointer into s, so we
 * cannot clean; we strip the same prefixes one at a time ("/", "./",
 * "../"), and a path that is only "." or ".." becomes "".  Whatever is
 * left still goes through store_path_is_safe() before it becomes a key.
 */
const char *store_path_trim(const char *s)
{
	if (!s)
		return NULL;
	for (;;) {
		if (s[0] == '/') {
			s += 1;
		} else if (s[0] == '.' && s[1] == '/') {
			s += 2;
		} else if (s[0] == '.' && s[1] == '.' && s[2] == '/') {
			s += 3;
		} else if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
			s += strlen(s);
		} else {
			return s;
		}
	}
}

int store_path_is_safe(const char *rel, int dir_ok)
{
	size_t n;

	if (!remote_key_valid(rel))
		return 0;
	n = strlen(rel);
	return dir_ok || rel[n - 1] != '/';
}

/* Whether id can be one key segment: non-empty, no '/', not "." or "..",
 * no control character (a NUL cannot occur inside a C string). */
static int id_ok(const char *id)
{
	if (!id || !id[0])
		return 0;
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/*
 * Build "artifacts/<levels>/<id>/<path>".  path may be NULL or "" (the
 * store's own prefix, ending in '/'); otherwise it must pass
 * store_path_is_safe() with a trailing '/' allowed (directory markers), so
 * a key built here can never climb out of its store.  -EINVAL for a bad
 * level, id or path, -ENAMETOOLONG past REMOTE_KEY_MAX, -ENOMEM.
 */
int store_key(enum store_level level, const char *id, const char *path,
	      char **out)
{
	static const char root[] = "artifacts/";
	const char *dir = store_level_dir(level);
	size_t len, dl, il, pl;
	char *key = NULL;
	int rc = 0;

	*out = NULL;
	if (!path)
		path = "";
	if (!dir || !id_ok(id)) {
		rc = -EINVAL;
		goto out;
	}
	if (path[0] && !store_path_is_safe(path, 1)) {
		rc = -EINVAL;
		goto out;
	}
	dl = strlen(dir);
	il = strlen(id);
	pl = strlen(path);
	if (il > REMOTE_KEY_MAX || pl > REMOTE_KEY_MAX) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	len = (sizeof(root) - 1) + dl + 1 + il + 1 + pl;
	if (len > REMOTE_KEY_MAX) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	key = malloc(len + 1);
	if (!key) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(key, root, sizeof(root) - 1);
	len = sizeof(root) - 1;
	memcpy(key + len, dir, dl);
	len += dl;
	key[len++] = '/';
	memcpy(key + len, id, il);
	len += il;
	key[len++] = '/';
	memcpy(key + len, path, pl);
	len += pl;
	key[len] = '\0';
	*out = key;
	key = NULL;
out:
	free(key);
	return rc;
}

/* ---- strict numbers ---------------------------------------------------- */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Parse s as an unsigned decimal with nothing else (no sign, no space, no
 * "0x"), at most max.  0 or -EINVAL. */
static int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	unsigned long long x;
	char *end = NULL;

	if (!s || !is_digit(s[0]))
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || !end || *end != '\0' || x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

static int is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Copy 64 hex digits from s into out (65 bytes), lower-cased.  -EINVAL if s
 * is anything else. */
static int sha256_norm(const char *s, char *out)
{
	size_t i;

	for (i = 0; i < 64; i++) {
		if (!is_hex(s[i]))
			return -EINVAL;
		out[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] - 'A' + 'a')
						      : s[i];
	}
	if (s[64] != '\0')
		return -EINVAL;
	out[64] = '\0';
	return 0;
}

/*
 * "SECONDS[.FRACTION]": s3fs writes whole seconds, we write nine fraction
 * digits, rclone writes as many as it has ("1700000000.5").  The fraction
 * is read as a decimal fraction: fewer than nine digits are padded, more
 * are truncated.  A sign, an empty part or anything else: -EINVAL.
 */
static int parse_mtime(const char *s, struct timespec *ts)
{
	uint64_t sec = 0;
	long nsec = 0;
	const char *dot;
	char secbuf[24];
	size_t n;
	int digits = 0;
	int rc;

	dot = strchr(s, '.');
	n = dot ? (size_t)(dot - s) : strlen(s);
	if (n == 0 || n >= sizeof(secbuf))
		return -EINVAL;
	memcpy(secbuf, s, n);
	secbuf[n] = '\0';
	rc = parse_u64(secbuf, (uint64_t)INT64_MAX, &sec);
	if (rc)
		return rc;
	if (dot) {
		const char *p = dot + 1;

		if (!*p)
			return -EINVAL;
		for (; *p; p++) {
			if (!is_digit(*p))
				return -EINVAL;
			if (digits < 9) {
				nsec = nsec * 10 + (*p - '0');
				digits++;
			}
		}
		for (; digits < 9; digits++)
			nsec *= 10;
	}
	if ((uint64_t)(time_t)sec != sec || (time_t)sec < 0)
		return -EINVAL;
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = nsec;
	return 0;
}

/* ---- metadata codec ---------------------------------------------------- */

void store_meta_decode(const struct remote_meta *m, struct store_meta *out)
{
	const char *v;
	uint64_t x;

	memset(out, 0, sizeof(*out));
	if (!m)
		return;

	v = remote_meta_get(m, "mode");
	if (v && parse_u64(v, STORE_MODE_MAX, &x) == 0) {
		out->mode = (mode_t)x;
		out->has_mode = 1;
	}
	/* (uid_t)-1 means "unchanged" to chown(2); never a real owner. */
	v = remote_meta_get(m, "uid");
	if (v && parse_u64(v, UINT32_MAX - 1u, &x) == 0) {
		out->uid = (uid_t)x;
		out->has_uid = 1;
	}
	v = remote_meta_get(m, "gid");
	if (v && parse_u64(v, UINT32_MAX - 1u, &x) == 0) {
		out->gid = (gid_t)x;
		out->has_gid = 1;
	}
	v = remote_meta_get(m, "mtime");
	if (v && parse_mtime(v, &out->mtime) == 0)
		out->has_mtime = 1;
	else
		memset(&out->mtime, 0, sizeof(out->mtime));
	v = remote_meta_get(m, "ctime");
	if (v && parse_mtime(v, &out->ctime) == 0)
		out->has_ctime = 1;
	else
		memset(&out->ctime, 0, sizeof(out->ctime));
	v = remote_meta_get(m, "rdev");
	if (v && parse_u64(v, UINT64_MAX, &x) == 0) {
		out->rdev = x;
		out->has_rdev = 1;
	}
	v = remote_meta_get(m, "sha256");
	if (v && sha256_norm(v, out->sha256) == 0)
		out->has_sha256 = 1;
	else
		memset(out->sha256, 0, sizeof(out->sha256));
	v = remote_meta_get(m, "expires-at");
	if (v && store_time_parse(v, &out->expires_at) == 0)
		out->has_expires = 1;
	else
		out->expires_at = 0;
}

/* Set name=value in m when has, else remove name (absent is fine). */
static int meta_put(struct remote_meta *m, const char *name, int has,
		    const char *value)
{
	if (has)
		return remote_meta_set(m, name, value);
	(void)remote_meta_remove(m, name); /* -ENOENT: already absent */
	return 0;
}

/*
 * Write sm into m.  Values are checked first, so m is left untouched when
 * one is out of range (-EINVAL: mode past 0177777, negative mtime or
 * tv_nsec outside [0, 1e9), sha256 not 64 hex digits, expires_at
 * negative or past 9999-12-31T23:59:59Z).  -ENOMEM can leave m partly updated;
 * it stays a valid, freeable remote_meta.
 */
/* "SECONDS[.NANOSECONDS]" as s3fs writes x-amz-meta-mtime and -ctime;
 * -EINVAL for a time before the epoch or a bad tv_nsec. */
static int time_put(const struct timespec *ts, char *buf, size_t len)
{
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
		return -EINVAL;
	if (ts->tv_nsec == 0)
		snprintf(buf, len, "%" PRId64, (int64_t)ts->tv_sec);
	else
		snprintf(buf, len, "%" PRId64 ".%09ld", (int64_t)ts->tv_sec,
			 (long)ts->tv_nsec);
	return 0;
}

int store_meta_encode(const struct store_meta *sm, struct remote_meta *m)
{
	char mode[16], uid[16], gid[16], mtime[48], ctime[48], sha[65], exp[32];
	char rdev[24];
	int rc = 0;

	mode[0] = uid[0] = gid[0] = mtime[0] = sha[0] = exp[0] = '\0';
	ctime[0] = rdev[0] = '\0';
	if (sm->has_mode) {
		if ((uint64_t)sm->mode > STORE_MODE_MAX) {
			rc = -EINVAL;
			goto out;
		}
		snprintf(mode, sizeof(mode), "%u", (unsigned)sm->mode);
	}
	if (sm->has_uid)
		snprintf(uid, sizeof(uid), "%u", (unsigned)sm->uid);
	if (sm->has_gid)
		snprintf(gid, sizeof(gid), "%u", (unsigned)sm->gid);
	if (sm->has_mtime) {
		rc = time_put(&sm->mtime, mtime, sizeof(mtime));
		if (rc)
			goto out;
	}
	if (sm->has_ctime) {
		rc = time_put(&sm->ctime, ctime, sizeof(ctime));
		if (rc)
			goto out;
	}
	if (sm->has_rdev)
		snprintf(rdev, sizeof(rdev), "%" PRIu64, sm->rdev);
	if (sm->has_sha256) {
		rc = sha256_norm(sm->sha256, sha);
		if (rc)
			goto out;
	}
	if (sm->has_expires) {
		if (sm->expires_at < 0 || sm->expires_at > STORE_TIME_MAX) {
			rc = -EINVAL;
			goto out;
		}
		store_time_format(sm->expires_at, exp, sizeof(exp));
		if (!exp[0]) {
			rc = -EINVAL;
			goto out;
		}
	}

	rc = meta_put(m, "mode", sm->has_mode, mode);
	if (rc)
		goto out;
	rc = meta_put(m, "uid", sm->has_uid, uid);
	if (rc)
		goto out;
	rc = meta_put(m, "gid", sm->has_gid, gid);
	if (rc)
		goto out;
	rc = meta_put(m, "mtime", sm->has_mtime, mtime);
	if (rc)
		goto out;
	rc = meta_put(m, "ctime", sm->has_ctime, ctime);
	if (rc)
		goto out;
	rc = meta_put(m, "rdev", sm->has_rdev, rdev);
	if (rc)
		goto out;
	rc = meta_put(m, "sha256", sm->has_sha256, sha);
	if (rc)
		goto out;
	rc = meta_put(m, "expires-at", sm->has_expires, exp);
out:
	return rc;
}

int store_meta_expired(const struct store_meta *sm, int64_t now)
{
	return sm->has_expires && sm->expires_at <= now;
}

/* ---- RFC 3339 ---------------------------------------------------------- */

/* "YYYY-MM-DDTHH:MM:SSZ"; buf becomes "" when t is outside the years 0000
 * to 9999 (so what we write, store_time_parse() reads back) or len is too
 * small (21 bytes with the NUL). */
void store_time_format(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;
	int n;

	if (!buf || len == 0)
		return;
	buf[0] = '\0';
	if (t < STORE_TIME_MIN || t > STORE_TIME_MAX)
		return;
	if ((int64_t)tt != t || !gmtime_r(&tt, &tm))
		return;
	/* Not strftime: glibc's %Y does not pad years below 1000 to four
	 * digits. */
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';
}

/* n digits at s as a number; -1 if any is not a digit. */
static int digits_at(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * RFC 3339 date-time: YYYY-MM-DD, then 'T', 't' or a space (RFC 3339
 * section 5.6 allows the space), HH:MM:SS, an optional fraction of any
 * length (dropped: expiry is kept in whole seconds), then 'Z', 'z' or
 * +HH:MM / -HH:MM.  Fields are range-checked (day against the month, leap
 * years included; a leap second :60 is accepted and counts as the next
 * second), and so is the result: an offset that moves it out of the years
 * 0000-9999 makes a time no one can write back.  Every one of the len
 * bytes must be accounted for (a NUL among them is junk).  -EINVAL on
 * anything else.
 */
int store_time_parsen(const char *s, size_t len, int64_t *t)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p, *end;
	int64_t v;

	if (!s || len < 20 || memchr(s, '\0', len))
		return -EINVAL;
	end = s + len;
	y = digits_at(s, 4);
	mo = digits_at(s + 5, 2);
	d = digits_at(s + 8, 2);
	h = digits_at(s + 11, 2);
	mi = digits_at(s + 14, 2);
	sec = digits_at(s + 17, 2);
	if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0)
		return -EINVAL;
	if (s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
		return -EINVAL;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 60)
		return -EINVAL;

	p = s + 19;
	if (p < end && *p == '.') {
		p++;
		if (p == end || !is_digit(*p))
			return -EINVAL;
		while (p < end && is_digit(*p))
			p++;
	}
	if (end - p == 1 && (p[0] == 'Z' || p[0] == 'z')) {
		sign = 0;
	} else if (end - p == 6 && (p[0] == '+' || p[0] == '-') &&
		   p[3] == ':') {
		sign = p[0] == '+' ? 1 : -1;
		oh = digits_at(p + 1, 2);
		om = digits_at(p + 4, 2);
		if (oh < 0 || om < 0 || oh > 23 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}

	v = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	/* local = UTC + offset, so UTC = local - offset. */
	v -= (int64_t)sign * (oh * 3600 + om * 60);
	if (v < STORE_TIME_MIN || v > STORE_TIME_MAX)
		return -EINVAL;
	*t = v;
	return 0;
}

int store_time_parse(const char *s, int64_t *t)
{
	return s ? store_time_parsen(s, strlen(s), t) : -EINVAL;
}

int store_expiry_after(int64_t now, int64_t dur, int64_t *at)
{
	int64_t v;

	if (dur == STORE_NEVER) {
		*at = 0;
		return 0;
	}
	if (dur <= 0 || __builtin_add_overflow(now, dur, &v) ||
	    v > STORE_TIME_MAX)
		return -EINVAL;
	*at = v;
	return 0;
}

/* ---- sizes ------------------------------------------------------------- */

/*
 * Digits, optional spaces, then an optional unit: K, M, G, T, P or E in
 * either case, each optionally followed by "B" or "iB" (any case); or "B"
 * alone.  Every unit is a power of 1024, so "1MB" = "1MiB" = "1M" =
 * 1048576, as in s3fs and rclone size options.  No sign, no fraction, no
 * surrounding space; overflow is -EINVAL.
 */
int store_size_parse(const char *s, uint64_t *bytes)
{
	static const char units[] = "kmgtpe";
	uint64_t n = 0, mult = 1;
	const char *p = s;
	const char *u;
	int shift;

	if (!s || !is_digit(*p))
		return -EINVAL;
	for (; is_digit(*p); p++) {
		if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -EINVAL;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	while (*p == ' ')
		p++;
	if (*p == '\0') {
		if (p != s && p[-1] == ' ')
			return -EINVAL;
		*bytes = n;
		return 0;
	}
	if ((*p == 'b' || *p == 'B') && p[1] == '\0') {
		*bytes = n;
		return 0;
	}
	u = strchr(units, *p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	if (!u || !*u)
		return -EINVAL;
	shift = 10 * (int)(u - units + 1);
	p++;
	if (*p == 'i' || *p == 'I') {
		p++;
		if (*p != 'b' && *p != 'B')
			return -EINVAL;
	}
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p != '\0')
		return -EINVAL;
	mult = (uint64_t)1 << shift;
	if (n > UINT64_MAX / mult)
		return -EINVAL;
	*bytes = n * mult;
	return 0;
}

/*
 * Binary units with one decimal below 10 and none above, as go-humanize's
 * IBytes (which Go CLIs such as Semaphore's print): "0 B", "512 B",
 * "1.0 KiB", "1.2 MiB", "82 MiB", "16 EiB".  Tenths are rounded half up,
 * then whole units as printf's "%.0f" does.  buf is always terminated.
 */
void store_size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B",   "KiB", "MiB", "GiB",
					     "TiB", "PiB", "EiB" };
	uint64_t div = 1, tenths, whole;
	int e = 0;

	if (!buf || len == 0)
		return;
	if (bytes < 10) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return;
	}
	while (e < 6 && bytes / div >= 1024) {
		div *= 1024;
		e++;
	}
	/* Tenths of a unit, rounded half up; (bytes % div) * 10 < 2^64
	 * because div <= 2^60. */
	tenths = (bytes / div) * 10 + ((bytes % div) * 10 + div / 2) / div;
	if (tenths >= 100) {
		/* printf's %.0f of an exact .5 rounds to even: 10.5 -> 10. */
		whole = tenths / 10;
		if (tenths % 10 > 5 || (tenths % 10 == 5 && whole % 2 == 1))
			whole++;
		snprintf(buf, len, "%" PRIu64 " %s", whole, units[e]);
	} else
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 " %s", tenths / 10,
			 tenths % 10, units[e]);
}
