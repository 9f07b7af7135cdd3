/* term.h: text from places ramp does not control (images, registries, hosts,
 * apps) made harmless before it reaches a terminal.
 *
 * Control characters (C0, DEL, and the C1 range U+0080..U+009F, which some
 * terminals take as escape sequences) and bytes that are not UTF-8 are
 * written as visible escapes ("\x1b", "\r", "\xc2\x9b"), so an escape
 * sequence in an image's user field or an app's log shows as text and
 * cannot set the window title, clear the screen, move the cursor or rewrite
 * a line. A tab and valid UTF-8 stay as they are; a backslash stays too (the
 * output is for eyes, not to be parsed back). */
#ifndef RAMP_TERM_H
#define RAMP_TERM_H

#include <stddef.h>
#include <stdio.h>

/* Multi-line text (logs): "\n" stays a line break, and a "\r" right before it
   is dropped (a CRLF line end cannot rewrite the line). */
#define TERM_LINES 1u

/* Escape s[0..len) into out (cap > 0 bytes, always NUL-terminated); an escape
   that does not fit is not cut in half. Returns the length written; *used
   (may be NULL) receives how many input bytes that covers. */
size_t term_escape(const char *s, size_t len, unsigned flags, char *out, size_t cap, size_t *used);

/* Write s[0..len) escaped to f; -1 on a write error. */
int term_fwrite(FILE *f, const char *s, size_t len, unsigned flags);

/* printf, escaped: every control character of the formatted text is escaped
   except one "\n" at its very end, so call it once per line. */
int term_printf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
