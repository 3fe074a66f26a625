"""`python -m minidock.daemon [FLAGS]`: the same as the `minidockd` command."""

from minidock.daemon import main

raise SystemExit(main())
