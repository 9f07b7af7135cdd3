/* cmd.h: the verbs of `ramp`, one file each (or one per verb group), and the
 * exit codes they share. Only cmd/ calls exit(). */
#ifndef RAMP_CMD_H
#define RAMP_CMD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

int cmd_build(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_host(int argc, char **argv);
int cmd_rollout(int argc, char **argv);
int cmd_revert(int argc, char **argv);
int cmd_fleet(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_veto(int argc, char **argv);

/* Print "ramp VERB: message" for a usage error and return EXIT_USAGE. */
int cmd_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Log e's message and return EXIT_FAIL. */
int cmd_fail(const struct err *e);
/* A number from 0 to max (options are parsed by cmd/opts.h; this is for the environment). */
int cmd_parse_uint(const char *verb, const char *opt, const char *s, unsigned long long max,
		   unsigned long long *out);

/* Shared by the fleet verbs (cmd/rollout.c): signals that stop a rollout
 * cleanly, and a descriptor limit raised for big fleets. */
void cmd_orch_setup(void);
volatile sig_atomic_t *cmd_orch_stop(void);
/* The progress and summary printers of a fleet verb: JSON lines or words,
 * a live line on a terminal, details with -v. */
struct orch_report;
struct orch_ui;
void cmd_orch_report(bool json, struct orch_report *rep, struct orch_ui *ui);

#endif
