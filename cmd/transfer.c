/* transfer.c: registry options and progress output shared by push, pull and login. */
#include "cmd/transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "image/reference.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"

void cmd_reg_init(struct cmd_reg *c)
{
	*c = (struct cmd_reg){0};
	img_registry_opts_init(&c->o);
	img_limits_init(&c->limits);
}

int cmd_reg_limits_env(struct cmd_reg *c, const char *verb)
{
	const char *env = getenv("RAMP_LIMITS");
	struct err e;
	if (env && img_limits_set_list(&c->limits, env, &e) < 0)
		return cmd_usage_error(verb, "RAMP_LIMITS: %s", e.msg);
	return 0;
}

int cmd_reg_creds(const struct cmd_opt *o, const char *arg, struct err *e)
{
	struct cmd_reg *c = o->target;
	if (!strchr(arg, ':') || arg[0] == ':')
		return err_set(e, "expected USER:PASSWORD");
	c->o.creds = arg;
	return 0;
}

int cmd_reg_cacert(const struct cmd_opt *o, const char *arg, struct err *e)
{
	struct cmd_reg *c = o->target;
	if (access(arg, R_OK) < 0)
		return err_set(e, "cannot read \"%s\"", arg);
	c->o.cacert = arg;
	return 0;
}

int cmd_reg_insecure(const struct cmd_opt *o, const char *arg, struct err *e)
{
	struct cmd_reg *c = o->target;
	if (c->n_insecure >= CMD_REG_MAX_INSECURE)
		return err_set(e, "at most %d", CMD_REG_MAX_INSECURE);
	if (!img_ref_valid_registry(arg))
		return err_set(e, "\"%s\" is not HOST[:PORT]", arg);
	c->insecure[c->n_insecure++] = arg;
	c->insecure[c->n_insecure] = NULL;
	c->o.insecure = c->insecure;
	return 0;
}

int cmd_reg_limit(const struct cmd_opt *o, const char *arg, struct err *e)
{
	struct cmd_reg *c = o->target;
	return img_limits_set(&c->limits, arg, e);
}

/* ---- progress ---- */

struct line {
	struct img_digest d;
	uint64_t bytes, total;
	enum img_xfer_state state;
	bool final;
};

struct cmd_progress {
	bool json, tty, quiet;
	struct line *lines;
	size_t n;
	size_t drawn; /* lines on screen */
	uint64_t last_draw;
};

struct cmd_progress *cmd_progress_new(bool json)
{
	struct cmd_progress *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->json = json;
	p->quiet = log_get_level() < LOG_LVL_NOTICE;
	p->tty = !json && !p->quiet && isatty(STDERR_FILENO) && getenv("TERM") && strcmp(getenv("TERM"), "dumb");
	return p;
}

static void human(uint64_t n, char *buf, size_t cap)
{
	if (n >= 10ull << 30)
		snprintf(buf, cap, "%.1f GB", (double)n / (1 << 30));
	else if (n >= 1 << 20)
		snprintf(buf, cap, "%.1f MB", (double)n / (1 << 20));
	else if (n >= 1 << 10)
		snprintf(buf, cap, "%.1f kB", (double)n / (1 << 10));
	else
		snprintf(buf, cap, "%llu B", (unsigned long long)n);
}

static void draw(struct cmd_progress *p)
{
	char out[16384];
	size_t o = 0;
	if (p->drawn)
		o += (size_t)snprintf(out + o, sizeof out - o, "\r\033[%zuA", p->drawn);
	for (size_t i = 0; i < p->n && o + 200 < sizeof out; i++) {
		struct line *l = &p->lines[i];
		char a[32], b[32], bar[31];
		int fill = l->total ? (int)(l->bytes * 30 / l->total) : (l->final ? 30 : 0);
		for (int k = 0; k < 30; k++)
			bar[k] = k < fill ? '#' : '-';
		bar[30] = '\0';
		human(l->bytes, a, sizeof a);
		human(l->total, b, sizeof b);
		const char *st = l->final ? img_xfer_state_name(l->state) : "";
		o += (size_t)snprintf(out + o, sizeof out - o, "\r%.19s [%s] %9s / %-9s %s\033[K\n", l->d.s, bar, a, b, st);
	}
	p->drawn = p->n;
	fwrite(out, 1, o, stderr);
	fflush(stderr);
}

void cmd_progress_event(void *ctx, const struct img_xfer_event *ev)
{
	struct cmd_progress *p = ctx;
	struct line *l = NULL;
	for (size_t i = 0; i < p->n && !l; i++)
		if (img_digest_eq(&p->lines[i].d, ev->digest))
			l = &p->lines[i];
	if (!l) {
		struct line *nl = realloc(p->lines, (p->n + 1) * sizeof *nl);
		if (!nl)
			return;
		p->lines = nl;
		l = &p->lines[p->n++];
		*l = (struct line){.d = *ev->digest};
	}
	l->bytes = ev->bytes;
	l->total = ev->total;
	if (ev->state != IMG_XFER_PROGRESS) {
		l->state = ev->state;
		l->final = true;
	}
	if (p->json) {
		if (ev->state == IMG_XFER_PROGRESS)
			return;
		printf("{\"event\":\"blob\",\"digest\":\"%s\",\"bytes\":%llu,\"total\":%llu,\"state\":\"%s\"}\n", ev->digest->s,
		       (unsigned long long)ev->bytes, (unsigned long long)ev->total, img_xfer_state_name(ev->state));
		fflush(stdout);
		return;
	}
	if (p->quiet)
		return;
	if (p->tty) {
		uint64_t now = (uint64_t)clk_mono_ms();
		if (ev->state != IMG_XFER_PROGRESS || now - p->last_draw >= 100) {
			p->last_draw = now;
			draw(p);
		}
		return;
	}
	if (ev->state != IMG_XFER_PROGRESS) {
		char a[32];
		human(ev->total, a, sizeof a);
		fprintf(stderr, "%s %s (%s)\n", ev->digest->s, img_xfer_state_name(ev->state), a);
	}
}

void cmd_progress_done(struct cmd_progress *p, const char *digest)
{
	if (p->tty && p->n)
		draw(p);
	if (p->json && digest) {
		printf("{\"event\":\"done\",\"digest\":\"%s\"}\n", digest);
		fflush(stdout);
	}
}

void cmd_progress_free(struct cmd_progress *p)
{
	if (!p)
		return;
	free(p->lines);
	free(p);
}
