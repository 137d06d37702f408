/* test_tree.c - the tree model (tree.h) without a mount: every path of the tree after the
 * seed's claim and the walkthrough's StatefulSet, exact contents of attribute files,
 * symlink targets (followed as the kernel would), listings (order, hidden tables), inode
 * numbers (stable, unique, new for a recreated pod, stale nodes fail revalidation), flags
 * and modes, stores (replicas, storage, node readiness), apply scopes, mkdir, rmdir,
 * unlink, event cursors and mtimes. */
#include <errno.h>
#include <time.h>
#include "unit.h"
#include "fixture.h"
#include "examples.h"
#include "claimfs/tree.h"

static struct fixture fx;

/* The change feed, wired as the FUSE adapter wires it. */
static void watch_object(void *ctx, const struct object *obj, int removed)
{
	tree_note_change(ctx, obj, removed);
}

static void watch_event(void *ctx, const char *path)
{
	tree_note_event(ctx, path);
}

static void setup(void)
{
	fx_open(&fx);
}

static void setup_fed(void)
{
	struct cluster_watch w = {NULL, watch_object, watch_event, NULL};
	fx_open(&fx);
	w.ctx = fx.cl;
	cluster_set_watch(fx.cl, &w);
}

static void teardown(void)
{
	fx_close(&fx);
}

static const char goserver_pvc[] = "apiVersion: v1\n"
				   "kind: PersistentVolumeClaim\n"
				   "metadata:\n"
				   "  name: goserver-pvc\n"
				   "spec:\n"
				   "  accessModes:\n"
				   "    - ReadWriteOnce\n"
				   "  resources:\n"
				   "    requests:\n"
				   "      storage: 5Gi\n";

#define NS "namespaces/default/"
#define PVC NS "persistentvolumeclaims/goserver-pvc"
#define POD0 NS "pods/mysql-0"
#define STS NS "statefulsets/mysql"

/* Resolves path component by component from the root ("" is the root). */
static int resolve(const char *path, struct tree_node *out)
{
	struct tree_node cur, next;
	char *copy = xstrdup(path), *save = NULL, *tok;
	int rc = 0;
	tree_root(&cur);
	cluster_lock(fx.cl);
	for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		rc = tree_lookup(fx.cl, &cur, tok, &next);
		if (rc)
			break;
		tree_node_release(&cur);
		cur = next;
	}
	cluster_unlock(fx.cl);
	free(copy);
	if (rc) {
		tree_node_release(&cur);
		return rc;
	}
	*out = cur;
	return 0;
}

static struct tree_node must(const char *path)
{
	struct tree_node n;
	int rc = resolve(path, &n);
	ck_assert_msg(rc == 0, "%s does not resolve (%d)", path, rc);
	return n;
}

static int exists(const char *path)
{
	struct tree_node n;
	if (resolve(path, &n))
		return 0;
	tree_node_release(&n);
	return 1;
}

/* Content of a file or target of a symlink (caller frees); NULL when it fails. */
static char *readp(const char *path)
{
	struct tree_node n;
	struct strbuf sb = STRBUF_INIT;
	if (resolve(path, &n))
		return NULL;
	cluster_lock(fx.cl);
	int rc = tree_read(fx.cl, &n, &sb, NULL);
	cluster_unlock(fx.cl);
	tree_node_release(&n);
	if (rc) {
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb, NULL);
}

#define ck_file(path, want)                                                                        \
	do {                                                                                       \
		char *got_ = readp(path);                                                          \
		ck_assert_msg(got_ != NULL, "%s cannot be read", (const char *)(path));            \
		ck_assert_msg(strcmp(got_, (want)) == 0, "%s: got \"%s\", want \"%s\"",            \
			      (const char *)(path), got_, (const char *)(want));                   \
		free(got_);                                                                        \
	} while (0)

#define ck_contains(path, needle)                                                                  \
	do {                                                                                       \
		char *got_ = readp(path);                                                          \
		ck_assert_msg(got_ != NULL, "%s cannot be read", (const char *)(path));            \
		ck_assert_msg(strstr(got_, (needle)) != NULL, "%s lacks \"%s\": %s",               \
			      (const char *)(path), (const char *)(needle), got_);                 \
		free(got_);                                                                        \
	} while (0)

struct listing {
	struct strbuf names; /* "a b c" */
	uint64_t inos[4096]; /* inode of each entry */
	char *entry[4096];   /* names */
	size_t n;
};

static int collect(void *ctx, const char *name, const struct tree_node *node)
{
	struct listing *l = ctx;
	if (l->names.len)
		sb_addc(&l->names, ' ');
	sb_adds(&l->names, name);
	if (l->n < 4096) {
		l->inos[l->n] = node->ino;
		l->entry[l->n] = xstrdup(name);
		l->n++;
	}
	return 0;
}

static void listing_release(struct listing *l)
{
	size_t i;
	for (i = 0; i < l->n; i++)
		free(l->entry[i]);
	sb_release(&l->names);
}

/* "a b c" of a directory; caller frees. NULL when it is not a listable directory. */
static char *ls(const char *path)
{
	struct tree_node n;
	struct listing *l = xcalloc(1, sizeof(*l));
	char *out = NULL;
	if (resolve(path, &n) == 0) {
		cluster_lock(fx.cl);
		int rc = tree_readdir(fx.cl, &n, collect, l);
		cluster_unlock(fx.cl);
		tree_node_release(&n);
		if (rc == 0)
			out = xstrdup(sb_str(&l->names));
	}
	listing_release(l);
	free(l);
	return out;
}

#define ck_ls(path, want)                                                                          \
	do {                                                                                       \
		char *got_ = ls(path);                                                             \
		ck_assert_msg(got_ != NULL, "%s cannot be listed", (const char *)(path));          \
		ck_assert_msg(strcmp(got_, (want)) == 0, "ls %s: got \"%s\", want \"%s\"",         \
			      (const char *)(path), got_, (const char *)(want));                   \
		free(got_);                                                                        \
	} while (0)

/* Follows a symlink as the kernel would: its target relative to the link's directory. */
static char *follow(const char *path)
{
	char *target = readp(path);
	char *parts[64];
	size_t n = 0, i;
	struct strbuf sb = STRBUF_INIT;
	ck_assert_msg(target != NULL, "%s is not a readable symlink", path);
	char *dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	sb_addf(&sb, "%s/%s", dir, target);
	char *all = sb_detach(&sb, NULL), *save = NULL, *tok;
	for (tok = strtok_r(all, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, "..") == 0) {
			ck_assert_msg(n > 0, "%s -> %s climbs above the root", path, target);
			n--;
		} else if (strcmp(tok, ".") != 0) {
			parts[n++] = tok;
		}
	}
	for (i = 0; i < n; i++)
		sb_addf(&sb, "%s%s", i ? "/" : "", parts[i]);
	free(all);
	free(dir);
	free(target);
	return sb_detach(&sb, NULL);
}

#define ck_link(path, want)                                                                        \
	do {                                                                                       \
		char *got_ = follow(path);                                                         \
		ck_assert_msg(strcmp(got_, (want)) == 0, "%s leads to %s, want %s",                \
			      (const char *)(path), got_, (const char *)(want));                   \
		ck_assert_msg(exists(got_), "%s leads to %s, which does not exist",                \
			      (const char *)(path), got_);                                         \
		free(got_);                                                                        \
	} while (0)

