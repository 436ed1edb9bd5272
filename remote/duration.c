/*
 * duration.c - store_duration_parse(): the expiry durations of the
 * README ("Expiry, through extended attributes"), as Semaphore's `artifact push --expire-in` and GitLab's
 * `artifacts:expire_in` write them.
 *
 * Grammar (case-insensitive; at most STORE_DURATION_LEN_MAX bytes):
 *
 *     duration := space* ( "never" | term ( sep term )* ) space*
 *     term     := number space* unit?
 *     sep      := ( space | "," | "and" | "plus" | "with" )*   (may be empty)
 *     number   := digit+                                     (whole numbers)
 *
 * Units, each a fixed number of seconds:
 *
 *     s  sec  secs  second  seconds                       1
 *     min  mins  minute  minutes                          60
 *     h  hr  hrs  hour  hours                             3600
 *     d  dy  day  days                                    86400
 *     w  wk  wks  week  weeks                             7 days
 *     m  mo  mos  month  months                           30 days
 *     y  yr  yrs  year  years                             365 days
 *
 * Decisions, where the two vendors differ or are silent:
 *
 * - `m` alone is a month (Semaphore's meaning, and ours); GitLab's
 *   ChronicDuration reads it as minutes.  So "2h20m" is 2 hours + 20
 *   months; "2h20min" is what GitLab's docs write.
 * - A year is 365 days (Semaphore); ChronicDuration uses 365.25.
 * - A bare number is seconds when it is the whole input ("42").  After a
 *   term with a unit it means the next smaller unit, as gitlab-chronic-
 *   duration 0.12 does ("1 hour 30" = 1h30min, "2 days 3" = 2d3h,
 *   "6 mos 2" = 6 months 2 weeks); after seconds there is no smaller unit,
 *   and a bare number before any unit ("42 3 mins") is ambiguous: both are
 *   -EINVAL (ChronicDuration would silently add seconds).
 * - Only whole numbers: durations are "positive whole numbers", and none
 *   of GitLab's expire_in examples uses a fraction (ChronicDuration's own
 *   README shows "12.4 secs"; GitLab's docs do not promise it).  "1.5d" is
 *   -EINVAL, as are ChronicDuration's clock forms ("1:20") and number
 *   words ("two hours"), which neither vendor's expire_in docs show.
 * - A unit without a number ("day") is -EINVAL (ChronicDuration reads "1
 *   day"); so are unknown words (ChronicDuration ignores them unless told
 *   to raise), signs, other punctuation, a separator at the start or end,
 *   a zero total, and a total that overflows: one past
 *   STORE_DURATION_MAX (the seconds from 1970 to 9999-12-31T23:59:59Z),
 *   since no expiry that far away can be written ("10000y" is -EINVAL,
 *   never a silent "never").  A caller adding it to the time now still
 *   checks the sum (store_expiry_after).
 * - Input with a length (store_duration_parsen, for xattr values) must
 *   hold no NUL: "2w\0junk" is -EINVAL, not "2w".
 * - The same unit may repeat and units may come in any order; they add
 *   up, as in ChronicDuration.
 */
#include "store.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* Longer input is refused before it is looked at. */
#define STORE_DURATION_LEN_MAX 256

#define DUR_MIN 60
#define DUR_HOUR (60 * DUR_MIN)
#define DUR_DAY (24 * DUR_HOUR)

/* Unit ranks, smallest first, for the bare-number rule. */
enum dur_rank { R_SEC, R_MIN, R_HOUR, R_DAY, R_WEEK, R_MONTH, R_YEAR, R_N };

static const int64_t rank_seconds[R_N] = {
	1, DUR_MIN, DUR_HOUR, DUR_DAY, 7 * (int64_t)DUR_DAY,
	30 * (int64_t)DUR_DAY, 365 * (int64_t)DUR_DAY,
};

struct dur_unit {
	const char *name;
	enum dur_rank rank;
};

static const struct dur_unit dur_units[] = {
	{ "s", R_SEC },	      { "sec", R_SEC },	    { "secs", R_SEC },
	{ "second", R_SEC },  { "seconds", R_SEC }, { "min", R_MIN },
	{ "mins", R_MIN },    { "minute", R_MIN },  { "minutes", R_MIN },
	{ "h", R_HOUR },      { "hr", R_HOUR },	    { "hrs", R_HOUR },
	{ "hour", R_HOUR },   { "hours", R_HOUR },  { "d", R_DAY },
	{ "dy", R_DAY },      { "day", R_DAY },	    { "days", R_DAY },
	{ "w", R_WEEK },      { "wk", R_WEEK },	    { "wks", R_WEEK },
	{ "week", R_WEEK },   { "weeks", R_WEEK },  { "m", R_MONTH },
	{ "mo", R_MONTH },    { "mos", R_MONTH },   { "month", R_MONTH },
	{ "months", R_MONTH }, { "y", R_YEAR },	    { "yr", R_YEAR },
	{ "yrs", R_YEAR },    { "year", R_YEAR },   { "years", R_YEAR },
};

