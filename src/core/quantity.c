/* quantity.c - Kubernetes resource.Quantity (quantity.h): the scanner, exact nano-unit
 * arithmetic, the canonical printer and the Prometheus float printer.
 *
 * The scanner follows apimachinery's parseQuantityString step by step, so the same inputs
 * are accepted and the same one of its three errors is returned. The value is then
 * computed exactly instead of through inf.Dec: an unsigned 128-bit count of nano-units,
 * rounded up (away from zero) when digits fall below nano resolution. Every loop is
 * bounded by the input length and every index is checked against it: the parser is meant
 * to be fed arbitrary bytes. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "claimfs/quantity.h"

typedef unsigned __int128 u128;

#define NANO ((u128)1000000000u)
/* The largest magnitude kept: 2^63-1 whole units, in nano-units (about 2^93). */
#define MAX_NANOS ((u128)INT64_MAX * NANO)
/* Fraction digits kept exactly for a binary suffix; beyond them only "non-zero" matters.
 * Must be >= the largest binary exponent (60), see frac_times_pow2(). */
#define FRAC_DIGITS 61
/* Decimal exponents are clamped to this: any non-zero digit string moved this far is
 * either far above the cap or far below a nano, so the result is the same. */
#define EXP_CLAMP ((int64_t)1 << 40)

static const char err_format[] = "quantities must match the regular expression "
				 "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
static const char err_numeric[] = "unable to parse numeric part of quantity";
static const char err_suffix[] = "unable to parse quantity's suffix";

/* The pieces of "<sign><num>.<den><suffix>", as spans of the input. */
struct scanned {
	bool neg;
	bool has_digit; /* any digit at all before the suffix (leading zeros count) */
	const char *num;
	size_t num_len; /* integer digits after leading zeros */
	const char *den;
	size_t den_len; /* fraction digits */
	const char *suf;
	size_t suf_len;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* apimachinery's parseQuantityString. Returns 0 or -EINVAL (the regular-expression
 * message). A string that is only a sign and zeros ("-", "+00") is zero, as upstream. */
static int scan(const char *s, size_t end, struct scanned *out)
{
	size_t pos = 0, start;

	memset(out, 0, sizeof(*out));
	out->num = out->den = out->suf = s + end;
	if (pos < end && (s[pos] == '-' || s[pos] == '+')) {
		out->neg = s[pos] == '-';
		pos++;
	}
	for (start = pos; pos < end && s[pos] == '0'; pos++)
		;
	out->has_digit = pos > start;
	if (pos == end)
		return 0;
	for (start = pos; pos < end && is_digit(s[pos]); pos++)
		;
	out->num = s + start;
	out->num_len = pos - start;
	if (pos < end && s[pos] == '.') {
		for (start = ++pos; pos < end && is_digit(s[pos]); pos++)
			;
		out->den = s + start;
		out->den_len = pos - start;
	}
	out->has_digit |= out->num_len > 0 || out->den_len > 0;
	/* The suffix: letters of the set, then an optional sign, then digits, then the end.
	 * Which combinations mean something is decided by interpret(). */
	start = pos;
	while (pos < end && strchr("eEinumkKMGTP", s[pos]))
		pos++;
	if (pos < end && (s[pos] == '-' || s[pos] == '+'))
		pos++;
	while (pos < end && is_digit(s[pos]))
		pos++;
	if (pos != end)
		return -EINVAL;
	out->suf = s + start;
	out->suf_len = end - start;
	return 0;
}

