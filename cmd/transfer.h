/* transfer.h: what `ramp push`, `ramp pull` and `ramp login` share: the
 * registry options and the progress output (bars on a terminal, plain lines
 * otherwise, JSON events on stdout with --json). */
#ifndef RAMP_CMD_TRANSFER_H
#define RAMP_CMD_TRANSFER_H

#include <stdbool.h>

#include "cmd/opts.h"
#include "image/limits.h"
#include "image/registry.h"

#define CMD_REG_MAX_INSECURE 32

/* The shared options as entries of a command's table (cmd/opts.h), c a
 * struct cmd_reg *: those of every registry connection, then those of blob
 * transfers (not for ramp login; CMD_REG_NET_OPTS: those but --creds) */
#define CMD_REG_CONN_OPTS(c) CMD_FN("creds", c, cmd_reg_creds), CMD_REG_NET_OPTS(c)
#define CMD_REG_NET_OPTS(c)                                                                                           \
	CMD_FN("cacert", c, cmd_reg_cacert), CMD_CHOICE("tls-verify", &(c)->o.tls_verify, "false", "true"),          \
		CMD_FN("insecure-registry", c, cmd_reg_insecure), CMD_UINT("timeout", &(c)->o.timeout_s, 1, 3600),    \
		CMD_UINT("retries", &(c)->o.retries, 0, 100)
#define CMD_REG_OPTS(c) CMD_REG_CONN_OPTS(c), CMD_UINT("jobs", &(c)->o.jobs, 1, 64), CMD_FLAG("json", &(c)->json)

#define CMD_REG_CONN_HELP                                                                                             \
	"  --creds USER:PASSWORD      credentials instead of the auth files\n"                                        \
	"  --cacert FILE              trust this CA bundle for the registry's TLS certificate\n"                      \
	"  --tls-verify=false         no TLS verification, plain HTTP allowed (every registry)\n"                     \
	"  --insecure-registry HOST[:PORT]  the same for one registry (repeatable)\n"                                  \
	"  --timeout SECONDS          connect timeout; a transfer stalled this long fails (30;\n"                     \
	"                             env RAMP_REGISTRY_TIMEOUT)\n"                                                   \
	"  --retries N                retries of a failed request, with backoff (4; env RAMP_REGISTRY_RETRIES)\n"
#define CMD_REG_HELP                                                                                                  \
	CMD_REG_CONN_HELP "  --jobs N                   parallel blob transfers (4)\n"                                  \
			  "  --json                     progress as JSON lines on stdout\n"

/* --limit, for the verbs that pull or unpack images (pull, run, test) */
#define CMD_LIMIT_OPT(c) CMD_FN("limit", c, cmd_reg_limit)
#define CMD_LIMIT_HELP                                                                                                \
	"  --limit KEY=VALUE          what one image may cost (repeatable; env RAMP_LIMITS=\"K=V,...\"):\n"          \
	"                             layers=256, blob_size=8G (declared, compressed), image_size=16G\n"             \
	"                             (unpacked), entries=500000, reserve=5%% (free space kept: N%% or SIZE)\n"

struct cmd_reg {
	struct img_registry_opts o;
	struct img_limits limits; /* defaults, then RAMP_LIMITS, then --limit */
	const char *insecure[CMD_REG_MAX_INSECURE + 1];
	size_t n_insecure;
	bool json;
};

void cmd_reg_init(struct cmd_reg *c);
/* Apply RAMP_LIMITS (before the options); EXIT_USAGE when it is bad. */
int cmd_reg_limits_env(struct cmd_reg *c, const char *verb);
/* The shared options that need more than a table entry (o->target is the struct cmd_reg) */
cmd_opt_fn cmd_reg_creds, cmd_reg_cacert, cmd_reg_insecure, cmd_reg_limit;

/* Progress output; pass cmd_progress and the struct to the library. */
struct cmd_progress;
struct cmd_progress *cmd_progress_new(bool json);
void cmd_progress_event(void *ctx, const struct img_xfer_event *ev);
/* Final line/event; digest NULL on failure. */
void cmd_progress_done(struct cmd_progress *p, const char *digest);
void cmd_progress_free(struct cmd_progress *p);

#endif