static int store_at(const char *path, const char *value)
{
	struct tree_node n = must(path);
	int rc = tree_store(fx.cl, &n, value, strlen(value), &fx.err);
	tree_node_release(&n);
	return rc;
}

/* Writes yaml as a new file `file` in directory dir (as cp would). */
static int create_in(const char *dir, const char *file, const char *yaml)
{
	struct tree_node n = must(dir);
	cluster_lock(fx.cl);
	int rc = tree_may_create(fx.cl, &n, file, &fx.err);
	cluster_unlock(fx.cl);
	if (rc == 0)
		rc = tree_apply(fx.cl, &n, file, yaml, strlen(yaml), &fx.err, NULL);
	tree_node_release(&n);
	return rc;
}

/* Writes yaml into an existing TREE_APPLY file (apply, manifest.yaml). */
static int write_to(const char *path, const char *yaml)
{
	struct tree_node n = must(path);
	int rc = tree_apply(fx.cl, &n, NULL, yaml, strlen(yaml), &fx.err, NULL);
	tree_node_release(&n);
	return rc;
}

static void seed(void)
{
	int rc = create_in(NS "persistentvolumeclaims", "goserver-pvc.yaml", goserver_pvc);
	ck_assert_msg(rc == 0, "claim file refused (%d): %s", rc, fx.err.msg);
	rc = write_to("apply", seed_mysql_yaml);
	ck_assert_msg(rc == 0, "apply refused (%d): %s", rc, fx.err.msg);
}

static char *pv_of(const char *claim_dir)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/volumeName", claim_dir);
	char *pv = readp(path);
	ck_assert_ptr_nonnull(pv);
	ck_assert_msg(strlen(pv) > 1, "%s is empty", path);
	pv[strlen(pv) - 1] = '\0';
	return pv;
}

/* ---- the read side ---- */

START_TEST(test_root)
{
	struct tree_node n;
	ck_ls("", "README apply events metrics dns namespaces nodes persistentvolumes "
		  "storageclasses");
	tree_root(&n);
	ck_assert_int_eq(n.ino, 1);
	ck_assert_int_eq(n.type, TREE_DIR);
	ck_assert_int_eq(n.mode, 0555);
	tree_node_release(&n);
	n = must("apply");
	ck_assert_int_eq(n.mode, 0200);
	ck_assert_int_eq(n.flags, TREE_APPLY);
	tree_node_release(&n);
	ck_file("apply", "");
	n = must("events");
	ck_assert_int_eq(n.flags, TREE_LOG);
	ck_assert_int_eq(n.mode, 0444);
	tree_node_release(&n);
	n = must("namespaces");
	ck_assert_int_eq(n.mode, 0755);
	ck_assert(n.flags & TREE_MKDIR);
	ck_assert(n.flags & TREE_CREATE);
	ck_assert_int_eq(n.type, TREE_DIR);
	tree_node_release(&n);
	ck_contains("README", "cat README");
	ck_contains("README", "persistentvolumeclaims/<name>/");
	ck_contains("README", "storage(w)");
	ck_ls("namespaces", ".table .table-wide default");
	ck_ls("nodes", ".table .table-wide node-1 node-2 node-3");
	ck_ls("storageclasses", ".table .table-wide standard");
	ck_ls("persistentvolumes", ".table .table-wide");
	ck_assert_int_eq(resolve("nosuch", &n), -ENOENT);
	ck_assert_int_eq(resolve("configmaps", &n), -ENOENT); /* namespaced: not at the root */
	ck_assert_int_eq(resolve("README/x", &n), -ENOTDIR);
}
END_TEST

START_TEST(test_namespace_dir)
{
	ck_ls(NS, "manifest.yaml object.json events phase configmaps deployments "
		  "persistentvolumeclaims pods replicasets secrets services statefulsets");
	ck_file(NS "phase", "Active\n");
	ck_contains(NS "manifest.yaml", "kind: Namespace\n");
	ck_ls(NS "configmaps", ".table .table-wide");
	ck_contains("namespaces/.table", "NAME");
	ck_contains("namespaces/.table", "default");
	ck_contains("storageclasses/.table-wide", "standard (default)");
}
END_TEST

START_TEST(test_claim_files)
{
	seed();
	char *pv = pv_of(PVC), path[256], want[256];
	ck_assert_msg(strncmp(pv, "pvc-", 4) == 0 && strlen(pv) == 40, "volume name %s", pv);
	ck_ls(NS "persistentvolumeclaims",
	      ".table .table-wide goserver-pvc mysql-volume-mysql-0 mysql-volume-mysql-1 "
	      "mysql-volume-mysql-2");
	ck_ls(PVC, "manifest.yaml object.json events phase status volumeName storageClassName "
		   "accessModes storage capacity volumeMode volume");
	ck_file(PVC "/phase", "Bound\n");
	ck_file(PVC "/status", "Bound\n");
	ck_file(PVC "/storageClassName", "standard\n");
	ck_file(PVC "/accessModes", "ReadWriteOnce\n");
	ck_file(PVC "/storage", "5Gi\n");
	ck_file(PVC "/capacity", "5Gi\n");
	ck_file(PVC "/volumeMode", "Filesystem\n");
	ck_contains(PVC "/manifest.yaml", "phase: Bound");
	ck_contains(PVC "/object.json", "\"name\": \"goserver-pvc\"");
	ck_contains(PVC "/events", "ProvisioningSucceeded");
	snprintf(want, sizeof(want), "persistentvolumes/%s", pv);
	ck_link(PVC "/volume", want);
	snprintf(want, sizeof(want), "../../../../persistentvolumes/%s", pv);
	ck_file(PVC "/volume", want);

	snprintf(path, sizeof(path), "persistentvolumes/%s", pv);
	char *l = ls(path);
	ck_assert_str_eq(l, "manifest.yaml object.json events phase status capacity accessModes "
			    "reclaimPolicy storageClassName volumeMode claimRef claim data");
	free(l);
	snprintf(path, sizeof(path), "persistentvolumes/%s/phase", pv);
	ck_file(path, "Bound\n");
	snprintf(path, sizeof(path), "persistentvolumes/%s/capacity", pv);
	ck_file(path, "5Gi\n");
	snprintf(path, sizeof(path), "persistentvolumes/%s/claimRef", pv);
	ck_file(path, "default/goserver-pvc\n");
	snprintf(path, sizeof(path), "persistentvolumes/%s/reclaimPolicy", pv);
	ck_file(path, "Delete\n");
	snprintf(path, sizeof(path), "persistentvolumes/%s/storageClassName", pv);
	ck_file(path, "standard\n");
	snprintf(path, sizeof(path), "persistentvolumes/%s/accessModes", pv);
	ck_file(path, "ReadWriteOnce\n");
	snprintf(path, sizeof(path), "persistentvolumes/%s/claim", pv);
	ck_link(path, PVC);
	ck_file(path, "../../namespaces/default/persistentvolumeclaims/goserver-pvc");

	/* The class: its pool (5Gi claim + three 5Gi StatefulSet claims) and its volumes. */
	ck_file("storageclasses/standard/provisioner", "claimfs.io/simulated\n");
	ck_file("storageclasses/standard/reclaimPolicy", "Delete\n");
	ck_file("storageclasses/standard/volumeBindingMode", "Immediate\n");
	ck_file("storageclasses/standard/allowVolumeExpansion", "true\n");
	ck_file("storageclasses/standard/default", "true\n");
	ck_file("storageclasses/standard/capacity", "100Gi\n");
	ck_file("storageclasses/standard/allocated", "20Gi\n");
	ck_file("storageclasses/standard/available", "80Gi\n");
	snprintf(path, sizeof(path), "storageclasses/standard/persistentvolumes/%s", pv);
	snprintf(want, sizeof(want), "persistentvolumes/%s", pv);
	ck_link(path, want);
	l = ls("storageclasses/standard/persistentvolumes");
	ck_assert_msg(strstr(l, pv) != NULL, "class lists %s", l);
	ck_assert_int_eq(strlen(l), 4 * 40 + 3); /* four volumes */
	free(l);
	free(pv);
}
END_TEST

