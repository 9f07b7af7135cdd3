/* test_journal.c: the rollout journal (orchestrator/journal): events written
 * and replayed, a torn last line tolerated, garbage refused with its line
 * number, and the file operations (create, append, cut a torn line off). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"
#include "orchestrator/canary_series.h"
#include "orchestrator/journal.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define ID "20260101T000000Z-web-abcd"

/* A rollout of web over h1..h4 in waves 1, 2, 1 (zones a, b). */
static void sample(struct orch_rollout *r)
{
	struct err e;
	*r = (struct orch_rollout){0};
	orch_opts_defaults(&r->o);
	r->o.bake_ms = 1500;
	assert_int_equal(strv_push(&r->o.checks, "test -n \"$RAMP_WAVE\"", &e), 0);
	r->o.token_file = strdup("/etc/ramp/token");
	r->o.override_reason = strdup("h3's disk was full, fixed");
	r->o.override_by = strdup("octocat");
	r->o.sign_key = strdup("/etc/ramp/ci.key");
	r->id = strdup(ID);
	r->app = strdup("web");
	r->image = strdup("127.0.0.1:5000/web@" D2);
	r->digest = strdup(D2);
	r->fleet = strdup("/srv/fleet.txt");
	r->hosts.hosts = calloc(4, sizeof *r->hosts.hosts);
	r->hosts.n = 4;
	for (size_t i = 0; i < 4; i++) {
		char name[8], addr[32];
		snprintf(name, sizeof name, "h%zu", i + 1);
		snprintf(addr, sizeof addr, "10.0.0.%zu:7300", i + 1);
		r->hosts.hosts[i].name = strdup(name);
		assert_int_equal(orch_host_set_address(&r->hosts.hosts[i], addr, &e), 0);
		assert_int_equal(orch_host_add_label(&r->hosts.hosts[i], "zone", i % 2 ? "b" : "a", &e), 0);
	}
	r->ends = calloc(3, sizeof *r->ends);
	r->ends[0] = 1;
	r->ends[1] = 3;
	r->ends[2] = 4;
	r->n_waves = 3;
	assert_int_equal(orch_rollout_alloc_hosts(r, &e), 0);
}

/* Append ev as one line. */
static void add(char **buf, size_t *len, struct orch_event *ev)
{
	const char *line;
	size_t n;
	struct err e;
	struct jgen *g = jgen_new(false);
	ev->time = "2026-01-01T00:00:00.000Z";
	if (ev->kind != ORCH_EV_START)
		ev->rollout = ID;
	assert_int_equal(orch_event_write(g, ev, &e), 0);
	assert_int_equal(jgen_result(g, &line, &n, &e), 0);
	*buf = realloc(*buf, *len + n + 2);
	memcpy(*buf + *len, line, n);
	(*buf)[*len + n] = '\n';
	*len += n + 1;
	(*buf)[*len] = '\0';
	jgen_free(g);
	orch_event_free(ev);
}

static void host_ev(char **buf, size_t *len, const char *host, int wave, const char *state, const char *msg)
{
	struct orch_event ev = {.kind = ORCH_EV_HOST};
	ev.u.host = (struct orch_ev_host){.host = host, .wave = wave, .state = state, .message = msg};
	add(buf, len, &ev);
}

static void wave_ev(char **buf, size_t *len, int wave, const char **hosts, size_t n)
{
	struct orch_event ev = {.kind = ORCH_EV_WAVE};
	ev.u.wave = (struct orch_ev_wave){.wave = wave, .hosts = {hosts, n}};
	add(buf, len, &ev);
}

/* start, precheck, wave 1 passed, wave 2 started with h2 baked, the
 * canary series of its errors (line 10) and h3 failed */
