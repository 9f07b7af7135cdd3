/* log.h: leveled messages on stderr.
 *
 * Levels follow syslog numbering. When stderr is connected to the journal
 * (JOURNAL_STREAM names stderr's device and inode) each line starts with the
 * journald priority prefix "<N>" instead of the program name. */
#ifndef RAMP_LOG_H
#define RAMP_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_NOTICE = 5, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

void log_init(const char *progname);
/* What every message starts with: "ramp build", "rampd" (log_init's name). */
const char *log_name(void);
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* True when stderr is the systemd journal. */
bool log_to_journal(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
