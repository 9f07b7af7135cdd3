/* creds.c: credential files, credential helpers and auth.json writing (see creds.h). */
#include "image/creds.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/base64.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"

#define AUTH_FILE_MAX (1u << 20)
#define HELPER_OUT_MAX (64u << 10)

extern char **environ;

void img_creds_free(struct img_creds *c)
{
	free(c->username);
	free(c->password);
	free(c->identity_token);
	*c = (struct img_creds){0};
}

int img_creds_copy(struct img_creds *dst, const struct img_creds *src, struct err *e)
{
	*dst = (struct img_creds){0};
	if ((src->username && !(dst->username = strdup(src->username))) ||
	    (src->password && !(dst->password = strdup(src->password))) ||
	    (src->identity_token && !(dst->identity_token = strdup(src->identity_token)))) {
		img_creds_free(dst);
		return err_errno(e, ENOMEM, "credentials");
	}
	return 0;
}

int img_creds_from_string(const char *s, struct img_creds *c, struct err *e)
{
	const char *colon = strchr(s, ':');
	*c = (struct img_creds){0};
	if (!colon || colon == s)
		return err_set(e, "credentials must be USER:PASSWORD");
	if (!(c->username = strndup(s, (size_t)(colon - s))) || !(c->password = strdup(colon + 1))) {
		img_creds_free(c);
		return err_errno(e, ENOMEM, "credentials");
	}
	return 0;
}

/* ---- keys ---- */

/* An auths key as "registry[/repo]": legacy keys ("https://index.docker.io/v1/")
 * carry a scheme or an API path and name the registry only. */
static char *normalize_key(const char *key)
{
	const char *k = key;
	bool legacy = false;
	if (!strncmp(k, "https://", 8) || !strncmp(k, "http://", 7)) {
		k = strchr(k, ':') + 3;
		legacy = true;
	}
	size_t n = strlen(k);
	while (n && k[n - 1] == '/')
		n--;
	if (n >= 3 && (!strncmp(k + n - 3, "/v1", 3) || !strncmp(k + n - 3, "/v2", 3)))
		legacy = true;
	if (legacy) {
		const char *slash = memchr(k, '/', n);
		if (slash)
			n = (size_t)(slash - k);
	}
	char *r = strndup(k, n);
	if (!r)
		return NULL;
	if (!strcmp(r, "index.docker.io") || !strcmp(r, "registry-1.docker.io")) {
		free(r);
		return strdup("docker.io");
	}
	if (!strncmp(r, "index.docker.io/", 16)) {
		char *h;
		if (asprintf(&h, "docker.io/%s", r + 16) < 0)
			h = NULL;
		free(r);
		return h;
	}
	return r;
}

/* How specific key is for registry/repo: its length, or -1 when it does not apply. */
static long match_len(const char *key, const char *registry, const char *repo)
{
	size_t rl = strlen(registry);
	if (strncmp(key, registry, rl))
		return -1;
	if (!key[rl])
		return (long)rl;
	if (key[rl] != '/' || !repo)
		return -1;
	const char *kr = key + rl + 1;
	size_t kl = strlen(kr);
	/* a repository key matches the repository or a namespace above it */
	if (!strncmp(repo, kr, kl) && (repo[kl] == '\0' || repo[kl] == '/'))
		return (long)(rl + 1 + kl);
	return -1;
}

