"""The route table of the Engine API v1.41, as data, and who brings each job.

Every operation of the v1.41 spec (`shared/api/docker-engine-api-v1.41.yaml`)
is here, swarm and plugins included, each naming the job that serves it.
Path variables carry the spec's names (`{id}` for containers, exec
instances and networks, `{name}` for images, volumes and plugins), with
moby's patterns: `{id:.*}` / `{name:.*}` wherever moby has them, since image
names hold `/` and `:` (`DELETE /images/localhost:5000/a/b:v1`).

Order. The router takes the first route that fits, so a table must never
let a general template hide a specific one. Templates are anchored at both
ends, and a greedy variable is followed by a literal suffix (`/json`,
`/history`, `/push` ...) unless its route is the only one of its method
under that prefix (`DELETE /images/{name:.*}`). So no two routes of one
method match the same path (but for the two `/images/create` rows, which
the query tells apart), and tests prove each route is reachable with
awkward names (`localhost:5000/a/b:v1`, `json`, `create`). The fixed paths
still come first in each group (`/images/json` before
`/images/{name:.*}/json`): that is the order in which a reader, and mux,
should try them; a greedy catch-all placed first would swallow them.

Three decisions:

* `POST /images/create` is two jobs on one route, told apart by the query,
  exactly as dockerd's handler does it: with `fromImage=` it is `pull`
  (chapter 04, the registry); otherwise it is `import` (chapter 05, the
  graph), which reads `fromSrc=` (`-` = the request body). Two rows of data,
  no dispatcher function: the `pull` row carries `query="fromImage"` and
  comes first.
* Swarm mode is not part of minidock. The swarm, node, service, task,
  secret and config routes run one job, `swarm`, which answers like a
  dockerd that is not in a swarm: 503 `This node is not a swarm manager ...`.
  Joining a swarm (`swarm_init`, `swarm_join`, `swarm_unlock`) is a 501:
  minidock does not implement it.
* Plugins are not part of minidock either, but `docker inspect X` asks
  `GET /plugins/X/json` last, after containers, images, networks and
  volumes, and needs a 404 there to print `No such object: X`. So chapter
  02 answers the two read routes truthfully (no plugins: an empty list, and
  404 for any name); the others are job `plugin`, a 501.
"""

from __future__ import annotations

from minidock.server.router import Route

R = Route.of