static char *journal_text(size_t *len)
{
	struct orch_rollout r;
	struct orch_event ev;
	struct err e;
	char *buf = NULL;
	*len = 0;
	sample(&r);
	assert_int_equal(orch_start_event(&r, &ev, &e), 0);
	add(&buf, len, &ev);
	ev = (struct orch_event){.kind = ORCH_EV_GATE};
	ev.u.gate = (struct orch_ev_gate){.command = "true", .exit = 0, .ok = true};
	add(&buf, len, &ev);
	const char *before[] = {D1, D1, NULL, D1};
	ev = (struct orch_event){.kind = ORCH_EV_PRECHECK};
	ev.u.precheck = (struct orch_ev_precheck){.ok = true, .has_generation = true, .generation = 7,
						  .before = {before, 4}};
	add(&buf, len, &ev);
	const char *w1[] = {"h1"}, *w2[] = {"h2", "h3"};
	wave_ev(&buf, len, 1, w1, 1);
	host_ev(&buf, len, "h1", 1, "healthy", NULL);
	host_ev(&buf, len, "h1", 1, "baked", NULL);
	ev = (struct orch_event){.kind = ORCH_EV_WAVE_PASSED};
	ev.u.wave_passed = (struct orch_ev_wave_passed){.wave = 1, .ms = 1600};
	add(&buf, len, &ev);
	wave_ev(&buf, len, 2, w2, 2);
	host_ev(&buf, len, "h2", 2, "baked", NULL);
	struct orch_ev_point pts[] = {{1000, 0.5, 0.25, 0.375}, {2000, NAN, 0.25, NAN}};
	ev = (struct orch_event){.kind = ORCH_EV_SERIES};
	ev.u.series = (struct orch_ev_series){.wave = 2, .metric = "errors", .points = pts, .n_points = 2};
	add(&buf, len, &ev);
	host_ev(&buf, len, "h3", 2, "failed", "phase failed: exit 1");
	orch_rollout_free(&r);
	return buf;
}

static void test_roundtrip(void **state)
{
	(void)state;
	size_t len;
	char *buf = journal_text(&len);
	/* a series: [ms, converted, baseline, allowed], null for what is not known */
	assert_non_null(strstr(buf, "\"event\":\"series\",\"rollout\":\"" ID "\",\"wave\":2,\"metric\":\"errors\","
				    "\"points\":[[1000,0.5,0.25,0.375],[2000,null,0.25,null]]}\n"));
	struct orch_rollout r;
	struct err e;
	if (orch_journal_replay(buf, len, "j", &r, &e) < 0)
		fail_msg("%s", e.msg);
	assert_string_equal(r.id, ID);
	assert_string_equal(r.app, "web");
	assert_string_equal(r.digest, D2);
	assert_string_equal(r.fleet, "/srv/fleet.txt");
	assert_int_equal(r.hosts.n, 4);
	assert_int_equal(r.n_waves, 3);
	assert_int_equal(r.ends[1], 3);
	assert_string_equal(orch_host_label(&r.hosts.hosts[1], "zone"), "b");
	assert_int_equal(r.o.bake_ms, 1500);
	assert_int_equal(r.o.checks.n, 1);
	assert_string_equal(r.o.checks.v[0], "test -n \"$RAMP_WAVE\"");
	assert_string_equal(r.o.token_file, "/etc/ramp/token");
	assert_string_equal(r.o.override_reason, "h3's disk was full, fixed");
	assert_string_equal(r.o.override_by, "octocat");
	assert_string_equal(r.o.sign_key, "/etc/ramp/ci.key");
	assert_true(r.prechecked);
	assert_int_equal(r.generation, 7);
	assert_string_equal(r.before[0], D1);
	assert_null(r.before[2]); /* a new host */
	assert_int_equal(r.waves_started, 2);
	assert_int_equal(r.waves_passed, 1);
	assert_int_equal(r.state[0], ORCH_HS_BAKED);
	assert_int_equal(r.state[1], ORCH_HS_BAKED);
	assert_int_equal(r.state[2], ORCH_HS_FAILED);
	assert_string_equal(r.reason[2], "phase failed: exit 1");
	assert_int_equal(r.state[3], ORCH_HS_PENDING);
	assert_false(r.ended);
	assert_false(r.torn);
	assert_int_equal(r.valid_len, len);
	assert_int_equal(r.lines, 11);
	orch_rollout_free(&r);

	/* a revert, then the end */
	char *more = NULL;
	size_t ml = 0;
	const char *back[] = {"h1", "h2", "h3"};
	struct orch_event ev = {.kind = ORCH_EV_REVERT};
	ev.u.revert = (struct orch_ev_revert){.hosts = {back, 3}, .reason = "h3 failed"};
	add(&more, &ml, &ev);
	host_ev(&more, &ml, "h1", 1, "reverted", NULL);
	ev = (struct orch_event){.kind = ORCH_EV_END};
	ev.u.end = (struct orch_ev_end){.result = "rolled_back", .exit = 1};
	add(&more, &ml, &ev);
	buf = realloc(buf, len + ml + 1);
	memcpy(buf + len, more, ml + 1);
	free(more);
	assert_int_equal(orch_journal_replay(buf, len + ml, "j", &r, &e), 0);
	assert_true(r.reverting);
	assert_int_equal(r.state[0], ORCH_HS_REVERTED);
	assert_int_equal(r.state[1], ORCH_HS_REVERTING);
	assert_int_equal(r.state[3], ORCH_HS_PENDING);
	assert_true(r.ended);
	assert_string_equal(r.result, "rolled_back");
	assert_int_equal(r.exit_code, 1);
	orch_rollout_free(&r);
	free(buf);
}

