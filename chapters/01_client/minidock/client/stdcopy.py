"""The multiplexed stream: stdout and stderr on one connection.

A container without a TTY has two output streams, but an HTTP response or a
hijacked socket is one byte stream. Docker's answer (`pkg/stdcopy`) is a frame
per write: an 8-byte header - stream type, three zero bytes, the payload
length as a big-endian uint32 - then the payload. Type 1 is stdout, 2 is
stderr (0, stdin, is written to stdout). A TTY stream has no frames at all:
a terminal has only one output.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

STDIN, STDOUT, STDERR = 0, 1, 2
HEADER = struct.Struct(">BxxxL")  # type, 3 padding bytes, big-endian length
MAX_FRAME = 1 << 30  # a sane upper bound; a bigger length means we lost sync


class FrameError(ValueError):
    """The bytes are not a frame stream (bad type byte or absurd length)."""


# --8<-- [start:encode]
def encode_frame(stream: int, payload: bytes) -> bytes:
    """One frame, as the daemon writes it."""
    return HEADER.pack(stream, len(payload)) + payload
# --8<-- [end:encode]


# --8<-- [start:decoder]
@dataclass
class FrameDecoder:
    """Feed it bytes as they arrive, in pieces of any size; it yields whole frames.

    Network reads do not respect frame boundaries: one read may hold half a
    header, or three frames and a bit. So we buffer until a whole frame is in.
    """

    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        # lab 01.1: Decode the 8-byte frame headers
        # hint: buffer the bytes: a network read may hold half a header, or three frames and a bit
        # hint: HEADER.unpack_from(self._buffer) gives (stream type, payload size); check both before you trust the size
        # hint: yield a frame only once all of its payload is in, then drop it from the buffer
        self._buffer += data
        while len(self._buffer) >= HEADER.size:
            stream, size = HEADER.unpack_from(self._buffer)
            if stream not in (STDIN, STDOUT, STDERR) or self._buffer[1:4] != b"\0\0\0":
                raise FrameError(f"bad frame header {bytes(self._buffer[:8]).hex()}")
            if size > MAX_FRAME:
                raise FrameError(f"frame of {size} bytes: the stream is out of sync")
            if len(self._buffer) < HEADER.size + size:
                return
            payload = bytes(self._buffer[HEADER.size:HEADER.size + size])
            del self._buffer[:HEADER.size + size]
            yield stream, payload
        # end lab 01.1

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still waiting for the rest."""
        return len(self._buffer)
# --8<-- [end:decoder]


def demultiplex(chunks: Iterator[bytes], stdout: BinaryIO, stderr: BinaryIO) -> None:
    """Copy a frame stream to the two files, flushing per frame so output keeps its timing."""
    decoder = FrameDecoder()
    for chunk in chunks:
        for stream, payload in decoder.feed(chunk):
            target = stderr if stream == STDERR else stdout
            target.write(payload)
            target.flush()
    if decoder.pending:
        raise FrameError(f"stream ended inside a frame ({decoder.pending} bytes left over)")
