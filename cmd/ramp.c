/* ramp.c: main() of `ramp`: global options and dispatch to the verbs. */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "lib/cleanup.h"
#include "lib/log.h"

static const struct verb {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} verbs[] = {
	{"build", cmd_build, "freeze directory trees into a reproducible OCI image archive"},
	{"inspect", cmd_inspect, "show (and verify) an image archive or layout"},
	{"run", cmd_run, "run an image as an isolated container"},
	{"test", cmd_test, "run tests inside an image and attach a test record"},
	{"key", cmd_key, "make a key pair for signing test records"},
	{"push", cmd_push, "push an image and its test records to a registry"},
	{"pull", cmd_pull, "pull an image and its test records from a registry"},
	{"login", cmd_login, "store credentials for a registry (after checking them)"},
	{"logout", cmd_logout, "remove stored credentials for a registry"},
	{"host", cmd_host, "talk to a host's rampd: status, deploy, revert, logs, rm"},
	{"rollout", cmd_rollout, "deploy to a fleet in growing waves, reverting at the first bad signal"},
	{"revert", cmd_revert, "put every host of a fleet back on its previous version"},
	{"fleet", cmd_fleet, "see a fleet: version, phase and health of each host"},
	{"veto", cmd_veto, "mark an image digest known-bad in its registry (or lift that)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: ramp [-q|-v] COMMAND [ARGS]\n\n"
		   "ramp ships a tested directory tree as an OCI image and rolls it out host by host.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\noptions:\n"
		   "  -q, --quiet    only errors (and a rollout's result)\n"
		   "  -v, --verbose  more detail (twice for debug)\n"
		   "  (-q and -v may also follow the command, before any \"--\")\n"
		   "  --version      print the version\n"
		   "\n'ramp COMMAND --help' describes a command. Exit status: 0 success, 1 failure, 2 usage error\n(rollout and revert: 1 rolled back, 2 refused before deploying, 3 the fleet needs attention).\n");
}

int cmd_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ramp %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'ramp %s --help')\n", verb);
	return EXIT_USAGE;
}

int cmd_fail(const struct err *e)
{
	log_err("%s", e->msg);
	return EXIT_FAIL;
}

int cmd_parse_uint(const char *verb, const char *opt, const char *s, unsigned long long max,
		   unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *s == '-' || *end || errno || v > max)
		return cmd_usage_error(verb, "%s: \"%s\" is not a number from 0 to %llu", opt, s, max);
	*out = v;
	return 0;
}

/* The global options -q and -v (again, or -vv, for debug): true when a is
 * one, and *lvl is changed accordingly. */
static bool global_option(const char *a, int *lvl)
{
	if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
		*lvl = LOG_LVL_ERR;
	else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
		*lvl = *lvl < LOG_LVL_INFO ? LOG_LVL_INFO : LOG_LVL_DEBUG;
	else if (!strcmp(a, "-vv"))
		*lvl = LOG_LVL_DEBUG;
	else
		return false;
	return true;
}

/* Take the global options out of a verb's arguments (up to a "--", after
 * which they belong to a command): `ramp push -q ...` as `ramp -q push ...`.
 * Returns the new argc. */
static int take_global_options(int argc, char **argv, int *lvl)
{
	int out = 1, k = 1;
	for (; k < argc && strcmp(argv[k], "--"); k++)
		if (!global_option(argv[k], lvl))
			argv[out++] = argv[k];
	while (k < argc)
		argv[out++] = argv[k++];
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	int lvl = LOG_LVL_NOTICE;
	int i = 1;

	log_init("ramp");
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (global_option(a, &lvl))
			continue;
		if (!strcmp(a, "--version")) {
			printf("ramp %s\n", RAMP_VERSION);
			return EXIT_OK;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		}
		fprintf(stderr, "ramp: unknown option \"%s\"\n", a);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (i >= argc) {
		log_set_level(lvl);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	for (size_t v = 0; v < ARRAY_SIZE(verbs); v++) {
		if (strcmp(argv[i], verbs[v].name))
			continue;
		/* every message of the verb starts with "ramp VERB:", its own, its
		   log's and getopt's (which names argv[0]) alike */
		char name[32];
		snprintf(name, sizeof name, "ramp %s", verbs[v].name);
		log_init(name);
		argv[i] = name;
		int n = take_global_options(argc - i, argv + i, &lvl);
		log_set_level(lvl);
		return verbs[v].fn(n, argv + i);
	}
	fprintf(stderr, "ramp: unknown command \"%s\"\n", argv[i]);
	usage(stderr);
	return EXIT_USAGE;
}
