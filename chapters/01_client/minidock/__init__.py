"""minidock: Docker's classic architecture rebuilt in Python, one chapter at a time.

This file is the root of the one `minidock` package. Each chapter folder
(`chapters/01_client/`, `chapters/02_server_router/`, ...) is a source root
whose `minidock/` directory adds subpackages to this package. Which chapters
take part is decided once, here, from `MINIDOCK_CHAPTER` (see `chapters.py`):
in the chapter-N world only chapters 1..N can be imported.
"""

from minidock.chapters import extend_path as _extend_path

__path__ = _extend_path(__path__)
__version__ = "0.1.0"