START_TEST(test_statefulset_files)
{
	struct tree_node n;
	char path[256], *node;
	seed();
	ck_ls(NS "pods", ".table .table-wide mysql-0 mysql-1 mysql-2");
	ck_ls(POD0, "manifest.yaml object.json events phase status ready nodeName podIP hostname "
		    "fqdn ordinal owner volumes node containers");
	ck_file(POD0 "/phase", "Running\n");
	ck_file(POD0 "/status", "Running\n");
	ck_file(POD0 "/ready", "true\n");
	ck_file(POD0 "/hostname", "mysql-0\n");
	ck_file(POD0 "/fqdn", "mysql-0.mysql-h.default.svc.cluster.local\n");
	ck_file(POD0 "/ordinal", "0\n");
	ck_file(NS "pods/mysql-2/ordinal", "2\n");
	ck_file(POD0 "/owner", "StatefulSet/mysql\n");
	char *ip = readp(POD0 "/podIP");
	ck_assert_msg(ip && strlen(ip) > 7 && ip[strlen(ip) - 1] == '\n', "podIP %s", ip);
	free(ip);
	node = readp(POD0 "/nodeName");
	ck_assert_msg(node && strncmp(node, "node-", 5) == 0, "nodeName %s", node);
	node[strlen(node) - 1] = '\0';
	snprintf(path, sizeof(path), "nodes/%s", node);
	ck_link(POD0 "/node", path);
	ck_ls(POD0 "/volumes", "mysql-volume");
	ck_link(POD0 "/volumes/mysql-volume", NS "persistentvolumeclaims/mysql-volume-mysql-0");
	ck_file(POD0 "/volumes/mysql-volume",
		"../../../persistentvolumeclaims/mysql-volume-mysql-0");
	/* cd through the symlink: pods/mysql-0/volumes/mysql-volume/volumeName */
	char *via = follow(POD0 "/volumes/mysql-volume");
	snprintf(path, sizeof(path), "%s/volumeName", via);
	char *pv = readp(path);
	char *direct = readp(NS "persistentvolumeclaims/mysql-volume-mysql-0/volumeName");
	ck_assert_str_eq(pv, direct);
	free(via);
	free(pv);
	free(direct);

	/* The node lists its pods as <pod>.<ns>. */
	snprintf(path, sizeof(path), "nodes/%s/pods", node);
	char *l = ls(path);
	ck_assert_msg(strstr(l, "mysql-0.default") != NULL, "%s lists %s", path, l);
	free(l);
	snprintf(path, sizeof(path), "nodes/%s/pods/mysql-0.default", node);
	ck_link(path, POD0);
	snprintf(path, sizeof(path), "nodes/%s/pods/mysql-0.kube-system", node);
	ck_assert_int_eq(resolve(path, &n), -ENOENT);
	free(node);
	ck_file("nodes/node-1/ready", "true\n");
	ck_file("nodes/node-1/zone", "zone-a\n");
	ck_file("nodes/node-3/zone", "zone-c\n");

	ck_ls(STS, "manifest.yaml object.json events replicas readyReplicas currentReplicas "
		   "updatedReplicas availableReplicas serviceName podManagementPolicy ordinals");
	ck_file(STS "/replicas", "3\n");
	ck_file(STS "/readyReplicas", "3\n");
	ck_file(STS "/currentReplicas", "3\n");
	ck_file(STS "/updatedReplicas", "3\n");
	ck_file(STS "/availableReplicas", "3\n");
	ck_file(STS "/serviceName", "mysql-h\n");
	ck_file(STS "/podManagementPolicy", "OrderedReady\n");
	ck_ls(STS "/ordinals", "0 1 2");
	ck_link(STS "/ordinals/1", NS "pods/mysql-1");
	ck_assert_int_eq(resolve(STS "/ordinals/3", &n), -ENOENT);
	ck_assert_int_eq(resolve(STS "/ordinals/01", &n), -ENOENT);
	ck_assert_int_eq(resolve(STS "/ordinals/x", &n), -ENOENT);

	ck_ls(NS "services/mysql-h",
	      "manifest.yaml object.json events clusterIP type endpoints dns");
	ck_file(NS "services/mysql-h/clusterIP", "None\n");
	ck_file(NS "services/mysql-h/type", "ClusterIP\n");
	char *eps = readp(NS "services/mysql-h/endpoints");
	ck_assert_msg(strstr(eps, " mysql-0\n") && strstr(eps, " mysql-2\n"), "endpoints %s", eps);
	free(eps);
	ck_contains(NS "services/mysql-h/dns", "mysql-1.mysql-h.default.svc.cluster.local.");
	ck_contains("dns", "mysql-2.mysql-h.default.svc.cluster.local.");
	ck_contains("events", "create Pod mysql-0 in StatefulSet mysql successful");
	ck_contains("metrics", "kube_persistentvolumeclaim_status_phase");
	ck_contains(NS "statefulsets/.table", "mysql");
	ck_contains(NS "pods/.table-wide", "mysql-1");
	/* a pod's events are its own */
	char *ev = readp(POD0 "/events");
	const char *line;
	for (line = ev; *line; line = strchr(line, '\n') + 1)
		ck_assert_msg(strstr(line, "namespaces/default/pods/mysql-0 ") != NULL &&
				  strstr(line, "namespaces/default/pods/mysql-0 ") <
				      strchr(line, '\n'),
			      "foreign event: %s", line);
	free(ev);
}
END_TEST

/* Walks the whole tree: every entry resolves by lookup to the node readdir gave, no
 * number names two paths, symlinks lead somewhere that exists. */