# --8<-- [start:routes]
ROUTES: list[Route] = [
    # system
    R("GET", "/_ping", "ping"),
    R("HEAD", "/_ping", "ping"),
    R("GET", "/version", "version"),
    R("GET", "/info", "info"),
    R("GET", "/events", "events"),
    R("GET", "/system/df", "system_df"),
    R("POST", "/auth", "auth"),
    # containers
    R("GET", "/containers/json", "containers"),
    R("POST", "/containers/create", "create"),
    R("POST", "/containers/prune", "containers_prune"),
    R("GET", "/containers/{id:.*}/json", "container_inspect"),
    R("GET", "/containers/{id:.*}/top", "top"),
    R("GET", "/containers/{id:.*}/logs", "logs"),
    R("GET", "/containers/{id:.*}/changes", "changes"),
    R("GET", "/containers/{id:.*}/export", "export"),
    R("GET", "/containers/{id:.*}/stats", "container_stats"),
    R("GET", "/containers/{id:.*}/attach/ws", "attach_ws"),
    R("HEAD", "/containers/{id:.*}/archive", "archive_stat"),
    R("GET", "/containers/{id:.*}/archive", "archive_get"),
    R("PUT", "/containers/{id:.*}/archive", "archive_put"),
    R("POST", "/containers/{id:.*}/resize", "resize"),
    R("POST", "/containers/{id:.*}/start", "start"),
    R("POST", "/containers/{id:.*}/stop", "stop"),
    R("POST", "/containers/{id:.*}/restart", "restart"),
    R("POST", "/containers/{id:.*}/kill", "kill"),
    R("POST", "/containers/{id:.*}/update", "container_update"),
    R("POST", "/containers/{id:.*}/rename", "rename"),
    R("POST", "/containers/{id:.*}/pause", "pause"),
    R("POST", "/containers/{id:.*}/unpause", "unpause"),
    R("POST", "/containers/{id:.*}/attach", "attach"),
    R("POST", "/containers/{id:.*}/wait", "wait"),
    R("POST", "/containers/{id:.*}/exec", "exec_create"),
    R("DELETE", "/containers/{id:.*}", "rm"),
    # exec instances
    R("POST", "/exec/{id:.*}/start", "exec_start"),
    R("POST", "/exec/{id:.*}/resize", "exec_resize"),
    R("GET", "/exec/{id:.*}/json", "exec_inspect"),
    # images
    R("GET", "/images/json", "images"),
    R("GET", "/images/search", "search"),
    R("GET", "/images/get", "image_get"),
    R("POST", "/images/create", "pull", query="fromImage"),
    R("POST", "/images/create", "import"),
    R("POST", "/images/load", "image_load"),
    R("POST", "/images/prune", "images_prune"),
    R("GET", "/images/{name:.*}/json", "image_inspect"),
    R("GET", "/images/{name:.*}/history", "history"),
    R("GET", "/images/{name:.*}/get", "image_get"),
    R("POST", "/images/{name:.*}/push", "push"),
    R("POST", "/images/{name:.*}/tag", "tag"),
    R("DELETE", "/images/{name:.*}", "image_delete"),
    R("POST", "/commit", "commit"),
    R("POST", "/build", "build"),
    R("POST", "/build/prune", "build_prune"),
    R("POST", "/session", "session"),
    R("GET", "/distribution/{name:.*}/json", "distribution_inspect"),
    # networks
    R("GET", "/networks", "networks"),
    R("POST", "/networks/create", "network_create"),
    R("POST", "/networks/prune", "networks_prune"),
    R("GET", "/networks/{id:.*}", "network_inspect"),
    R("DELETE", "/networks/{id:.*}", "network_delete"),
    R("POST", "/networks/{id:.*}/connect", "network_connect"),
    R("POST", "/networks/{id:.*}/disconnect", "network_disconnect"),
    # volumes
    R("GET", "/volumes", "volumes"),
    R("POST", "/volumes/create", "volume_create"),
    R("POST", "/volumes/prune", "volumes_prune"),
    R("GET", "/volumes/{name:.*}", "volume_inspect"),
    R("DELETE", "/volumes/{name:.*}", "volume_delete"),
    # plugins: only the two read routes are answered (see above)
    R("GET", "/plugins", "plugins"),
    R("GET", "/plugins/privileges", "plugin"),
    R("POST", "/plugins/pull", "plugin"),
    R("POST", "/plugins/create", "plugin"),
    R("GET", "/plugins/{name:.*}/json", "plugin_inspect"),
    R("POST", "/plugins/{name:.*}/enable", "plugin"),
    R("POST", "/plugins/{name:.*}/disable", "plugin"),
    R("POST", "/plugins/{name:.*}/upgrade", "plugin"),
    R("POST", "/plugins/{name:.*}/push", "plugin"),
    R("POST", "/plugins/{name:.*}/set", "plugin"),
    R("DELETE", "/plugins/{name:.*}", "plugin"),
    # swarm mode: "not a swarm manager" (see above)
    R("GET", "/swarm", "swarm"),
    R("POST", "/swarm/init", "swarm_init"),
    R("POST", "/swarm/join", "swarm_join"),
    R("POST", "/swarm/leave", "swarm"),
    R("POST", "/swarm/update", "swarm"),
    R("GET", "/swarm/unlockkey", "swarm"),
    R("POST", "/swarm/unlock", "swarm_unlock"),
    R("GET", "/nodes", "swarm"),
    R("GET", "/nodes/{id}", "swarm"),
    R("DELETE", "/nodes/{id}", "swarm"),
    R("POST", "/nodes/{id}/update", "swarm"),
    R("GET", "/services", "swarm"),
    R("POST", "/services/create", "swarm"),
    R("GET", "/services/{id}", "swarm"),
    R("DELETE", "/services/{id}", "swarm"),
    R("POST", "/services/{id}/update", "swarm"),
    R("GET", "/services/{id}/logs", "swarm"),
    R("GET", "/tasks", "swarm"),
    R("GET", "/tasks/{id}", "swarm"),
    R("GET", "/tasks/{id}/logs", "swarm"),
    R("GET", "/secrets", "swarm"),
    R("POST", "/secrets/create", "swarm"),
    R("GET", "/secrets/{id}", "swarm"),
    R("DELETE", "/secrets/{id}", "swarm"),
    R("POST", "/secrets/{id}/update", "swarm"),
    R("GET", "/configs", "swarm"),
    R("POST", "/configs/create", "swarm"),
    R("GET", "/configs/{id}", "swarm"),
    R("DELETE", "/configs/{id}", "swarm"),
    R("POST", "/configs/{id}/update", "swarm"),
]
# --8<-- [end:routes]


