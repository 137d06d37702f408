/* cluster_hooks.c - the volumes of a cluster: the registry of its state directory kept in
 * a cluster slot (opened on first use, closed with the cluster), so that the storage
 * controllers (capacity, reclaim) and the FUSE adapter (data) share one. LOCKED. */
#include <stdio.h>
#include <stdlib.h>
#include "claimfs/cluster.h"
#include "claimfs/controllers.h"
#include "volume_internal.h"

/* controllers.h has spare slots; this one is the volumes'. */

struct vslot {
	struct volumes *vs; /* NULL until opened, or when opening failed */
	int failed;	    /* opening failed once: not tried again */
};

static void *slot_new(void)
{
	return xcalloc(1, sizeof(struct vslot));
}

static void slot_free(void *p)
{
	struct vslot *s = p;
	volumes_close(s->vs);
	free(s);
}

struct volumes *volumes_of(struct cluster *cl)
{
	struct vslot *s = cluster_slot(cl, CLUSTER_SLOT_VOLUMES, slot_new, slot_free);
	if (!s->vs && !s->failed) {
		struct cfs_err err = {{0}};
		if (volumes_open(cluster_options(cl)->state_dir, &s->vs, &err) < 0) {
			s->failed = 1;
			fprintf(stderr, "claimfs: volumes: %s\n", err.msg);
		}
	}
	return s->vs;
}
