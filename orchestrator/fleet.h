/* fleet.h: the fleet file: which hosts run rampd, where, with which labels.
 *
 * Text form, one host a line:   name address[:port] [key=value ...]
 * (`#` starts a comment at the start of a line or after blanks), or JSON:
 * {"hosts": [{"name": ..., "address": ..., "labels": {...}}]} (or the bare
 * array). An address is host[:port] (IPv4, [IPv6] or a DNS name, port 7300 by
 * default), optionally with http:// or https://, or unix:/path/to/rampd.sock.
 * The label token_file=PATH names the host's bearer token file.
 *
 * A fleet file is untrusted input: lines, labels and the host count are
 * limited, and duplicate names or addresses are refused with line numbers. */
#ifndef RAMP_ORCH_FLEET_H
#define RAMP_ORCH_FLEET_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

#define ORCH_FLEET_MAX_HOSTS 100000
#define ORCH_FLEET_MAX_LINE 4096
#define ORCH_FLEET_MAX_BYTES (64u << 20)
#define ORCH_FLEET_MAX_LABELS 32
#define ORCH_LABEL_TOKEN_FILE "token_file"

struct orch_label {
	char *key, *value;
};

struct orch_host {
	char *name;
	char *address;   /* as written in the fleet file */
	char *hostpart;  /* "10.0.0.1", "::1", "web-3.example"; NULL for a unix socket */
	int port;
	int tls;         /* 1 https://, 0 http://, -1 not said (the caller's default) */
	char *unix_path; /* unix:PATH, or NULL */
	struct orch_label *labels;
	size_t n_labels;
};

struct orch_fleet {
	struct orch_host *hosts;
	size_t n;
};

/* Parse a fleet file's bytes; `what` names it in messages. */
int orch_fleet_parse(const char *buf, size_t len, const char *what, struct orch_fleet *f, struct err *e);
int orch_fleet_load(const char *path, struct orch_fleet *f, struct err *e);
void orch_fleet_free(struct orch_fleet *f);

/* Parse one address (the second field of a line) into h's address fields. */
int orch_host_set_address(struct orch_host *h, const char *addr, struct err *e);
/* Add a label, validating key and value (duplicates refused). */
int orch_host_add_label(struct orch_host *h, const char *key, const char *value, struct err *e);
const char *orch_host_label(const struct orch_host *h, const char *key);
/* Host names follow the same rule as app names, plus capitals. */
bool orch_name_valid(const char *s);

/* "http://10.0.0.1:7300", "https://[::1]:7300", or "http://localhost" for a
 * unix socket. tls_default applies when the address did not say. Caller frees. */
char *orch_host_base_url(const struct orch_host *h, bool tls_default);

/* Deep copy (for building a fleet in another order). */
int orch_host_copy(struct orch_host *dst, const struct orch_host *src, struct err *e);
void orch_host_free(struct orch_host *h);

#endif
