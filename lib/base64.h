/* base64.h: base64 (RFC 4648) through nettle, as strict as untrusted input
 * needs: a byte outside the alphabet, padding in the wrong place or of the
 * wrong length, and trailing bits that are not zero are all errors, so that
 * a byte string has exactly one accepted spelling in each form. */
#ifndef RAMP_BASE64_H
#define RAMP_BASE64_H

#include <stddef.h>

#include "lib/err.h"

enum b64_form {
	B64_STD, /* the standard alphabet, padded (credential files, HTTP Basic) */
	B64_ANY, /* the standard or the URL-safe alphabet (not both at once),
		    padding optional: what DSSE requires verifiers to accept */
};

/* Decode len bytes of in. *out is malloc'd and NUL-terminated (not counted
 * in *out_len). The message names the offset of the first bad byte. */
int b64_decode(const char *in, size_t len, enum b64_form f, char **out, size_t *out_len, struct err *e);
/* Standard alphabet, padded; NULL when out of memory. */
char *b64_encode(const void *in, size_t len);

#endif