/* A crash in the middle of a write leaves a line without its newline. */
static void test_torn(void **state)
{
	(void)state;
	size_t len;
	char *buf = journal_text(&len);
	const char *tail = "{\"time\":\"2026-01-01T00:00:01.000Z\",\"event\":\"host\",\"rollout\":\"" ID "\",\"ho";
	size_t full = len;
	buf = realloc(buf, len + strlen(tail) + 1);
	strcpy(buf + len, tail);
	len += strlen(tail);
	struct orch_rollout r;
	struct err e;
	assert_int_equal(orch_journal_replay(buf, len, "j", &r, &e), 0);
	assert_true(r.torn);
	assert_int_equal(r.valid_len, full);
	assert_int_equal(r.waves_started, 2);
	orch_rollout_free(&r);
	/* cut anywhere inside the last line: still tolerated */
	for (size_t cut = full - 40; cut < full; cut += 7) {
		assert_int_equal(orch_journal_replay(buf, cut, "j", &r, &e), 0);
		assert_true(r.torn);
		assert_true(r.valid_len < cut);
		orch_rollout_free(&r);
	}
	/* only a torn start: nothing to go on */
	assert_int_equal(orch_journal_replay(buf, 30, "j", &r, &e), -1);
	assert_non_null(strstr(e.msg, "no start event"));
	free(buf);
}

/* Replace the first occurrence of `from` in the journal with `to` and expect
 * the replay to fail at line `line` with `words` in the message. */
static void mutate(const char *from, const char *to, size_t line, const char *words)
{
	size_t len;
	char *buf = journal_text(&len);
	char *at = strstr(buf, from);
	if (!at)
		fail_msg("\"%s\" is not in the journal", from);
	size_t fl = strlen(from), tl = strlen(to);
	char *out = malloc(len - fl + tl + 1);
	size_t pre = (size_t)(at - buf);
	memcpy(out, buf, pre);
	memcpy(out + pre, to, tl);
	memcpy(out + pre + tl, at + fl, len - pre - fl + 1);
	struct orch_rollout r;
	struct err e;
	if (orch_journal_replay(out, len - fl + tl, "j", &r, &e) == 0) {
		orch_rollout_free(&r);
		fail_msg("accepted a journal with \"%s\" → \"%s\"", from, to);
	}
	char want[32];
	snprintf(want, sizeof want, "j: line %zu", line);
	if (!strstr(e.msg, want) || !strstr(e.msg, words))
		fail_msg("\"%s\" → \"%s\": message \"%s\" lacks \"%s\" or \"%s\"", from, to, e.msg, want, words);
	free(out);
	free(buf);
}

