/* unit.h - the shared main() of the Check suites: each test file defines
 * `Suite *make_suite(void)` and includes this header once; and a monotonic clock for the
 * suites that time something. */
#ifndef CLAIMFS_UNIT_H
#define CLAIMFS_UNIT_H

#include <check.h>
#include <stdlib.h>
#include <time.h>

Suite *make_suite(void);

/* Seconds on the monotonic clock. */
static inline double unit_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	SRunner *sr = srunner_create(make_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
