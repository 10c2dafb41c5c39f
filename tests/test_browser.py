"""A real browser (Debian's Chromium driven by Playwright) uses the studio like a person would."""
import shutil

import pytest

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def studio_url(studio):
    from studio.ui import StudioHandlers, build_ui

    demo = build_ui(StudioHandlers(studio))
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield url
    demo.close()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_upload_type_a_script_and_watch_the_video(studio_url, photo_path, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(studio_url, wait_until="networkidle")
            page.locator("input[data-testid='file-upload']").first.set_input_files(str(photo_path))
            page.locator("[data-testid='image'] img").first.wait_for(timeout=30_000)
            page.get_by_label("Script").fill("Hello from the browser test.")
            page.get_by_role("button", name="Generate").first.click()
            video = page.locator("video[src]").first
            video.wait_for(timeout=120_000)
            page.wait_for_function(
                "() => { const v = document.querySelector('video[src]');"
                " return v && v.readyState >= 1 && v.duration > 0; }", timeout=60_000)
            duration = page.evaluate("document.querySelector('video[src]').duration")
            page.screenshot(path=str(tmp_path / "studio.png"))
        finally:
            browser.close()
    assert duration > 1.0
