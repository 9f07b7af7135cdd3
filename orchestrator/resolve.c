/* resolve.c: image references and test records for a rollout (see resolve.h). */
#include "orchestrator/resolve.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"

/* The distribution grammar, simplified: an optional registry (has a '.' or a
 * ':', or is localhost), then lower-case path components separated by '/'. */
static bool name_valid(const char *s, size_t n)
{
	size_t i = 0, comp = 0;
	if (n == 0 || n > 255)
		return false;
	const char *slash = memchr(s, '/', n);
	if (slash) {
		size_t dl = (size_t)(slash - s);
		bool domain = memchr(s, '.', dl) || memchr(s, ':', dl) || (dl == 9 && !memcmp(s, "localhost", 9));
		if (domain) {
			for (; i < dl; i++)
				if (!isalnum((unsigned char)s[i]) && !strchr(".-:[]", s[i]))
					return false;
			i = dl + 1;
		}
	}
	for (; i < n; i++) {
		char c = s[i];
		if (c == '/') {
			if (comp == 0)
				return false;
			comp = 0;
			continue;
		}
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			comp++;
		else if (strchr("._-", c) && comp > 0 && i + 1 < n && s[i + 1] != '/')
			comp++;
		else
			return false;
	}
	return comp > 0;
}

int orch_resolve_image(const char *ref, struct orch_resolved *out, struct err *e)
{
	*out = (struct orch_resolved){0};
	for (const char *p = ref; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return err_set(e, "image \"%.80s\": blanks and control characters are not allowed", ref);
	const char *at = strchr(ref, '@');
	size_t name_end = at ? (size_t)(at - ref) : strlen(ref);
	/* a tag is a ':' after the last '/' */
	const char *last_slash = memrchr(ref, '/', name_end);
	const char *colon = memchr(last_slash ? last_slash : ref, ':', name_end - (size_t)((last_slash ? last_slash : ref) - ref));
	size_t repo_end = colon ? (size_t)(colon - ref) : name_end;
	if (!name_valid(ref, repo_end))
		return err_set(e, "image \"%.80s\": not a valid repository name", ref);
	if (!at)
		return err_set(e, "image \"%.80s\": resolving a tag to a digest needs the registry client, which is not "
				  "wired in yet; give the image pinned by digest (repo@sha256:...)", ref);
	if (img_digest_parse(at + 1, &out->digest, e) < 0)
		return err_ctx(e, "image \"%.80s\"", ref);
	/* a tag next to the digest says nothing more: drop it, the digest is what runs */
	size_t n = repo_end + 1 + strlen(out->digest.s);
	if (!(out->pinned = malloc(n + 1)))
		return err_errno(e, ENOMEM, "image");
	memcpy(out->pinned, ref, repo_end);
	out->pinned[repo_end] = '@';
	memcpy(out->pinned + repo_end + 1, out->digest.s, strlen(out->digest.s) + 1);
	return 0;
}

void orch_resolved_free(struct orch_resolved *r)
{
	free(r->pinned);
	free(r->records);
	*r = (struct orch_resolved){0};
}

int orch_records_check(const struct orch_resolved *r, char *const *platforms, size_t n, struct err *e)
{
	if (!r->records_known)
		return err_set(e, "image %s: its test records cannot be looked up yet (the registry client is not "
				  "wired in); pass --allow-untested to roll out without them", r->pinned);
	for (size_t i = 0; i < n; i++) {
		bool ok = false;
		for (size_t k = 0; k < r->n_records && !ok; k++)
			ok = r->records[k].passed && !strcmp(r->records[k].platform, platforms[i]);
		if (!ok)
			return err_set(e, "image %s has no passing test record for %s (hosts of the fleet run it); "
					  "run 'ramp test' on that platform, or pass --allow-untested",
				       r->pinned, platforms[i]);
	}
	return 0;
}
