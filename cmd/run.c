/* run.c: `ramp run` and `ramp test`: an image run as an isolated container
 * with the runtime rampd uses; `ramp test` attaches a test record when the
 * command passes. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "cmd/transfer.h"
#include "image/image.h"
#include "image/pull.h"
#include "image/record.h"
#include "image/settings.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "runtime/launch.h"
#include "runtime/stdio_proxy.h"
#include "runtime/store.h"

#define CLI_STORE_DEFAULT "/var/cache/ramp"

struct run_opts {
	const char *verb;
	const char *image;
	const char *store;
	const char *const *command;
	size_t n_command;
	struct strv env;
	bool rm, init, private_net, allow_devices;
	uint64_t memory;
	int64_t grace_ms;
	const char *hostname;
	const char *sign_key; /* ramp test --sign-key */
	struct cmd_reg reg;
};

static void usage_run(FILE *f)
{
	fprintf(f, "usage: ramp run [OPTIONS] IMAGE [-- COMMAND [ARGS...]]\n"
		   "\n"
		   "Run an image as an isolated container, with the runtime rampd uses, and exit\n"
		   "with its status. IMAGE is an oci-archive or a layout directory (optionally :NAME).\n"
		   "COMMAND replaces the image's cmd (its entrypoint stays). SIGINT, SIGTERM and SIGHUP\n"
		   "stop the container cleanly: its stop signal, the grace period, then SIGKILL.\n"
		   "Its stdin, stdout and stderr are pipes to ramp's (or, when stdin and stdout are\n"
		   "your terminal, a terminal of its own, yours in raw mode meanwhile): never your\n"
		   "files or terminal themselves.\n"
		   "\n"
		   "  --rm               remove the container's writable layer afterwards\n"
		   "  --net host|private host network (default) or a private one with only lo\n"
		   "  --env K=V          environment (repeatable; overrides the image's)\n"
		   "  --memory SIZE      memory limit (e.g. 512M; cgroup v2 only, else a warning)\n"
		   "  --init             a tiny init as PID 1 (reaps zombies, forwards signals)\n"
		   "  --hostname NAME    the container's host name\n"
		   "  --stop-timeout D   grace period after the stop signal (default 10s)\n"
		   "  --allow-devices    do not mount the root nodev\n"
		   "  --store DIR        where images are unpacked (default %s, or $RAMP_STORE)\n"
		   CMD_LIMIT_HELP
		   "\n"
		   "IMAGE may also be a registry reference ([registry/]repo[:tag][@digest]): it is pulled\n"
		   "into the store's pull cache (STORE/pulls) first. Registry options:\n"
		   CMD_REG_HELP
		   "\n"
		   "Exit status: the container's (128+N when killed by signal N); 1 when it could not\n"
		   "be started; 2 for a usage error.\n",
		CLI_STORE_DEFAULT);
}

