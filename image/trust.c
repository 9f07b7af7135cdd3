/* trust.c: trust policies and the record check (see trust.h). */
#include "image/trust.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/dsse.h"
#include "image/record.h"
#include "image/reference.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"

#define NAME_MAX_ 64

void img_trust_free(struct img_trust *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct img_trust_policy *p = &t->p[i];
		free(p->name);
		for (size_t k = 0; k < p->n_scopes; k++)
			free(p->scopes[k]);
		free(p->scopes);
		for (size_t k = 0; k < p->n_keys; k++)
			free(p->keys[k].name);
		free(p->keys);
	}
	free(t->p);
	free(t->revoked);
	*t = (struct img_trust){0};
}

/* ---- parsing ---- */

/* A name for messages: printable ASCII, 1 to 64 bytes. */
static int check_name(const char *s, struct err *e)
{
	size_t n = strlen(s);
	if (n == 0 || n > NAME_MAX_)
		return err_set(e, "expected 1 to %d characters", NAME_MAX_);
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return err_set(e, "byte 0x%02x: only printable ASCII", (unsigned char)s[i]);
	return 0;
}

/* "registry/repo", fully qualified (Notation's rule: no defaults filled in). */
static int check_scope(const char *s, struct err *e)
{
	const char *slash = strchr(s, '/');
	if (!slash || strlen(s) > 512)
		return err_set(e, "\"%.100s\" is not \"registry/repository\"", s);
	_cleanup_free_ char *reg = strndup(s, (size_t)(slash - s));
	if (!reg)
		return err_errno(e, ENOMEM, "trust policy");
	bool qualified = strchr(reg, '.') || strchr(reg, ':') || !strcmp(reg, "localhost");
	if (!qualified || !img_ref_valid_registry(reg))
		return err_set(e, "\"%.100s\": \"%.100s\" is not a registry host (fully qualified: "
				  "docker.io/library/debian, not debian)", s, reg);
	if (!img_ref_valid_repo(slash + 1))
		return err_set(e, "\"%.100s\": \"%.200s\" is not a repository name", s, slash + 1);
	return 0;
}

static int dup_into(char **dst, const char *s, struct err *e)
{
	return (*dst = strdup(s)) ? 0 : err_errno(e, ENOMEM, "trust policy");
}

static int parse_keys(const struct json *a, struct img_trust_policy *p, struct err *e)
{
	static const char *const keys[] = {"name", "publicKey", NULL};
	if (a->arr.n == 0 || a->arr.n > IMG_TRUST_MAX_KEYS)
		return err_set(e, "trustedKeys: %zu keys, expected 1 to %d", a->arr.n, IMG_TRUST_MAX_KEYS);
	if (!(p->keys = calloc(a->arr.n, sizeof *p->keys)))
		return err_errno(e, ENOMEM, "trust policy");
	for (size_t i = 0; i < a->arr.n; i++) {
		const struct json *o = a->arr.v[i];
		struct img_trust_key *k = &p->keys[p->n_keys++];
		const char *name = NULL, *pub = NULL;
		char what[48];
		snprintf(what, sizeof what, "trustedKeys[%zu]", i);
		if (json_only_keys(o, keys, what, e) < 0)
			return -1;
		if (json_field_str(o, "name", true, &name, e) < 0 || json_field_str(o, "publicKey", true, &pub, e) < 0)
			return err_ctx(e, "%s", what);
		if (check_name(name, e) < 0)
			return err_ctx(e, "%s.name", what);
		if (img_key_public_from_b64(pub, strlen(pub), &k->key, e) < 0)
			return err_ctx(e, "%s.publicKey (the base64 of an Ed25519 public key's DER, as between the lines "
					  "of its PEM file)", what);
		if (dup_into(&k->name, name, e) < 0)
			return -1;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(p->keys[j].name, name))
				return err_set(e, "%s.name: \"%s\" is also trustedKeys[%zu]'s", what, name, j);
			if (img_digest_eq(&p->keys[j].key.id, &k->key.id))
				return err_set(e, "%s.publicKey: the same key as trustedKeys[%zu]", what, j);
		}
	}
	return 0;
}

