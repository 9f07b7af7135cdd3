/* fakefleet.c: a simulated fleet of rampd hosts for the orchestrator's tests
 * and benchmarks: one process (libmicrohttpd, one epoll thread) serving the
 * agent API of docs/API.md for many hosts. Host i listens on 127.1.0.1 + i
 * (all of 127.0.0.0/8 is loopback), on one shared port; a connection's local
 * address says which host it talks to. Requests to any other address (e.g.
 * 127.0.0.1) reach the control API:
 *
 *   GET  /_fake/state            every host's apps, request and connection counters (JSON)
 *   POST /_fake/behave           body: behaviour rules, one per line (below)
 *
 * Generation fencing is exactly API.md's: PUT, revert and DELETE with a lower
 * generation than the app has accepted get 409 stale_generation; a PUT with
 * the same generation and another image gets 409 conflict. Kept versions
 * (previous, newest first) make revert work without "pulling".
 *
 * An app's life is computed from timestamps when it is looked at: after a PUT
 * it is pulling, unpacking (start/3), starting (2*start/3, the new version
 * becomes current), then healthy at start ms; a revert, or a PUT of a kept
 * version (as rampd does it: no pull), is reverting for revert ms, then
 * healthy.
 *
 * Metrics of an app (docs/API.md, "Metrics of an app"), for the canary
 * analysis: PUT /v1/apps/NAME/metrics/watch starts the scraping, DELETE stops
 * it, GET /v1/apps/NAME/metrics?since=MS answers the samples, as if scraped
 * every 5 s (rampd's default) since the watch was first set, in one window
 * per version (the running one and the one before). The app's page is that of
 * a good release of a typical HTTP service: http_requests_total by code (0.5%
 * code 500) and the http_request_duration_seconds histogram, the same on
 * every version; each host's traffic is 20-40 requests/s (--rps sets the
 * least), fixed per host.
 *
 * Behaviour rules: "GLOB RULE [ARGS]", GLOB matching host names (fnmatch):
 *   ok                   forget this host's earlier rules, answer again
 *   crash DIGEST         starting DIGEST fails (phase failed)
 *   sick DIGEST MS       DIGEST turns unhealthy MS after it became healthy
 *   hang [MS]            stop answering now (for MS, else until "ok")
 *   hang-on DIGEST [MS]  stop answering once told to run DIGEST
 *   slow MS              every answer takes MS longer
 *   start MS             starting takes MS (default --start-ms)
 *   norevert             revert requests fail with 500
 *   platform OS/ARCH     what /v1/info reports
 *   liar DIGEST          DIGEST reports phase "healthy" with "healthy": false
 *   flap DIGEST MS       DIGEST goes unhealthy and healthy again every MS between two
 *                        looks: the phase stays "healthy", healthySince moves on
 * DIGEST may be "*" (any).
 *
 * usage: fakefleet --hosts N --fleet-out FILE [--ready FILE] [--port P]
 *                  [--zones a,b,c] [--app NAME=IMAGE]... [--new GLOB]...
 *                  [--start-ms MS] [--revert-ms MS] [--behave RULE]...
 *                  [--token FILE] [--tls-cert FILE --tls-key FILE] [--rps N]
 * With a certificate it speaks HTTPS only (the control API too).
 * SIGTERM or SIGINT stops it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/api.h"
#include "lib/clock.h"
#include "lib/fs.h"
#include "lib/json.h"

#define MAX_APPS 4
#define MAX_PREV 6
#define MAX_HIST 20
#define MAX_RULES 256
#define HOST_BASE 0x7f010001u /* 127.1.0.1 */

struct ver {
	char image[300];
	char digest[72];
};

struct hist {
	int64_t t;
	char phase[16];
	char msg[120];
};

enum trans { T_NONE, T_DEPLOY, T_REVERT };

/* the scraped window of one version: from its start until it stopped (0: runs) */
struct window {
	char digest[72];
	int64_t from, to;
};

#define SCRAPE_MS 5000
#define MAX_SAMPLES 720
#define MAX_WATCH 16

struct app {
	bool used;
	char name[64];
	int64_t generation;
	char rollout[129];
	struct ver desired, current, target;
	bool has_current, has_desired;
	struct ver prev[MAX_PREV];
	int n_prev;
	char phase[16];
	int64_t phase_since;
	bool healthy;
	int64_t healthy_since, sick_at;
	int64_t restarts;
	char message[200];
	struct hist hist[MAX_HIST];
	int n_hist;
	enum trans trans;
	int64_t trans_start;
	int stage;
	struct window win[2]; /* the current version's, then the one before */
	int64_t watched_since; /* 0: no watch */
	char watch[MAX_WATCH][API_MAX_NAME + 1];
	int n_watch;
};

struct host {
	char name[32];
	char address[32];
	struct app apps[MAX_APPS];
	_Atomic int64_t hang_until; /* read by the resume thread */
	int64_t n_get, n_put, n_revert, n_delete, n_stale, n_conflict;
	int64_t n_conn; /* connections made to it (keep-alive shows as few) */
};

enum rule_kind { RULE_OK, RULE_CRASH, RULE_SICK, RULE_HANG, RULE_HANG_ON, RULE_SLOW, RULE_START, RULE_NOREVERT, RULE_PLATFORM,
		RULE_LIAR, RULE_FLAP };

struct rule {
	char glob[64];
	enum rule_kind kind;
	char digest[72];
	int64_t ms;
	char arg[64];
};

static struct host *hosts;
static size_t n_hosts;
static struct rule rules[MAX_RULES];
static size_t n_rules;
static int64_t start_ms = 30, revert_ms = 10, t_boot, rps = 20;
static char *token;

/* connections put aside: hanging hosts and slow answers */
struct parked {
	struct MHD_Connection *c;
	size_t host;
	int64_t until; /* slow: resume then; hang: the host's hang_until decides */
	bool hang;
	struct parked *next;
};
static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER; /* something to resume, or quit */
static struct parked *parked_list;
static atomic_bool quitting;

static int64_t now_ms(void)
{
	return clk_wall_ms();
}

static void fmt_time(char *buf, size_t n, int64_t ms)
{
	clk_rfc3339(ms, true, buf, n);
}

/* ---- rules ---- */

/* The newest rule of a kind for host h (after its newest "ok"), or NULL. */
static const struct rule *rule_for(size_t h, enum rule_kind kind, const char *digest)
{
	for (size_t k = n_rules; k-- > 0;) {
		const struct rule *r = &rules[k];
		if (fnmatch(r->glob, hosts[h].name, 0))
			continue;
		if (r->kind == RULE_OK)
			return NULL;
		if (r->kind != kind)
			continue;
		if (digest && strcmp(r->digest, "*") && strcmp(r->digest, digest))
			continue;
		return r;
	}
	return NULL;
}

