/* push.c: `ramp push IMAGE REF`: an image archive or layout to a registry. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/transfer.h"
#include "image/push.h"
#include "image/reference.h"
#include "lib/log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ramp push [OPTIONS] IMAGE REF\n\n"
		   "Push IMAGE (an oci-archive file or an OCI layout directory; IMAGE:NAME picks a\n"
		   "named image) and the test records attached to it to REF\n"
		   "([registry[:port]/]repo[:tag][@digest]; docker.io and :latest by default).\n"
		   "Prints the pushed manifest digest.\n\n"
		   "options:\n"
		   "  --from-repo REPO           mount blobs the registry has in REPO instead of uploading\n"
		   "                             (default: the repository of this registry the image\n"
		   "                             was pulled from, if any)\n"
		   "  --chunk-size BYTES         upload in chunks of this size (default: one request per\n"
		   "                             blob, chunks of 64 MiB above 1 GiB)\n"
		   "  --no-test-records          push the image only\n" CMD_REG_HELP
		   "  -h, --help                 this help\n");
}

static int from_repo(const struct cmd_opt *o, const char *arg, struct err *e)
{
	if (!img_ref_valid_repo(arg))
		return err_set(e, "\"%s\" is not a repository name", arg);
	*(const char **)o->target = arg;
	return 0;
}

int cmd_push(int argc, char **argv)
{
	struct cmd_reg c;
	struct img_push_opts po = {0};
	int first, rc;
	cmd_reg_init(&c);
	const struct cmd_opt opts[] = {
		CMD_FN("from-repo", &po.from_repo, from_repo),
		CMD_UINT("chunk-size", &po.chunk_size, 1, 1ull << 40),
		CMD_FLAG("no-test-records", &po.no_referrers),
		CMD_REG_OPTS(&c),
	};
	if ((rc = cmd_opts_parse(CMD_OPTS("push", usage, false, opts), argc, argv, &first)) != CMD_GO)
		return rc;
	if (argc - first != 2)
		return cmd_usage_error("push", "expected IMAGE and REF");
	struct img_ref ref;
	struct err e;
	if (img_ref_parse(argv[first + 1], &ref, &e) < 0)
		return cmd_usage_error("push", "%s", e.msg);
	struct cmd_progress *pr = cmd_progress_new(c.json);
	po.progress = cmd_progress_event;
	po.progress_ctx = pr;
	struct img_registry *r = pr ? img_registry_open(ref.registry, &c.o, &e) : NULL;
	struct img_descriptor d = {0};
	rc = EXIT_FAIL;
	if (!pr)
		err_set(&e, "out of memory");
	else if (r && img_push(r, argv[first], &ref, &po, &d, &e) == 0)
		rc = EXIT_OK;
	if (pr)
		cmd_progress_done(pr, rc == EXIT_OK ? d.digest.s : NULL);
	if (rc == EXIT_OK && !c.json)
		printf("%s\n", d.digest.s);
	if (rc != EXIT_OK)
		cmd_fail(&e);
	img_descriptor_free(&d);
	img_registry_close(r);
	cmd_progress_free(pr);
	img_ref_free(&ref);
	return rc;
}
