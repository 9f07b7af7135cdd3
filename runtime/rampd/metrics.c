/* metrics.c: the /metrics page (see metrics.h). */
#include "runtime/rampd/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/cleanup.h"
#include "runtime/rampd/daemon.h"
#include "runtime/rampd/supervisor.h"

static uint64_t pull_bytes, pull_ms;

void rt_metrics_pull(uint64_t bytes, int64_t ms)
{
	__atomic_add_fetch(&pull_bytes, bytes, __ATOMIC_RELAXED);
	__atomic_add_fetch(&pull_ms, ms > 0 ? (uint64_t)ms : 0, __ATOMIC_RELAXED);
}

static void help(FILE *f, const char *name, const char *type, const char *text)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

int rt_metrics_text(struct rt_daemon *d, char **out, size_t *len, struct err *e)
{
	static const struct {
		const char *name, *type, *help;
	} per_app[] = {
		{"ramp_app_phase", "gauge", "1 for the phase the app is in"},
		{"ramp_switches_total", "counter", "switches to a new version"},
		{"ramp_reverts_total", "counter", "switches back to a kept version"},
		{"ramp_restarts_total", "counter", "restarts after the app exited"},
		{"ramp_probe_seconds", "gauge", "latency of the last health probe"},
	};
	FILE *f = open_memstream(out, len);
	if (!f)
		return err_errno(e, ENOMEM, "metrics");
	for (size_t m = 0; m < ARRAY_SIZE(per_app); m++) {
		help(f, per_app[m].name, per_app[m].type, per_app[m].help);
		rt_daemon_lock(&d->mu);
		for (size_t i = 0; i < d->n_apps; i++) {
			struct rt_app *a = d->apps[i];
			rt_app_lock(&a->mu);
			if (a->deleting) {
				rt_app_unlock(&a->mu);
				continue;
			}
			switch (m) {
			case 0:
				for (int p = 0; p < RT_PHASE_COUNT; p++)
					fprintf(f, "ramp_app_phase{app=\"%s\",phase=\"%s\"} %d\n", a->name,
						rt_phase_name((enum rt_phase)p), a->phase == (enum rt_phase)p);
				break;
			case 1:
				fprintf(f, "ramp_switches_total{app=\"%s\"} %llu\n", a->name, (unsigned long long)a->switches);
				break;
			case 2:
				fprintf(f, "ramp_reverts_total{app=\"%s\"} %llu\n", a->name, (unsigned long long)a->reverts);
				break;
			case 3:
				fprintf(f, "ramp_restarts_total{app=\"%s\"} %llu\n", a->name, (unsigned long long)a->restarts);
				break;
			default:
				fprintf(f, "ramp_probe_seconds{app=\"%s\"} %.6f\n", a->name, a->probe_seconds);
				break;
			}
			rt_app_unlock(&a->mu);
		}
		rt_daemon_unlock(&d->mu);
	}
	help(f, "ramp_pull_bytes_total", "counter", "bytes downloaded from registries");
	fprintf(f, "ramp_pull_bytes_total %llu\n", (unsigned long long)__atomic_load_n(&pull_bytes, __ATOMIC_RELAXED));
	help(f, "ramp_pull_seconds_total", "counter", "time spent pulling images");
	fprintf(f, "ramp_pull_seconds_total %.3f\n", (double)__atomic_load_n(&pull_ms, __ATOMIC_RELAXED) / 1000.0);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return err_errno(e, ENOMEM, "metrics");
	}
	return 0;
}
