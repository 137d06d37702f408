/* test_recovery.c - crash recovery at the cluster level: a real cluster's state
 * directory whose journal is torn (cut at every byte offset of its last record, or
 * followed by garbage, or with its last record corrupted) must reopen through
 * cluster_open to exactly the state of the last complete record, with the invariants
 * intact, and take new changes after it. test_persist.c covers persist's own framing;
 * this suite checks that the cluster's records, replay and resume agree with it. */
#include "unit.h"
#include "claimfs/jsonalloc.h"
#include "fixture.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

/* ---- files ---- */

static char *slurp(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	char *buf = xmalloc((size_t)st.st_size + 1);
	size_t done = 0;
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
		ck_assert_int_gt(n, 0);
		done += (size_t)n;
	}
	close(fd);
	buf[done] = '\0';
	*len = done;
	return buf;
}

static void spill(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* The name of the one journal file in dir ("journal.<gen>"). */
static void journal_of(const char *dir, char *out, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "journal.", 8) == 0) {
			ck_assert_msg(!found, "two journals in %s", dir);
			snprintf(out, len, "%s/%s", dir, de->d_name);
			found = 1;
		}
	}
	closedir(d);
	ck_assert_msg(found, "no journal in %s", dir);
}

static void rm_rf(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- state ---- */

/* Every object of the cluster as one canonical string (sorted keys and paths), with
 * the resourceVersion counter and a count: two clusters print the same iff they hold
 * the same objects with the same uids, names, specs and statuses. LOCKED inside. */
static char *state_of(struct cluster *cl)
{
	json_t *all = json_object();
	size_t nk, n, i, j;
	struct strbuf key = STRBUF_INIT;
	cluster_lock(cl);
	struct store *s = cluster_store(cl);
	const struct kind *const *kinds = store_kinds(s, &nk);
	for (i = 0; i < nk; i++) {
		struct object *const *v = store_list(s, kinds[i], NULL, &n);
		for (j = 0; j < n; j++) {
			sb_reset(&key);
			object_path(v[j], &key);
			json_object_set(all, sb_str(&key), object_json(v[j]));
		}
	}
	json_object_set_new(all, "#objects", json_integer((json_int_t)store_count(s)));
	cluster_unlock(cl);
	char *text = json_dumps(all, JSON_SORT_KEYS | JSON_COMPACT);
	char *out = xstrdup(text); /* callers free() it; jansson's text is jansson's to free */
	jsonalloc_free(text);
	json_decref(all);
	sb_release(&key);
	return out;
}

/* The first object whose text differs, for a readable failure. */
static const char *first_difference(const char *a, const char *b, char *out, size_t len)
{
	json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL), *v;
	const char *k;
	snprintf(out, len, "(same objects)");
	json_object_foreach(ja, k, v)
	{
		if (!json_equal(v, json_object_get(jb, k))) {
			char *sa = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
			json_t *w = json_object_get(jb, k);
			char *sb =
			    w ? json_dumps(w, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY)
			      : NULL;
			snprintf(out, len, "%s: want %.300s, got %.300s", k, sa,
				 sb ? sb : "(none)");
			jsonalloc_free(sa);
			jsonalloc_free(sb);
			break;
		}
	}
	json_object_foreach(jb, k, v) if (!json_object_get(ja, k) && !strchr(out, ':'))
	    snprintf(out, len, "%s: not expected", k);
	json_decref(ja);
	json_decref(jb);
	return out;
}

/* The invariants of scripts/check-invariants.py, through the store: no PV bound twice,
 * every Bound PV's claim exists with the claimRef's uid, every Bound claim's PV points
 * back at it, and every StatefulSet ordinal has at most one pod. O(objects). */
