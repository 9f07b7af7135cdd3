/* fuzz_html.c: rollout events read into the report's model
 * (orchestrator/html.h) and the page drawn from it. Whatever the events say
 * stays text: the page has no element, attribute or control character the
 * input put there, its one link (the CI job's) is to a web address, and
 * every host and wave of the rollout is on it. */
#include "orchestrator/html.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct orch_html m;
	struct err e;
	char *page = NULL;
	size_t len = 0;
	fuzz_quiet();
	if (orch_html_from_events((const char *)data, size, &m, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "refused without a message");
		return 0;
	}
	FILE *f = open_memstream(&page, &len);
	FUZZ_CHECK(f && orch_html_rollout(f, &m) == 0 && fclose(f) == 0, "the page was not drawn");
	/* every element is one the page is made of */
	static const char *const tags[] = {"!DOCTYPE", "html", "head", "meta", "title", "style", "body", "header",
					   "h1", "h2", "p", "span", "strong", "code", "dl", "dt", "dd", "table", "thead",
					   "tbody", "tr", "th", "td", "br", "section", "figure", "figcaption", "svg", "g",
					   "text", "rect", "path", "polyline", "a", NULL};
	for (const char *p = strchr(page, '<'); p; p = strchr(p + 1, '<')) {
		size_t n = strcspn(p + 1 + (p[1] == '/'), " >/\n");
		size_t k;
		for (k = 0; tags[k] && (strlen(tags[k]) != n || strncmp(tags[k], p + 1 + (p[1] == '/'), n)); k++)
			;
		FUZZ_CHECK(tags[k], "an element not of the page: %.20s", p);
	}
	for (const char *p = strstr(page, "href=\""); p; p = strstr(p + 1, "href=\""))
		FUZZ_CHECK(!strncmp(p + 6, "https://", 8) || !strncmp(p + 6, "http://", 7), "a link: %.40s", p);
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK((unsigned char)page[i] >= 0x20 || page[i] == '\n' || page[i] == '\t', "control character");
	char want[64];
	snprintf(want, sizeof want, "<tr id=\"wave-%zu\"", m.n_waves);
	FUZZ_CHECK(strstr(page, want), "wave %zu missing", m.n_waves);
	for (size_t w = 0; w < m.n_waves; w++)
		FUZZ_CHECK(m.waves[w].first + m.waves[w].n <= m.n_hosts && m.waves[w].verdict[0], "wave %zu", w);
	free(page);
	orch_html_free(&m);
	return 0;
}