static const char *const join_words[] = { "and", "plus", "with" };

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_num(char c)
{
	return c >= '0' && c <= '9';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Whether word[0..n) equals the lower-case literal w, ignoring case. */
static int word_is(const char *word, size_t n, const char *w)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i] == '\0' || lower(word[i]) != w[i])
			return 0;
	return w[i] == '\0';
}

/* The rank of unit word[0..n), or -1. */
static int unit_rank(const char *word, size_t n)
{
	for (size_t i = 0; i < sizeof(dur_units) / sizeof(dur_units[0]); i++)
		if (word_is(word, n, dur_units[i].name))
			return (int)dur_units[i].rank;
	return -1;
}

static int is_join_word(const char *word, size_t n)
{
	for (size_t i = 0; i < sizeof(join_words) / sizeof(join_words[0]); i++)
		if (word_is(word, n, join_words[i]))
			return 1;
	return 0;
}

/* *acc += n * mult, or -EINVAL when that overflows int64. */
static int add_term(int64_t *acc, int64_t n, int64_t mult)
{
	int64_t v;

	if (__builtin_mul_overflow(n, mult, &v))
		return -EINVAL;
	if (__builtin_add_overflow(*acc, v, acc))
		return -EINVAL;
	return 0;
}

/*
 * Parse the len bytes at s per the grammar above.  *seconds is written
 * only on success: STORE_NEVER for "never", else a total in [1,
 * STORE_DURATION_MAX].  -EINVAL on anything else, including NULL.
 */
int store_duration_parsen(const char *s, size_t len, int64_t *seconds)
{
	const char *p, *end, *w;
	int64_t total = 0, n;
	int last_rank = -1;  /* rank of the previous term, -1 before any */
	int terms = 0;       /* terms read so far */
	int bare_first = 0;  /* the first term had no unit */
	int pending_sep = 0; /* a separator word or comma awaits a term */
	int rank, rc = -EINVAL;

	if (!s || len > STORE_DURATION_LEN_MAX || memchr(s, '\0', len))
		goto out;
	p = s;
	end = s + len;
	while (p < end && is_space(*p))
		p++;
	while (end > p && is_space(end[-1]))
		end--;
	if (p == end)
		goto out;
	if (word_is(p, (size_t)(end - p), "never")) {
		*seconds = STORE_NEVER;
		rc = 0;
		goto out;
	}

	while (p < end) {
		if (is_space(*p)) {
			p++;
			continue;
		}
		if (*p == ',') {
			if (terms == 0)
				goto out;
			pending_sep = 1;
			p++;
			continue;
		}
		if (is_alpha(*p)) {
			/* Only a join word can stand here: units follow
			 * their number, below. */
			for (w = p; w < end && is_alpha(*w); w++)
				;
			if (terms == 0 || !is_join_word(p, (size_t)(w - p)))
				goto out;
			pending_sep = 1;
			p = w;
			continue;
		}
		if (!is_num(*p))
			goto out;

		n = 0;
		for (; p < end && is_num(*p); p++) {
			if (__builtin_mul_overflow(n, 10, &n) ||
			    __builtin_add_overflow(n, *p - '0', &n))
				goto out;
		}
		if (p < end && *p == '.')
			goto out; /* a fraction: whole numbers only */
		for (w = p; w < end && is_space(*w); w++)
			;
		rank = -1;
		if (w < end && is_alpha(*w)) {
			const char *u = w;

			for (; w < end && is_alpha(*w); w++)
				;
			rank = unit_rank(u, (size_t)(w - u));
			if (rank < 0 && !is_join_word(u, (size_t)(w - u)))
				goto out; /* an unknown unit */
			if (rank >= 0)
				p = w;
		}
		if (rank < 0) {
			/* A bare number: seconds alone, else the unit below
			 * the previous term's. */
			if (terms == 0) {
				rank = R_SEC;
				bare_first = 1;
			} else if (bare_first || last_rank <= R_SEC) {
				goto out;
			} else {
				rank = last_rank - 1;
			}
		} else if (bare_first) {
			goto out; /* "42 3 mins" */
		}
		if (add_term(&total, n, rank_seconds[rank]))
			goto out;
		last_rank = rank;
		terms++;
		pending_sep = 0;
	}
	if (pending_sep || terms == 0 || total <= 0 ||
	    total > STORE_DURATION_MAX)
		goto out;
	*seconds = total;
	rc = 0;
out:
	return rc;
}

int store_duration_parse(const char *s, int64_t *seconds)
{
	if (!s)
		return -EINVAL;
	return store_duration_parsen(s, strnlen(s, STORE_DURATION_LEN_MAX + 1),
				     seconds);
}
