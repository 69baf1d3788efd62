import pytest

from clearsight.config import Settings

pytestmark = pytest.mark.unit


def test_env_configures_the_service(monkeypatch):
    monkeypatch.setenv("CLEARSIGHT_SERVER__MAX_REQUEST_BYTES", "1234")
    monkeypatch.setenv("CLEARSIGHT_SERVER__RATE_LIMITS__CLIENT", "7")
    monkeypatch.setenv("CLEARSIGHT_SERVER__CORS_ORIGINS", '["https://a.example"]')
    s = Settings().server
    assert s.max_request_bytes == 1234 and s.rate_limits.client == 7 and s.cors_origins == ["https://a.example"]


def test_events_url_is_resolved_in_one_place(tmp_path, monkeypatch):
    """The CLI and the service store events in the same place: both ask Settings."""
    s = Settings(data_dir=tmp_path)
    assert s.events_database_url() == f"sqlite:///{tmp_path / 'events.db'}"
    monkeypatch.setenv("CLEARSIGHT_GALLERY__DATABASE_URL", "postgresql://u@h/db")
    assert Settings(data_dir=tmp_path).events_database_url() == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv("CLEARSIGHT_EVENTS__DATABASE_URL", "sqlite:////x/ev.db")
    assert Settings(data_dir=tmp_path).events_database_url() == "sqlite:////x/ev.db"


def test_every_user_facing_setting_is_described():
    """Every section of the settings, and every model nested in one (allow-list rules, rate limits...)."""
    from clearsight import settings
    from tests.unit.stream.test_config_descriptions import _walk

    for name in settings.__all__:
        missing = {m.__name__: names for m, names in _walk(getattr(settings, name)).items() if names}
        assert not missing, f"{name}: {missing}"