static void test_garbage(void **state)
{
	(void)state;
	mutate("{\"time\"", "garbage{\"time\"", 1, "invalid JSON");
	mutate("\"event\":\"gate\"", "\"event\":\"gat\"", 2, "unknown event \"gat\"");
	mutate("\"generation\":7", "\"generation\":0", 3, "at least 1");
	mutate("\"generation\":7", "\"generation\":\"7\"", 3, "expected an integer");
	mutate("\"before\":[\"" D1 "\"", "\"before\":[\"sha256:xyz\"", 3, "before[0]");
	mutate(",null,", ",", 3, "3 entries for 4 hosts");
	mutate("\"wave\":1,\"hosts\":[\"h1\"]", "\"wave\":2,\"hosts\":[\"h1\"]", 4, "wave 2 out of order");
	mutate("\"wave\":1,\"hosts\":[\"h1\"]", "\"wave\":9,\"hosts\":[\"h1\"]", 4, "out of range");
	mutate("\"wave\":1,\"hosts\":[\"h1\"]", "\"wave\":1,\"hosts\":[\"h2\"]", 4, "differ from the plan");
	mutate("\"host\":\"h1\",\"wave\":1,\"state\":\"healthy\"", "\"host\":\"h9\",\"wave\":1,\"state\":\"healthy\"", 5,
	       "unknown host \"h9\"");
	mutate("\"state\":\"healthy\"", "\"state\":\"happy\"", 5, "unknown state");
	mutate("\"host\":\"h1\",\"wave\":1,\"state\":\"healthy\"", "\"host\":\"h1\",\"wave\":2,\"state\":\"healthy\"", 5,
	       "not in wave 2");
	mutate("\"event\":\"wave_passed\",\"rollout\":\"" ID "\",\"wave\":1",
	       "\"event\":\"wave_passed\",\"rollout\":\"" ID "\",\"wave\":2", 7, "passed out of order");
	mutate("\"rollout\":\"" ID "\",\"command\"", "\"rollout\":\"other\",\"command\"", 2, "another rollout");
	mutate("\"app\":\"web\"", "\"app\":\"../web\"", 1, "not a valid app name");
	mutate("\"digest\":\"" D2 "\"", "\"digest\":\"" D1 "\"", 1, "image and digest disagree");
	mutate("\"waves\":[1,2,1]", "\"waves\":[1,2,2]", 1, "bad wave size");
	mutate("\"waves\":[1,2,1]", "\"waves\":[1,2]", 1, "add up to 3 hosts");
	mutate("\"address\":\"10.0.0.1:7300\"", "\"address\":\"10.0.0.1:0\"", 1, "bad port");
	mutate("\"bakeMs\":1500", "\"bakeMs\":-1", 1, "out of range");
	mutate("\"bakeMs\":1500", "\"bakeMs\":1500,\"extra\":1", 1, "unknown field \"extra\"");
	mutate("\"onFailure\":\"revert\"", "\"onFailure\":\"panic\"", 1, "expected revert or pause");
	mutate("\"time\"", "\"time\":1,\"time\"", 1, "twice");
	mutate("\n{\"time\"", "\n\n{\"time\"", 2, "invalid JSON"); /* an empty line is not ours */
	mutate("\"ok\":true}\n", "\"ok\":true}\n{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}\n",
	       3, "nested deeper");
	/* series: the points' shape, order, count and numbers */
	const char *pts = "\"points\":[[1000,0.5,0.25,0.375],[2000,null,0.25,null]]";
	mutate(pts, "\"points\":{}", 10, "field \"points\": expected an array");
	mutate(pts, "\"points\":[[1000,0.05,0.005]]", 10, "points\"[0]: expected [ms, converted, baseline, allowed]");
	mutate(pts, "\"points\":[1000]", 10, "points\"[0]: expected [ms, converted, baseline, allowed]");
	mutate(pts, "\"points\":[[1000,0.05,0.005,0.0075,1]]", 10, "points\"[0]: expected [ms");
	mutate(pts, "\"points\":[[\"1000\",0.05,0.005,0.0075]]", 10, "points\"[0]: expected ms since the wave started");
	mutate(pts, "\"points\":[[-1,0.05,0.005,0.0075]]", 10, "points\"[0]: expected ms since the wave started");
	mutate(pts, "\"points\":[[1.5,0.05,0.005,0.0075]]", 10, "points\"[0]: expected ms since the wave started");
	mutate(pts, "\"points\":[[2000,1,1,1],[2000,1,1,1]]", 10, "points\"[1]: expected ms since the wave started, after");
	mutate(pts, "\"points\":[[2000,1,1,1],[1000,1,1,1]]", 10, "points\"[1]: expected ms since the wave started, after");
	mutate(pts, "\"points\":[[1000,\"0.05\",0.005,0.0075]]", 10, "points\"[0]: expected [ms, converted, baseline, "
								       "allowed] with finite numbers or null");
	mutate(pts, "\"points\":[[1000,1e999,0.005,0.0075]]", 10, "with finite numbers or null");
	mutate(pts, "\"points\":[[1000,0.05,-1e400,0.0075]]", 10, "with finite numbers or null");
	mutate(pts, "\"points\":[[1000,0.05,0.005,true]]", 10, "with finite numbers or null");
	mutate(pts, "\"points\":[[1000,0.05,0.005,[1]]]", 10, "with finite numbers or null");
	mutate(pts, "\"points\":[[1000,0.05,0.005,0.0075]],\"extra\":1", 10, "unknown field \"extra\"");
	mutate("\"wave\":2,\"metric\"", "\"wave\":4,\"metric\"", 10, "wave 4: out of range");
	mutate("\"wave\":2,\"metric\"", "\"metric\"", 10, "missing field \"wave\"");
	mutate("\"metric\":\"errors\",", "", 10, "missing field \"metric\"");
	mutate("\"metric\":\"errors\"", "\"metric\":7", 10, "field \"metric\": expected a string");
	{
		/* at most ORCH_SERIES_MAX points; huge finite numbers are numbers */
		char many[ORCH_SERIES_MAX * 32 + 64];
		size_t l = (size_t)snprintf(many, sizeof many, "\"points\":[");
		for (int i = 0; i <= ORCH_SERIES_MAX; i++)
			l += (size_t)snprintf(many + l, sizeof many - l, "%s[%d,1.7e308,-1.7e308,0]", i ? "," : "", i);
		snprintf(many + l, sizeof many - l, "]");
		mutate(pts, many, 10, "field \"points\": more than 64 points");
	}
	/* a NUL byte inside a line */
	size_t len;
	char *buf = journal_text(&len);
	char *second = strchr(buf, '\n') + 5;
	*second = '\0';
	struct orch_rollout r;
	struct err e;
	assert_int_equal(orch_journal_replay(buf, len, "j", &r, &e), -1);
	assert_non_null(strstr(e.msg, "j: line 2: NUL byte"));
	free(buf);
	/* a journal that does not begin with its start event */
	buf = journal_text(&len);
	char *rest = strchr(buf, '\n') + 1;
	assert_int_equal(orch_journal_replay(rest, len - (size_t)(rest - buf), "j", &r, &e), -1);
	assert_non_null(strstr(e.msg, "first event must be \"start\""));
	free(buf);
	/* events after the end are refused */
	buf = journal_text(&len);
	const char *end = "{\"time\":\"t\",\"event\":\"end\",\"rollout\":\"" ID "\",\"result\":\"done\",\"exit\":0}\n";
	buf = realloc(buf, len + 2 * strlen(end) + 1);
	strcpy(buf + len, end);
	strcat(buf + len, end);
	assert_int_equal(orch_journal_replay(buf, strlen(buf), "j", &r, &e), -1);
	assert_non_null(strstr(e.msg, "line 13: event after the end"));
	free(buf);
}

