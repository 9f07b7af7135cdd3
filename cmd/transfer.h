/* transfer.h: what `ramp push`, `ramp pull` and `ramp login` share: the
 * registry options and the progress output (bars on a terminal, plain lines
 * otherwise, JSON events on stdout with --json). */
#ifndef RAMP_CMD_TRANSFER_H
#define RAMP_CMD_TRANSFER_H

#include <getopt.h>
#include <stdbool.h>

#include "image/limits.h"
#include "image/registry.h"

#define CMD_REG_MAX_INSECURE 32

enum {
	OPT_CREDS = 0x1000,
	OPT_CACERT,
	OPT_TLS_VERIFY,
	OPT_INSECURE,
	OPT_TIMEOUT,
	OPT_RETRIES,
	OPT_JOBS,
	OPT_JSON,
	OPT_LIMIT,
	OPT_REG_LAST,
};

/* getopt_long entries for the shared options: those of every registry
 * connection, then those of blob transfers (not for ramp login) */
#define CMD_REG_CONN_LONGOPTS                                                                                         \
	{"creds", required_argument, NULL, OPT_CREDS}, {"cacert", required_argument, NULL, OPT_CACERT},               \
		{"tls-verify", required_argument, NULL, OPT_TLS_VERIFY},                                              \
		{"insecure-registry", required_argument, NULL, OPT_INSECURE},                                         \
		{"timeout", required_argument, NULL, OPT_TIMEOUT}, {"retries", required_argument, NULL, OPT_RETRIES}
#define CMD_REG_LONGOPTS                                                                                              \
	CMD_REG_CONN_LONGOPTS, {"jobs", required_argument, NULL, OPT_JOBS}, {"json", no_argument, NULL, OPT_JSON}

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
#define CMD_LIMIT_LONGOPT {"limit", required_argument, NULL, OPT_LIMIT}
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
/* Handle a shared option; returns 0 when handled, EXIT_USAGE on a bad value. */
int cmd_reg_option(struct cmd_reg *c, const char *verb, int opt, const char *arg);

/* Progress output; pass cmd_progress and the struct to the library. */
struct cmd_progress;
struct cmd_progress *cmd_progress_new(bool json);
void cmd_progress_event(void *ctx, const struct img_xfer_event *ev);
/* Final line/event; digest NULL on failure. */
void cmd_progress_done(struct cmd_progress *p, const char *digest);
void cmd_progress_free(struct cmd_progress *p);

#endif
