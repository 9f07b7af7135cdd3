/* pull.c: `ramp pull REF`: an image and its test records from a registry into
 * an oci-archive or a layout directory. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/transfer.h"
#include "image/outcome.h"
#include "image/pull.h"
#include "image/reference.h"
#include "lib/log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ramp pull [OPTIONS] REF (-o FILE | --layout DIR)\n\n"
		   "Pull REF ([registry[:port]/]repo[:tag][@digest]) and the test records, outcome records\n"
		   "and vetoes that refer to it into an oci-archive FILE or an OCI layout DIR (created, or\n"
		   "added to); the outcome records are shown, with a warning if the digest is known bad\n"
		   "(--no-test-records leaves all of them behind).\n"
		   "Every blob is verified; an interrupted pull resumes where it stopped.\n"
		   "Prints the image manifest digest.\n\n"
		   "options:\n"
		   "  -o, --output FILE          write an oci-archive (until it is complete, in\n"
		   "                             .FILE.ramp-partial beside it, where a later pull resumes)\n"
		   "  --layout DIR               write into an OCI layout directory\n"
		   "  --platform OS/ARCH[/VARIANT]  the image to take from a multi-platform index\n"
		   "                             (default: this host's)\n"
		   "  --no-test-records          pull the image only\n" CMD_LIMIT_HELP CMD_REG_HELP
		   "  -h, --help                 this help\n");
}

/* What became of the digest (outcome records and vetoes, pulled with it). */
static void show_outcomes(struct img_registry *r, const struct img_ref *ref, const struct img_digest *d)
{
	struct img_outcome *o;
	size_t n;
	bool bad;
	char line[1400];
	struct err e;
	if (img_outcome_list(r, ref->repo, d, &o, &n, &e) < 0) {
		log_warn("%s", e.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		img_outcome_describe(&o[i], line, sizeof line);
		log_notice("outcome: %s", line);
	}
	int k = img_outcome_verdict(o, n, &bad);
	if (bad) {
		img_outcome_describe(&o[k], line, sizeof line);
		log_warn("%s@%s is known bad: %s", ref->repo, d->s, line);
	}
	img_outcomes_free(o, n);
}

static int platform(const struct cmd_opt *o, const char *arg, struct err *e)
{
	img_platform_free(o->target);
	return img_platform_parse(arg, o->target, e);
}

int cmd_pull(int argc, char **argv)
{
	struct cmd_reg c;
	struct img_pull_opts po = {0};
	struct img_platform plat = {0};
	const char *out = NULL, *layout = NULL;
	struct err e;
	int first, rc;
	cmd_reg_init(&c);
	if ((rc = cmd_reg_limits_env(&c, "pull")))
		return rc;
	const struct cmd_opt opts[] = {
		CMD_STR_S('o', "output", &out),
		CMD_STR("layout", &layout),
		CMD_FN("platform", &plat, platform),
		CMD_FLAG("no-test-records", &po.no_referrers),
		CMD_REG_OPTS(&c),
		CMD_LIMIT_OPT(&c),
	};
	if ((rc = cmd_opts_parse(CMD_OPTS("pull", usage, false, opts), argc, argv, &first)) != CMD_GO) {
		img_platform_free(&plat);
		return rc;
	}
	if (plat.os)
		po.platform = &plat;
	if (argc - first != 1 || !out == !layout) {
		img_platform_free(&plat);
		return cmd_usage_error("pull", argc - first != 1 ? "expected one REF" : "expected one of -o FILE and --layout DIR");
	}
	struct img_ref ref;
	if (img_ref_parse(argv[first], &ref, &e) < 0) {
		img_platform_free(&plat);
		return cmd_usage_error("pull", "%s", e.msg);
	}
	struct cmd_progress *pr = cmd_progress_new(c.json);
	po.progress = cmd_progress_event;
	po.progress_ctx = pr;
	po.limits = &c.limits;
	struct img_registry *r = pr ? img_registry_open(ref.registry, &c.o, &e) : NULL;
	struct img_pull_result res = {0};
	rc = EXIT_FAIL;
	if (!pr)
		err_set(&e, "out of memory");
	else if (r && (out ? img_pull_archive(r, &ref, &po, out, &res, &e) : img_pull_layout(r, &ref, &po, layout, &res, &e)) == 0)
		rc = EXIT_OK;
	if (pr)
		cmd_progress_done(pr, rc == EXIT_OK ? res.manifest.digest.s : NULL);
	if (rc == EXIT_OK && !c.json)
		printf("%s\n", res.manifest.digest.s);
	if (rc == EXIT_OK && !po.no_referrers)
		show_outcomes(r, &ref, &res.manifest.digest);
	if (rc != EXIT_OK)
		cmd_fail(&e);
	img_pull_result_free(&res);
	img_registry_close(r);
	cmd_progress_free(pr);
	img_ref_free(&ref);
	img_platform_free(&plat);
	return rc;
}
