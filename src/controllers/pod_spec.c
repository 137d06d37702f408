/* pod_spec.c - a pod spec as the API server defaults and validates it, for pods and for
 * the pod templates of StatefulSets, Deployments and ReplicaSets; and the workloads'
 * selector-matches-template rule. Messages follow apimachinery's field errors
 * ("spec.containers[0].image: Required value"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "claimfs/names.h"
#include "workload_internal.h"

/* The pull policy Kubernetes defaults from the image reference: Always for ":latest" or
 * no tag, IfNotPresent otherwise (a digest counts as a tag). */
static const char *default_pull_policy(const char *image)
{
	const char *slash = strrchr(image, '/');
	const char *last = slash ? slash + 1 : image;
	const char *colon = strchr(last, ':');
	if (strchr(image, '@'))
		return "IfNotPresent";
	if (!colon || strcmp(colon, ":latest") == 0)
		return "Always";
	return "IfNotPresent";
}

static void default_containers(json_t *list)
{
	json_t *c, *p;
	size_t i, j;
	json_array_foreach(list, i, c)
	{
		if (!json_is_object(c))
			continue;
		if (!jget(c, "imagePullPolicy") && jstr(c, "image"))
			jset_str(c, "imagePullPolicy", default_pull_policy(jstr(c, "image")));
		if (!jget(c, "terminationMessagePath"))
			jset_str(c, "terminationMessagePath", "/dev/termination-log");
		if (!jget(c, "terminationMessagePolicy"))
			jset_str(c, "terminationMessagePolicy", "File");
		if (!jget(c, "resources"))
			jset(c, "resources", json_object());
		json_array_foreach(json_object_get(c, "ports"), j, p)
		{
			if (json_is_object(p) && !jget(p, "protocol"))
				jset_str(p, "protocol", "TCP");
		}
	}
}

void podspec_default(json_t *spec)
{
	if (!json_is_object(spec))
		return;
	if (!jget(spec, "restartPolicy"))
		jset_str(spec, "restartPolicy", "Always");
	if (!jget(spec, "dnsPolicy"))
		jset_str(spec, "dnsPolicy", "ClusterFirst");
	if (!jget(spec, "schedulerName"))
		jset_str(spec, "schedulerName", "default-scheduler");
	if (!jget(spec, "terminationGracePeriodSeconds"))
		jset(spec, "terminationGracePeriodSeconds", json_integer(30));
	if (!jget(spec, "securityContext"))
		jset(spec, "securityContext", json_object());
	if (!jget(spec, "enableServiceLinks"))
		jset(spec, "enableServiceLinks", json_true());
	default_containers(json_object_get(spec, "containers"));
	default_containers(json_object_get(spec, "initContainers"));
}

static int has_name(const char *const *names, const char *s)
{
	for (; names && *names; names++)
		if (strcmp(*names, s) == 0)
			return 1;
	return 0;
}

static int check_port(const struct manifest *m, json_t *p, const char *at, const char *field,
		      int required, struct cfs_err *err)
{
	json_t *v = json_object_get(p, field);
	if (!v) {
		if (required)
			return manifest_errorf(m, p, err, -EINVAL, "%s.%s: Required value", at,
					       field);
		return 0;
	}
	if (!json_is_integer(v))
		return manifest_member_errorf(
		    m, p, field, err, -EINVAL,
		    "%s.%s: Invalid value: must be an integer between %d and 65535", at, field,
		    required ? 1 : 0);
	if (json_integer_value(v) < (required ? 1 : 0) || json_integer_value(v) > 65535)
		return manifest_errorf(m, v, err, -EINVAL,
				       "%s.%s: Invalid value: %lld: must be between %d and 65535, "
				       "inclusive",
				       at, field, (long long)json_integer_value(v),
				       required ? 1 : 0);
	return 0;
}

static int check_protocol(const struct manifest *m, json_t *p, const char *at, struct cfs_err *err)
{
	const char *proto = jstr(p, "protocol");
	if (!jget(p, "protocol"))
		return 0;
	if (!proto || (strcmp(proto, "TCP") && strcmp(proto, "UDP") && strcmp(proto, "SCTP")))
		return manifest_member_errorf(m, p, "protocol", err, -EINVAL,
					      "%s.protocol: Unsupported value: \"%s\": supported "
					      "values: \"SCTP\", \"TCP\", \"UDP\"",
					      at, MQUOTE(proto));
	return 0;
}

/* volumeMounts[j] (at) of a container as upstream's validateVolumeMounts: a mountPath
 * once per container; a subPath relative and without "..". O(mounts) per mount. */
