/* veto.c: `ramp veto REF --reason TEXT`: mark a digest known-bad in its
 * registry (a veto record, image/outcome.h), or lift that with --remove; with
 * --list, what the digest's records say. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/transfer.h"
#include "image/key.h"
#include "image/outcome.h"
#include "image/pull.h"
#include "image/reference.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ramp veto REF --reason TEXT [OPTIONS]\n"
		   "       ramp veto --remove REF --reason TEXT [OPTIONS]\n"
		   "       ramp veto --list REF [OPTIONS]\n\n"
		   "Mark the image REF ([registry[:port]/]repo[:tag][@digest]; a tag is resolved to its digest)\n"
		   "known-bad: a veto record is attached to the digest in the registry, and `ramp rollout`\n"
		   "refuses the digest (exit 2) unless --override. --remove lifts the veto (recorded too; the\n"
		   "newest record wins). A veto never blocks a revert. --list prints the digest's outcome\n"
		   "records and vetoes, oldest first, and whether they make it known-bad (exit 1 if so).\n"
		   "Prints the digest of the record attached.\n\n"
		   "options:\n"
		   "  --reason TEXT              why (required to veto and to remove a veto)\n"
		   "  --remove                   lift the veto\n"
		   "  --list                     show the records, attach nothing\n"
		   "  --sign-key FILE            sign the record (an Ed25519 private key, 'ramp key generate')\n"
		   CMD_REG_CONN_HELP "  -h, --help                 this help\n");
}

static int list(struct img_registry *r, const struct img_ref *ref, const struct img_digest *d, struct err *e)
{
	struct img_outcome *o;
	size_t n;
	bool bad;
	char line[1400];
	if (img_outcome_list(r, ref->repo, d, &o, &n, e) < 0)
		return cmd_fail(e);
	for (size_t i = 0; i < n; i++) {
		img_outcome_describe(&o[i], line, sizeof line);
		printf("%s%s\n", line, o[i].signed_ ? " (signed)" : "");
	}
	int k = img_outcome_verdict(o, n, &bad);
	printf("%s@%s: %s\n", ref->repo, d->s, bad ? "known bad" : k < 0 ? "no verdict" : "not known bad");
	img_outcomes_free(o, n);
	return bad ? EXIT_FAIL : EXIT_OK;
}

int cmd_veto(int argc, char **argv)
{
	struct cmd_reg c;
	const char *reason = NULL, *sign = NULL;
	bool remove = false, listing = false;
	struct img_privkey key;
	struct err e;
	int first, rc;
	cmd_reg_init(&c);
	const struct cmd_opt opts[] = {
		CMD_STR("reason", &reason), CMD_FLAG("remove", &remove), CMD_FLAG("list", &listing),
		CMD_STR("sign-key", &sign), CMD_REG_CONN_OPTS(&c),
	};
	if ((rc = cmd_opts_parse(CMD_OPTS("veto", usage, false, opts), argc, argv, &first)) != CMD_GO)
		return rc;
	if (argc - first != 1)
		return cmd_usage_error("veto", "expected one REF");
	if (listing && (remove || reason || sign))
		return cmd_usage_error("veto", "--list attaches nothing: no --remove, --reason or --sign-key");
	if (!listing && (!reason || !*reason))
		return cmd_usage_error("veto", "--reason TEXT is required: say why");
	if (reason && strlen(reason) > 4096)
		return cmd_usage_error("veto", "--reason: at most 4096 bytes");
	struct img_ref ref;
	if (img_ref_parse(argv[first], &ref, &e) < 0)
		return cmd_usage_error("veto", "%s", e.msg);
	if (sign && img_key_private_load(sign, &key, &e) < 0) {
		img_ref_free(&ref);
		return cmd_usage_error("veto", "--sign-key: %s", e.msg);
	}
	_cleanup_free_ char *raw = NULL, *mt = NULL, *by = NULL, *ci = NULL;
	size_t len;
	struct img_descriptor subject = {0};
	struct img_digest art;
	char t[CLK_RFC3339_MAX];
	rc = EXIT_FAIL;
	struct img_registry *r = img_registry_open(ref.registry, &c.o, &e);
	if (!r || img_fetch_manifest(r, ref.repo, img_ref_object(&ref), &raw, &len, &mt, &subject.digest, &e) < 0) {
		cmd_fail(&e);
		goto out;
	}
	if (ref.has_digest && !img_digest_eq(&subject.digest, &ref.digest)) {
		err_set(&e, "the registry answered %s for %s", subject.digest.s, ref.digest.s);
		cmd_fail(&e);
		goto out;
	}
	if (listing) {
		rc = list(r, &ref, &subject.digest, &e);
		goto out;
	}
	subject.media_type = mt;
	subject.size = (int64_t)len;
	clk_rfc3339(clk_wall_ms(), true, t, sizeof t);
	struct img_outcome o = {.kind = remove ? IMG_OUTCOME_UNVETO : IMG_OUTCOME_VETO, .image = subject.digest,
				.reason = (char *)reason, .time = t, .version = RAMP_VERSION};
	if (img_outcome_who(&by, &ci, &e) == 0) {
		o.by = by;
		o.ci = ci;
	}
	if (!by || img_outcome_push(r, ref.repo, &subject, &o, sign ? &key : NULL, &art, &e) < 0) {
		cmd_fail(&e);
		goto out;
	}
	log_notice("%s@%s: %s by %s: %s", ref.repo, subject.digest.s, remove ? "veto lifted" : "vetoed", by, reason);
	printf("%s\n", art.s);
	rc = EXIT_OK;
out:
	if (sign)
		img_key_wipe(&key);
	img_registry_close(r);
	img_ref_free(&ref);
	return rc;
}
