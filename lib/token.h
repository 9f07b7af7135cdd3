/* token.h: bearer tokens of rampd's TCP API, read from token files.
 *
 * One function reads them for rampd and for every client (ramp host, ramp
 * rollout, ramp fleet): a token file is refused unless it is a regular file
 * (not reached through a symbolic link) owned by root or the effective user,
 * with no access for group or others (chmod 600), at most TOKEN_FILE_MAX
 * bytes, holding one line of at least TOKEN_MIN printable characters without
 * blanks (a trailing newline, or CR LF, is fine). */
#ifndef RAMP_TOKEN_H
#define RAMP_TOKEN_H

#include "lib/err.h"

#define TOKEN_MIN 16
#define TOKEN_FILE_MAX 4096

/* The token; caller frees (explicit_bzero first: it is a secret). */
int token_read_file(const char *path, char **token, struct err *e);

/* What a client says when the host at `address` answers 401: it wants a token
 * and none was sent (token_file NULL: name the option), or it refused the
 * token of token_file. */
void token_describe_401(char *buf, size_t n, const char *address, const char *token_file);

#endif
