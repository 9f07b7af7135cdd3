/* login.c: `ramp login` and `ramp logout`: credentials in auth.json. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/transfer.h"
#include "image/creds.h"
#include "image/reference.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"

static void login_usage(FILE *f)
{
	fprintf(f, "usage: ramp login [OPTIONS] REGISTRY\n\n"
		   "Check credentials against REGISTRY (host[:port]) and store them in the auth file:\n"
		   "$REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, else\n"
		   "~/.config/containers/auth.json (mode 0600).\n\n"
		   "options:\n"
		   "  -u, --username USER        the user (asked on a terminal when missing)\n"
		   "  -p, --password PASSWORD    the password (visible to other users: prefer --password-stdin)\n"
		   "  --password-stdin           read the password from standard input\n" CMD_REG_CONN_HELP
		   "  -h, --help                 this help\n");
}

/* A line from the terminal, without echo when secret. */
static char *ask(const char *prompt, bool secret)
{
	_cleanup_close_ int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	struct termios old, raw;
	char buf[1024];
	size_t n = 0;
	if (fd < 0)
		return NULL;
	if (write(fd, prompt, strlen(prompt)) < 0)
		return NULL;
	bool restore = secret && tcgetattr(fd, &old) == 0;
	if (restore) {
		raw = old;
		raw.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &raw);
	}
	while (n + 1 < sizeof buf) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n')
			break;
		buf[n++] = ch;
	}
	buf[n] = '\0';
	if (restore) {
		tcsetattr(fd, TCSAFLUSH, &old);
		if (write(fd, "\n", 1) < 0)
			n = n + 0;
	}
	char *r = strdup(buf);
	explicit_bzero(buf, sizeof buf);
	return r;
}

static int no_creds(const struct cmd_opt *o, const char *arg, struct err *e)
{
	(void)o, (void)arg;
	return err_set(e, "use -u and --password-stdin");
}

int cmd_login(int argc, char **argv)
{
	struct cmd_reg c;
	const char *user_opt = NULL, *pass_opt = NULL;
	_cleanup_free_ char *user = NULL, *pass = NULL, *file = NULL;
	bool from_stdin = false;
	struct err e;
	int first, rc;
	cmd_reg_init(&c);
	const struct cmd_opt opts[] = {
		CMD_STR_S('u', "username", &user_opt), CMD_STR_S('p', "password", &pass_opt),
		CMD_FLAG("password-stdin", &from_stdin), CMD_FN("creds", NULL, no_creds),
		CMD_REG_NET_OPTS(&c),
	};
	if ((rc = cmd_opts_parse(CMD_OPTS("login", login_usage, false, opts), argc, argv, &first)) != CMD_GO)
		return rc;
	if ((user_opt && !(user = strdup(user_opt))) || (pass_opt && !(pass = strdup(pass_opt))))
		return cmd_fail(&(struct err){ENOMEM, "out of memory"});
	if (argc - first != 1)
		return cmd_usage_error("login", "expected one REGISTRY");
	const char *reg = argv[first];
	if (!strcmp(reg, "index.docker.io"))
		reg = "docker.io";
	if (!img_ref_valid_registry(reg))
		return cmd_usage_error("login", "\"%s\" is not a registry name (host[:port])", reg);
	if (pass && from_stdin)
		return cmd_usage_error("login", "--password and --password-stdin exclude each other");
	if (from_stdin && !user)
		return cmd_usage_error("login", "--password-stdin needs --username");
	if (!user && !(user = ask("Username: ", false)))
		return cmd_usage_error("login", "no --username and no terminal to ask on");
	if (from_stdin) {
		size_t n;
		if (fs_read_fd(STDIN_FILENO, "standard input", 64 << 10, &pass, &n, &e) < 0)
			return cmd_fail(&e);
		while (n && (pass[n - 1] == '\n' || pass[n - 1] == '\r'))
			pass[--n] = '\0';
	} else if (!pass && !(pass = ask("Password: ", true))) {
		return cmd_usage_error("login", "no password and no terminal to ask on");
	}
	if (!*user || !*pass)
		return cmd_usage_error("login", "empty username or password");
	struct img_creds cr = {.username = user, .password = pass};
	struct img_registry *r = img_registry_open(reg, &c.o, &e);
	rc = EXIT_FAIL;
	if (r && img_registry_set_creds(r, &cr, &e) == 0 && img_registry_check_login(r, &e) == 0 &&
	    (file = img_creds_auth_file(&e)) && img_creds_store(file, reg, user, pass, &e) == 0)
		rc = EXIT_OK;
	img_registry_close(r);
	explicit_bzero(pass, strlen(pass));
	if (rc != EXIT_OK)
		return cmd_fail(&e);
	printf("Login Succeeded\n");
	return EXIT_OK;
}

static void logout_usage(FILE *f)
{
	fprintf(f, "usage: ramp logout REGISTRY\n\nRemove the credentials stored for REGISTRY from the auth file "
		   "(see 'ramp login --help').\n");
}

int cmd_logout(int argc, char **argv)
{
	_cleanup_free_ char *file = NULL;
	struct err e;
	bool found;
	int first, rc;
	if ((rc = cmd_opts_parse(&(struct cmd_opts){.verb = "logout", .usage = logout_usage}, argc, argv, &first)) != CMD_GO)
		return rc;
	if (argc - first != 1)
		return cmd_usage_error("logout", "expected one REGISTRY");
	const char *reg = strcmp(argv[first], "index.docker.io") ? argv[first] : "docker.io";
	if (!img_ref_valid_registry(reg))
		return cmd_usage_error("logout", "\"%s\" is not a registry name (host[:port])", reg);
	if (!(file = img_creds_auth_file(&e)) || img_creds_erase(file, reg, &found, &e) < 0)
		return cmd_fail(&e);
	if (!found) {
		log_err("not logged in to %s (nothing in %s)", reg, file);
		return EXIT_FAIL;
	}
	printf("Removed login credentials for %s\n", reg);
	return EXIT_OK;
}
