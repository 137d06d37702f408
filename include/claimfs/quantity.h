/* quantity.h - Kubernetes resource.Quantity: parse, compare, add, print canonically.
 *
 * The grammar is apimachinery's: <signed number><suffix>, binary suffixes Ki..Ei,
 * decimal n u m "" k M G T P E, exponents e/E. Values are kept exactly as a signed
 * 128-bit count of nano-units; magnitudes beyond 2^63-1 units are refused (-ERANGE).
 * Values below nano resolution round up (".000000000001Ki" is 2n), as upstream.
 * Canonical output follows upstream: the largest suffix without fractional digits in the
 * parsed format family; BinarySI that cannot be shown exactly (or is < 1024) falls back to
 * DecimalSI ("1.5Gi" prints "1536Mi", "1.5" prints "1500m").
 * Pure functions, no state, no locking. */
#ifndef CLAIMFS_QUANTITY_H
#define CLAIMFS_QUANTITY_H

#include <stdint.h>
#include <stddef.h>
#include "claimfs/error.h"

enum qty_format {
	QTY_DECIMAL_SI,	      /* k M G ... and milli */
	QTY_BINARY_SI,	      /* Ki Mi Gi ... */
	QTY_DECIMAL_EXPONENT, /* 1e3 */
};

struct quantity {
	__int128 nanos;	     /* value in units of 10^-9 */
	enum qty_format fmt; /* the family it was written in, used for printing */
};

#define QTY_STR_MAX 64

/* Parses s. Returns 0, -EINVAL with upstream's message ("quantities must match the
 * regular expression ...", "unable to parse numeric part of quantity", "unable to parse
 * quantity's suffix") or -ERANGE ("quantity is too large"). */
int quantity_parse(const char *s, struct quantity *out, struct cfs_err *err);
/* Writes the canonical string into buf (QTY_STR_MAX bytes is always enough). */
void quantity_format(const struct quantity *q, char *buf, size_t len);
/* Convenience: parse and print canonically in one step. */
int quantity_canonical(const char *s, char *buf, size_t len, struct cfs_err *err);
int quantity_cmp(const struct quantity *a, const struct quantity *b);
/* Exact sums; -ERANGE when the result leaves +-(2^63-1) units. fmt is a's, or b's when a
 * is zero (as upstream: summing from zero keeps 1Gi binary). */
int quantity_add(const struct quantity *a, const struct quantity *b, struct quantity *out);
int quantity_sub(const struct quantity *a, const struct quantity *b, struct quantity *out);
/* Whole units, rounded up (bytes for storage). Fits: magnitudes are capped at 2^63-1. */
int64_t quantity_value(const struct quantity *q);
struct quantity quantity_from_int(int64_t units, enum qty_format fmt);
/* Prometheus float text of the whole-unit value: 1Gi -> "1.073741824e+09". */
void quantity_prom_float(const struct quantity *q, char *buf, size_t len);

#endif
