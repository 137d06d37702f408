/* tree_root.c - the root directory: its fixed files (README, apply, events, metrics, dns)
 * as a table, the kind directories of cluster-scoped kinds next to them (namespaces/,
 * nodes/, persistentvolumes/, storageclasses/ and any other cluster-scoped kind that has
 * objects), and the README text, generated from the attribute tables. LOCKED.
 * Complexity: lookup O(1); listing O(kinds). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/events.h"
#include "claimfs/render.h"
#include "claimfs/workloads.h"
#include "tree_internal.h"

static const struct root_file {
	const char *name; /* entry name */
	int role;	  /* ROLE_* */
	uint64_t ino;	  /* fixed inode number */
	unsigned mode;	  /* permission bits */
	unsigned flags;	  /* TREE_* */
} root_files[] = {
    {"README", ROLE_README, TREE_INO_README, 0444, 0},
    /* 0200: with allow_other, other users may not write it (nor create files in kind
     * directories); root passes the mode bits, as everywhere. */
    {"apply", ROLE_APPLY, TREE_INO_APPLY, 0200, TREE_APPLY},
    {"events", ROLE_EVENTS, TREE_INO_EVENTS, 0444, TREE_LOG},
    {"metrics", ROLE_METRICS, TREE_INO_METRICS, 0444, 0},
    {"dns", ROLE_DNS, TREE_INO_DNS, 0444, 0},
};
#define NROOT (sizeof(root_files) / sizeof(root_files[0]))

/* A kind whose plural is a root file's name has no directory: the file wins. */
static int root_file_clash(const struct kind *k)
{
	size_t i;
	for (i = 0; i < NROOT; i++)
		if (strcmp(root_files[i].name, k->plural) == 0)
			return 1;
	return 0;
}

static void root_file_node(const struct root_file *f, int own, struct tree_node *out)
{
	tree_node_set(out, own, f->ino, TREE_FILE, f->mode, f->flags, f->role, NULL, 0, NULL, NULL,
		      NULL);
}

int tree_root_lookup(struct cluster *cl, const char *name, struct tree_node *out)
{
	size_t i;
	for (i = 0; i < NROOT; i++)
		if (strcmp(root_files[i].name, name) == 0) {
			root_file_node(&root_files[i], 1, out);
			return 0;
		}
	const struct kind *k = store_kind_by_plural(cluster_store(cl), name);
	if (!k || k->namespaced || root_file_clash(k) || !tree_kind_dir_exists(cl, k, NULL))
		return -ENOENT;
	tree_kind_dir_node(cl, k, NULL, 0, 1, out);
	return 0;
}

static int cmp_kind_plural(const void *a, const void *b)
{
	const struct kind *x = *(const struct kind *const *)a, *y = *(const struct kind *const *)b;
	return strcmp(x->plural, y->plural);
}

int tree_root_readdir(struct cluster *cl, tree_fill_fn fill, void *ctx)
{
	struct tree_node n;
	size_t i, nk, m = 0;
	int rc = 0;
	for (i = 0; i < NROOT && rc == 0; i++) {
		root_file_node(&root_files[i], 0, &n);
		rc = fill(ctx, root_files[i].name, &n);
	}
	const struct kind *const *kinds = store_kinds(cluster_store(cl), &nk);
	const struct kind **dirs = xcalloc(nk + 1, sizeof(*dirs));
	for (i = 0; i < nk; i++)
		if (!kinds[i]->namespaced && !root_file_clash(kinds[i]) &&
		    tree_kind_dir_exists(cl, kinds[i], NULL))
			dirs[m++] = kinds[i];
	qsort(dirs, m, sizeof(*dirs), cmp_kind_plural);
	for (i = 0; i < m && rc == 0; i++) {
		tree_kind_dir_node(cl, dirs[i], NULL, 0, 0, &n);
		rc = fill(ctx, dirs[i]->plural, &n);
	}
	free(dirs);
	return 0;
}

int tree_root_read(struct cluster *cl, const struct tree_node *n, struct strbuf *out,
		   uint64_t *cursor)
{
	uint64_t last;
	switch (n->role) {
	case ROLE_README:
		tree_readme(out);
		return 0;
	case ROLE_APPLY:
		return 0; /* write-only */
	case ROLE_EVENTS:
		last = eventlog_render(cluster_events(cl), out, NULL, cursor ? *cursor : 0);
		if (cursor)
			*cursor = last;
		return 0;
	case ROLE_METRICS:
		render_metrics(cl, out);
		return 0;
	case ROLE_DNS:
		dns_render(cl, NULL, out);
		return 0;
	}
	return -ENOENT;
}