static int add_rule(const char *line, char *why, size_t why_n)
{
	char glob[64], kind[16], a1[80] = "", a2[80] = "";
	int n = sscanf(line, "%63s %15s %79s %79s", glob, kind, a1, a2);
	struct rule r = {0};
	if (n < 2) {
		snprintf(why, why_n, "expected GLOB RULE [ARGS]");
		return -1;
	}
	if (n_rules == MAX_RULES) {
		snprintf(why, why_n, "too many rules");
		return -1;
	}
	snprintf(r.glob, sizeof r.glob, "%s", glob);
	static const char *names[] = {"ok",	     "crash",    "sick",     "hang", "hang-on", "slow",
				      "start", "norevert", "platform", "liar", "flap"};
	size_t k;
	for (k = 0; k < sizeof names / sizeof *names && strcmp(names[k], kind); k++)
		;
	if (k == sizeof names / sizeof *names) {
		snprintf(why, why_n, "unknown rule \"%s\"", kind);
		return -1;
	}
	r.kind = (enum rule_kind)k;
	switch (r.kind) {
	case RULE_CRASH:
	case RULE_SICK:
	case RULE_HANG_ON:
	case RULE_LIAR:
	case RULE_FLAP:
		if (n < 3) {
			snprintf(why, why_n, "%s needs a digest", kind);
			return -1;
		}
		snprintf(r.digest, sizeof r.digest, "%s", a1);
		r.ms = n >= 4 ? atoll(a2) : (r.kind == RULE_HANG_ON ? -1 : 0);
		break;
	case RULE_HANG:
		r.ms = n >= 3 ? atoll(a1) : -1;
		break;
	case RULE_SLOW:
	case RULE_START:
		r.ms = n >= 3 ? atoll(a1) : 0;
		break;
	case RULE_PLATFORM:
		snprintf(r.arg, sizeof r.arg, "%s", n >= 3 ? a1 : "linux/amd64");
		break;
	default:
		break;
	}
	rules[n_rules++] = r;
	int64_t now = now_ms();
	for (size_t h = 0; h < n_hosts; h++) {
		if (fnmatch(r.glob, hosts[h].name, 0))
			continue;
		if (r.kind == RULE_OK)
			atomic_store(&hosts[h].hang_until, 0);
		else if (r.kind == RULE_HANG)
			atomic_store(&hosts[h].hang_until, r.ms < 0 ? INT64_MAX : now + r.ms);
	}
	return 0;
}

/* ---- the life of an app ---- */

static void set_phase(struct app *a, const char *phase, int64_t t, const char *msg)
{
	snprintf(a->phase, sizeof a->phase, "%s", phase);
	a->phase_since = t;
	snprintf(a->message, sizeof a->message, "%s", msg);
	if (a->n_hist == MAX_HIST) {
		memmove(a->hist, a->hist + 1, (MAX_HIST - 1) * sizeof *a->hist);
		a->n_hist--;
	}
	struct hist *x = &a->hist[a->n_hist++];
	x->t = t;
	snprintf(x->phase, sizeof x->phase, "%s", phase);
	snprintf(x->msg, sizeof x->msg, "%s", msg);
}

static void keep_previous(struct app *a, const struct ver *v)
{
	/* newest first, no duplicates */
	for (int k = 0; k < a->n_prev; k++)
		if (!strcmp(a->prev[k].digest, v->digest)) {
			memmove(a->prev + k, a->prev + k + 1, (size_t)(a->n_prev - k - 1) * sizeof *a->prev);
			a->n_prev--;
			break;
		}
	if (a->n_prev == MAX_PREV)
		a->n_prev--;
	memmove(a->prev + 1, a->prev, (size_t)a->n_prev * sizeof *a->prev);
	a->prev[0] = *v;
	a->n_prev++;
}

static void drop_previous(struct app *a, const char *digest)
{
	for (int k = 0; k < a->n_prev; k++)
		if (!strcmp(a->prev[k].digest, digest)) {
			memmove(a->prev + k, a->prev + k + 1, (size_t)(a->n_prev - k - 1) * sizeof *a->prev);
			a->n_prev--;
			return;
		}
}

static void switch_to(struct app *a, const struct ver *v, int64_t t)
{
	if (!a->has_current || strcmp(a->current.digest, v->digest)) {
		if (a->has_current) {
			keep_previous(a, &a->current);
			a->win[1] = a->win[0];
			a->win[1].to = t;
		}
		a->win[0] = (struct window){.from = t};
		snprintf(a->win[0].digest, sizeof a->win[0].digest, "%s", v->digest);
	}
	drop_previous(a, v->digest);
	a->current = *v;
	a->has_current = true;
}

static void became_ready(size_t h, struct app *a, int64_t t)
{
	a->trans = T_NONE;
	if (rule_for(h, RULE_CRASH, a->current.digest)) {
		a->healthy = false;
		a->restarts++;
		set_phase(a, API_PHASE_FAILED, t, "the container exited with status 1 while starting");
		return;
	}
	/* a liar's phase says healthy, its flag does not */
	a->healthy = !rule_for(h, RULE_LIAR, a->current.digest);
	a->healthy_since = t;
	const struct rule *sick = rule_for(h, RULE_SICK, a->current.digest);
	a->sick_at = sick ? t + sick->ms : 0;
	set_phase(a, API_PHASE_HEALTHY, t, "");
}

/* Apply everything that has happened to the app up to now. */
static void advance(size_t h, struct app *a, int64_t now)
{
	if (a->trans == T_DEPLOY) {
		const struct rule *r = rule_for(h, RULE_START, NULL);
		int64_t s = r ? r->ms : start_ms, t0 = a->trans_start;
		if (a->stage < 1 && now >= t0 + s / 3) {
			a->stage = 1;
			set_phase(a, API_PHASE_UNPACKING, t0 + s / 3, "");
		}
		if (a->stage < 2 && now >= t0 + 2 * s / 3) {
			a->stage = 2;
			switch_to(a, &a->target, t0 + 2 * s / 3);
			a->healthy = false;
			set_phase(a, API_PHASE_STARTING, t0 + 2 * s / 3, "");
		}
		if (a->stage < 3 && now >= t0 + s) {
			a->stage = 3;
			became_ready(h, a, t0 + s);
		}
	} else if (a->trans == T_REVERT && now >= a->trans_start + revert_ms) {
		became_ready(h, a, a->trans_start + revert_ms);
	}
	const struct rule *flap = a->trans == T_NONE && a->healthy ? rule_for(h, RULE_FLAP, a->current.digest) : NULL;
	if (flap && flap->ms > 0 && now - a->healthy_since >= flap->ms)
		a->healthy_since += (now - a->healthy_since) / flap->ms * flap->ms;
	if (a->trans == T_NONE && a->healthy && a->sick_at && now >= a->sick_at) {
		int64_t t = a->sick_at;
		a->healthy = false;
		a->sick_at = 0;
		set_phase(a, API_PHASE_UNHEALTHY, t, "health check failed: HTTP 500 from /health");
	}
}

