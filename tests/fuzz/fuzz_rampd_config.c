/* fuzz_rampd_config.c: rampd's configuration file (runtime/rampd/config.h),
 * parsed as at start and again as at a reload (SIGHUP) over the config in
 * use. What is accepted keeps the promises of the header: absolute paths, a
 * token file whenever TCP listeners are set, TLS files together and only
 * with listeners, and every app's settings valid at load (so that looking
 * an app up later cannot fail). A refused reload keeps the old config. */
#include "lib/json.h"
#include "runtime/rampd/config.h"
#include "tests/fuzz/fuzz.h"

static void check(const struct rt_config *c)
{
	struct rt_app_config a;
	struct err e;
	FUZZ_CHECK(c->state_dir && c->state_dir[0] == '/' && c->socket && c->socket[0] == '/', "relative paths");
	FUZZ_CHECK(!c->listen.n || c->token_file, "TCP listeners without a token");
	FUZZ_CHECK(!c->tls_cert == !c->tls_key && (!c->tls_cert || c->listen.n), "TLS files apart or without TCP");
	FUZZ_CHECK(!c->trust_policy || c->trust_policy[0] == '/', "a relative trust policy path");
	FUZZ_CHECK(rt_config_app(c, "web", &a, &e) == 0, "app \"web\": %s", e.msg);
	rt_app_config_free(&a);
	const struct json *apps = json_get(c->root, "apps");
	for (size_t i = 0; apps && apps->type == JSON_OBJECT && i < apps->obj.n; i++) {
		FUZZ_CHECK(rt_config_app(c, apps->obj.k[i], &a, &e) == 0, "app \"%s\" accepted at load, then: %s",
			   apps->obj.k[i], e.msg);
		rt_app_config_free(&a);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rt_config c;
	struct err e;
	fuzz_quiet();
	FUZZ_CHECK(rt_config_init(&c, &e) == 0, "%s", e.msg);
	if (rt_config_parse(&c, (const char *)data, size, &e) == 0) {
		check(&c);
		/* a reload of the same file over it */
		FUZZ_CHECK(rt_config_parse(&c, (const char *)data, size, &e) == 0, "reload refused: %s", e.msg);
		check(&c);
	} else {
		FUZZ_CHECK(e.msg[0], "refused without a message");
		check(&c); /* the defaults, untouched */
	}
	rt_config_free(&c);
	return 0;
}
