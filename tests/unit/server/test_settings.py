import pytest

from clearsight.config import Settings
from clearsight.server.settings import ServerSettings, server_settings

pytestmark = pytest.mark.unit


def test_env_configures_the_service_before_settings_nests_it(monkeypatch):
    monkeypatch.setenv("CLEARSIGHT_SERVER__MAX_REQUEST_BYTES", "1234")
    monkeypatch.setenv("CLEARSIGHT_SERVER__RATE_LIMITS__CLIENT", "7")
    monkeypatch.setenv("CLEARSIGHT_SERVER__CORS_ORIGINS", '["https://a.example"]')
    s = server_settings(Settings())
    assert s.max_request_bytes == 1234 and s.rate_limits.client == 7 and s.cors_origins == ["https://a.example"]


def test_nested_settings_win_once_wired():
    class Wired(Settings):
        server: ServerSettings = ServerSettings(port=9999)

    assert server_settings(Wired()).port == 9999
