"""The People page in a real browser (Debian chromium via Playwright) against a real
service over a library imported from real photos: a grid of faces (anonymous people),
a person's photos, naming with a basis (refused without one), and merging two people
from the page. Screenshots go to artifacts/e2e/."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import data_path
from tests.e2e.conftest import sign_in
from tests.e2e.test_console import _shot
from tests.live_server import running_app

pytestmark = pytest.mark.e2e

PHOTOS = (("Colin_Powell", 1), ("Colin_Powell", 2), ("Tony_Blair", 1))


@pytest.fixture
def people_service(tmp_path):
    from clearsight.apps.photos import PhotoLibrary
    from clearsight.config import Settings
    from clearsight.server.app import create_app
    from clearsight.settings import ServerSettings

    root = tmp_path / "Pictures"
    root.mkdir()
    for name, n in PHOTOS:
        shutil.copyfile(data_path("faces", "lfw_gray", "images", name, f"{name}_{n:04d}.jpg"), root / f"{name}_{n}.jpg")
    settings = Settings(data_dir=tmp_path / "data", secrets_dir=tmp_path / "keys", models_dir=Settings().model_dir)
    with PhotoLibrary.open(settings) as lib:
        lib.import_dir(root, actor="e2e")
        people = {p["photos"][0].rsplit("/", 1)[-1].split("_")[0]: p for p in lib.people_with_photos()}
    assert set(people) == {"Colin", "Tony"}
    app = create_app(settings, ServerSettings(warmup=False))
    _, key = app.state.clearsight.keys.create("operator", "people e2e")
    with running_app(app) as base:
        yield base, key, people


def test_people_page(people_service, browser):
    base, key, people = people_service
    ctx = browser.new_context(viewport={"width": 1200, "height": 900})
    page = ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "status of 4" not in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, base, key)
    page.get_by_role("link", name="People").click()

    # a grid of faces: two anonymous people, the face crops load
    grid = page.locator(".pp-grid li.pp-person")
    grid.first.wait_for(timeout=15_000)
    assert grid.count() == 2
    page.wait_for_function("() => [...document.querySelectorAll('.pp-face')].every((i) => i.naturalWidth >= 64)",
                           timeout=15_000)
    colin = people["Colin"]["person_id"]
    assert page.locator(f"li[data-person='{colin}'] small").inner_text() == "2 photos"
    _shot(page, "people-grid")

    # a person's photos; naming needs a basis, then the name shows
    page.locator(f"li[data-person='{colin}'] a").click()
    page.locator(".pp-photo img").first.wait_for(timeout=10_000)
    assert page.locator(".pp-photo").count() == 2
    page.get_by_label("name").fill("Colin Powell")
    page.get_by_label("consent or legal basis").fill("")
    page.get_by_role("button", name="Name").click()
    assert page.locator("#pp-title").inner_text() != "Colin Powell"  # the browser refuses an empty basis
    page.get_by_label("consent or legal basis").fill("consent given 2026-12-03")
    page.get_by_role("button", name="Name").click()
    page.wait_for_function("() => document.querySelector('#pp-title')?.textContent === 'Colin Powell'",
                           timeout=10_000)
    page.wait_for_function("() => document.querySelectorAll('.pp-thumb').length === 2 && "
                           "[...document.querySelectorAll('.pp-thumb')].every((i) => i.naturalWidth > 100)",
                           timeout=10_000)
    _shot(page, "people-person")

    # merge Tony's cluster into Colin's (a user correcting the library): one person, three photos
    page.get_by_label("merge with").select_option(people["Tony"]["person_id"])
    page.get_by_role("button", name="Merge into this person").click()
    page.wait_for_function("() => document.querySelectorAll('.pp-photo').length === 3", timeout=10_000)
    page.get_by_role("link", name="← All people").click()
    page.wait_for_function("() => document.querySelectorAll('.pp-grid li.pp-person').length === 1", timeout=10_000)
    assert "Colin Powell" in page.locator(".pp-grid").inner_text()
    assert problems == []
    ctx.close()
