/* fuzz_user.c: an image's /etc/passwd and /etc/group, as the runtime reads
 * them to resolve the user an app runs as (runtime/container_user.h). The
 * input is three parts separated by a line "%%": the user spec, passwd and
 * group (a missing part is a missing file). What is resolved must be
 * consistent: the primary group first, no more groups than the limit, a
 * home directory that is a string. */
#include <stdbool.h>

#include "lib/cleanup.h"
#include "runtime/container_user.h"
#include "tests/fuzz/fuzz.h"

#define SEP "\n%%\n"

/* The next part of [*p, end), cut at SEP; NULL when there is none. */
static const char *part(const char **p, const char *end, size_t *len)
{
	const char *s = *p;
	if (!s)
		return NULL;
	const char *sep = memmem(s, (size_t)(end - s), SEP, strlen(SEP));
	*len = sep ? (size_t)(sep - s) : (size_t)(end - s);
	*p = sep ? sep + strlen(SEP) : NULL;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	size_t spec_len = 0, pw_len = 0, gr_len = 0;
	const char *spec = part(&p, end, &spec_len), *pw = part(&p, end, &pw_len), *gr = part(&p, end, &gr_len);
	_cleanup_free_ char *spec_s = fuzz_str((const uint8_t *)spec, spec_len);
	struct rt_ids *ids = malloc(sizeof *ids);
	struct err e;
	fuzz_quiet();
	if (!ids)
		abort();
	if (rt_user_lookup(spec_s, pw, pw_len, gr, gr_len, ids, &e) == 0) {
		FUZZ_CHECK(ids->n_groups >= 1 && ids->n_groups <= RT_USER_MAX_GROUPS, "%zu groups", ids->n_groups);
		FUZZ_CHECK(ids->groups[0] == ids->gid, "primary group %u is not first (%u)", ids->gid, ids->groups[0]);
		FUZZ_CHECK(memchr(ids->home, '\0', sizeof ids->home), "home is not a string");
	} else {
		FUZZ_CHECK(e.msg[0], "refused without a message");
	}
	free(ids);
	return 0;
}
