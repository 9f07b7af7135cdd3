/* build.c: `ramp build` (placeholder until the image builder lands). */
#include "cmd/cmd.h"
int cmd_build(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_usage_error("build", "not implemented yet");
}