static struct app *find_app(size_t h, const char *name)
{
	for (int k = 0; k < MAX_APPS; k++)
		if (hosts[h].apps[k].used && !strcmp(hosts[h].apps[k].name, name))
			return &hosts[h].apps[k];
	return NULL;
}

static struct app *new_app(size_t h, const char *name)
{
	for (int k = 0; k < MAX_APPS; k++)
		if (!hosts[h].apps[k].used) {
			struct app *a = &hosts[h].apps[k];
			*a = (struct app){.used = true};
			snprintf(a->name, sizeof a->name, "%s", name);
			return a;
		}
	return NULL;
}

static void gen_ver(struct jgen *g, const char *key, const struct ver *v, int64_t since)
{
	if (key)
		jgen_key(g, key);
	jgen_obj_open(g);
	jgen_kstr(g, "image", v->image);
	jgen_kstr(g, API_F_DIGEST, v->digest);
	if (since) {
		char t[40];
		fmt_time(t, sizeof t, since);
		jgen_kstr(g, API_F_SINCE, t);
	}
	jgen_obj_close(g);
}

static void gen_status(struct jgen *g, const struct app *a)
{
	char t[40];
	jgen_obj_open(g);
	jgen_kstr(g, API_F_NAME, a->name);
	jgen_kint(g, API_F_GENERATION, a->generation);
	jgen_kstr(g, API_F_ROLLOUT, a->rollout);
	jgen_kstr(g, API_F_PHASE, a->phase);
	fmt_time(t, sizeof t, a->phase_since);
	jgen_kstr(g, API_F_PHASE_SINCE, t);
	if (a->has_desired)
		gen_ver(g, API_F_DESIRED, &a->desired, 0);
	if (a->has_current)
		gen_ver(g, API_F_CURRENT, &a->current, a->phase_since);
	jgen_key(g, API_F_PREVIOUS);
	jgen_arr_open(g);
	for (int k = 0; k < a->n_prev; k++)
		gen_ver(g, NULL, &a->prev[k], 0);
	jgen_arr_close(g);
	jgen_key(g, API_F_PINNED);
	jgen_arr_open(g);
	jgen_arr_close(g);
	jgen_key(g, API_F_HEALTH);
	jgen_obj_open(g);
	jgen_kbool(g, API_F_HEALTHY, a->healthy);
	if (a->healthy) {
		fmt_time(t, sizeof t, a->healthy_since);
		jgen_kstr(g, API_F_HEALTHY_SINCE, t);
	}
	jgen_key(g, API_F_PROBES);
	jgen_arr_open(g);
	if (a->has_current) {
		jgen_obj_open(g);
		fmt_time(t, sizeof t, now_ms());
		jgen_kstr(g, "time", t);
		jgen_kbool(g, "ok", a->healthy);
		jgen_kint(g, "ms", 1);
		jgen_kstr(g, "output", a->healthy ? "200 OK" : "500 Internal Server Error");
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
	jgen_obj_close(g);
	jgen_kint(g, API_F_RESTARTS, a->restarts);
	jgen_kstr(g, API_F_MESSAGE, a->message);
	jgen_key(g, API_F_HISTORY);
	jgen_arr_open(g);
	for (int k = 0; k < a->n_hist; k++) {
		jgen_obj_open(g);
		fmt_time(t, sizeof t, a->hist[k].t);
		jgen_kstr(g, "time", t);
		jgen_kstr(g, API_F_PHASE, a->hist[k].phase);
		jgen_kstr(g, API_F_MESSAGE, a->hist[k].msg);
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
	jgen_obj_close(g);
}

/* ---- HTTP ---- */

struct req {
	char *body;
	size_t len;
	bool too_large, resumed;
};

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned code, const char *type, const char *s, size_t n)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)s, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned code, struct jgen *g)
{
	const char *buf;
	size_t len;
	struct err e;
	if (jgen_result(g, &buf, &len, &e) < 0) {
		jgen_free(g);
		return send_text(c, 500, "text/plain", e.msg, strlen(e.msg));
	}
	enum MHD_Result r = send_text(c, code, "application/json", buf, len);
	jgen_free(g);
	return r;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned code, const char *err, const char *msg)
{
	struct jgen *g = jgen_new(false);
	jgen_obj_open(g);
	jgen_kstr(g, "error", err);
	jgen_kstr(g, "message", msg);
	jgen_obj_close(g);
	return send_json(c, code, g);
}

static enum MHD_Result send_status(struct MHD_Connection *c, unsigned code, const struct app *a)
{
	struct jgen *g = jgen_new(false);
	gen_status(g, a);
	return send_json(c, code, g);
}

static bool app_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > API_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (i && strchr("_.-", ch))))
			return false;
	}
	return true;
}

