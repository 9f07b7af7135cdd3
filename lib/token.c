/* token.c: token files, checked and read (see token.h). */
#include "lib/token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"

int token_read_file(const char *path, char **token, struct err *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct stat st;
	/* O_NONBLOCK: a FIFO planted in its place must not hang us */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ELOOP)
			return err_set(e, "token file \"%s\" is a symbolic link: name the file itself", path);
		return err_sys(e, "token file \"%s\"", path);
	}
	if (fstat(fd, &st) < 0)
		return err_sys(e, "token file \"%s\"", path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, "token file \"%s\" is not a regular file", path);
	if (fs_check_private(&st, "token file", path, 077, e) < 0)
		return -1;
	if (fs_read_fd(fd, path, TOKEN_FILE_MAX, &buf, &len, e) < 0)
		return err_ctx(e, "token file");
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len && buf[len - 1] == '\r')
		buf[--len] = '\0';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\n' || c == '\r') {
			explicit_bzero(buf, len);
			return err_set(e, "token file \"%s\": more than one line; the token is the file's only line", path);
		}
		if (c <= 0x20 || c >= 0x7f) {
			explicit_bzero(buf, len);
			return err_set(e, "token file \"%s\": the token must be printable characters without blanks", path);
		}
	}
	if (len < TOKEN_MIN) {
		explicit_bzero(buf, len);
		return err_set(e, "token file \"%s\": the token is shorter than %d characters", path, TOKEN_MIN);
	}
	*token = steal_ptr(buf);
	return 0;
}

void token_describe_401(char *buf, size_t n, const char *address, const char *token_file)
{
	if (!token_file)
		snprintf(buf, n,
			 "HTTP 401: %.200s asks for a bearer token and none was given: pass --token-file FILE "
			 "(or label the host token_file=FILE in the fleet file)",
			 address);
	else
		snprintf(buf, n,
			 "HTTP 401: %.200s refused the token of \"%.200s\": is it the token file of that host's rampd?",
			 address, token_file);
}
