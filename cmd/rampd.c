/* rampd.c: the host daemon's main(). Until the daemon exists (its own issue)
 * it only reports its version. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: rampd [--version]\n\nThe ramp host daemon (not implemented yet; see README.md).\n");
		return 0;
	}
	printf("rampd %s\n", RAMP_VERSION);
	return 0;
}