static int check_mount_paths(const struct manifest *m, json_t *mounts, size_t j, const char *at,
			     struct cfs_err *err)
{
	json_t *x = json_array_get(mounts, j);
	const char *mp = jstr(x, "mountPath"), *sub;
	size_t k;
	for (k = 0; k < j; k++) {
		const char *other = jstr(json_array_get(mounts, k), "mountPath");
		if (other && strcmp(other, mp) == 0)
			return manifest_errorf(
			    m, json_object_get(x, "mountPath"), err, -EINVAL,
			    "%s.mountPath: Invalid value: \"%s\": must be unique", at, MQUOTE(mp));
	}
	json_t *js = json_object_get(x, "subPath");
	if (!js || json_is_null(js))
		return 0;
	if (!json_is_string(js))
		return manifest_member_errorf(m, x, "subPath", err, -EINVAL,
					      "%s.subPath: Invalid value: must be a string", at);
	sub = json_string_value(js);
	if (sub[0] == '/')
		return manifest_errorf(m, js, err, -EINVAL,
				       "%s.subPath: Invalid value: \"%s\": must be a relative path",
				       at, MQUOTE(sub));
	const char *p = sub;
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return manifest_errorf(
			    m, js, err, -EINVAL,
			    "%s.subPath: Invalid value: \"%s\": must not contain '..'", at,
			    MQUOTE(sub));
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;
}

static int check_containers(const struct manifest *m, json_t *spec, const char *path,
			    const char *field, const char **vols, size_t nvols,
			    const char *const *extra, json_t *seen, struct cfs_err *err)
{
	json_t *list = json_object_get(spec, field), *c, *x;
	size_t i, j, k;
	struct cfs_err e;
	char at[256], at2[320];

	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return manifest_member_errorf(m, spec, field, err, -EINVAL,
					      "%s.%s: Invalid value: must be a list", path, field);
	json_array_foreach(list, i, c)
	{
		snprintf(at, sizeof(at), "%s.%s[%zu]", path, field, i);
		if (!json_is_object(c))
			return manifest_errorf(m, c, err, -EINVAL,
					       "%s: Invalid value: must be a map", at);
		json_t *jn = json_object_get(c, "name");
		if (jn && !json_is_null(jn) && !json_is_string(jn))
			return manifest_member_errorf(m, c, "name", err, -EINVAL,
						      "%s.name: Invalid value: must be a string",
						      at);
		if (!json_is_string(jn) || !*json_string_value(jn))
			return manifest_member_errorf(m, c, "name", err, -EINVAL,
						      "%s.name: Required value", at);
		if (name_check_label(json_string_value(jn), &e) < 0)
			return manifest_errorf(m, jn, err, -EINVAL,
					       "%s.name: Invalid value: \"%s\": %s", at,
					       MQUOTE(json_string_value(jn)), e.msg);
		if (json_object_get(seen, json_string_value(jn)))
			return manifest_errorf(m, jn, err, -EINVAL,
					       "%s.name: Duplicate value: \"%s\"", at,
					       MQUOTE(json_string_value(jn)));
		json_object_set_new(seen, json_string_value(jn), json_true());
		json_t *ji = json_object_get(c, "image");
		if (ji && !json_is_null(ji) && !json_is_string(ji))
			return manifest_member_errorf(m, c, "image", err, -EINVAL,
						      "%s.image: Invalid value: must be a string",
						      at);
		if (!json_is_string(ji) || !*json_string_value(ji))
			return manifest_member_errorf(m, c, "image", err, -EINVAL,
						      "%s.image: Required value", at);
		json_t *ports = json_object_get(c, "ports");
		if (ports && !json_is_null(ports) && !json_is_array(ports))
			return manifest_member_errorf(m, c, "ports", err, -EINVAL,
						      "%s.ports: Invalid value: must be a list",
						      at);
		json_array_foreach(ports, j, x)
		{
			int rc;
			snprintf(at2, sizeof(at2), "%s.ports[%zu]", at, j);
			if (!json_is_object(x))
				return manifest_errorf(m, x, err, -EINVAL,
						       "%s: Invalid value: must be a map", at2);
			if ((rc = check_port(m, x, at2, "containerPort", 1, err)) < 0 ||
			    (rc = check_port(m, x, at2, "hostPort", 0, err)) < 0 ||
			    (rc = check_protocol(m, x, at2, err)) < 0)
				return rc;
		}
		json_t *mounts = json_object_get(c, "volumeMounts");
		if (mounts && !json_is_null(mounts) && !json_is_array(mounts))
			return manifest_member_errorf(m, c, "volumeMounts", err, -EINVAL,
						      "%s.volumeMounts: Invalid value: must be a "
						      "list",
						      at);
		json_array_foreach(mounts, j, x)
		{
			const char *vn = jstr(x, "name");
			int found = 0;
			snprintf(at2, sizeof(at2), "%s.volumeMounts[%zu]", at, j);
			if (!json_is_object(x))
				return manifest_errorf(m, x, err, -EINVAL,
						       "%s: Invalid value: must be a map", at2);
			if (!vn || !*vn)
				return manifest_errorf(m, x, err, -EINVAL,
						       "%s.name: Required value", at2);
			for (k = 0; k < nvols; k++)
				if (strcmp(vols[k], vn) == 0)
					found = 1;
			if (!found && !has_name(extra, vn))
				return manifest_errorf(m, json_object_get(x, "name"), err, -EINVAL,
						       "%s.name: Not found: \"%s\"", at2,
						       MQUOTE(vn));
			if (!jstr(x, "mountPath") || !*jstr(x, "mountPath"))
				return manifest_errorf(m, x, err, -EINVAL,
						       "%s.mountPath: Required value", at2);
			int mrc = check_mount_paths(m, mounts, j, at2, err);
			if (mrc < 0)
				return mrc;
		}
	}
	return 0;
}