static void check_invariants(struct cluster *cl, const char *when)
{
	size_t n, i;
	json_t *seen = json_object();
	char key[512];
	cluster_lock(cl);
	struct store *s = cluster_store(cl);
	const struct kind *pvk = store_kind(s, "PersistentVolume");
	const struct kind *pvck = store_kind(s, "PersistentVolumeClaim");
	struct object *const *pvs = store_list(s, pvk, NULL, &n);
	for (i = 0; i < n; i++) {
		json_t *pv = object_json(pvs[i]);
		if (strcmp(jstr_or(pv, "status.phase", ""), "Bound") != 0)
			continue;
		const char *cns = jstr(pv, "spec.claimRef.namespace");
		const char *cname = jstr(pv, "spec.claimRef.name");
		struct object *c = cname ? store_get(s, pvck, cns, cname) : NULL;
		ck_assert_msg(c != NULL, "%s: Bound PV %s: its claim %s/%s does not exist", when,
			      pvs[i]->name, cns, cname);
		ck_assert_msg(
		    strcmp(jstr_or(pv, "spec.claimRef.uid", ""), juid(object_json(c))) == 0,
		    "%s: Bound PV %s: the claimRef's uid is not its claim's", when, pvs[i]->name);
	}
	struct object *const *pvcs = store_list(s, pvck, NULL, &n);
	for (i = 0; i < n; i++) {
		if (strcmp(jstr_or(object_json(pvcs[i]), "status.phase", ""), "Bound") != 0)
			continue;
		const char *vol = jstr(object_json(pvcs[i]), "spec.volumeName");
		ck_assert_msg(vol != NULL, "%s: Bound claim %s has no volumeName", when,
			      pvcs[i]->name);
		struct object *pv = store_get(s, pvk, NULL, vol);
		ck_assert_msg(pv != NULL, "%s: Bound claim %s: PV %s is missing", when,
			      pvcs[i]->name, vol);
		ck_assert_msg(strcmp(jstr_or(object_json(pv), "spec.claimRef.uid", ""),
				     juid(object_json(pvcs[i]))) == 0,
			      "%s: PV %s is bound to another claim than %s", when, vol,
			      pvcs[i]->name);
		ck_assert_msg(json_object_get(seen, vol) == NULL, "%s: PV %s is bound twice", when,
			      vol);
		json_object_set_new(seen, vol, json_true());
	}
	json_object_clear(seen);
	struct object *const *pods = store_list(s, store_kind(s, "Pod"), NULL, &n);
	for (i = 0; i < n; i++) {
		json_t *refs = jget(object_json(pods[i]), "metadata.ownerReferences"), *r;
		size_t k;
		json_array_foreach(refs, k, r)
		{
			if (!jbool(r, "controller", 0) ||
			    strcmp(jstr_or(r, "kind", ""), "StatefulSet") != 0)
				continue;
			const char *set = jstr_or(r, "name", "");
			size_t sl = strlen(set);
			const char *ord = pods[i]->name + sl + 1;
			ck_assert_msg(strncmp(pods[i]->name, set, sl) == 0 &&
					  pods[i]->name[sl] == '-' && *ord,
				      "%s: pod %s of StatefulSet %s is not named <set>-<ordinal>",
				      when, pods[i]->name, set);
			const char *idx =
			    jlabel(object_json(pods[i]), "apps.kubernetes.io/pod-index");
			if (idx)
				ck_assert_msg(strcmp(idx, ord) == 0, "%s: pod %s has pod-index %s",
					      when, pods[i]->name, idx);
			snprintf(key, sizeof(key), "%s/%s/%s", pods[i]->ns, set, ord);
			ck_assert_msg(json_object_get(seen, key) == NULL,
				      "%s: ordinal %s has two pods", when, key);
			json_object_set_new(seen, key, json_true());
		}
	}
	cluster_unlock(cl);
	json_decref(seen);
}

/* ---- the scenario ---- */

