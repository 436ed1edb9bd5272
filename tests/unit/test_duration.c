/*
 * test_duration.c - unit tests for store_duration_parse() (remote/
 * duration.c): every example in Semaphore's `artifact push --expire-in`
 * help and docs and in GitLab's `artifacts:expire_in` docs, our own
 * decisions where the vendors differ (see the top of duration.c), and the
 * inputs that must fail with -EINVAL.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

#define MIN 60LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define WEEK (7 * DAY)
#define MONTH (30 * DAY)
#define YEAR (365 * DAY)

static const struct {
	const char *s;
	int64_t v;
} good[] = {
	/* Semaphore: artifact push --expire-in help ("just integer (number
	 * of seconds), Nh, Nd, Nw, Nm (months), Ny") and its docs. */
	{ "10d", 10 * DAY },
	{ "2w", 2 * WEEK },
	{ "1m", MONTH },
	{ "1y", YEAR },
	{ "7d", 7 * DAY },
	{ "3h", 3 * HOUR },
	{ "30s", 30 },
	{ "3600", 3600 },
	{ "never", STORE_NEVER },
	/* GitLab: artifacts:expire_in ("an elapsed time in seconds, unless a
	 * unit is provided"), current and older docs. */
	{ "42", 42 },
	{ "42 seconds", 42 },
	{ "3 mins 4 sec", 3 * MIN + 4 },
	{ "2 hrs 20 min", 2 * HOUR + 20 * MIN },
	{ "2h20min", 2 * HOUR + 20 * MIN },
	{ "6 mos 1 day", 6 * MONTH + DAY },
	{ "47 yrs 6 mos and 4d", 47 * YEAR + 6 * MONTH + 4 * DAY },
	{ "3 weeks and 2 days", 3 * WEEK + 2 * DAY },
	{ "1 week", WEEK },
	{ "1 day", DAY },
	{ "1 month", MONTH },
	{ "4 weeks", 4 * WEEK },
	{ "30 days", 30 * DAY },
	{ "60 minutes", 60 * MIN },
	/* GitLab Quick Start Guide's expire_in examples. */
	{ "42 weeks", 42 * WEEK },
	{ "42 days", 42 * DAY },
	{ "42 mins 42 secs", 42 * MIN + 42 },
	{ "2 mos 1 day", 2 * MONTH + DAY },
	{ "42 years 6 mos 6 hrs", 42 * YEAR + 6 * MONTH + 6 * HOUR },
	{ "1 week and 2 days", WEEK + 2 * DAY },
	/* Every unit spelling. */
	{ "1s", 1 },		{ "1 sec", 1 },
	{ "2 secs", 2 },	{ "1 second", 1 },
	{ "2 seconds", 2 },	{ "1min", MIN },
	{ "2 mins", 2 * MIN },	{ "1 minute", MIN },
	{ "2 minutes", 2 * MIN }, { "1h", HOUR },
	{ "1 hr", HOUR },	{ "2 hrs", 2 * HOUR },
	{ "1 hour", HOUR },	{ "2 hours", 2 * HOUR },
	{ "1d", DAY },		{ "1 dy", DAY },
	{ "2 days", 2 * DAY },	{ "1w", WEEK },
	{ "1 wk", WEEK },	{ "2 wks", 2 * WEEK },
	{ "2 weeks", 2 * WEEK }, { "1mo", MONTH },
	{ "2 mos", 2 * MONTH }, { "2 months", 2 * MONTH },
	{ "1 yr", YEAR },	{ "2 yrs", 2 * YEAR },
	{ "1 year", YEAR },	{ "2 years", 2 * YEAR },
	/* Case, spacing, separators. */
	{ "NEVER", STORE_NEVER },
	{ "  Never\t", STORE_NEVER },
	{ "2W", 2 * WEEK },
	{ "2H20MIN", 2 * HOUR + 20 * MIN },
	{ "3 Weeks And 2 Days", 3 * WEEK + 2 * DAY },
	{ "  2w  ", 2 * WEEK },
	{ "3 mins, 4 sec", 3 * MIN + 4 },
	{ "3 mins,4 sec", 3 * MIN + 4 },
	{ "1d, 2h and 3min", DAY + 2 * HOUR + 3 * MIN },
	{ "1 day plus 2 hours", DAY + 2 * HOUR },
	{ "1 day with 2 hours", DAY + 2 * HOUR },
	{ "1d\t2h\n3s", DAY + 2 * HOUR + 3 },
	{ "1d2h3s", DAY + 2 * HOUR + 3 },
	{ "007d", 7 * DAY },
	{ "1 day 1 day", 2 * DAY },
	{ "4d 47 yrs", 47 * YEAR + 4 * DAY },
	/* `m` alone is a month (Semaphore, and the README), not GitLab's minutes. */
	{ "2h20m", 2 * HOUR + 20 * MONTH },
	/* A bare number after a unit takes the next smaller unit, as
	 * gitlab-chronic-duration 0.12. */
	{ "1 hour 30", HOUR + 30 * MIN },
	{ "1 min 30", MIN + 30 },
	{ "2 days 3", 2 * DAY + 3 * HOUR },
	{ "1 week 1", WEEK + DAY },
	{ "6 mos 2", 6 * MONTH + 2 * WEEK },
	{ "1 year 1", YEAR + MONTH },
	{ "1 hour 30 15", HOUR + 30 * MIN + 15 },
	{ "1 hour and 30", HOUR + 30 * MIN },
	/* Limits: the largest totals up to STORE_DURATION_MAX, the seconds
	 * from 1970 to 9999-12-31T23:59:59Z. */
	{ "253402300799", STORE_DURATION_MAX },
	{ "2932896d", 2932896LL * DAY },
	{ "8035y", 8035LL * YEAR },
	{ "8035 years 3 mos", 8035LL * YEAR + 3 * MONTH },
};

