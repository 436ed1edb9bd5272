/*
 * artifact.c - main() of the `artifact` command: top-level help and version,
 * and dispatch to the verbs (push.c, pull.c, yank.c, list.c, gc.c).  The same
 * object keys as Semaphore's artifact CLI and the mount (README, "The `artifact` command").
 */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void help(FILE *f)
{
	fprintf(f,
		"Usage: artifact COMMAND job|workflow|project [ARGS] [flags]\n"
		"\n"
		"Stores and fetches CI artifacts in the job, workflow and project stores.\n"
		"\n"
		"Commands:\n"
		"  push    Uploads a file or directory to the store\n"
		"            artifact push job|workflow|project SRC [-d DEST] [-f] [-e DUR]\n"
		"  pull    Downloads a file or directory from the store\n"
		"            artifact pull job|workflow|project PATH [-d DEST] [-f]\n"
		"                                                    [--same-owner]\n"
		"  yank    Deletes a file or directory from the store (alias: delete)\n"
		"            artifact yank job|workflow|project PATH\n"
		"  list    Lists a store or a directory in it\n"
		"            artifact list job|workflow|project [PATH] [--json]\n"
		"  gc      Deletes every expired artifact of the whole remote (for cron)\n"
		"            artifact gc [--dry-run] [--policy FILE]\n"
		"\n"
		"push, pull, yank and list take -j/--job-id, -w/--workflow-id or\n"
		"-p/--project-id (default: $SEMAPHORE_JOB_ID, $SEMAPHORE_WORKFLOW_ID,\n"
		"$SEMAPHORE_PROJECT_ID); every command takes -v/--verbose and -h/--help.\n"
		"Expired artifacts are hidden from pull and list; gc deletes them (and,\n"
		"with --policy, old ones by glob and age).\n"
		"\n"
		"Environment:\n"
		"  ARTIFACT_REMOTE      file:///DIR or s3://BUCKET[/PREFIX]\n"
		"                       (default: file://$XDG_DATA_HOME/artifactfs)\n"
		"  AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,\n"
		"  AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE\n"
		"                       S3 settings, as the AWS tools read them\n"
		"  ARTIFACT_PART_SIZE   multipart part size and single-request limit\n"
		"                       (default 8M parts above 16M; at least 5M)\n"
		"\n"
		"Run 'artifact COMMAND --help' for a command's flags.\n");
}

int main(int argc, char **argv)
{
	const char *cmd;
	mode_t um;

	/* Read the umask once, before any thread exists (umask() sets it). */
	um = umask(022);
	umask(um);
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2) {
		help(stderr);
		return 1;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		help(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("artifact (artifactfs) %s\n", AFS_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "push"))
		return cli_push(argc - 1, argv + 1, um);
	if (!strcmp(cmd, "pull"))
		return cli_pull(argc - 1, argv + 1, um);
	if (!strcmp(cmd, "yank") || !strcmp(cmd, "delete"))
		return cli_yank(argc - 1, argv + 1, um);
	if (!strcmp(cmd, "list") || !strcmp(cmd, "ls"))
		return cli_list(argc - 1, argv + 1, um);
	if (!strcmp(cmd, "gc"))
		return cli_gc(argc - 1, argv + 1, um);
	cli_line(stderr,
		 "artifact: unknown command '%s'; see 'artifact --help'", cmd);
	return 1;
}
