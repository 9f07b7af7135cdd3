/* log.c: leveled messages on stderr, journald-aware (see log.h). */
#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/term.h"

static const char *prog = "ramp";
static enum log_level level = LOG_LVL_NOTICE;
static int journal = -1; /* -1 unknown, 0 no, 1 yes */

void log_init(const char *progname)
{
	const char *slash = strrchr(progname, '/');
	prog = slash ? slash + 1 : progname;
	journal = -1;
}

const char *log_name(void)
{
	return prog;
}

void log_set_level(enum log_level lvl)
{
	level = lvl;
}

enum log_level log_get_level(void)
{
	return level;
}

bool log_to_journal(void)
{
	if (journal < 0) {
		/* systemd sets JOURNAL_STREAM=dev:ino for the stream it connected */
		const char *js = getenv("JOURNAL_STREAM");
		unsigned long long dev, ino;
		struct stat st;
		journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
			  (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
	}
	return journal;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = {[LOG_LVL_ERR] = "error", [LOG_LVL_WARN] = "warning",
				      [LOG_LVL_NOTICE] = "", [LOG_LVL_INFO] = "", [LOG_LVL_DEBUG] = "debug"};
	char line[4096], msg[4096];
	int n;
	va_list ap;

	if (lvl > level)
		return;
	if (log_to_journal())
		n = snprintf(line, sizeof line, "<%d>", (int)lvl);
	else if (*names[lvl])
		n = snprintf(line, sizeof line, "%s: %s: ", prog, names[lvl]);
	else
		n = snprintf(line, sizeof line, "%s: ", prog);
	va_start(ap, fmt);
	int m = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* messages quote untrusted text (image fields, hosts' and registries' answers):
	   no control character of theirs reaches the terminal or the journal */
	if (m > 0)
		term_escape(msg, (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1, 0, line + n, sizeof line - (size_t)n,
			    NULL);
	/* one write per line so concurrent writers do not interleave */
	size_t len = strlen(line);
	if (len + 1 < sizeof line) {
		line[len++] = '\n';
	} else {
		line[len - 1] = '\n';
	}
	fwrite(line, 1, len, stderr);
	fflush(stderr);
}