int podspec_validate(const struct manifest *m, json_t *spec, const char *path,
		     const char *const *extra_volumes, struct cfs_err *err)
{
	json_t *vols, *v, *seen;
	const char **names;
	size_t i, n = 0;
	struct cfs_err e;
	int rc = 0;

	if (!json_is_object(spec))
		return manifest_errorf(m, spec, err, -EINVAL, "%s.containers: Required value",
				       path);
	json_t *cs = json_object_get(spec, "containers");
	if (cs && !json_is_null(cs) && !json_is_array(cs))
		return manifest_member_errorf(m, spec, "containers", err, -EINVAL,
					      "%s.containers: Invalid value: must be a list", path);
	if (!json_is_array(cs) || json_array_size(cs) == 0)
		return manifest_member_errorf(m, spec, "containers", err, -EINVAL,
					      "%s.containers: Required value", path);
	vols = json_object_get(spec, "volumes");
	if (vols && !json_is_null(vols) && !json_is_array(vols))
		return manifest_member_errorf(m, spec, "volumes", err, -EINVAL,
					      "%s.volumes: Invalid value: must be a list", path);
	names = xcalloc(json_array_size(vols) + 1, sizeof(*names));
	json_array_foreach(vols, i, v)
	{
		const char *vn = jstr(v, "name");
		size_t k;
		if (!json_is_object(v)) {
			rc = manifest_errorf(m, v, err, -EINVAL,
					     "%s.volumes[%zu]: Invalid value: must be a map", path,
					     i);
			goto out;
		}
		if (!vn || !*vn) {
			rc = manifest_errorf(m, v, err, -EINVAL,
					     "%s.volumes[%zu].name: Required value", path, i);
			goto out;
		}
		if (name_check_label(vn, &e) < 0) {
			rc = manifest_errorf(m, json_object_get(v, "name"), err, -EINVAL,
					     "%s.volumes[%zu].name: Invalid value: \"%s\": %s",
					     path, i, MQUOTE(vn), e.msg);
			goto out;
		}
		for (k = 0; k < n; k++)
			if (strcmp(names[k], vn) == 0) {
				rc =
				    manifest_errorf(m, json_object_get(v, "name"), err, -EINVAL,
						    "%s.volumes[%zu].name: Duplicate value: \"%s\"",
						    path, i, MQUOTE(vn));
				goto out;
			}
		json_t *eph = json_object_get(v, "ephemeral");
		if (eph && (!json_is_object(eph) ||
			    !json_is_object(json_object_get(eph, "volumeClaimTemplate")))) {
			rc = manifest_errorf(m, eph, err, -EINVAL,
					     "%s.volumes[%zu].ephemeral.volumeClaimTemplate: "
					     "Required value",
					     path, i);
			goto out;
		}
		if (eph && !json_is_object(jget(eph, "volumeClaimTemplate.spec"))) {
			rc = manifest_errorf(m, json_object_get(eph, "volumeClaimTemplate"), err,
					     -EINVAL,
					     "%s.volumes[%zu].ephemeral.volumeClaimTemplate.spec: "
					     "Required value",
					     path, i);
			goto out;
		}
		json_t *pvc = json_object_get(v, "persistentVolumeClaim");
		if (pvc) {
			const char *cn = jstr(pvc, "claimName");
			if (!cn || !*cn) {
				rc = manifest_errorf(
				    m, pvc, err, -EINVAL,
				    "%s.volumes[%zu].persistentVolumeClaim.claimName: "
				    "Required value",
				    path, i);
				goto out;
			}
		}
		names[n++] = vn;
	}
	seen = json_object();
	rc = check_containers(m, spec, path, "initContainers", names, n, extra_volumes, seen, err);
	if (rc == 0)
		rc = check_containers(m, spec, path, "containers", names, n, extra_volumes, seen,
				      err);
	json_decref(seen);
	if (rc < 0)
		goto out;

	const char *rp = jstr(spec, "restartPolicy");
	if (jget(spec, "restartPolicy") &&
	    (!rp || (strcmp(rp, "Always") && strcmp(rp, "OnFailure") && strcmp(rp, "Never")))) {
		rc = manifest_member_errorf(
		    m, spec, "restartPolicy", err, -EINVAL,
		    "%s.restartPolicy: Unsupported value: \"%s\": supported values: "
		    "\"Always\", \"OnFailure\", \"Never\"",
		    path, MQUOTE(rp));
		goto out;
	}
	static const char *const dns_fields[] = {"hostname", "subdomain", NULL};
	const char *const *f;
	for (f = dns_fields; *f; f++) {
		json_t *jv = json_object_get(spec, *f);
		if (!jv || json_is_null(jv))
			continue;
		if (!json_is_string(jv)) {
			rc = manifest_member_errorf(m, spec, *f, err, -EINVAL,
						    "%s.%s: Invalid value: must be a string", path,
						    *f);
			goto out;
		}
		if (name_check_label(json_string_value(jv), &e) < 0) {
			rc =
			    manifest_errorf(m, jv, err, -EINVAL, "%s.%s: Invalid value: \"%s\": %s",
					    path, *f, MQUOTE(json_string_value(jv)), e.msg);
			goto out;
		}
	}
	json_t *nn = json_object_get(spec, "nodeName");
	if (nn && !json_is_null(nn) && !json_is_string(nn)) {
		rc = manifest_member_errorf(m, spec, "nodeName", err, -EINVAL,
					    "%s.nodeName: Invalid value: must be a string", path);
		goto out;
	}
	if (nn && !json_is_null(nn) && name_check_subdomain(json_string_value(nn), &e) < 0) {
		rc = manifest_errorf(m, nn, err, -EINVAL, "%s.nodeName: Invalid value: \"%s\": %s",
				     path, MQUOTE(json_string_value(nn)), e.msg);
		goto out;
	}
	json_t *ns = json_object_get(spec, "nodeSelector"), *sv;
	const char *sk;
	if (ns && !json_is_null(ns)) {
		if (!json_is_object(ns)) {
			rc = manifest_member_errorf(
			    m, spec, "nodeSelector", err, -EINVAL,
			    "%s.nodeSelector: Invalid value: must be a map of strings", path);
			goto out;
		}
		json_object_foreach(ns, sk, sv)
		{
			if (!json_is_string(sv)) {
				rc = manifest_member_errorf(
				    m, ns, sk, err, -EINVAL,
				    "%s.nodeSelector[%s]: Invalid value: must be a string "
				    "(quote it)",
				    path, MQUOTE(sk));
				goto out;
			}
		}
	}
out:
	free(names);
	return rc;
}