static const char *const bad[] = {
	"",
	" ",
	"\t\n ",
	/* zero */
	"0",
	"0s",
	"0 days",
	"0d 0h",
	"000",
	/* signs and fractions (whole numbers only, as the README says) */
	"-1d",
	"-5",
	"+5",
	"1d -1h",
	"1.5d",
	"1.5",
	"12.4 secs",
	".5d",
	"1,5d",
	/* ChronicDuration forms that neither vendor's expire_in docs show */
	"1:20",
	"1:20.51",
	"4:01:01",
	"two hours and twenty minutes",
	"one hour",
	"day",
	"d",
	"week 2",
	/* unknown units and words, garbage */
	"5x",
	"5 fortnights",
	"5 ms",
	"1 mon",
	"5e3",
	"1_000",
	"1d garbage",
	"1d!",
	"1d;2h",
	"1d/2h",
	"1 m in",
	"10 days ago",
	"nevermore",
	"never 1d",
	"1d never",
	"never never",
	"\357\274\221d", /* a full-width digit one, then d */
	/* separators in the wrong place */
	",1d",
	"1d,",
	"and 1d",
	"1d and",
	"1d and and",
	"42 and",
	/* bare numbers where they are ambiguous */
	"42 3 mins",
	"5 and 3",
	"1 2",
	"1 sec 5",
	"1 min 30 15",
	/* overflow: past STORE_DURATION_MAX, never a silent "never" */
	"253402300800",
	"2932897d",
	"8036y",
	"10000y",
	"10000 years",
	"8035y 1y",
	"9223372036854775806",
	"106751991167300d",
	"292471208677y",
	/* overflow of int64 and the STORE_NEVER value itself */
	"9223372036854775807",
	"9223372036854775808",
	"99999999999999999999999999",
	"106751991167301d",
	"292471208678y",
	"106751991167300d 106751991167300d",
	"9223372036854775806 seconds 1",
};

static void test_duration_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEM(good); i++) {
		int64_t v = -42;
		int rc = store_duration_parse(good[i].s, &v);

		if (rc != 0)
			fail_msg("\"%s\": rc %d", good[i].s, rc);
		if (v != good[i].v)
			fail_msg("\"%s\": %lld, want %lld", good[i].s,
				 (long long)v, (long long)good[i].v);
	}
}

