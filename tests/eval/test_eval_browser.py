"""The Datasets page and the per-example compare view in a real browser: Debian's headless
Chromium driven by Playwright, against ``chaintrack ui`` running as a real process over a store
filled by ``chaintrack demo eval`` and by experiments whose every text carries markup that must
not run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eval_helpers import free_port

CHROMIUM = os.environ.get("CHAINTRACK_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]  # fmt: skip
WAIT = 60.0
if not Path(CHROMIUM).exists():
    pytest.skip(f"the browser tests need Debian's chromium at {CHROMIUM}",
                allow_module_level=True)  # fmt: skip
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]'")

XSS = "<script>window.__xss='script'</script><img src=x onerror=\"window.__xss='img'\">"
MAKE_XSS = """
import json
from chaintrack import Dataset, evaluate
XSS = {xss!r}
ds = Dataset.create("xss " + XSS, "xss").add_rows([
    {{"id": "x1", "inputs": {{"q": XSS}}, "expected": XSS, "metadata": {{"m": XSS}}}}]).finalize()
def bad(output):
    raise ValueError(XSS)
ids = [evaluate(lambda i: XSS + str(n), ds, {{"echo " + XSS: lambda output: 1.0, "bad": bad}},
                experiment_name="exp " + XSS, progress=False).id for n in range(2)]
print(json.dumps({{"dataset": ds.id, "experiments": ids}}))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("eval-browser") / "home"
    env = {**os.environ, "CHAINTRACK_HOME": str(home), "CHAINTRACK_AUTO_CONNECT_STREAMS": "0"}
    for variable in ("CHAINTRACK_TRACKING_URI", "CHAINTRACK_AUTH_TOKEN", "OPENAI_API_KEY"):
        env.pop(variable, None)

    def run(*command: str) -> str:
        done = subprocess.run([sys.executable, *command], env=env, capture_output=True,
                              text=True, timeout=180)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    demo = run("-m", "chaintrack.cli", "demo", "eval")
    xss = json.loads(run("-c", MAKE_XSS.format(xss=XSS)).strip().splitlines()[-1])
    port = free_port()
    log_path = home.parent / "ui.log"
    with log_path.open("w") as log:
        command = [sys.executable, "-m", "chaintrack.cli", "ui", "--port", str(port)]
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + WAIT
        while True:
            try:
                if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "chaintrack ui did not start"
            time.sleep(0.1)
        try:
            yield {"base": base, "demo": demo, "xss": xss}
        finally:
            server.terminate()
            server.wait(WAIT)


@pytest.fixture
def page(site: dict[str, Any]) -> Iterator[Any]:
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        tab.on("dialog", lambda d: (problems.append(f"dialog {d.message}"), d.dismiss()))
        tab.base = site["base"]
        yield tab
        browser.close()
    assert problems == []


def test_from_the_datasets_page_to_the_comparison_of_two_prompt_versions(page: Any) -> None:
    page.goto(page.base + "/datasets")
    page.get_by_role("link", name="1.0.0").first.wait_for()
    row = page.locator("#datasets tbody tr").filter(has_text="support-questions")
    assert row.locator("td").nth(3).inner_text() == "20"
    row.get_by_role("link", name="1.0.0").click()
    assert page.locator("#rows tbody tr").count() == 20
    assert "How do I get a refund" in page.locator("#rows").inner_text()
    assert page.locator("#experiments tbody tr").count() == 2
    page.locator("#compare-selected").click()

    assert page.locator("h1").inner_text() == "Compare 2 experiments"
    assert page.locator("#compare-examples tbody tr").count() == 20
    page.locator(".eval-chart[data-drawn='true']").first.wait_for()
    assert page.locator(".eval-chart[data-drawn='true']").count() >= 4  # each score, measures
    # "where did v2 get worse?": the judge's score, sorted by delta
    page.locator("#score").select_option("judge")
    page.locator("#filter").select_option("worse")
    page.wait_for_url("**filter=worse**")
    rows = page.locator("#compare-examples tbody tr")
    assert [rows.nth(i).get_attribute("data-example") for i in range(rows.count())] == [
        "warranty-1", "address-2"]  # fmt: skip
    assert rows.first.locator(".delta.worse[data-score='judge']").inner_text() == "judge: -4"
    first = rows.first.locator("td.result")
    assert "The warranty lasts 2 years." in first.nth(0).inner_text()
    assert "covers defects for 1 year" in first.nth(1).inner_text()
    assert "unknown" in first.nth(0).locator(".measures").inner_text()  # no price: not $0

    rows.first.locator("a.diff-link").click()
    diff = page.locator("#trace-diff tbody tr")
    assert diff.count() == 4
    changed = page.locator("#trace-diff tr.changed")
    assert changed.count() >= 2 and "output" in changed.first.locator(".changed").inner_text()
    page.go_back()
    page.locator("#compare-examples tbody tr").first.locator("a.trace-link").first.click()
    assert page.locator("#trace details.span").count() == 4
    assert "warranty" in page.locator("#trace").inner_text()


def test_untrusted_text_is_shown_never_run(page: Any, site: dict[str, Any]) -> None:
    ids = site["xss"]["experiments"]
    page.goto(page.base + f"/experiments/compare?ids={ids[0]}&ids={ids[1]}")
    table = page.locator("#compare-examples").inner_text()
    assert XSS + "0" in table and XSS + "1" in table
    assert page.locator("#compare-examples .status-failed").count() == 2  # the bad scorer
    page.goto(page.base + f"/datasets/{site['xss']['dataset']}")
    assert XSS in page.locator("#rows").inner_text()
    page.goto(page.base + "/datasets")
    assert "xss " + XSS in page.locator("#datasets").inner_text()
    assert page.evaluate("window.__xss") is None
