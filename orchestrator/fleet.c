/* fleet.c: fleet file parsing, text and JSON (see fleet.h). */
#include "orchestrator/fleet.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/api.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"

bool orch_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static bool label_key_valid(const char *s)
{
	return orch_name_valid(s);
}

static bool label_value_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

void orch_host_free(struct orch_host *h)
{
	free(h->name);
	free(h->address);
	free(h->hostpart);
	free(h->unix_path);
	for (size_t i = 0; i < h->n_labels; i++) {
		free(h->labels[i].key);
		free(h->labels[i].value);
	}
	free(h->labels);
	*h = (struct orch_host){0};
}

void orch_fleet_free(struct orch_fleet *f)
{
	for (size_t i = 0; i < f->n; i++)
		orch_host_free(&f->hosts[i]);
	free(f->hosts);
	*f = (struct orch_fleet){0};
}

const char *orch_host_label(const struct orch_host *h, const char *key)
{
	for (size_t i = 0; i < h->n_labels; i++)
		if (!strcmp(h->labels[i].key, key))
			return h->labels[i].value;
	return NULL;
}

int orch_host_add_label(struct orch_host *h, const char *key, const char *value, struct err *e)
{
	if (!label_key_valid(key))
		return err_set(e, "label \"%.64s\": a key is 1 to 63 letters, digits, '_', '.' or '-'", key);
	if (!label_value_valid(value))
		return err_set(e, "label \"%s\": a value is 1 to 255 printable characters without blanks", key);
	if (orch_host_label(h, key))
		return err_set(e, "label \"%s\" given twice", key);
	if (h->n_labels >= ORCH_FLEET_MAX_LABELS)
		return err_set(e, "more than %d labels", ORCH_FLEET_MAX_LABELS);
	struct orch_label *nl = realloc(h->labels, (h->n_labels + 1) * sizeof *nl);
	if (!nl)
		return err_errno(e, ENOMEM, "label");
	h->labels = nl;
	char *k = strdup(key), *v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return err_errno(e, ENOMEM, "label");
	}
	h->labels[h->n_labels++] = (struct orch_label){k, v};
	return 0;
}

static bool hostname_valid(const char *s)
{
	size_t n = strlen(s), label = 0;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			return false;
		if (++label > 63)
			return false;
	}
	/* a last label starting with a digit ("1.2.3", "300.1.1.1", "10.0.0x1") is
	 * no name: URL parsers read it as an IPv4 number, another host than written */
	return label > 0 && !isdigit((unsigned char)s[n - label]);
}

