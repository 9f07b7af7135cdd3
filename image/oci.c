/* oci.c: parse and write OCI manifests, indexes and configs (see oci.h). */
#include "image/oci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "lib/cleanup.h"
#include "lib/json.h"

#define NOMEM(e, what) err_errno(e, ENOMEM, "%s", what)

static int dup_str(char **dst, const char *src, struct err *e)
{
	*dst = NULL;
	if (src && !(*dst = strdup(src)))
		return NOMEM(e, "copy string");
	return 0;
}

/* ---- string map and list ---- */

int img_kvs_set(struct img_kvs *m, const char *k, const char *v, struct err *e)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(m->v[mid].k, k);
		if (c == 0) {
			char *nv = strdup(v);
			if (!nv)
				return NOMEM(e, "annotation");
			free(m->v[mid].v);
			m->v[mid].v = nv;
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	struct img_kv *nv = realloc(m->v, (m->n + 1) * sizeof *nv);
	if (!nv)
		return NOMEM(e, "annotation");
	m->v = nv;
	char *kk = strdup(k), *vv = strdup(v);
	if (!kk || !vv) {
		free(kk);
		free(vv);
		return NOMEM(e, "annotation");
	}
	memmove(m->v + lo + 1, m->v + lo, (m->n - lo) * sizeof *m->v);
	m->v[lo] = (struct img_kv){kk, vv};
	m->n++;
	return 0;
}

const char *img_kvs_get(const struct img_kvs *m, const char *k)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].k, k) == 0)
			return m->v[i].v;
	return NULL;
}

void img_kvs_free(struct img_kvs *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].k);
		free(m->v[i].v);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

int img_kvs_copy(struct img_kvs *dst, const struct img_kvs *src, struct err *e)
{
	*dst = (struct img_kvs){0};
	for (size_t i = 0; i < src->n; i++)
		if (img_kvs_set(dst, src->v[i].k, src->v[i].v, e) < 0)
			return -1;
	return 0;
}

/* ---- platform ---- */

void img_platform_host(struct img_platform *p)
{
	struct utsname u;
	const char *arch = "amd64", *variant = NULL;
	uname(&u);
	if (!strcmp(u.machine, "aarch64")) {
		arch = "arm64";
		variant = "v8";
	} else if (!strncmp(u.machine, "armv7", 5)) {
		arch = "arm";
		variant = "v7";
	} else if (!strcmp(u.machine, "i686") || !strcmp(u.machine, "i386")) {
		arch = "386";
	} else if (!strcmp(u.machine, "ppc64le")) {
		arch = "ppc64le";
	} else if (!strcmp(u.machine, "s390x")) {
		arch = "s390x";
	} else if (!strcmp(u.machine, "riscv64")) {
		arch = "riscv64";
	}
	p->os = strdup("linux");
	p->architecture = strdup(arch);
	p->variant = variant ? strdup(variant) : NULL;
}

int img_platform_parse(const char *s, struct img_platform *p, struct err *e)
{
	_cleanup_free_ char *copy = strdup(s);
	*p = (struct img_platform){0};
	if (!copy)
		return NOMEM(e, "platform");
	char *os = copy, *arch = strchr(copy, '/'), *variant = NULL;
	if (arch) {
		*arch++ = '\0';
		if ((variant = strchr(arch, '/')))
			*variant++ = '\0';
	}
	if (!*os || !arch || !*arch || (variant && (!*variant || strchr(variant, '/'))))
		return err_set(e, "invalid platform \"%.80s\": expected os/arch[/variant]", s);
	if (dup_str(&p->os, os, e) < 0 || dup_str(&p->architecture, arch, e) < 0 ||
	    dup_str(&p->variant, variant, e) < 0) {
		img_platform_free(p);
		return -1;
	}
	return 0;
}

bool img_platform_match(const struct img_platform *want, const struct img_platform *have)
{
	if (!have->os || !have->architecture || strcmp(want->os, have->os) || strcmp(want->architecture, have->architecture))
		return false;
	/* a wanted variant must match; arm64's v8 is the default when absent */
	if (want->variant) {
		const char *hv = have->variant ? have->variant : (!strcmp(have->architecture, "arm64") ? "v8" : NULL);
		return hv && !strcmp(hv, want->variant);
	}
	return true;
}

