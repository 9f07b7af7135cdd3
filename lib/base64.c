/* base64.c: strict base64 around nettle's coder (see base64.h). nettle does
 * the arithmetic; what it tolerates (white space, a missing tail, padding in
 * the middle) is refused here first. */
#include "lib/base64.h"

#include <errno.h>
#include <nettle/base64.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

char *b64_encode(const void *in, size_t len)
{
	char *out = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
	if (!out)
		return NULL;
	base64_encode_raw(out, len, in);
	out[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
	return out;
}

int b64_decode(const char *in, size_t len, enum b64_form f, char **out, size_t *out_len, struct err *e)
{
	size_t data = len, pad = 0;
	bool std = false, url = false;
	while (data && in[data - 1] == '=' && pad < 2) {
		data--;
		pad++;
	}
	for (size_t i = 0; i < data; i++) {
		unsigned char c = (unsigned char)in[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if ((c == '+' || c == '/') && !url) {
			std = true;
			continue;
		}
		if ((c == '-' || c == '_') && !std && f == B64_ANY) {
			url = true;
			continue;
		}
		if (c == '+' || c == '/' || c == '-' || c == '_')
			return err_set(e, "invalid base64: '%c' at offset %zu mixes the standard and URL-safe alphabets", c, i);
		return err_set(e, "invalid base64: byte 0x%02x at offset %zu", c, i);
	}
	if (data % 4 == 1)
		return err_set(e, "invalid base64: %zu characters cannot end a quantum", data);
	if ((pad || f == B64_STD) && (data + pad) % 4)
		return err_set(e, "invalid base64: length %zu with %zu padding characters", data, pad);
	/* nettle gets the canonical padded form */
	size_t need = (4 - data % 4) % 4;
	char *padded = malloc(data + need + 1);
	uint8_t *buf = malloc(BASE64_DECODE_LENGTH(data + need) + 1);
	struct base64_decode_ctx c;
	size_t n = BASE64_DECODE_LENGTH(data + need);
	int rc = -1;
	if (!padded || !buf) {
		err_errno(e, ENOMEM, "base64");
		goto out;
	}
	memcpy(padded, in, data);
	memset(padded + data, '=', need);
	if (url)
		base64url_decode_init(&c);
	else
		base64_decode_init(&c);
	/* nettle also refuses bits set beyond the last byte: one spelling per byte string */
	if (!base64_decode_update(&c, &n, buf, data + need, padded) || !base64_decode_final(&c)) {
		err_set(e, "invalid base64: the last character has bits set beyond the data");
		goto out;
	}
	buf[n] = '\0';
	*out = (char *)buf;
	*out_len = n;
	buf = NULL;
	rc = 0;
out:
	free(padded);
	free(buf);
	return rc;
}