/* "repo@sha256:<64 hex>" → the digest, or NULL */
static const char *pinned_digest(const char *image)
{
	const char *at = strrchr(image, '@');
	if (!at || at == image || strncmp(at + 1, "sha256:", 7) || strlen(at + 8) != 64 || strlen(image) >= 300)
		return NULL;
	for (const char *p = at + 8; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return NULL;
	return at + 1;
}

/* Strict body: only the keys given, of the right types. */
static struct json *parse_body(struct req *q, const char *const *keys, char *why, size_t n)
{
	struct err e;
	struct json *j = json_parse(q->body ? q->body : "", q->len, &e);
	if (!j) {
		snprintf(why, n, "%.250s", e.msg);
		return NULL;
	}
	if (json_only_keys(j, keys, "body", &e) < 0) {
		snprintf(why, n, "%.250s", e.msg);
		json_free(j);
		return NULL;
	}
	return j;
}

static int get_generation(const struct json *j, bool required, int64_t *gen, char *why, size_t n)
{
	struct err e;
	*gen = 0;
	if (json_field_int(j, API_F_GENERATION, required, gen, &e) < 0) {
		snprintf(why, n, "%.250s", e.msg);
		return -1;
	}
	if (required && *gen < 1) {
		snprintf(why, n, "generation must be at least 1");
		return -1;
	}
	return 0;
}

static enum MHD_Result stale(struct MHD_Connection *c, size_t h, const struct app *a, int64_t gen)
{
	char msg[200];
	hosts[h].n_stale++;
	snprintf(msg, sizeof msg, "generation %" PRId64 " is older than %" PRId64 ", which app %s has accepted", gen,
		 a->generation, a->name);
	return send_error(c, 409, API_E_STALE, msg);
}

static enum MHD_Result do_put(struct MHD_Connection *c, size_t h, const char *name, struct req *q, int64_t now)
{
	static const char *const keys[] = {API_F_IMAGE, API_F_ROLLOUT, API_F_GENERATION, NULL};
	char why[300];
	struct err e;
	const char *image = NULL, *rollout = "";
	int64_t gen;
	struct json *j = parse_body(q, keys, why, sizeof why);
	if (!j)
		return send_error(c, 400, API_E_BAD_REQUEST, why);
	if (json_field_str(j, API_F_IMAGE, true, &image, &e) < 0 || json_field_str(j, API_F_ROLLOUT, false, &rollout, &e) < 0) {
		json_free(j);
		return send_error(c, 400, API_E_BAD_REQUEST, e.msg);
	}
	if (get_generation(j, true, &gen, why, sizeof why) < 0 || strlen(rollout) > 128) {
		json_free(j);
		return send_error(c, 400, API_E_BAD_REQUEST, strlen(rollout) > 128 ? "rollout id too long" : why);
	}
	const char *digest = pinned_digest(image);
	if (!digest) {
		json_free(j);
		return send_error(c, 400, API_E_BAD_REQUEST, "image must be pinned by digest (repo@sha256:...)");
	}
	hosts[h].n_put++;
	struct app *a = find_app(h, name);
	if (a) {
		advance(h, a, now);
		if (gen < a->generation) {
			json_free(j);
			return stale(c, h, a, gen);
		}
		if (gen == a->generation && (!a->has_desired || strcmp(a->desired.image, image))) {
			json_free(j);
			hosts[h].n_conflict++;
			return send_error(c, 409, API_E_CONFLICT, "same generation, different image");
		}
	} else if (!(a = new_app(h, name))) {
		json_free(j);
		return send_error(c, 500, API_E_INTERNAL, "too many apps on this fake host");
	}
	a->generation = gen;
	snprintf(a->rollout, sizeof a->rollout, "%s", rollout);
	/* the same image again is harmless: nothing restarts */
	bool same = a->has_desired && !strcmp(a->desired.digest, digest) && strcmp(a->phase, API_PHASE_FAILED);
	if (!same) {
		snprintf(a->desired.image, sizeof a->desired.image, "%s", image);
		snprintf(a->desired.digest, sizeof a->desired.digest, "%s", digest);
		a->has_desired = true;
		a->target = a->desired;
		a->trans_start = now;
		a->stage = 0;
		a->sick_at = 0;
		bool kept = false;
		for (int k = 0; k < a->n_prev; k++)
			kept |= !strcmp(a->prev[k].digest, digest);
		if (kept) {
			/* as rampd does: a kept version is switched to, no pull */
			switch_to(a, &a->target, now);
			a->healthy = false;
			a->trans = T_REVERT;
			set_phase(a, API_PHASE_REVERTING, now, "switching to a kept version");
		} else {
			a->trans = T_DEPLOY;
			set_phase(a, API_PHASE_PULLING, now, "");
		}
	}
	const struct rule *r = rule_for(h, RULE_HANG_ON, digest);
	json_free(j);
	if (r) {
		atomic_store(&hosts[h].hang_until, r->ms < 0 ? INT64_MAX : now + r->ms);
		return MHD_NO; /* it took the request, then went away */
	}
	return send_status(c, 202, a);
}

static enum MHD_Result do_revert(struct MHD_Connection *c, size_t h, const char *name, struct req *q, int64_t now)
{
	static const char *const keys[] = {API_F_TO, API_F_GENERATION, NULL};
	char why[300];
	struct err e;
	const char *to = NULL;
	int64_t gen;
	struct app *a = find_app(h, name);
	if (!a)
		return send_error(c, 404, API_E_NOT_FOUND, "no such app");
	struct json *j = parse_body(q, keys, why, sizeof why);
	if (!j)
		return send_error(c, 400, API_E_BAD_REQUEST, why);
	if (json_field_str(j, API_F_TO, true, &to, &e) < 0 || get_generation(j, true, &gen, why, sizeof why) < 0) {
		json_free(j);
		return send_error(c, 400, API_E_BAD_REQUEST, to ? why : e.msg);
	}
	advance(h, a, now);
	hosts[h].n_revert++;
	if (gen < a->generation) {
		json_free(j);
		return stale(c, h, a, gen);
	}
	if (rule_for(h, RULE_NOREVERT, NULL)) {
		json_free(j);
		return send_error(c, 500, API_E_INTERNAL, "revert failed (simulated)");
	}
	struct ver target = {0};
	bool found = false;
	if (!strcmp(to, "previous")) {
		if (a->n_prev) {
			target = a->prev[0];
			found = true;
		}
	} else {
		for (int k = 0; k < a->n_prev && !found; k++)
			if (!strcmp(a->prev[k].digest, to)) {
				target = a->prev[k];
				found = true;
			}
		if (!found && a->has_current && !strcmp(a->current.digest, to)) {
			target = a->current;
			found = true;
		}
	}
	json_free(j);
	if (!found)
		return send_error(c, 422, API_E_NOTHING_TO_REVERT, "no kept version to revert to");
	a->generation = gen;
	a->desired = target;
	a->has_desired = true;
	bool running = a->has_current && !strcmp(a->current.digest, target.digest) && a->trans == T_NONE &&
		       !strcmp(a->phase, API_PHASE_HEALTHY);
	if (!running) {
		switch_to(a, &target, now);
		a->healthy = false;
		a->sick_at = 0;
		a->trans = T_REVERT;
		a->trans_start = now;
		set_phase(a, API_PHASE_REVERTING, now, "");
	}
	return send_status(c, 202, a);
}

static enum MHD_Result do_delete(struct MHD_Connection *c, size_t h, const char *name, struct req *q)
{
	static const char *const keys[] = {API_F_GENERATION, NULL};
	char why[300];
	int64_t gen = 0;
	struct app *a = find_app(h, name);
	if (!a)
		return send_error(c, 404, API_E_NOT_FOUND, "no such app");
	if (q->len) {
		struct json *j = parse_body(q, keys, why, sizeof why);
		if (!j || get_generation(j, false, &gen, why, sizeof why) < 0) {
			json_free(j);
			return send_error(c, 400, API_E_BAD_REQUEST, why);
		}
		json_free(j);
	}
	hosts[h].n_delete++;
	if (gen < a->generation)
		return stale(c, h, a, gen);
	a->used = false;
	struct jgen *g = jgen_new(false);
	jgen_obj_open(g);
	jgen_kstr(g, "deleted", name);
	jgen_obj_close(g);
	return send_json(c, 200, g);
}

/* ---- metrics of an app ---- */

/* the latency histogram: bucket bounds, and the share of requests at most that slow */
static const char *const le_text[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"};
static const int le_permille[] = {100, 300, 700, 900, 970, 995, 999, 1000, 1000};
#define N_LE (sizeof le_text / sizeof *le_text)

/* requests host h served in ms of a container's life */
static int64_t requests(size_t h, int64_t ms)
{
	int64_t share = 100 + (int64_t)(h * 37 % 101); /* 1.00-2.00 times --rps */
	return ms * rps * share / 100000;
}

static bool watched(const struct app *a, const char *family)
{
	for (int k = 0; k < a->n_watch; k++)
		if (!strncmp(a->watch[k], family, strlen(family)))
			return true;
	return false;
}

/* One series: its values at the window's scrape times t0, t0 + SCRAPE_MS, ... (n of them). */
static void gen_series(struct jgen *g, size_t h, const struct window *w, int64_t t0, int n, const char *name,
		       const char *family, const char *type, const char *lkey, const char *lval, int kind)
{
	jgen_obj_open(g);
	jgen_kstr(g, "name", name);
	jgen_kstr(g, "family", family);
	jgen_kstr(g, "type", type);
	jgen_key(g, "labels");
	jgen_obj_open(g);
	if (lkey)
		jgen_kstr(g, lkey, lval);
	jgen_obj_close(g);
	jgen_kbool(g, "cumulative", true);
	jgen_kint(g, "resets", 0);
	jgen_key(g, "values");
	jgen_arr_open(g);
	for (int i = 0; i < n; i++) {
		int64_t r = requests(h, t0 + i * SCRAPE_MS - w->from), err = r * 5 / 1000;
		if (kind == -1) /* code 200 */
			jgen_int(g, r - err);
		else if (kind == -2) /* code 500 */
			jgen_int(g, err);
		else if (kind == -3) /* _sum: 20 ms on average */
			jgen_real(g, (double)r * 0.02);
		else if (kind == -4) /* _count */
			jgen_int(g, r);
		else
			jgen_int(g, r * le_permille[kind] / 1000);
	}
	jgen_arr_close(g);
	jgen_obj_close(g);
}

/* A version's window: the scrapes after since (all of them without samples: none). */
static void gen_window(struct jgen *g, size_t h, const struct app *a, const struct window *w, bool current,
		       int64_t since, bool samples, int64_t now)
{
	int64_t start = w->from > a->watched_since ? w->from : a->watched_since, end = w->to ? w->to : now;
	int64_t total = a->watched_since && end >= start ? (end - start) / SCRAPE_MS + 1 : 0;
	int64_t first = total > MAX_SAMPLES ? total - MAX_SAMPLES : 0; /* the window keeps the last ones */
	if (since >= start)
		first = first > (since - start) / SCRAPE_MS + 1 ? first : (since - start) / SCRAPE_MS + 1;
	int n = samples && total > first ? (int)(total - first) : 0;
	int64_t t0 = start + first * SCRAPE_MS;
	jgen_obj_open(g);
	jgen_kstr(g, API_F_DIGEST, w->digest);
	jgen_kbool(g, "current", current);
	jgen_kint(g, "scrapes", total);
	jgen_kint(g, "failures", 0);
	jgen_kint(g, "consecutiveFailures", 0);
	jgen_key(g, "lastError");
	jgen_null(g);
	jgen_key(g, "lastErrorMs");
	jgen_null(g);
	jgen_key(g, "lastScrapeMs");
	if (total)
		jgen_int(g, start + (total - 1) * SCRAPE_MS);
	else
		jgen_null(g);
	jgen_kint(g, "restarts", 0);
	jgen_key(g, "untrusted");
	jgen_null(g);
	jgen_kint(g, "droppedSeries", 0);
	jgen_key(g, "times");
	jgen_arr_open(g);
	for (int i = 0; i < n; i++)
		jgen_int(g, t0 + i * SCRAPE_MS);
	jgen_arr_close(g);
	jgen_key(g, "series");
	jgen_arr_open(g);
	if (watched(a, "http_requests_total")) {
		gen_series(g, h, w, t0, n, "http_requests_total", "http_requests_total", "counter", "code", "200", -1);
		gen_series(g, h, w, t0, n, "http_requests_total", "http_requests_total", "counter", "code", "500", -2);
	}
	if (watched(a, "http_request_duration_seconds")) {
		const char *f = "http_request_duration_seconds";
		for (size_t k = 0; k < N_LE; k++)
			gen_series(g, h, w, t0, n, "http_request_duration_seconds_bucket", f, "histogram", "le", le_text[k],
				   (int)k);
		gen_series(g, h, w, t0, n, "http_request_duration_seconds_sum", f, "histogram", NULL, NULL, -3);
		gen_series(g, h, w, t0, n, "http_request_duration_seconds_count", f, "histogram", NULL, NULL, -4);
	}
	jgen_arr_close(g);
	jgen_obj_close(g);
}

static enum MHD_Result send_metrics(struct MHD_Connection *c, size_t h, const struct app *a, int64_t since,
				    bool samples, int64_t now)
{
	char boot[40];
	snprintf(boot, sizeof boot, "%016" PRIx64 "%016" PRIx64, (uint64_t)t_boot, (uint64_t)getpid());
	struct jgen *g = jgen_new(false);
	jgen_obj_open(g);
	jgen_kstr(g, "app", a->name);
	jgen_key(g, "rampd");
	jgen_obj_open(g);
	jgen_kstr(g, "bootId", boot);
	jgen_kint(g, "startedMs", t_boot);
	jgen_obj_close(g);
	jgen_kint(g, "nowMs", now);
	jgen_kint(g, "intervalMs", SCRAPE_MS);
	jgen_kint(g, "maxSeries", 64);
	jgen_kint(g, "maxSamples", MAX_SAMPLES);
	jgen_key(g, "endpoint");
	jgen_obj_open(g);
	jgen_kstr(g, "port", "8080/tcp");
	jgen_kstr(g, "path", "/metrics");
	jgen_kstr(g, "address", "127.0.0.1:8080");
	jgen_obj_close(g);
	jgen_key(g, "endpointError");
	jgen_null(g);
	jgen_key(g, API_F_WATCH);
	jgen_arr_open(g);
	for (int k = 0; k < a->n_watch; k++) {
		jgen_obj_open(g);
		jgen_kstr(g, "name", a->watch[k]);
		jgen_key(g, "labels");
		jgen_obj_open(g);
		jgen_obj_close(g);
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
	jgen_key(g, "versions");
	jgen_arr_open(g);
	for (int k = 0; k < 2; k++) {
		const struct window *w = &a->win[k];
		/* the window of a version no longer running goes a full window after its end */
		if (w->digest[0] && (!w->to || now - w->to <= MAX_SAMPLES * SCRAPE_MS))
			gen_window(g, h, a, w, k == 0, since, samples, now);
	}
	jgen_arr_close(g);
	jgen_obj_close(g);
	return send_json(c, 200, g);
}

/* PUT: the body's selectors (names; labels are not looked at), DELETE: no more watching */
static enum MHD_Result do_watch(struct MHD_Connection *c, size_t h, struct app *a, const char *method, struct req *q,
				int64_t now)
{
	static const char *const keys[] = {"series", NULL}, *const sel_keys[] = {"name", "labels", NULL};
	char why[300];
	struct err e;
	const struct json *series = NULL;
	if (!strcmp(method, "DELETE")) {
		a->watched_since = 0;
		a->n_watch = 0;
		struct jgen *g = jgen_new(false);
		jgen_obj_open(g);
		jgen_kstr(g, API_F_UNWATCHED, a->name);
		jgen_obj_close(g);
		return send_json(c, 200, g);
	}
	if (strcmp(method, "PUT"))
		return send_error(c, 405, API_E_METHOD, "PUT or DELETE");
	struct json *j = parse_body(q, keys, why, sizeof why);
	if (!j)
		return send_error(c, 400, API_E_BAD_REQUEST, why);
	if (json_field(j, "series", JSON_ARRAY, true, &series, &e) < 0 || series->arr.n > MAX_WATCH) {
		json_free(j);
		return send_error(c, 400, API_E_BAD_REQUEST, series ? "more than 16 selectors" : e.msg);
	}
	char names[MAX_WATCH][API_MAX_NAME + 1];
	for (size_t k = 0; k < series->arr.n; k++) {
		const struct json *s = series->arr.v[k];
		const char *name = NULL;
		if (s->type != JSON_OBJECT) {
			json_free(j);
			return send_error(c, 400, API_E_BAD_REQUEST, "a selector is not an object");
		}
		if (json_only_keys(s, sel_keys, "selector", &e) < 0 ||
		    json_field_str(s, "name", true, &name, &e) < 0 || strlen(name) > API_MAX_NAME) {
			json_free(j);
			return send_error(c, 400, API_E_BAD_REQUEST, name ? "a selector's name is too long" : e.msg);
		}
		snprintf(names[k], sizeof names[k], "%s", name);
	}
	memcpy(a->watch, names, series->arr.n * sizeof *names);
	a->n_watch = (int)series->arr.n;
	json_free(j);
	if (!a->watched_since)
		a->watched_since = now;
	return send_metrics(c, h, a, now, false, now);
}

static enum MHD_Result do_metrics(struct MHD_Connection *c, size_t h, struct app *a, int64_t now)
{
	const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, API_Q_SINCE);
	char *end;
	int64_t since = 0;
	if (s) {
		errno = 0;
		since = strtoll(s, &end, 10);
		if (errno || end == s || *end || since < 0)
			return send_error(c, 400, API_E_BAD_REQUEST, "since: unix milliseconds expected (the fake takes no other form)");
	}
	return send_metrics(c, h, a, since, true, now);
}

static enum MHD_Result host_request(struct MHD_Connection *c, size_t h, const char *method, const char *url,
				    struct req *q)
{
	int64_t now = now_ms();
	if (token) {
		const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		if (!auth || strncmp(auth, "Bearer ", 7) || strcmp(auth + 7, token))
			return send_error(c, 401, API_E_UNAUTHORIZED, "a valid bearer token is needed");
	}
	if (q->too_large)
		return send_error(c, 413, API_E_TOO_LARGE, "body over 64 KiB");
	if (!strcmp(url, API_PATH_HEALTHZ))
		return send_text(c, 200, "application/json", "{\"status\":\"ok\"}", 15);
	if (!strcmp(url, API_PATH_INFO)) {
		const struct rule *p = rule_for(h, RULE_PLATFORM, NULL);
		char os[32] = "linux", arch[32] = "amd64";
		if (p)
			sscanf(p->arg, "%31[^/]/%31s", os, arch);
		struct jgen *g = jgen_new(false);
		jgen_obj_open(g);
		jgen_kstr(g, "version", "fake");
		jgen_kstr(g, "host", hosts[h].name);
		jgen_key(g, "platform");
		jgen_obj_open(g);
		jgen_kstr(g, "os", os);
		jgen_kstr(g, "architecture", arch);
		jgen_obj_close(g);
		jgen_kstr(g, "kernel", "fake");
		jgen_kint(g, "uptimeSeconds", (now - t_boot) / 1000);
		jgen_key(g, "apps");
		jgen_arr_open(g);
		for (int k = 0; k < MAX_APPS; k++)
			if (hosts[h].apps[k].used)
				jgen_str(g, hosts[h].apps[k].name);
		jgen_arr_close(g);
		jgen_obj_close(g);
		return send_json(c, 200, g);
	}
	if (!strcmp(url, API_PATH_APPS)) {
		struct jgen *g = jgen_new(false);
		jgen_obj_open(g);
		jgen_key(g, "apps");
		jgen_arr_open(g);
		for (int k = 0; k < MAX_APPS; k++)
			if (hosts[h].apps[k].used) {
				advance(h, &hosts[h].apps[k], now);
				gen_status(g, &hosts[h].apps[k]);
			}
		jgen_arr_close(g);
		jgen_obj_close(g);
		return send_json(c, 200, g);
	}
	if (strncmp(url, API_PATH_APP_PREFIX, strlen(API_PATH_APP_PREFIX)))
		return send_error(c, 404, API_E_NOT_FOUND, "no such path");
	char name[128];
	snprintf(name, sizeof name, "%s", url + strlen(API_PATH_APP_PREFIX));
	bool revert = false, watch = false, metrics = false;
	char *slash = strchr(name, '/');
	if (slash) {
		revert = !strcmp(slash, API_PATH_REVERT_SUFFIX);
		watch = !strcmp(slash, API_PATH_WATCH_SUFFIX);
		metrics = !strcmp(slash, API_PATH_APP_METRICS_SUFFIX);
		if (!revert && !watch && !metrics)
			return send_error(c, 404, API_E_NOT_FOUND, "no such path");
		*slash = '\0';
	}
	if (!app_name_ok(name))
		return send_error(c, 400, API_E_BAD_REQUEST, "bad app name");
	if (watch || metrics) {
		struct app *a = find_app(h, name);
		if (!a)
			return send_error(c, 404, API_E_NOT_FOUND, "no such app");
		advance(h, a, now);
		if (watch)
			return do_watch(c, h, a, method, q, now);
		if (strcmp(method, "GET"))
			return send_error(c, 405, API_E_METHOD, "GET only");
		return do_metrics(c, h, a, now);
	}
	if (revert) {
		if (strcmp(method, "POST"))
			return send_error(c, 405, API_E_METHOD, "POST only");
		return do_revert(c, h, name, q, now);
	}
	if (!strcmp(method, "GET")) {
		struct app *a = find_app(h, name);
		hosts[h].n_get++;
		if (!a)
			return send_error(c, 404, API_E_NOT_FOUND, "no such app");
		advance(h, a, now);
		return send_status(c, 200, a);
	}
	if (!strcmp(method, "PUT"))
		return do_put(c, h, name, q, now);
	if (!strcmp(method, "DELETE"))
		return do_delete(c, h, name, q);
	return send_error(c, 405, API_E_METHOD, "GET, PUT or DELETE");
}

static enum MHD_Result control_request(struct MHD_Connection *c, const char *method, const char *url, struct req *q)
{
	if (!strcmp(url, "/_fake/state") && !strcmp(method, "GET")) {
		int64_t now = now_ms();
		struct jgen *g = jgen_new(false);
		jgen_obj_open(g);
		jgen_key(g, "hosts");
		jgen_arr_open(g);
		for (size_t h = 0; h < n_hosts; h++) {
			struct host *x = &hosts[h];
			jgen_obj_open(g);
			jgen_kstr(g, "name", x->name);
			jgen_kstr(g, "address", x->address);
			jgen_kbool(g, "hanging", atomic_load(&x->hang_until) > now);
			jgen_key(g, "counts");
			jgen_obj_open(g);
			jgen_kint(g, "get", x->n_get);
			jgen_kint(g, "put", x->n_put);
			jgen_kint(g, "revert", x->n_revert);
			jgen_kint(g, "delete", x->n_delete);
			jgen_kint(g, "stale", x->n_stale);
			jgen_kint(g, "conflict", x->n_conflict);
			jgen_kint(g, "connect", x->n_conn);
			jgen_obj_close(g);
			jgen_key(g, "apps");
			jgen_obj_open(g);
			for (int k = 0; k < MAX_APPS; k++)
				if (x->apps[k].used) {
					advance(h, &x->apps[k], now);
					jgen_key(g, x->apps[k].name);
					gen_status(g, &x->apps[k]);
				}
			jgen_obj_close(g);
			jgen_obj_close(g);
		}
		jgen_arr_close(g);
		jgen_obj_close(g);
		return send_json(c, 200, g);
	}
	if (!strcmp(url, "/_fake/behave") && !strcmp(method, "POST")) {
		char why[200];
		char *save = NULL;
		for (char *line = strtok_r(q->body ? q->body : (char[]){""}, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			if (add_rule(line, why, sizeof why) < 0)
				return send_text(c, 400, "text/plain", why, strlen(why));
		return send_text(c, 200, "text/plain", "ok\n", 3);
	}
	return send_text(c, 404, "text/plain", "no such path\n", 13);
}

static void park(struct MHD_Connection *c, size_t h, int64_t until, bool hang)
{
	struct parked *p = calloc(1, sizeof *p);
	if (!p)
		return;
	*p = (struct parked){.c = c, .host = h, .until = until, .hang = hang};
	MHD_suspend_connection(c);
	pthread_mutex_lock(&park_lock);
	p->next = parked_list;
	parked_list = p;
	pthread_cond_signal(&park_cond);
	pthread_mutex_unlock(&park_lock);
}

/* Which host a connection talks to: its local address. */
static ssize_t host_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	if (!ci || getsockname(ci->connect_fd, (struct sockaddr *)&sa, &sl) < 0 || sa.sin_family != AF_INET)
		return -1;
	uint32_t a = ntohl(sa.sin_addr.s_addr);
	if (a < HOST_BASE || a - HOST_BASE >= n_hosts)
		return -1;
	return (ssize_t)(a - HOST_BASE);
}

/* Counts the connections each host gets (MHD's thread, like the requests). */
static void on_connection(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_ConnectionNotificationCode what)
{
	(void)cls;
	(void)ctx;
	ssize_t h = what == MHD_CONNECTION_NOTIFY_STARTED ? host_of(c) : -1;
	if (h >= 0)
		hosts[h].n_conn++;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *data, size_t *data_size, void **ctx)
{
	(void)cls;
	(void)version;
	struct req *q = *ctx;
	if (!q) {
		if (!(q = calloc(1, sizeof *q)))
			return MHD_NO;
		*ctx = q;
		return MHD_YES;
	}
	if (*data_size) {
		if (q->len + *data_size > API_MAX_BODY) {
			q->too_large = true;
		} else {
			char *nb = realloc(q->body, q->len + *data_size + 1);
			if (!nb)
				return MHD_NO;
			q->body = nb;
			memcpy(q->body + q->len, data, *data_size);
			q->len += *data_size;
			q->body[q->len] = '\0';
		}
		*data_size = 0;
		return MHD_YES;
	}
	ssize_t h = host_of(c);
	if (h < 0)
		return control_request(c, method, url, q);
	int64_t now = now_ms();
	if (q->resumed && (atomic_load(&quitting) || atomic_load(&hosts[h].hang_until) > now))
		return MHD_NO; /* it hung up on us */
	if (!q->resumed) {
		if (atomic_load(&hosts[h].hang_until) > now) {
			q->resumed = true;
			park(c, (size_t)h, 0, true);
			return MHD_YES;
		}
		const struct rule *slow = rule_for((size_t)h, RULE_SLOW, NULL);
		if (slow && slow->ms > 0) {
			q->resumed = true;
			park(c, (size_t)h, now + slow->ms, false);
			return MHD_YES;
		}
	}
	return host_request(c, (size_t)h, method, url, q);
}

static void on_done(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)c;
	(void)why;
	struct req *q = *ctx;
	if (q) {
		free(q->body);
		free(q);
	}
	*ctx = NULL;
}

static enum MHD_Result loopback_only(void *cls, const struct sockaddr *addr, socklen_t len)
{
	(void)cls;
	const struct sockaddr_in *sa = (const struct sockaddr_in *)addr;
	return len >= sizeof *sa && sa->sin_family == AF_INET && (ntohl(sa->sin_addr.s_addr) >> 24) == 127 ? MHD_YES
													 : MHD_NO;
}

/* Resumes parked connections when their time has come (or at the end). */
static void *resumer(void *arg)
{
	(void)arg;
	for (;;) {
		bool quit = atomic_load(&quitting);
		int64_t now = now_ms();
		pthread_mutex_lock(&park_lock);
		struct parked **pp = &parked_list;
		while (*pp) {
			struct parked *p = *pp;
			bool due = quit || (p->hang ? atomic_load(&hosts[p->host].hang_until) <= now : p->until <= now);
			if (due) {
				MHD_resume_connection(p->c);
				*pp = p->next;
				free(p);
			} else {
				pp = &p->next;
			}
		}
		bool empty = parked_list == NULL;
		if (quit && empty) {
			pthread_mutex_unlock(&park_lock);
			return NULL;
		}
		/* idle: sleep until something is parked; else look again in 2 ms */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += empty ? 0 : 2000000;
		ts.tv_sec += empty ? 1 : 0;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&park_cond, &park_lock, &ts);
		pthread_mutex_unlock(&park_lock);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: fakefleet --hosts N --fleet-out FILE [--ready FILE] [--port P] [--zones a,b]\n"
			"                 [--app NAME=IMAGE]... [--new GLOB]... [--start-ms MS] [--revert-ms MS]\n"
			"                 [--behave 'GLOB RULE [ARGS]']... [--token FILE]\n"
			"                 [--tls-cert FILE --tls-key FILE] [--rps N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"hosts", required_argument, NULL, 'n'},   {"fleet-out", required_argument, NULL, 'f'},
		{"ready", required_argument, NULL, 'r'},   {"port", required_argument, NULL, 'p'},
		{"zones", required_argument, NULL, 'z'},   {"app", required_argument, NULL, 'a'},
		{"new", required_argument, NULL, 'N'},     {"start-ms", required_argument, NULL, 's'},
		{"revert-ms", required_argument, NULL, 'R'}, {"behave", required_argument, NULL, 'b'},
		{"token", required_argument, NULL, 't'},   {"tls-cert", required_argument, NULL, 'C'},
		{"tls-key", required_argument, NULL, 'K'}, {"rps", required_argument, NULL, 'q'}, {0},
	};
	const char *fleet_out = NULL, *ready = NULL, *zones = NULL;
	char *tls_cert = NULL, *tls_key = NULL;
	char *apps[8], *news[16], *behave[MAX_RULES];
	size_t n_apps = 0, n_new = 0, n_behave = 0;
	int port = 0, c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n_hosts = strtoul(optarg, NULL, 10);
			break;
		case 'f':
			fleet_out = optarg;
			break;
		case 'r':
			ready = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'z':
			zones = optarg;
			break;
		case 'a':
			if (n_apps == 8) {
				fprintf(stderr, "fakefleet: at most 8 --app\n");
				return 2;
			}
			apps[n_apps++] = optarg;
			break;
		case 'N':
			if (n_new == 16) {
				fprintf(stderr, "fakefleet: at most 16 --new\n");
				return 2;
			}
			news[n_new++] = optarg;
			break;
		case 's':
			start_ms = atoll(optarg);
			break;
		case 'R':
			revert_ms = atoll(optarg);
			break;
		case 'q':
			rps = atoll(optarg);
			break;
		case 'b':
			if (n_behave == MAX_RULES) {
				fprintf(stderr, "fakefleet: at most %d --behave\n", MAX_RULES);
				return 2;
			}
			behave[n_behave++] = optarg;
			break;
		case 'C':
		case 'K': {
			struct err e;
			char **dst = c == 'C' ? &tls_cert : &tls_key;
			if (fs_read_file(optarg, 1 << 20, dst, NULL, &e) < 0) {
				fprintf(stderr, "fakefleet: %s\n", e.msg);
				return 1;
			}
			break;
		}
		case 't': {
			FILE *f = fopen(optarg, "r");
			char buf[512];
			if (!f || !fgets(buf, sizeof buf, f)) {
				fprintf(stderr, "fakefleet: cannot read token file %s\n", optarg);
				return 1;
			}
			fclose(f);
			buf[strcspn(buf, "\r\n")] = '\0';
			token = strdup(buf);
			break;
		}
		default:
			usage();
		}
	}
	if (!n_hosts || n_hosts > 60000 || !fleet_out)
		usage();
	/* many hosts, many connections */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	t_boot = now_ms();
	hosts = calloc(n_hosts, sizeof *hosts);
	if (!hosts)
		return 1;
	char zone_list[256] = "";
	char *zv[32];
	size_t nz = 0;
	if (zones) {
		snprintf(zone_list, sizeof zone_list, "%s", zones);
		for (char *s = strtok(zone_list, ","); s && nz < 32; s = strtok(NULL, ","))
			zv[nz++] = s;
	}
	for (size_t h = 0; h < n_hosts; h++) {
		struct in_addr a = {.s_addr = htonl(HOST_BASE + (uint32_t)h)};
		snprintf(hosts[h].name, sizeof hosts[h].name, "h%zu", h + 1);
		inet_ntop(AF_INET, &a, hosts[h].address, sizeof hosts[h].address);
		bool fresh = false;
		for (size_t k = 0; k < n_new; k++)
			fresh |= fnmatch(news[k], hosts[h].name, 0) == 0;
		for (size_t k = 0; k < n_apps && !fresh; k++) {
			char name[64];
			const char *eq = strchr(apps[k], '=');
			const char *d = eq ? pinned_digest(eq + 1) : NULL;
			if (!d || (size_t)(eq - apps[k]) >= sizeof name) {
				fprintf(stderr, "fakefleet: --app NAME=repo@sha256:...\n");
				return 2;
			}
			snprintf(name, sizeof name, "%.*s", (int)(eq - apps[k]), apps[k]);
			struct app *x = new_app(h, name);
			x->generation = 1;
			snprintf(x->rollout, sizeof x->rollout, "initial");
			snprintf(x->current.image, sizeof x->current.image, "%s", eq + 1);
			snprintf(x->current.digest, sizeof x->current.digest, "%s", d);
			x->desired = x->current;
			x->has_current = x->has_desired = true;
			x->healthy = true;
			x->healthy_since = t_boot;
			x->win[0] = (struct window){.from = t_boot};
			snprintf(x->win[0].digest, sizeof x->win[0].digest, "%s", d);
			set_phase(x, API_PHASE_HEALTHY, t_boot, "");
		}
	}
	for (size_t k = 0; k < n_behave; k++) {
		char why[200];
		if (add_rule(behave[k], why, sizeof why) < 0) {
			fprintf(stderr, "fakefleet: --behave \"%s\": %s\n", behave[k], why);
			return 2;
		}
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread inherits it; main waits below */
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (!tls_cert != !tls_key) {
		fprintf(stderr, "fakefleet: --tls-cert and --tls-key go together\n");
		return 2;
	}
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | (tls_cert ? MHD_USE_TLS : 0),
		(uint16_t)port, loopback_only, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
		MHD_OPTION_HTTPS_MEM_CERT, tls_cert ? tls_cert : "", MHD_OPTION_HTTPS_MEM_KEY, tls_key ? tls_key : "",
		MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)(rl.rlim_cur > 64 ? rl.rlim_cur - 32 : 32),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)4096, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "fakefleet: cannot start the HTTP server: %s\n", strerror(errno));
		return 1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	port = di ? di->port : port;
	FILE *f = fopen(fleet_out, "w");
	if (!f)
		return 1;
	fprintf(f, "# fakefleet: %zu hosts on port %d\n", n_hosts, port);
	for (size_t h = 0; h < n_hosts; h++) {
		fprintf(f, "%s %s:%d", hosts[h].name, hosts[h].address, port);
		if (nz)
			fprintf(f, " zone=%s", zv[h % nz]);
		fputc('\n', f);
	}
	fclose(f);
	pthread_t rt;
	pthread_create(&rt, NULL, resumer, NULL);
	if (ready) {
		char tmp[4096];
		snprintf(tmp, sizeof tmp, "%s.tmp", ready);
		FILE *r = fopen(tmp, "w");
		if (!r)
			return 1;
		fprintf(r, "%d\n", port);
		fclose(r);
		rename(tmp, ready);
	}
	int sig;
	sigwait(&set, &sig);
	/* hand every parked connection back to MHD before it stops */
	atomic_store(&quitting, true);
	pthread_mutex_lock(&park_lock);
	pthread_cond_signal(&park_cond);
	pthread_mutex_unlock(&park_lock);
	pthread_join(rt, NULL);
	struct timespec ts = {0, 50000000};
	nanosleep(&ts, NULL);
	MHD_stop_daemon(d);
	free(hosts);
	free(token);
	free(tls_cert);
	free(tls_key);
	return 0;
}
