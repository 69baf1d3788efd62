"""The console in a real browser (Debian chromium driven by Playwright) against the
real server process: sign in, enrol two people with consent, search, verify, erase
one, check the audit page. Screenshots go to artifacts/e2e/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO, data_path

pytestmark = pytest.mark.e2e

ARTIFACTS = REPO / "artifacts" / "e2e"
KNN = ("faces", "face_recognition_examples", "examples", "knn_examples")


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _enrol(page, name: str, external_id: str, photo: Path) -> None:
    page.get_by_role("button", name="Enrol a person").click()
    form = page.locator("#enrol-form")
    form.get_by_label("Full name").fill(name)
    form.get_by_label("External id").fill(external_id)
    form.locator("select[name=purpose]").select_option("access")
    form.locator("select[name=legal_basis]").select_option("consent")
    form.get_by_label("Granted by").fill(name)
    form.locator("input[name=image]").set_input_files(str(photo))
    form.get_by_label("I confirm this consent").check()
    form.get_by_role("button", name="Enrol", exact=True).click()
    page.locator("#identities tr", has_text=name).wait_for(timeout=60_000)


def test_console_tour(server, browser):
    base, key = server
    obama = data_path(*KNN, "train", "obama", "obama.jpg")
    biden = data_path(*KNN, "train", "biden", "biden.jpg")
    group = data_path(*KNN, "test", "obama_and_biden.jpg")
    obama2 = data_path(*KNN, "train", "obama", "obama2.jpg")

    ctx = browser.new_context(viewport={"width": 1280, "height": 860})
    page = ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    offsite: list[str] = []
    page.on("request", lambda r: offsite.append(r.url) if not r.url.startswith((base, "data:", "blob:")) else None)
    page.on("dialog", lambda d: d.accept())

    # sign in: a wrong key is refused, the printed admin key works
    page.goto(base + "/")
    page.get_by_label("API key").fill("cs_wrong_key")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("unknown or revoked").wait_for()
    _shot(page, "01-signin")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#nav").wait_for(state="visible")
    assert "admin" in page.locator("#whoami").inner_text()
    problems.clear()  # the browser logs the deliberate 401 above as a failed load
    nav = [a.inner_text() for a in page.locator("#nav a").all() if a.is_visible()]
    assert nav[:6] == ["Verify", "Identities", "Search", "Audit", "Models", "Keys"], nav

    # enrol two people with consent
    page.get_by_role("link", name="Identities").click()
    page.get_by_role("button", name="Enrol a person").wait_for()
    _enrol(page, "Barack Obama", "emp-001", obama)
    page.get_by_role("button", name="Enrol a person").click()
    page.locator("#enrol-form input[name=image]").set_input_files(str(biden))
    page.locator("#enrol-form").get_by_label("Full name").fill("Joe Biden")
    page.locator("#enrol-form").get_by_label("Granted by").fill("Joe Biden")
    _shot(page, "02-enrol-form")
    page.locator("#enrol-form").get_by_role("button", name="Cancel").click()
    _enrol(page, "Joe Biden", "emp-002", biden)
    rows = page.locator("#identities tbody tr")
    assert rows.count() == 2
    assert "access" in rows.first.inner_text()
    _shot(page, "03-identities")

    # search a photo of both: each face is found with its crop
    page.get_by_role("link", name="Search").click()
    page.locator("input[name=image]").set_input_files(str(group))
    page.locator("select[name=purpose]").select_option("access")
    page.get_by_role("button", name="Search", exact=True).click()
    result = page.locator("#search-result")
    result.locator("img.crop").first.wait_for(timeout=60_000)
    text = result.inner_text()
    assert "Barack Obama" in text and "Joe Biden" in text
    assert result.locator("img.crop").count() == 2
    assert result.locator(".badge.ok").count() >= 2
    _shot(page, "04-search")

    # verify two photos of the same person
    page.get_by_role("link", name="Verify").click()
    page.locator("input[name=image_a]").set_input_files(str(obama))
    page.locator("input[name=image_b]").set_input_files(str(obama2))
    page.get_by_role("button", name="Compare faces").click()
    verdict = page.locator("[data-decision]")
    verdict.wait_for(timeout=60_000)
    assert verdict.get_attribute("data-decision") == "match"
    assert "Same person" in verdict.inner_text()
    _shot(page, "05-verify")

    # erase one person
    page.get_by_role("link", name="Identities").click()
    page.get_by_role("button", name="Erase Joe Biden").click()
    page.locator("#identities tr", has_text="Joe Biden").wait_for(state="detached", timeout=30_000)
    assert page.locator("#identities tbody tr").count() == 1

    # the audit page shows all of it and the chain verifies
    page.get_by_role("link", name="Audit").click()
    table = page.locator("#audit")
    table.wait_for()
    audit = table.inner_text()
    for action in ("identity.create", "consent.grant", "search", "erase"):
        assert action in audit, action
    page.get_by_role("button", name="Verify chain").click()
    page.get_by_text("Chain intact").wait_for()
    _shot(page, "06-audit")

    page.get_by_role("link", name="Models").click()
    page.locator("#models").wait_for()
    assert page.locator("#models .badge.ok").count() >= 3
    _shot(page, "07-models")

    # an admin creates an auditor key in the console; the auditor sees only what the role allows
    page.get_by_role("link", name="Keys").click()
    page.locator("select[name=role]").select_option("auditor")
    page.get_by_label("Name").fill("DPO")
    page.get_by_role("button", name="Create key").click()
    new_key = page.locator("#new-key-value")
    new_key.wait_for()
    auditor_key = new_key.input_value()
    assert auditor_key.startswith("cs_")
    page.locator("#keys tr", has_text="DPO").wait_for()
    _shot(page, "08-keys")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("API key").fill(auditor_key)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#identities").wait_for()
    visible = [a.inner_text() for a in page.locator("#nav a").all() if a.is_visible()]
    # auditors also read the face-pay ledger (facepay:read): reconciliation is an audit task
    assert visible == ["Identities", "Audit", "Models", "Ledger"], visible
    assert page.get_by_role("button", name="Enrol a person").count() == 0
    assert page.get_by_role("button", name="Erase Barack Obama").count() == 0
    page.goto(base + "/#/search")  # a page the role may not use sends it back to an allowed one
    page.locator("#identities").wait_for()
    page.get_by_role("link", name="Audit").click()
    page.locator("#audit").wait_for()

    # narrow screens: still usable (nav wraps, nothing overflows horizontally)
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Identities").click()
    page.locator("#identities").wait_for()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    _shot(page, "09-mobile-identities")

    # the API docs render from files served locally (no CDN)
    import importlib.util

    if importlib.util.find_spec("fastapi_offline") is not None:
        page.goto(base + "/docs")
        page.locator(".swagger-ui .info").wait_for(timeout=30_000)
        assert "Clearsight" in page.locator(".swagger-ui .info").inner_text()
        _shot(page, "10-api-docs")

    assert not problems, problems  # no JS errors, no CSP violations
    assert not offsite, offsite  # nothing fetched from anywhere but this server
    ctx.close()


def test_api_docs_render_under_their_content_security_policy(server, browser):
    base, _ = server
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    for path, title in (("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")):
        response = page.goto(base + path)
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.locator(title).first.wait_for(timeout=30_000)
        assert "Clearsight" in page.locator(title).first.inner_text()
    # the only thing the policy blocks is ReDoc's logo from its CDN (the service stays offline)
    assert not [p for p in problems if "https://cdn.redoc.ly/" not in p], problems
