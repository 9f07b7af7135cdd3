/* rt_run.c: test-only command line over runtime/container.h, so that the bats tests
 * drive rt_start/rt_exec/rt_stop/rt_wait. Exits with the container's status, or 125
 * when it could not be started (the message on stderr).
 *
 *   rt_run [--lower DIR]... [--upper DIR --work DIR [--volatile]] [--rootfs DIR] [--ro] [--dev]
 *          [--user SPEC] [--hostname NAME] [--net-private] [--init] [--cwd DIR]
 *          [--env K=V]... [--fd N[:NAME]]... [--listen NAME]...
 *          [--memory BYTES] [--cpu QUOTA[/PERIOD]] [--pids N] [--cgroup-parent P]
 *          [--name NAME] [--nofile N]
 *          [--exec SHELL-CMD [--exec-delay MS] [--exec-timeout MS]]
 *          [--stop SIG:DELAY_MS:GRACE_MS] [--check-leaks] [--repeat N] -- ARGV...
 *
 * --listen makes a TCP socket listening on 127.0.0.1 (a free port, printed on stderr
 * as "listen NAME PORT") and hands it over; --exec runs /bin/sh -c SHELL-CMD in the
 * running container and prints "exec status N" (or "exec error: ...") on stderr;
 * --check-leaks fails (exit 99) when rt_run holds more fds or children afterwards;
 * --repeat N (for tests/bench) runs the container N times in this process and prints
 * each run's start-to-exit time in milliseconds, one a line (with --volatile, run i
 * uses the fresh dirs UPPER/i and WORK/i, made before its clock starts). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "runtime/container.h"

#define MAX_LIST 64

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	for (struct dirent *de; (de = readdir(d));)
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int listen_socket(const char *name)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0) {
		perror("rt_run: listen socket");
		exit(2);
	}
	fprintf(stderr, "listen %s %d\n", name, ntohs(a.sin_port));
	return s;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"lower", 1, 0, 'l'},       {"upper", 1, 0, 'u'},     {"work", 1, 0, 'w'},
		{"rootfs", 1, 0, 'r'},      {"ro", 0, 0, 'R'},        {"dev", 0, 0, 'D'},
		{"user", 1, 0, 'U'},        {"hostname", 1, 0, 'h'},  {"net-private", 0, 0, 'N'},
		{"init", 0, 0, 'i'},        {"cwd", 1, 0, 'c'},       {"env", 1, 0, 'e'},
		{"fd", 1, 0, 'f'},          {"listen", 1, 0, 'L'},    {"memory", 1, 0, 'm'},
		{"cpu", 1, 0, 'C'},         {"pids", 1, 0, 'p'},      {"cgroup-parent", 1, 0, 'g'},
		{"name", 1, 0, 'n'},        {"nofile", 1, 0, 'o'},    {"exec", 1, 0, 'x'},
		{"exec-delay", 1, 0, 'X'},  {"exec-timeout", 1, 0, 'T'}, {"stop", 1, 0, 's'},
		{"check-leaks", 0, 0, 'K'}, {"repeat", 1, 0, 'P'},    {"volatile", 0, 0, 'V'},
		{0, 0, 0, 0},
	};
	const char *lower[MAX_LIST], *env[MAX_LIST + 1], *names[MAX_LIST];
	int fds[MAX_LIST];
	size_t n_lower = 0, n_env = 0, n_fds = 0;
	struct rt_rlimit nofile = {RLIMIT_NOFILE, 0, 0};
	const char *exec_cmd = NULL;
	unsigned exec_delay = 100, exec_timeout = 0;
	int stop_sig = 0;
	unsigned stop_delay = 0, stop_grace = 0;
	bool check_leaks = false;
	int repeat = 0;
	struct rt_spec s;
	rt_spec_init(&s);
	log_init("rt_run");

	for (int c; (c = getopt_long(argc, argv, "+", opts, NULL)) != -1;) {
		char *colon;
		if ((c == 'l' && n_lower == MAX_LIST) || (c == 'e' && n_env == MAX_LIST) ||
		    ((c == 'f' || c == 'L') && n_fds == MAX_LIST)) {
			fprintf(stderr, "rt_run: too many -%c\n", c);
			return 2;
		}
		switch (c) {
		case 'l': lower[n_lower++] = optarg; break;
		case 'u': s.upper = optarg; break;
		case 'w': s.work = optarg; break;
		case 'r': s.rootfs = optarg; break;
		case 'R': s.readonly_root = true; break;
		case 'V': s.volatile_upper = true; break;
		case 'D': s.allow_devices = true; break;
		case 'U': s.user = optarg; break;
		case 'h': s.hostname = optarg; break;
		case 'N': s.private_net = true; break;
		case 'i': s.init = true; break;
		case 'c': s.cwd = optarg; break;
		case 'e': env[n_env++] = optarg; break;
		case 'f':
			colon = strchr(optarg, ':');
			fds[n_fds] = atoi(optarg);
			names[n_fds++] = colon ? colon + 1 : NULL;
			break;
		case 'L':
			fds[n_fds] = listen_socket(optarg);
			names[n_fds++] = optarg;
			break;
		case 'm': s.memory_max = strtoull(optarg, NULL, 10); break;
		case 'C':
			s.cpu_max_quota_us = strtoull(optarg, &colon, 10);
			if (*colon == '/')
				s.cpu_max_period_us = strtoull(colon + 1, NULL, 10);
			break;
		case 'p': s.pids_max = strtoull(optarg, NULL, 10); break;
		case 'g': s.cgroup_parent = optarg; break;
		case 'n': s.name = optarg; break;
		case 'o':
			nofile.soft = nofile.hard = strtoull(optarg, NULL, 10);
			s.rlimits = &nofile;
			s.n_rlimits = 1;
			break;
		case 'x': exec_cmd = optarg; break;
		case 'X': exec_delay = (unsigned)atoi(optarg); break;
		case 'T': exec_timeout = (unsigned)atoi(optarg); break;
		case 's':
			if (sscanf(optarg, "%d:%u:%u", &stop_sig, &stop_delay, &stop_grace) != 3) {
				fprintf(stderr, "rt_run: --stop SIG:DELAY_MS:GRACE_MS\n");
				return 2;
			}
			break;
		case 'K': check_leaks = true; break;
		case 'P': repeat = atoi(optarg); break;
		default: return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "rt_run: no command\n");
		return 2;
	}
	env[n_env] = NULL;
	s.lower = lower;
	s.n_lower = n_lower;
	s.env = env;
	s.argv = (const char *const *)argv + optind;
	s.fds = fds;
	s.fd_names = names;
	s.n_fds = n_fds;

	int fds_before = count_fds();
	struct rt_container c;
	struct err e;
	const char *upper = s.upper, *work = s.work;
	for (int i = 0; i < repeat; i++) {
		struct timespec t0, t1;
		int st;
		char up[4096], wk[4096];
		if (s.volatile_upper) {
			snprintf(up, sizeof up, "%s/%d", upper, i);
			snprintf(wk, sizeof wk, "%s/%d", work, i);
			if (mkdir(up, 0755) < 0 || mkdir(wk, 0755) < 0) {
				perror("rt_run: mkdir");
				return 2;
			}
			s.upper = up;
			s.work = wk;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (rt_start(&s, &c, &e) < 0 || rt_wait(&c, &st, &e) < 0) {
			fprintf(stderr, "rt_run: error: %s\n", e.msg);
			return 125;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		rt_container_release(&c);
		printf("%.3f\n", (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	}
	if (repeat)
		return 0;
	if (rt_start(&s, &c, &e) < 0) {
		fprintf(stderr, "rt_run: error: %s\n", e.msg);
		return 125;
	}
	if (exec_cmd) {
		const char *xargv[] = {"/bin/sh", "-c", exec_cmd, NULL};
		struct rt_exec_spec x = {.argv = xargv, .env = env, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
					 .timeout_ms = exec_timeout};
		int st;
		sleep_ms(exec_delay);
		if (rt_exec(&c, &x, &st, &e) < 0)
			fprintf(stderr, "exec error: %s\n", e.msg);
		else
			fprintf(stderr, "exec status %d\n", st);
	}
	if (stop_sig) {
		sleep_ms(stop_delay);
		if (rt_stop(&c, stop_sig, stop_grace, &e) < 0)
			fprintf(stderr, "rt_run: stop: %s\n", e.msg);
	}
	int status = 0;
	if (rt_wait(&c, &status, &e) < 0) {
		fprintf(stderr, "rt_run: error: %s\n", e.msg);
		status = 125;
	}
	rt_container_release(&c);
	if (check_leaks) {
		int after = count_fds();
		if (after != fds_before || waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD) {
			fprintf(stderr, "rt_run: leak: %d fds before, %d after, or a child left\n", fds_before, after);
			return 99;
		}
	}
	return status;
}
