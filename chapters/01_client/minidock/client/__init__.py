"""Chapter 01: the client library.

Everything the `minidock` command needs to talk to a Docker-API daemon:
where it is (`hosts`), how to reach it (`transport`: unix://, tcp://, fd://),
how to speak to it (`http`, `api`: HTTP/1.1, version negotiation, errors),
and the streams it answers with (`stdcopy` frames, `jsonmessage` progress,
`hijack`ed attach/exec connections, the user's `terminal`).

See it work:  make demo   (or: python -m minidock.fakedaemon --host unix:///tmp/f.sock &
              minidock -H unix:///tmp/f.sock run --rm busybox echo hi)
"""
