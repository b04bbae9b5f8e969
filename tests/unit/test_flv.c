/* SPDX-License-Identifier: MIT */
/* flv's `?start=` as nginx reads it (ngx_http_arg + ngx_atoof). */
#include <criterion/criterion.h>
#include <string.h>

#include "emptygif.h"

static int64_t arg(const char *args)
{
	return flv_start_arg((struct lstr){args, strlen(args)});
}

Test(flv, start_offsets)
{
	cr_assert_eq(arg("start=100"), 100);
	cr_assert_eq(arg("START=7"), 7, "the name without case");
	cr_assert_eq(arg("x=1&start=1000"), 1000);
	cr_assert_eq(arg("start=100&start=200"), 100, "the first one");
	cr_assert_eq(arg("restart=5&start=9"), 9, "a name ending in start is another");
	cr_assert_eq(arg("start=9223372036854775807"), INT64_MAX);
}

Test(flv, no_usable_offset)
{
	const char *none[] = {"",	  "start",    "start=",	  "start=abc",
			      "start=-1", "start=+5", "start=1x", "start=99999999999999999999",
			      "starts=5", "x=start=5"};

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		cr_assert_eq(arg(none[i]), 0, "%s", none[i]);
}