static void usage_test(FILE *f)
{
	fprintf(f, "usage: ramp test [OPTIONS] IMAGE -- COMMAND [ARGS...]\n"
		   "\n"
		   "Run COMMAND inside IMAGE with the runtime rampd uses. When it exits 0, attach a test\n"
		   "record (image digest, platform, kernel, command, status, duration, time) to the\n"
		   "archive or layout, to be pushed with the image; otherwise exit with its status and\n"
		   "attach nothing. `ramp rollout` requires a passing record for the fleet's platform.\n"
		   "\n"
		   "  --sign-key FILE  sign the record (an Ed25519 private key, `ramp key generate`): it becomes an\n"
		   "                   in-toto test-result statement in a DSSE envelope, attached whether the test\n"
		   "                   passes (PASSED) or fails (FAILED), for `ramp rollout --trust` and rampd\n"
		   "\n"
		   "Options as for `ramp run` (--net, --env, --memory, --init, --hostname,\n"
		   "--stop-timeout, --allow-devices, --store, --limit).\n");
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t mult = 1;
	if (end == s || errno || *s == '-')
		return -1;
	if (*end) {
		const char *u = "KMGT";
		const char *p = strchr(u, *end & ~0x20);
		if (!p || (end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB") && strcmp(end + 1, "b")))
			return -1;
		for (const char *q = u; q <= p; q++)
			mult *= 1024;
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static int overlay_available(void)
{
	_cleanup_free_ char *buf = NULL;
	struct err e;
	return fs_read_file("/proc/filesystems", 1 << 16, &buf, NULL, &e) == 0 && strstr(buf, "\toverlay\n");
}

/* Wait for the container; SIGINT/SIGTERM turn into a clean stop. */
static int wait_or_stop(struct rt_container *c, int stop_signal, unsigned grace_ms, int sfd, int *status,
			struct err *e)
{
	struct pollfd p[2] = {{.fd = c->pidfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, "wait for the container");
		}
		if (p[0].revents)
			break;
		if (p[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si)
				log_notice("%s: stopping the container (%s, then SIGKILL after %u ms)", strsignal((int)si.ssi_signo),
					   sigabbrev_np(stop_signal) ? sigabbrev_np(stop_signal) : "signal", grace_ms);
			if (rt_stop(c, stop_signal, grace_ms, e) < 0)
				return -1;
			break;
		}
	}
	return rt_wait(c, status, e);
}

static int run_image(struct run_opts *o, struct img_image *img, int *status, struct err *e)
{
	struct rt_store st = {.fd = -1, .lock_fd = -1};
	struct rt_store_image im = {0};
	struct rt_launch l = {0};
	struct rt_container c = {.pid = -1, .pidfd = -1, .cgroup_fd = -1, .pty = -1};
	_cleanup_free_ char *appdir = NULL, *rundir = NULL, *upper = NULL, *work = NULL, *flat = NULL;
	_cleanup_close_ int sfd = -1;
	struct rt_stdio io = {0};
	sigset_t mask, old;
	int rc = -1;
	bool started = false;

	if (rt_store_open(&st, o->store, e) < 0)
		return err_ctx(e, "store \"%s\"", o->store);
	st.limits = o->reg.limits;
	log_info("importing %s into %s", img->desc.digest.s, o->store);
	if (rt_store_import(&st, img, &im, e) < 0)
		goto out;
	if (rt_launch_prepare(&l, &img->config, o->command, o->n_command, !strcmp(o->verb, "test"),
			      (const char *const *)o->env.v, o->env.n, e) < 0)
		goto out;
	/* a fresh writable layer per run, under the store's run directory */
	char name[64];
	snprintf(name, sizeof name, "%s-%d", o->verb, (int)getpid());
	if (!(appdir = rt_store_app_run_dir(&st, "cli", e)))
		goto out;
	if (asprintf(&rundir, "%s/%s", appdir, name) < 0 || asprintf(&upper, "%s/upper", rundir) < 0 ||
	    asprintf(&work, "%s/work", rundir) < 0 || asprintf(&flat, "%s/rootfs", rundir) < 0) {
		err_errno(e, ENOMEM, "paths");
		goto out;
	}
	if (overlay_available()) {
		if (fs_mkdir_p(upper, 0755, e) < 0 || fs_mkdir_p(work, 0700, e) < 0)
			goto out;
		l.spec.lower = (const char *const *)im.layer_dirs;
		l.spec.n_lower = im.n_layer_dirs;
		l.spec.upper = upper;
		l.spec.work = work;
		l.spec.volatile_upper = true;
	} else {
		log_warn("overlayfs is not available: running on a flattened copy of the image");
		if (fs_mkdir_p(flat, 0755, e) < 0 || rt_store_flatten(&st, &im, flat, e) < 0)
			goto out;
		l.spec.rootfs = flat;
	}
	l.spec.init = o->init;
	l.spec.private_net = o->private_net;
	l.spec.allow_devices = o->allow_devices;
	l.spec.memory_max = o->memory;
	/* a name of its own, as podman gives a container its id */
	char host[16];
	snprintf(host, sizeof host, "%.12s", img_digest_hex(&img->desc.digest));
	l.spec.hostname = o->hostname ? o->hostname : host;
	l.spec.name = name;

	/* the signals that stop the container are read from a signalfd, not delivered */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		err_sys(e, "signalfd");
		goto restore;
	}
	/* the container gets descriptors of its own, never the caller's */
	if (rt_stdio_prepare(&io, &l.spec, e) < 0 || rt_start(&l.spec, &c, e) < 0)
		goto restore;
	started = true;
	if (rt_stdio_start(&io, &c, e) < 0 || wait_or_stop(&c, l.stop_signal, (unsigned)o->grace_ms, sfd, status, e) < 0)
		goto restore;
	rc = 0;
restore:
	if (started && rc < 0)
		rt_container_release(&c); /* its output ends with it */
	rt_stdio_finish(&io);
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
	if (started)
		rt_container_release(&c);
	if (rundir) {
		struct err e2;
		if ((o->rm || !strcmp(o->verb, "test")) && fs_rm_rf(rundir, &e2) < 0)
			log_warn("%s", e2.msg);
		else if (!o->rm && strcmp(o->verb, "test") && fs_exists(rundir))
			log_info("the container's writable layer is kept in %s (--rm removes it)", rundir);
	}
	rt_launch_free(&l);
	rt_store_image_free(&im);
	rt_store_close(&st);
	return rc;
}

static int attach_record(struct run_opts *o, struct img_image *img, int status, int64_t ms,
			 const struct img_privkey *key, struct err *e)
{
	struct img_record r = {.image = img->desc.digest,
			       .exit_code = status,
			       .result = status ? IMG_RESULT_FAILED : IMG_RESULT_PASSED,
			       .duration_ms = ms};
	struct utsname u;
	char when[32];
	int rc = -1;
	uname(&u);
	clk_rfc3339(clk_wall_ms(), false, when, sizeof when);
	img_platform_host(&r.platform);
	if (!(r.kernel = strdup(u.release)) || !(r.time = strdup(when)) || !(r.version = strdup(RAMP_VERSION))) {
		err_errno(e, ENOMEM, "test record");
		goto out;
	}
	for (size_t i = 0; i < o->n_command; i++)
		if (strv_push(&r.command, o->command[i], e) < 0)
			goto out;
	rc = img_record_attach(img, &r, key, e);
out:
	img_record_free(&r);
	return rc;
}

/* A local archive or layout, or a registry reference pulled into STORE/pulls. */
static int open_image(struct run_opts *o, struct img_image *img, struct err *e)
{
	_cleanup_free_ char *copy = strdup(o->image), *dir = NULL;
	char *colon = copy ? strchr(copy, ':') : NULL; /* PATH:NAME, NAME may hold colons */
	struct img_ref ref = {0};
	struct img_registry *r = NULL;
	struct img_pull_result res = {0};
	struct cmd_progress *prog = NULL;
	int rc = -1;
	if (colon)
		*colon = '\0';
	if (img_is_local(o->image) || (copy && img_is_local(copy)) || strchr("./", o->image[0]) ||
	    access(o->image, F_OK) == 0)
		return img_image_open(o->image, NULL, NULL, img, e);
	if (img_check_not_file(o->image, e) < 0)
		return -1;
	if (img_ref_parse(o->image, &ref, e) < 0)
		return err_ctx(e, "\"%s\" is neither a local image nor a registry reference", o->image);
	if (!strcmp(o->verb, "test")) {
		err_set(e, "ramp test attaches its record to a local archive or layout: pull the image first "
			   "(ramp pull %s -o image.oci.tar)", o->image);
		goto out;
	}
	if (asprintf(&dir, "%s/pulls", o->store) < 0) {
		err_errno(e, ENOMEM, "path");
		goto out;
	}
	o->reg.o.insecure = o->reg.insecure;
	prog = cmd_progress_new(false);
	struct img_pull_opts po = {.limits = &o->reg.limits, .progress = cmd_progress_event, .progress_ctx = prog};
	if (fs_mkdir_p(o->store, 0700, e) < 0 || !(r = img_registry_open(ref.registry, &o->reg.o, e)) ||
	    img_pull_layout(r, &ref, &po, dir, &res, e) < 0)
		goto out;
	cmd_progress_done(prog, res.manifest.digest.s);
	rc = img_image_open_desc(dir, &res.manifest, NULL, img, e);
out:
	if (prog)
		cmd_progress_free(prog);
	img_pull_result_free(&res);
	if (r)
		img_registry_close(r);
	img_ref_free(&ref);
	return rc;
}

static int env(const struct cmd_opt *o, const char *arg, struct err *e)
{
	if (!strchr(arg, '=') || arg[0] == '=')
		return err_set(e, "\"%s\": expected KEY=VALUE", arg);
	return strv_push(o->target, arg, e);
}

static int memory(const struct cmd_opt *o, const char *arg, struct err *e)
{
	uint64_t *m = o->target;
	if (parse_size(arg, m) < 0 || *m < 4096)
		return err_set(e, "\"%s\": expected a size such as 512M or 2G", arg);
	return 0;
}

static int hostname(const struct cmd_opt *o, const char *arg, struct err *e)
{
	if (!*arg || strlen(arg) > 64)
		return err_set(e, "1 to 64 characters");
	*(const char **)o->target = arg;
	return 0;
}

/* ramp run's and ramp test's options: the same but --rm (run) and
 * --sign-key (test), and --json (neither) */
static int run_options(struct run_opts *o, int argc, char **argv, int *first)
{
	bool is_test = !strcmp(o->verb, "test");
	const struct cmd_opt opts[] = {
		CMD_FLAG(is_test ? NULL : "rm", &o->rm),
		CMD_CHOICE("net", &o->private_net, "host", "private"),
		CMD_FN("env", &o->env, env),
		CMD_FN("memory", &o->memory, memory),
		CMD_FLAG("init", &o->init),
		CMD_FN("hostname", &o->hostname, hostname),
		CMD_MS("stop-timeout", &o->grace_ms, 0, 3600 * 1000),
		CMD_FLAG("allow-devices", &o->allow_devices),
		CMD_STR("store", &o->store),
		CMD_STR(is_test ? "sign-key" : NULL, &o->sign_key),
		CMD_REG_CONN_OPTS(&o->reg),
		CMD_UINT("jobs", &o->reg.o.jobs, 1, 64),
		CMD_LIMIT_OPT(&o->reg),
	};
	/* options end at the image: what follows "--" is the command */
	return cmd_opts_parse(CMD_OPTS(o->verb, is_test ? usage_test : usage_run, true, opts), argc, argv, first);
}

static int run_main(const char *verb, int argc, char **argv)
{
	bool is_test = !strcmp(verb, "test");
	struct run_opts o = {.verb = verb, .grace_ms = 10000};
	struct img_image img = {0};
	struct img_privkey key;
	struct err e;
	int first, rc = EXIT_USAGE;

	cmd_reg_init(&o.reg);
	if (cmd_reg_limits_env(&o.reg, verb))
		goto out;
	o.store = getenv("RAMP_STORE") && *getenv("RAMP_STORE") ? getenv("RAMP_STORE") : CLI_STORE_DEFAULT;
	if ((rc = run_options(&o, argc, argv, &first)) != CMD_GO) {
		o.sign_key = NULL;
		goto out;
	}
	rc = EXIT_USAGE;
	if (first >= argc) {
		cmd_usage_error(verb, "no image given");
		goto out;
	}
	o.image = argv[first++];
	if (first < argc) {
		if (strcmp(argv[first], "--")) {
			cmd_usage_error(verb, "unexpected \"%s\": put the command after --", argv[first]);
			goto out;
		}
		first++;
	}
	o.command = (const char *const *)argv + first;
	o.n_command = (size_t)(argc - first);
	if (is_test && !o.n_command) {
		cmd_usage_error(verb, "no test command given (ramp test IMAGE -- COMMAND)");
		goto out;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "ramp %s: containers need root (namespaces, mounts); run it as root\n", verb);
		rc = EXIT_FAIL;
		goto out;
	}
	/* a key that cannot sign is found before the test runs */
	if (o.sign_key && img_key_private_load(o.sign_key, &key, &e) < 0) {
		fprintf(stderr, "ramp test: --sign-key: %s\n", e.msg);
		o.sign_key = NULL;
		goto out;
	}
	if (open_image(&o, &img, &e) < 0) {
		rc = cmd_fail(&e);
		goto out;
	}
	int64_t t0 = clk_mono_ms();
	int status = 0;
	if (run_image(&o, &img, &status, &e) < 0) {
		rc = cmd_fail(&e);
		goto out;
	}
	int64_t ms = clk_mono_ms() - t0;
	rc = status;
	if (is_test) {
		const struct img_privkey *k = o.sign_key ? &key : NULL;
		if (status != 0 && !k) {
			log_err("test failed with status %d: no test record attached to %s", status, o.image);
		} else if (attach_record(&o, &img, status, ms, k, &e) < 0) {
			rc = cmd_fail(&e);
		} else if (status != 0) {
			log_err("test failed with status %d: a signed FAILED record (key %s) attached to %s", status,
				key.pub.id.s, o.image);
		} else {
			log_notice("test passed in %.1f s: %srecord attached to %s (image %s)", ms / 1000.0,
				   k ? "signed " : "", o.image, img.desc.digest.s);
		}
	}
out:
	if (o.sign_key)
		img_key_wipe(&key);
	img_image_close(&img);
	strv_free(&o.env);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	return run_main("run", argc, argv);
}

int cmd_test(int argc, char **argv)
{
	return run_main("test", argc, argv);
}
