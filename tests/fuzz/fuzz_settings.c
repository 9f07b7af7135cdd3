/* fuzz_settings.c: the app settings file of `ramp build --config`
 * (image/settings.h). Settings it accepts are applied to an empty config;
 * the config they make must be one our own config parser accepts, since it
 * goes into the image, and applying them a second time changes nothing. */
#include "image/settings.h"
#include "lib/cleanup.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_settings s = {0};
	struct img_config c = {0}, back;
	struct err e;
	_cleanup_free_ char *out = NULL, *out2 = NULL;
	size_t len, len2;
	fuzz_quiet();
	img_platform_host(&c.platform);
	if (img_settings_parse_json(&s, (const char *)data, size, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "refused without a message");
		img_settings_free(&s);
		img_config_free(&c);
		return 0;
	}
	if (img_settings_apply(&s, &c, &e) == 0) {
		FUZZ_CHECK(img_config_json(&c, &out, &len, &e) == 0, "config not written: %s", e.msg);
		FUZZ_CHECK(img_config_parse(out, len, &back, &e) == 0, "settings make a config we refuse: %s\n%.*s", e.msg,
			   (int)len, out);
		img_config_free(&back);
		FUZZ_CHECK(img_settings_apply(&s, &c, &e) == 0, "applied once but not twice: %s", e.msg);
		FUZZ_CHECK(img_config_json(&c, &out2, &len2, &e) == 0, "config not written: %s", e.msg);
		FUZZ_CHECK(len == len2 && !memcmp(out, out2, len), "applied twice differs:\n%.*s\n%.*s", (int)len, out,
			   (int)len2, out2);
	} else {
		FUZZ_CHECK(e.msg[0], "apply refused without a message");
	}
	img_config_free(&c);
	img_settings_free(&s);
	return 0;
}
