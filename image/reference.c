/* reference.c: parse image references (see reference.h). */
#include "image/reference.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"

#define NAME_MAX_LEN 255 /* the distribution spec's limit on registry/repo */
#define TAG_MAX_LEN 128

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | -+ */
static bool valid_component(const char *s, size_t n)
{
	size_t i = 0;
	if (!n || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	while (i < n) {
		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && !is_lower_alnum(s[j]))
			j++;
		size_t len = j - i;
		bool ok = (len == 1 && (s[i] == '.' || s[i] == '_' || s[i] == '-')) ||
			  (len == 2 && s[i] == '_' && s[i + 1] == '_');
		for (size_t k = i; !ok && k < j && s[k] == '-'; k++)
			ok = k + 1 == j;
		if (!ok)
			return false;
		i = j;
	}
	return true;
}

bool img_ref_valid_repo(const char *repo)
{
	const char *s = repo;
	if (!*s)
		return false;
	for (;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (!valid_component(s, n))
			return false;
		if (!slash)
			return true;
		s = slash + 1;
	}
}

/* domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool valid_hostname(const char *s, size_t n)
{
	size_t start = 0;
	if (!n || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!is_alnum(s[i]) && s[i] != '-')
				return false;
			continue;
		}
		size_t len = i - start;
		if (!len || len > 63 || s[start] == '-' || s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

bool img_ref_valid_registry(const char *reg)
{
	const char *port = NULL;
	size_t hlen;
	if (reg[0] == '[') {
		const char *close = strchr(reg, ']');
		char addr[64];
		struct in6_addr a6;
		if (!close || (size_t)(close - reg - 1) >= sizeof addr)
			return false;
		memcpy(addr, reg + 1, (size_t)(close - reg - 1));
		addr[close - reg - 1] = '\0';
		if (inet_pton(AF_INET6, addr, &a6) != 1)
			return false;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return false;
	} else {
		const char *colon = strchr(reg, ':');
		hlen = colon ? (size_t)(colon - reg) : strlen(reg);
		if (!valid_hostname(reg, hlen))
			return false;
		if (colon)
			port = colon + 1;
	}
	if (port) {
		unsigned long v = 0;
		if (!*port || strlen(port) > 5)
			return false;
		for (const char *p = port; *p; p++) {
			if (*p < '0' || *p > '9')
				return false;
			v = v * 10 + (unsigned long)(*p - '0');
		}
		if (v == 0 || v > 65535)
			return false;
	}
	return true;
}

static bool valid_tag(const char *t)
{
	size_t n = strlen(t);
	if (!n || n > TAG_MAX_LEN || !(is_alnum(t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

int img_ref_parse(const char *s, struct img_ref *r, struct err *e)
{
	*r = (struct img_ref){0};
	size_t len = strnlen(s, IMG_REF_MAX + 1);
	if (len > IMG_REF_MAX)
		return err_set(e, "image reference is longer than %d characters", IMG_REF_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return err_set(e, "invalid image reference \"%.100s\": unexpected character", s);
	_cleanup_free_ char *copy = strdup(s);
	if (!copy)
		return err_errno(e, ENOMEM, "reference");
	char *at = strchr(copy, '@');
	if (at) {
		*at = '\0';
		if (img_digest_parse(at + 1, &r->digest, e) < 0)
			return err_ctx(e, "image reference \"%.100s\"", s);
		r->has_digest = true;
	}
	/* the registry is the first component when it looks like a host */
	char *name = copy, *reg = NULL;
	char *slash = strchr(copy, '/');
	if (slash) {
		size_t n = (size_t)(slash - copy);
		if (memchr(copy, '.', n) || memchr(copy, ':', n) || (n == 9 && !memcmp(copy, "localhost", 9)) ||
		    copy[0] == '[') {
			*slash = '\0';
			reg = copy;
			name = slash + 1;
		}
	}
	/* a tag is after the last ':' of the path, never inside a registry port */
	char *colon = strrchr(name, ':');
	if (colon) {
		*colon = '\0';
		if (!valid_tag(colon + 1))
			return err_set(e, "invalid image reference \"%.100s\": bad tag \"%.130s\" (letters, digits, _ . -; "
					  "at most 128, not starting with . or -)",
				       s, colon + 1);
		if (!(r->tag = strdup(colon + 1)))
			return err_errno(e, ENOMEM, "reference");
	}
	if (reg && !img_ref_valid_registry(reg)) {
		img_ref_free(r);
		return err_set(e, "invalid image reference \"%.100s\": bad registry \"%.100s\"", s, reg);
	}
	if (!img_ref_valid_repo(name)) {
		img_ref_free(r);
		return err_set(e, "invalid image reference \"%.100s\": bad repository \"%.100s\" (lowercase letters, digits "
				  "and separators . _ __ - between them, components joined by /)",
			       s, name);
	}
	if (!reg || !strcmp(reg, "index.docker.io"))
		reg = IMG_DOCKER_HUB;
	bool hub = !strcmp(reg, IMG_DOCKER_HUB);
	r->registry = strdup(reg);
	if (hub && !strchr(name, '/')) {
		if (asprintf(&r->repo, "library/%s", name) < 0)
			r->repo = NULL;
	} else {
		r->repo = strdup(name);
	}
	if (!r->registry || !r->repo) {
		img_ref_free(r);
		return err_errno(e, ENOMEM, "reference");
	}
	if (strlen(r->registry) + 1 + strlen(r->repo) > NAME_MAX_LEN) {
		img_ref_free(r);
		return err_set(e, "invalid image reference \"%.100s\": the name is longer than %d characters", s,
			       NAME_MAX_LEN);
	}
	if (!r->tag && !r->has_digest && !(r->tag = strdup("latest"))) {
		img_ref_free(r);
		return err_errno(e, ENOMEM, "reference");
	}
	return 0;
}

void img_ref_free(struct img_ref *r)
{
	free(r->registry);
	free(r->repo);
	free(r->tag);
	*r = (struct img_ref){0};
}

char *img_ref_string(const struct img_ref *r)
{
	char *s;
	if (asprintf(&s, "%s/%s%s%s%s%s", r->registry, r->repo, r->tag ? ":" : "", r->tag ? r->tag : "",
		     r->has_digest ? "@" : "", r->has_digest ? r->digest.s : "") < 0)
		return NULL;
	return s;
}

const char *img_ref_object(const struct img_ref *r)
{
	return r->has_digest ? r->digest.s : r->tag;
}

const char *img_ref_api_host(const char *registry)
{
	return strcmp(registry, IMG_DOCKER_HUB) ? registry : "registry-1.docker.io";
}

int img_ref_pinned(const char *s, struct img_digest *d, struct err *e)
{
	struct img_ref r;
	if (img_ref_parse(s, &r, e) < 0)
		return -1;
	bool pinned = r.has_digest;
	*d = r.digest;
	img_ref_free(&r);
	if (!pinned)
		return err_set(e, "image \"%.200s\" is not pinned by digest (NAME@sha256:...)", s);
	return 0;
}
