/*
 * progress.c - the progress bar of `artifact` push and pull.
 *
 * A thread wakes five times a second; once the transfer has run for two
 * seconds it redraws one line on stderr ("\r" ... ) with bytes done, total,
 * percentage and rate.  Nothing at all happens when stderr is not a
 * terminal, so logs and pipes stay clean.  Workers only add to a counter
 * under the lock; the drawing happens on the progress thread.
 */
#include "cli.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_DELAY_NS (2000000000LL)
#define PROGRESS_TICK_NS (200000000LL)
#define PROGRESS_BAR 30

/* Lock order: only `lock`. */
struct cli_progress {
	pthread_mutex_t lock;
	pthread_cond_t wake;  /* stop requested (lock) */
	uint64_t done;        /* bytes moved so far (lock) */
	uint64_t total;       /* immutable */
	int stop;             /* (lock) */
	int drawn;            /* the bar is on screen; progress thread only */
	struct timespec start; /* CLOCK_MONOTONIC; immutable */
	pthread_t thread;
};

static int64_t ns_since(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000000000LL +
	       (b->tv_nsec - a->tv_nsec);
}

static void draw(struct cli_progress *p, uint64_t done, int64_t elapsed)
{
	char sdone[32], stotal[32], srate[32], bar[PROGRESS_BAR + 1];
	unsigned pct = p->total ? (unsigned)(done * 100 / p->total) : 100;
	unsigned fill = pct * PROGRESS_BAR / 100, k;
	uint64_t rate = elapsed > 0 ? (uint64_t)((double)done * 1e9 / (double)elapsed)
				    : 0;

	if (pct > 100)
		pct = 100;
	for (k = 0; k < PROGRESS_BAR; k++)
		bar[k] = k < fill ? '#' : '-';
	bar[PROGRESS_BAR] = '\0';
	store_size_format(done, sdone, sizeof(sdone));
	store_size_format(p->total, stotal, sizeof(stotal));
	store_size_format(rate, srate, sizeof(srate));
	fprintf(stderr, "\r[%s] %3u%%  %s / %s  %s/s\033[K", bar, pct, sdone,
		stotal, srate);
	fflush(stderr);
	p->drawn = 1;
}

static void *progress_main(void *arg)
{
	struct cli_progress *p = arg;
	struct timespec now, until;
	uint64_t done;
	int stop;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += PROGRESS_TICK_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!p->stop &&
		       pthread_cond_timedwait(&p->wake, &p->lock, &until) !=
			       ETIMEDOUT)
			;
		stop = p->stop;
		done = p->done;
		pthread_mutex_unlock(&p->lock);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ns_since(&p->start, &now) >= PROGRESS_DELAY_NS || (stop && p->drawn))
			draw(p, done, ns_since(&p->start, &now));
		if (stop)
			break;
		pthread_mutex_lock(&p->lock);
	}
	if (p->drawn) {
		fputc('\n', stderr);
		fflush(stderr);
	}
	return NULL;
}

/* NULL when stderr is no terminal or anything fails: no bar, no harm. */
struct cli_progress *cli_progress_start(uint64_t total)
{
	struct cli_progress *p = NULL;
	pthread_condattr_t ca;

	if (!isatty(STDERR_FILENO))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->total = total;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&p->thread, NULL, progress_main, p)) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return NULL;
	}
	return p;
}

void cli_progress_add(void *ctx, uint64_t bytes)
{
	struct cli_progress *p = ctx;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->done += bytes;
	pthread_mutex_unlock(&p->lock);
}

/* Stop the thread (final redraw if a bar is showing) and free p.  NULL is
 * fine. */
void cli_progress_stop(struct cli_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
