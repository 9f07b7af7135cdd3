/* tz.h: UTC offsets of named IANA time zones, from the system's tz database
 * (TZif files under /usr/share/zoneinfo, or $TZDIR), without touching TZ or
 * the C library's one global zone: a struct tz is a value, any number can be
 * used at once and from any thread.
 *
 * A zone's transitions come from the file's 64-bit data; after the last one
 * its footer (a POSIX TZ rule such as "CET-1CEST,M3.5.0,M10.5.0/3") decides,
 * so the offset is right for any year. Only the Mm.w.d form of rules is
 * accepted (what every zone of the database uses); others are refused. */
#ifndef RAMP_TZ_H
#define RAMP_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct tz;

/* A zone name ("Europe/Berlin", "UTC"): letters, digits, '_', '-', '+' in
 * '/'-separated parts, none "." or "..". */
bool tz_name_valid(const char *name);
/* Load a zone by name from the tz database. */
struct tz *tz_load(const char *name, struct err *e);
/* Parse a TZif file's bytes (name: for messages). */
struct tz *tz_parse(const char *name, const unsigned char *buf, size_t len, struct err *e);
void tz_free(struct tz *z);
/* Seconds east of UTC in effect at Unix time t. */
int32_t tz_offset(const struct tz *z, int64_t t);

/* Civil days <-> days since 1970-01-01 (proleptic Gregorian). */
int64_t tz_days_from_civil(int64_t y, unsigned m, unsigned d);
void tz_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