static size_t walk(const char *path, uint64_t *seen, size_t nseen)
{
	struct tree_node dir = must(path);
	struct listing *l = xcalloc(1, sizeof(*l));
	size_t i, j;
	char child[512];
	cluster_lock(fx.cl);
	ck_assert_int_eq(tree_readdir(fx.cl, &dir, collect, l), 0);
	cluster_unlock(fx.cl);
	for (i = 0; i < l->n; i++) {
		struct tree_node n;
		snprintf(child, sizeof(child), "%s%s%s", path, *path ? "/" : "", l->entry[i]);
		ck_assert_msg(resolve(child, &n) == 0, "%s is listed but does not resolve", child);
		ck_assert_msg(n.ino == l->inos[i], "%s: readdir ino %llu, lookup ino %llu", child,
			      (unsigned long long)l->inos[i], (unsigned long long)n.ino);
		for (j = 0; j < nseen; j++)
			ck_assert_msg(seen[j] != n.ino, "%s reuses inode %llu", child,
				      (unsigned long long)n.ino);
		ck_assert(nseen < 20000);
		seen[nseen++] = n.ino;
		cluster_lock(fx.cl);
		ck_assert_int_eq(tree_revalidate(fx.cl, &n), 0);
		cluster_unlock(fx.cl);
		if (n.type == TREE_DIR) {
			ck_assert_msg(n.mode == 0555 || n.mode == 0755, "%s mode %o", child,
				      n.mode);
			nseen = walk(child, seen, nseen);
		} else if (n.type == TREE_LINK) {
			char *to = follow(child);
			ck_assert_msg(exists(to), "%s -> %s dangles", child, to);
			free(to);
		} else {
			char *c = readp(child);
			ck_assert_msg(c != NULL, "%s cannot be read", child);
			free(c);
		}
		tree_node_release(&n);
	}
	listing_release(l);
	free(l);
	tree_node_release(&dir);
	return nseen;
}

START_TEST(test_whole_tree_inodes)
{
	uint64_t *seen = xcalloc(20000, sizeof(*seen));
	seed();
	seen[0] = 1;
	size_t n = walk("", seen, 1);
	ck_assert_msg(n > 150, "only %zu entries", n);
	free(seen);
}
END_TEST

START_TEST(test_inode_stability)
{
	struct tree_node a, b, oldpod, oldphase, oldvol, oldord, newpod;
	seed();
	a = must(POD0 "/phase");
	b = must(POD0 "/phase");
	ck_assert_int_eq(a.ino, b.ino);
	tree_node_release(&a);
	tree_node_release(&b);
	a = must(POD0 "/volumes/mysql-volume");
	b = must(POD0 "/volumes/mysql-volume");
	ck_assert_int_eq(a.ino, b.ino);
	ck_assert_int_eq(a.type, TREE_LINK);
	tree_node_release(&a);
	tree_node_release(&b);
	a = must(NS "pods");
	b = must("nodes");
	cluster_lock(fx.cl);
	ck_assert_int_eq(tree_kind_dir_ino(fx.cl, cluster_kind(fx.cl, "Pod"), "default"), a.ino);
	ck_assert_int_eq(tree_kind_dir_ino(fx.cl, cluster_kind(fx.cl, "Namespace"), NULL), 7);
	ck_assert_int_eq(tree_kind_dir_ino(fx.cl, cluster_kind(fx.cl, "Pod"), "nosuch"), 0);
	ck_assert_int_eq(tree_kind_dir_ino(fx.cl, cluster_kind(fx.cl, "Node"), NULL), b.ino);
	cluster_unlock(fx.cl);
	tree_node_release(&a);
	tree_node_release(&b);

	/* The pod dies and the StatefulSet brings back a new mysql-1: new numbers. */
	oldpod = must(NS "pods/mysql-1");
	oldphase = must(NS "pods/mysql-1/phase");
	oldvol = must(NS "pods/mysql-1/volumes/mysql-volume");
	oldord = must(STS "/ordinals/1");
	b = must(STS "/ordinals/0");
	a = must(NS "pods");
	ck_assert_int_eq(tree_rmdir(fx.cl, &a, "mysql-1", &fx.err), 0);
	tree_node_release(&a);
	newpod = must(NS "pods/mysql-1");
	ck_assert_uint_ne(newpod.ino, oldpod.ino);
	a = must(NS "pods/mysql-1/phase");
	ck_assert_uint_ne(a.ino, oldphase.ino);
	tree_node_release(&a);
	a = must(NS "pods/mysql-1/volumes/mysql-volume");
	ck_assert_uint_ne(a.ino, oldvol.ino);
	tree_node_release(&a);
	/* ordinals/1 names the new pod: a new number; ordinals/0 keeps its own */
	a = must(STS "/ordinals/1");
	ck_assert_uint_ne(a.ino, oldord.ino);
	tree_node_release(&a);
	a = must(STS "/ordinals/0");
	ck_assert_uint_eq(a.ino, b.ino);
	tree_node_release(&a);
	tree_node_release(&b);
	cluster_lock(fx.cl);
	ck_assert_int_eq(tree_revalidate(fx.cl, &oldpod), -ENOENT);
	ck_assert_int_eq(tree_revalidate(fx.cl, &oldphase), -ENOENT);
	ck_assert_int_eq(tree_revalidate(fx.cl, &oldvol), -ENOENT);
	ck_assert_int_eq(tree_revalidate(fx.cl, &oldord), -ENOENT);
	ck_assert_int_eq(tree_revalidate(fx.cl, &newpod), 0);
	struct strbuf sb = STRBUF_INIT;
	ck_assert_int_eq(tree_read(fx.cl, &oldphase, &sb, NULL), -ENOENT);
	cluster_unlock(fx.cl);
	sb_release(&sb);
	ck_file(NS "pods/mysql-1/phase", "Running\n");
	tree_node_release(&oldpod);
	tree_node_release(&oldphase);
	tree_node_release(&oldvol);
	tree_node_release(&oldord);
	tree_node_release(&newpod);
}
END_TEST

START_TEST(test_flags)
{
	static const struct {
		const char *path;
		unsigned flags, mode;
		enum tree_type type;
	} want[] = {
	    {PVC, 0, 0555, TREE_DIR},
	    {PVC "/manifest.yaml", TREE_OWN | TREE_APPLY, 0644, TREE_FILE},
	    {PVC "/object.json", TREE_OWN, 0444, TREE_FILE},
	    {PVC "/events", TREE_LOG, 0444, TREE_FILE},
	    {PVC "/phase", TREE_OWN, 0444, TREE_FILE},
	    {PVC "/storage", TREE_OWN | TREE_STORE, 0644, TREE_FILE},
	    {PVC "/volume", 0, 0777, TREE_LINK},
	    {NS "persistentvolumeclaims", TREE_CREATE, 0755, TREE_DIR},
	    {NS "persistentvolumeclaims/.table", TREE_CLOCK, 0444, TREE_FILE},
	    {NS "persistentvolumeclaims/.table-wide", TREE_CLOCK, 0444, TREE_FILE},
	    {"namespaces/.table", TREE_CLOCK, 0444, TREE_FILE},
	    {"apply", TREE_APPLY, 0200, TREE_FILE},
	    {NS, 0, 0555, TREE_DIR},
	    {"storageclasses/standard/allocated", 0, 0444, TREE_FILE},
	    {"storageclasses/standard/default", TREE_OWN, 0444, TREE_FILE},
	    {"storageclasses/standard/persistentvolumes", 0, 0555, TREE_DIR},
	    {"nodes/node-1/ready", TREE_OWN | TREE_STORE, 0644, TREE_FILE},
	    {"nodes/node-1/pods", 0, 0555, TREE_DIR},
	    {POD0, TREE_OWN, 0555, TREE_DIR},
	    {POD0 "/fqdn", 0, 0444, TREE_FILE},
	    {POD0 "/ordinal", TREE_OWN, 0444, TREE_FILE},
	    {POD0 "/volumes", 0, 0555, TREE_DIR}, /* a link exists while its claim does */
	    {POD0 "/volumes/mysql-volume", 0, 0777, TREE_LINK},
	    {POD0 "/node", TREE_OWN, 0777, TREE_LINK},
	    {STS "/replicas", TREE_OWN | TREE_STORE, 0644, TREE_FILE},
	    {STS "/ordinals", 0, 0555, TREE_DIR},
	    {STS "/ordinals/0", 0, 0777, TREE_LINK},
	    {NS "services/mysql-h/endpoints", 0, 0444, TREE_FILE},
	    {"metrics", 0, 0444, TREE_FILE},
	};
	size_t i;
	seed();
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct tree_node n = must(want[i].path);
		ck_assert_msg(n.flags == want[i].flags, "%s flags %#x, want %#x", want[i].path,
			      n.flags, want[i].flags);
		ck_assert_msg(n.mode == want[i].mode, "%s mode %o, want %o", want[i].path, n.mode,
			      want[i].mode);
		ck_assert_msg(n.type == want[i].type, "%s type %d", want[i].path, n.type);
		tree_node_release(&n);
	}
}
END_TEST

