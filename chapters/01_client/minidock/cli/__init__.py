"""The `minidock` command line: docker's commands, flags, output and exit codes."""
