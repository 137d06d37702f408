/* tree_internal.h - what the files of src/tree share: node roles, the inode layout, the
 * attribute tables ({name, mode, flags, show, store} per kind, configfs/sysfs style), the
 * per-cluster state kept in CLUSTER_SLOT_TREE (inode map, kind-directory times) and the
 * small helpers the tables use. Everything here is LOCKED unless it says otherwise. */
#ifndef CLAIMFS_TREE_INTERNAL_H
#define CLAIMFS_TREE_INTERNAL_H

#include <stdint.h>
#include <jansson.h>
#include "claimfs/controllers.h"
#include "claimfs/tree.h"

/* tree_node.role */
enum tree_role {
	ROLE_ROOT,	 /* / */
	ROLE_README,	 /* /README */
	ROLE_APPLY,	 /* /apply */
	ROLE_EVENTS,	 /* /events */
	ROLE_METRICS,	 /* /metrics */
	ROLE_DNS,	 /* /dns */
	ROLE_KINDDIR,	 /* a kind directory (namespaces/ is the one of Namespace) */
	ROLE_TABLE,	 /* <kind-dir>/.table */
	ROLE_TABLE_WIDE, /* <kind-dir>/.table-wide */
	ROLE_OBJDIR,	 /* an object directory (namespaces/<ns>/ is the one of a Namespace) */
	ROLE_MOUNT,	 /* below a pod's containers/: sub is "<container>[/<path>]"; a
			    directory on the way to a mount point, or (TREE_DATA) the mount
			    point itself (tree_mounts.c) */
	ROLE_ATTR = 64,	 /* + index in the kind's attribute table: an entry of an object dir */
	ROLE_VAR = 4096, /* + index of a directory attribute: one of its variable entries */
};

/* Inode layout (tree.h: stable for the life of what they name, never reused):
 *   1..9                      the root, its fixed files, namespaces/ and its tables
 *   16 + 3*kind + {0,1,2}      a cluster-scoped kind directory, .table, .table-wide
 *   (id << 12) | 0            an object's directory (id: struct object.id, never reused)
 *   (id << 12) | 1 + i        entry i of the object's attribute table
 *   (id << 12) | 0x400 + 3*kind + {0,1,2}
 *                             a Namespace object's kind directories and their tables
 *   TREE_INO_MAP and above    from the per-cluster map: variable entries (volumes/<v>,
 *                             ordinals/<n>, ...) and whatever does not fit above */
#define TREE_INO_ROOT 1
#define TREE_INO_README 2
#define TREE_INO_APPLY 3
#define TREE_INO_EVENTS 4
#define TREE_INO_METRICS 5
#define TREE_INO_DNS 6
#define TREE_INO_NAMESPACES 7 /* +1 .table, +2 .table-wide */
#define TREE_INO_KINDS 16
#define TREE_OBJ_SHIFT 12
#define TREE_OBJ_KINDS 0x400
#define TREE_INO_MAP (1ULL << 62)

/* ---- attribute tables ---- */

/* A variable directory's entries: every one a relative symlink. */
struct tree_link {
	char *name;   /* entry name; owned */
	char *target; /* symlink target; owned */
	uint64_t id;  /* id of the object it names, 0 when it is a part of its own object */
};
struct tree_links {
	struct tree_link *v; /* entries */
	size_t n, cap;	     /* used, allocated */
};
void tree_links_add(struct tree_links *l, const char *name, const char *target, uint64_t id);
void tree_links_sort(struct tree_links *l);
void tree_links_release(struct tree_links *l);

