"""`minidock-registry`: a private registry speaking the Docker Registry HTTP API V2.

    storage.py  the content-addressed filesystem store (blobs, repositories, uploads)
    app.py      the V2 routes: blobs, uploads, manifests, tags, catalog, v1 search,
                and the optional Basic auth from a users file
    main.py     the command: `minidock-registry --listen HOST:PORT --root DIR [--users FILE]`

The HTTP machinery is chapter 02's `Server`; only the route table and the
handlers are the registry's own.
"""
