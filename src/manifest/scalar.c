/* scalar.c - YAML 1.1 typing of plain scalars, the way Kubernetes' YAML reader (go-yaml
 * v2 behind sigs.k8s.io/yaml) types them, kept in one place so that the decoder and the
 * YAML emitter can never disagree about what a plain scalar means.
 *
 *   null   "", ~, null, Null, NULL
 *   bool   y Y yes Yes YES true True TRUE on On ON, n N no No NO false False FALSE off Off OFF
 *   int    [-+] then decimal, 0x hex, 0o or leading-0 octal, 0b binary; '_' ignored
 *   float  [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, '_' ignored; an integral
 *          value within int64 is an int (sigs.k8s.io/yaml goes through JSON, where 1e3
 *          is just 1000)
 *   .inf .nan and floats out of range: "special", kept as strings
 * Everything else, timestamps included, is a string. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/manifest.h"
#include "manifest_internal.h"

struct word {
	const char *s;
	enum mscalar type;
	int bv;
};

static const struct word words[] = {
    {"y", MSCALAR_BOOL, 1},	   {"Y", MSCALAR_BOOL, 1},	  {"yes", MSCALAR_BOOL, 1},
    {"Yes", MSCALAR_BOOL, 1},	   {"YES", MSCALAR_BOOL, 1},	  {"true", MSCALAR_BOOL, 1},
    {"True", MSCALAR_BOOL, 1},	   {"TRUE", MSCALAR_BOOL, 1},	  {"on", MSCALAR_BOOL, 1},
    {"On", MSCALAR_BOOL, 1},	   {"ON", MSCALAR_BOOL, 1},	  {"n", MSCALAR_BOOL, 0},
    {"N", MSCALAR_BOOL, 0},	   {"no", MSCALAR_BOOL, 0},	  {"No", MSCALAR_BOOL, 0},
    {"NO", MSCALAR_BOOL, 0},	   {"false", MSCALAR_BOOL, 0},	  {"False", MSCALAR_BOOL, 0},
    {"FALSE", MSCALAR_BOOL, 0},	   {"off", MSCALAR_BOOL, 0},	  {"Off", MSCALAR_BOOL, 0},
    {"OFF", MSCALAR_BOOL, 0},	   {"~", MSCALAR_NULL, 0},	  {"null", MSCALAR_NULL, 0},
    {"Null", MSCALAR_NULL, 0},	   {"NULL", MSCALAR_NULL, 0},	  {".nan", MSCALAR_SPECIAL, 0},
    {".NaN", MSCALAR_SPECIAL, 0},  {".NAN", MSCALAR_SPECIAL, 0},  {".inf", MSCALAR_SPECIAL, 0},
    {".Inf", MSCALAR_SPECIAL, 0},  {".INF", MSCALAR_SPECIAL, 0},  {"+.inf", MSCALAR_SPECIAL, 0},
    {"+.Inf", MSCALAR_SPECIAL, 0}, {"+.INF", MSCALAR_SPECIAL, 0}, {"-.inf", MSCALAR_SPECIAL, 0},
    {"-.Inf", MSCALAR_SPECIAL, 0}, {"-.INF", MSCALAR_SPECIAL, 0},
};

static int digit_value(char c, int base)
{
	int v;
	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return v < base ? v : -1;
}

/* Go's strconv.ParseInt(s, 0, 64): sign, base prefix, at least one digit, no overflow. */
static int parse_int(const char *s, size_t n, json_int_t *out)
{
	size_t i = 0;
	int neg = 0, base = 10;
	uint64_t v = 0, limit;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (i + 1 < n && s[i] == '0') {
		char p = s[i + 1];
		if (p == 'x' || p == 'X')
			base = 16, i += 2;
		else if (p == 'o' || p == 'O')
			base = 8, i += 2;
		else if (p == 'b' || p == 'B')
			base = 2, i += 2;
		else
			base = 8, i += 1; /* YAML 1.1 octal: 0644 is 420 (defaultMode) */
	}
	if (i >= n)
		return -1;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		int d = digit_value(s[i], base);
		if (d < 0)
			return -1;
		if (v > (limit - (uint64_t)d) / (uint64_t)base)
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)v;
	else
		*out = (json_int_t)v;
	return 0;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int float_syntax(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i < n && s[i] == '.') {
		i++;
		for (d = 0; i < n && is_digit(s[i]); i++, d++)
			;
		if (!d)
			return 0;
	} else {
		for (d = 0; i < n && is_digit(s[i]); i++, d++)
			;
		if (!d)
			return 0;
		if (i < n && s[i] == '.')
			for (i++; i < n && is_digit(s[i]); i++)
				;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = 0; i < n && is_digit(s[i]); i++, d++)
			;
		if (!d)
			return 0;
	}
	return i == n;
}

static enum mscalar number(const char *s, size_t len, json_int_t *iv, double *dv)
{
	char stack[64], *plain = len < sizeof(stack) ? stack : xmalloc(len + 1);
	size_t n = 0;
	enum mscalar t = MSCALAR_STR;
	json_int_t i;

	for (size_t k = 0; k < len; k++)
		if (s[k] != '_')
			plain[n++] = s[k];
	plain[n] = '\0';
	if (parse_int(plain, n, &i) == 0) {
		if (iv)
			*iv = i;
		t = MSCALAR_INT;
	} else if (float_syntax(plain, n)) {
		errno = 0;
		double d = strtod(plain, NULL);
		/* No libm here: the daemon does not link it. */
		if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)) {
			t = MSCALAR_SPECIAL;
		} else if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
			   (double)(json_int_t)d == d) {
			if (iv)
				*iv = (json_int_t)d;
			t = MSCALAR_INT;
		} else {
			if (dv)
				*dv = d;
			t = MSCALAR_FLOAT;
		}
	}
	if (plain != stack)
		free(plain);
	return t;
}

enum mscalar mscalar_resolve(const char *s, size_t len, int *bv, json_int_t *iv, double *dv)
{
	if (len == 0)
		return MSCALAR_NULL;
	if (len <= 6) {
		for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
			if (strlen(words[k].s) == len && memcmp(words[k].s, s, len) == 0) {
				if (bv)
					*bv = words[k].bv;
				return words[k].type;
			}
		}
	}
	/* go-yaml only tries numbers on a leading digit, sign or dot. */
	if (is_digit(s[0]) || s[0] == '+' || s[0] == '-' || s[0] == '.')
		return number(s, len, iv, dv);
	return MSCALAR_STR;
}

int mscalar_is_timestamp(const char *s, size_t len)
{
	size_t i = 0, d;

	for (d = 0; i < len && is_digit(s[i]); i++, d++)
		;
	if (d != 4 || i >= len || s[i] != '-')
		return 0;
	for (int part = 0; part < 2; part++) {
		i++;
		for (d = 0; i < len && is_digit(s[i]); i++, d++)
			;
		if (d < 1 || d > 2)
			return 0;
		if (part == 0 && (i >= len || s[i] != '-'))
			return 0;
	}
	/* A date alone, or a date and a time: both are timestamps to YAML 1.1. */
	return i == len || s[i] == 'T' || s[i] == 't' || s[i] == ' ';
}

void mscalar_format_real(double d, char *buf, size_t len)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (!strpbrk(buf, ".eEn")) {
		size_t n = strlen(buf);
		if (n + 3 <= len)
			memcpy(buf + n, ".0", 3);
	}
}
