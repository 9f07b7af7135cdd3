/* test_waves.c: wave planning (orchestrator/plan): geometric waves, explicit
 * steps with percentages, and spreading across a label's values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/plan.h"

/* n hosts "h1".."hN"; zones cycle through `zones` (a string of letters), or none */
static void fleet_of(struct orch_fleet *f, size_t n, const char *zones)
{
	struct err e;
	f->hosts = calloc(n, sizeof *f->hosts);
	f->n = n;
	for (size_t i = 0; i < n; i++) {
		char name[32], addr[32], z[2] = {0};
		snprintf(name, sizeof name, "h%zu", i + 1);
		snprintf(addr, sizeof addr, "10.%zu.%zu.%zu", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		f->hosts[i].name = strdup(name);
		assert_int_equal(orch_host_set_address(&f->hosts[i], addr, &e), 0);
		if (zones && *zones) {
			z[0] = zones[i % strlen(zones)];
			assert_int_equal(orch_host_add_label(&f->hosts[i], "zone", z, &e), 0);
		}
	}
}

/* The wave sizes as "1,2,4,1". */
static void sizes(const struct orch_plan *p, char *buf, size_t n)
{
	size_t l = 0;
	buf[0] = '\0';
	for (size_t w = 0; w < p->n_waves; w++)
		l += (size_t)snprintf(buf + l, n - l, "%s%zu", w ? "," : "", p->ends[w] - (w ? p->ends[w - 1] : 0));
}

static void check_plan(size_t hosts, const struct orch_plan_opts *o, const char *want)
{
	struct orch_fleet f = {0};
	struct orch_plan p;
	struct err e;
	char got[512];
	fleet_of(&f, hosts, NULL);
	assert_int_equal(orch_plan_make(&f, o, &p, &e), 0);
	sizes(&p, got, sizeof got);
	if (strcmp(got, want))
		fail_msg("%zu hosts: waves %s, expected %s", hosts, got, want);
	assert_int_equal(p.ends[p.n_waves - 1], hosts);
	orch_plan_free(&p);
	orch_fleet_free(&f);
}

static void test_geometric(void **state)
{
	(void)state;
	struct orch_plan_opts o = {0};
	check_plan(8, &o, "1,2,4,1");
	check_plan(1, &o, "1");
	check_plan(7, &o, "1,2,4");
	check_plan(2, &o, "1,1");
	o.first = 2;
	o.factor = 3;
	check_plan(30, &o, "2,6,18,4");
	o.first = 10;
	check_plan(5, &o, "5");
	o.first = 1;
	o.factor = 1.5;
	check_plan(10, &o, "1,2,3,4"); /* each wave at least one more than the last */
	/* the default plan has ceil(log2(N+1)) waves, for every N up to 2000 and 10,000 */
	struct orch_plan_opts d = {0};
	for (size_t n = 1; n <= 2000; n += (n < 300 ? 1 : 37)) {
		struct orch_fleet f = {0};
		struct orch_plan p;
		struct err e;
		fleet_of(&f, n, NULL);
		assert_int_equal(orch_plan_make(&f, &d, &p, &e), 0);
		size_t k = 0;
		while (((size_t)1 << k) - 1 < n)
			k++; /* ceil(log2(n + 1)) */
		assert_int_equal(p.n_waves, k);
		orch_plan_free(&p);
		orch_fleet_free(&f);
	}
	check_plan(10000, &d, "1,2,4,8,16,32,64,128,256,512,1024,2048,4096,1809");
}

static void steps_plan(size_t hosts, const char *steps, const char *want)
{
	struct orch_step *s;
	size_t n;
	struct err e;
	assert_int_equal(orch_steps_parse(steps, &s, &n, &e), 0);
	struct orch_plan_opts o = {.steps = s, .n_steps = n};
	check_plan(hosts, &o, want);
	free(s);
}

static void test_steps(void **state)
{
	(void)state;
	steps_plan(8, "1,2,10%,100%", "1,1,6");     /* 10% of 8 rounds up to 1: no wave of its own */
	steps_plan(100, "1,2,10%,100%", "1,1,8,90"); /* cumulative: 1, 2, 10, 100 */
	steps_plan(1000, "1,2,10%,100%", "1,1,98,900");
	steps_plan(8, "1,2", "1,1,6");              /* what the steps leave over is one last wave */
	steps_plan(8, "50%", "4,4");
	steps_plan(3, "1,5,10", "1,2");             /* counts beyond the fleet stop at it */
	steps_plan(8, "100%", "8");
	steps_plan(7, "33.3%,66.6%", "3,2,2");
	static const char *bad[] = {"", "0", "-1", "1,,2", "2,1", "10%,5%", "150%", "1.5", "a", "1;2", "1,2,",
				    "5%%", "0%", "1e3000", "nan", "1,1"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct orch_step *s = NULL;
		size_t n;
		struct err e;
		if (orch_steps_parse(bad[i], &s, &n, &e) == 0) {
			free(s);
			fail_msg("accepted steps \"%s\"", bad[i]);
		}
		assert_non_null(strstr(e.msg, "steps"));
	}
	char many[400] = "";
	for (int i = 1; i <= ORCH_MAX_STEPS + 1; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "%s%d", i > 1 ? "," : "", i);
	struct orch_step *s = NULL;
	size_t n;
	struct err e;
	assert_int_equal(orch_steps_parse(many, &s, &n, &e), -1);
	assert_non_null(strstr(e.msg, "more than 64"));
}

static void order_of(struct orch_fleet *f, const struct orch_plan *p, char *buf, size_t n)
{
	size_t l = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < p->n; i++) {
		const char *z = orch_host_label(&f->hosts[p->order[i]], "zone");
		l += (size_t)snprintf(buf + l, n - l, "%s%s", z ? z : "-", f->hosts[p->order[i]].name + 1);
	}
}