static void test_file(void **state)
{
	(void)state;
	struct err e;
	char *dir = fs_mkdtemp("ramp-test-journal", &e);
	assert_non_null(dir);
	char *path = fs_join(dir, "r.jsonl");
	struct orch_journal j;
	size_t len;
	char *buf = journal_text(&len);
	char *nl = strchr(buf, '\n');
	assert_int_equal(orch_journal_create(path, buf, (size_t)(nl - buf), &j, &e), 0);
	/* never over another */
	assert_int_equal(orch_journal_create(path, buf, (size_t)(nl - buf), &(struct orch_journal){0}, &e), -1);
	assert_non_null(strstr(e.msg, "File exists"));
	/* line by line, the last with sync */
	for (char *p = nl + 1; *p;) {
		char *nl = strchr(p, '\n');
		assert_int_equal(orch_journal_write(&j, p, (size_t)(nl - p), nl[1] == '\0', &e), 0);
		p = nl + 1;
	}
	assert_false(j.dirty);
	orch_journal_close(&j);
	/* a crash mid-line */
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(write(fd, "{\"time\":\"x\",\"ev", 15) == 15);
	close(fd);
	struct orch_rollout r;
	assert_int_equal(orch_journal_load(path, &r, &e), 0);
	assert_true(r.torn);
	assert_int_equal(r.valid_len, len);
	/* reopening cuts the torn line off before appending */
	assert_int_equal(orch_journal_reopen(path, r.valid_len, &j, &e), 0);
	const char *resume = "{\"time\":\"t\",\"event\":\"resume\",\"rollout\":\"" ID "\",\"pid\":1}";
	assert_int_equal(orch_journal_write(&j, resume, strlen(resume), true, &e), 0);
	orch_journal_close(&j);
	orch_rollout_free(&r);
	assert_int_equal(orch_journal_load(path, &r, &e), 0);
	assert_false(r.torn);
	assert_int_equal(r.lines, 12);
	orch_rollout_free(&r);
	/* a journal that is not there is named */
	assert_int_equal(orch_journal_load("/nonexistent/j", &r, &e), -1);
	assert_non_null(strstr(e.msg, "/nonexistent/j"));
	free(buf);
	assert_int_equal(fs_rm_rf(dir, &e), 0);
	free(path);
	free(dir);
}

