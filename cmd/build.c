/* build.c: `ramp build`: flags and settings into img_build(); progress and
 * the resulting manifest digest. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "image/build.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ramp build [OPTIONS] DIR [DIR...] (-o FILE | --layout DIR)\n"
		"\n"
		"Freeze directory trees into a reproducible OCI image: each DIR becomes one layer,\n"
		"lowest first. The same trees and settings always give the same digest. Prints the\n"
		"manifest digest.\n"
		"\n"
		"output:\n"
		"  -o, --output FILE        write an oci-archive\n"
		"      --layout DIR         write (or add to) an OCI layout directory\n"
		"      --tag NAME           name the image in the archive/layout (ref.name annotation)\n"
		"      --docker-manifest    add manifest.json so 'docker load' and 'podman load' take it\n"
		"      --from IMAGE         start from a base image (archive or layout): its layers are\n"
		"                           reused byte for byte and its settings inherited\n"
		"      --compression KIND[:LEVEL]\n"
		"                           gzip (default, level 1), zstd (default level 3) or none\n"
		"      --threads N          compression threads (default: one per CPU)\n"
		"\n"
		"image settings (also from --config FILE, a JSON object; flags win):\n"
		"      --config FILE        settings file (see docs/IMAGE.md)\n"
		"      --entrypoint CMD     a string, or a JSON array: '[\"/app\",\"--serve\"]'\n"
		"      --cmd CMD            default arguments, same forms\n"
		"      --env K=V            environment (repeatable)\n"
		"      --workdir DIR        working directory (absolute)\n"
		"      --user USER          NAME, UID, NAME:GROUP or UID:GID\n"
		"      --port PORT[/PROTO]  exposed port (repeatable)\n"
		"      --stop-signal SIG    signal that asks the app to stop (default SIGTERM)\n"
		"      --label K=V          config label (repeatable)\n"
		"      --annotation K=V     manifest annotation (repeatable)\n"
		"      --health-cmd CMD     exec health check (string: run by /bin/sh; JSON array: exec)\n"
		"      --health-http PORT/PATH\n"
		"                           HTTP health check, e.g. 8080/health\n"
		"      --health-interval D, --health-timeout D, --health-start-period D (e.g. 5s, 500ms)\n"
		"      --health-retries N\n"
		"      --metrics-http PORT/PATH\n"
		"                           where the app serves Prometheus metrics, e.g. 8080/metrics\n"
		"                           (rampd scrapes it for a rollout's canary analysis)\n"
		"\n"
		"SOURCE_DATE_EPOCH, when set, clamps file mtimes and sets the creation time.\n"
		"Exit status: 0 built, 1 failed (nothing written), 2 usage error.\n");
}

struct progress {
	bool tty;
};

static void on_progress(void *ctx, uint64_t entries, uint64_t bytes)
{
	struct progress *p = ctx;
	if (p->tty)
		fprintf(stderr, "\r  %llu entries, %.1f MB read", (unsigned long long)entries, bytes / 1e6);
}

static void on_layer(void *ctx, size_t i, const char *dir, const struct img_layer_result *r)
{
	struct progress *p = ctx;
	if (p->tty)
		fprintf(stderr, "\r\033[K");
	log_info("layer %zu from %s: %llu entries, %.1f MB → %.1f MB, %s", i + 1, dir, (unsigned long long)r->entries,
		 r->bytes / 1e6, r->desc.size / 1e6, r->desc.digest.s);
	(void)p;
}

/* Fail early, before any work, when the output cannot be written. */
static int check_output_dir(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	const char *dir = copy ? dirname(copy) : ".";
	struct stat st;
	if (stat(dir, &st) < 0)
		return cmd_usage_error("build", "output directory \"%s\": %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return cmd_usage_error("build", "output directory \"%s\" is not a directory", dir);
	if (access(dir, W_OK) < 0)
		return cmd_usage_error("build", "output directory \"%s\" is not writable: %s", dir, strerror(errno));
	return 0;
}

/* The image settings given as flags: checked as they come, applied again
 * after the settings file's (flags win); `given` holds name, value pairs. */
struct setting_flags {
	struct img_settings checked;
	struct strv given;
};

static int setting(const struct cmd_opt *o, const char *arg, struct err *e)
{
	struct setting_flags *f = o->target;
	if (img_settings_set(&f->checked, o->name, arg, e) < 0)
		return -1;
	return strv_push(&f->given, o->name, e) < 0 || strv_push(&f->given, arg, e) < 0 ? -1 : 0;
}

