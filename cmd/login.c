/* login.c: `ramp login` and `ramp logout`: credentials in auth.json. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

enum { OPT_PASSWORD_STDIN = OPT_REG_LAST };

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

int cmd_login(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"username", required_argument, NULL, 'u'},
		{"password", required_argument, NULL, 'p'},
		{"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
		{"help", no_argument, NULL, 'h'},
		CMD_REG_CONN_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct cmd_reg c;
	_cleanup_free_ char *user = NULL, *pass = NULL, *file = NULL;
	bool from_stdin = false;
	struct err e;
	int opt, rc;
	cmd_reg_init(&c);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "hu:p:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			login_usage(stdout);
			return EXIT_OK;
		case 'u':
			free(user);
			user = strdup(optarg);
			break;
		case 'p':
			free(pass);
			pass = strdup(optarg);
			break;
		case OPT_PASSWORD_STDIN:
			from_stdin = true;
			break;
		case '?':
			return cmd_usage_error("login", "unknown option");
		default:
			if (opt == OPT_CREDS)
				return cmd_usage_error("login", "use -u and --password-stdin");
			if ((rc = cmd_reg_option(&c, "login", opt, optarg)))
				return rc;
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error("login", "expected one REGISTRY");
	const char *reg = argv[optind];
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

int cmd_logout(int argc, char **argv)
{
	_cleanup_free_ char *file = NULL;
	struct err e;
	bool found;
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: ramp logout REGISTRY\n\nRemove the credentials stored for REGISTRY from the auth file "
		       "(see 'ramp login --help').\n");
		return EXIT_OK;
	}
	if (argc != 2 || argv[1][0] == '-')
		return cmd_usage_error("logout", "expected one REGISTRY");
	const char *reg = strcmp(argv[1], "index.docker.io") ? argv[1] : "docker.io";
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
