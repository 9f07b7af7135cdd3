/* inspect.c: `ramp inspect`: what an image archive or layout holds, and
 * (--verify) whether every byte of it is what its digests say. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "image/outcome.h"
#include "image/record.h"
#include "image/trust.h"
#include "image/verify.h"
#include "lib/json.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/term.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ramp inspect [--json] [--verify] [--platform OS/ARCH[/VARIANT]]\n"
		   "                    [--trust FILE [--scope REGISTRY/REPO]] IMAGE\n"
		   "\n"
		   "Show an image: manifest digest, platform, layers (digest, diff_id, size), settings,\n"
		   "annotations and attached test records. IMAGE is an oci-archive or a layout directory,\n"
		   "optionally followed by :NAME to pick a named image.\n"
		   "\n"
		   "  --json       one JSON object on stdout\n"
		   "  --verify     re-hash every blob and every layer's uncompressed content; list what\n"
		   "               does not match and exit 1 if anything does\n"
		   "  --platform   which image of a multi-platform index (default: this host's)\n"
		   "  --trust FILE check each signed test record against this trust policy (as `ramp rollout\n"
		   "               --trust` does, the platform aside); exit 1 unless one passes\n"
		   "  --scope REPO the policy's statement for registry/repo (default: its global scope \"*\")\n");
}

struct problems {
	struct jgen *g; /* --json: collect into an array */
	int n;
};

static void on_problem(void *ctx, const char *what, const char *msg)
{
	struct problems *p = ctx;
	p->n++;
	if (p->g) {
		jgen_obj_open(p->g);
		jgen_kstr(p->g, "what", what);
		jgen_kstr(p->g, "problem", msg);
		jgen_obj_close(p->g);
	} else {
		term_printf(stdout, "  MISMATCH %s: %s\n", what, msg);
	}
}

/* A command as a JSON array, as it is written in settings and Dockerfiles. */
static void print_strv(const char *label, const struct strv *s)
{
	struct jgen *g = jgen_new(false);
	const char *buf = NULL;
	size_t len = 0;
	struct err e;
	if (g) {
		jgen_arr_open(g);
		for (size_t i = 0; i < s->n; i++)
			jgen_str(g, s->v[i]);
		jgen_arr_close(g);
		if (jgen_result(g, &buf, &len, &e) < 0)
			buf = NULL;
	}
	term_printf(stdout, "  %-12s%.*s\n", label, buf ? (int)len : 1, buf ? buf : "?");
	jgen_free(g);
}

/* A record's signature: "unsigned", "unverified", or what the policy says. */
struct verdict {
	bool checked, ok;
	char text[sizeof((struct err *)0)->msg];
};

static void judge(const struct img_record *r, const struct img_trust *t, const struct img_trust_policy *p,
		  struct verdict *v)
{
	const struct img_trust_key *k;
	struct err e;
	*v = (struct verdict){0};
	if (!r->envelope) {
		snprintf(v->text, sizeof v->text, "unsigned");
		return;
	}
	if (!t) {
		snprintf(v->text, sizeof v->text, "signed, keyid %s: unverified (no --trust)",
			 *r->envelope->sigs[0].keyid ? r->envelope->sigs[0].keyid : "none");
		return;
	}
	v->checked = true;
	v->ok = img_trust_check_envelope(t, p, &r->image, NULL, r->envelope, &k, &e) == 0;
	if (v->ok)
		snprintf(v->text, sizeof v->text, "signed by key \"%s\" (%s): trusted by policy \"%s\"", k->name,
			 k->key.id.s, p->name);
	else
		snprintf(v->text, sizeof v->text, "signed: NOT trusted by policy \"%s\": %.1900s", p->name, e.msg);
}