int orch_host_set_address(struct orch_host *h, const char *addr, struct err *e)
{
	const char *p = addr;
	char host[256];
	size_t n;

	if (strlen(addr) > 512)
		return err_set(e, "address longer than 512 bytes");
	h->tls = -1;
	h->port = API_PORT_DEFAULT;
	if (!strncmp(p, "unix:", 5)) {
		if (p[5] != '/' || strlen(p + 5) > 107)
			return err_set(e, "address \"%.80s\": unix:PATH needs an absolute path of at most 107 bytes", addr);
		if (!(h->unix_path = strdup(p + 5)) || !(h->address = strdup(addr)))
			return err_errno(e, ENOMEM, "address");
		h->port = 0;
		return 0;
	}
	if (!strncmp(p, "http://", 7)) {
		h->tls = 0;
		p += 7;
	} else if (!strncmp(p, "https://", 8)) {
		h->tls = 1;
		p += 8;
	} else if (strstr(p, "://")) {
		return err_set(e, "address \"%.80s\": only http:// and https:// are known", addr);
	}
	/* "http://h:7300/" is fine; a longer path is not an agent address */
	char rest[300];
	size_t rl = strlen(p);
	if (rl >= sizeof rest)
		return err_set(e, "address \"%.80s\": too long", addr);
	memcpy(rest, p, rl + 1);
	if (rl && rest[rl - 1] == '/')
		rest[--rl] = '\0';
	if (strchr(rest, '/'))
		return err_set(e, "address \"%.80s\": a path is not allowed", addr);
	p = rest;
	const char *port = NULL;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (!close || (close[1] && close[1] != ':'))
			return err_set(e, "address \"%.80s\": expected [IPv6]:PORT", addr);
		n = (size_t)(close - p - 1);
		if (n >= sizeof host)
			return err_set(e, "address \"%.80s\": too long", addr);
		memcpy(host, p + 1, n);
		host[n] = '\0';
		struct in6_addr a6;
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return err_set(e, "address \"%.80s\": \"%s\" is not an IPv6 address", addr, host);
		/* one spelling per address, the one URL parsers print ([::0] is [::]), so
		 * duplicates are found and the URL names this very host part */
		inet_ntop(AF_INET6, &a6, host, sizeof host);
		if (close[1] == ':')
			port = close + 2;
	} else {
		const char *colon = strchr(p, ':');
		n = colon ? (size_t)(colon - p) : strlen(p);
		if (n >= sizeof host)
			return err_set(e, "address \"%.80s\": too long", addr);
		memcpy(host, p, n);
		host[n] = '\0';
		if (colon)
			port = colon + 1;
		struct in_addr a4;
		if (inet_pton(AF_INET, host, &a4) != 1 && !hostname_valid(host))
			return err_set(e, "address \"%.80s\": \"%s\" is neither an IPv4 address nor a host name", addr,
				       host);
	}
	if (port) {
		char *end;
		errno = 0;
		long v = strtol(port, &end, 10);
		if (!isdigit((unsigned char)*port) || strlen(port) > 5 || *end || v < 1 || v > 65535)
			return err_set(e, "address \"%.80s\": bad port (1 to 65535)", addr);
		h->port = (int)v;
	}
	for (char *c = host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (!(h->hostpart = strdup(host)) || !(h->address = strdup(addr)))
		return err_errno(e, ENOMEM, "address");
	return 0;
}

char *orch_host_base_url(const struct orch_host *h, bool tls_default)
{
	char *u;
	if (h->unix_path)
		return strdup("http://localhost");
	bool tls = h->tls < 0 ? tls_default : h->tls == 1;
	bool v6 = strchr(h->hostpart, ':') != NULL;
	if (asprintf(&u, "%s://%s%s%s:%d", tls ? "https" : "http", v6 ? "[" : "", h->hostpart, v6 ? "]" : "",
		     h->port) < 0)
		return NULL;
	return u;
}

int orch_host_copy(struct orch_host *dst, const struct orch_host *src, struct err *e)
{
	*dst = (struct orch_host){.port = src->port, .tls = src->tls};
	if (!(dst->name = strdup(src->name)) || !(dst->address = strdup(src->address)) ||
	    (src->hostpart && !(dst->hostpart = strdup(src->hostpart))) ||
	    (src->unix_path && !(dst->unix_path = strdup(src->unix_path))))
		goto nomem;
	for (size_t i = 0; i < src->n_labels; i++)
		if (orch_host_add_label(dst, src->labels[i].key, src->labels[i].value, e) < 0) {
			orch_host_free(dst);
			return -1;
		}
	return 0;
nomem:
	orch_host_free(dst);
	return err_errno(e, ENOMEM, "host");
}

/* The address as a comparable key: lower-case host and port, or the socket path. */
static char *address_key(const struct orch_host *h)
{
	char *k;
	if (h->unix_path)
		return strdup(h->unix_path);
	if (asprintf(&k, "%s:%d", h->hostpart, h->port) < 0)
		return NULL;
	return k;
}

struct dupkey {
	char *key;
	size_t idx;
};