# --8<-- [start:job_chapters]
CHAPTER_TITLES: dict[int, str] = {
    1: "client",
    2: "server and router",
    3: "engine and jobs",
    4: "registry",
    5: "graph",
    6: "drivers",
    7: "libcontainer",
}

JOB_CHAPTERS: dict[str, int] = {
    # chapter 02 answers these itself (system.py)
    "ping": 2, "version": 2, "info": 2, "swarm": 2, "plugins": 2, "plugin_inspect": 2,
    # chapter 03: the engine, its jobs, and containers as host processes
    "events": 3, "containers": 3, "create": 3, "container_inspect": 3, "containers_prune": 3,
    "top": 3, "logs": 3, "container_stats": 3, "resize": 3, "start": 3, "stop": 3, "restart": 3,
    "kill": 3, "container_update": 3, "rename": 3, "pause": 3, "unpause": 3, "attach": 3,
    "wait": 3, "rm": 3, "exec_create": 3, "exec_start": 3, "exec_resize": 3, "exec_inspect": 3,
    # chapter 04: the registry client
    "pull": 4, "push": 4, "search": 4, "auth": 4, "distribution_inspect": 4,
    # chapter 05: the graph (images, layers, tags) and the builder
    "images": 5, "image_inspect": 5, "history": 5, "tag": 5, "image_delete": 5, "images_prune": 5,
    "import": 5, "image_get": 5, "image_load": 5, "commit": 5, "build": 5, "build_prune": 5,
    "system_df": 5,
    # chapter 06: drivers. A container's filesystem (graphdriver), networks, volumes
    "changes": 6, "export": 6, "archive_stat": 6, "archive_get": 6, "archive_put": 6,
    "networks": 6, "network_create": 6, "networks_prune": 6, "network_inspect": 6,
    "network_delete": 6, "network_connect": 6, "network_disconnect": 6,
    "volumes": 6, "volume_create": 6, "volumes_prune": 6, "volume_inspect": 6, "volume_delete": 6,
    # Jobs with no route of their own: other jobs call them (DESIGN.md, "the seams").
    "init_networkdriver": 6, "allocate_interface": 6, "release_interface": 6, "allocate_port": 6,
    "release_port": 6, "link": 6, "mount": 6, "unmount": 6, "resolve_repository": 4,
}

# The jobs above that no route runs: other jobs call them (create calls
# image_inspect, start calls allocate_interface ...).
INTERNAL_JOBS: frozenset[str] = frozenset({
    "init_networkdriver", "allocate_interface", "release_interface", "allocate_port",
    "release_port", "link", "mount", "unmount", "resolve_repository",
})

# Jobs that have a route but that no chapter brings: they answer
# "no handler for job 'X': minidock does not implement it".
NOT_IMPLEMENTED: frozenset[str] = frozenset({
    "attach_ws",  # attach over a websocket: no docker CLI command uses it
    "session",  # BuildKit's session; minidock's builder is the classic one
    "plugin", "swarm_init", "swarm_join", "swarm_unlock",
})
# --8<-- [end:job_chapters]
