"""The camera hub: a service's cameras, their saved configs, its event store and its
service-wide alert rules, in one object the REST routes (or any other front end) drive.

Every camera feeds the hub's SSE broadcaster; one consumer thread stores what the
cameras emit in the `EventStore` and runs the service-wide rules over it, publishing
the alerts back to the broadcaster (so they reach the live timeline and, on their way
round, the store). Configs and rules persist through the stores it is handed, so a
restarted service gets its cameras back and restarts those that were running.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..io.remote import RemoteNotAllowedError, check_local_path, check_url
from ..settings import RemoteAccess
from ..rules.engine import Rule, RuleEngine, RuleSet
from ..rules.sinks import EventStore, SinkConfig, SSEBroadcaster
from ..rules.store import RuleStore
from .config import CameraConfig
from .manager import CameraManager, CameraStatus, PipelineFactory
from .pipeline import CameraPipeline
from .store import CameraStore

if TYPE_CHECKING:
    from ..gallery import Gallery

log = logging.getLogger("clearsight.stream.hub")

MAX_CAMERAS = 16


class CameraSourceError(InputError):
    code = "invalid_camera_source"


class CameraSinkError(InputError):
    code = "invalid_camera_sink"


class CameraLimitError(InputError):
    code = "too_many_cameras"
    http_status = 409


class CameraNotRunningError(InputError):
    code = "camera_not_running"
    http_status = 409


class _LazyGallery:
    """The service's gallery, opened only when a camera that recognises people first
    uses it: a service without such cameras never loads the gallery's index."""

    def __init__(self, open_gallery: Callable[[], Gallery]) -> None:
        self._open = open_gallery

    def __getattr__(self, name: str) -> Any:
        return getattr(self._open(), name)


