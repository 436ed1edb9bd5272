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

int cli_list_pages(const struct cli_args *a, struct remote *r,
		   const char *prefix, const char *delimiter,
		   int (*each)(const struct remote_list *page, void *ctx),
		   void *ctx)
{
	struct remote_list_opts lo;
	struct remote_list page;
	struct remote_error err;
	char *token = NULL;
	int rc = 0;

	memset(&page, 0, sizeof(page));
	for (;;) {
		memset(&lo, 0, sizeof(lo));
		memset(&err, 0, sizeof(err));
		lo.prefix = prefix;
		lo.delimiter = delimiter;
		lo.token = token;
		rc = remote_list(r, &lo, &page, &err);
		if (rc) {
			cli_fail(a, "%s", cli_errmsg(&err, rc));
			goto out;
		}
		rc = each(&page, ctx);
		if (rc)
			goto out;
		free(token);
		token = page.next_token ? strdup(page.next_token) : NULL;
		remote_list_clear(&page);
		if (!token)
			break;
	}
out:
	remote_list_clear(&page);
	free(token);
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
