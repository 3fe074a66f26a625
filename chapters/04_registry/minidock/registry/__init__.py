"""Chapter 04: the registry - where images live when they are not on this machine.

Docker's classic diagram has a *Registry* box beside the daemon: the daemon
talks to registries for three jobs, `search`, `pull` and `push`. Both sides
speak one protocol, the Docker Registry HTTP API V2 (the OCI distribution
spec), and this chapter builds both:

* `registry.client` - the registry client the engine's jobs use: ping,
  auth challenge, manifests by content negotiation, blobs streamed into a
  content store of *verified* blobs;
* `registry.server` - `minidock-registry`, a private registry on a
  content-addressed filesystem store.

What both sides share lives here, one module per idea: `digest` (content
addressing and the streaming check), `names` (the repository and tag
grammar), `mediatypes`, `manifest` (parsing hostile manifests) and
`errors` (the spec's error codes).

The one command that shows it working:

    minidock-registry --listen 127.0.0.1:5000 --root /tmp/reg &
    skopeo copy --dest-tls-verify=false oci:layout:latest docker://127.0.0.1:5000/busybox:latest
"""