START_TEST(test_conditional_entries)
{
	struct tree_node n;
	/* A claim that cannot be provisioned: no volume link, empty volumeName and capacity. */
	int rc = create_in(NS "persistentvolumeclaims", "huge.yaml",
			   "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: huge\n"
			   "spec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n"
			   "      storage: 500Ti\n");
	ck_assert_msg(rc == 0, "huge claim refused: %s", fx.err.msg);
	ck_file(NS "persistentvolumeclaims/huge/phase", "Pending\n");
	ck_file(NS "persistentvolumeclaims/huge/volumeName", "");
	ck_file(NS "persistentvolumeclaims/huge/capacity", "");
	ck_file(NS "persistentvolumeclaims/huge/storage", "500Ti\n");
	ck_assert_int_eq(resolve(NS "persistentvolumeclaims/huge/volume", &n), -ENOENT);
	ck_ls(NS "persistentvolumeclaims/huge",
	      "manifest.yaml object.json events phase status volumeName storageClassName "
	      "accessModes storage capacity volumeMode");
	/* A bare pod that no StatefulSet owns: no ordinal, empty owner and fqdn. */
	rc = create_in(NS "pods", "solo.yaml",
		       "apiVersion: v1\nkind: Pod\nmetadata:\n  name: solo\nspec:\n"
		       "  containers:\n  - name: c\n    image: busybox\n");
	ck_assert_msg(rc == 0, "pod refused: %s", fx.err.msg);
	ck_assert_int_eq(resolve(NS "pods/solo/ordinal", &n), -ENOENT);
	ck_file(NS "pods/solo/owner", "");
	ck_file(NS "pods/solo/fqdn", "");
	ck_ls(NS "pods/solo/volumes", "");
	ck_file(NS "pods/solo/hostname", "solo\n");
}
END_TEST

START_TEST(test_event_cursor)
{
	struct tree_node n = must("events");
	struct strbuf sb = STRBUF_INIT;
	uint64_t cursor = 0;
	cluster_lock(fx.cl);
	ck_assert_int_eq(tree_read(fx.cl, &n, &sb, &cursor), 0);
	cluster_unlock(fx.cl);
	uint64_t first = cursor;
	sb_reset(&sb);
	cluster_lock(fx.cl);
	ck_assert_int_eq(tree_read(fx.cl, &n, &sb, &cursor), 0);
	cluster_unlock(fx.cl);
	ck_assert_int_eq(sb.len, 0);
	ck_assert_int_eq(cursor, first);
	seed();
	cluster_lock(fx.cl);
	ck_assert_int_eq(tree_read(fx.cl, &n, &sb, &cursor), 0);
	cluster_unlock(fx.cl);
	ck_assert_uint_gt(cursor, first);
	ck_assert_ptr_nonnull(strstr(sb_str(&sb), "ProvisioningSucceeded"));
	sb_release(&sb);
	tree_node_release(&n);
}
END_TEST

START_TEST(test_deployment_files)
{
	int rc =
	    write_to("apply", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n"
			      "spec:\n  replicas: 2\n  selector:\n    matchLabels: {app: web}\n"
			      "  template:\n    metadata:\n      labels: {app: web}\n    spec:\n"
			      "      containers:\n      - name: c\n        image: nginx\n");
	ck_assert_msg(rc == 0, "deployment refused: %s", fx.err.msg);
	ck_ls(NS "deployments/app", "manifest.yaml object.json events replicas readyReplicas "
				    "updatedReplicas availableReplicas strategy");
	ck_file(NS "deployments/app/replicas", "2\n");
	ck_file(NS "deployments/app/readyReplicas", "2\n");
	ck_file(NS "deployments/app/updatedReplicas", "2\n");
	ck_file(NS "deployments/app/availableReplicas", "2\n");
	ck_file(NS "deployments/app/strategy", "RollingUpdate\n");
	char *rs = ls(NS "replicasets");
	ck_assert_msg(strncmp(rs, ".table .table-wide app-", 23) == 0 && !strchr(rs + 23, ' '),
		      "replicasets: %s", rs);
	char path[256], owner[128];
	snprintf(path, sizeof(path), NS "replicasets/%s", rs + 19);
	char *l = ls(path);
	ck_assert_str_eq(l, "manifest.yaml object.json events replicas readyReplicas");
	free(l);
	snprintf(path, sizeof(path), NS "replicasets/%s/replicas", rs + 19);
	ck_file(path, "2\n");
	snprintf(path, sizeof(path), NS "replicasets/%s/readyReplicas", rs + 19);
	ck_file(path, "2\n");
	snprintf(path, sizeof(path), NS "replicasets/%s/owner", rs + 19);
	ck_assert_ptr_null(readp(path)); /* replica sets have no owner file */
	/* the pods name their ReplicaSet */
	char *pods = ls(NS "pods");
	char *first = pods + strlen(".table .table-wide ");
	*strchrnul(first, ' ') = '\0';
	snprintf(path, sizeof(path), NS "pods/%s/owner", first);
	snprintf(owner, sizeof(owner), "ReplicaSet/%s\n", rs + 19);
	ck_file(path, owner);
	free(pods);
	free(rs);
	ck_assert_int_eq(store_at(NS "deployments/app/replicas", "3\n"), 0);
	ck_file(NS "deployments/app/readyReplicas", "3\n");
	ck_assert_int_eq(store_at(NS "deployments/app/replicas", "three"), -EINVAL);
	ck_file(NS "deployments/app/replicas", "3\n");
}
END_TEST

/* ---- the write side ---- */