static void human(const struct img_image *img, const struct img_record *recs, const struct verdict *vs, size_t n_recs)
{
	const struct img_config *c = &img->config;
	const char *name = img_kvs_get(&img->desc.annotations, IMG_ANN_REF_NAME);
	int64_t total = 0;
	term_printf(stdout, "image        %s%s%s%s\n", img->source, name ? " (" : "", name ? name : "", name ? ")" : "");
	term_printf(stdout, "digest       %s\n", img->desc.digest.s);
	term_printf(stdout, "platform     %s/%s%s%s\n", c->platform.os ? c->platform.os : "?",
		    c->platform.architecture ? c->platform.architecture : "?", c->platform.variant ? "/" : "",
		    c->platform.variant ? c->platform.variant : "");
	if (c->created)
		term_printf(stdout, "created      %s\n", c->created);
	for (size_t i = 0; i < img->manifest.n_layers; i++)
		total += img->manifest.layers[i].size;
	term_printf(stdout, "size         %lld bytes in %zu layer%s\n", (long long)total, img->manifest.n_layers,
		    img->manifest.n_layers == 1 ? "" : "s");
	printf("layers\n");
	for (size_t i = 0; i < img->manifest.n_layers; i++) {
		const struct img_descriptor *d = &img->manifest.layers[i];
		const char *comp = img_kvs_get(&d->annotations, "io.ramp.compression");
		term_printf(stdout, "  %-3zu %s  %12lld B  %s\n", i + 1, d->digest.s, (long long)d->size,
			    comp ? comp : d->media_type);
		printf("      diff_id %s\n", c->diff_ids[i].s);
	}
	printf("config\n");
	if (c->has_entrypoint)
		print_strv("entrypoint", &c->entrypoint);
	if (c->has_cmd)
		print_strv("cmd", &c->cmd);
	for (size_t i = 0; i < c->env.n; i++)
		term_printf(stdout, "  %-12s%s\n", i ? "" : "env", c->env.v[i]);
	if (c->workdir)
		term_printf(stdout, "  %-12s%s\n", "workdir", c->workdir);
	if (c->user)
		term_printf(stdout, "  %-12s%s\n", "user", c->user);
	for (size_t i = 0; i < c->exposed_ports.n; i++)
		term_printf(stdout, "  %-12s%s\n", i ? "" : "ports", c->exposed_ports.v[i]);
	if (c->stop_signal)
		term_printf(stdout, "  %-12s%s\n", "stop signal", c->stop_signal);
	if (c->healthcheck) {
		print_strv("health", &c->healthcheck->test);
		term_printf(stdout, "  %-12sinterval %llds, timeout %llds, start period %llds, retries %lld\n", "",
			    (long long)(c->healthcheck->interval / 1000000000LL), (long long)(c->healthcheck->timeout / 1000000000LL),
			    (long long)(c->healthcheck->start_period / 1000000000LL), (long long)c->healthcheck->retries);
	}
	for (size_t i = 0; i < c->labels.n; i++)
		term_printf(stdout, "  %-12s%s=%s\n", i ? "" : "labels", c->labels.v[i].k, c->labels.v[i].v);
	if (img->manifest.annotations.n)
		printf("annotations\n");
	for (size_t i = 0; i < img->manifest.annotations.n; i++)
		term_printf(stdout, "  %s=%s\n", img->manifest.annotations.v[i].k, img->manifest.annotations.v[i].v);
	term_printf(stdout, "test records%s\n", n_recs ? "" : "  none");
	for (size_t i = 0; i < n_recs; i++) {
		const struct img_record *r = &recs[i];
		term_printf(stdout, "  %s  %s/%s%s%s, kernel %s, %s, exit %d in %.1f s:", r->time,
		       r->platform.os, r->platform.architecture, r->platform.variant ? "/" : "",
		       r->platform.variant ? r->platform.variant : "", r->kernel,
		       r->envelope ? img_result_name(r->result) : img_record_passed(r) ? "passed" : "FAILED", r->exit_code,
		       r->duration_ms / 1000.0);
		for (size_t j = 0; j < r->command.n; j++)
			term_printf(stdout, " %s", r->command.v[j]);
		term_printf(stdout, "\n      %s\n", vs[i].text);
	}
}

static void human_outcomes(const struct img_outcome *o, size_t n)
{
	char line[1400];
	bool bad;
	int k = img_outcome_verdict(o, n, &bad);
	term_printf(stdout, "outcomes%s\n", n ? (bad ? "     known bad" : k < 0 ? "" : "     not known bad") : "     none");
	for (size_t i = 0; i < n; i++) {
		img_outcome_describe(&o[i], line, sizeof line);
		term_printf(stdout, "  %s%s\n", line, o[i].signed_ ? " (signed, not verified)" : "");
	}
}

static void json_outcomes(struct jgen *g, const struct img_outcome *o, size_t n)
{
	bool bad;
	img_outcome_verdict(o, n, &bad);
	jgen_kbool(g, "knownBad", bad);
	jgen_key(g, "outcomes");
	jgen_arr_open(g);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *doc = NULL;
		size_t len;
		struct err e;
		struct json *j = NULL;
		if (img_outcome_json(&o[i], &doc, &len, &e) == 0 && (j = json_parse(doc, len, &e)))
			jgen_value(g, j);
		json_free(j);
	}
	jgen_arr_close(g);
}

static void json_strv(struct jgen *g, const char *k, const struct strv *s)
{
	jgen_key(g, k);
	jgen_arr_open(g);
	for (size_t i = 0; i < s->n; i++)
		jgen_str(g, s->v[i]);
	jgen_arr_close(g);
}