class CameraHub:
    def __init__(
        self,
        *,
        cameras: CameraStore,
        rules: RuleStore,
        events: EventStore,
        broadcaster: SSEBroadcaster,
        output_dir: Path,
        gallery: Callable[[], Gallery] | None = None,
        pipeline_factory: PipelineFactory = CameraPipeline,
        access: RemoteAccess | None = None,
        media_roots: Sequence[Path] = (),
        max_cameras: int = MAX_CAMERAS,
    ) -> None:
        """`access` and `media_roots`: what API users may make the service reach (the
        allow-list of `server.remote`); cameras restored from the store were checked when
        they were added."""
        self.cameras = cameras
        self.rule_store = rules
        self.events = events
        self.broadcaster = broadcaster
        self.output_dir = Path(output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.max_cameras = max_cameras
        self.access = access if access is not None else RemoteAccess()
        self.media_roots = tuple(Path(r).resolve() for r in media_roots)
        kwargs: dict[str, Any] = {"gallery": _LazyGallery(gallery)} if gallery is not None else {}
        self.manager = CameraManager(broadcaster, pipeline_factory=pipeline_factory, **kwargs)
        self.engine = RuleEngine(self._load_rules())
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._sub = broadcaster.subscribe()
        self._consumer = threading.Thread(target=self._consume, name="camera-events", daemon=True)
        self._consumer.start()

    # -- persistence ------------------------------------------------------------
    def _save(self, name: str, running: bool) -> None:
        self.cameras.save(name, self.manager.config(name).model_dump(mode="json"), running)

    def restore(self) -> None:
        """Cameras saved by an earlier run come back; those that were running start."""
        for saved in self.cameras.list():
            try:
                cfg = CameraConfig.model_validate(saved.config)
                self.manager.add(cfg, start=False)
                if saved.running:
                    self.manager.start(cfg.name)
            except Exception as exc:  # noqa: BLE001 - one bad camera must not stop the others
                log.error("camera %r not restored: %s", saved.name, exc)

    def _load_rules(self) -> list[Rule]:
        try:
            return RuleSet.model_validate({"rules": self.rule_store.load()}).rules
        except Exception as exc:  # noqa: BLE001 - a bad saved rule set must not stop the service
            log.error("saved rules ignored: %s", exc)
            return []

    @property
    def rules(self) -> RuleSet:
        return RuleSet(rules=list(self.engine.rules))

    def set_rules(self, rules: RuleSet) -> RuleSet:
        """Replace the rules (already validated); rule state (counts, cool-downs) starts afresh."""
        self.engine.set_rules(rules.rules)
        self.rule_store.save(rules.model_dump(mode="json")["rules"])
        return self.rules

    # -- cameras ------------------------------------------------------------------
    def names(self) -> list[str]:
        return self.manager.names()

    def describe(self, name: str) -> dict[str, Any]:
        return {"config": self.manager.config(name).model_dump(mode="json"), "status": self.manager.status(name).to_dict()}

    def add(self, config: CameraConfig, *, start: bool = False, local_files: bool = False) -> CameraStatus:
        """`local_files`: whether the caller may use files under the media roots (admins)."""
        cfg = self.check(config, local_files=local_files)
        with self._lock:
            names = self.manager.names()
            if len(names) >= self.max_cameras and cfg.name not in names:
                raise CameraLimitError(f"this service runs at most {self.max_cameras} cameras")
            self.manager.add(cfg, start=False)
            self._save(cfg.name, start)
        if start:
            self.manager.start(cfg.name)
        return self.manager.status(cfg.name)

    def update(self, name: str, config: CameraConfig, *, local_files: bool = False) -> CameraStatus:
        """Replace a camera's configuration; a running camera restarts with it."""
        if config.name != name:
            raise InputError(f"name: the body names {config.name!r} but the URL {name!r}; cameras cannot be renamed")
        self.manager.config(name)  # 404 before anything else
        status = self.manager.update(self.check(config, local_files=local_files))
        self._save(name, status.running)
        return status

    def remove(self, name: str) -> None:
        self.manager.config(name)  # 404 for an unknown camera
        self.manager.remove(name)
        self.cameras.delete(name)

    def start(self, name: str) -> CameraStatus:
        self.manager.start(name)
        self._save(name, True)
        return self.manager.status(name)

    def stop(self, name: str) -> CameraStatus:
        self.manager.stop(name)
        self._save(name, False)
        return self.manager.status(name)

    def live_pipeline(self, name: str) -> CameraPipeline:
        """The pipeline whose output a live view shows; refused when there is nothing to show."""
        self.manager.config(name)
        pipeline = self.manager.pipeline(name)
        if pipeline is None or (not pipeline.running and pipeline.latest is None and not self.manager.status(name).running):
            raise CameraNotRunningError(f"camera {name!r} is not running; start it first")
        return pipeline

    # -- config checks --------------------------------------------------------------
    def check(self, cfg: CameraConfig, *, local_files: bool = False) -> CameraConfig:
        """Refuse what the service cannot or must not do, before a thread starts.

        Network sources and sink targets must be on the allow-list; local sources only
        under the media roots and only for callers allowed local files, with one refusal
        whatever exists; files a camera writes stay under the output dir. A `store` sink
        without a URL is the service's own event store (the hub stores every event), so
        camera files written for the CLI load here unchanged."""
        from .detectors import available_stage_detectors

        known = available_stage_detectors()
        if cfg.detect.detector not in known:
            raise CameraSourceError(f"detect.detector: unknown detector {cfg.detect.detector!r}; choose from {', '.join(known)}")
        return cfg.model_copy(update={"source": self._checked_source(cfg.source, local_files),
                                      **self._checked_sinks(cfg)})

    def _checked_source(self, src: str | int, local_files: bool) -> str | int:
        if isinstance(src, int) or src.isdigit() or src.startswith(("webcam", "/dev/video")):
            if not self.access.webcams:
                raise RemoteNotAllowedError("source: this service does not open its webcams for API users "
                                            "(server.remote.webcams)")
            return src
        if "://" in src:
            check_url(src, self.access.camera_sources, "source")
            return src
        if not local_files:
            raise RemoteNotAllowedError("source: local files are for admins only; use a camera URL")
        return str(check_local_path(src, self.media_roots, "source"))

    def _checked_sinks(self, cfg: CameraConfig) -> dict[str, Any]:
        sinks: list[SinkConfig] = []
        renamed: dict[str, str] = {}
        has_sse = any(s.type == "sse" for s in cfg.sinks)
        for s in cfg.sinks:
            if s.type == "store":
                if s.url:
                    raise CameraSinkError("sinks: the service keeps events in its own event store; a `store` sink "
                                          "with a `url` is for the command line")
                if has_sse:  # the live feed reaches the service's store already
                    renamed[s.sink_name] = next(x.sink_name for x in cfg.sinks if x.type == "sse")
                    continue
                s = s.model_copy(update={"type": "sse", "name": s.sink_name})  # through the broadcaster into the store
            elif s.type == "jsonl":
                s = s.model_copy(update={"path": str(self._inside_output(s.path or f"{cfg.name}.jsonl", "sinks.path"))})
            elif s.type == "webhook":
                check_url(s.url or "", self.access.event_targets, f"sinks.{s.sink_name}.url")
            elif s.type == "mqtt":
                check_url(f"mqtt://{s.host}:{s.port}", self.access.event_targets, f"sinks.{s.sink_name}")
            sinks.append(s)
        rules = [r.model_copy(update={"actions": [renamed.get(a, a) for a in r.actions]}) if r.actions else r
                 for r in cfg.rules]
        out = cfg.output
        if out.path:
            out = out.model_copy(update={"path": str(self._inside_output(out.path, "output.path"))})
        return {"sinks": sinks, "rules": rules, "output": out}

    def _inside_output(self, path: str, field: str) -> Path:
        base = self.output_dir.resolve()
        p = (base / path).resolve()
        if base != p and base not in p.parents:
            raise CameraSourceError(f"{field}: files a camera writes must stay under {base}")
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    # -- events -------------------------------------------------------------------
    def _consume(self) -> None:
        while not self._closed.is_set() or self._sub.q.qsize():
            event = self._sub.get(timeout=0.5)
            if event is None:
                continue
            try:
                self.events.emit(event)
            except Exception:  # noqa: BLE001 - a full disk must not kill the consumer
                log.exception("event not stored")
            for _rule, alert in self.engine.process(event):
                self.broadcaster.emit(alert)  # comes back through this loop and is stored

    def close(self) -> None:
        self.manager.close()
        self._closed.set()
        self._consumer.join(10)
        self._sub.close()
        self.events.close()
        self.cameras.close()
        self.rule_store.close()


__all__ = ["MAX_CAMERAS", "CameraHub", "CameraLimitError", "CameraNotRunningError", "CameraSourceError"]