START_TEST(test_store_replicas)
{
	struct tree_node n;
	seed();
	ck_assert_int_eq(store_at(STS "/replicas", "5\n"), 0);
	ck_file(STS "/replicas", "5\n");
	ck_file(STS "/readyReplicas", "5\n");
	ck_ls(STS "/ordinals", "0 1 2 3 4");
	ck_file(NS "pods/mysql-4/phase", "Running\n");

	static const char *const bad[] = {"banana", "-1",  "99999999999", "5 5",
					  "",	    "0x5", "+5",	  "5.0"};
	size_t i;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(store_at(STS "/replicas", bad[i]) == -EINVAL, "\"%s\" accepted",
			      bad[i]);
		ck_file(STS "/replicas", "5\n");
	}
	ck_assert_msg(strstr(fx.err.msg, "spec.replicas") != NULL, "message: %s", fx.err.msg);
	ck_assert(fx_has_event(&fx, "FailedApply", "statefulsets/mysql/replicas"));
	ck_assert(fx_has_event(&fx, "FailedApply", "banana"));
	ck_assert_int_eq(resolve(NS "pods/mysql-5", &n), -ENOENT);

	ck_assert_int_eq(store_at(STS "/replicas", " 2 \n"), 0);
	ck_file(STS "/replicas", "2\n");
	ck_ls(NS "pods", ".table .table-wide mysql-0 mysql-1");
	ck_ls(STS "/ordinals", "0 1");
	/* claims outlive the scale-down */
	ck_file(NS "persistentvolumeclaims/mysql-volume-mysql-4/phase", "Bound\n");

	ck_assert_int_eq(store_at(STS "/readyReplicas", "3"), -EACCES);
	ck_assert_int_eq(store_at(PVC "/phase", "Lost"), -EACCES);
	ck_assert_int_eq(store_at("README", "x"), -EACCES);
}
END_TEST

START_TEST(test_store_storage_and_ready)
{
	seed();
	ck_assert_int_eq(store_at(PVC "/storage", "8Gi\n"), 0);
	ck_file(PVC "/storage", "8Gi\n");
	ck_assert_str_eq(fx_str(&fx, "PersistentVolumeClaim", "default", "goserver-pvc",
				"spec.resources.requests.storage"),
			 "8Gi");
	ck_file(PVC "/capacity", "8Gi\n");
	ck_file("storageclasses/standard/allocated", "23Gi\n");
	ck_assert_int_eq(store_at(PVC "/storage", "4Gi"), -EPERM); /* shrinking is Forbidden */
	ck_file(PVC "/storage", "8Gi\n");
	ck_assert_int_eq(store_at(PVC "/storage", "banana"), -EINVAL);
	ck_file(PVC "/storage", "8Gi\n");
	ck_assert(fx_has_event(&fx, "FailedApply", "persistentvolumeclaims/goserver-pvc/storage"));

	ck_assert_int_eq(store_at("nodes/node-2/ready", "false\n"), 0);
	ck_file("nodes/node-2/ready", "false\n");
	ck_assert_int_eq(store_at("nodes/node-2/ready", "maybe"), -EINVAL);
	ck_file("nodes/node-2/ready", "false\n");
	ck_assert_int_eq(store_at("nodes/node-2/ready", "true"), 0);
	ck_file("nodes/node-2/ready", "true\n");
}
END_TEST

START_TEST(test_apply_scopes)
{
	struct tree_node n;
	seed();
	/* another kind into the claims directory */
	ck_assert_int_eq(create_in(NS "persistentvolumeclaims", "svc.yaml",
				   "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n"
				   "spec:\n  ports: [{port: 80}]\n"),
			 -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "PersistentVolumeClaim") != NULL, "message: %s",
		      fx.err.msg);
	ck_assert_int_eq(resolve(NS "services/svc", &n), -ENOENT);
	ck_assert(
	    fx_has_event(&fx, "FailedApply", "namespaces/default/persistentvolumeclaims/svc.yaml"));
	/* another namespace into default's directory */
	ck_assert_int_eq(create_in(NS "configmaps", "cm.yaml",
				   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
				   "  namespace: kube-system\ndata: {a: b}\n"),
			 -EINVAL);
	ck_assert_int_eq(resolve(NS "configmaps/cm", &n), -ENOENT);
	/* no name: the file name gives it */
	ck_assert_int_eq(create_in(NS "configmaps", "settings.yml",
				   "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n"),
			 0);
	ck_contains(NS "configmaps/settings/manifest.yaml", "a: b");
	/* metadata.name wins over the file name */
	ck_assert_int_eq(create_in(NS "configmaps", "other.json",
				   "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", "
				   "\"metadata\": {\"name\": \"real\"}}"),
			 0);
	ck_assert(exists(NS "configmaps/real"));
	ck_assert_int_eq(resolve(NS "configmaps/other", &n), -ENOENT);
	/* names that are not manifests, directories that take none */
	n = must(NS "configmaps");
	cluster_lock(fx.cl);
	ck_assert_int_eq(tree_may_create(fx.cl, &n, "notes.txt", &fx.err), -EINVAL);
	ck_assert_int_eq(tree_may_create(fx.cl, &n, ".yaml", &fx.err), -EINVAL);
	ck_assert_int_eq(tree_may_create(fx.cl, &n, "new.yaml", &fx.err), 0);
	cluster_unlock(fx.cl);
	tree_node_release(&n);
	static const char *const no_files[] = {"", NS, PVC, POD0 "/volumes", "nodes/node-1/pods"};
	size_t i;
	for (i = 0; i < sizeof(no_files) / sizeof(no_files[0]); i++) {
		n = must(no_files[i]);
		cluster_lock(fx.cl);
		ck_assert_msg(tree_may_create(fx.cl, &n, "x.yaml", &fx.err) == -EACCES, "%s",
			      no_files[i]);
		cluster_unlock(fx.cl);
		ck_assert_int_eq(tree_apply(fx.cl, &n, "x.yaml", "a: b\n", 5, &fx.err, NULL),
				 -EACCES);
		tree_node_release(&n);
	}
	/* a manifest.yaml belongs to its object */
	ck_assert_int_eq(write_to(NS "configmaps/real/manifest.yaml",
				  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: imposter\n"),
			 -EINVAL);
	ck_assert_int_eq(resolve(NS "configmaps/imposter", &n), -ENOENT);
	ck_assert_int_eq(write_to(NS "configmaps/real/manifest.yaml",
				  "apiVersion: v1\nkind: Secret\nmetadata:\n  name: real\n"),
			 -EINVAL);
	ck_assert_int_eq(write_to(NS "configmaps/real/manifest.yaml",
				  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: real\n"
				  "  labels: {tier: web}\ndata: {k: v}\n"),
			 0);
	ck_contains(NS "configmaps/real/object.json", "\"tier\": \"web\"");
	/* a manifest.yaml without a name updates its own object */
	ck_assert_int_eq(write_to(NS "configmaps/real/manifest.yaml",
				  "apiVersion: v1\nkind: ConfigMap\ndata: {k: w}\n"),
			 0);
	ck_contains(NS "configmaps/real/manifest.yaml", "k: w");
	/* a broken manifest fails with its position and changes nothing */
	ck_assert_int_eq(create_in(NS "persistentvolumeclaims", "broken.yaml",
				   "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n"
				   "  name: broken\nspec:\n  accessModes: [ReadWriteOnce]\n"
				   "  resources:\n    requests:\n      storage: banana\n"),
			 -EINVAL);
	ck_assert_int_eq(resolve(NS "persistentvolumeclaims/broken", &n), -ENOENT);
	ck_assert(fx_has_event(&fx, "FailedApply", "broken"));
	/* a new kind gets its directory where it has objects, and only there */
	ck_assert_int_eq(write_to("apply", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n"
					   "  name: w1\nspec: {size: 3}\n"),
			 0);
	ck_assert(exists(NS "widgets/w1/manifest.yaml"));
	ck_contains(NS "widgets/w1/object.json", "\"size\": 3");
	ck_ls(NS "widgets/w1", "manifest.yaml object.json events");
	/* an Event's plural is the namespace's events file: the file wins, listed once */
	ck_assert_int_eq(write_to("apply", "apiVersion: v1\nkind: Event\nmetadata:\n  name: e1\n"
					   "reason: Test\n"),
			 0);
	ck_ls(NS, "manifest.yaml object.json events phase configmaps deployments "
		  "persistentvolumeclaims pods replicasets secrets services statefulsets widgets");
	n = must(NS "events");
	ck_assert_int_eq(n.type, TREE_FILE);
	tree_node_release(&n);
	/* and a cluster-scoped one at the root */
	ck_assert_int_eq(resolve("priorityclasses", &n), -ENOENT);
	ck_assert_int_eq(write_to("apply", "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\n"
					   "metadata:\n  name: high\nvalue: 1000\n"),
			 0);
	ck_ls("", "README apply events metrics dns namespaces nodes persistentvolumes "
		  "priorityclasses storageclasses");
	ck_ls("priorityclasses", ".table .table-wide high");
	ck_contains("priorityclasses/high/manifest.yaml", "value: 1000");
	ck_assert_int_eq(
	    create_in("priorityclasses", "low.yaml",
		      "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nvalue: 1\n"),
	    0);
	ck_assert(exists("priorityclasses/low"));
	ck_contains("README", "namespaces/");
}
END_TEST

