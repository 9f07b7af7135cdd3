/* test_http_link.c: the Link header's rel="next" target (lib/http
 * http_link_next), which paged registry lists (referrers) use: valid forms
 * and hostile ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http.h"

#define BASE "http://reg.test:5000/v2/app/referrers/sha256:ab?artifactType=x"

/* http_link_next of a response from BASE with these Link headers (NULL-terminated). */
static char *next_of(const char *const *links)
{
	struct http_xfer x;
	struct err e;
	size_t n = 0;
	http_xfer_init(&x);
	assert_int_equal(http_xfer_url(&x, BASE, &e), 0);
	while (links[n])
		n++;
	x.resp_headers = calloc(n + 1, sizeof *x.resp_headers);
	assert_non_null(x.resp_headers);
	for (size_t i = 0; i < n; i++) {
		x.resp_headers[i].name = strdup(i % 2 ? "link" : "Link");
		x.resp_headers[i].value = strdup(links[i]);
	}
	x.n_resp_headers = n;
	char *r = http_link_next(&x);
	http_xfer_free(&x);
	return r;
}

static void expect(const char *link, const char *want)
{
	const char *links[] = {link, NULL};
	char *got = next_of(links);
	if (!want) {
		if (got)
			fail_msg("\"%s\": expected nothing, got \"%s\"", link, got);
		return;
	}
	if (!got)
		fail_msg("\"%s\": expected \"%s\", got nothing", link, want);
	assert_string_equal(got, want);
	free(got);
}

static void test_valid(void **state)
{
	(void)state;
	expect("</v2/app/referrers/sha256:ab?n=1&last=sha256:cd>; rel=\"next\"",
	       "http://reg.test:5000/v2/app/referrers/sha256:ab?n=1&last=sha256:cd");
	expect("<http://reg.test:5000/p2>;rel=next", "http://reg.test:5000/p2");
	expect("<p2>; rel=\"next\"", "http://reg.test:5000/v2/app/referrers/p2");
	expect("</first>; rel=\"first\", </p2>; rel=\"next\"", "http://reg.test:5000/p2");
	expect("</p2>; title=\"a, b; rel=next\"; rel=\"next\"", "http://reg.test:5000/p2");
	expect("</p2>; rel=\"prev next\"", "http://reg.test:5000/p2");
	expect("</p2> ; REL = NEXT", "http://reg.test:5000/p2");
	expect("</p2>; title=\"say \\\"hi\\\"\"; rel=next", "http://reg.test:5000/p2");
	/* the next link in a second header */
	const char *two[] = {"</prev>; rel=\"prev\"", "</p3>; rel=\"next\"", NULL};
	char *got = next_of(two);
	assert_non_null(got);
	assert_string_equal(got, "http://reg.test:5000/p3");
	free(got);
}

static void test_none(void **state)
{
	(void)state;
	const char *none[] = {NULL};
	assert_null(next_of(none));
	expect("", NULL);
	expect("</p2>", NULL);
	expect("</p2>; rel=\"prev\"", NULL);
	expect("</p2>; rel=\"nextpage\"", NULL);
	expect("</p2>; rel", NULL);
}

static void test_hostile(void **state)
{
	(void)state;
	expect("</p2; rel=\"next\"", NULL);      /* no closing > */
	expect("/p2; rel=\"next\"", NULL);       /* no < */
	expect("</p2>; rel=\"next", NULL);       /* unterminated quote */
	expect("</p2>; rel=\"next\\", NULL);     /* escape at the end */
	expect("</p2> junk; rel=next", NULL);    /* junk after the target */
	expect("</p2>; rel=\"prev\" x, </p3>; rel=next", NULL);
	expect(",,,,", NULL);
	expect(";;;;", NULL);
	expect("<>; rel=next", NULL);               /* empty target */
	expect("<http://[::1>; rel=next", NULL); /* not a URL */
	/* long and random headers: no crash, no overread (run under ASan) */
	char *big = malloc(1 << 20);
	assert_non_null(big);
	memset(big, ';', (1 << 20) - 1);
	big[0] = '<';
	big[1] = '>';
	big[(1 << 20) - 1] = '\0';
	expect(big, NULL);
	const char alphabet[] = "<>;=\", \t\\relnxtREL/:?a";
	uint64_t r = 42;
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)(r % 40);
		for (size_t k = 0; k < len; k++) {
			r ^= r << 13;
			r ^= r >> 7;
			r ^= r << 17;
			big[k] = alphabet[r % (sizeof alphabet - 1)];
		}
		big[len] = '\0';
		r = r * 6364136223846793005ull + 1;
		const char *one[] = {big, NULL};
		free(next_of(one));
	}
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