static void selector_value(const json_t *sel, struct strbuf *out)
{
	json_t *ml = json_object_get(sel, "matchLabels");
	sb_adds(out, "v1.LabelSelector{MatchLabels:");
	if (json_is_object(ml))
		wl_go_map(ml, out);
	else
		sb_adds(out, "map[string]string(nil)");
	sb_adds(out, ", MatchExpressions:[]v1.LabelSelectorRequirement(nil)}");
}

static int check_expressions(const struct manifest *m, json_t *sel, struct cfs_err *err)
{
	json_t *me = json_object_get(sel, "matchExpressions"), *x;
	size_t i;
	if (me && !json_is_null(me) && !json_is_array(me))
		return manifest_member_errorf(
		    m, sel, "matchExpressions", err, -EINVAL,
		    "spec.selector.matchExpressions: Invalid value: must be a list");
	json_array_foreach(me, i, x)
	{
		const char *op = jstr(x, "operator");
		size_t nv = json_array_size(json_object_get(x, "values"));
		if (!jstr(x, "key"))
			return manifest_errorf(
			    m, x, err, -EINVAL,
			    "spec.selector.matchExpressions[%zu].key: Required value", i);
		if (!op || (strcmp(op, "In") && strcmp(op, "NotIn") && strcmp(op, "Exists") &&
			    strcmp(op, "DoesNotExist")))
			return manifest_errorf(
			    m, x, err, -EINVAL,
			    "spec.selector.matchExpressions[%zu].operator: Invalid "
			    "value: \"%s\": not a valid selector operator",
			    i, MQUOTE(op));
		if ((!strcmp(op, "In") || !strcmp(op, "NotIn")) && nv == 0)
			return manifest_errorf(
			    m, x, err, -EINVAL,
			    "spec.selector.matchExpressions[%zu].values: Required "
			    "value: must be specified when `operator` is 'In' or "
			    "'NotIn'",
			    i);
		if ((!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) && nv > 0)
			return manifest_errorf(
			    m, x, err, -EINVAL,
			    "spec.selector.matchExpressions[%zu].values: Forbidden: "
			    "may not be specified when `operator` is 'Exists' or "
			    "'DoesNotExist'",
			    i);
	}
	return 0;
}

