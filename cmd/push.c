/* push.c: `ramp push IMAGE REF`: an image archive or layout to a registry. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/transfer.h"
#include "image/push.h"
#include "image/reference.h"
#include "lib/log.h"

enum { OPT_FROM_REPO = OPT_REG_LAST, OPT_CHUNK, OPT_NO_RECORDS };

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

int cmd_push(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"from-repo", required_argument, NULL, OPT_FROM_REPO},
		{"chunk-size", required_argument, NULL, OPT_CHUNK},
		{"no-test-records", no_argument, NULL, OPT_NO_RECORDS},
		{"help", no_argument, NULL, 'h'},
		CMD_REG_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct cmd_reg c;
	struct img_push_opts po = {0};
	unsigned long long v;
	int opt, rc;
	cmd_reg_init(&c);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case OPT_FROM_REPO:
			if (!img_ref_valid_repo(optarg))
				return cmd_usage_error("push", "--from-repo: \"%s\" is not a repository name", optarg);
			po.from_repo = optarg;
			break;
		case OPT_CHUNK:
			if (cmd_parse_uint("push", "--chunk-size", optarg, 1ull << 40, &v))
				return EXIT_USAGE;
			if (!v)
				return cmd_usage_error("push", "--chunk-size: at least 1 byte");
			po.chunk_size = v;
			break;
		case OPT_NO_RECORDS:
			po.no_referrers = true;
			break;
		case '?':
			return cmd_usage_error("push", "unknown option");
		default:
			if ((rc = cmd_reg_option(&c, "push", opt, optarg)))
				return rc;
		}
	}
	if (argc - optind != 2)
		return cmd_usage_error("push", "expected IMAGE and REF");
	struct img_ref ref;
	struct err e;
	if (img_ref_parse(argv[optind + 1], &ref, &e) < 0)
		return cmd_usage_error("push", "%s", e.msg);
	struct cmd_progress *pr = cmd_progress_new(c.json);
	po.progress = cmd_progress_event;
	po.progress_ctx = pr;
	struct img_registry *r = pr ? img_registry_open(ref.registry, &c.o, &e) : NULL;
	struct img_descriptor d = {0};
	rc = EXIT_FAIL;
	if (!pr)
		err_set(&e, "out of memory");
	else if (r && img_push(r, argv[optind], &ref, &po, &d, &e) == 0)
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
