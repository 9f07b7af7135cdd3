/* dsse.c: DSSE envelopes (see dsse.h). */
#include "image/dsse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"
#include "lib/cleanup.h"
#include "lib/json.h"

void img_dsse_free(struct img_dsse *d)
{
	for (size_t i = 0; i < d->n_sigs; i++) {
		free(d->sigs[i].keyid);
		free(d->sigs[i].sig);
	}
	free(d->sigs);
	free(d->type);
	free(d->payload);
	*d = (struct img_dsse){0};
}

static int parse_sig(const struct json *o, size_t i, struct img_dsse_sig *s, struct err *e)
{
	static const char *const keys[] = {"keyid", "sig", NULL};
	const char *keyid = NULL, *sig = NULL;
	char what[40];
	snprintf(what, sizeof what, "signatures[%zu]", i);
	if (json_only_keys(o, keys, what, e) < 0)
		return -1;
	if (json_field_str(o, "keyid", false, &keyid, e) < 0 ||
	    json_field_str(o, "sig", true, &sig, e) < 0)
		return err_ctx(e, "%s", what);
	if (keyid && strlen(keyid) > IMG_DSSE_KEYID_MAX)
		return err_set(e, "%s: keyid longer than %d bytes", what, IMG_DSSE_KEYID_MAX);
	for (const char *c = keyid; c && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return err_set(e, "%s: keyid has a control character", what);
	if (!(s->keyid = strdup(keyid ? keyid : "")))
		return err_errno(e, ENOMEM, "envelope");
	char *raw;
	if (b64_decode(sig, strlen(sig), B64_ANY, &raw, &s->len, e) < 0)
		return err_ctx(e, "%s: sig", what);
	s->sig = (uint8_t *)raw;
	if (s->len == 0)
		return err_set(e, "%s: empty sig", what);
	return 0;
}

int img_dsse_parse(const char *buf, size_t len, struct img_dsse *d, struct err *e)
{
	static const char *const keys[] = {"payload", "payloadType", "signatures", NULL};
	const char *type = NULL, *payload = NULL;
	const struct json *sigs;
	struct json *j;
	int rc = -1;
	*d = (struct img_dsse){0};
	if (len > IMG_DSSE_MAX)
		return err_set(e, "envelope is %zu bytes, more than the limit of %u", len, IMG_DSSE_MAX);
	if (!(j = json_parse(buf, len, e)))
		return err_ctx(e, "envelope");
	if (json_only_keys(j, keys, "envelope", e) < 0 || json_field_str(j, "payloadType", true, &type, e) < 0 ||
	    json_field_str(j, "payload", true, &payload, e) < 0 ||
	    json_field(j, "signatures", JSON_ARRAY, true, &sigs, e) < 0)
		goto bad;
	if (!*type) {
		err_set(e, "empty payloadType");
		goto bad;
	}
	if (!(d->type = strdup(type))) {
		err_errno(e, ENOMEM, "envelope");
		goto out;
	}
	if (b64_decode(payload, strlen(payload), B64_ANY, &d->payload, &d->payload_len, e) < 0) {
		err_ctx(e, "payload");
		goto bad;
	}
	if (sigs->arr.n == 0 || sigs->arr.n > IMG_DSSE_MAX_SIGS) {
		err_set(e, "%zu signatures: expected 1 to %d", sigs->arr.n, IMG_DSSE_MAX_SIGS);
		goto bad;
	}
	if (!(d->sigs = calloc(sigs->arr.n, sizeof *d->sigs))) {
		err_errno(e, ENOMEM, "envelope");
		goto out;
	}
	for (size_t i = 0; i < sigs->arr.n; i++) {
		struct img_dsse_sig *s = &d->sigs[d->n_sigs++];
		if (parse_sig(sigs->arr.v[i], i, s, e) < 0)
			goto bad;
		/* the same signature (or key) twice would count twice in a threshold */
		for (size_t k = 0; k < i; k++) {
			const struct img_dsse_sig *o = &d->sigs[k];
			if ((o->len == s->len && !memcmp(o->sig, s->sig, s->len)) ||
			    (*s->keyid && !strcmp(o->keyid, s->keyid))) {
				err_set(e, "signatures[%zu] duplicates signatures[%zu]%s%.100s%s", i, k,
					*s->keyid ? " (keyid \"" : "", s->keyid, *s->keyid ? "\")" : "");
				goto bad;
			}
		}
	}
	rc = 0;
	goto out;
bad:
	err_ctx(e, "envelope");
out:
	json_free(j);
	if (rc < 0)
		img_dsse_free(d);
	return rc;
}

int img_dsse_json(const struct img_dsse *d, char **out, size_t *len, struct err *e)
{
	struct jgen *g = jgen_new(false);
	_cleanup_free_ char *payload = b64_encode(d->payload, d->payload_len);
	const char *buf;
	size_t n;
	int rc = -1;
	if (!g || !payload)
		goto nomem;
	jgen_obj_open(g);
	jgen_kstr(g, "payloadType", d->type);
	jgen_kstr(g, "payload", payload);
	jgen_key(g, "signatures");
	jgen_arr_open(g);
	for (size_t i = 0; i < d->n_sigs; i++) {
		_cleanup_free_ char *sig = b64_encode(d->sigs[i].sig, d->sigs[i].len);
		if (!sig)
			goto nomem;
		jgen_obj_open(g);
		jgen_kstr(g, "keyid", d->sigs[i].keyid);
		jgen_kstr(g, "sig", sig);
		jgen_obj_close(g);
	}
	jgen_arr_close(g);
	jgen_obj_close(g);
	if (jgen_result(g, &buf, &n, e) == 0) {
		if (!(*out = strndup(buf, n)))
			goto nomem;
		*len = n;
		rc = 0;
	}
	jgen_free(g);
	return rc;
nomem:
	jgen_free(g);
	return err_errno(e, ENOMEM, "envelope");
}

int img_dsse_pae(const struct img_dsse *d, char **out, size_t *len, struct err *e)
{
	size_t tl = strlen(d->type);
	char head[64];
	int hn = snprintf(head, sizeof head, "DSSEv1 %zu ", tl);
	char mid[32];
	int mn = snprintf(mid, sizeof mid, " %zu ", d->payload_len);
	size_t n = (size_t)hn + tl + (size_t)mn + d->payload_len;
	char *p = malloc(n + 1);
	if (!p)
		return err_errno(e, ENOMEM, "envelope");
	memcpy(p, head, (size_t)hn);
	memcpy(p + hn, d->type, tl);
	memcpy(p + hn + tl, mid, (size_t)mn);
	memcpy(p + hn + tl + mn, d->payload, d->payload_len);
	p[n] = '\0';
	*out = p;
	*len = n;
	return 0;
}

int img_dsse_sign(const char *type, const char *payload, size_t len, const struct img_privkey *k, struct img_dsse *d,
		  struct err *e)
{
	_cleanup_free_ char *pae = NULL;
	size_t pae_len;
	*d = (struct img_dsse){0};
	if (!(d->type = strdup(type)) || !(d->payload = malloc(len + 1)) || !(d->sigs = calloc(1, sizeof *d->sigs)))
		goto nomem;
	memcpy(d->payload, payload, len);
	d->payload[len] = '\0';
	d->payload_len = len;
	d->n_sigs = 1;
	if (!(d->sigs[0].keyid = strdup(k->pub.id.s)) || !(d->sigs[0].sig = malloc(IMG_SIG_SIZE)))
		goto nomem;
	d->sigs[0].len = IMG_SIG_SIZE;
	if (img_dsse_pae(d, &pae, &pae_len, e) < 0) {
		img_dsse_free(d);
		return -1;
	}
	img_key_sign(k, pae, pae_len, d->sigs[0].sig);
	return 0;
nomem:
	img_dsse_free(d);
	return err_errno(e, ENOMEM, "envelope");
}