static int parse_results(const struct json *o, struct img_trust_policy *p, struct err *e)
{
	const struct json *a;
	p->results = 1u << IMG_RESULT_PASSED;
	if (json_field(o, "results", JSON_ARRAY, false, &a, e) < 0)
		return -1;
	if (!a)
		return 0;
	if (a->arr.n == 0)
		return err_set(e, "results: empty (PASSED is the default)");
	p->results = 0;
	for (size_t i = 0; i < a->arr.n; i++) {
		const struct json *v = a->arr.v[i];
		int r = v->type == JSON_STRING ? img_result_parse(v->str.s) : -1;
		if (r < 0 || r == IMG_RESULT_FAILED)
			return err_set(e, "results[%zu]: expected \"PASSED\" or \"WARNED\"", i);
		if (p->results & (1u << r))
			return err_set(e, "results[%zu]: \"%s\" twice", i, v->str.s);
		p->results |= 1u << r;
	}
	return 0;
}

static int parse_policy(const struct json *o, struct img_trust_policy *p, struct err *e)
{
	static const char *const keys[] = {"name",    "registryScopes", "trustedKeys", "predicateType",
					   "results", "platformMustMatch", NULL};
	const struct json *scopes, *tkeys;
	const char *name = NULL, *ptype = NULL;
	if (json_only_keys(o, keys, "policy", e) < 0 || json_field_str(o, "name", true, &name, e) < 0)
		return -1;
	if (check_name(name, e) < 0)
		return err_ctx(e, "name");
	if (dup_into(&p->name, name, e) < 0)
		return -1;
	if (json_field(o, "registryScopes", JSON_ARRAY, true, &scopes, e) < 0)
		return -1;
	if (scopes->arr.n == 0 || scopes->arr.n > IMG_TRUST_MAX_SCOPES)
		return err_set(e, "registryScopes: %zu scopes, expected 1 to %d", scopes->arr.n, IMG_TRUST_MAX_SCOPES);
	if (!(p->scopes = calloc(scopes->arr.n, sizeof *p->scopes)))
		return err_errno(e, ENOMEM, "trust policy");
	for (size_t i = 0; i < scopes->arr.n; i++) {
		const struct json *v = scopes->arr.v[i];
		if (v->type != JSON_STRING || strlen(v->str.s) != v->str.len)
			return err_set(e, "registryScopes[%zu]: expected a string", i);
		if (!strcmp(v->str.s, "*")) {
			if (scopes->arr.n != 1)
				return err_set(e, "registryScopes[%zu]: \"*\" must be the only scope of its policy", i);
			p->global = true;
			continue;
		}
		if (check_scope(v->str.s, e) < 0)
			return err_ctx(e, "registryScopes[%zu]", i);
		for (size_t k = 0; k < p->n_scopes; k++)
			if (!strcmp(p->scopes[k], v->str.s))
				return err_set(e, "registryScopes[%zu]: \"%s\" twice", i, v->str.s);
		if (dup_into(&p->scopes[p->n_scopes++], v->str.s, e) < 0)
			return -1;
	}
	if (json_field(o, "trustedKeys", JSON_ARRAY, true, &tkeys, e) < 0 || parse_keys(tkeys, p, e) < 0)
		return -1;
	if (json_field_str(o, "predicateType", false, &ptype, e) < 0)
		return -1;
	if (ptype && strcmp(ptype, IMG_TEST_RESULT_PREDICATE))
		return err_set(e, "predicateType: \"%.100s\": ramp checks test records, %s", ptype,
			       IMG_TEST_RESULT_PREDICATE);
	p->platform = true;
	if (parse_results(o, p, e) < 0 || json_field_bool(o, "platformMustMatch", false, &p->platform, e) < 0)
		return -1;
	return 0;
}