int wl_check_selector(const struct manifest *m, json_t *obj, const char *kind_lower,
		      struct cfs_err *err)
{
	json_t *spec = json_object_get(obj, "spec");
	json_t *sel = json_object_get(spec, "selector");
	json_t *labels = jget(obj, "spec.template.metadata.labels");
	int rc;

	/* Wrong types first: "template: nginx" is a type error at the template, not a
	 * selector that matches no labels. */
	if ((rc = manifest_check_type(m, obj, "spec.selector", JSON_OBJECT, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.template", JSON_OBJECT, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.template.metadata", JSON_OBJECT, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.template.metadata.labels", JSON_OBJECT, err)) <
		0 ||
	    (rc = manifest_check_type(m, obj, "spec.template.spec", JSON_OBJECT, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.selector.matchLabels", JSON_OBJECT, err)) < 0)
		return rc;
	if (!sel || json_is_null(sel))
		return manifest_member_errorf(m, spec ? spec : obj, spec ? "selector" : "spec", err,
					      -EINVAL, "spec.selector: Required value");
	if ((rc = check_expressions(m, sel, err)) < 0)
		return rc;
	if (json_object_size(json_object_get(sel, "matchLabels")) == 0 &&
	    json_array_size(json_object_get(sel, "matchExpressions")) == 0) {
		struct strbuf sb = STRBUF_INIT;
		selector_value(sel, &sb);
		rc = manifest_errorf(
		    m, sel, err, -EINVAL,
		    "spec.selector: Invalid value: %s: empty selector is invalid for %s",
		    sb_str(&sb), kind_lower);
		sb_release(&sb);
		return rc;
	}
	if (json_is_object(labels)) {
		const char *k;
		json_t *v;
		json_object_foreach(labels, k, v)
		{
			if (!json_is_string(v))
				return manifest_member_errorf(
				    m, labels, k, err, -EINVAL,
				    "spec.template.metadata.labels[%s]: Invalid value: "
				    "must be a string (quote it)",
				    MQUOTE(k));
		}
	}
	if (!jselector_matches(sel, json_is_object(labels) ? labels : NULL) ||
	    !json_is_object(labels)) {
		struct strbuf sb = STRBUF_INIT;
		if (json_is_object(labels))
			wl_go_map(labels, &sb);
		else
			sb_adds(&sb, "map[string]string(nil)");
		rc = manifest_errorf(
		    m, labels ? labels : sel, err, -EINVAL,
		    "spec.template.metadata.labels: Invalid value: %s: `selector` does "
		    "not match template `labels`",
		    sb_str(&sb));
		sb_release(&sb);
		return rc;
	}
	return 0;
}

int wl_check_template(const struct manifest *m, json_t *obj, const char *const *extra_volumes,
		      struct cfs_err *err)
{
	json_t *tmpl = jget(obj, "spec.template");
	json_t *spec = jget(tmpl, "spec");
	int rc;
	if ((rc = manifest_check_type(m, obj, "spec.template", JSON_OBJECT, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.template.spec", JSON_OBJECT, err)) < 0)
		return rc;
	if (!json_is_object(tmpl) || !json_is_object(spec))
		return manifest_errorf(m, tmpl ? tmpl : obj, err, -EINVAL,
				       "spec.template.spec.containers: Required value");
	podspec_default(spec);
	rc = podspec_validate(m, spec, "spec.template.spec", extra_volumes, err);
	if (rc < 0)
		return rc;
	const char *rp = jstr(spec, "restartPolicy");
	if (rp && strcmp(rp, "Always") != 0)
		return manifest_errorf(
		    m, json_object_get(spec, "restartPolicy"), err, -EINVAL,
		    "spec.template.spec.restartPolicy: Unsupported value: \"%s\": "
		    "supported values: \"Always\"",
		    MQUOTE(rp));
	return 0;
}
