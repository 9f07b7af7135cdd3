/* rampd.c: main() of the host daemon: flags, then runtime/rampd/daemon does the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "runtime/rampd/config.h"
#include "runtime/rampd/daemon.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: rampd [--config FILE] [--check-config] [--leave-running] [-v|-vv|-q]\n\n"
		   "The ramp host daemon: keeps each app at the version it was told to run, healthy,\n"
		   "and switches or reverts on command (API: docs/API.md; operation: docs/OPERATIONS.md).\n\n"
		   "options:\n"
		   "  --config FILE    configuration (default %s)\n"
		   "  --check-config   read and check the configuration, then exit (0: valid)\n"
		   "  --leave-running  on SIGTERM exit without stopping the apps (SIGQUIT always does)\n"
		   "  -q, -v, -vv      less or more logging than the config's log_level\n"
		   "  --version        print the version\n\n"
		   "signals: SIGTERM/SIGINT stop the apps and exit, SIGHUP reloads the configuration,\n"
		   "SIGQUIT exits leaving the apps running (a restarted rampd adopts them).\n\n"
		   "Pulls run in the helper rampd-pull, started from the directory rampd is in.\n",
		RT_CONFIG_DEFAULT);
}

int main(int argc, char **argv)
{
	struct rt_daemon_opts o = {.config_path = RT_CONFIG_DEFAULT};
	bool check = false;
	struct err e = {0};
	log_init("rampd");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--config") && i + 1 < argc) {
			o.config_path = argv[++i];
		} else if (!strncmp(a, "--config=", 9)) {
			o.config_path = a + 9;
		} else if (!strcmp(a, "--check-config")) {
			check = true;
		} else if (!strcmp(a, "--leave-running")) {
			o.leave_running = true;
		} else if (!strcmp(a, "-q")) {
			o.log_level = LOG_LVL_ERR;
		} else if (!strcmp(a, "-v")) {
			o.log_level = LOG_LVL_INFO;
		} else if (!strcmp(a, "-vv")) {
			o.log_level = LOG_LVL_DEBUG;
		} else if (!strcmp(a, "--version")) {
			printf("rampd %s\n", RAMP_VERSION);
			return 0;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "rampd: unknown option \"%s\"\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (check) {
		struct rt_config c = {0};
		if (rt_config_load(&c, o.config_path, &e) < 0) {
			log_err("%s", e.msg);
			return 1;
		}
		rt_config_free(&c);
		printf("%s: ok\n", o.config_path);
		return 0;
	}
	struct rt_daemon d;
	int rc = rt_daemon_open(&d, &o, &e) == 0 && rt_daemon_run(&d, &e) == 0 ? 0 : 1;
	if (rc)
		log_err("%s", e.msg);
	rt_daemon_close(&d);
	return rc;
}
