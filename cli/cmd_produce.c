/* Placeholder until the subcommand lands; replaced by its real implementation. */
#include <stdio.h>

#include "cli/commands.h"

int cmd_produce(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "mni produce: not built yet\n");
    return MNI_EXIT_FAILURE;
}
