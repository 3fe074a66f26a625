"""One module per command (or per family of commands).

Each module defines, for every command it serves, `add_<name>_arguments(parser)`
and `<name>(cli, args) -> int`; `table.py` says which module serves which
command. Modules are imported only when their command runs, so `minidock ps`
does not pay for `build`'s imports.
"""
