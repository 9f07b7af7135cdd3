/* inspect.c: `ramp inspect` (placeholder until the image library lands). */
#include "cmd/cmd.h"
int cmd_inspect(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_usage_error("inspect", "not implemented yet");
}