static const char *const base_yaml =
    "apiVersion: v1\n"
    "kind: PersistentVolumeClaim\n"
    "metadata: {name: keep}\n"
    "spec:\n"
    "  accessModes: [ReadWriteOnce]\n"
    "  resources: {requests: {storage: 1Gi}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: web}\n"
    "spec: {clusterIP: None, selector: {app: web}}\n"
    "---\n"
    "apiVersion: apps/v1\n"
    "kind: StatefulSet\n"
    "metadata: {name: web}\n"
    "spec:\n"
    "  serviceName: web\n"
    "  replicas: 1\n"
    "  selector: {matchLabels: {app: web}}\n"
    "  template:\n"
    "    metadata: {labels: {app: web}}\n"
    "    spec: {containers: [{name: c, image: nginx}]}\n"
    "  volumeClaimTemplates:\n"
    "  - metadata: {name: www}\n"
    "    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n";

/* The last record: a multi-document stream that creates a claim (bound at once, with a
 * provisioned PV), updates another and adds a ConfigMap. */
static const char *const last_yaml = "apiVersion: v1\n"
				     "kind: PersistentVolumeClaim\n"
				     "metadata: {name: late}\n"
				     "spec:\n"
				     "  accessModes: [ReadWriteOnce]\n"
				     "  resources: {requests: {storage: 2Gi}}\n"
				     "---\n"
				     "apiVersion: v1\n"
				     "kind: PersistentVolumeClaim\n"
				     "metadata: {name: keep, labels: {tier: gold}}\n"
				     "---\n"
				     "apiVersion: v1\n"
				     "kind: ConfigMap\n"
				     "metadata: {name: late-cfg}\n"
				     "data: {k: v}\n";

/* Builds a state directory whose journal ends with the record of last_yaml, reopened
 * once before it (so resume is exercised). *before is the state the directory must
 * recover to when that record is torn; *after the state with it. *cut0 is the journal's
 * length without the record, *full the journal with it. */
static void build(struct fixture *fx, char **before, char **after, size_t *cut0, char **full,
		  size_t *len, char *jpath, size_t jlen)
{
	size_t l0;
	fx_open(fx);
	fx_apply_ok(fx, base_yaml);
	fx_reopen(fx);
	fx_reopen(fx);
	journal_of(fx->dir, jpath, jlen);
	free(slurp(jpath, &l0));
	*before = state_of(fx->cl);
	fx_apply_ok(fx, last_yaml);
	*after = state_of(fx->cl);
	cluster_close(fx->cl);
	fx->cl = NULL;
	*full = slurp(jpath, len);
	ck_assert_msg(*len > l0 + 18, "the last apply wrote no record (%zu -> %zu)", l0, *len);
	*cut0 = l0;
}

/* Opens the state directory as it is, compares with want, checks the invariants. */
static void reopen_expect(struct fixture *fx, const char *want, const char *what)
{
	char diff[800];
	int rc = cluster_open(&fx->opts, &fx->cl, &fx->err);
	ck_assert_msg(rc == 0, "%s: cluster_open: %s", what, fx->err.msg);
	char *got = state_of(fx->cl);
	ck_assert_msg(strcmp(got, want) == 0, "%s: recovered state differs: %s", what,
		      first_difference(want, got, diff, sizeof(diff)));
	check_invariants(fx->cl, what);
	free(got);
}

static void close_cluster(struct fixture *fx)
{
	cluster_close(fx->cl);
	fx->cl = NULL;
}

static const char *const after_yaml = "apiVersion: v1\n"
				      "kind: ConfigMap\n"
				      "metadata: {name: after-recovery}\n"
				      "data: {k: v}\n";

/* Every byte offset of the last record: the cluster comes back exactly as before it
 * (and the torn bytes are gone from the journal); the whole record gives exactly the
 * state after it. A change made after the recovery survives the next reopen. */
