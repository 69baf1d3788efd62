"""A real Milvus server (standalone: proxy, coordinators, query/data/index nodes, an
embedded etcd and rocksmq) started from the binary the PyPI package `milvus` ships in
its wheel, on free loopback ports with its data in a temporary directory. Tests and
`bench/search.py` talk to it over gRPC with pymilvus, as they would to a cluster."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def unavailable() -> str | None:
    """Why a Milvus server cannot start here, or None."""
    try:
        import milvus  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError as exc:
        return f"the Milvus server package (milvus==2.3.5) or pymilvus is not installed: {exc}"
    import platform

    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return f"the milvus wheel ships a Linux x86_64 server binary, not one for {platform.system()} {platform.machine()}"
    return None


@contextmanager
def milvus_server(base_dir: Path, start_timeout_s: float = 180.0) -> Iterator[str]:
    """Start a Milvus server under `base_dir` (binaries, config, logs, data); yields its
    gRPC URI (`http://127.0.0.1:<port>`); stops it afterwards. Raises RuntimeError with
    the tail of its log when it does not come up."""
    from milvus import MilvusServer

    base_dir.mkdir(parents=True, exist_ok=True)
    server = MilvusServer(data_dir=str(base_dir), wait_for_started=False)
    # its ports are picked free from the defaults up (it binds each to check); its cwd is restored
    cwd = os.getcwd()
    try:
        server.start()
        server.wait_started(timeout=int(start_timeout_s * 1000))
    except (RuntimeError, TimeoutError) as exc:
        os.chdir(cwd)
        server.stop()
        log = base_dir / "logs" / "milvus-stdout.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"the Milvus server did not start: {exc}\n{tail}") from None
    finally:
        os.chdir(cwd)
    try:
        yield f"http://127.0.0.1:{server.listen_port}"
    finally:
        server.stop()
