/* render_internal.h - what the render_*.c files share and nobody else uses: the kubectl
 * table builder (tabwriter layout), the per-kind row printers and the small helpers of
 * kubectl's printers (access modes, quantities, label sets, ages).
 * Everything here is LOCKED (objects are read under the cluster lock). */
#ifndef CLAIMFS_RENDER_INTERNAL_H
#define CLAIMFS_RENDER_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include <jansson.h>
#include "claimfs/quantity.h"
#include "claimfs/render.h"
#include "claimfs/strbuf.h"

/* ---- render_table.c: the table under construction ---- */

struct table {
	size_t ncols;	   /* columns printed (normal, or normal + wide) */
	size_t rowcell;	   /* cells given for the current row so far */
	int wide;	   /* -o wide */
	int64_t now_ms;	   /* for AGE */
	struct strbuf txt; /* every cell's text, back to back */
	size_t *off;	   /* cell i is txt[off[i], off[i+1]) */
	size_t ncells, cap;
};

/* Appends the next cell of the current row; cells beyond ncols are dropped, so a row
 * printer may always give the wide cells. */
void render_cell(struct table *t, const char *s);
void render_cellf(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* AGE of metadata.creationTimestamp: translateTimestampSince ("<unknown>" when unset). */
void render_cell_age(struct table *t, const json_t *obj);

/* ---- render_rows.c: kubectl's per-kind printers (printers.go) ---- */

typedef void (*row_fn)(struct table *t, const json_t *obj);

struct table_kind {
	const char *kind;	    /* "PersistentVolumeClaim" */
	const char *const *headers; /* upper-case column names, wide columns last */
	size_t ncols, nwide;	    /* columns without and with -o wide */
	row_fn row;		    /* gives the cells of one object, NAME first */
};

/* The printer of a Kind, or the NAME AGE printer of kinds kubectl has none for. */
const struct table_kind *render_table_kind(const char *kind);
/* render_pod.c: the pod printer's row. */
void render_row_pod(struct table *t, const json_t *pod);

/* ---- render_util.c: helpers of kubectl's printers ---- */

/* GetAccessModesAsString: de-duplicated RWO,ROX,RWX,RWOP. */
void render_access_modes(const json_t *modes, char *buf, size_t len);
/* A quantity field (string, or a plain integer as YAML may give); 0 or -EINVAL/-ENOENT. */
int render_json_quantity(const json_t *v, struct quantity *q);
/* Quantity.String() of a field: canonical form, "0" when missing (the zero Quantity). */
void render_quantity_cell(const json_t *v, char *buf, size_t len);
/* labels.FormatLabels: "a=b,c=d" sorted by key, "<none>" when empty. */
void render_format_labels(const json_t *map, struct strbuf *out);
/* LabelSelectorAsSelector(sel).String(): requirements sorted by key ("a=b,c in (x,y)"),
 * "" for a NULL or empty selector. -EINVAL (nothing appended) for an unknown operator. */
int render_format_selector(const json_t *sel, struct strbuf *out);
/* Go's strconv.FormatFloat(float64(v), 'g', -1, 64) for an integer (exact below 2^53). */
void render_prom_int(int64_t v, char *buf, size_t len);
/* Objects sorted by namespace then name (new array, caller frees). */
struct object **render_sorted_objects(struct object *const *objs, size_t n);

#endif
