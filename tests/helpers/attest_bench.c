/* attest_bench.c: how long rampd's check of one signed test record takes
 * (img_trust_check: the envelope parsed, its PAE built, the Ed25519
 * signature verified, the statement parsed and checked), and the bare
 * Ed25519 verification inside it, for tests/bench/attest.sh.
 *
 *   attest_bench POLICY ENVELOPE IMAGE_DIGEST REGISTRY/REPO PLATFORM N
 * prints "record_us ed25519_us": the median over 9 rounds of N checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/dsse.h"
#include "image/record.h"
#include "image/trust.h"
#include "lib/fs.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct img_trust t;
	struct img_digest image;
	struct img_trust_ok ok;
	struct img_dsse d;
	struct err e;
	char *env, *pae;
	size_t len, pae_len;
	if (argc != 7) {
		fprintf(stderr, "usage: attest_bench POLICY ENVELOPE IMAGE_DIGEST REGISTRY/REPO PLATFORM N\n");
		return 2;
	}
	int n = atoi(argv[6]);
	if (img_trust_load(argv[1], &t, &e) < 0 || fs_read_file(argv[2], IMG_DSSE_MAX, &env, &len, &e) < 0 ||
	    img_digest_parse(argv[3], &image, &e) < 0 || img_dsse_parse(env, len, &d, &e) < 0 ||
	    img_dsse_pae(&d, &pae, &pae_len, &e) < 0) {
		fprintf(stderr, "attest_bench: %s\n", e.msg);
		return 1;
	}
	struct img_trust_record rec = {.name = "bench", .media_type = IMG_MT_TEST_RECORD_DSSE, .buf = env, .len = len};
	if (img_trust_check(&t, argv[4], &image, argv[5], &rec, 1, &ok, &e) < 0) {
		fprintf(stderr, "attest_bench: the record does not pass: %s\n", e.msg);
		return 1;
	}
	double rounds[2][9];
	for (int r = 0; r < 9; r++) {
		double t0 = now();
		for (int i = 0; i < n; i++)
			if (img_trust_check(&t, argv[4], &image, argv[5], &rec, 1, &ok, &e) < 0)
				return 1;
		double t1 = now();
		for (int i = 0; i < n; i++)
			if (!img_key_verify(&ok.key->key, pae, pae_len, d.sigs[0].sig))
				return 1;
		double t2 = now();
		rounds[0][r] = (t1 - t0) / n * 1e6;
		rounds[1][r] = (t2 - t1) / n * 1e6;
	}
	qsort(rounds[0], 9, sizeof(double), cmp);
	qsort(rounds[1], 9, sizeof(double), cmp);
	printf("%.1f %.1f\n", rounds[0][4], rounds[1][4]);
	free(env);
	free(pae);
	img_dsse_free(&d);
	img_trust_free(&t);
	return 0;
}
