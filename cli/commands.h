/*
 * The subcommands of `mni`. Each lives in its own cli/cmd_*.c, takes the arguments after its
 * name (argv[0] is the subcommand name) and returns the process exit code:
 * 0 success, 1 runtime failure (a service down, a file unreadable), 2 invalid usage or input.
 */
#ifndef MNI_CLI_COMMANDS_H
#define MNI_CLI_COMMANDS_H

#define MNI_EXIT_OK 0
#define MNI_EXIT_FAILURE 1
#define MNI_EXIT_USAGE 2

int cmd_assess(int argc, char **argv);
int cmd_calendar(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_cases(int argc, char **argv);
int cmd_case(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_web(int argc, char **argv);
int cmd_dlq(int argc, char **argv);
int cmd_produce(int argc, char **argv);
int cmd_ack_loss(int argc, char **argv);
int cmd_accept_new_log(int argc, char **argv);
int cmd_registry(int argc, char **argv);

#endif
