/* opts.c: the table-driven option parser of every command (opts.h). */
#include "cmd/opts.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "image/settings.h"
#include "lib/cleanup.h"

/* Store v in an unsigned integer (or bool, or enum) of `size` bytes. */
static void store_uint(void *p, size_t size, unsigned long long v)
{
	switch (size) {
	case 1:
		*(uint8_t *)p = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)p = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)p = (uint32_t)v;
		break;
	default:
		*(uint64_t *)p = (uint64_t)v;
	}
}

/* 1500 → "1500ms", 60000 → "1m" */
static const char *fmt_ms(char *buf, size_t len, unsigned long long ms)
{
	static const struct {
		unsigned long long ms;
		const char *unit;
	} units[] = {{3600000, "h"}, {60000, "m"}, {1000, "s"}};
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (ms && ms % units[i].ms == 0) {
			snprintf(buf, len, "%llu%s", ms / units[i].ms, units[i].unit);
			return buf;
		}
	snprintf(buf, len, "%llums", ms);
	return buf;
}

static int parse_uint(const struct cmd_opt *o, const char *arg, struct err *e)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (!*arg || *arg == '-' || *end || errno || v < o->min || v > o->max)
		return err_set(e, "\"%s\" is not a whole number from %llu to %llu", arg, o->min, o->max);
	store_uint(o->target, o->size, v);
	return 0;
}

static int parse_ms(const struct cmd_opt *o, const char *arg, struct err *e)
{
	int64_t ns;
	char b[32];
	if (img_parse_duration(arg, &ns, e) < 0)
		return err_set(e, "\"%s\" is not a duration (e.g. 30s, 5m)", arg);
	unsigned long long ms = (unsigned long long)(ns / 1000000);
	if (ms < o->min)
		return err_set(e, "\"%s\": at least %s", arg, fmt_ms(b, sizeof b, o->min));
	if (ms > o->max)
		return err_set(e, "\"%s\": at most %s", arg, fmt_ms(b, sizeof b, o->max));
	*(int64_t *)o->target = (int64_t)ms;
	return 0;
}

static int parse_choice(const struct cmd_opt *o, const char *arg, struct err *e)
{
	char list[256] = "";
	for (size_t i = 0; o->choices[i]; i++) {
		if (!strcmp(arg, o->choices[i])) {
			store_uint(o->target, o->size, i);
			return 0;
		}
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", o->choices[i]);
	}
	return err_set(e, "\"%s\" is not one of %s", arg, list);
}

static int parse_path(const struct cmd_opt *o, const char *arg, struct err *e)
{
	char **p = o->target;
	char *abs = NULL, cwd[PATH_MAX];
	/* absolute, but not resolved: a symbolic link stays one for the check
	   of whoever opens it (a token file must not be one) */
	if (arg[0] == '/' || !getcwd(cwd, sizeof cwd))
		abs = strdup(arg);
	else if (asprintf(&abs, "%s/%s", cwd, arg) < 0)
		abs = NULL;
	if (!abs)
		return err_errno(e, ENOMEM, "out of memory");
	free(*p);
	*p = abs;
	return 0;
}

static int store(const struct cmd_opt *o, const char *arg, struct err *e)
{
	switch (o->kind) {
	case CMD_OPT_FLAG:
		*(bool *)o->target = true;
		return 0;
	case CMD_OPT_STR:
		*(const char **)o->target = arg;
		return 0;
	case CMD_OPT_PATH:
		return parse_path(o, arg, e);
	case CMD_OPT_LIST:
		return strv_push(o->target, arg, e);
	case CMD_OPT_UINT:
		return parse_uint(o, arg, e);
	case CMD_OPT_MS:
		return parse_ms(o, arg, e);
	case CMD_OPT_CHOICE:
		return parse_choice(o, arg, e);
	case CMD_OPT_FN:
		return o->fn(o, arg, e);
	}
	return err_set(e, "unknown kind of option");
}

/* getopt_long's table and short options of the entries, plus --help and -h */
static struct option *getopt_table(const struct cmd_opts *o, char *shorts)
{
	struct option *t = calloc(o->n + 2, sizeof *t);
	size_t k = 0;
	char *s = shorts;
	if (!t)
		return NULL;
	if (o->in_order)
		*s++ = '+';
	*s++ = 'h';
	for (size_t i = 0; i < o->n; i++) {
		const struct cmd_opt *x = &o->v[i];
		if (!x->name)
			continue;
		int has_arg = x->kind == CMD_OPT_FLAG ? no_argument : required_argument;
		t[k++] = (struct option){x->name, has_arg, NULL, 256 + (int)i};
		if (x->short_name) {
			*s++ = x->short_name;
			if (has_arg)
				*s++ = ':';
		}
	}
	*s = '\0';
	t[k] = (struct option){"help", no_argument, NULL, 'h'};
	return t;
}

/* The entry of getopt_long's answer c, or NULL when c is not one */
static const struct cmd_opt *entry_of(const struct cmd_opts *o, int c)
{
	if (c >= 256 && (size_t)(c - 256) < o->n)
		return &o->v[c - 256];
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].name && o->v[i].short_name == c)
			return &o->v[i];
	return NULL;
}

static int parse(const struct cmd_opts *o, int argc, char **argv, const struct option *t, const char *shorts)
{
	int c;
	struct err e;
	optind = 0; /* glibc: start over, on this argument vector */
	while ((c = getopt_long(argc, argv, shorts, t, NULL)) != -1) {
		if (c == 'h') {
			o->usage(stdout);
			return EXIT_OK;
		}
		const struct cmd_opt *x = entry_of(o, c);
		if (!x) { /* getopt_long said what (unknown, or a missing argument) */
			fprintf(stderr, "(see 'ramp %s --help')\n", o->verb);
			return EXIT_USAGE;
		}
		if (store(x, optarg, &e) < 0) {
			if (e.errnum == ENOMEM)
				return cmd_fail(&e);
			return cmd_usage_error(o->verb, "--%s: %s", x->name, e.msg);
		}
	}
	return CMD_GO;
}

int cmd_opts_parse(const struct cmd_opts *o, int argc, char **argv, int *first)
{
	char shorts[2 * o->n + 3];
	struct option *t = getopt_table(o, shorts);
	if (!t)
		return cmd_fail(&(struct err){ENOMEM, "out of memory"});
	/* getopt_long names argv[0] in its messages: "ramp VERB: unrecognized option" */
	char name[64], *arg0 = argv[0];
	snprintf(name, sizeof name, "ramp %s", o->verb);
	argv[0] = name;
	int rc = parse(o, argc, argv, t, shorts);
	argv[0] = arg0;
	*first = optind;
	free(t);
	return rc;
}