START_TEST(torn_last_record_every_offset)
{
	struct fixture fx;
	char *before, *after, *full, *now, jpath[512], what[96];
	size_t cut0, len, cut, nlen;
	build(&fx, &before, &after, &cut0, &full, &len, jpath, sizeof(jpath));
	ck_assert_str_ne(before, after);
	for (cut = cut0; cut <= len; cut++) {
		spill(jpath, full, cut);
		snprintf(what, sizeof(what), "journal cut at byte %zu of %zu (record at %zu)", cut,
			 len, cut0);
		reopen_expect(&fx, cut == len ? after : before, what);
		close_cluster(&fx);
		/* A reopen writes nothing; the torn bytes are cut off for good. */
		now = slurp(jpath, &nlen);
		ck_assert_msg(nlen == (cut == len ? len : cut0) && memcmp(now, full, nlen) == 0,
			      "%s: the journal is %zu bytes afterwards", what, nlen);
		free(now);
		if (cut % 64 != 0 && cut != len - 1)
			continue; /* the write after recovery costs a second open: sample it */
		ck_assert_int_eq(cluster_open(&fx.opts, &fx.cl, &fx.err), 0);
		fx_apply_ok(&fx, after_yaml);
		close_cluster(&fx);
		ck_assert_int_eq(cluster_open(&fx.opts, &fx.cl, &fx.err), 0);
		ck_assert_msg(fx_get(&fx, "ConfigMap", "default", "after-recovery") != NULL,
			      "%s: a change made after the recovery was lost", what);
		ck_assert_msg((fx_get(&fx, "PersistentVolumeClaim", "default", "late") != NULL) ==
				  (cut == len),
			      "%s: the torn record's claim came back", what);
		close_cluster(&fx);
	}
	free(full);
	free(before);
	free(after);
	rm_rf(fx.dir);
}
END_TEST

/* What a crash on ext4 or XFS can leave behind a complete record: the file grew but the
 * data did not reach the disk (zeros), or random bytes; and a record whose bytes were
 * flipped. Each recovers to the last complete record. */
static void damage_case(const char *label, void (*damage)(char *buf, size_t *len, size_t cut0))
{
	struct fixture fx;
	char *before, *after, *full, jpath[512], what[96];
	size_t cut0, len;
	build(&fx, &before, &after, &cut0, &full, &len, jpath, sizeof(jpath));
	char *buf = xmalloc(len + 8192);
	memcpy(buf, full, len);
	size_t blen = len;
	damage(buf, &blen, cut0);
	spill(jpath, buf, blen);
	snprintf(what, sizeof(what), "%s", label);
	int whole = blen >= len && memcmp(buf, full, len) == 0;
	reopen_expect(&fx, whole ? after : before, what);
	close_cluster(&fx);
	free(buf);
	free(full);
	free(before);
	free(after);
	rm_rf(fx.dir);
}

static void zeros_after(char *buf, size_t *len, size_t cut0)
{
	memset(buf + *len, 0, 4096);
	*len += 4096;
}

static void garbage_after(char *buf, size_t *len, size_t cut0)
{
	size_t i;
	unsigned x = 12345;
	for (i = 0; i < 3000; i++) {
		x = x * 1103515245u + 12345u;
		buf[*len + i] = (char)(x >> 16);
	}
	*len += 3000;
}

/* A plausible header in front of garbage: the length says more than is there. */
static void header_after(char *buf, size_t *len, size_t cut0)
{
	memcpy(buf + *len, "00000100 deadbeef\n{\"rv\":", 24);
	*len += 24;
}

static void flip_in_last(char *buf, size_t *len, size_t cut0)
{
	size_t at = cut0 + (*len - cut0) / 2;
	buf[at] ^= 0x01;
}

static void flip_last_newline(char *buf, size_t *len, size_t cut0)
{
	buf[*len - 1] = ' ';
}

START_TEST(zeros_after_last_record)
{
	damage_case("4 KiB of zeros after the last record", zeros_after);
}
END_TEST

START_TEST(garbage_after_last_record)
{
	damage_case("random bytes after the last record", garbage_after);
}
END_TEST

START_TEST(header_without_body_after_last_record)
{
	damage_case("a header without its body after the last record", header_after);
}
END_TEST

START_TEST(bit_flip_in_last_record)
{
	damage_case("a bit flipped in the last record", flip_in_last);
}
END_TEST

START_TEST(last_record_without_its_newline)
{
	damage_case("the last record's final newline replaced", flip_last_newline);
}
END_TEST