static int parse_revoked(const struct json *a, struct img_trust *t, struct err *e)
{
	if (a->arr.n > IMG_TRUST_MAX_REVOKED)
		return err_set(e, "revokedKeys: more than %d", IMG_TRUST_MAX_REVOKED);
	if (a->arr.n && !(t->revoked = calloc(a->arr.n, sizeof *t->revoked)))
		return err_errno(e, ENOMEM, "trust policy");
	for (size_t i = 0; i < a->arr.n; i++) {
		const struct json *v = a->arr.v[i];
		if (v->type != JSON_STRING || img_digest_parse(v->str.s, &t->revoked[i], e) < 0)
			return err_set(e, "revokedKeys[%zu]: expected a key id (\"sha256:\" and 64 hex digits)", i);
		for (size_t k = 0; k < i; k++)
			if (img_digest_eq(&t->revoked[k], &t->revoked[i]))
				return err_set(e, "revokedKeys[%zu]: the same key as revokedKeys[%zu]", i, k);
		t->n_revoked++;
	}
	return 0;
}

int img_trust_parse(const char *buf, size_t len, struct img_trust *t, struct err *e)
{
	static const char *const keys[] = {"version", "trustPolicies", "revokedKeys", NULL};
	const struct json *pols, *rev;
	const char *version = NULL;
	struct json *j;
	int rc = -1;
	*t = (struct img_trust){0};
	if (len > IMG_TRUST_MAX)
		return err_set(e, "trust policy is %zu bytes, more than the limit of %u", len, IMG_TRUST_MAX);
	if (!(j = json_parse(buf, len, e)))
		return err_ctx(e, "trust policy");
	if (json_only_keys(j, keys, "trust policy", e) < 0 || json_field_str(j, "version", true, &version, e) < 0)
		goto out;
	if (strcmp(version, "1")) {
		err_set(e, "version \"%.20s\": this ramp reads version \"1\"", version);
		goto out;
	}
	if (json_field(j, "trustPolicies", JSON_ARRAY, true, &pols, e) < 0)
		goto out;
	if (pols->arr.n == 0 || pols->arr.n > IMG_TRUST_MAX_POLICIES) {
		err_set(e, "trustPolicies: %zu policies, expected 1 to %d", pols->arr.n, IMG_TRUST_MAX_POLICIES);
		goto out;
	}
	if (!(t->p = calloc(pols->arr.n, sizeof *t->p))) {
		err_errno(e, ENOMEM, "trust policy");
		goto out;
	}
	for (size_t i = 0; i < pols->arr.n; i++) {
		struct img_trust_policy *p = &t->p[t->n++];
		if (parse_policy(pols->arr.v[i], p, e) < 0) {
			err_ctx(e, "trustPolicies[%zu]", i);
			goto out;
		}
		/* one statement per repository, one global statement */
		for (size_t k = 0; k < i; k++) {
			const struct img_trust_policy *q = &t->p[k];
			if (!strcmp(q->name, p->name)) {
				err_set(e, "trustPolicies[%zu]: the name \"%s\" is also trustPolicies[%zu]'s", i, p->name, k);
				goto out;
			}
			if (q->global && p->global) {
				err_set(e, "trustPolicies[%zu]: a second global scope \"*\" (trustPolicies[%zu] has one)", i, k);
				goto out;
			}
			for (size_t a = 0; a < p->n_scopes; a++)
				for (size_t b = 0; b < q->n_scopes; b++)
					if (!strcmp(p->scopes[a], q->scopes[b])) {
						err_set(e, "trustPolicies[%zu]: scope \"%s\" is trustPolicies[%zu]'s already", i,
							p->scopes[a], k);
						goto out;
					}
		}
	}
	if (json_field(j, "revokedKeys", JSON_ARRAY, false, &rev, e) < 0 || (rev && parse_revoked(rev, t, e) < 0))
		goto out;
	rc = 0;
out:
	json_free(j);
	if (rc < 0) {
		img_trust_free(t);
		err_ctx(e, "trust policy");
	}
	return rc;
}

