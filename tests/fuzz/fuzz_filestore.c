/*
 * fuzz_filestore.c - libFuzzer target for the file:// store's object files
 * (remote/file.c): another machine sharing the directory over NFS, or a
 * stray tool, can leave any bytes in a file named like an object.  Each
 * input is written as the object file of key "d/k" (DIR/d/k~) and read back
 * through the remote interface: HEAD, a ranged GET, a listing.
 *
 * Invariants, checked with CHECK() (aborts even under NDEBUG):
 *   - a HEAD that succeeds gives a terminated ETag and content type, and a
 *     size no larger than the file;
 *   - a GET never returns more than asked, nor more than the size;
 *   - the listing never fails because of the file (it is skipped when it
 *     is not an object), and lists "d/k" only when HEAD took it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote.h"
#include "fuzz_check.h"

static struct remote *store;
static char dir[64];
static char obj[128];

static void done(void)
{
	remote_close(store);
	unlink(obj);
	snprintf(obj, sizeof(obj), "%s/d", dir);
	rmdir(obj);
	snprintf(obj, sizeof(obj), "%s/.afs/tmp", dir);
	rmdir(obj);
	snprintf(obj, sizeof(obj), "%s/.afs/uploads", dir);
	rmdir(obj);
	snprintf(obj, sizeof(obj), "%s/.afs", dir);
	rmdir(obj);
	rmdir(dir);
}

static void open_store(void)
{
	struct remote_config cfg = { 0 };
	struct remote_error err = { { 0 } };
	char url[96];

	snprintf(dir, sizeof(dir), "/tmp/afs-fuzz-store-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(url, sizeof(url), "file://%s", dir);
	cfg.url = url;
	CHECK(remote_open(&cfg, &store, &err) == 0);
	snprintf(obj, sizeof(obj), "%s/d", dir);
	CHECK(mkdir(obj, 0700) == 0);
	snprintf(obj, sizeof(obj), "%s/d/k~", dir);
	atexit(done);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct remote_list_opts lo = { .prefix = "d/" };
	struct remote_stat st = { 0 };
	struct remote_list l = { 0 };
	char buf[256];
	size_t got = 0;
	FILE *f;
	int head;

	if (!store)
		open_store();
	f = fopen(obj, "w");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);

	head = remote_head(store, "d/k", &st, NULL);
	if (head == 0) {
		CHECK(memchr(st.etag, '\0', sizeof(st.etag)) != NULL);
		CHECK(memchr(st.content_type, '\0', sizeof(st.content_type)));
		CHECK(st.size <= size);
		if (remote_get(store, "d/k", 0, sizeof(buf), buf, &got, NULL,
			       NULL) == 0)
			CHECK(got <= sizeof(buf) && got <= st.size);
	}
	remote_stat_clear(&st);
	CHECK(remote_list(store, &lo, &l, NULL) == 0);
	CHECK(l.n_entries <= 1);
	if (l.n_entries)
		CHECK(head == 0 && strcmp(l.entries[0].key, "d/k") == 0);
	remote_list_clear(&l);
	return 0;
}
