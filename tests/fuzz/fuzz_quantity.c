/* fuzz_quantity.c - libFuzzer target for resource.Quantity (quantity.h).
 *
 * The input (up to 128 bytes) is the text to parse. Invariants (a violation aborts):
 *   - quantity_parse returns 0, -EINVAL or -ERANGE, with a reason when it refuses;
 *   - a parsed quantity prints canonically (format) in fewer than QTY_STR_MAX bytes, and
 *     parse(format(q)) == q (the value); the text is stable after one more round (not
 *     at once: like upstream, 62.5Ki prints "64000", which reads back as DecimalSI and
 *     then prints "64k");
 *   - quantity_canonical agrees with parse + format;
 *   - the value is within +-(2^63-1) units; comparisons are antisymmetric;
 *   - exact sums: (q + q) - q == q unless -ERANGE, and q - q == 0;
 *   - the Prometheus float text is not empty. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *text)
{
	fprintf(stderr, "fuzz_quantity: %s: \"%s\"\n", what, text);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[129], buf[QTY_STR_MAX], again_buf[QTY_STR_MAX], canon[QTY_STR_MAX];
	struct quantity q, again, sum, diff, zero = quantity_from_int(0, QTY_DECIMAL_SI);
	struct cfs_err err = {{0}};

	if (size > 128)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (memchr(in, '\0', size))
		return 0; /* C strings: the parser never sees a NUL */

	int rc = quantity_parse(in, &q, &err);
	if (rc != 0) {
		if (rc != -EINVAL && rc != -ERANGE)
			fail("unexpected errno", in);
		if (!err.msg[0])
			fail("refused without a reason", in);
		if (quantity_canonical(in, canon, sizeof(canon), &err) != rc)
			fail("quantity_canonical disagrees with quantity_parse", in);
		return 0;
	}
	memset(buf, 0x55, sizeof(buf));
	quantity_format(&q, buf, sizeof(buf));
	if (!memchr(buf, '\0', sizeof(buf)) || !buf[0])
		fail("format is not a non-empty string", in);
	if (quantity_parse(buf, &again, &err) != 0)
		fail("the canonical text does not parse", buf);
	if (quantity_cmp(&q, &again) != 0)
		fail("parse(format(q)) != q", in);
	quantity_format(&again, again_buf, sizeof(again_buf));
	struct quantity third;
	char third_buf[QTY_STR_MAX];
	if (quantity_parse(again_buf, &third, &err) != 0 || quantity_cmp(&third, &q) != 0)
		fail("the canonical text of the canonical text changes the value", in);
	quantity_format(&third, third_buf, sizeof(third_buf));
	if (strcmp(again_buf, third_buf) != 0)
		fail("the canonical text is not stable after one round", in);
	if (quantity_canonical(in, canon, sizeof(canon), &err) != 0 || strcmp(canon, buf) != 0)
		fail("quantity_canonical disagrees with format", in);

	const __int128 max = (__int128)INT64_MAX * 1000000000;
	if (q.nanos > max || q.nanos < -max)
		fail("value beyond 2^63-1 units", in);
	int64_t units = quantity_value(&q);
	if ((q.nanos > 0 && units <= 0) || (q.nanos < 0 && units > 0) || (q.nanos == 0 && units))
		fail("quantity_value has the wrong sign", in);
	if (quantity_cmp(&q, &zero) != -quantity_cmp(&zero, &q))
		fail("quantity_cmp is not antisymmetric", in);

	if (quantity_add(&q, &q, &sum) == 0) {
		if (quantity_sub(&sum, &q, &diff) != 0 || quantity_cmp(&diff, &q) != 0)
			fail("(q + q) - q != q", in);
	}
	if (quantity_sub(&q, &q, &diff) != 0 || diff.nanos != 0)
		fail("q - q != 0", in);

	quantity_prom_float(&q, canon, sizeof(canon));
	if (!canon[0])
		fail("empty Prometheus float", in);
	return 0;
}
