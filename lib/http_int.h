/* http_int.h: what the two halves of the HTTP client (http.c, http_fanout.c)
 * share and nobody else needs. */
#ifndef RAMP_HTTP_INT_H
#define RAMP_HTTP_INT_H

#include "lib/err.h"

/* libcurl's global set-up, once per process (thread-safe). */
int http_curl_init(struct err *e);

#endif
