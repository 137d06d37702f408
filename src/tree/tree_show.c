/* tree_show.c - the attribute tables' shared pieces: which table a kind has, the table of
 * kinds without their own (manifest.yaml, object.json, events only), and the show helpers
 * that print one value per file the sysfs way (value and newline; an unset field prints
 * an empty file, an unset count 0, quantities in canonical form). LOCKED where they read
 * objects. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/jsonutil.h"
#include "claimfs/manifest.h"
#include "claimfs/quantity.h"
#include "tree_internal.h"

static const struct tree_attr common_attrs[] = {TREE_COMMON_ATTRS};
static const struct tree_table common_table = {NULL, common_attrs, TREE_NCOMMON, 1};

static const struct tree_table *const tables[] = {&tree_table_pvc,
						  &tree_table_pv,
						  &tree_table_storageclass,
						  &tree_table_node,
						  &tree_table_pod,
						  &tree_table_statefulset,
						  &tree_table_deployment,
						  &tree_table_replicaset,
						  &tree_table_service,
						  &tree_table_namespace,
						  NULL};

const struct tree_table *tree_table_for(const struct kind *k)
{
	const struct tree_table *const *t;
	if (!k)
		return &common_table;
	for (t = tables; *t; t++)
		if (strcmp((*t)->kind, k->kind) == 0)
			return *t;
	return &common_table;
}

int tree_show_manifest(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	manifest_emit_yaml(object_json(obj), out);
	return 0;
}

int tree_show_json(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	manifest_emit_json(object_json(obj), out);
	return 0;
}

int tree_show_string(const char *s, struct strbuf *out)
{
	if (s && *s) {
		sb_adds(out, s);
		sb_addc(out, '\n');
	}
	return 0;
}

int tree_show_path(const struct object *obj, const char *path, struct strbuf *out)
{
	return tree_show_string(jstr(object_json(obj), path), out);
}

int tree_show_count(const struct object *obj, const char *path, struct strbuf *out)
{
	int64_t v = 0;
	jint(object_json(obj), path, &v);
	sb_addf(out, "%lld\n", (long long)v);
	return 0;
}

int tree_show_bool(int b, struct strbuf *out)
{
	sb_adds(out, b ? "true\n" : "false\n");
	return 0;
}

int tree_show_quantity(const char *s, struct strbuf *out)
{
	char buf[QTY_STR_MAX];
	if (!s || !*s)
		return 0;
	if (quantity_canonical(s, buf, sizeof(buf), NULL) == 0)
		s = buf;
	return tree_show_string(s, out);
}

int tree_show_lines(const json_t *array, struct strbuf *out)
{
	size_t i;
	json_t *v;
	json_array_foreach(array, i, v) tree_show_string(json_string_value(v), out);
	return 0;
}

int tree_show_phase_status(const struct object *obj, struct strbuf *out)
{
	if (jis_deleting(object_json(obj)))
		return tree_show_string("Terminating", out);
	return tree_show_path(obj, "status.phase", out);
}

void tree_links_add(struct tree_links *l, const char *name, const char *target, uint64_t id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n].name = xstrdup(name);
	l->v[l->n].target = xstrdup(target);
	l->v[l->n].id = id;
	l->n++;
}

static int cmp_link(const void *a, const void *b)
{
	const struct tree_link *x = a, *y = b;
	size_t lx = strlen(x->name), ly = strlen(y->name);
	/* Numbers (ordinals/) in numeric order: shorter all-digit names first. */
	if (lx != ly && strspn(x->name, "0123456789") == lx && strspn(y->name, "0123456789") == ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

void tree_links_sort(struct tree_links *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_link);
}

void tree_links_release(struct tree_links *l)
{
	size_t i;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].target);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