/* A torn very first record of a fresh directory: the cluster is new again (seeded), not
 * an empty cluster without a namespace. */
START_TEST(torn_first_record_is_a_new_cluster)
{
	struct fixture fx;
	char jpath[512];
	size_t len;
	fx_open(&fx);
	close_cluster(&fx);
	journal_of(fx.dir, jpath, sizeof(jpath));
	char *full = slurp(jpath, &len);
	ck_assert_uint_gt(len, 100);
	spill(jpath, full, len / 2);
	free(full);
	ck_assert_int_eq(cluster_open(&fx.opts, &fx.cl, &fx.err), 0);
	ck_assert_ptr_nonnull(fx_get(&fx, "Namespace", NULL, "default"));
	ck_assert_ptr_nonnull(fx_get(&fx, "StorageClass", NULL, "standard"));
	fx_apply_ok(&fx, base_yaml);
	check_invariants(fx.cl, "a torn first record");
	fx_close(&fx);
}
END_TEST

/* The resume after a load leaves a consistent bound pair alone (a mount of many claims
 * records such pairs settled at once) but still repairs a pair that was saved
 * inconsistent: here a claim's status.accessModes that differs from its volume's, and a
 * Bound volume with a status.message, both written while the controllers were paused. */
START_TEST(resume_repairs_inconsistent_pairs)
{
	struct fixture fx;
	const char *claims =
	    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: a}\n"
	    "spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n---\n"
	    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: b}\n"
	    "spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n---\n"
	    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\n"
	    "spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n";
	fx_open(&fx);
	fx_apply_ok(&fx, claims);
	char *pv_b =
	    xstrdup(fx_str(&fx, "PersistentVolumeClaim", "default", "b", "spec.volumeName"));
	cluster_lock(fx.cl);
	cluster_pause(fx.cl, 1);
	struct object *a = store_get(cluster_store(fx.cl),
				     cluster_kind(fx.cl, "PersistentVolumeClaim"), "default", "a");
	jset(object_json(a), "status.accessModes", json_pack("[s]", "ReadWriteMany"));
	cluster_update(fx.cl, a);
	struct object *pv =
	    store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "PersistentVolume"), NULL, pv_b);
	jset_str(object_json(pv), "status.message", "left over");
	cluster_update(fx.cl, pv);
	cluster_unlock(fx.cl);
	/* any write journals the paused changes */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
	ck_assert_str_eq(json_string_value(json_array_get(
			     jget(object_json(fx_get(&fx, "PersistentVolumeClaim", "default", "a")),
				  "status.accessModes"),
			     0)),
			 "ReadWriteMany");
	fx_reopen(&fx);
	json_t *modes = jget(object_json(fx_get(&fx, "PersistentVolumeClaim", "default", "a")),
			     "status.accessModes");
	ck_assert_str_eq(json_string_value(json_array_get(modes, 0)), "ReadWriteOnce");
	ck_assert_uint_eq(json_array_size(modes), 1);
	ck_assert_ptr_null(fx_str(&fx, "PersistentVolume", NULL, pv_b, "status.message"));
	ck_assert_str_eq(fx_str(&fx, "PersistentVolume", NULL, pv_b, "status.phase"), "Bound");
	ck_assert_str_eq(fx_str(&fx, "PersistentVolumeClaim", "default", "c", "status.phase"),
			 "Bound");
	check_invariants(fx.cl, "a repaired resume");
	free(pv_b);
	fx_close(&fx);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("recovery");
	TCase *tc = tcase_create("torn journal");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, torn_last_record_every_offset);
	tcase_add_test(tc, zeros_after_last_record);
	tcase_add_test(tc, garbage_after_last_record);
	tcase_add_test(tc, header_without_body_after_last_record);
	tcase_add_test(tc, bit_flip_in_last_record);
	tcase_add_test(tc, last_record_without_its_newline);
	tcase_add_test(tc, torn_first_record_is_a_new_cluster);
	tcase_add_test(tc, resume_repairs_inconsistent_pairs);
	suite_add_tcase(s, tc);
	return s;
}