static int decode_entry(const struct json *v, const char *what, const char *key, struct img_creds *c,
			struct err *e)
{
	const char *auth = NULL, *tok = NULL;
	if (v->type != JSON_OBJECT)
		return err_set(e, "%s: auths \"%.100s\": expected an object", what, key);
	if (json_field_str(v, "auth", false, &auth, e) < 0 || json_field_str(v, "identitytoken", false, &tok, e) < 0)
		return err_ctx(e, "%s: auths \"%.100s\"", what, key);
	if ((!auth || !*auth) && (!tok || !*tok))
		return 0;
	if (auth && *auth) {
		_cleanup_free_ char *plain = NULL;
		size_t n;
		if (b64_decode(auth, strlen(auth), B64_STD, &plain, &n, e) < 0)
			return err_ctx(e, "%s: auths \"%.100s\": field \"auth\"", what, key);
		char *colon = strchr(plain, ':');
		if (strlen(plain) != n || !colon || colon == plain)
			return err_set(e, "%s: auths \"%.100s\": field \"auth\" is not base64 of USER:PASSWORD", what, key);
		*colon = '\0';
		if (!(c->username = strdup(plain)) || !(c->password = strdup(colon + 1)))
			goto nomem;
	}
	if (tok && *tok) {
		if (strlen(tok) != json_get(v, "identitytoken")->str.len || strpbrk(tok, "\r\n")) {
			img_creds_free(c); /* the user and password decoded above */
			return err_set(e, "%s: auths \"%.100s\": invalid identitytoken", what, key);
		}
		if (!(c->identity_token = strdup(tok)))
			goto nomem;
	}
	return 1;
nomem:
	img_creds_free(c);
	return err_errno(e, ENOMEM, "credentials");
}

static bool valid_helper_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return false;
	return true;
}

int img_creds_parse(const char *json, size_t len, const char *what, const char *registry, const char *repo,
		    struct img_creds *c, char **helper, struct err *e)
{
	struct json *j;
	const struct json *auths, *helpers;
	const char *store = NULL;
	int rc = -1;
	*c = (struct img_creds){0};
	*helper = NULL;
	if (!(j = json_parse(json, len, e)))
		return err_ctx(e, "%s", what);
	if (j->type != JSON_OBJECT) {
		err_set(e, "%s: expected a JSON object", what);
		goto out;
	}
	if (json_field(j, "auths", JSON_OBJECT, false, &auths, e) < 0 ||
	    json_field(j, "credHelpers", JSON_OBJECT, false, &helpers, e) < 0 ||
	    json_field_str(j, "credsStore", false, &store, e) < 0) {
		err_ctx(e, "%s", what);
		goto out;
	}
	/* a helper named for this registry comes first */
	for (size_t i = 0; helpers && i < helpers->obj.n; i++) {
		_cleanup_free_ char *k = normalize_key(helpers->obj.k[i]);
		const struct json *v = helpers->obj.v[i];
		if (!k) {
			err_errno(e, ENOMEM, "credentials");
			goto out;
		}
		if (strcmp(k, registry))
			continue;
		if (v->type != JSON_STRING || !valid_helper_name(v->str.s)) {
			err_set(e, "%s: credHelpers \"%.100s\": expected a helper name (letters, digits, - _ .)", what,
				helpers->obj.k[i]);
			goto out;
		}
		if (!(*helper = strdup(v->str.s)))
			err_errno(e, ENOMEM, "credentials");
		rc = *helper ? 0 : -1;
		goto out;
	}
	const struct json *best = NULL;
	const char *best_key = NULL;
	long best_len = -1;
	for (size_t i = 0; auths && i < auths->obj.n; i++) {
		_cleanup_free_ char *k = normalize_key(auths->obj.k[i]);
		if (!k) {
			err_errno(e, ENOMEM, "credentials");
			goto out;
		}
		long m = match_len(k, registry, repo);
		if (m > best_len) {
			best_len = m;
			best = auths->obj.v[i];
			best_key = auths->obj.k[i];
		}
	}
	if (best) {
		rc = decode_entry(best, what, best_key, c, e);
		if (rc != 0)
			goto out;
	}
	if (store && *store) {
		if (!valid_helper_name(store)) {
			err_set(e, "%s: credsStore: expected a helper name (letters, digits, - _ .)", what);
			goto out;
		}
		if (!(*helper = strdup(store))) {
			err_errno(e, ENOMEM, "credentials");
			goto out;
		}
	}
	rc = 0;
out:
	json_free(j);
	return rc;
}

/* ---- credential helpers ---- */

