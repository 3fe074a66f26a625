"""The Docker Server box (chapter 02): requests in, handlers run, replies out.

Chapter 01 built a client that speaks the Engine API. This chapter builds
the other end of the socket, the way Docker 1.x drew it:

    listener -> accept -> one thread per connection -> parse the request
             -> route (method + URL -> job name) -> handler -> reply

* `listeners.py` opens the sockets of `-H unix://… | tcp://… | fd://`.
* `http.py` reads one HTTP/1.1 request from a connection, within limits.
* `server.py` runs the accept loops and the per-connection threads.
* `router.py` matches the method and path against the route table, checks
  the `/v1.NN` API version, and calls the handler installed for the route's job.
* `routes.py` is the route table itself, as data, and which chapter brings
  the job behind each route.
* `errors.py` holds the typed errors handlers raise, and the one place where
  an error becomes an HTTP status.
* `request.py` / `response.py` are what a handler receives: the request, and
  a writer for JSON, raw bytes, streams and hijacked connections.
* `system.py` holds the only handlers this chapter has: `/_ping`, `/version`
  and `/info`. Every other route answers 501 and names the chapter that
  brings its job.

See it work (the daemon runs in the foreground; stop it with Ctrl-C):

    MINIDOCK_CHAPTER=2 minidockd -H unix:///tmp/m.sock
    docker -H unix:///tmp/m.sock version
"""