void img_platform_free(struct img_platform *p)
{
	free(p->os);
	free(p->architecture);
	free(p->variant);
	*p = (struct img_platform){0};
}

static int platform_copy(struct img_platform *dst, const struct img_platform *src, struct err *e)
{
	*dst = (struct img_platform){0};
	return dup_str(&dst->os, src->os, e) < 0 || dup_str(&dst->architecture, src->architecture, e) < 0 ||
			       dup_str(&dst->variant, src->variant, e) < 0
		       ? -1
		       : 0;
}

/* ---- media types ---- */

bool img_media_is_manifest(const char *mt)
{
	return mt && (!strcmp(mt, IMG_MT_OCI_MANIFEST) || !strcmp(mt, IMG_MT_DOCKER_MANIFEST));
}

bool img_media_is_index(const char *mt)
{
	return mt && (!strcmp(mt, IMG_MT_OCI_INDEX) || !strcmp(mt, IMG_MT_DOCKER_LIST));
}

bool img_media_is_layer(const char *mt, const char **compression)
{
	static const struct {
		const char *mt, *comp;
	} known[] = {
		{IMG_MT_OCI_LAYER, ""},
		{IMG_MT_OCI_LAYER "+gzip", "gzip"},
		{IMG_MT_OCI_LAYER "+zstd", "zstd"},
		{IMG_MT_DOCKER_LAYER, "gzip"},
		{"application/vnd.docker.image.rootfs.diff.tar", ""},
		{"application/vnd.oci.image.layer.nondistributable.v1.tar", ""},
		{"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "gzip"},
		{"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", "zstd"},
	};
	for (size_t i = 0; mt && i < ARRAY_SIZE(known); i++)
		if (!strcmp(mt, known[i].mt)) {
			if (compression)
				*compression = known[i].comp;
			return true;
		}
	return false;
}

/* ---- parsing helpers ---- */

static int parse_kvs(const struct json *obj, const char *key, struct img_kvs *out, struct err *e)
{
	const struct json *m;
	*out = (struct img_kvs){0};
	if (json_field(obj, key, JSON_OBJECT, false, &m, e) < 0)
		return -1;
	for (size_t i = 0; m && i < m->obj.n; i++) {
		const struct json *v = m->obj.v[i];
		if (v->type != JSON_STRING)
			return err_set(e, "%s \"%.100s\": expected a string value", key, m->obj.k[i]);
		if (strlen(v->str.s) != v->str.len)
			return err_set(e, "%s \"%.100s\": value contains a NUL character", key, m->obj.k[i]);
		if (img_kvs_set(out, m->obj.k[i], v->str.s, e) < 0)
			return -1;
	}
	return 0;
}

static int parse_strv(const struct json *obj, const char *key, struct strv *out, bool *present, struct err *e)
{
	const struct json *a;
	*out = (struct strv){0};
	if (json_field(obj, key, JSON_ARRAY, false, &a, e) < 0)
		return -1;
	if (present)
		*present = a != NULL;
	for (size_t i = 0; a && i < a->arr.n; i++) {
		const struct json *v = a->arr.v[i];
		if (v->type != JSON_STRING || strlen(v->str.s) != v->str.len)
			return err_set(e, "field \"%s\": item %zu is not a plain string", key, i);
		if (strv_push(out, v->str.s, e) < 0)
			return -1;
	}
	return 0;
}

static int parse_opt_str(const struct json *obj, const char *key, char **out, struct err *e)
{
	const char *s = NULL;
	*out = NULL;
	if (json_field_str(obj, key, false, &s, e) < 0)
		return -1;
	return dup_str(out, s, e);
}

static int parse_platform(const struct json *p, struct img_platform *out, struct err *e)
{
	*out = (struct img_platform){0};
	if (parse_opt_str(p, "os", &out->os, e) < 0 || parse_opt_str(p, "architecture", &out->architecture, e) < 0 ||
	    parse_opt_str(p, "variant", &out->variant, e) < 0)
		return -1;
	return 0;
}

static int parse_descriptor(const struct json *j, struct img_descriptor *d, struct err *e)
{
	const char *digest = NULL;
	const struct json *plat;
	*d = (struct img_descriptor){0};
	if (!j || j->type != JSON_OBJECT)
		return err_set(e, "descriptor: expected an object");
	if (parse_opt_str(j, "mediaType", &d->media_type, e) < 0)
		return -1;
	if (!d->media_type)
		return err_set(e, "descriptor: missing field \"mediaType\"");
	if (json_field_str(j, "digest", true, &digest, e) < 0 || img_digest_parse(digest, &d->digest, e) < 0)
		return err_ctx(e, "descriptor");
	if (json_field_int(j, "size", true, &d->size, e) < 0)
		return err_ctx(e, "descriptor %s", d->digest.s);
	if (d->size < 0)
		return err_set(e, "descriptor %s: negative size %lld", d->digest.s, (long long)d->size);
	if (parse_opt_str(j, "artifactType", &d->artifact_type, e) < 0 || parse_kvs(j, "annotations", &d->annotations, e) < 0)
		return err_ctx(e, "descriptor %s", d->digest.s);
	if (json_field(j, "platform", JSON_OBJECT, false, &plat, e) < 0)
		return err_ctx(e, "descriptor %s", d->digest.s);
	if (plat) {
		d->has_platform = true;
		if (parse_platform(plat, &d->platform, e) < 0)
			return err_ctx(e, "descriptor %s platform", d->digest.s);
	}
	return 0;
}

void img_descriptor_free(struct img_descriptor *d)
{
	if (!d)
		return;
	free(d->media_type);
	free(d->artifact_type);
	img_platform_free(&d->platform);
	img_kvs_free(&d->annotations);
	*d = (struct img_descriptor){0};
}

int img_descriptor_copy(struct img_descriptor *dst, const struct img_descriptor *src, struct err *e)
{
	*dst = (struct img_descriptor){.digest = src->digest, .size = src->size, .has_platform = src->has_platform};
	if (dup_str(&dst->media_type, src->media_type, e) < 0 || dup_str(&dst->artifact_type, src->artifact_type, e) < 0 ||
	    platform_copy(&dst->platform, &src->platform, e) < 0 || img_kvs_copy(&dst->annotations, &src->annotations, e) < 0) {
		img_descriptor_free(dst);
		return -1;
	}
	return 0;
}

static int parse_doc(const char *buf, size_t len, size_t max, const char *what, struct json **out, struct err *e)
{
	if (len > max)
		return err_set(e, "%s is %zu bytes, more than the limit of %zu", what, len, max);
	if (!(*out = json_parse(buf, len, e)))
		return err_ctx(e, "%s", what);
	if ((*out)->type != JSON_OBJECT) {
		json_free(*out);
		return err_set(e, "%s: expected a JSON object", what);
	}
	return 0;
}

static int check_schema_version(const struct json *j, const char *what, struct err *e)
{
	int64_t v = 0;
	if (json_field_int(j, "schemaVersion", true, &v, e) < 0)
		return err_ctx(e, "%s", what);
	if (v == 1)
		return err_set(e, "%s: Docker schema 1 manifests are not supported (deprecated and unverifiable); "
				  "re-push the image with a current tool",
			       what);
	if (v != 2)
		return err_set(e, "%s: unsupported schemaVersion %lld", what, (long long)v);
	return 0;
}

/* ---- manifest ---- */

int img_manifest_parse(const char *buf, size_t len, struct img_manifest *m, struct err *e)
{
	struct json *j = NULL;
	const struct json *layers, *cfg, *subj;
	int rc = -1;
	*m = (struct img_manifest){0};
	if (parse_doc(buf, len, IMG_MANIFEST_MAX, "manifest", &j, e) < 0)
		return -1;
	if (check_schema_version(j, "manifest", e) < 0 || parse_opt_str(j, "mediaType", &m->media_type, e) < 0)
		goto out;
	if (m->media_type && !img_media_is_manifest(m->media_type)) {
		if (!strcmp(m->media_type, IMG_MT_DOCKER_SCHEMA1) || !strcmp(m->media_type, IMG_MT_DOCKER_SCHEMA1_SIGNED))
			err_set(e, "manifest: Docker schema 1 manifests are not supported");
		else
			err_set(e, "manifest: unexpected media type \"%.100s\"", m->media_type);
		goto out;
	}
	if (json_get(j, "manifests")) {
		err_set(e, "manifest: this is an image index, not a manifest");
		goto out;
	}
	if (json_field(j, "config", JSON_OBJECT, true, &cfg, e) < 0 || parse_descriptor(cfg, &m->config, e) < 0) {
		err_ctx(e, "manifest config");
		goto out;
	}
	if (json_field(j, "layers", JSON_ARRAY, true, &layers, e) < 0) {
		err_ctx(e, "manifest");
		goto out;
	}
	if (layers->arr.n > IMG_MAX_LAYERS) {
		err_set(e, "manifest has %zu layers, more than the limit of %d", layers->arr.n, IMG_MAX_LAYERS);
		goto out;
	}
	if (layers->arr.n && !(m->layers = calloc(layers->arr.n, sizeof *m->layers))) {
		NOMEM(e, "manifest");
		goto out;
	}
	for (size_t i = 0; i < layers->arr.n; i++) {
		m->n_layers = i + 1;
		if (parse_descriptor(layers->arr.v[i], &m->layers[i], e) < 0) {
			err_ctx(e, "manifest layer %zu", i);
			goto out;
		}
	}
	if (json_field(j, "subject", JSON_OBJECT, false, &subj, e) < 0)
		goto out;
	if (subj) {
		if (!(m->subject = calloc(1, sizeof *m->subject))) {
			NOMEM(e, "manifest");
			goto out;
		}
		if (parse_descriptor(subj, m->subject, e) < 0) {
			err_ctx(e, "manifest subject");
			goto out;
		}
	}
	if (parse_opt_str(j, "artifactType", &m->artifact_type, e) < 0 || parse_kvs(j, "annotations", &m->annotations, e) < 0) {
		err_ctx(e, "manifest");
		goto out;
	}
	rc = 0;
out:
	json_free(j);
	if (rc < 0)
		img_manifest_free(m);
	return rc;
}

void img_manifest_free(struct img_manifest *m)
{
	free(m->media_type);
	free(m->artifact_type);
	img_descriptor_free(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		img_descriptor_free(&m->layers[i]);
	free(m->layers);
	img_descriptor_free(m->subject);
	free(m->subject);
	img_kvs_free(&m->annotations);
	*m = (struct img_manifest){0};
}

static void gen_kvs(struct jgen *g, const char *key, const struct img_kvs *m)
{
	if (!m->n)
		return;
	jgen_key(g, key);
	jgen_obj_open(g);
	for (size_t i = 0; i < m->n; i++)
		jgen_kstr(g, m->v[i].k, m->v[i].v);
	jgen_obj_close(g);
}

static void gen_platform(struct jgen *g, const struct img_platform *p)
{
	jgen_kstr(g, "architecture", p->architecture ? p->architecture : "");
	jgen_kstr(g, "os", p->os ? p->os : "");
	if (p->variant)
		jgen_kstr(g, "variant", p->variant);
}

static void gen_descriptor(struct jgen *g, const struct img_descriptor *d)
{
	jgen_obj_open(g);
	jgen_kstr(g, "mediaType", d->media_type);
	jgen_kstr(g, "digest", d->digest.s);
	jgen_kint(g, "size", d->size);
	if (d->artifact_type)
		jgen_kstr(g, "artifactType", d->artifact_type);
	if (d->has_platform) {
		jgen_key(g, "platform");
		jgen_obj_open(g);
		gen_platform(g, &d->platform);
		jgen_obj_close(g);
	}
	gen_kvs(g, "annotations", &d->annotations);
	jgen_obj_close(g);
}

static int finish(struct jgen *g, char **out, size_t *len, struct err *e)
{
	const char *buf;
	size_t n;
	if (!g)
		return NOMEM(e, "JSON");
	if (jgen_result(g, &buf, &n, e) < 0) {
		jgen_free(g);
		return -1;
	}
	*out = malloc(n + 1);
	if (!*out) {
		jgen_free(g);
		return NOMEM(e, "JSON");
	}
	memcpy(*out, buf, n);
	(*out)[n] = '\0';
	*len = n;
	jgen_free(g);
	return 0;
}

int img_manifest_json(const struct img_manifest *m, char **out, size_t *len, struct err *e)
{
	struct jgen *g = jgen_new(false);
	if (!g)
		return NOMEM(e, "JSON");
	jgen_obj_open(g);
	jgen_kint(g, "schemaVersion", 2);
	jgen_kstr(g, "mediaType", IMG_MT_OCI_MANIFEST);
	if (m->artifact_type)
		jgen_kstr(g, "artifactType", m->artifact_type);
	jgen_key(g, "config");
	gen_descriptor(g, &m->config);
	jgen_key(g, "layers");
	jgen_arr_open(g);
	for (size_t i = 0; i < m->n_layers; i++)
		gen_descriptor(g, &m->layers[i]);
	jgen_arr_close(g);
	if (m->subject) {
		jgen_key(g, "subject");
		gen_descriptor(g, m->subject);
	}
	gen_kvs(g, "annotations", &m->annotations);
	jgen_obj_close(g);
	return finish(g, out, len, e);
}

/* ---- index ---- */

int img_index_parse(const char *buf, size_t len, struct img_index *x, struct err *e)
{
	struct json *j = NULL;
	const struct json *ms;
	int rc = -1;
	*x = (struct img_index){0};
	if (parse_doc(buf, len, IMG_MANIFEST_MAX, "index", &j, e) < 0)
		return -1;
	if (check_schema_version(j, "index", e) < 0 || parse_opt_str(j, "mediaType", &x->media_type, e) < 0)
		goto out;
	if (x->media_type && !img_media_is_index(x->media_type)) {
		err_set(e, "index: unexpected media type \"%.100s\"", x->media_type);
		goto out;
	}
	if (json_field(j, "manifests", JSON_ARRAY, true, &ms, e) < 0) {
		err_ctx(e, "index");
		goto out;
	}
	if (ms->arr.n > 10000) {
		err_set(e, "index has %zu entries, more than the limit of 10000", ms->arr.n);
		goto out;
	}
	if (ms->arr.n && !(x->manifests = calloc(ms->arr.n, sizeof *x->manifests))) {
		NOMEM(e, "index");
		goto out;
	}
	for (size_t i = 0; i < ms->arr.n; i++) {
		x->n = i + 1;
		if (parse_descriptor(ms->arr.v[i], &x->manifests[i], e) < 0) {
			err_ctx(e, "index entry %zu", i);
			goto out;
		}
	}
	if (parse_kvs(j, "annotations", &x->annotations, e) < 0) {
		err_ctx(e, "index");
		goto out;
	}
	rc = 0;
out:
	json_free(j);
	if (rc < 0)
		img_index_free(x);
	return rc;
}

int img_index_json(const struct img_index *x, char **out, size_t *len, struct err *e)
{
	struct jgen *g = jgen_new(false);
	if (!g)
		return NOMEM(e, "JSON");
	jgen_obj_open(g);
	jgen_kint(g, "schemaVersion", 2);
	jgen_kstr(g, "mediaType", IMG_MT_OCI_INDEX);
	jgen_key(g, "manifests");
	jgen_arr_open(g);
	for (size_t i = 0; i < x->n; i++)
		gen_descriptor(g, &x->manifests[i]);
	jgen_arr_close(g);
	gen_kvs(g, "annotations", &x->annotations);
	jgen_obj_close(g);
	return finish(g, out, len, e);
}

int img_index_add(struct img_index *x, const struct img_descriptor *d, struct err *e)
{
	struct img_descriptor *nm = realloc(x->manifests, (x->n + 1) * sizeof *nm);
	if (!nm)
		return NOMEM(e, "index");
	x->manifests = nm;
	if (img_descriptor_copy(&x->manifests[x->n], d, e) < 0)
		return -1;
	x->n++;
	return 0;
}

void img_index_free(struct img_index *x)
{
	free(x->media_type);
	for (size_t i = 0; i < x->n; i++)
		img_descriptor_free(&x->manifests[i]);
	free(x->manifests);
	img_kvs_free(&x->annotations);
	*x = (struct img_index){0};
}

/* ---- config ---- */

static int parse_health(const struct json *h, struct img_healthcheck **out, struct err *e)
{
	struct img_healthcheck *hc = calloc(1, sizeof *hc);
	*out = hc;
	if (!hc)
		return NOMEM(e, "config");
	if (parse_strv(h, "Test", &hc->test, NULL, e) < 0)
		return -1;
	static const char *const dur[] = {"Interval", "Timeout", "StartPeriod"};
	int64_t *dst[] = {&hc->interval, &hc->timeout, &hc->start_period};
	for (size_t i = 0; i < ARRAY_SIZE(dur); i++) {
		if (json_field_int(h, dur[i], false, dst[i], e) < 0)
			return -1;
		if (*dst[i] < 0)
			return err_set(e, "Healthcheck %s: negative duration", dur[i]);
	}
	if (json_field_int(h, "Retries", false, &hc->retries, e) < 0)
		return -1;
	if (hc->retries < 0)
		return err_set(e, "Healthcheck Retries: negative");
	return 0;
}

int img_config_parse(const char *buf, size_t len, struct img_config *c, struct err *e)
{
	struct json *j = NULL;
	const struct json *cfg, *rootfs, *ids, *hist, *ports, *health;
	int rc = -1;
	*c = (struct img_config){0};
	if (parse_doc(buf, len, IMG_CONFIG_MAX, "image config", &j, e) < 0)
		return -1;
	if (parse_platform(j, &c->platform, e) < 0 || parse_opt_str(j, "created", &c->created, e) < 0 ||
	    parse_opt_str(j, "author", &c->author, e) < 0 || json_field(j, "config", JSON_OBJECT, false, &cfg, e) < 0)
		goto fail;
	if (cfg) {
		if (parse_opt_str(cfg, "User", &c->user, e) < 0 || parse_opt_str(cfg, "WorkingDir", &c->workdir, e) < 0 ||
		    parse_opt_str(cfg, "StopSignal", &c->stop_signal, e) < 0 || parse_strv(cfg, "Env", &c->env, NULL, e) < 0 ||
		    parse_strv(cfg, "Entrypoint", &c->entrypoint, &c->has_entrypoint, e) < 0 ||
		    parse_strv(cfg, "Cmd", &c->cmd, &c->has_cmd, e) < 0 || parse_kvs(cfg, "Labels", &c->labels, e) < 0 ||
		    json_field(cfg, "ExposedPorts", JSON_OBJECT, false, &ports, e) < 0 ||
		    json_field(cfg, "Healthcheck", JSON_OBJECT, false, &health, e) < 0)
			goto fail;
		for (size_t i = 0; ports && i < ports->obj.n; i++)
			if (strv_push(&c->exposed_ports, ports->obj.k[i], e) < 0)
				goto fail;
		if (health && parse_health(health, &c->healthcheck, e) < 0)
			goto fail;
	}
	if (json_field(j, "rootfs", JSON_OBJECT, true, &rootfs, e) < 0 ||
	    json_field(rootfs, "diff_ids", JSON_ARRAY, true, &ids, e) < 0)
		goto fail;
	const char *type = json_get_str(rootfs, "type");
	if (!type || strcmp(type, "layers")) {
		err_set(e, "rootfs.type must be \"layers\"");
		goto fail;
	}
	if (ids->arr.n > IMG_MAX_LAYERS) {
		err_set(e, "%zu diff_ids, more than the limit of %d", ids->arr.n, IMG_MAX_LAYERS);
		goto fail;
	}
	if (ids->arr.n && !(c->diff_ids = calloc(ids->arr.n, sizeof *c->diff_ids))) {
		NOMEM(e, "config");
		goto fail;
	}
	for (size_t i = 0; i < ids->arr.n; i++) {
		const struct json *v = ids->arr.v[i];
		if (v->type != JSON_STRING) {
			err_set(e, "diff_ids[%zu]: expected a string", i);
			goto fail;
		}
		if (img_digest_parse(v->str.s, &c->diff_ids[i], e) < 0) {
			err_ctx(e, "diff_ids[%zu]", i);
			goto fail;
		}
		c->n_diff_ids = i + 1;
	}
	if (json_field(j, "history", JSON_ARRAY, false, &hist, e) < 0)
		goto fail;
	if (hist && hist->arr.n > 10 * IMG_MAX_LAYERS) {
		err_set(e, "history has %zu entries, too many", hist->arr.n);
		goto fail;
	}
	if (hist && hist->arr.n && !(c->history = calloc(hist->arr.n, sizeof *c->history))) {
		NOMEM(e, "config");
		goto fail;
	}
	for (size_t i = 0; hist && i < hist->arr.n; i++) {
		const struct json *h = hist->arr.v[i];
		struct img_history *o = &c->history[i];
		c->n_history = i + 1;
		if (h->type != JSON_OBJECT || parse_opt_str(h, "created", &o->created, e) < 0 ||
		    parse_opt_str(h, "created_by", &o->created_by, e) < 0 || parse_opt_str(h, "comment", &o->comment, e) < 0 ||
		    json_field_bool(h, "empty_layer", false, &o->empty_layer, e) < 0) {
			if (h->type != JSON_OBJECT)
				err_set(e, "expected an object");
			err_ctx(e, "history[%zu]", i);
			goto fail;
		}
	}
	rc = 0;
	goto out;
fail:
	err_ctx(e, "image config");
out:
	json_free(j);
	if (rc < 0)
		img_config_free(c);
	return rc;
}

static void gen_strv(struct jgen *g, const char *key, const struct strv *s)
{
	jgen_key(g, key);
	jgen_arr_open(g);
	for (size_t i = 0; i < s->n; i++)
		jgen_str(g, s->v[i]);
	jgen_arr_close(g);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int img_config_json(const struct img_config *c, char **out, size_t *len, struct err *e)
{
	struct jgen *g = jgen_new(false);
	if (!g)
		return NOMEM(e, "JSON");
	jgen_obj_open(g);
	if (c->created)
		jgen_kstr(g, "created", c->created);
	if (c->author)
		jgen_kstr(g, "author", c->author);
	gen_platform(g, &c->platform);
	jgen_key(g, "config");
	jgen_obj_open(g);
	if (c->user)
		jgen_kstr(g, "User", c->user);
	if (c->exposed_ports.n) {
		char **sorted = malloc(c->exposed_ports.n * sizeof *sorted);
		if (!sorted) {
			jgen_free(g);
			return NOMEM(e, "JSON");
		}
		memcpy(sorted, c->exposed_ports.v, c->exposed_ports.n * sizeof *sorted);
		qsort(sorted, c->exposed_ports.n, sizeof *sorted, cmp_str);
		jgen_key(g, "ExposedPorts");
		jgen_obj_open(g);
		for (size_t i = 0; i < c->exposed_ports.n; i++) {
			jgen_key(g, sorted[i]);
			jgen_obj_open(g);
			jgen_obj_close(g);
		}
		jgen_obj_close(g);
		free(sorted);
	}
	if (c->env.n)
		gen_strv(g, "Env", &c->env);
	if (c->has_entrypoint)
		gen_strv(g, "Entrypoint", &c->entrypoint);
	if (c->has_cmd)
		gen_strv(g, "Cmd", &c->cmd);
	if (c->workdir)
		jgen_kstr(g, "WorkingDir", c->workdir);
	gen_kvs(g, "Labels", &c->labels);
	if (c->stop_signal)
		jgen_kstr(g, "StopSignal", c->stop_signal);
	if (c->healthcheck) {
		const struct img_healthcheck *h = c->healthcheck;
		jgen_key(g, "Healthcheck");
		jgen_obj_open(g);
		gen_strv(g, "Test", &h->test);
		if (h->interval)
			jgen_kint(g, "Interval", h->interval);
		if (h->timeout)
			jgen_kint(g, "Timeout", h->timeout);
		if (h->start_period)
			jgen_kint(g, "StartPeriod", h->start_period);
		if (h->retries)
			jgen_kint(g, "Retries", h->retries);
		jgen_obj_close(g);
	}
	jgen_obj_close(g);
	jgen_key(g, "rootfs");
	jgen_obj_open(g);
	jgen_kstr(g, "type", "layers");
	jgen_key(g, "diff_ids");
	jgen_arr_open(g);
	for (size_t i = 0; i < c->n_diff_ids; i++)
		jgen_str(g, c->diff_ids[i].s);
	jgen_arr_close(g);
	jgen_obj_close(g);
	if (c->n_history) {
		jgen_key(g, "history");
		jgen_arr_open(g);
		for (size_t i = 0; i < c->n_history; i++) {
			const struct img_history *h = &c->history[i];
			jgen_obj_open(g);
			if (h->created)
				jgen_kstr(g, "created", h->created);
			if (h->created_by)
				jgen_kstr(g, "created_by", h->created_by);
			if (h->comment)
				jgen_kstr(g, "comment", h->comment);
			if (h->empty_layer)
				jgen_kbool(g, "empty_layer", true);
			jgen_obj_close(g);
		}
		jgen_arr_close(g);
	}
	jgen_obj_close(g);
	return finish(g, out, len, e);
}

void img_config_free(struct img_config *c)
{
	img_platform_free(&c->platform);
	free(c->created);
	free(c->author);
	free(c->user);
	free(c->workdir);
	free(c->stop_signal);
	strv_free(&c->env);
	strv_free(&c->entrypoint);
	strv_free(&c->cmd);
	strv_free(&c->exposed_ports);
	img_kvs_free(&c->labels);
	if (c->healthcheck) {
		strv_free(&c->healthcheck->test);
		free(c->healthcheck);
	}
	free(c->diff_ids);
	for (size_t i = 0; i < c->n_history; i++) {
		free(c->history[i].created);
		free(c->history[i].created_by);
		free(c->history[i].comment);
	}
	free(c->history);
	*c = (struct img_config){0};
}

int img_config_copy(struct img_config *dst, const struct img_config *src, struct err *e)
{
	*dst = (struct img_config){.has_entrypoint = src->has_entrypoint, .has_cmd = src->has_cmd,
				   .n_diff_ids = src->n_diff_ids};
	if (platform_copy(&dst->platform, &src->platform, e) < 0 || dup_str(&dst->created, src->created, e) < 0 ||
	    dup_str(&dst->author, src->author, e) < 0 || dup_str(&dst->user, src->user, e) < 0 ||
	    dup_str(&dst->workdir, src->workdir, e) < 0 || dup_str(&dst->stop_signal, src->stop_signal, e) < 0 ||
	    strv_copy(&dst->env, &src->env, e) < 0 || strv_copy(&dst->entrypoint, &src->entrypoint, e) < 0 ||
	    strv_copy(&dst->cmd, &src->cmd, e) < 0 || strv_copy(&dst->exposed_ports, &src->exposed_ports, e) < 0 ||
	    img_kvs_copy(&dst->labels, &src->labels, e) < 0)
		goto fail;
	if (src->healthcheck) {
		if (!(dst->healthcheck = calloc(1, sizeof *dst->healthcheck)))
			goto nomem;
		*dst->healthcheck = *src->healthcheck;
		if (strv_copy(&dst->healthcheck->test, &src->healthcheck->test, e) < 0)
			goto fail;
	}
	if (src->n_diff_ids) {
		if (!(dst->diff_ids = malloc(src->n_diff_ids * sizeof *dst->diff_ids)))
			goto nomem;
		memcpy(dst->diff_ids, src->diff_ids, src->n_diff_ids * sizeof *dst->diff_ids);
	}
	if (src->n_history) {
		if (!(dst->history = calloc(src->n_history, sizeof *dst->history)))
			goto nomem;
		dst->n_history = src->n_history;
		for (size_t i = 0; i < src->n_history; i++) {
			dst->history[i].empty_layer = src->history[i].empty_layer;
			if (dup_str(&dst->history[i].created, src->history[i].created, e) < 0 ||
			    dup_str(&dst->history[i].created_by, src->history[i].created_by, e) < 0 ||
			    dup_str(&dst->history[i].comment, src->history[i].comment, e) < 0)
				goto fail;
		}
	}
	return 0;
nomem:
	NOMEM(e, "config");
fail:
	img_config_free(dst);
	return -1;
}