int img_creds_helper(const char *name, const char *registry, struct img_creds *c, struct err *e)
{
	char prog[96];
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int rc = -1, status = 0;
	/* docker names Docker Hub by its old index address */
	const char *server = strcmp(registry, "docker.io") ? registry : "https://index.docker.io/v1/";

	*c = (struct img_creds){0};
	snprintf(prog, sizeof prog, "docker-credential-%s", name);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		err_sys(e, "pipe");
		goto close;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	char *argv[] = {prog, "get", NULL};
	int sr = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (sr) {
		err_errno(e, sr, "run credential helper \"%s\"", prog);
		goto close;
	}
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	/* the request is tiny: it fits the pipe, no deadlock with the reply */
	signal(SIGPIPE, SIG_IGN);
	if (dprintf(in[1], "%s\n", server) < 0)
		log_debug("%s: could not write the request: %s", prog, strerror(errno));
	close(in[1]);
	in[1] = -1;
	struct err re;
	int rr = fs_read_fd(out[0], prog, HELPER_OUT_MAX, &buf, &len, &re);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rr < 0) {
		*e = re;
		goto close;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (strstr(buf, "credentials not found")) {
			rc = 0;
			goto close;
		}
		err_set(e, "credential helper %s failed for %s: %.200s", prog, registry, buf);
		goto close;
	}
	struct json *j = json_parse(buf, len, e);
	const char *user = NULL, *secret = NULL;
	if (!j || json_field_str(j, "Username", false, &user, e) < 0 || json_field_str(j, "Secret", true, &secret, e) < 0) {
		err_ctx(e, "credential helper %s: its answer", prog);
		json_free(j);
		goto close;
	}
	if (user && !strcmp(user, "<token>"))
		c->identity_token = strdup(secret);
	else {
		c->username = strdup(user ? user : "");
		c->password = strdup(secret);
	}
	json_free(j);
	if (!c->identity_token && (!c->username || !c->password)) {
		img_creds_free(c);
		err_errno(e, ENOMEM, "credentials");
		goto close;
	}
	rc = 1;
close:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	return rc;
}

/* ---- the files ---- */

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	if (h && *h)
		return h;
	struct passwd *pw = getpwuid(getuid());
	return pw ? pw->pw_dir : "/";
}

char *img_creds_auth_file(struct err *e)
{
	const char *f = getenv("REGISTRY_AUTH_FILE"), *x = getenv("XDG_RUNTIME_DIR");
	const char *cfg = getenv("XDG_CONFIG_HOME");
	char *p;
	int n;
	if (f && *f)
		n = asprintf(&p, "%s", f);
	else if (x && *x)
		n = asprintf(&p, "%s/containers/auth.json", x);
	else if (cfg && *cfg)
		n = asprintf(&p, "%s/containers/auth.json", cfg);
	else
		n = asprintf(&p, "%s/.config/containers/auth.json", home_dir());
	if (n < 0) {
		err_errno(e, ENOMEM, "auth file");
		return NULL;
	}
	return p;
}

static char *docker_config(void)
{
	const char *d = getenv("DOCKER_CONFIG");
	char *p;
	if (asprintf(&p, "%s%s/config.json", d && *d ? d : home_dir(), d && *d ? "" : "/.docker") < 0)
		return NULL;
	return p;
}

int img_creds_lookup(const char *registry, const char *repo, struct img_creds *c, char **source, struct err *e)
{
	char *files[2] = {img_creds_auth_file(e), docker_config()};
	int rc = 0;
	*c = (struct img_creds){0};
	if (!files[0] || !files[1]) {
		rc = err_errno(e, ENOMEM, "credentials");
		goto out;
	}
	for (size_t i = 0; i < 2 && rc == 0; i++) {
		_cleanup_free_ char *buf = NULL, *helper = NULL;
		size_t len;
		struct err fe;
		if (fs_read_file(files[i], AUTH_FILE_MAX, &buf, &len, &fe) < 0) {
			if (fe.errnum == ENOENT || fe.errnum == ENOTDIR)
				continue;
			*e = fe;
			rc = -1;
			break;
		}
		rc = img_creds_parse(buf, len, files[i], registry, repo, c, &helper, e);
		if (rc == 1 && source)
			*source = strdup(files[i]);
		if (rc == 0 && helper) {
			rc = img_creds_helper(helper, registry, c, e);
			if (rc == 1 && source && asprintf(source, "docker-credential-%s", helper) < 0)
				*source = NULL;
		}
	}
out:
	free(files[0]);
	free(files[1]);
	return rc;
}

