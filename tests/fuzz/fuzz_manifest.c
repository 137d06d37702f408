/* fuzz_manifest.c - libFuzzer target for the manifest decoder (manifest_decode) and the
 * encoders of what it decoded (manifest_emit_yaml, manifest_emit_json).
 *
 * Invariants checked on every input (a violation aborts, which libFuzzer reports):
 *   - the decoder returns 0, -EINVAL or -EFBIG; a refusal has a reason that starts with
 *     the source, and -EINVAL reasons give "source:line:column: " (line, column >= 1);
 *   - every decoded document is a mapping with a known position;
 *   - the YAML the emitter writes for a document decodes back to one equal document, or,
 *     when indentation made it longer than MANIFEST_MAX_BYTES (aliases of deep nodes can
 *     do that within the decoder's limits), is refused with -EFBIG as any such stream;
 *   - the JSON the emitter writes parses (jansson) back to an equal value. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SOURCE "fuzz"

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_manifest: %s: %s\n", what, detail ? detail : "");
	abort();
}

/* "fuzz:L:C: " with L, C >= 1 at the start of msg? */
static int has_position(const char *msg)
{
	int line = 0, col = 0, n = 0;
	if (strncmp(msg, SOURCE ":", strlen(SOURCE ":")) != 0)
		return 0;
	if (sscanf(msg + strlen(SOURCE ":"), "%d:%d: %n", &line, &col, &n) != 2 || n == 0)
		return 0;
	return line >= 1 && col >= 1;
}

static void check_yaml_round_trip(const json_t *doc)
{
	struct strbuf out = STRBUF_INIT;
	struct manifest again;
	struct cfs_err err = {{0}};

	manifest_emit_yaml(doc, &out);
	if (out.len > MANIFEST_MAX_BYTES) {
		if (manifest_decode(out.buf, out.len, "emitted", &again, &err) != -EFBIG)
			fail("emitted YAML over the limit is not refused with -EFBIG", err.msg);
		sb_release(&out);
		return;
	}
	if (manifest_decode(out.buf ? out.buf : "", out.len, "emitted", &again, &err) != 0) {
		fprintf(stderr, "--- emitted YAML ---\n%.4000s\n---\n", sb_str(&out));
		fail("emitted YAML does not decode", err.msg);
	}
	if (again.ndocs != 1 || !json_equal(again.docs[0], (json_t *)doc)) {
		char *a = json_dumps(doc, JSON_SORT_KEYS | JSON_ENCODE_ANY);
		char *b = again.ndocs ? json_dumps(again.docs[0], JSON_SORT_KEYS) : NULL;
		fprintf(stderr,
			"--- emitted YAML ---\n%.4000s\n--- before: %.2000s\n--- after: %.2000s\n",
			sb_str(&out), a ? a : "?", b ? b : "(no document)");
		fail("emitted YAML decodes to another value", NULL);
	}
	manifest_release(&again);
	sb_release(&out);
}

static void check_json_round_trip(const json_t *doc)
{
	struct strbuf out = STRBUF_INIT;
	json_error_t jerr;

	manifest_emit_json(doc, &out);
	json_t *back = json_loadb(out.buf ? out.buf : "", out.len, JSON_DECODE_ANY, &jerr);
	if (!back) {
		fprintf(stderr, "--- emitted JSON ---\n%.4000s\n", sb_str(&out));
		fail("emitted JSON does not parse", jerr.text);
	}
	if (!json_equal(back, (json_t *)doc)) {
		fprintf(stderr, "--- emitted JSON ---\n%.4000s\n", sb_str(&out));
		fail("emitted JSON parses to another value", NULL);
	}
	json_decref(back);
	sb_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	struct cfs_err err = {{0}};
	int line, col;

	int rc = manifest_decode((const char *)data, size, SOURCE, &m, &err);
	if (rc != 0) {
		if (rc != -EINVAL && rc != -EFBIG)
			fail("unexpected errno", err.msg);
		if (strncmp(err.msg, SOURCE ":", strlen(SOURCE ":")) != 0)
			fail("reason does not start with the source", err.msg);
		if (rc == -EINVAL && !has_position(err.msg))
			fail("reason has no line:column", err.msg);
		if (m.ndocs || m.docs || m.pos)
			fail("a refused decode left documents behind", err.msg);
		return 0;
	}
	for (size_t i = 0; i < m.ndocs; i++) {
		if (!json_is_object(m.docs[i]))
			fail("a document is not a mapping", NULL);
		if (manifest_pos(&m, m.docs[i], &line, &col) != 0 || line < 1 || col < 1)
			fail("a document has no position", NULL);
		if (m.doc_line[i] < 1)
			fail("a document has no start line", NULL);
		check_yaml_round_trip(m.docs[i]);
		check_json_round_trip(m.docs[i]);
	}
	manifest_release(&m);
	return 0;
}
