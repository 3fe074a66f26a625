"""Helpers shared by the cross-chapter tests (tests/): a private dockerd, a busybox image.

`skip_or_fail` is chapter 01's (minidock.testing): a skip for a missing
privilege or kernel feature is a failure under CI.
"""

from minidock.testing import skip_or_fail

__all__ = ["skip_or_fail"]
