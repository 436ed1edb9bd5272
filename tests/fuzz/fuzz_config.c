/*
 * fuzz_config.c - libFuzzer target for what a user or another tool hands
 * remote/ as text: S3 endpoint URLs and s3://BUCKET/PREFIX remotes
 * (remote/s3.c), the AWS credentials file (remote/config.c), and the key
 * checks every request goes through (remote_key_valid, remote_printable in
 * remote/remote.c).
 *
 * The first byte picks the parser; the rest is the input.  Invariants,
 * checked with CHECK() (aborts even under NDEBUG):
 *   - an endpoint that parses has a non-empty host and a base URL that
 *     starts with http:// or https://;
 *   - a remote path that splits has a valid bucket, and a prefix that is
 *     empty or ends in '/';
 *   - remote_printable's output is terminated, fits, and holds no control
 *     byte;
 *   - a key remote_key_valid takes has no "." or ".." segment.
 * The credentials file is written to a temporary file and read through
 * remote_config_resolve(), as a mount or the CLI would.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remote.h"
#include "s3_int.h"
#include "fuzz_check.h"

static char cred_path[64];

static void remove_cred(void)
{
	unlink(cred_path);
}

static void credentials(const char *text, size_t len)
{
	const char *path = cred_path;
	struct remote_config cfg = { 0 };
	struct remote_error err = { { 0 } };
	FILE *f;

	if (!cred_path[0]) {
		snprintf(cred_path, sizeof(cred_path), "/tmp/afs-fuzz-cred-%d",
			 (int)getpid());
		atexit(remove_cred);
	}
	f = fopen(path, "w");
	if (!f)
		return;
	fwrite(text, 1, len, f);
	fclose(f);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	setenv("AWS_PROFILE", "default", 1);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	remote_config_resolve(&cfg, &err);
	CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
	remote_config_clear(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 5) {
	case 0: {
		struct s3_endpoint ep;

		memset(&ep, 0, sizeof(ep));
		if (s3_endpoint_parse(s, &ep) == 0) {
			CHECK(ep.host && ep.host[0]);
			CHECK(strncmp(ep.base, "http://", 7) == 0 ||
			      strncmp(ep.base, "https://", 8) == 0);
		}
		s3_endpoint_clear(&ep);
		break;
	}
	case 1: {
		char *bucket = NULL, *prefix = NULL;

		if (s3_split_path(s, &bucket, &prefix) == 0) {
			size_t n = strlen(prefix);

			CHECK(s3_bucket_valid(bucket));
			CHECK(n == 0 || prefix[n - 1] == '/');
		}
		free(bucket);
		free(prefix);
		break;
	}
	case 2:
		credentials((const char *)data + 1, size - 1);
		break;
	case 3: {
		char out[64];

		remote_printable(s, out, sizeof(out));
		CHECK(memchr(out, '\0', sizeof(out)) != NULL);
		for (const char *p = out; *p; p++)
			CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
		break;
	}
	default:
		if (remote_key_valid(s)) {
			CHECK(strstr(s, "/../") == NULL &&
			      strstr(s, "/./") == NULL &&
			      strncmp(s, "../", 3) != 0 &&
			      strncmp(s, "./", 2) != 0 &&
			      strcmp(s, "..") != 0 && strcmp(s, ".") != 0 &&
			      s[0] != '/' && strstr(s, "//") == NULL);
		}
		break;
	}
	free(s);
	return 0;
}
