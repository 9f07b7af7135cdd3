/* test_json.c: the strict JSON parser and the generator (lib/json). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "lib/json.h"

static struct json *parse(const char *s, struct err *e)
{
	return json_parse(s, strlen(s), e);
}

static void test_parse_values(void **state)
{
	(void)state;
	struct err e;
	struct json *j = parse("{\"a\":1,\"b\":[true,null,\"x\"],\"c\":-9007199254740993,\"d\":1.5}", &e);
	assert_non_null(j);
	assert_int_equal(json_get(j, "a")->i, 1);
	assert_int_equal(json_get(j, "b")->arr.n, 3);
	assert_true(json_get(j, "b")->arr.v[0]->b);
	assert_int_equal(json_get(j, "b")->arr.v[1]->type, JSON_NULL);
	assert_string_equal(json_get(j, "b")->arr.v[2]->str.s, "x");
	assert_true(json_get(j, "c")->i == -9007199254740993LL); /* exact beyond double precision */
	assert_int_equal(json_get(j, "d")->type, JSON_REAL);
	assert_null(json_get(j, "zz"));
	json_free(j);
}

static void test_hostile(void **state)
{
	(void)state;
	struct err e;
	static const char *bad[] = {
		"",          "{",          "{\"a\":1}x", "{\"a\":1,\"a\":2}", "[1,]",   "{'a':1}",
		"\"\xff\"",  "[1] [2]",    "/*c*/1",     "{\"a\\u0000b\":1}", "nul",    "{\"a\" 1}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct json *j = parse(bad[i], &e);
		if (j)
			fail_msg("accepted hostile input #%zu: %s", i, bad[i]);
		assert_true(strlen(e.msg) > 0);
	}
	/* duplicate keys are named, wherever they are: not only the first key repeated */
	static const struct {
		const char *doc, *key;
	} dup[] = {
		{"{\"k\":1,\"k\":2}", "k"},
		{"{\"a\":1,\"b\":2,\"c\":3,\"c\":4}", "c"},
		{"{\"a\":1,\"b\":2,\"c\":3,\"b\":4}", "b"},
		{"{\"a\":1,\"o\":{\"x\":1,\"y\":2,\"y\":3}}", "y"},
		{"[{\"a\":1},{\"a\":1,\"z\":[],\"z\":{}}]", "z"},
	};
	for (size_t i = 0; i < sizeof dup / sizeof *dup; i++) {
		char want[40];
		snprintf(want, sizeof want, "\"%s\" twice", dup[i].key);
		struct json *j = parse(dup[i].doc, &e);
		if (j || !strstr(e.msg, want))
			fail_msg("duplicate key #%zu (%s): %s", i, dup[i].doc, j ? "accepted" : e.msg);
	}
	/* the same key in two objects, and keys that are prefixes of one another, are no duplicates */
	static const char *fine[] = {
		"{\"a\":{\"k\":1},\"b\":{\"k\":2}}",
		"{\"ab\":1,\"a\":2,\"abc\":3}",
		"[{\"k\":1},{\"k\":2}]",
	};
	for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) {
		struct json *j = parse(fine[i], &e);
		if (!j)
			fail_msg("refused #%zu (%s): %s", i, fine[i], e.msg);
		json_free(j);
	}
}

/* DEPTH containers nested, arrays or objects, around a number: a valid document */
static char *nested(int depth, bool objects)
{
	char *d = malloc((size_t)depth * 6 + 2), *p = d;
	for (int i = 0; i < depth; i++)
		p += sprintf(p, "%s", objects ? "{\"k\":" : "[");
	*p++ = '7';
	for (int i = 0; i < depth; i++)
		*p++ = objects ? '}' : ']';
	*p = '\0';
	return d;
}