static int tag(const struct cmd_opt *o, const char *arg, struct err *e)
{
	if (!*arg || strlen(arg) > 255)
		return err_set(e, "expected a name of 1 to 255 characters");
	*(const char **)o->target = arg;
	return 0;
}

static int compression(const struct cmd_opt *o, const char *arg, struct err *e)
{
	struct img_layer_opts *l = o->target;
	return img_compression_parse(arg, &l->comp, &l->level, e);
}

/* The directories, the output and SOURCE_DATE_EPOCH, before any work */
static int check_args(struct img_build_opts *o, int n, char **dirs)
{
	if (n < 1)
		return cmd_usage_error("build", "no directory given");
	if (!o->output && !o->layout)
		return cmd_usage_error("build", "give an output: -o FILE or --layout DIR");
	o->dirs = (const char *const *)dirs;
	o->n_dirs = (size_t)n;
	for (size_t i = 0; i < o->n_dirs; i++) {
		struct stat st;
		if (stat(o->dirs[i], &st) < 0)
			return cmd_usage_error("build", "directory \"%s\": %s", o->dirs[i], strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return cmd_usage_error("build", "\"%s\" is not a directory", o->dirs[i]);
	}
	if (o->output && check_output_dir(o->output))
		return EXIT_USAGE;
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde) {
		unsigned long long v;
		if (cmd_parse_uint("build", "SOURCE_DATE_EPOCH", sde, 253402300799ULL, &v))
			return EXIT_USAGE;
		o->have_epoch = true;
		o->epoch = (int64_t)v;
	}
	return 0;
}

int cmd_build(int argc, char **argv)
{
	struct img_build_opts o = {.layer = {.comp = IMG_COMP_GZIP}};
	struct setting_flags flags = {0};
	struct img_settings s = {0};
	const char *config = NULL;
	struct progress prog = {.tty = isatty(STDERR_FILENO) && log_get_level() >= LOG_LVL_NOTICE};
	struct err e;
	int rc, first;
	const struct cmd_opt opts[] = {
		CMD_STR_S('o', "output", &o.output),
		CMD_STR("layout", &o.layout),
		CMD_FN("tag", &o.tag, tag),
		CMD_FLAG("docker-manifest", &o.docker_manifest),
		CMD_STR("from", &o.from),
		CMD_FN("compression", &o.layer, compression),
		CMD_UINT("threads", &o.layer.threads, 0, 256),
		CMD_STR("config", &config),
#define SETTING(name) CMD_FN(name, &flags, setting)
		SETTING("entrypoint"), SETTING("cmd"), SETTING("env"), SETTING("workdir"), SETTING("user"),
		SETTING("port"), SETTING("stop-signal"), SETTING("label"), SETTING("annotation"),
		SETTING("health-cmd"), SETTING("health-http"), SETTING("health-interval"), SETTING("health-timeout"),
		SETTING("health-start-period"), SETTING("health-retries"), SETTING("metrics-http"),
#undef SETTING
	};

	if ((rc = cmd_opts_parse(CMD_OPTS("build", usage, false, opts), argc, argv, &first)) != CMD_GO)
		goto out;
	rc = EXIT_USAGE;
	if (check_args(&o, argc - first, argv + first))
		goto out;
	rc = EXIT_FAIL;
	if (config) {
		_cleanup_free_ char *buf = NULL;
		size_t len;
		if (fs_read_file(config, 1 << 20, &buf, &len, &e) < 0 || img_settings_parse_json(&s, buf, len, &e) < 0) {
			rc = cmd_usage_error("build", "--config \"%s\": %s", config, e.msg);
			goto out;
		}
	}
	/* the flags again, over the file's settings */
	for (size_t i = 0; i + 1 < flags.given.n; i += 2)
		if (img_settings_set(&s, flags.given.v[i], flags.given.v[i + 1], &e) < 0)
			goto fail;
	o.settings = &s;
	o.layer.progress = on_progress;
	o.layer.progress_ctx = &prog;
	o.layer_done = on_layer;
	o.ctx = &prog;
	struct img_digest d;
	if (img_build(&o, &d, &e) < 0)
		goto fail;
	printf("%s\n", d.s);
	rc = EXIT_OK;
	goto out;
fail:
	if (prog.tty)
		fprintf(stderr, "\r\033[K");
	rc = cmd_fail(&e);
out:
	img_settings_free(&flags.checked);
	strv_free(&flags.given);
	img_settings_free(&s);
	return rc;
}
