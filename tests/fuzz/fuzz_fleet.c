/* fuzz_fleet.c: fleet files (orchestrator/fleet.h), text or JSON. What is
 * accepted has at least one host and no more than the limit, valid and
 * distinct names, an absolute socket path or a host part, a base URL that
 * names that host and port, bounded labels; a copy of a host has the same
 * URL. */
#include <strings.h>

#include "lib/cleanup.h"
#include "lib/http.h"
#include "orchestrator/fleet.h"
#include "tests/fuzz/fuzz.h"

static void check_host(const struct orch_host *h)
{
	struct orch_host copy;
	struct err e;
	FUZZ_CHECK(orch_name_valid(h->name), "host name \"%s\"", h->name);
	FUZZ_CHECK(h->n_labels <= ORCH_FLEET_MAX_LABELS, "%zu labels", h->n_labels);
	FUZZ_CHECK(h->unix_path ? h->unix_path[0] == '/' : h->hostpart && h->port > 0 && h->port < 65536,
		   "host \"%s\": no usable address", h->name);
	_cleanup_free_ char *url = orch_host_base_url(h, false), *tls = orch_host_base_url(h, true);
	FUZZ_CHECK(url && tls, "no URL for \"%s\"", h->name);
	if (!h->unix_path) {
		char *scheme, *host;
		unsigned port;
		FUZZ_CHECK(http_url_origin(url, &scheme, &host, &port) == 0, "URL %s does not parse", url);
		size_t n = strlen(host);
		bool v6 = host[0] == '[' && n > 2;
		FUZZ_CHECK(port == (unsigned)h->port && (v6 ? strlen(h->hostpart) == n - 2 &&
								   !strncasecmp(host + 1, h->hostpart, n - 2)
							 : !strcasecmp(host, h->hostpart)),
			   "URL %s is not %s port %d", url, h->hostpart, h->port);
		free(scheme);
		free(host);
	}
	FUZZ_CHECK(orch_host_copy(&copy, h, &e) == 0, "copy: %s", e.msg);
	_cleanup_free_ char *url2 = orch_host_base_url(&copy, false);
	FUZZ_CHECK(url2 && !strcmp(url, url2), "the copy of %s has URL %s", url, url2);
	orch_host_free(&copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct orch_fleet f;
	struct err e;
	fuzz_quiet();
	if (orch_fleet_parse((const char *)data, size, "fleet", &f, &e) < 0) {
		FUZZ_CHECK(e.msg[0], "refused without a message");
		return 0;
	}
	FUZZ_CHECK(f.n >= 1 && f.n <= ORCH_FLEET_MAX_HOSTS, "%zu hosts", f.n);
	for (size_t i = 0; i < f.n; i++) {
		check_host(&f.hosts[i]);
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(f.hosts[i].name, f.hosts[k].name), "host name \"%s\" twice", f.hosts[i].name);
	}
	orch_fleet_free(&f);
	return 0;
}
