/* render_table.c - the hidden .table and .table-wide files of a kind directory: what
 * `kubectl get <plural> [-o wide]` prints for one namespace (or for a cluster-scoped
 * kind), laid out exactly as kubectl's tabwriter does (cli-runtime printers: minwidth 6,
 * padding 3, pad character ' '): every column but the last is as wide as its widest cell
 * plus 3, and at least 6; the last column is not padded. Rows are sorted by name (the
 * API server's list order); a namespaced kind listed over all namespaces gets kubectl's
 * NAMESPACE column (-A). No objects: an empty file (kubectl prints "No resources found"
 * on stderr only).
 *
 * Cost: one store_list, one sort O(n log n), one pass to build the cells, one pass over
 * the cells to measure the columns and one to print them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/error.h"
#include "claimfs/jsonutil.h"
#include "claimfs/store.h"
#include "render_internal.h"

#define TAB_MINWIDTH 6
#define TAB_PADDING 3

void render_cell(struct table *t, const char *s)
{
	if (t->rowcell++ >= t->ncols)
		return;
	if (t->ncells + 2 > t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->off = xrealloc(t->off, t->cap * sizeof(*t->off));
	}
	if (t->ncells == 0)
		t->off[0] = 0;
	sb_adds(&t->txt, s ? s : "");
	t->off[++t->ncells] = t->txt.len;
}

void render_cellf(struct table *t, const char *fmt, ...)
{
	char buf[512], *big = NULL;
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(buf)) {
		render_cell(t, buf);
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&big, fmt, ap) < 0)
		big = NULL;
	va_end(ap);
	render_cell(t, big ? big : "");
	free(big);
}

void render_cell_age(struct table *t, const json_t *obj)
{
	const char *ts = jstr(obj, "metadata.creationTimestamp");
	int64_t created = ts ? jtime_parse(ts) : -1;
	char buf[32];

	if (created == -1) {
		render_cell(t, "<unknown>");
		return;
	}
	render_age(t->now_ms - created, buf, sizeof(buf));
	render_cell(t, buf);
}

/* Go's tabwriter measures cells in runes (utf8.RuneCount). */
static size_t runes(const char *s, size_t n)
{
	size_t i, r = 0;
	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			r++;
	return r;
}

static void layout(const struct table *t, struct strbuf *out)
{
	size_t nrows = t->ncells / t->ncols, c, r;
	size_t *width = xcalloc(t->ncols, sizeof(*width));
	const char *txt = sb_str(&t->txt);

	for (r = 0; r < nrows; r++)
		for (c = 0; c + 1 < t->ncols; c++) {
			size_t i = r * t->ncols + c;
			size_t w = runes(txt + t->off[i], t->off[i + 1] - t->off[i]) + TAB_PADDING;
			if (w > width[c])
				width[c] = w;
		}
	for (c = 0; c + 1 < t->ncols; c++)
		if (width[c] < TAB_MINWIDTH)
			width[c] = TAB_MINWIDTH;
	sb_grow(out, t->txt.len + nrows * (t->ncols * 3 + 1));
	for (r = 0; r < nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			size_t i = r * t->ncols + c, n = t->off[i + 1] - t->off[i];
			sb_add(out, txt + t->off[i], n);
			if (c + 1 < t->ncols) {
				size_t pad = width[c] - runes(txt + t->off[i], n);
				while (pad--)
					sb_addc(out, ' ');
			}
		}
		sb_addc(out, '\n');
	}
	free(width);
}

void render_table(struct cluster *cl, const struct kind *k, const char *ns, int wide,
		  int64_t now_ms, struct strbuf *out)
{
	const struct table_kind *tk = render_table_kind(k->kind);
	int all_ns = k->namespaced && !ns;
	struct table t;
	size_t n, i, c;
	struct object *const *objs = store_list(cluster_store(cl), k, ns, &n);
	struct object **sorted;

	if (n == 0)
		return;
	memset(&t, 0, sizeof(t));
	sb_init(&t.txt);
	t.wide = wide;
	t.now_ms = now_ms;
	t.ncols = (wide ? tk->nwide : tk->ncols) + (all_ns ? 1 : 0);

	t.rowcell = 0;
	if (all_ns)
		render_cell(&t, "NAMESPACE");
	for (c = 0; c < tk->nwide; c++)
		render_cell(&t, tk->headers[c]);

	sorted = render_sorted_objects(objs, n);
	for (i = 0; i < n; i++) {
		t.rowcell = 0;
		if (all_ns)
			render_cell(&t, sorted[i]->ns);
		tk->row(&t, object_json(sorted[i]));
		while (t.rowcell < t.ncols) /* a printer that gave too few cells */
			render_cell(&t, "");
	}
	free(sorted);
	layout(&t, out);
	sb_release(&t.txt);
	free(t.off);
}
