"""The portal in a real browser: Playwright drives Debian's chromium (headless, no sandbox)."""

from __future__ import annotations

import pytest

from .api_bundles import people, write_bundle, zip_dir

pytestmark = pytest.mark.browser
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, server, tmp_path):
    ctx = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    problems: list[str] = []
    pg.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.problems = problems
    pg.shots = tmp_path
    yield pg
    ctx.close()
    assert not problems, problems


def visit(page, path: str, shot: str) -> None:
    r = page.goto(path)
    assert r is not None and r.status == 200, f"{path}: {r.status if r else None}"
    page.screenshot(path=str(page.shots / f"{shot}.png"), full_page=True)


def test_every_page_renders(page, client):
    rid = client.get("/api/v1/releases").json()["data"][-1]["release_id"]
    visit(page, "/", "overview")
    assert page.locator("#overview-charts svg").count() == 4
    text = page.locator("#overview-charts").inner_text()
    assert "SITEA" in text and "33" in text and "Participants by ancestry" in text
    visit(page, "/releases", "releases")
    page.click(f"text={rid}")
    page.wait_for_url(f"**/releases/{rid}")
    assert "91 participants" in page.locator("#datasheet-total").inner_text()
    site_sex = page.locator("#site-sex").inner_text()
    assert "<5*" in site_sex and "20" in site_sex  # SITEA women hidden, SITEB women shown
    page.screenshot(path=str(page.shots / "release.png"), full_page=True)
    visit(page, "/features", "features")
    page.fill("input[name=q]", "CL:0000084")
    page.click("button:has-text('Search')")
    page.click("#features a:has-text('t_cell')")
    page.wait_for_url("**/features/cytof_pbmc/t_cell")
    layers = page.locator("#layers section").evaluate_all("els => els.map(e => e.dataset.layer)")
    assert "raw" in layers and "harmonized" in layers  # raw beside harmonised
    assert page.locator("#layers svg").count() == len(layers)
    page.screenshot(path=str(page.shots / "feature.png"), full_page=True)
    visit(page, "/models", "models")
    visit(page, "/submit", "submit")


def test_submission_page_shows_validation_report(page, tokens, tmp_path):
    bad = write_bundle(
        tmp_path / "bad", site="SITEB", rows=people("BRW", female=5, male=5, seed=9), seed=9
    )
    lines = (bad / "samples.csv").read_text().splitlines()
    lines[3] = lines[3].replace(",0,", ",zero,")
    (bad / "samples.csv").write_text("\n".join(lines) + "\n")
    bad_zip = zip_dir(bad, tmp_path / "bad.zip")
    visit(page, "/submit", "submit-empty")
    page.fill("#token", tokens["submitter_b"])
    page.set_input_files("#bundle", str(bad_zip))
    page.click("#submit-button")
    page.wait_for_selector("#report")
    assert "Invalid" in page.locator("#verdict").inner_text()
    row = page.locator("#report tbody tr").first.inner_text()
    assert "samples.csv" in row and "day" in row and "4" in row
    page.screenshot(path=str(page.shots / "submit-invalid.png"), full_page=True)

    good = zip_dir(
        write_bundle(
            tmp_path / "good", site="SITEB", rows=people("BRW", female=5, male=5, seed=9), seed=9
        ),
        tmp_path / "good.zip",
    )
    page.fill("#token", tokens["submitter_b"])
    page.set_input_files("#bundle", str(good))
    page.check("#action-submit")
    page.click("#submit-button")
    page.wait_for_selector("#result")
    assert "SITEB" in page.locator("#result").inner_text()
    assert "Valid" in page.locator("#verdict").inner_text()
    page.screenshot(path=str(page.shots / "submit-ok.png"), full_page=True)


def test_prediction_page_upload(page, model_name, tmp_path, prediction_csv):
    visit(page, "/predict", "predict-empty")
    page.select_option("#model", model_name)
    page.set_input_files("#file", str(prediction_csv))
    page.click("#predict-submit")
    page.wait_for_selector("#predictions")
    n = page.locator("#predictions tbody tr").count()
    assert n == len(prediction_csv.read_text().splitlines()) - 1
    assert page.locator("#prediction-chart svg rect").count() > 0
    page.screenshot(path=str(page.shots / "predict.png"), full_page=True)
    visit(page, f"/models/{model_name}", "model-card")