int img_trust_load(const char *path, struct img_trust *t, struct err *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	*t = (struct img_trust){0};
	if (fs_read_file(path, IMG_TRUST_MAX, &buf, &len, e) < 0)
		return -1;
	return img_trust_parse(buf, len, t, e) < 0 ? err_ctx(e, "\"%s\"", path) : 0;
}

/* ---- checking ---- */

const struct img_trust_policy *img_trust_find(const struct img_trust *t, const char *repo)
{
	const struct img_trust_policy *global = NULL;
	for (size_t i = 0; i < t->n; i++) {
		if (t->p[i].global)
			global = &t->p[i];
		for (size_t k = 0; k < t->p[i].n_scopes; k++)
			if (!strcmp(t->p[i].scopes[k], repo))
				return &t->p[i];
	}
	return global;
}

bool img_trust_revoked(const struct img_trust *t, const struct img_digest *key_id)
{
	for (size_t i = 0; i < t->n_revoked; i++)
		if (img_digest_eq(&t->revoked[i], key_id))
			return true;
	return false;
}

/* A trusted key of p, not revoked, that made signature s over pae (skip: one
 * tried already), or NULL. */
static const struct img_trust_key *any_maker(const struct img_trust *t, const struct img_trust_policy *p,
					     const struct img_dsse_sig *s, const struct img_trust_key *skip, const char *pae,
					     size_t pae_len)
{
	for (size_t k = 0; k < p->n_keys; k++) {
		const struct img_trust_key *c = &p->keys[k];
		if (c != skip && !img_trust_revoked(t, &c->key.id) && img_key_verify(&c->key, pae, pae_len, s->sig))
			return c;
	}
	return NULL;
}

/* The trusted, unrevoked key of p that made signature i over pae, or NULL
 * with the reason. The keyid only narrows which key is tried (DSSE: it is an
 * unauthenticated hint), but a keyid that names another key than the one that
 * signed is refused rather than looked past. */
static const struct img_trust_key *signer(const struct img_trust *t, const struct img_trust_policy *p,
					  const struct img_dsse_sig *s, size_t i, const char *pae, size_t pae_len,
					  struct err *e)
{
	const struct img_trust_key *named = NULL, *made;
	struct img_digest id;
	struct err ignored;
	if (s->len != IMG_SIG_SIZE) {
		err_set(e, "signatures[%zu]: %zu bytes, not an Ed25519 signature", i, s->len);
		return NULL;
	}
	if (!*s->keyid) {
		if (!(made = any_maker(t, p, s, NULL, pae, pae_len)))
			err_set(e, "signatures[%zu] (no keyid): made by none of the trusted keys of policy \"%s\" that are "
				   "not revoked",
				i, p->name);
		return made;
	}
	if (img_digest_parse(s->keyid, &id, &ignored) == 0 && img_trust_revoked(t, &id)) {
		err_set(e, "signatures[%zu]: key %s is revoked", i, s->keyid);
		return NULL;
	}
	for (size_t k = 0; k < p->n_keys && !named; k++)
		if (!strcmp(s->keyid, p->keys[k].key.id.s))
			named = &p->keys[k];
	if (!named) {
		err_set(e, "signatures[%zu]: key %.100s is not trusted by policy \"%s\"", i, s->keyid, p->name);
		return NULL;
	}
	if (img_key_verify(&named->key, pae, pae_len, s->sig))
		return named;
	if ((made = any_maker(t, p, s, named, pae, pae_len)))
		err_set(e, "signatures[%zu]: its keyid names key \"%s\", but key \"%s\" (%s) made it", i, named->name,
			made->name, made->key.id.s);
	else
		err_set(e, "signatures[%zu]: does not verify with key \"%s\" (%s): the statement or the signature was "
			   "changed",
			i, named->name, named->key.id.s);
	return NULL;
}

