/* buf.c: byte buffers that grow geometrically (buf.h). */
#include "lib/buf.h"

#include <stdint.h>
#include <stdlib.h>

int buf_grow(char **buf, size_t *cap, size_t need, size_t first, size_t limit)
{
	if (need <= *cap)
		return 0;
	if (need > limit)
		return -1;
	size_t c = *cap ? *cap : first;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			return -1;
		c *= 2;
	}
	if (c > limit)
		c = limit;
	char *nb = realloc(*buf, c);
	if (!nb)
		return -1;
	*buf = nb;
	*cap = c;
	return 0;
}