/* Issue 13 item 3: files of the state directory are never reached through
 * a link someone planted, and a directory others may write is refused. */
static void test_state_traps(void **state)
{
	(void)state;
	struct err e;
	struct orch_rollout r;
	struct orch_journal j;
	char *dir = fs_mkdtemp("ramp-test-journal", &e), buf[64] = "";
	assert_non_null(dir);
	char *victim = fs_join(dir, "victim"), *sym = fs_join(dir, "link.jsonl"), *hard = fs_join(dir, "hard.jsonl"),
	     *fresh = fs_join(dir, "fresh.jsonl");
	assert_int_equal(fs_write_atomic(victim, "precious\n", 9, 0644, &e), 0);
	assert_int_equal(symlink(victim, sym), 0);
	assert_int_equal(orch_journal_load(sym, &r, &e), -1);
	assert_non_null(strstr(e.msg, "is a symbolic link"));
	assert_int_equal(orch_journal_reopen(sym, 0, &j, &e), -1);
	assert_non_null(strstr(e.msg, "is a symbolic link"));
	/* a new journal never replaces what has its name */
	assert_int_equal(orch_journal_create(sym, "{}", 2, &j, &e), -1);
	assert_non_null(strstr(e.msg, "File exists"));
	struct stat st;
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(link(victim, hard), 0);
	assert_int_equal(orch_journal_reopen(hard, 0, &j, &e), -1);
	assert_non_null(strstr(e.msg, "not a regular file with one name"));
	int fd = open(victim, O_RDONLY);
	assert_true(read(fd, buf, sizeof buf - 1) == 9);
	close(fd);
	assert_string_equal(buf, "precious\n");
	/* a directory others may write, or another user's */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(orch_journal_create(fresh, "{}", 2, &j, &e), -1);
	assert_non_null(strstr(e.msg, "is writable by others than its owner (mode 0777): run \"chmod go-w"));
	assert_int_equal(chmod(dir, 0700), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(dir, 65534, 65534), 0);
		assert_int_equal(orch_journal_create(fresh, "{}", 2, &j, &e), -1);
		assert_non_null(strstr(e.msg, "belongs to uid 65534"));
		assert_int_equal(chown(dir, 0, 0), 0);
	}
	assert_false(fs_exists(fresh));
	assert_int_equal(fs_rm_rf(dir, &e), 0);
	free(victim);
	free(sym);
	free(hard);
	free(fresh);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_torn),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_state_traps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
