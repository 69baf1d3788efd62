"""A real two-node Ray cluster on this machine: a head and a second node, each a
`ray start --block` process in its own process group, bound to 127.0.0.1 on free
ports with a private temp dir. Tests and `bench/ray_cluster.py` run cameras on it
and kill the second node (its whole process group: raylet, agents, workers) to
watch the cameras move to the head. `ray stop` is never used: it stops every Ray
instance on the machine, not just this one."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import clearsight



HEAD_IP, NODE_IP = "127.0.0.2", "127.0.0.3"
WORKER_PORTS = 16  # one per worker process a node may run at once (camera actors and Ray's own)


def unavailable() -> str | None:
    """Why a Ray cluster cannot start here, or None."""
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        return f"ray is not installed: {exc}"
    return None


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class RayNode:
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL the node at once: its process group (`ray start`, raylet, agents) and every
        descendant (Ray starts each worker in a session of its own, outside the group)."""
        import psutil

        try:
            family = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for p in family:
            with suppress(psutil.NoSuchProcess):
                p.kill()
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)

    def freeze(self) -> None:
        """SIGSTOP the node and its workers: a hung machine (sockets stay open, nothing answers), which
        the head notices only by missed health checks."""
        import psutil

        try:
            family = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for p in family:
            with suppress(psutil.NoSuchProcess):
                p.suspend()

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM the group (`ray start --block` stops its raylet and agents), SIGKILL what is left."""
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
            os.killpg(self.proc.pid, signal.SIGCONT)  # a frozen node too
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout_s)
        self.kill()


@dataclass
class LocalRayCluster:
    address: str
    temp_dir: Path
    nodes: list[RayNode] = field(default_factory=list)

    @property
    def head(self) -> RayNode:
        return self.nodes[0]


def _start_node(args: list[str], temp_dir: Path, name: str, env: dict[str, str]) -> RayNode:
    # each node gets its own ports; a fixed port would clash with another Ray on the machine
    p = _free_ports(6 + WORKER_PORTS)
    cmd = [sys.executable, "-c", "from ray.scripts.scripts import main; main()", "start", "--block", "--temp-dir", str(temp_dir / name), "--disable-usage-stats",
           "--object-manager-port", str(p[0]), "--node-manager-port", str(p[1]),
           "--dashboard-agent-listen-port", str(p[2]), "--dashboard-agent-grpc-port", str(p[3]),
           "--metrics-export-port", str(p[4]), "--runtime-env-agent-port", str(p[5]),
           "--worker-port-list", ",".join(map(str, p[6:])),
           *args]
    log = temp_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return RayNode(proc, log)


@contextmanager
def local_ray_cluster(head_cpus: int = 2, node_cpus: int = 2, object_store_mb: int = 100,
                      start_timeout_s: float = 90.0, system_config: dict[str, object] | None = None) -> Iterator[LocalRayCluster]:
    """Start a head and one more node; yields the cluster (its `address` for `ray.init` /
    `--ray-address`); stops both nodes afterwards (by process group, never `ray stop`). Raises RuntimeError with the
    log tails when a node does not come up."""
    import ray

    # a short path: Ray's unix sockets live under it and must stay under 108 characters
    temp_dir = Path(tempfile.mkdtemp(prefix="cs-ray-", dir="/tmp"))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
           # workers import clearsight from wherever this process does (a source checkout or the venv)
           "PYTHONPATH": os.pathsep.join([str(Path(clearsight.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    env.pop("RAY_ADDRESS", None)
    # token authentication with a token of its own: the GCS and raylets listen on every interface, and
    # a token another Ray run left in ~/.ray/auth_token must not decide whether the nodes may talk
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    env |= auth
    env.pop("RAY_AUTH_TOKEN_PATH", None)
    (gcs_port, client_port), store = _free_ports(2), str(object_store_mb * 1024 * 1024)
    address = f"{HEAD_IP}:{gcs_port}"
    cluster = LocalRayCluster(address, temp_dir)
    saved = {k: os.environ.get(k) for k in (*auth, "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS")}
    for k in saved:  # this process (a driver) and its children (`clearsight run`) use the same token
        os.environ.pop(k, None)
    os.environ.update(auth)
    _reset_token_cache()
    try:
        # Ray replaces 127.0.0.1 (`--node-ip-address`, `--address`) with the machine's outward address;
        # other loopback addresses it keeps, so the head is 127.0.0.2 and the second node 127.0.0.3:
        # two addresses as on two machines, and every packet stays on the loopback
        cluster.nodes.append(_start_node(
            ["--head", "--node-ip-address", HEAD_IP, "--port", str(gcs_port), "--ray-client-server-port", str(client_port),
             "--include-dashboard", "false", "--num-cpus", str(head_cpus), "--object-store-memory", store,
             "--resources", json.dumps({"head": 1}),
             *(["--system-config", json.dumps(system_config)] if system_config else [])], temp_dir, "head", env))
        _wait_nodes(cluster, 1, start_timeout_s)
        cluster.nodes.append(_start_node(
            ["--address", address, "--node-ip-address", NODE_IP, "--num-cpus", str(node_cpus), "--object-store-memory", store], temp_dir, "node2", env))
        _wait_nodes(cluster, 2, start_timeout_s)
        yield cluster
    finally:
        if ray.is_initialized():
            ray.shutdown()
        for node in reversed(cluster.nodes):
            node.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _reset_token_cache()


def _reset_token_cache() -> None:
    """Ray reads the auth mode and token once per process (at import); re-read them so the ones set
    here count (Ray's own test helper for this)."""
    with suppress(ImportError, AttributeError):
        from ray._private.authentication_test_utils import reset_auth_token_state

        reset_auth_token_state()


def _wait_nodes(cluster: LocalRayCluster, n: int, timeout_s: float) -> None:
    """Wait until the `n`-th node's `ray start --block` says the runtime started."""
    node = cluster.nodes[n - 1]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if node.proc.poll() is not None:
            raise RuntimeError(f"a Ray node exited ({node.proc.returncode}):\n{_tail(node.log)}")
        if b"Ray runtime started" in node.log.read_bytes():
            return
        time.sleep(0.2)
    raise RuntimeError(f"Ray node {n} did not start in {timeout_s:.0f} s:\n{_tail(node.log)}")


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def run_in_background(supervisor: Any, timeout_s: float = 120.0) -> tuple[threading.Thread, dict[str, Any]]:
    """Start `supervisor.run()` in a thread and return once every camera runs (or raise after
    `timeout_s`); the summaries land in the returned dict under "summaries" when it ends."""
    out: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: out.update(summaries=supervisor.run()), daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not all(supervisor.placements().values()):
        if time.monotonic() > deadline or not thread.is_alive():
            supervisor.stop()
            raise RuntimeError(f"the cameras did not all start: {supervisor.placements()}")
        time.sleep(0.1)
    return thread, out
