/* manifest_internal.h - what the files of src/manifest share and nobody else sees: the
 * node -> position map (pos.c) and the YAML 1.1 typing of plain scalars (scalar.c), which
 * the decoder uses to read and the YAML emitter uses to decide what must be quoted. */
#ifndef CLAIMFS_MANIFEST_INTERNAL_H
#define CLAIMFS_MANIFEST_INTERNAL_H

#include <stddef.h>
#include <jansson.h>

/* Positions, keyed by node pointer. true/false/null are jansson singletons shared by every
 * document, so they are never recorded (manifest_pos says -ENOENT for them). */
struct manifest_pos *mpos_new(void);
void mpos_free(struct manifest_pos *p);
void mpos_put(struct manifest_pos *p, const json_t *node, int line, int col);
int mpos_get(const struct manifest_pos *p, const json_t *node, int *line, int *col);
void mpos_del(struct manifest_pos *p, const json_t *node);
size_t mpos_count(const struct manifest_pos *p);
/* Where the value of parent's member key was read, for members whose value is true, false
 * or null (the decoder records only those: other values have their own positions). */
void mpos_put_member(struct manifest_pos *p, const json_t *parent, const char *key, int line,
		     int col);
int mpos_get_member(const struct manifest_pos *p, const json_t *parent, const char *key, int *line,
		    int *col);
void mpos_del_member(struct manifest_pos *p, const json_t *parent, const char *key);
size_t mpos_member_count(const struct manifest_pos *p);
/* Puts every position of src into dst, line_offset lines further down. */
void mpos_merge(struct manifest_pos *dst, const struct manifest_pos *src, int line_offset);

/* How YAML 1.1 (as Kubernetes' reader does it) types a plain scalar. */
enum mscalar {
	MSCALAR_STR,
	MSCALAR_NULL,
	MSCALAR_BOOL,
	MSCALAR_INT,
	MSCALAR_FLOAT,	 /* finite; *dv holds it */
	MSCALAR_SPECIAL, /* .inf, .nan and the like: kept as strings, but never written plain */
};

/* Types the plain scalar s (len bytes). For MSCALAR_BOOL *bv, MSCALAR_INT *iv,
 * MSCALAR_FLOAT *dv are set (any of them may be NULL). */
enum mscalar mscalar_resolve(const char *s, size_t len, int *bv, json_int_t *iv, double *dv);

/* Would a string look like a timestamp to YAML 1.1 (quoted by kubectl)? */
int mscalar_is_timestamp(const char *s, size_t len);

/* Shortest "%.Ng" text of d that reads back as the same double, always with a '.' or an
 * exponent so that YAML and JSON readers see a float. buf >= 40 bytes. */
void mscalar_format_real(double d, char *buf, size_t len);

#endif
