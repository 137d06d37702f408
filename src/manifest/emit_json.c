/* emit_json.c - objects as JSON the way `kubectl get -o json` lays them out
 * (manifest_emit_json): four-space indentation, keys in insertion order, a final newline.
 * jansson does the encoding; its NULL on failure is wrapped here. */
#include <stdlib.h>
#include "claimfs/jsonalloc.h"
#include "claimfs/manifest.h"

void manifest_emit_json(const json_t *obj, struct strbuf *out)
{
	char *s;

	if (!obj)
		return;
	s = json_dumps(obj, JSON_INDENT(4) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	if (!s) {
		/* Only when out of memory or handed a value jansson cannot write (a real that
		 * is not finite cannot be built): fall back to something that still parses. */
		sb_adds(out, "null\n");
		return;
	}
	sb_adds(out, s);
	sb_addc(out, '\n');
	jsonalloc_free(s);
}