/* Rewrite the file with auths[registry] replaced by entry (or removed when NULL). */
static int rewrite(const char *file, const char *registry, const char *entry_auth, bool *found, struct err *e)
{
	_cleanup_free_ char *buf = NULL, *dir = NULL;
	struct json *j = NULL;
	size_t len = 0;
	struct err fe;
	int rc = -1;
	if (found)
		*found = false;
	if (fs_read_file(file, AUTH_FILE_MAX, &buf, &len, &fe) < 0) {
		if (fe.errnum != ENOENT) {
			*e = fe;
			return -1;
		}
	} else if (!(j = json_parse(buf, len, e)) || j->type != JSON_OBJECT) {
		if (j)
			err_set(e, "expected a JSON object");
		json_free(j);
		return err_ctx(e, "%s", file);
	}
	struct jgen *g = jgen_new(true);
	if (!g) {
		json_free(j);
		return err_errno(e, ENOMEM, "auth file");
	}
	const struct json *auths = json_get(j, "auths");
	if (auths && auths->type != JSON_OBJECT) {
		err_set(e, "%s: \"auths\" is not an object", file);
		goto out;
	}
	jgen_obj_open(g);
	jgen_key(g, "auths");
	jgen_obj_open(g);
	for (size_t i = 0; auths && i < auths->obj.n; i++) {
		_cleanup_free_ char *k = normalize_key(auths->obj.k[i]);
		if (k && !strcmp(k, registry)) {
			if (found)
				*found = true;
			continue;
		}
		jgen_key(g, auths->obj.k[i]);
		jgen_value(g, auths->obj.v[i]);
	}
	if (entry_auth) {
		jgen_key(g, registry);
		jgen_obj_open(g);
		jgen_kstr(g, "auth", entry_auth);
		jgen_obj_close(g);
	}
	jgen_obj_close(g);
	for (size_t i = 0; j && i < j->obj.n; i++) {
		if (!strcmp(j->obj.k[i], "auths"))
			continue;
		jgen_key(g, j->obj.k[i]);
		jgen_value(g, j->obj.v[i]);
	}
	jgen_obj_close(g);
	const char *out;
	size_t olen;
	if (jgen_result(g, &out, &olen, e) < 0)
		goto out;
	char *slash = strrchr(file, '/');
	if (slash && slash != file) {
		if (!(dir = strndup(file, (size_t)(slash - file)))) {
			err_errno(e, ENOMEM, "auth file");
			goto out;
		}
		if (fs_mkdir_p(dir, 0700, e) < 0)
			goto out;
	}
	rc = fs_write_atomic(file, out, olen, 0600, e);
out:
	jgen_free(g);
	json_free(j);
	return rc;
}

int img_creds_store(const char *file, const char *registry, const char *user, const char *password, struct err *e)
{
	_cleanup_free_ char *plain = NULL, *b64 = NULL;
	if (asprintf(&plain, "%s:%s", user, password) < 0 || !(b64 = b64_encode(plain, strlen(plain))))
		return err_errno(e, ENOMEM, "credentials");
	explicit_bzero(plain, strlen(plain));
	return rewrite(file, registry, b64, NULL, e);
}

int img_creds_erase(const char *file, const char *registry, bool *found, struct err *e)
{
	if (!fs_exists(file)) {
		*found = false;
		return 0;
	}
	return rewrite(file, registry, NULL, found, e);
}