static void test_depth(void **state)
{
	(void)state;
	struct err e;
	/* the limit is 64 levels (docs/SECURITY.md), written out here rather than taken
	   from JSON_MAX_DEPTH, so that a change of the constant is noticed */
	for (int objects = 0; objects <= 1; objects++) {
		for (int depth = 62; depth <= 66; depth++) {
			char *doc = nested(depth, objects);
			struct json *j = json_parse(doc, strlen(doc), &e);
			if (depth <= 64 && !j)
				fail_msg("%d levels of %s refused: %s", depth, objects ? "objects" : "arrays", e.msg);
			if (depth > 64 && (j || !strstr(e.msg, "JSON nested deeper than 64 levels")))
				fail_msg("%d levels of %s: %s", depth, objects ? "objects" : "arrays", j ? "accepted" : e.msg);
			/* the innermost value is there */
			const struct json *v = j;
			for (int i = 0; v && i < depth; i++)
				v = objects ? json_get(v, "k") : v->type == JSON_ARRAY && v->arr.n == 1 ? v->arr.v[0] : NULL;
			if (j && (!v || v->type != JSON_INT || v->i != 7))
				fail_msg("%d levels: the innermost value is lost", depth);
			json_free(j);
			free(doc);
		}
	}
}

static void test_fields(void **state)
{
	(void)state;
	struct err e;
	struct json *j = parse("{\"s\":\"v\",\"n\":3,\"b\":false}", &e);
	const char *s = NULL;
	int64_t n = 0;
	bool b = true;
	assert_int_equal(json_field_str(j, "s", true, &s, &e), 0);
	assert_string_equal(s, "v");
	assert_int_equal(json_field_int(j, "n", true, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(json_field_bool(j, "b", true, &b, &e), 0);
	assert_false(b);
	assert_int_equal(json_field_int(j, "s", true, &n, &e), -1);
	assert_non_null(strstr(e.msg, "field \"s\": expected integer, got string"));
	assert_int_equal(json_field_str(j, "missing", true, &s, &e), -1);
	assert_int_equal(json_field_str(j, "missing", false, &s, &e), 0);
	static const char *const ok[] = {"s", "n", NULL};
	assert_int_equal(json_only_keys(j, ok, "request", &e), -1);
	assert_non_null(strstr(e.msg, "unknown field \"b\""));
	json_free(j);
}

static void test_generate_roundtrip(void **state)
{
	(void)state;
	struct err e;
	struct jgen *g = jgen_new(false);
	jgen_obj_open(g);
	jgen_kstr(g, "z", "a\"b\n");
	jgen_kint(g, "a", -5);
	jgen_key(g, "l");
	jgen_arr_open(g);
	jgen_bool(g, true);
	jgen_null(g);
	jgen_arr_close(g);
	jgen_obj_close(g);
	const char *buf;
	size_t len;
	assert_int_equal(jgen_result(g, &buf, &len, &e), 0);
	assert_string_equal(buf, "{\"z\":\"a\\\"b\\n\",\"a\":-5,\"l\":[true,null]}");
	struct json *j = json_parse(buf, len, &e);
	assert_non_null(j);
	struct jgen *g2 = jgen_new(false);
	jgen_value(g2, j);
	const char *buf2;
	size_t len2;
	assert_int_equal(jgen_result(g2, &buf2, &len2, &e), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, buf2, len);
	json_free(j);
	jgen_free(g);
	jgen_free(g2);
}

/* A string with "\u0000" keeps all its bytes: the generator writes str.len of
   them back (found by fuzz_settings: it read past a shorter copy). */
static void test_nul_in_string(void **state)
{
	(void)state;
	struct err e;
	const char doc[] = "[\"a\\u0000bc\"]";
	struct json *j = json_parse(doc, sizeof doc - 1, &e);
	assert_non_null(j);
	assert_int_equal(j->arr.v[0]->str.len, 4);
	assert_memory_equal(j->arr.v[0]->str.s, "a\0bc", 5);
	struct jgen *g = jgen_new(false);
	jgen_value(g, j);
	const char *buf;
	size_t len;
	assert_int_equal(jgen_result(g, &buf, &len, &e), 0);
	assert_string_equal(buf, doc);
	jgen_free(g);
	json_free(j);
}

static void test_generate_invalid_utf8(void **state)
{
	(void)state;
	struct err e;
	struct jgen *g = jgen_new(false);
	const char *buf;
	size_t len;
	jgen_str(g, "\xc3\x28");
	assert_int_equal(jgen_result(g, &buf, &len, &e), -1);
	assert_non_null(strstr(e.msg, "UTF-8"));
	jgen_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_values), cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_depth),        cmocka_unit_test(test_fields),
		cmocka_unit_test(test_generate_roundtrip), cmocka_unit_test(test_generate_invalid_utf8),
		cmocka_unit_test(test_nul_in_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
