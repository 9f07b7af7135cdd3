/* key.c: `ramp key generate`: an Ed25519 key pair for signing test records
 * (image/key.h). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "image/key.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"

#define PRIV_NAME "ramp.key"
#define PUB_NAME "ramp.pub"

static void usage(FILE *f)
{
	fprintf(f, "usage: ramp key generate DIR\n\n"
		   "Make an Ed25519 key pair for `ramp test --sign-key`: DIR/" PRIV_NAME " (the private key, PKCS#8 PEM,\n"
		   "mode 0600) and DIR/" PUB_NAME " (the public key, SubjectPublicKeyInfo PEM); openssl reads both.\n"
		   "DIR is made if missing; existing keys are never replaced. Prints the key id (sha256 of the\n"
		   "public key's DER) on stdout, and the entry that trusts the key in a trust policy on stderr.\n");
}

/* Written crash-safely, never over an existing file. */
static int write_new(const char *path, const char *text, mode_t mode, struct err *e)
{
	struct fs_atomic a;
	if (fs_atomic_open(&a, path, mode, e) < 0)
		return -1;
	a.noreplace = true;
	if (fs_write_all(a.fd, text, strlen(text), path, e) < 0) {
		fs_atomic_abort(&a);
		return -1;
	}
	return fs_atomic_commit(&a, e);
}

static int generate(const char *dir)
{
	struct img_privkey k;
	struct err e;
	_cleanup_free_ char *priv_path = fs_join(dir, PRIV_NAME), *pub_path = fs_join(dir, PUB_NAME);
	_cleanup_free_ char *priv = NULL, *pub = NULL, *b64 = NULL;
	int rc = EXIT_FAIL;
	if (!priv_path || !pub_path)
		return cmd_fail(&(struct err){.msg = "out of memory"});
	if (fs_exists(priv_path) || fs_exists(pub_path)) {
		fprintf(stderr, "ramp key: %s already holds a key (%s, %s): not replaced; choose another directory\n", dir,
			PRIV_NAME, PUB_NAME);
		return EXIT_USAGE;
	}
	if (fs_mkdir_p(dir, 0700, &e) < 0 || img_key_generate(&k, &e) < 0)
		return cmd_fail(&e);
	priv = img_key_private_pem(&k);
	pub = img_key_public_pem(&k.pub);
	b64 = img_key_public_b64(&k.pub);
	if (!priv || !pub || !b64) {
		err_set(&e, "out of memory");
		goto out;
	}
	if (write_new(priv_path, priv, 0600, &e) < 0)
		goto out;
	if (write_new(pub_path, pub, 0644, &e) < 0) {
		unlink(priv_path); /* ours: a key pair or nothing */
		goto out;
	}
	printf("%s\n", k.pub.id.s);
	log_notice("wrote %s (private: keep it secret) and %s; a trust policy trusts the key with\n"
		   "  {\"name\": \"NAME\", \"publicKey\": \"%s\"}",
		   priv_path, pub_path, b64);
	rc = EXIT_OK;
out:
	if (priv)
		explicit_bzero(priv, strlen(priv));
	img_key_wipe(&k);
	return rc == EXIT_OK ? rc : cmd_fail(&e);
}

int cmd_key(int argc, char **argv)
{
	int first, rc;
	if ((rc = cmd_opts_parse(&(struct cmd_opts){.verb = "key", .usage = usage, .in_order = true}, argc, argv, &first)) != CMD_GO)
		return rc;
	if (first >= argc)
		return cmd_usage_error("key", "no command given (generate)");
	if (strcmp(argv[first], "generate"))
		return cmd_usage_error("key", "unknown command \"%s\" (generate)", argv[first]);
	if (first + 2 != argc)
		return cmd_usage_error("key", first + 1 >= argc ? "generate: no directory given" : "generate: one directory");
	return generate(argv[first + 1]);
}
