/* names.h - Kubernetes name validation (apimachinery util/validation).
 *
 * Each check returns 0 or -EINVAL with the upstream message (newer wording:
 * "a lowercase RFC 1123 subdomain must consist of ..."). Pure, no locking. A name that
 * passes the subdomain or label check (or a non-empty label value) is safe as one path
 * component: no '/', never "." or "..". Qualified names contain '/' by design. */
#ifndef CLAIMFS_NAMES_H
#define CLAIMFS_NAMES_H

#include <stddef.h>
#include "claimfs/error.h"

int name_check_subdomain(const char *s, struct cfs_err *err);	/* <= 253, dotted labels */
int name_check_label(const char *s, struct cfs_err *err);	/* <= 63, DNS-1123 label */
int name_check_label_value(const char *s, struct cfs_err *err); /* label values, may be "" */
/* Label and annotation keys: [prefix/]name, prefix a subdomain, name <= 63 of
 * [A-Za-z0-9_.-] starting and ending alphanumeric. */
int name_check_qualified(const char *s, struct cfs_err *err);
/* The length of name's manifest extension (".yaml", ".yml", ".json") when name is longer
 * than it, else 0: the names a file written into a kind directory may have. */
size_t name_manifest_ext(const char *name);

#endif
