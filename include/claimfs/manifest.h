/* manifest.h - manifests in and out: a YAML/JSON stream decoded into jansson values with
 * the line and column of every node, and objects encoded as kubectl prints them.
 *
 * Decoding uses libyaml (YAML 1.1: flow style, trailing commas in flow collections,
 * comments, anchors and aliases, multi-document streams; JSON is read as YAML). Scalars
 * are typed as Kubernetes' YAML reader types them: quoted scalars are strings; plain
 * scalars are null (~, null, empty), booleans (true/false/yes/no/on/off, any case as in
 * YAML 1.1), integers, floats, else strings. Mapping keys are always strings.
 * Limits (each refused with -EINVAL and a reason with line:column): nesting deeper than
 * MANIFEST_MAX_DEPTH, more than MANIFEST_MAX_NODES nodes, MANIFEST_MAX_BYTES bytes of
 * scalars and keys or MANIFEST_MAX_LEVELS levels of nesting summed over the nodes (which
 * bounds the indentation of what is shown for them) after alias expansion (alias bombs,
 * deep nodes repeated), duplicate mapping keys, non-mapping
 * documents, invalid UTF-8, NUL bytes, anchors on unknown names. Inputs longer than
 * MANIFEST_MAX_BYTES are -EFBIG (checked before buf is read, so a caller may pass the length of a
 * stream it refused to buffer). Empty documents (only comments, "---" alone) are skipped.
 *
 * Ownership: a struct manifest owns its documents and positions; manifest_release()
 * frees them. The json_t values may be taken with json_incref(). No locking: one thread
 * per struct manifest. libyaml's 1/0 and jansson's NULL are wrapped here and nowhere
 * else. */
#ifndef CLAIMFS_MANIFEST_H
#define CLAIMFS_MANIFEST_H

#include <stddef.h>
#include <jansson.h>
#include "claimfs/error.h"
#include "claimfs/strbuf.h"

#define MANIFEST_MAX_BYTES (16u << 20) /* 16 MiB per written stream */
#define MANIFEST_MAX_DEPTH 128	       /* nesting of mappings and sequences */
#define MANIFEST_MAX_NODES 4000000     /* nodes in a stream, counting alias expansions */
#define MANIFEST_MAX_LEVELS 16000000   /* the depths of a stream's nodes summed, likewise */

struct manifest_pos; /* opaque: node -> (line, column) */

struct manifest {
	char *source;		  /* name used in messages (a path in the mount); owned */
	json_t **docs;		  /* each a JSON object; owned references */
	int *doc_line;		  /* 1-based line of each document's start */
	size_t ndocs;		  /* number of non-empty documents */
	struct manifest_pos *pos; /* positions of every node of every document; owned */
};

/* Decodes buf (len bytes, need not be NUL-terminated). On success fills *out (release it
 * with manifest_release) and returns 0. On failure returns -EINVAL (syntax, types, limits)
 * or -EFBIG (too long), err holding "source:line:column: reason", and *out is empty. */
int manifest_decode(const char *buf, size_t len, const char *source, struct manifest *out,
		    struct cfs_err *err);
void manifest_release(struct manifest *m);

/* 1-based line and column where node starts; 0 when found, -ENOENT when node is not one
 * of m's nodes (then line and col are left alone). */
int manifest_pos(const struct manifest *m, const json_t *node, int *line, int *col);

/* 1-based line and column of the value of parent's member key: the value's own position,
 * or, for true, false and null (jansson singletons, which no node position can tell
 * apart), where the decoder read that member's value. Works for a member that was
 * removed since, and for a mapping that manifest_pos_follow linked to one of m's. 0 when
 * found, -ENOENT otherwise (then line and col are left alone). Elements of sequences
 * have no member position: point at the sequence. */
int manifest_member_pos(const struct manifest *m, const json_t *parent, const char *key, int *line,
			int *col);

/* Like cfs_errorf, with "source:line:column: " of node in front (of the nearest known
 * position: pass the parent when the offending field is missing). m or node may be NULL
 * (then only "source: " or nothing is put in front). Returns code. A node that may be
 * true, false or null has no position: use manifest_member_errorf for it. */
int manifest_errorf(const struct manifest *m, const json_t *node, struct cfs_err *err, int code,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Like manifest_errorf, pointing at parent's member key (manifest_member_pos), else at
 * parent itself: for a field whose value may be true, false or null, or is missing. */
int manifest_member_errorf(const struct manifest *m, const json_t *parent, const char *key,
			   struct cfs_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* The one wording of a wrong type. Checks the member of obj at path (dot-separated member
 * names, relative to obj, also the field named in the message): 0 when it is missing or
 * null (a caller that needs it says "Required value" itself) or has the type want
 * (JSON_OBJECT, JSON_ARRAY, JSON_STRING, JSON_INTEGER, JSON_TRUE for either boolean);
 * else -EINVAL with "PATH: Invalid value: must be a map" (a list, a string, an integer,
 * true or false) at the member (manifest_member_errorf). */
int manifest_check_type(const struct manifest *m, const json_t *obj, const char *path,
			json_type want, struct cfs_err *err);
/* "must be a map", "must be a list", ... for want (as manifest_check_type says it). */
const char *manifest_type_text(json_type want);

/* Records that the object to was built from from (an object of m, e.g. by jmerge into a
 * copy of a live object), so that errors about to point where from was written: to
 * takes from's position, and so, recursively, does every object of to that stands where
 * from has an object, and every true/false/null member of to that is from's. Values to
 * shares with from keep their own positions anyway. Changes m's position index only
 * (the one thing a const manifest lets change: like the rest of m, one thread at a
 * time); the positions stay valid while to's objects live and m is not released.
 * Cost: O(nodes of from). */
void manifest_pos_follow(const struct manifest *m, const json_t *from, const json_t *to);

#define MANIFEST_QUOTE_MAX 64 /* characters of a written value a message quotes */
#define MANIFEST_QUOTE_BUF (MANIFEST_QUOTE_MAX * 4 + 8)
/* The text of s to put between double quotes in a message: '"', '\\' and control
 * characters escaped as Go's %q does them (\", \\, \n, \t, \x01), and at most
 * MANIFEST_QUOTE_MAX characters of s, then "..." when s is longer, so that a reason stays
 * one line and a huge value cannot push the problem out of the 1 KiB reason. Writes buf
 * (len >= MANIFEST_QUOTE_BUF is never cut further) and returns it; s NULL reads as "". */
const char *manifest_quote(const char *s, char *buf, size_t len);
/* manifest_quote into a buffer that lives until the end of the enclosing block:
 * manifest_errorf(m, v, err, -EINVAL, "name: Invalid value: \"%s\": ...", MQUOTE(name)). */
#define MQUOTE(s) manifest_quote((s), (char[MANIFEST_QUOTE_BUF]){0}, MANIFEST_QUOTE_BUF)

/* Appends obj as YAML in the shape `kubectl get -o yaml` prints: keys sorted, two-space
 * indentation, sequences of a mapping not indented under their key ("- "), strings quoted
 * only where YAML would read them as something else (numbers, booleans, null, leading
 * indicators, ": " or " #", leading/trailing space), multi-line strings as |- blocks
 * where safe. The output decodes back to an equal value with manifest_decode. */
void manifest_emit_yaml(const json_t *obj, struct strbuf *out);
/* Appends obj as JSON, indented by 4 like `kubectl get -o json`, keys in insertion order,
 * with a final newline. */
void manifest_emit_json(const json_t *obj, struct strbuf *out);

#endif