/* Go's strconv.ParseInt(s, 10, 64): optional sign, at least one digit, within int64. */
static bool parse_int64(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0, limit;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (i == n)
		return false;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

struct suffix {
	const char *text;
	int base; /* 10 or 2 */
	int exp;
};

static const struct suffix decimal_suffixes[] = {
    {"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"", 10, 0},	{"k", 10, 3},
    {"M", 10, 6},  {"G", 10, 9},  {"T", 10, 12}, {"P", 10, 15}, {"E", 10, 18},
};
static const struct suffix binary_suffixes[] = {
    {"Ki", 2, 10}, {"Mi", 2, 20}, {"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50}, {"Ei", 2, 60},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct suffix *lookup(const struct suffix *t, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i].text) == len && memcmp(t[i].text, s, len) == 0)
			return &t[i];
	return NULL;
}

/* apimachinery's suffixHandler.interpret: the tables first, then e<int64>/E<int64>. */
static bool interpret(const char *s, size_t len, int *base, int64_t *exp, enum qty_format *fmt)
{
	const struct suffix *sx;

	if ((sx = lookup(decimal_suffixes, NELEM(decimal_suffixes), s, len))) {
		*fmt = QTY_DECIMAL_SI;
	} else if ((sx = lookup(binary_suffixes, NELEM(binary_suffixes), s, len))) {
		*fmt = QTY_BINARY_SI;
	} else if (len > 1 && (s[0] == 'e' || s[0] == 'E') && parse_int64(s + 1, len - 1, exp)) {
		*base = 10;
		*fmt = QTY_DECIMAL_EXPONENT;
		return true;
	} else {
		return false;
	}
	*base = sx->base;
	*exp = sx->exp;
	return true;
}

/* ceil(frac * 2^b) for frac = 0.d[0]d[1]...d[FRAC_DIGITS-1] (+ sticky, a non-zero tail),
 * by doubling the digit string b times. Exact because b <= FRAC_DIGITS: the kept fraction
 * times 2^b leaves a remainder j/10^P with 2^b | j, so j/10^P + tail*2^b < 1 and the
 * tail can only decide whether there is a remainder at all. */
static u128 frac_times_pow2(unsigned char *d, int b, bool sticky)
{
	u128 whole = 0;
	bool rest = sticky;

	for (int step = 0; step < b; step++) {
		unsigned carry = 0;
		for (int i = FRAC_DIGITS - 1; i >= 0; i--) {
			unsigned v = d[i] * 2u + carry;
			d[i] = (unsigned char)(v % 10);
			carry = v / 10;
		}
		whole = whole * 2 + carry;
	}
	for (int i = 0; i < FRAC_DIGITS && !rest; i++)
		rest = d[i] != 0;
	return whole + (rest ? 1 : 0);
}

/* The magnitude in nano-units, rounded up. -ERANGE beyond MAX_NANOS. O(input length). */
static int magnitude(const struct scanned *sc, int base, int64_t exp, u128 *out)
{
	unsigned char frac[FRAC_DIGITS] = {0};
	bool any_frac = false, sticky = false;
	u128 acc = 0;
	size_t total = sc->num_len + sc->den_len;

	if (base == 10 && exp > EXP_CLAMP)
		exp = EXP_CLAMP;
	if (base == 10 && exp < -EXP_CLAMP)
		exp = -EXP_CLAMP;
	/* Digits of num+den at index < int_digits are whole nano-units, the rest fraction. */
	int64_t int_digits = (int64_t)sc->num_len + 9 + (base == 10 ? exp : 0);

	for (size_t i = 0; i < total; i++) {
		char c = i < sc->num_len ? sc->num[i] : sc->den[i - sc->num_len];
		unsigned d = (unsigned)(c - '0');
		if ((int64_t)i < int_digits) {
			acc = acc * 10 + d;
			if (acc > MAX_NANOS)
				return -ERANGE;
		} else if ((int64_t)i - int_digits < FRAC_DIGITS) {
			frac[(int64_t)i - int_digits] = (unsigned char)d;
			any_frac |= d != 0;
		} else {
			sticky |= d != 0;
		}
	}
	/* Trailing zeros implied by the exponent: acc >= 1 overflows within 29 steps. */
	for (int64_t k = (int64_t)total; acc != 0 && k < int_digits; k++) {
		acc *= 10;
		if (acc > MAX_NANOS)
			return -ERANGE;
	}
	if (base == 2) {
		if (acc > (MAX_NANOS >> exp))
			return -ERANGE;
		acc <<= exp;
		if (any_frac || sticky)
			acc += frac_times_pow2(frac, (int)exp, sticky);
	} else if (any_frac || sticky) {
		acc += 1;
	}
	if (acc > MAX_NANOS)
		return -ERANGE;
	*out = acc;
	return 0;
}

int quantity_parse(const char *s, struct quantity *out, struct cfs_err *err)
{
	struct scanned sc;
	enum qty_format fmt = QTY_DECIMAL_SI;
	int base = 10;
	int64_t exp = 0;
	u128 mag;

	if (!s || !*s || scan(s, strlen(s), &sc) < 0)
		return cfs_errorf(err, -EINVAL, "%s", err_format);
	if (!interpret(sc.suf, sc.suf_len, &base, &exp, &fmt))
		return cfs_errorf(err, -EINVAL, "%s", err_suffix);
	/* Upstream's slow path (inf.Dec) fails on a number without digits ("Pi", ".e-10");
	 * its fast path takes the same string as zero ("Ki", "M", "."). */
	if (!sc.has_digit && ((base == 2 && exp >= 50) || (base == 10 && exp < -9)))
		return cfs_errorf(err, -EINVAL, "%s", err_numeric);
	if (magnitude(&sc, base, exp, &mag) < 0)
		return cfs_errorf(err, -ERANGE,
				  "quantity is too large: the magnitude must be no more than "
				  "2^63-1 (9223372036854775807)");
	/* A binary value between 0 and 1 is remembered as decimal, as upstream. */
	if (fmt == QTY_BINARY_SI && mag != 0 && mag < NANO)
		fmt = QTY_DECIMAL_SI;
	out->nanos = sc.neg ? -(__int128)mag : (__int128)mag;
	out->fmt = fmt;
	return 0;
}

/* Writes v in decimal at p; returns the number of characters (no NUL). */
static size_t put_u128(char *p, u128 v)
{
	char rev[40];
	size_t n = 0;

	do {
		rev[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = rev[n - 1 - i];
	return n;
}

static const char *decimal_suffix(int exp)
{
	for (size_t i = 0; i < NELEM(decimal_suffixes); i++)
		if (decimal_suffixes[i].exp == exp)
			return decimal_suffixes[i].text;
	return NULL;
}

static void copy_out(const char *tmp, size_t n, char *buf, size_t len)
{
	if (len == 0)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
}

static u128 magnitude_of(const struct quantity *q)
{
	return q->nanos < 0 ? (u128)0 - (u128)q->nanos : (u128)q->nanos;
}

/* CanonicalizeBytes: BinarySI when the value is a whole number of units >= 1024 (largest
 * power of 1024 taken out), otherwise a mantissa and an exponent that is a multiple of 3
 * with every factor of 10 moved into it. Multiplying back at most the factors removed
 * keeps the mantissa <= the magnitude, so nothing overflows. */
void quantity_format(const struct quantity *q, char *buf, size_t len)
{
	char tmp[QTY_STR_MAX + 64];
	size_t n = 0;
	u128 m = magnitude_of(q);
	enum qty_format fmt = q->fmt;

	if (m == 0) {
		copy_out("0", 1, buf, len);
		return;
	}
	if (q->nanos < 0)
		tmp[n++] = '-';
	if (fmt == QTY_BINARY_SI && (m < 1024 * NANO || m % NANO != 0))
		fmt = QTY_DECIMAL_SI;
	if (fmt == QTY_BINARY_SI) {
		static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
		u128 u = m / NANO;
		size_t e = 0;
		while (u % 1024 == 0 && e + 1 < NELEM(bin)) {
			u /= 1024;
			e++;
		}
		n += put_u128(tmp + n, u);
		memcpy(tmp + n, bin[e], strlen(bin[e]));
		n += strlen(bin[e]);
		copy_out(tmp, n, buf, len);
		return;
	}
	int exp = -9;
	while (m % 10 == 0) {
		m /= 10;
		exp++;
	}
	switch (exp % 3) {
	case 1:
	case -2:
		m *= 10;
		exp -= 1;
		break;
	case 2:
	case -1:
		m *= 100;
		exp -= 2;
		break;
	}
	n += put_u128(tmp + n, m);
	const char *sfx = fmt == QTY_DECIMAL_SI ? decimal_suffix(exp) : NULL;
	if (sfx) {
		memcpy(tmp + n, sfx, strlen(sfx));
		n += strlen(sfx);
	} else if (exp != 0) {
		/* DecimalExponent, or DecimalSI beyond "E" (only for hand-built values). */
		tmp[n++] = 'e';
		if (exp < 0) {
			tmp[n++] = '-';
			n += put_u128(tmp + n, (u128)-exp);
		} else {
			n += put_u128(tmp + n, (u128)exp);
		}
	}
	copy_out(tmp, n, buf, len);
}

int quantity_canonical(const char *s, char *buf, size_t len, struct cfs_err *err)
{
	struct quantity q;
	int rc = quantity_parse(s, &q, err);

	if (rc < 0)
		return rc;
	quantity_format(&q, buf, len);
	return 0;
}

int quantity_cmp(const struct quantity *a, const struct quantity *b)
{
	return (a->nanos > b->nanos) - (a->nanos < b->nanos);
}

/* Upstream's Add/Sub: a zero left side takes the right side's format, so that summing
 * from zero keeps "1Gi" binary. */
static int finish_sum(__int128 r, bool overflow, const struct quantity *a, const struct quantity *b,
		      struct quantity *out)
{
	if (overflow || r > (__int128)MAX_NANOS || r < -(__int128)MAX_NANOS)
		return -ERANGE;
	enum qty_format fmt = a->nanos == 0 ? b->fmt : a->fmt;
	out->nanos = r;
	out->fmt = fmt;
	return 0;
}

int quantity_add(const struct quantity *a, const struct quantity *b, struct quantity *out)
{
	__int128 r;
	bool ov = __builtin_add_overflow(a->nanos, b->nanos, &r);
	return finish_sum(r, ov, a, b, out);
}

int quantity_sub(const struct quantity *a, const struct quantity *b, struct quantity *out)
{
	__int128 r;
	bool ov = __builtin_sub_overflow(a->nanos, b->nanos, &r);
	return finish_sum(r, ov, a, b, out);
}

/* Upstream's Value(): whole units rounded away from zero. Hand-built structs beyond the
 * cap saturate instead of overflowing. */
int64_t quantity_value(const struct quantity *q)
{
	u128 m = magnitude_of(q);
	u128 units = m / NANO + (m % NANO != 0);

	if (q->nanos < 0)
		return units > (u128)INT64_MAX + 1 ? INT64_MIN : (int64_t)(0 - (uint64_t)units);
	return units > (u128)INT64_MAX ? INT64_MAX : (int64_t)units;
}

/* INT64_MIN units is one beyond the cap; it is kept as given (the struct holds it). */
struct quantity quantity_from_int(int64_t units, enum qty_format fmt)
{
	struct quantity q = {.nanos = (__int128)units * (__int128)NANO, .fmt = fmt};
	return q;
}

/* The shortest decimal that reads back as the double n (an integer, |n| <= 2^63), the
 * nearest one when two have the fewest digits, ties to even: the digits Go's
 * FormatFloat(v, 'g', -1, 64) chooses, found with exact integer arithmetic. Below 2^53
 * every integer is a double and its neighbours are 1 apart, so n itself is shortest. */
static uint64_t shortest_integer(uint64_t n)
{
	if (n < ((uint64_t)1 << 53))
		return n;
	int bits = 63 - __builtin_clzll(n);
	u128 ulp = (u128)1 << (bits - 52);
	bool pow2 = (n & (n - 1)) == 0;
	bool inclusive = ((n >> (bits - 52)) & 1) == 0; /* round-half-even lands on n */
	/* Twice the bounds of the interval that rounds to n, to stay in integers. */
	u128 lo2 = 2 * (u128)n - (pow2 ? ulp / 2 : ulp), hi2 = 2 * (u128)n + ulp;
	uint64_t p = 10000000000000000000u; /* 10^19 */

	for (; p > 1; p /= 10) {
		u128 c[2], best = 0;
		bool found = false;
		c[0] = (u128)(n - n % p);
		c[1] = c[0] + p;
		for (int i = 0; i < 2; i++) {
			u128 c2 = 2 * c[i];
			bool in = inclusive ? (c2 >= lo2 && c2 <= hi2) : (c2 > lo2 && c2 < hi2);
			if (!in)
				continue;
			if (!found) {
				best = c[i];
				found = true;
				continue;
			}
			u128 d_best = best > n ? best - n : n - best;
			u128 d_this = c[i] > n ? c[i] - n : n - c[i];
			if (d_this < d_best || (d_this == d_best && (c[i] / p) % 2 == 0))
				best = c[i];
		}
		if (found)
			return (uint64_t)best; /* 10^19 at most: fits */
	}
	return n;
}

void quantity_prom_float(const struct quantity *q, char *buf, size_t len)
{
	char tmp[64], digits[24];
	size_t n = 0, nd, dp;
	int64_t v = quantity_value(q);
	double d = (double)v;
	uint64_t mag, c;

	if (v == 0) {
		copy_out("0", 1, buf, len);
		return;
	}
	if (d < 0) {
		tmp[n++] = '-';
		d = -d;
	}
	mag = (uint64_t)d; /* exact: an integer-valued double <= 2^63 */
	c = shortest_integer(mag);
	dp = put_u128(digits, c);
	for (nd = dp; nd > 1 && digits[nd - 1] == '0'; nd--)
		;
	if (dp - 1 >= 6) {
		/* %e with the digits shown, exponent signed and at least two digits */
		tmp[n++] = digits[0];
		if (nd > 1) {
			tmp[n++] = '.';
			memcpy(tmp + n, digits + 1, nd - 1);
			n += nd - 1;
		}
		tmp[n++] = 'e';
		tmp[n++] = '+';
		if (dp - 1 < 10)
			tmp[n++] = '0';
		n += put_u128(tmp + n, dp - 1);
	} else {
		memcpy(tmp + n, digits, dp);
		n += dp;
	}
	copy_out(tmp, n, buf, len);
}
