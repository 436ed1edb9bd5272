/*
 * common.c - remote look-ups and transfer set-up shared by the verbs: a
 * HEAD that treats an expired artifact as missing, every page of a
 * listing, and the transfer options with the progress bar wired in.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cli_head_live(struct remote *r, const char *key, int64_t now,
		  struct remote_stat *st, struct remote_error *err)
{
	struct store_meta sm;
	int rc;

	rc = remote_head(r, key, st, err);
	if (rc)
		return rc;
	store_meta_decode(&st->meta, &sm);
	return store_meta_expired(&sm, now) ? -ENOENT : 0;
}

struct pages {
	int (*each)(const struct remote_list *page, void *ctx);
	void *ctx;
	int each_rc; /* each's failure (printed by each) */
};

static int one_page(struct remote_list *page, void *ctx)
{
	struct pages *p = ctx;

	p->each_rc = p->each(page, p->ctx);
	return p->each_rc;
}

int cli_list_pages(const struct cli_args *a, struct remote *r,
		   const char *prefix, const char *delimiter,
		   int (*each)(const struct remote_list *page, void *ctx),
		   void *ctx)
{
	struct remote_list_opts lo = { .prefix = prefix,
				       .delimiter = delimiter };
	struct pages p = { .each = each, .ctx = ctx };
	struct remote_error err = { { 0 } };
	int rc;

	rc = remote_list_pages(r, &lo, one_page, &p, &err);
	if (rc && !p.each_rc)
		cli_fail(a, "%s", cli_errmsg(&err, rc));
	return rc;
}

struct cli_progress *cli_xfer_start(struct remote_xfer_opts *o, size_t n_files,
				    uint64_t total)
{
	struct cli_progress *prog;

	cli_xfer_opts(o, n_files > 1 ? CLI_PART_THREADS_MANY
				     : CLI_PART_THREADS_SINGLE);
	prog = cli_progress_start(total);
	o->progress = cli_progress_add;
	o->progress_ctx = prog;
	return prog;
}
