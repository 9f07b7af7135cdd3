/* opts.h: a command's options as a table. Each entry names a long option
 * (and a short one, if any), the kind of its argument and where the value
 * goes; cmd_opts_parse() reads the arguments against the table (getopt_long
 * underneath, so --name VALUE, --name=VALUE, unambiguous prefixes and -o
 * VALUE all work), checks and stores each value, answers --help and -h, and
 * leaves the positional arguments. Errors are the same for every command:
 *   ramp rollout: --bake: "x" is not a duration (e.g. 30s, 5m)
 *   (see 'ramp rollout --help')
 * and exit status 2. */
#ifndef RAMP_CMD_OPTS_H
#define RAMP_CMD_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/strv.h"

enum cmd_opt_kind {
	CMD_OPT_FLAG,   /* bool: set */
	CMD_OPT_STR,    /* const char *: the argument itself (the last one given wins) */
	CMD_OPT_PATH,   /* char *: the argument made absolute (the working directory before a relative one), symbolic links kept
			  (allocated; the caller frees) */
	CMD_OPT_LIST,   /* struct strv: every argument appended (repeatable) */
	CMD_OPT_UINT,   /* an unsigned integer (of `size` bytes) from min to max */
	CMD_OPT_MS,     /* int64_t: a duration (30s, 500ms, 5m, 1h) in ms, from min to max */
	CMD_OPT_CHOICE, /* an integer (of `size` bytes): the argument's index in `choices` */
	CMD_OPT_FN,     /* anything else: fn checks and stores it */
};

struct cmd_opt;
/* Check and store arg; -1 with e set (its message follows "--NAME: "; with
 * errnum ENOMEM the command fails with exit status 1 instead). */
typedef int cmd_opt_fn(const struct cmd_opt *o, const char *arg, struct err *e);

struct cmd_opt {
	const char *name; /* without "--"; NULL: the entry is left out */
	char short_name;  /* 0: none */
	enum cmd_opt_kind kind;
	void *target;
	size_t size;                  /* UINT, CHOICE: sizeof the target */
	unsigned long long min, max;  /* UINT: the range; MS: the range in ms */
	const char *const *choices;   /* CHOICE: NULL-terminated */
	cmd_opt_fn *fn;               /* FN */
};

/* The entries, type-checked: p points at the target. */
#define CMD_FLAG(n, p) {.name = (n), .kind = CMD_OPT_FLAG, .target = (bool *){p}}
#define CMD_STR(n, p) {.name = (n), .kind = CMD_OPT_STR, .target = (const char **){p}}
#define CMD_PATH(n, p) {.name = (n), .kind = CMD_OPT_PATH, .target = (char **){p}}
#define CMD_LIST(n, p) {.name = (n), .kind = CMD_OPT_LIST, .target = (struct strv *){p}}
#define CMD_UINT(n, p, lo, hi) {.name = (n), .kind = CMD_OPT_UINT, .target = (p), .size = sizeof *(p), .min = (lo), .max = (hi)}
#define CMD_MS(n, p, lo, hi) {.name = (n), .kind = CMD_OPT_MS, .target = (int64_t *){p}, .min = (lo), .max = (hi)}
#define CMD_CHOICE(n, p, ...)                                                                                         \
	{.name = (n), .kind = CMD_OPT_CHOICE, .target = (p), .size = sizeof *(p),                                   \
	 .choices = (const char *const[]){__VA_ARGS__, NULL}}
#define CMD_FN(n, p, f) {.name = (n), .kind = CMD_OPT_FN, .target = (p), .fn = (f)}
/* a string option with a short name too: CMD_STR_S('o', "output", &out) */
#define CMD_STR_S(c, n, p) {.name = (n), .short_name = (c), .kind = CMD_OPT_STR, .target = (const char **){p}}

#define CMD_MS_WEEK (7LL * 24 * 3600 * 1000)

struct cmd_opts {
	const char *verb;       /* "rollout", "fleet status": messages start "ramp VERB: " */
	void (*usage)(FILE *f); /* --help, -h */
	bool in_order;          /* options end at the first positional argument */
	const struct cmd_opt *v;
	size_t n;
};

/* cmd_opts_parse() returns CMD_GO when the command goes on, with *first
 * the index of the first positional argument in argv (getopt_long moves them
 * behind the options); otherwise the exit status: EXIT_OK after --help,
 * EXIT_USAGE after a bad option or value (said on stderr), EXIT_FAIL when
 * memory ran out. */
#define CMD_GO (-1)
int cmd_opts_parse(const struct cmd_opts *o, int argc, char **argv, int *first);
/* A table (an array) as struct cmd_opts */
#define CMD_OPTS(verb, usage, in_order, table) (&(struct cmd_opts){verb, usage, in_order, table, ARRAY_SIZE(table)})

#endif
