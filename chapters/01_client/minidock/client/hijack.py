"""Hijacked connections: attach and exec as a raw two-way byte stream.

After `101 UPGRADED` the HTTP connection is a pipe to the container: what we
send is its stdin, what we receive is its output - raw pty bytes with a TTY,
multiplexed frames (stdcopy.py) without. Docker calls this hijacking because
the connection is taken away from the HTTP machinery for good.

Three things happen at once, so two threads do them:

* output: socket -> our stdout/stderr, until the daemon closes its side;
* input: our stdin -> socket; on EOF we half-close (`shutdown(SHUT_WR)`),
  which tells the daemon "no more input" while output keeps coming;
* detach: the detach keys (ctrl-p ctrl-q) typed in stdin end the session
  without stopping the container; they are held back and not sent.
"""

from __future__ import annotations

import io
import os
import socket
import threading
from dataclasses import dataclass, field
from typing import BinaryIO

from minidock.client.stdcopy import FrameDecoder, STDERR

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"


class DetachKeysError(ValueError):
    """A --detach-keys value that is not a comma-separated list of keys."""


# --8<-- [start:detach_keys]
def parse_detach_keys(spec: str) -> bytes:
    """`ctrl-p,ctrl-q` -> b"\\x10\\x11": the byte each key sends in raw mode.

    `ctrl-X` is X's code minus 64 for @, A-Z, [, \\, ], ^, _ (so ctrl-a is 1);
    any other single character stands for itself.
    """
    keys = bytearray()
    for part in spec.split(","):
        if len(part) == 1:
            keys.append(ord(part))
        elif part.lower().startswith("ctrl-") and len(part) == 6:
            char = part[5].upper()
            if not ("@" <= char <= "_"):
                raise DetachKeysError(f"Invalid escape keys ({spec}) provided")
            keys.append(ord(char) - 64)
        else:
            raise DetachKeysError(f"Invalid escape keys ({spec}) provided")
    if not keys:
        raise DetachKeysError(f"Invalid escape keys ({spec}) provided")
    return bytes(keys)


@dataclass
class EscapeProxy:
    """Spots the detach sequence in the input, even when it is split across reads.

    Bytes that could be the start of the sequence are held back; if the next
    byte breaks the match they are released, so normal typing is unchanged.
    """

    keys: bytes
    _held: bytes = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to forward, detached?)"""
        # lab 01.3: Spot the detach keys in the input
        # hint: the sequence may be split across two reads: hold back (self._held) what could begin it
        # hint: when a byte breaks the match, release what was held - but that byte may itself begin the sequence again
        # hint: on a detach, return what came before the sequence; the sequence itself is never forwarded
        out = bytearray()
        for byte in data:
            self._held += bytes([byte])
            if self._held == self.keys:
                self._held = b""
                return bytes(out), True
            if self.keys.startswith(self._held):
                continue  # still a possible detach: hold on to it
            out += self._held[:-1]  # not the sequence after all: let the held bytes through
            last, self._held = self._held[-1:], b""
            if self.keys.startswith(last):
                self._held = last
            else:
                out += last
        return bytes(out), False
        # end lab 01.3
# --8<-- [end:detach_keys]


@dataclass
class HijackedConnection:
    """The socket after `101 UPGRADED`, with the bytes already buffered past the head."""

    sock: socket.socket
    reader: io.BufferedReader
    detached: bool = False
    _closed: bool = field(default=False, repr=False)

    def recv(self, size: int = 32 * 1024) -> bytes:
        try:
            return self.reader.read1(size)
        except (OSError, ValueError):  # reset, or shut down by the detach in the input thread
            return b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        """Half-close: our stdin is done, the container's output may still come."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.reader.close()
            self.sock.close()

    # --8<-- [start:stream]
    def stream(self, stdin: BinaryIO | None, stdout: BinaryIO, stderr: BinaryIO, *,
               tty: bool, detach_keys: str = DEFAULT_DETACH_KEYS) -> bool:
        """Pump stdin to the container and its output back until the output ends.

        Returns True if the user detached with the detach keys.
        """
        if stdin is not None:
            pump = threading.Thread(target=self._pump_input, name="stdin",
                                    args=(stdin, EscapeProxy(parse_detach_keys(detach_keys))), daemon=True)
            pump.start()
        decoder = None if tty else FrameDecoder()
        while data := self.recv():
            if decoder is None:
                stdout.write(data)
                stdout.flush()
                continue
            for kind, payload in decoder.feed(data):
                target = stderr if kind == STDERR else stdout
                target.write(payload)
                target.flush()
        self.close()
        return self.detached

    def _pump_input(self, stdin: BinaryIO, proxy: EscapeProxy) -> None:
        fd = stdin.fileno()
        try:
            while data := os.read(fd, 4096):
                forward, detached = proxy.feed(data)
                if forward:
                    self.send(forward)
                if detached:
                    self.detached = True
                    # Ends the output loop in the other thread; the container keeps running.
                    self.sock.shutdown(socket.SHUT_RDWR)
                    return
        except OSError:
            return  # the connection went away under us: the output side notices too
        self.close_write()
    # --8<-- [end:stream]
