"""Containers (chapter 03): the container half of Docker's `daemon.Daemon`.

The engine runs jobs; this package is what the container jobs act on.
`ContainerDaemon` (`daemon.py`) holds the containers and does everything to
them; `jobs.py` and `api.py` put it behind the engine and the API.

* `container.py` - the record: ID, name, Config, HostConfig, State ...
* `state.py` - the State and its waiters (`docker wait`, `run`'s exit code);
* `names.py` - names: validator, `adjective_surname` generator, unique index;
* `store.py` - `config.v2.json` / `hostconfig.json`, written atomically;
* `execdriver/` - the execution driver seam; `host.py` runs a container's
  process as a plain host process, as `nobody`, in a scratch directory -
  no isolation before chapter 07;
* `monitor.py` - one thread per running container: exit, restart policy, `--rm`;
* `restart.py` - restart policies and their backoff;
* `streams.py` - stdin, output to the log and to attached clients;
* `jsonfile.py` - the json-file log (`docker logs`);
* `events.py` - the events bus (`docker events`);
* `execs.py` - `docker exec`.

See it work:

    MINIDOCK_CHAPTER=3 minidockd -H unix:///tmp/m.sock
    docker -H unix:///tmp/m.sock run --rm busybox sh -c 'id; pwd'
"""
