"""Media types: what kind of JSON (or blob) a registry object is.

A manifest says what it is in its `mediaType` field, and the registry sends
it back in `Content-Type`; a client says which kinds it understands in
`Accept`. Two families live side by side: Docker's v2 schema 2 (what
`docker push` wrote for years) and OCI's (the standard they became). They
are the same model - a manifest lists a config and layers; a list/index
lists manifests per platform - under different names.
"""

from __future__ import annotations

# Docker v2 schema 2
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

# OCI image spec
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"

# Docker v2 schema 1: signed, no content-addressed config. Refused on both sides.
SCHEMA1_MANIFEST = "application/vnd.docker.distribution.manifest.v1+json"
SCHEMA1_SIGNED_MANIFEST = "application/vnd.docker.distribution.manifest.v1+prettyjws"
SCHEMA1 = frozenset({SCHEMA1_MANIFEST, SCHEMA1_SIGNED_MANIFEST})

IMAGE_MANIFESTS = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
INDEXES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
MANIFESTS = IMAGE_MANIFESTS | INDEXES
CONFIGS = frozenset({DOCKER_CONFIG, OCI_CONFIG})
LAYERS = frozenset({DOCKER_LAYER, DOCKER_FOREIGN_LAYER, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD})

# What dockerd sends in `Accept` when it fetches a manifest (in its order).
ACCEPT = (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX)