static void test_duration_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEM(bad); i++) {
		int64_t v = -42;
		int rc = store_duration_parse(bad[i], &v);

		if (rc != -EINVAL)
			fail_msg("\"%s\": rc %d, value %lld", bad[i], rc,
				 (long long)v);
		/* A failure changes nothing. */
		assert_int_equal(v, -42);
	}
	assert_int_equal(store_duration_parse(NULL, &(int64_t){ 0 }), -EINVAL);
}

/* At most 256 bytes are looked at; padding counts. */
static void test_duration_length(void **state)
{
	char buf[300];
	int64_t v = 0;

	(void)state;
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "2w", 2);
	buf[256] = '\0';
	assert_int_equal(store_duration_parse(buf, &v), 0);
	assert_int_equal(v, 2 * WEEK);
	buf[256] = ' ';
	buf[257] = '\0';
	assert_int_equal(store_duration_parse(buf, &v), -EINVAL);
	buf[sizeof(buf) - 1] = '\0';
	assert_int_equal(store_duration_parse(buf, &v), -EINVAL);
}

/* With a length: exactly those bytes count, and a NUL among them is junk,
 * never the end of the value. */
static void test_duration_parsen(void **state)
{
	int64_t v = -42;

	(void)state;
	assert_int_equal(store_duration_parsen("2w", 2, &v), 0);
	assert_int_equal(v, 2 * WEEK);
	assert_int_equal(store_duration_parsen("3dxyz", 2, &v), 0);
	assert_int_equal(v, 3 * DAY);
	assert_int_equal(store_duration_parsen("never", 5, &v), 0);
	assert_int_equal(v, STORE_NEVER);
	v = -42;
	assert_int_equal(store_duration_parsen("2w\0junk", 7, &v), -EINVAL);
	assert_int_equal(store_duration_parsen("2w\0", 3, &v), -EINVAL);
	assert_int_equal(store_duration_parsen("\0002w", 3, &v), -EINVAL);
	assert_int_equal(store_duration_parsen("never\0", 6, &v), -EINVAL);
	assert_int_equal(store_duration_parsen("2w junk", 7, &v), -EINVAL);
	assert_int_equal(store_duration_parsen("", 0, &v), -EINVAL);
	assert_int_equal(store_duration_parsen(NULL, 2, &v), -EINVAL);
	assert_int_equal(v, -42);
}

/* Adding a duration to the time now: "never" is no expiry, and nothing
 * may land past 9999-12-31T23:59:59Z (x-amz-meta-expires-at's last). */
static void test_expiry_after(void **state)
{
	const int64_t now = 1798070400; /* 2026-12-24 */
	int64_t at = -42;

	(void)state;
	assert_int_equal(store_expiry_after(now, 2 * WEEK, &at), 0);
	assert_int_equal(at, now + 2 * WEEK);
	assert_int_equal(store_expiry_after(now, STORE_NEVER, &at), 0);
	assert_int_equal(at, 0);
	assert_int_equal(store_expiry_after(now, STORE_TIME_MAX - now, &at), 0);
	assert_int_equal(at, STORE_TIME_MAX);
	at = -42;
	assert_int_equal(store_expiry_after(now, STORE_TIME_MAX - now + 1, &at),
			 -EINVAL);
	assert_int_equal(store_expiry_after(now, 8035 * YEAR, &at), -EINVAL);
	assert_int_equal(store_expiry_after(now, STORE_NEVER - 1, &at),
			 -EINVAL);
	assert_int_equal(store_expiry_after(now, 0, &at), -EINVAL);
	assert_int_equal(store_expiry_after(now, -1, &at), -EINVAL);
	assert_int_equal(at, -42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_good),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_duration_length),
		cmocka_unit_test(test_duration_parsen),
		cmocka_unit_test(test_expiry_after),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