/* The lock-free answer for cp's lookup and create of a manifest file name: only while no
 * object has a name like one, only in directories that take manifest files. */
START_TEST(test_manifest_name_free)
{
	struct tree_node n, dir, file;
	seed();
	dir = must(NS "configmaps");
	ck_assert(tree_manifest_name_free(fx.cl, &dir, "new.yaml"));
	ck_assert(tree_manifest_name_free(fx.cl, &dir, "new.json"));
	ck_assert(!tree_manifest_name_free(fx.cl, &dir, "new"));       /* an object's name */
	ck_assert(!tree_manifest_name_free(fx.cl, &dir, ".yaml"));     /* not a manifest */
	ck_assert(!tree_manifest_name_free(fx.cl, &dir, "notes.txt")); /* nor this */
	file = must(PVC);
	ck_assert(!tree_manifest_name_free(fx.cl, &file, "x.yaml")); /* takes no files */
	/* An object called like a manifest file: then every such name goes to the lookup. */
	ck_assert_int_eq(write_to("apply",
				  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
				  "  name: app.yaml\n  namespace: default\ndata: {a: b}\n"),
			 0);
	ck_assert_int_eq(store_manifest_named(cluster_store(fx.cl)), 1);
	ck_assert(!tree_manifest_name_free(fx.cl, &dir, "app.yaml"));
	ck_assert(!tree_manifest_name_free(fx.cl, &dir, "other.yaml"));
	cluster_lock(fx.cl);
	ck_assert_int_eq(tree_may_create(fx.cl, &dir, "app.yaml", &fx.err), -EEXIST);
	cluster_unlock(fx.cl);
	n = must(NS "configmaps/app.yaml");
	ck_assert_int_eq(n.type, TREE_DIR);
	tree_node_release(&n);
	/* gone again: back to the lock-free answer */
	ck_assert_int_eq(tree_rmdir(fx.cl, &dir, "app.yaml", &fx.err), 0);
	ck_assert_int_eq(store_manifest_named(cluster_store(fx.cl)), 0);
	ck_assert(tree_manifest_name_free(fx.cl, &dir, "app.yaml"));
	tree_node_release(&file);
	tree_node_release(&dir);
}
END_TEST

START_TEST(test_mkdir_rmdir_unlink)
{
	struct tree_node n, stale_dir, stale_table;
	seed();
	n = must("namespaces");
	ck_assert_int_eq(tree_mkdir(fx.cl, &n, "team", &fx.err), 0);
	ck_assert_int_eq(tree_mkdir(fx.cl, &n, "team", &fx.err), -EEXIST);
	ck_assert_int_eq(tree_mkdir(fx.cl, &n, "Bad_Name", &fx.err), -EINVAL);
	tree_node_release(&n);
	ck_ls("namespaces", ".table .table-wide default team");
	ck_file("namespaces/team/phase", "Active\n");
	n = must(NS "pods");
	ck_assert_int_eq(tree_mkdir(fx.cl, &n, "x", &fx.err), -EACCES);
	tree_node_release(&n);
	n = must("");
	ck_assert_int_eq(tree_mkdir(fx.cl, &n, "x", &fx.err), -EACCES);
	ck_assert_int_eq(tree_rmdir(fx.cl, &n, "nodes", &fx.err), -EACCES);
	tree_node_release(&n);

	ck_assert_int_eq(create_in("namespaces/team/configmaps", "cm.yaml",
				   "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n"),
			 0);
	ck_assert_int_eq(write_to("apply", "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n"
					   "  name: g1\n  namespace: team\n"),
			 0);
	ck_ls("namespaces/team", "manifest.yaml object.json events phase configmaps deployments "
				 "gadgets persistentvolumeclaims pods replicasets secrets services "
				 "statefulsets");
	ck_assert_int_eq(resolve(NS "gadgets", &n), -ENOENT);

	/* unlink: manifest.yaml deletes, other files are refused */
	n = must("namespaces/team/configmaps/cm");
	ck_assert_int_eq(tree_unlink(fx.cl, &n, "object.json", &fx.err), -EACCES);
	ck_assert_int_eq(tree_unlink(fx.cl, &n, "nosuch", &fx.err), -ENOENT);
	ck_assert_int_eq(tree_unlink(fx.cl, &n, "manifest.yaml", &fx.err), 0);
	tree_node_release(&n);
	ck_assert_int_eq(resolve("namespaces/team/configmaps/cm", &n), -ENOENT);

	/* rmdir of an object directory deletes the object; an optional kind's directory
	 * goes with its last object */
	stale_dir = must("namespaces/team/gadgets");
	stale_table = must("namespaces/team/gadgets/.table");
	n = must("namespaces/team/gadgets");
	ck_assert_int_eq(tree_rmdir(fx.cl, &n, "g1", &fx.err), 0);
	ck_assert_int_eq(tree_rmdir(fx.cl, &n, "g1", &fx.err), -ENOENT);
	tree_node_release(&n);
	ck_assert_int_eq(resolve("namespaces/team/gadgets", &n), -ENOENT);
	cluster_lock(fx.cl);
	ck_assert_int_eq(tree_revalidate(fx.cl, &stale_dir), -ENOENT);
	ck_assert_int_eq(tree_revalidate(fx.cl, &stale_table), -ENOENT);
	cluster_unlock(fx.cl);
	tree_node_release(&stale_dir);
	tree_node_release(&stale_table);

	n = must(POD0);
	ck_assert_int_eq(tree_rmdir(fx.cl, &n, "volumes", &fx.err), -EACCES);
	tree_node_release(&n);

	/* rmdir of a namespace: Kubernetes' semantics (Terminating until empty, then gone) */
	stale_dir = must("namespaces/team/configmaps");
	n = must("namespaces");
	ck_assert_int_eq(tree_rmdir(fx.cl, &n, "team", &fx.err), 0);
	ck_assert_int_eq(tree_rmdir(fx.cl, &n, "default", &fx.err), -EPERM);
	tree_node_release(&n);
	ck_assert_int_eq(resolve("namespaces/team", &n), -ENOENT);
	cluster_lock(fx.cl);
	ck_assert_int_eq(tree_revalidate(fx.cl, &stale_dir), -ENOENT);
	cluster_unlock(fx.cl);
	/* recreated: the old kind directory node stays stale */
	n = must("namespaces");
	ck_assert_int_eq(tree_mkdir(fx.cl, &n, "team", &fx.err), 0);
	tree_node_release(&n);
	n = must("namespaces/team/configmaps");
	ck_assert_uint_ne(n.ino, stale_dir.ino);
	cluster_lock(fx.cl);
	ck_assert_int_eq(tree_revalidate(fx.cl, &stale_dir), -ENOENT);
	ck_assert_int_eq(tree_revalidate(fx.cl, &n), 0);
	cluster_unlock(fx.cl);
	tree_node_release(&n);
	tree_node_release(&stale_dir);

	/* deleting the claim through rmdir */
	n = must(NS "persistentvolumeclaims");
	ck_assert_int_eq(tree_rmdir(fx.cl, &n, "goserver-pvc", &fx.err), 0);
	tree_node_release(&n);
	ck_assert_int_eq(resolve(PVC, &n), -ENOENT);
}
END_TEST

