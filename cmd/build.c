/* build.c: `ramp build`: flags and settings into img_build(); progress and
 * the resulting manifest digest. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
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

int cmd_build(int argc, char **argv)
{
	enum { O_LAYOUT = 256, O_TAG, O_DOCKER, O_FROM, O_COMP, O_THREADS, O_CONFIG, O_SETTING };
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"layout", required_argument, NULL, O_LAYOUT},
		{"tag", required_argument, NULL, O_TAG},
		{"docker-manifest", no_argument, NULL, O_DOCKER},
		{"from", required_argument, NULL, O_FROM},
		{"compression", required_argument, NULL, O_COMP},
		{"threads", required_argument, NULL, O_THREADS},
		{"config", required_argument, NULL, O_CONFIG},
		{"entrypoint", required_argument, NULL, O_SETTING},
		{"cmd", required_argument, NULL, O_SETTING},
		{"env", required_argument, NULL, O_SETTING},
		{"workdir", required_argument, NULL, O_SETTING},
		{"user", required_argument, NULL, O_SETTING},
		{"port", required_argument, NULL, O_SETTING},
		{"stop-signal", required_argument, NULL, O_SETTING},
		{"label", required_argument, NULL, O_SETTING},
		{"annotation", required_argument, NULL, O_SETTING},
		{"health-cmd", required_argument, NULL, O_SETTING},
		{"health-http", required_argument, NULL, O_SETTING},
		{"health-interval", required_argument, NULL, O_SETTING},
		{"health-timeout", required_argument, NULL, O_SETTING},
		{"health-start-period", required_argument, NULL, O_SETTING},
		{"health-retries", required_argument, NULL, O_SETTING},
		{"metrics-http", required_argument, NULL, O_SETTING},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct img_build_opts o = {.layer = {.comp = IMG_COMP_GZIP}};
	struct img_settings flags = {0}, s = {0};
	const char *config = NULL;
	struct progress prog = {.tty = isatty(STDERR_FILENO) && log_get_level() >= LOG_LVL_NOTICE};
	struct err e;
	int rc = EXIT_USAGE, c, idx;

	/* flags are collected first and applied after the settings file, so they win */
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:h", opts, &idx)) != -1) {
		switch (c) {
		case 'o':
			o.output = optarg;
			break;
		case O_LAYOUT:
			o.layout = optarg;
			break;
		case O_TAG:
			if (!*optarg || strlen(optarg) > 255) {
				cmd_usage_error("build", "--tag: expected a name of 1 to 255 characters");
				goto out;
			}
			o.tag = optarg;
			break;
		case O_DOCKER:
			o.docker_manifest = true;
			break;
		case O_FROM:
			o.from = optarg;
			break;
		case O_COMP:
			if (img_compression_parse(optarg, &o.layer.comp, &o.layer.level, &e) < 0) {
				cmd_usage_error("build", "--compression: %s", e.msg);
				goto out;
			}
			break;
		case O_THREADS: {
			unsigned long long n;
			if (cmd_parse_uint("build", "--threads", optarg, 256, &n))
				goto out;
			o.layer.threads = (int)n;
			break;
		}
		case O_CONFIG:
			config = optarg;
			break;
		case O_SETTING:
			if (img_settings_set(&flags, opts[idx].name, optarg, &e) < 0) {
				cmd_usage_error("build", "--%s: %s", opts[idx].name, e.msg);
				goto out;
			}
			break;
		case 'h':
			usage(stdout);
			rc = EXIT_OK;
			goto out;
		default:
			fprintf(stderr, "(see 'ramp build --help')\n");
			goto out;
		}
	}
	if (optind >= argc) {
		cmd_usage_error("build", "no directory given");
		goto out;
	}
	if (!o.output && !o.layout) {
		cmd_usage_error("build", "give an output: -o FILE or --layout DIR");
		goto out;
	}
	o.dirs = (const char *const *)argv + optind;
	o.n_dirs = (size_t)(argc - optind);
	for (size_t i = 0; i < o.n_dirs; i++) {
		struct stat st;
		if (stat(o.dirs[i], &st) < 0) {
			cmd_usage_error("build", "directory \"%s\": %s", o.dirs[i], strerror(errno));
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			cmd_usage_error("build", "\"%s\" is not a directory", o.dirs[i]);
			goto out;
		}
	}
	if (o.output && check_output_dir(o.output))
		goto out;
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde) {
		unsigned long long v;
		if (cmd_parse_uint("build", "SOURCE_DATE_EPOCH", sde, 253402300799ULL, &v))
			goto out;
		o.have_epoch = true;
		o.epoch = (int64_t)v;
	}
	rc = EXIT_FAIL;
	if (config) {
		_cleanup_free_ char *buf = NULL;
		size_t len;
		if (fs_read_file(config, 1 << 20, &buf, &len, &e) < 0 || img_settings_parse_json(&s, buf, len, &e) < 0) {
			rc = cmd_usage_error("build", "--config \"%s\": %s", config, e.msg);
			goto out;
		}
	}
	/* replay the flags over the file's settings */
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:h", opts, &idx)) != -1)
		if (c == O_SETTING && img_settings_set(&s, opts[idx].name, optarg, &e) < 0)
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
	img_settings_free(&flags);
	img_settings_free(&s);
	return rc;
}
