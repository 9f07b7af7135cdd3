/* test_token.c: token files (lib/token.c), the one reader of rampd, ramp host,
 * ramp rollout and ramp fleet: only a private regular file of root or the
 * running user, one line, at least TOKEN_MIN printable characters. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fs.h"
#include "lib/token.h"

#define GOOD "s3cret-Token_0123456789"

static char *dir;

static char *file(const char *name, const char *content, mode_t mode)
{
	struct err e;
	char *p = fs_join(dir, name);
	assert_non_null(p);
	assert_int_equal(fs_write_atomic(p, content, strlen(content), mode, &e), 0);
	return p;
}

/* The reader refuses path with a message containing want. */
static void refused(const char *path, const char *want)
{
	struct err e = {0};
	char *tok = NULL;
	if (token_read_file(path, &tok, &e) == 0)
		fail_msg("%s: accepted \"%s\"", path, tok);
	if (!strstr(e.msg, want))
		fail_msg("%s: expected \"%s\" in \"%s\"", path, want, e.msg);
	if (!strstr(e.msg, path))
		fail_msg("the message does not name the file: %s", e.msg);
}

static void test_token_files(void **state)
{
	(void)state;
	struct err e;
	char *tok = NULL;
	assert_non_null(dir = fs_mkdtemp("ramp-test-token", &e));

	char *good = file("good", GOOD "\r\n", 0600);
	assert_int_equal(token_read_file(good, &tok, &e), 0);
	assert_string_equal(tok, GOOD);
	free(tok);
	char *bare = file("bare", GOOD, 0400);
	assert_int_equal(token_read_file(bare, &tok, &e), 0);
	assert_string_equal(tok, GOOD);
	free(tok);

	/* anyone but the owner may read or write it: refused, with the remedy */
	char *p = file("group", GOOD "\n", 0640);
	refused(p, "is accessible by others than its owner (mode 0640): run \"chmod 600 ");
	free(p);
	p = file("world", GOOD "\n", 0604);
	refused(p, "chmod 600");
	free(p);
	p = file("gw", GOOD "\n", 0620);
	refused(p, "chmod 600");
	free(p);
	/* another user's file (the tests run as root: give it to nobody) */
	if (geteuid() == 0) {
		p = file("other", GOOD "\n", 0600);
		assert_int_equal(chown(p, 65534, 65534), 0);
		refused(p, "belongs to uid 65534, neither to you");
		free(p);
	}
	/* a symbolic link to a good file, a FIFO (no hang), a directory */
	p = fs_join(dir, "link");
	assert_int_equal(symlink(good, p), 0);
	refused(p, "is a symbolic link");
	free(p);
	p = fs_join(dir, "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	refused(p, "is not a regular file");
	free(p);
	p = fs_join(dir, "sub");
	assert_int_equal(mkdir(p, 0700), 0);
	refused(p, "is not a regular file");
	free(p);
	/* the content */
	p = file("two", GOOD "\n" GOOD "\n", 0600);
	refused(p, "more than one line");
	free(p);
	p = file("blank", "two words and more of them\n", 0600);
	refused(p, "printable characters without blanks");
	free(p);
	p = file("ctl", "s3cret-Token_01\x01" "23456789\n", 0600);
	refused(p, "printable characters without blanks");
	free(p);
	p = file("short", "s3cret-Token_01\n", 0600);
	refused(p, "shorter than 16 characters");
	free(p);
	p = file("empty", "", 0600);
	refused(p, "shorter than 16 characters");
	free(p);
	char big[TOKEN_FILE_MAX + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	p = file("big", big, 0600);
	refused(p, "larger than the limit of 4096 bytes");
	free(p);
	refused("/nonexistent/token", "No such file or directory");

	free(good);
	free(bare);
	assert_int_equal(fs_rm_rf(dir, &e), 0);
	free(dir);
}

/* A 401 names what to do: the option when no token was sent, the file when
 * its token was refused; a long address or path is cut, not overflowed. */
static void test_token_401(void **state)
{
	(void)state;
	char buf[256];
	token_describe_401(buf, sizeof buf, "10.0.0.5:7300", NULL);
	assert_string_equal(buf, "HTTP 401: 10.0.0.5:7300 asks for a bearer token and none was given: pass --token-file "
				 "FILE (or label the host token_file=FILE in the fleet file)");
	token_describe_401(buf, sizeof buf, "10.0.0.5:7300", "/etc/ramp/token");
	assert_string_equal(buf, "HTTP 401: 10.0.0.5:7300 refused the token of \"/etc/ramp/token\": is it the token file "
				 "of that host's rampd?");
	char longpath[1000];
	memset(longpath, 'x', sizeof longpath - 1);
	longpath[sizeof longpath - 1] = '\0';
	char small[64];
	token_describe_401(small, sizeof small, longpath, longpath);
	assert_int_equal(strlen(small), sizeof small - 1);
	assert_true(strncmp(small, "HTTP 401: xxx", 13) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_files),
		cmocka_unit_test(test_token_401),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
