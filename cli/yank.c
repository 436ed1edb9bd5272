/*
 * yank.c - `artifact yank LEVEL PATH` (alias `delete`): remove an artifact,
 * recursively.  PATH names an object, a directory (everything under PATH/),
 * or both; all of it goes.  Nothing at all under that name is an error, as
 * with Semaphore's tool.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct cli_verb cli_verb_yank = {
	.name = "yank",
	.gerund = "yanking",
	.arg = "PATH",
	.summary = "Deletes a file or a directory (recursively) from the store.  Alias: delete.",
	.opts = 0,
	.path_required = 1,
};

int cli_yank(int argc, char **argv, mode_t um)
{
	struct cli_args a;
	struct remote *r = NULL;
	struct remote_stat st;
	struct remote_error err;
	char *src = NULL, *key = NULL, *prefix = NULL;
	size_t deleted = 0;
	int found = 0, rc;

	(void)um; /* only pull and push create files */
	memset(&st, 0, sizeof(st));
	memset(&err, 0, sizeof(err));
	rc = cli_parse(argc, argv, &cli_verb_yank, &a);
	if (rc)
		return rc > 0 ? 0 : 1;

	rc = cli_artifact_keys(&a, 0, &src, &key, &prefix);
	if (rc)
		goto out;
	rc = cli_open_remote(&a, &r);
	if (rc)
		goto out;

	rc = remote_head(r, key, &st, &err);
	if (rc == 0) {
		found = 1;
		rc = remote_delete(r, key, &err);
	} else if (rc == -ENOENT) {
		rc = 0;
	}
	if (!rc)
		rc = remote_delete_prefix(r, prefix, &deleted, &err);
	if (rc) {
		cli_fail(&a, "%s", cli_errmsg(&err, rc));
		goto out;
	}
	if (!found && deleted == 0) {
		cli_fail(&a, "'%s' does not exist in the remote storage. Please check if the artifact you are trying to yank exists.",
			 key);
		rc = -ENOENT;
		goto out;
	}
	cli_line(stdout, "Successfully yanked '%s' from current %s artifacts.",
		 key, store_level_name(a.level));
out:
	remote_stat_clear(&st);
	remote_close(r);
	free(src);
	free(key);
	free(prefix);
	return rc ? 1 : 0;
}
