"""Property-based fuzzing of the whole API from its OpenAPI schema (bounded for CI).

Every operation gets generated (valid and invalid) requests as an admin: no 500s,
every error is problem+json, responses match their documented schemas.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import checks  # noqa: E402

from clearsight.config import Settings  # noqa: E402
from clearsight.server import create_app  # noqa: E402
from clearsight.settings import RateLimits, ServerSettings  # noqa: E402

pytestmark = pytest.mark.integration

_state: dict = {}


def _app():
    import tempfile
    from pathlib import Path

    if "app" not in _state:
        import atexit
        import shutil

        data = Path(tempfile.mkdtemp(prefix="clearsight-st-"))
        atexit.register(shutil.rmtree, data, True)
        settings = Settings(data_dir=data, models_dir=Settings().model_dir)
        # generous budgets: the fuzzer is not testing the rate limiter
        app = create_app(settings, ServerSettings(warmup=False, rate_limits=RateLimits(admin=1_000_000)))
        _, plain = app.state.clearsight.keys.create("admin", "schemathesis")
        _state.update(app=app, key=plain)
    return _state["app"]


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schemathesis.check
def problem_json_errors(ctx, response, case):
    """Every 4xx/5xx is application/problem+json with status and code."""
    if response.status_code >= 400:
        ctype = response.headers.get("content-type", [""])
        ctype = ctype[0] if isinstance(ctype, list) else ctype
        assert ctype.startswith("application/problem+json"), f"{response.status_code} with {ctype}"
        body = response.json()
        assert body["status"] == response.status_code and body["code"], body
        assert "Traceback" not in response.text


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_never_500_and_errors_are_problems(case):
    used = [checks.content_type_conformance, checks.response_schema_conformance, problem_json_errors]
    if case.path != "/readyz":  # 503 there is the documented "still loading" answer, not a failure
        used.append(checks.not_a_server_error)
    case.call_and_validate(headers={"Authorization": f"Bearer {_state['key']}"}, checks=used)
