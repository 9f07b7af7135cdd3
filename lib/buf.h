/* buf.h: byte buffers that grow geometrically, so that appending to one
 * copies each byte a bounded number of times. */
#ifndef RAMP_BUF_H
#define RAMP_BUF_H

#include <stddef.h>

/* Make *buf, of *cap bytes (NULL and 0 before the first call), hold at
 * least need bytes: its capacity doubles, from first (> 0) when it has none,
 * until it does, and is then cut to limit (SIZE_MAX: none). Nothing to do
 * when need <= *cap. -1, *buf and *cap unchanged, when the allocation fails,
 * need is over limit, or the doubling would overflow a size_t. */
int buf_grow(char **buf, size_t *cap, size_t need, size_t first, size_t limit);

#endif
