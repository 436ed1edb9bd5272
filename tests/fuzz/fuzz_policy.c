/*
 * fuzz_policy.c - libFuzzer target for `artifact gc --policy FILE`: the
 * retention policy JSON and its globs (cli/gc.c), read through the command
 * itself, as a user's file would be: each input is written to a file and
 * `artifact gc --dry-run --policy FILE` runs over an empty file:// store.
 * The policy is checked before the store is touched; whatever the input,
 * the command must end with exit status 0 or 1, without a crash or a leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fuzz_check.h"

static char dir[64], file[96];

static void done(void)
{
	char p[128];

	unlink(file);
	snprintf(p, sizeof(p), "%s/.afs/tmp", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/.afs/uploads", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/.afs", dir);
	rmdir(p);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[] = { "gc", "--dry-run", "--policy", file, NULL };
	char url[96];
	FILE *f;
	int rc;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/afs-fuzz-policy-XXXXXX");
		CHECK(mkdtemp(dir) != NULL);
		snprintf(file, sizeof(file), "%s.json", dir);
		snprintf(url, sizeof(url), "file://%s", dir);
		setenv("ARTIFACT_REMOTE", url, 1);
		atexit(done);
	}
	f = fopen(file, "w");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	rc = cli_gc(4, argv, 022);
	CHECK(rc == 0 || rc == 1);
	return 0;
}