/* One entry of an object directory. */
struct tree_attr {
	const char *name;    /* file name */
	enum tree_type type; /* file, symlink or directory of symlinks */
	unsigned mode;	     /* permission bits */
	unsigned flags;	     /* TREE_* of the node */
	/* Does the entry exist for obj? NULL: always. */
	int (*present)(struct cluster *cl, const struct object *obj);
	/* File content or symlink target, appended to out: 0, or -ENOENT (then nothing). */
	int (*show)(struct cluster *cl, const struct object *obj, struct strbuf *out);
	/* TREE_STORE: stores val (NUL-terminated, blanks trimmed). UNLOCKED. */
	int (*store)(struct cluster *cl, const struct tree_node *node, const char *val,
		     struct cfs_err *err);
	/* TREE_DIR: every entry (unsorted; the caller sorts), and one entry by name (0 with
	 * its target appended and *id set as in struct tree_link, or -ENOENT). An entry that
	 * names another object takes its inode number from that object's id, so the number
	 * goes away with that object (tree_note_change). */
	void (*list)(struct cluster *cl, const struct object *obj, struct tree_links *out);
	int (*find)(struct cluster *cl, const struct object *obj, const char *name,
		    struct strbuf *target, uint64_t *id);
};

struct tree_table {
	const char *kind;	       /* Kind this table is for; NULL: any other kind */
	const struct tree_attr *attrs; /* entries, in listing order */
	size_t n;		       /* number of entries */
	int own_listing;	       /* the directory's listing depends on its JSON alone */
};

/* Every object directory starts with these three: manifest.yaml, object.json, events. */
#define TREE_COMMON_ATTRS                                                                          \
	{"manifest.yaml",                                                                          \
	 TREE_FILE,                                                                                \
	 0644,                                                                                     \
	 TREE_OWN | TREE_APPLY,                                                                    \
	 NULL,                                                                                     \
	 tree_show_manifest,                                                                       \
	 NULL,                                                                                     \
	 NULL,                                                                                     \
	 NULL},                                                                                    \
	    {"object.json", TREE_FILE, 0444, TREE_OWN, NULL, tree_show_json, NULL, NULL, NULL},    \
	{                                                                                          \
		"events", TREE_FILE, 0444, TREE_LOG, NULL, NULL, NULL, NULL, NULL                  \
	}
#define TREE_NCOMMON 3

int tree_show_manifest(struct cluster *cl, const struct object *obj, struct strbuf *out);
int tree_show_json(struct cluster *cl, const struct object *obj, struct strbuf *out);

/* The tables of attrs_storage.c and attrs_workloads.c. */
extern const struct tree_table tree_table_pvc, tree_table_pv, tree_table_storageclass;
extern const struct tree_table tree_table_node, tree_table_pod, tree_table_statefulset,
    tree_table_deployment, tree_table_replicaset, tree_table_service, tree_table_namespace;
/* The table of kind k (the common one for kinds without their own). */
const struct tree_table *tree_table_for(const struct kind *k);

/* Show helpers: one value and a newline; unset values print an empty file. */
int tree_show_string(const char *s, struct strbuf *out);
int tree_show_path(const struct object *obj, const char *path, struct strbuf *out);
int tree_show_count(const struct object *obj, const char *path, struct strbuf *out);
int tree_show_bool(int b, struct strbuf *out);
int tree_show_quantity(const char *s, struct strbuf *out);
int tree_show_lines(const json_t *array, struct strbuf *out); /* one string per line */
/* kubectl's STATUS of a claim or volume: Terminating when deleting, else the phase. */
int tree_show_phase_status(const struct object *obj, struct strbuf *out);

/* Strict parsers of stored values (configfs style). -EINVAL with a reason naming field. */
int tree_parse_count(const char *field, const char *val, int64_t *out, struct cfs_err *err);
int tree_parse_bool(const char *field, const char *val, int *out, struct cfs_err *err);
/* Reports a refused write as FailedApply (takes the lock) and returns rc. UNLOCKED. */
int tree_refuse(struct cluster *cl, const char *source, int rc, struct cfs_err *err);
/* The node's path in the mount ("namespaces/default/pods/web-0/replicas"). No lock. */
void tree_node_path(const struct tree_node *n, struct strbuf *out);

/* ---- nodes ---- */

/* Fills out; strings are copied when own is 1, else borrowed (for readdir's fill). */
void tree_node_set(struct tree_node *out, int own, uint64_t ino, enum tree_type type, unsigned mode,
		   unsigned flags, int role, const struct kind *k, uint64_t obj_id, const char *ns,
		   const char *name, const char *sub);