static void sleep_ms(int ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

static int64_t mtime_of(const char *path)
{
	struct tree_node n = must(path);
	cluster_lock(fx.cl);
	int64_t t = tree_mtime(fx.cl, &n);
	cluster_unlock(fx.cl);
	tree_node_release(&n);
	return t;
}

START_TEST(test_mtimes)
{
	int64_t pods0, claims0, readme0, events0, obj0;
	seed();
	sleep_ms(20);
	pods0 = mtime_of(NS "pods");
	claims0 = mtime_of(NS "persistentvolumeclaims");
	readme0 = mtime_of("README");
	events0 = mtime_of("events");
	obj0 = mtime_of(STS "/replicas");
	ck_assert_int_eq(mtime_of(STS), obj0);
	ck_assert_int_gt(pods0, 0);
	sleep_ms(20);
	ck_assert_int_eq(store_at(STS "/replicas", "4"), 0);
	ck_assert_int_gt(mtime_of(NS "pods"), pods0);
	ck_assert_int_eq(mtime_of(NS "pods"), mtime_of(NS "pods/.table"));
	ck_assert_int_gt(mtime_of(STS "/replicas"), obj0);
	ck_assert_int_gt(mtime_of("events"), events0);
	ck_assert_int_ge(mtime_of(NS "pods/mysql-3/events"), mtime_of(NS "pods/mysql-3") - 1000);
	ck_assert_int_eq(mtime_of("README"), readme0);
	/* scaling up touches no claim: new claims are made, so the claims dir changes too,
	 * but mysql-0's files do not */
	ck_assert_int_ge(mtime_of(NS "persistentvolumeclaims"), claims0);
	struct object *o = fx_get(&fx, "Pod", "default", "mysql-0");
	ck_assert_int_eq(mtime_of(POD0 "/phase"), o->mtime_ms);
}
END_TEST

/* Changes within one millisecond (a claim created and deleted at once, as a script or
 * the stress test's writers do) still move the kind directory's mtime each time, so a
 * reader comparing mtimes around a read of .table sees that it changed. */
START_TEST(test_kind_mtime_moves_every_change)
{
	struct tree_node dir;
	seed();
	int64_t last = mtime_of(NS "persistentvolumeclaims");
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(fx_apply(&fx, "apiVersion: v1\nkind: PersistentVolumeClaim\n"
					       "metadata: {name: quick}\nspec:\n"
					       "  accessModes: [ReadWriteOnce]\n"
					       "  resources: {requests: {storage: 1Gi}}\n"),
				 0);
		int64_t created = mtime_of(NS "persistentvolumeclaims");
		ck_assert_int_gt(created, last);
		ck_assert_int_eq(mtime_of(NS "persistentvolumeclaims/.table"), created);
		dir = must(NS "persistentvolumeclaims");
		ck_assert_int_eq(tree_rmdir(fx.cl, &dir, "quick", &fx.err), 0);
		tree_node_release(&dir);
		last = mtime_of(NS "persistentvolumeclaims");
		ck_assert_int_gt(last, created);
	}
	/* A burst of changes nobody reads in between does not run ahead of the clock: only
	 * a value already read is passed over. */
	sleep_ms(5);
	for (int i = 0; i < 40; i++) {
		ck_assert_int_eq(fx_apply(&fx, "apiVersion: v1\nkind: ConfigMap\n"
					       "metadata: {name: burst}\ndata: {a: b}\n"),
				 0);
		dir = must(NS "configmaps");
		ck_assert_int_eq(tree_rmdir(fx.cl, &dir, "burst", &fx.err), 0);
		tree_node_release(&dir);
	}
	ck_assert_int_le(mtime_of(NS "configmaps"), cluster_now_ms(fx.cl));
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("tree");
	TCase *tc = tcase_create("read");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_root);
	tcase_add_test(tc, test_namespace_dir);
	tcase_add_test(tc, test_claim_files);
	tcase_add_test(tc, test_statefulset_files);
	tcase_add_test(tc, test_whole_tree_inodes);
	tcase_add_test(tc, test_inode_stability);
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_conditional_entries);
	tcase_add_test(tc, test_event_cursor);
	suite_add_tcase(s, tc);
	tc = tcase_create("write");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_store_replicas);
	tcase_add_test(tc, test_store_storage_and_ready);
	tcase_add_test(tc, test_deployment_files);
	tcase_add_test(tc, test_apply_scopes);
	tcase_add_test(tc, test_mkdir_rmdir_unlink);
	tcase_add_test(tc, test_manifest_name_free);
	suite_add_tcase(s, tc);
	tc = tcase_create("fed");
	tcase_add_checked_fixture(tc, setup_fed, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_mtimes);
	tcase_add_test(tc, test_kind_mtime_moves_every_change);
	tcase_add_test(tc, test_inode_stability);
	tcase_add_test(tc, test_mkdir_rmdir_unlink);
	tcase_add_test(tc, test_manifest_name_free);
	suite_add_tcase(s, tc);
	return s;
}
