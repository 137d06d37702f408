/* fuzz_snapshot.c - libFuzzer target for loading a saved state: the input becomes the
 * inside of a snapshot's "objects" list, in the layout claimfs writes
 * ({"claimfs":1,"gen":1,"state":{"rv":1,"objects":[ INPUT ]}}), so that the reader thread
 * streams it in parts (persist.h); when the first byte is odd, 600 objects come before
 * the input, so that a part is handed over before anything the input does. The state
 * directory (fuzz_tmpdir.h) is reused, with persist_test_no_fsync. Invariants, against
 * jansson's parse of the whole file (a violation aborts):
 *   - a load that succeeds gives the state jansson reads (later duplicate keys win);
 *   - a load that fails returns -EIO with a reason, and jansson refuses the file too, or
 *     the reason says a key was given twice (which streaming cannot settle once a part
 *     was handed over, persist_reader.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "claimfs/jsonalloc.h"
#include "claimfs/persist.h"
#include "fuzz_tmpdir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LEAD_OBJECTS 600

static char dir[256];

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_snapshot: %s: %s\n", what, detail ? detail : "");
	abort();
}

static void remove_dir(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_snapshot: cannot remove %s\n", dir);
}

static void make_dir(void)
{
	if (fuzz_tmpdir(dir, sizeof(dir), "claimfs-fuzz-snap") < 0)
		fail("mkdtemp", dir);
	persist_test_no_fsync = 1;
	atexit(remove_dir);
}

static void put_file(const char *name, const char *text, size_t len)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) != 0)
		fail("cannot write", path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] = "{\"claimfs\":1,\"gen\":1,\"state\":{\"rv\":1,\"objects\":[";
	static const char tail[] = "]}}\n";
	if (!dir[0])
		make_dir();
	int lead = size > 0 && (data[0] & 1);
	size_t cap = sizeof(head) + 2 * LEAD_OBJECTS + size + sizeof(tail), len = 0;
	char *text = malloc(cap);
	if (!text)
		return 0;
	memcpy(text, head, sizeof(head) - 1);
	len = sizeof(head) - 1;
	for (int i = 0; lead && i < LEAD_OBJECTS; i++) {
		memcpy(text + len, "0,", 2);
		len += 2;
	}
	if (size > 1)
		memcpy(text + len, data + 1, size - 1);
	len += size > 1 ? size - 1 : 0;
	memcpy(text + len, tail, sizeof(tail) - 1);
	len += sizeof(tail) - 1;
	put_file("snapshot.json", text, len);
	put_file("journal.1", "", 0);

	json_error_t je;
	json_t *whole = json_loadb(text, len, 0, &je);
	free(text);

	struct persist *p = NULL;
	struct cfs_err err = {{0}};
	int is_new = 0, rc = persist_open(dir, &p, &is_new, &err);
	if (rc != 0)
		fail("persist_open", err.msg);
	json_t *state = NULL;
	rc = persist_load(p, &state, NULL, NULL, &err);
	persist_close(p);

	if (rc == 0) {
		json_t *want = json_object_get(whole, "state");
		if (!whole)
			fail("loaded a snapshot that jansson refuses", je.text);
		if (json_integer_value(json_object_get(whole, "gen")) != 1)
			fail("loaded a snapshot whose generation is not the header's", NULL);
		if (!json_equal(state, want)) {
			char *a = json_dumps(state, JSON_COMPACT),
			     *b = json_dumps(want, JSON_COMPACT);
			fprintf(stderr, "loaded: %.300s\njansson: %.300s\n", a ? a : "(null)",
				b ? b : "(null)");
			jsonalloc_free(a);
			jsonalloc_free(b);
			fail("the loaded state differs from jansson's", NULL);
		}
	} else {
		if (rc != -EIO || !err.msg[0])
			fail("a refused snapshot gives -EIO and a reason", err.msg);
		if (whole && !strstr(err.msg, "a key given twice") &&
		    !strstr(err.msg, "not a claimfs snapshot"))
			fail("refused a snapshot that jansson reads", err.msg);
	}
	json_decref(state);
	json_decref(whole);
	return 0;
}