/* The object a node belongs to, if it still exists with the node's id; else NULL. */
struct object *tree_node_object(struct cluster *cl, const struct tree_node *n);

/* ---- per-cluster state (tree_state.c) ---- */

struct tree_state;
struct tree_state *tree_state(struct cluster *cl);
/* A number from the map for (owner, slot, sub), allocated on first use. */
uint64_t tree_map_ino(struct cluster *cl, uint64_t owner, uint32_t slot, const char *sub);
/* Time of the last change of a kind directory (see tree_mtime in tree.h). */
int64_t tree_kind_mtime(struct cluster *cl, const struct kind *k, const char *ns);
/* Last change of anything (noticed through the generation or the change feed). */
int64_t tree_global_mtime(struct cluster *cl);
int64_t tree_start_mtime(struct cluster *cl);
int64_t tree_events_mtime(struct cluster *cl, const char *object_path, int64_t dflt);

/* ---- directories ---- */

/* Root (tree_root.c). */
int tree_root_lookup(struct cluster *cl, const char *name, struct tree_node *out);
int tree_root_readdir(struct cluster *cl, tree_fill_fn fill, void *ctx);
int tree_root_read(struct cluster *cl, const struct tree_node *n, struct strbuf *out,
		   uint64_t *cursor);
void tree_readme(struct strbuf *out);

/* Kind directories (tree_kinds.c). ns NULL for cluster-scoped kinds. */
int tree_kind_dir_exists(struct cluster *cl, const struct kind *k, const char *ns);
/* Fills the kind directory's node (own strings); ns_id is the namespace object's id. */
void tree_kind_dir_node(struct cluster *cl, const struct kind *k, const char *ns, uint64_t ns_id,
			int own, struct tree_node *out);
int tree_kind_lookup(struct cluster *cl, const struct tree_node *dir, const char *name,
		     struct tree_node *out);
int tree_kind_readdir(struct cluster *cl, const struct tree_node *dir, tree_fill_fn fill,
		      void *ctx);
/* Kind directories of namespace nsobj: lookup and listing. */
int tree_ns_kind_lookup(struct cluster *cl, const struct object *nsobj, const char *name,
			struct tree_node *out);
int tree_ns_kind_readdir(struct cluster *cl, const struct object *nsobj, tree_fill_fn fill,
			 void *ctx);
/* Does a kind directory always exist (even empty)? */
int tree_kind_always(const struct kind *k);

/* Object directories (tree_object.c). */
void tree_object_dir_node(const struct object *obj, int own, struct tree_node *out);
int tree_object_lookup(struct cluster *cl, const struct tree_node *dir, const char *name,
		       struct tree_node *out);
int tree_object_readdir(struct cluster *cl, const struct tree_node *dir, tree_fill_fn fill,
			void *ctx);
int tree_object_read(struct cluster *cl, const struct tree_node *n, struct strbuf *out,
		     uint64_t *cursor);
int tree_object_revalidate(struct cluster *cl, const struct tree_node *n);
/* The attribute of an ROLE_ATTR or ROLE_VAR node, or NULL. */
const struct tree_attr *tree_node_attr(const struct tree_node *n);

/* A pod's containers/ (tree_mounts.c): what each container sees at its volumeMounts.
 * containers/<c>/ and the directories down to each mount path are synthesised; the mount
 * point is a TREE_DATA node naming the PV its claim is bound to (absent until it is).
 * tree_mounts_lookup/readdir take the containers/ attribute node (ROLE_ATTR) or a
 * ROLE_MOUNT node as dir. */
int tree_mounts_lookup(struct cluster *cl, const struct tree_node *dir, const char *name,
		       struct tree_node *out);
int tree_mounts_readdir(struct cluster *cl, const struct tree_node *dir, tree_fill_fn fill,
			void *ctx);
int tree_mounts_revalidate(struct cluster *cl, const struct tree_node *n);
#endif
