"""`python -m minidock ...` is the `minidock` command."""

from minidock.cli.main import main

raise SystemExit(main())