static int cmp_dupkey(const void *a, const void *b)
{
	const struct dupkey *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Refuse duplicate names and addresses; `where` gives each host's line number
 * (or 0 for JSON, then the host's index is named). Sorting keeps this
 * O(n log n) for 100,000 hosts. */
static int check_duplicates(const struct orch_fleet *f, const size_t *where, const char *what, struct err *e)
{
	struct dupkey *k = calloc(f->n ? f->n : 1, sizeof *k);
	int rc = 0;
	if (!k)
		return err_errno(e, ENOMEM, "%s", what);
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		for (size_t i = 0; i < f->n; i++) {
			k[i].idx = i;
			k[i].key = pass == 0 ? strdup(f->hosts[i].name) : address_key(&f->hosts[i]);
			for (char *c = pass == 0 ? k[i].key : NULL; c && *c; c++)
				*c = (char)tolower((unsigned char)*c); /* host names, as DNS names, ignore case */
			if (!k[i].key) {
				for (size_t j = 0; j < i; j++)
					free(k[j].key);
				free(k);
				return err_errno(e, ENOMEM, "%s", what);
			}
		}
		qsort(k, f->n, sizeof *k, cmp_dupkey);
		size_t worst = SIZE_MAX, first = 0;
		for (size_t i = 1; i < f->n; i++)
			if (!strcmp(k[i].key, k[i - 1].key) && (worst == SIZE_MAX || k[i].idx < worst)) {
				worst = k[i].idx; /* report the earliest duplicate in file order */
				first = k[i - 1].idx;
			}
		if (worst != SIZE_MAX) {
			const struct orch_host *h = &f->hosts[worst], *o = &f->hosts[first];
			char at[64], oat[64];
			if (where) {
				snprintf(at, sizeof at, "line %zu", where[worst]);
				snprintf(oat, sizeof oat, "line %zu", where[first]);
			} else {
				snprintf(at, sizeof at, "host #%zu", worst + 1);
				snprintf(oat, sizeof oat, "host #%zu", first + 1);
			}
			if (pass == 0)
				rc = err_set(e, "%s: %s: host name \"%s\" is already used on %s", what, at, h->name, oat);
			else
				rc = err_set(e, "%s: %s: address %s of \"%s\" is already used by \"%s\" on %s", what, at,
					     h->address, h->name, o->name, oat);
		}
		for (size_t i = 0; i < f->n; i++)
			free(k[i].key);
	}
	free(k);
	return rc;
}

static struct orch_host *grow(struct orch_fleet *f, size_t *cap, struct err *e)
{
	if (f->n >= ORCH_FLEET_MAX_HOSTS) {
		err_set(e, "more than %d hosts", ORCH_FLEET_MAX_HOSTS);
		return NULL;
	}
	if (f->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct orch_host *nh = realloc(f->hosts, nc * sizeof *nh);
		if (!nh) {
			err_errno(e, ENOMEM, "fleet");
			return NULL;
		}
		f->hosts = nh;
		*cap = nc;
	}
	struct orch_host *h = &f->hosts[f->n++];
	*h = (struct orch_host){0};
	return h;
}

static int parse_line(struct orch_host *h, char *line, struct err *e)
{
	char *save = NULL, *tok;
	int field = 0;
	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save), field++) {
		if (tok[0] == '#')
			break; /* a trailing comment */
		if (field == 0) {
			if (!orch_name_valid(tok))
				return err_set(e, "host name \"%.64s\": 1 to 63 letters, digits, '_', '.' or '-', "
						  "starting with a letter or digit", tok);
			if (!(h->name = strdup(tok)))
				return err_errno(e, ENOMEM, "host");
		} else if (field == 1) {
			if (orch_host_set_address(h, tok, e) < 0)
				return -1;
		} else {
			char *eq = strchr(tok, '=');
			if (!eq)
				return err_set(e, "\"%.64s\": expected key=value", tok);
			*eq = '\0';
			if (orch_host_add_label(h, tok, eq + 1, e) < 0)
				return -1;
		}
	}
	if (field < 2)
		return err_set(e, "expected \"name address[:port] [key=value ...]\"");
	return 0;
}

