"""One place for state (issue 13): every app-scoped object sits on a typed
`ServiceState`; two apps in one process share nothing, not even the event broadcaster;
closing the state closes every session pool; and no route keeps its own module cache
(the model listing is read afresh, so a model built after start-up shows up)."""

from __future__ import annotations

import typing

import pytest

from clearsight.config import get_settings
from clearsight.rules.events import make_event
from clearsight.server import create_app
from clearsight.server.state import ServiceState
from clearsight.settings import ServerSettings

pytestmark = pytest.mark.unit


def test_service_state_is_typed_without_any():
    import clearsight.server.state as mod

    src = typing.get_type_hints(ServiceState.__init__)
    assert typing.Any not in src.values()
    props = {n: p for n, p in vars(ServiceState).items() if isinstance(p, property)}
    assert {"pipeline", "gallery", "cameras", "plates", "passive_liveness"} <= set(props)
    ns = {**vars(mod), **_type_checking_names()}
    for name, prop in props.items():
        hint = typing.get_type_hints(prop.fget, globalns=ns)["return"]
        assert hint is not typing.Any and isinstance(hint, type), (name, hint)


def _type_checking_names() -> dict[str, type]:
    """The names state.py imports under TYPE_CHECKING, imported for real (every one of them,
    so a new property's return type is checked without editing this test)."""
    import ast
    import importlib

    import clearsight.server.state as mod

    tree = ast.parse(open(mod.__file__).read())
    names: dict[str, type] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in node.body:
                if isinstance(imp, ast.ImportFrom):
                    module = importlib.import_module("." * imp.level + (imp.module or ""), "clearsight.server")
                    names.update({a.asname or a.name: getattr(module, a.name) for a in imp.names})
    return names


def test_two_apps_in_one_process_share_no_state(tmp_path):
    a = create_app(get_settings().model_copy(update={"data_dir": tmp_path / "a"}), ServerSettings(warmup=False))
    b = create_app(get_settings().model_copy(update={"data_dir": tmp_path / "b"}), ServerSettings(warmup=False))
    sa, sb = a.state.clearsight, b.state.clearsight
    try:
        assert sa.broadcaster is not sb.broadcaster and sa.keys is not sb.keys
        assert sa.dms_sessions is not sb.dms_sessions and sa.tickets is not sb.tickets
        heard_a, heard_b = sa.broadcaster.subscribe(), sb.broadcaster.subscribe()
        sa.broadcaster.emit(make_event("zone.enter", "cam", 1.0, (1,), None, zone="door"))
        assert heard_a.get(timeout=1.0) is not None
        assert heard_b.get(timeout=0.2) is None  # the other app's timeline never sees it
        assert sa.cameras.broadcaster is sa.broadcaster  # the hub publishes on its own app's broadcaster
    finally:
        sa.close()
        sb.close()


class _Closable:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_closing_the_state_closes_every_session_pool(tmp_path):
    state = ServiceState(get_settings().model_copy(update={"data_dir": tmp_path}), ServerSettings(warmup=False))
    pools = {n: v for n, v in vars(state).items() if n.endswith("_sessions")}
    assert set(pools) == {"dms_sessions", "effects_sessions", "liveness_sessions"}
    held = {n: pool.create("owner", _Closable).value for n, pool in pools.items()}
    state.close()
    assert {n: v.closed for n, v in held.items()} == {n: 1 for n in pools}


def test_the_model_listing_sees_a_model_that_appears_after_start_up(make_client, monkeypatch, tmp_path):
    from clearsight.models.registry import all_specs, locate

    monkeypatch.setenv("CLEARSIGHT_MODELS_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    spec = next(s for s in all_specs() if s.kind == "built" and not s.optional)
    c, key = make_client()
    rows = {r["name"]: r for r in c.get("/v1/models", headers=key("auditor")).json()}
    assert not rows[spec.name]["checksum_ok"] and "not found" in rows[spec.name]["problem"]
    path = locate(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not the model")  # a file appears (a build, or here a wrong one)
    rows = {r["name"]: r for r in c.get("/v1/models", headers=key("auditor")).json()}
    assert rows[spec.name]["size"] == len(b"not the model") and "differs" in rows[spec.name]["problem"]
