/* unit.h - the shared main() of the Check suites: each test file defines
 * `Suite *make_suite(void)` and includes this header once. */
#ifndef CLAIMFS_UNIT_H
#define CLAIMFS_UNIT_H

#include <check.h>
#include <stdlib.h>

Suite *make_suite(void);

int main(void)
{
	SRunner *sr = srunner_create(make_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