static void test_spread(void **state)
{
	(void)state;
	struct orch_fleet f = {0};
	struct orch_plan p;
	struct err e;
	char got[256];
	struct orch_plan_opts o = {.spread = "zone"};
	/* zones a a a b b c: interleaved in order of first appearance */
	fleet_of(&f, 6, "aaabbc");
	assert_int_equal(orch_plan_make(&f, &o, &p, &e), 0);
	order_of(&f, &p, got, sizeof got);
	assert_string_equal(got, "a1b4c6a2b5a3");
	/* wave 2 (two hosts) touches two zones other than wave 1's */
	assert_int_equal(p.ends[0], 1);
	assert_int_equal(p.ends[1], 3);
	orch_plan_free(&p);
	orch_fleet_free(&f);
	/* 8 hosts over zones a b (as the simulator labels them) */
	fleet_of(&f, 8, "ab");
	assert_int_equal(orch_plan_make(&f, &o, &p, &e), 0);
	order_of(&f, &p, got, sizeof got);
	assert_string_equal(got, "a1b2a3b4a5b6a7b8");
	orch_plan_free(&p);
	orch_fleet_free(&f);
	/* hosts without the label form a group of their own */
	fleet_of(&f, 4, NULL);
	assert_int_equal(orch_host_add_label(&f.hosts[2], "zone", "x", &e), 0);
	assert_int_equal(orch_plan_make(&f, &o, &p, &e), 0);
	order_of(&f, &p, got, sizeof got);
	assert_string_equal(got, "-1x3-2-4");
	orch_plan_free(&p);
	orch_fleet_free(&f);
	/* big and lopsided: one zone of 50,000 hosts and 50,000 zones of one
	 * (exhausted groups drop out, so this stays linear) */
	size_t n = 100000;
	f.hosts = calloc(n, sizeof *f.hosts);
	f.n = n;
	for (size_t i = 0; i < n; i++) {
		char name[32], addr[32], z[32];
		snprintf(name, sizeof name, "h%zu", i);
		snprintf(addr, sizeof addr, "10.%zu.%zu.%zu", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		snprintf(z, sizeof z, "%zu", i % 2 ? i : 0);
		f.hosts[i].name = strdup(name);
		orch_host_set_address(&f.hosts[i], addr, &e);
		orch_host_add_label(&f.hosts[i], "zone", z, &e);
	}
	assert_int_equal(orch_plan_make(&f, &o, &p, &e), 0);
	char *seen = calloc(n, 1);
	for (size_t i = 0; i < n; i++) {
		assert_true(p.order[i] < n);
		assert_false(seen[p.order[i]]);
		seen[p.order[i]] = 1;
	}
	/* the first two hosts come from different zones */
	assert_string_not_equal(orch_host_label(&f.hosts[p.order[0]], "zone"),
				orch_host_label(&f.hosts[p.order[1]], "zone"));
	free(seen);
	orch_plan_free(&p);
	orch_fleet_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_geometric),
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_spread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