static int parse_text(const char *buf, size_t len, const char *what, struct orch_fleet *f, struct err *e)
{
	size_t cap = 0, lineno = 0, wcap = 0;
	_cleanup_free_ size_t *where = NULL;
	const char *p = buf, *end = buf + len;
	char line[ORCH_FLEET_MAX_LINE + 1];

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		if (n && p[n - 1] == '\r')
			n--;
		if (n > ORCH_FLEET_MAX_LINE)
			return err_set(e, "%s: line %zu: longer than %d bytes", what, lineno, ORCH_FLEET_MAX_LINE);
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c == 0)
				return err_set(e, "%s: line %zu: NUL byte", what, lineno);
			if ((c < 0x20 && c != '\t') || c >= 0x7f)
				return err_set(e, "%s: line %zu: byte 0x%02x is not allowed (printable ASCII only)",
					       what, lineno, c);
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl ? nl + 1 : end;
		char *s = line + strspn(line, " \t");
		if (!*s || *s == '#')
			continue;
		struct orch_host *h = grow(f, &cap, e);
		if (!h)
			return err_ctx(e, "%s: line %zu", what, lineno);
		if (f->n > wcap) {
			wcap = cap;
			size_t *nw = realloc(where, wcap * sizeof *nw);
			if (!nw)
				return err_errno(e, ENOMEM, "%s", what);
			where = nw;
		}
		where[f->n - 1] = lineno;
		if (parse_line(h, s, e) < 0)
			return err_ctx(e, "%s: line %zu", what, lineno);
	}
	return check_duplicates(f, where, what, e);
}

static int parse_json_host(struct orch_host *h, const struct json *j, struct err *e)
{
	static const char *const keys[] = {"name", "address", "labels", NULL};
	const char *name = NULL, *addr = NULL;
	const struct json *labels;
	if (json_only_keys(j, keys, "host", e) < 0 || json_field_str(j, "name", true, &name, e) < 0 ||
	    json_field_str(j, "address", true, &addr, e) < 0 ||
	    json_field(j, "labels", JSON_OBJECT, false, &labels, e) < 0)
		return -1;
	if (!orch_name_valid(name))
		return err_set(e, "host name \"%.64s\": 1 to 63 letters, digits, '_', '.' or '-'", name);
	if (!(h->name = strdup(name)))
		return err_errno(e, ENOMEM, "host");
	if (orch_host_set_address(h, addr, e) < 0)
		return -1;
	for (size_t i = 0; labels && i < labels->obj.n; i++) {
		const struct json *v = labels->obj.v[i];
		if (v->type != JSON_STRING || strlen(v->str.s) != v->str.len)
			return err_set(e, "label \"%.64s\": expected a string", labels->obj.k[i]);
		if (orch_host_add_label(h, labels->obj.k[i], v->str.s, e) < 0)
			return -1;
	}
	return 0;
}

static int parse_json(const char *buf, size_t len, const char *what, struct orch_fleet *f, struct err *e)
{
	struct json *j = json_parse(buf, len, e);
	const struct json *arr = j;
	size_t cap = 0;
	int rc = -1;
	if (!j)
		return err_ctx(e, "%s", what);
	if (j->type == JSON_OBJECT) {
		static const char *const keys[] = {"hosts", NULL};
		if (json_only_keys(j, keys, what, e) < 0 || json_field(j, "hosts", JSON_ARRAY, true, &arr, e) < 0) {
			err_ctx(e, "%s", what);
			goto out;
		}
	} else if (j->type != JSON_ARRAY) {
		err_set(e, "%s: expected an array of hosts or {\"hosts\": [...]}", what);
		goto out;
	}
	for (size_t i = 0; i < arr->arr.n; i++) {
		struct orch_host *h = grow(f, &cap, e);
		if (!h || parse_json_host(h, arr->arr.v[i], e) < 0) {
			err_ctx(e, "%s: host #%zu", what, i + 1);
			goto out;
		}
	}
	rc = check_duplicates(f, NULL, what, e);
out:
	json_free(j);
	return rc;
}

int orch_fleet_parse(const char *buf, size_t len, const char *what, struct orch_fleet *f, struct err *e)
{
	size_t i = 0;
	*f = (struct orch_fleet){0};
	while (i < len && isspace((unsigned char)buf[i]))
		i++;
	int rc = (i < len && (buf[i] == '{' || buf[i] == '[')) ? parse_json(buf, len, what, f, e)
							       : parse_text(buf, len, what, f, e);
	if (rc == 0 && f->n == 0)
		rc = err_set(e, "%s: no hosts", what);
	if (rc < 0)
		orch_fleet_free(f);
	return rc;
}

int orch_fleet_load(const char *path, struct orch_fleet *f, struct err *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (fs_read_file(path, ORCH_FLEET_MAX_BYTES, &buf, &len, e) < 0)
		return err_ctx(e, "fleet");
	return orch_fleet_parse(buf, len, path, f, e);
}