int img_trust_check_envelope(const struct img_trust *t, const struct img_trust_policy *p,
			     const struct img_digest *image, const char *platform, const struct img_dsse *d,
			     const struct img_trust_key **key, struct err *e)
{
	struct img_record r;
	_cleanup_free_ char *pae = NULL;
	size_t pae_len;
	const struct img_trust_key *k = NULL;
	int rc = -1;
	if (strcmp(d->type, IMG_DSSE_INTOTO))
		return err_set(e, "payload type \"%.100s\" is not %s", d->type, IMG_DSSE_INTOTO);
	if (img_dsse_pae(d, &pae, &pae_len, e) < 0)
		return -1;
	/* the first signature that verifies; the reason of the first that does not */
	struct err first = {0};
	for (size_t i = 0; i < d->n_sigs && !k; i++) {
		struct err se;
		if (!(k = signer(t, p, &d->sigs[i], i, pae, pae_len, &se)) && !first.msg[0])
			first = se;
	}
	if (!k) {
		*e = first;
		return -1;
	}
	/* only what a trusted key signed is read */
	if (img_record_parse_statement(d->payload, d->payload_len, &r, e) < 0)
		return -1;
	char have[128];
	img_record_platform(&r, have, sizeof have);
	if (!img_digest_eq(&r.image, image))
		err_set(e, "it is about %s, not this image (a record copied from another image)", r.image.s);
	else if (!(p->results & (1u << r.result)))
		err_set(e, "result %s (policy \"%s\" accepts %s)", img_result_name(r.result), p->name,
			p->results == (1u << IMG_RESULT_PASSED)	  ? "PASSED"
			: p->results == (1u << IMG_RESULT_WARNED) ? "WARNED"
								  : "PASSED and WARNED");
	else if (p->platform && platform && strcmp(have, platform))
		err_set(e, "tested on %s, not %s", have, platform);
	else
		rc = 0;
	img_record_free(&r);
	if (rc == 0 && key)
		*key = k;
	return rc;
}

int img_trust_check_record(const struct img_trust *t, const struct img_trust_policy *p, const struct img_digest *image,
			   const char *platform, const struct img_trust_record *rec, const struct img_trust_key **key,
			   struct err *e)
{
	struct img_dsse d;
	if (strcmp(rec->media_type, IMG_MT_TEST_RECORD_DSSE))
		return err_set(e, "not signed (a plain test record)");
	if (img_dsse_parse(rec->buf, rec->len, &d, e) < 0)
		return -1;
	int rc = img_trust_check_envelope(t, p, image, platform, &d, key, e);
	img_dsse_free(&d);
	return rc;
}

int img_trust_check(const struct img_trust *t, const char *repo, const struct img_digest *image, const char *platform,
		    const struct img_trust_record *recs, size_t n, struct img_trust_ok *ok, struct err *e)
{
	const struct img_trust_policy *p = img_trust_find(t, repo);
	char why[sizeof e->msg] = "";
	size_t used = 0;
	if (!p)
		return err_set(e, "no trust policy covers %s (and none has the global scope \"*\")", repo);
	for (size_t i = 0; i < n; i++) {
		struct err re;
		const struct img_trust_key *k;
		if (img_trust_check_record(t, p, image, platform, &recs[i], &k, &re) == 0) {
			*ok = (struct img_trust_ok){.record = i, .key = k, .policy = p};
			return 0;
		}
		int w = snprintf(why + used, sizeof why - used, "%s%.19s…: %s", i ? "; " : ": ", recs[i].name, re.msg);
		if (w > 0)
			used = used + (size_t)w < sizeof why ? used + (size_t)w : sizeof why - 1;
	}
	return err_set(e, "no test record of %s passes trust policy \"%s\"%s%s (%s%zu record%s%.1500s)", image->s, p->name,
		       platform ? " for " : "", platform ? platform : "", n ? "of " : "", n, n == 1 ? "" : "s",
		       n ? why : " found");
}