static void json_kvs(struct jgen *g, const char *k, const struct img_kvs *m)
{
	jgen_key(g, k);
	jgen_obj_open(g);
	for (size_t i = 0; i < m->n; i++)
		jgen_kstr(g, m->v[i].k, m->v[i].v);
	jgen_obj_close(g);
}

static void json_image(struct jgen *g, const struct img_image *img, const struct img_record *recs,
		       const struct verdict *vs, size_t n_recs)
{
	const struct img_config *c = &img->config;
	const char *name = img_kvs_get(&img->desc.annotations, IMG_ANN_REF_NAME);
	jgen_kstr(g, "source", img->source);
	if (name)
		jgen_kstr(g, "name", name);
	jgen_kstr(g, "digest", img->desc.digest.s);
	jgen_kstr(g, "mediaType", img->desc.media_type);
	jgen_key(g, "platform");
	jgen_obj_open(g);
	jgen_kstr(g, "os", c->platform.os ? c->platform.os : "");
	jgen_kstr(g, "architecture", c->platform.architecture ? c->platform.architecture : "");
	if (c->platform.variant)
		jgen_kstr(g, "variant", c->platform.variant);
	jgen_obj_close(g);
	if (c->created)
		jgen_kstr(g, "created", c->created);
	jgen_key(g, "layers");
	jgen_arr_open(g);
	for (size_t i = 0; i < img->manifest.n_layers; i++) {
		const struct img_descriptor *d = &img->manifest.layers[i];
		jgen_obj_open(g);
		jgen_kstr(g, "digest", d->digest.s);
		jgen_kstr(g, "diffId", c->diff_ids[i].s);
		jgen_kint(g, "size", d->size);
		jgen_kstr(g, "mediaType", d->media_type);
		json_kvs(g, "annotations", &d->annotations);
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
	jgen_key(g, "config");
	jgen_obj_open(g);
	if (c->has_entrypoint)
		json_strv(g, "entrypoint", &c->entrypoint);
	if (c->has_cmd)
		json_strv(g, "cmd", &c->cmd);
	json_strv(g, "env", &c->env);
	if (c->workdir)
		jgen_kstr(g, "workdir", c->workdir);
	if (c->user)
		jgen_kstr(g, "user", c->user);
	json_strv(g, "ports", &c->exposed_ports);
	if (c->stop_signal)
		jgen_kstr(g, "stopSignal", c->stop_signal);
	if (c->healthcheck) {
		jgen_key(g, "healthcheck");
		jgen_obj_open(g);
		json_strv(g, "test", &c->healthcheck->test);
		jgen_kint(g, "interval", c->healthcheck->interval);
		jgen_kint(g, "timeout", c->healthcheck->timeout);
		jgen_kint(g, "startPeriod", c->healthcheck->start_period);
		jgen_kint(g, "retries", c->healthcheck->retries);
		jgen_obj_close(g);
	}
	json_kvs(g, "labels", &c->labels);
	jgen_obj_close(g);
	json_kvs(g, "annotations", &img->manifest.annotations);
	jgen_key(g, "testRecords");
	jgen_arr_open(g);
	for (size_t i = 0; i < n_recs; i++) {
		const struct img_record *r = &recs[i];
		jgen_obj_open(g);
		jgen_kbool(g, "passed", img_record_passed(r));
		jgen_key(g, "platform");
		jgen_obj_open(g);
		jgen_kstr(g, "os", r->platform.os);
		jgen_kstr(g, "architecture", r->platform.architecture);
		if (r->platform.variant)
			jgen_kstr(g, "variant", r->platform.variant);
		jgen_obj_close(g);
		jgen_kstr(g, "kernel", r->kernel);
		json_strv(g, "command", &r->command);
		jgen_kint(g, "exitCode", r->exit_code);
		jgen_kint(g, "durationMs", r->duration_ms);
		jgen_kstr(g, "time", r->time);
		jgen_kstr(g, "rampVersion", r->version);
		jgen_kstr(g, "result", img_result_name(r->result));
		jgen_kbool(g, "signed", r->envelope != NULL);
		if (r->envelope) {
			jgen_key(g, "keyids");
			jgen_arr_open(g);
			for (size_t k = 0; k < r->envelope->n_sigs; k++)
				jgen_str(g, r->envelope->sigs[k].keyid);
			jgen_arr_close(g);
		}
		if (vs[i].checked) {
			jgen_kbool(g, "trusted", vs[i].ok);
			jgen_kstr(g, "trust", vs[i].text);
		}
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
}

static int platform(const struct cmd_opt *o, const char *arg, struct err *e)
{
	img_platform_free(o->target);
	return img_platform_parse(arg, o->target, e);
}

/* The image, its records and outcomes, as JSON or words; with verify the
 * result of img_verify() (problems found, or -1 with e set). */
static int show(struct img_image *img, const struct img_record *recs, const struct verdict *vs, size_t n_recs,
		const struct img_outcome *outs, size_t n_outs, bool as_json, bool verify, struct err *e)
{
	struct problems p = {0};
	struct jgen *g = NULL;
	if (as_json) {
		g = jgen_new(true);
		jgen_obj_open(g);
		json_image(g, img, recs, vs, n_recs);
		json_outcomes(g, outs, n_outs);
		if (verify) {
			jgen_key(g, "problems");
			jgen_arr_open(g);
			p.g = g;
		}
	} else {
		human(img, recs, vs, n_recs);
		human_outcomes(outs, n_outs);
		if (verify)
			printf("verify\n");
	}
	int bad = verify ? img_verify(img, on_problem, &p, e) : 0;
	if (g) {
		if (verify) {
			jgen_arr_close(g);
			jgen_kbool(g, "verified", bad == 0);
		}
		jgen_obj_close(g);
		const char *buf;
		size_t len;
		if (jgen_result(g, &buf, &len, e) == 0)
			printf("%.*s\n", (int)len, buf);
		jgen_free(g);
	} else if (verify && bad == 0) {
		printf("  ok: every blob and every layer's content match their digests\n");
	}
	return bad;
}

/* --trust FILE and the statement of --scope (default "*") */
static int load_trust(const char *file, const char *scope, struct img_trust *t, const struct img_trust_policy **p)
{
	struct err e;
	if (!file)
		return cmd_usage_error("inspect", "--scope goes with --trust");
	if (img_trust_load(file, t, &e) < 0)
		return cmd_usage_error("inspect", "--trust: %s", e.msg);
	if (!(*p = img_trust_find(t, scope ? scope : "*")))
		return cmd_usage_error("inspect", scope ? "--scope: no statement of the trust policy covers %s"
						 : "--trust: the policy has no global scope \"*\": name the "
						   "repository with --scope REGISTRY/REPO%s",
				       scope ? scope : "");
	return 0;
}

int cmd_inspect(int argc, char **argv)
{
	bool as_json = false, verify = false;
	struct img_platform plat = {0};
	struct img_image img = {0};
	struct img_record *recs = NULL;
	struct img_outcome *outs = NULL;
	size_t n_recs = 0, n_outs = 0;
	const char *trust_file = NULL, *scope = NULL;
	struct img_trust trust = {0};
	const struct img_trust_policy *policy = NULL;
	struct verdict *vs = NULL;
	struct err e;
	int first, rc;
	const struct cmd_opt opts[] = {
		CMD_FLAG("json", &as_json), CMD_STR("trust", &trust_file), CMD_STR("scope", &scope),
		CMD_FLAG("verify", &verify), CMD_FN("platform", &plat, platform),
	};

	if ((rc = cmd_opts_parse(CMD_OPTS("inspect", usage, false, opts), argc, argv, &first)) != CMD_GO)
		goto out;
	rc = EXIT_USAGE;
	if (first != argc - 1) {
		cmd_usage_error("inspect", first >= argc ? "no image given" : "one image at a time");
		goto out;
	}
	if ((scope || trust_file) && load_trust(trust_file, scope, &trust, &policy))
		goto out;
	if (img_image_open(argv[first], NULL, plat.os ? &plat : NULL, &img, &e) < 0 ||
	    img_record_list(&img, &recs, &n_recs, &e) < 0 || img_outcome_list_layout(&img, &outs, &n_outs, &e) < 0) {
		rc = cmd_fail(&e);
		goto out;
	}
	if (!(vs = calloc(n_recs + 1, sizeof *vs))) {
		err_set(&e, "out of memory");
		rc = cmd_fail(&e);
		goto out;
	}
	size_t n_trusted = 0;
	for (size_t i = 0; i < n_recs; i++) {
		judge(&recs[i], trust_file ? &trust : NULL, policy, &vs[i]);
		n_trusted += vs[i].ok;
	}
	int bad = show(&img, recs, vs, n_recs, outs, n_outs, as_json, verify, &e);
	if (bad < 0)
		rc = cmd_fail(&e);
	else if (bad > 0) {
		log_err("%s: %d mismatch%s", argv[first], bad, bad == 1 ? "" : "es");
		rc = EXIT_FAIL;
	} else if (trust_file && !n_trusted) {
		log_err("%s: no test record is trusted by policy \"%s\"", argv[first], policy->name);
		rc = EXIT_FAIL;
	} else
		rc = EXIT_OK;
out:
	free(vs);
	img_trust_free(&trust);
	img_records_free(recs, n_recs);
	img_outcomes_free(outs, n_outs);
	img_image_close(&img);
	img_platform_free(&plat);
	return rc;
}