/* The entries of one kind's table on one line: "phase status storage(rw) volume@ ...". */
static void readme_table(struct strbuf *out, const char *dir, const struct tree_table *t)
{
	size_t i, col;
	sb_addf(out, "  %s/<name>/\n     ", dir);
	col = 5;
	for (i = TREE_NCOMMON; i < t->n; i++) {
		const struct tree_attr *a = &t->attrs[i];
		const char *suffix = a->type == TREE_LINK ? "@" : a->type == TREE_DIR ? "/" : "";
		const char *w = (a->flags & TREE_STORE) ? "(w)" : "";
		size_t len = strlen(a->name) + strlen(suffix) + strlen(w) + 1;
		if (col + len > 88) {
			sb_adds(out, "\n     ");
			col = 5;
		}
		sb_addf(out, " %s%s%s", a->name, suffix, w);
		col += len;
	}
	sb_addc(out, '\n');
}

void tree_readme(struct strbuf *out)
{
	static const struct {
		const char *dir;
		const struct tree_table *t;
	} kinds[] = {
	    {"namespaces/<ns>/persistentvolumeclaims", &tree_table_pvc},
	    {"persistentvolumes", &tree_table_pv},
	    {"storageclasses", &tree_table_storageclass},
	    {"nodes", &tree_table_node},
	    {"namespaces/<ns>/pods", &tree_table_pod},
	    {"namespaces/<ns>/statefulsets", &tree_table_statefulset},
	    {"namespaces/<ns>/deployments", &tree_table_deployment},
	    {"namespaces/<ns>/replicasets", &tree_table_replicaset},
	    {"namespaces/<ns>/services", &tree_table_service},
	    {"namespaces", &tree_table_namespace},
	};
	size_t i;
	sb_adds(out,
		"claimfs: a simulated Kubernetes storage control plane, shown as files.\n"
		"\n"
		"Objects are directories, their fields are one-value files, relations are\n"
		"symlinks. Writing a manifest creates or updates objects; the simulated\n"
		"controllers (binder, provisioner, StatefulSet, scheduler, kubelet) settle\n"
		"before the write returns. Read this again with `cat README`.\n"
		"\n"
		"Top level\n"
		"  README        this text\n"
		"  apply         write-only: YAML/JSON documents of any kinds, applied at close,\n"
		"                all or none (cat app.yaml > apply)\n"
		"  events        every event, oldest first, one per line (tail -f events)\n"
		"  metrics       Prometheus text, kube-state-metrics names\n"
		"  dns           zone-file records of Services and StatefulSet pods\n"
		"  namespaces/   one directory per namespace (mkdir/rmdir namespaces/<ns>)\n"
		"  nodes/ persistentvolumes/ storageclasses/   cluster-scoped objects\n"
		"\n"
		"Kind directories (namespaces/<ns>/persistentvolumeclaims/, pods/, ...)\n"
		"  <name>/       one directory per object; rmdir deletes it as kubectl delete\n"
		"  .table        what `kubectl get` prints (.table-wide: -o wide)\n"
		"  *.yaml *.json a file written here is applied when closed (the name is the\n"
		"                default metadata.name; other kinds and namespaces are refused)\n"
		"\n"
		"Every object directory holds manifest.yaml (the live object; write the whole\n"
		"file to update it, rm it to delete the object), object.json and events, and:\n");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		readme_table(out, kinds[i].dir, kinds[i].t);
	sb_adds(
	    out,
	    "  (w): writable, takes effect at write(2); @: symlink; /: directory\n"
	    "\n"
	    "Volume data\n"
	    "  persistentvolumes/<pv>/data/    the volume's files, limited to its capacity\n"
	    "                (ENOSPC; df shows it); Delete removes them, Recycle empties them\n"
	    "  namespaces/<ns>/pods/<pod>/containers/<container>/<mountPath>\n"
	    "                what that container sees at each volumeMount (subPath; EROFS when\n"
	    "                readOnly or ReadOnlyMany); the data outlives the pod\n"
	    "\n"
	    "Examples\n"
	    "  cp pvc.yaml namespaces/default/persistentvolumeclaims/\n"
	    "  cat namespaces/default/persistentvolumeclaims/data/phase\n"
	    "  cat namespaces/default/pods/web-0/volumes/data/volumeName\n"
	    "  echo 5 > namespaces/default/statefulsets/web/replicas\n"
	    "  echo 10Gi > namespaces/default/persistentvolumeclaims/data/storage\n"
	    "  rmdir namespaces/default/pods/web-1\n"
	    "  echo hi > namespaces/default/pods/web-0/containers/web/data/hello\n"
	    "  echo false > nodes/node-2/ready\n"
	    "  cat namespaces/default/persistentvolumeclaims/.table\n"
	    "\n"
	    "Refused writes fail with an errno (at write(2) for one-value files, at close(2)\n"
	    "for manifests) and leave a Warning FailedApply line with the reason in events.\n");
}
