"""Open every chapter page of the built book in headless Chromium and check what a reader sees.

For each page: every ``<img>`` loaded (non-zero natural size), no Python traceback is shown, and
the Colab and Binder launch buttons point at the chapter's paired ``.ipynb`` on the branch that
``_config.yml`` names. One full-page screenshot per chapter is saved. Usage::

    python tools/browser_check.py _build/html _build/screenshots
"""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TRACEBACK_MARKERS = ("Traceback (most recent call last)", "Error executing notebook")


def expected_launch_urls(chapter: str, config_path: Path = REPO / "_config.yml") -> dict:
    """The Colab and Binder URLs a chapter page must link to, from ``_config.yml`` alone."""
    config = yaml.safe_load(config_path.read_text())
    repo_url = config["repository"]["url"].rstrip("/")
    branch = config["repository"].get("branch", "main")
    owner_repo = repo_url.split("github.com/")[1]
    notebook = f"notebooks/{chapter}.ipynb"
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    binder = config["launch_buttons"]["binderhub_url"].rstrip("/")
    return {
        "colab": f"{colab}/github/{owner_repo}/blob/{branch}/{notebook}",
        "binder": f"{binder}/v2/gh/{owner_repo}/{branch}?urlpath=tree/{notebook}",
    }


def chapters(html_root: Path) -> list[str]:
    """Chapter names (``NN-slug``) that have a built page."""
    return sorted(p.stem for p in (html_root / "notebooks").glob("[0-9][0-9]-*.html"))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


def _serve(html_root: Path):
    handler = functools.partial(_QuietHandler, directory=str(html_root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


_PAGE_FACTS = """() => ({
    images: [...document.images].map(i => ({src: i.getAttribute('src'), ok: i.complete
             && i.naturalWidth > 0 && i.naturalHeight > 0})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    text: document.body.innerText,
})"""


def check_page(page, url: str, chapter: str, shot: Path) -> list[str]:
    """Problems found on one chapter page (empty when it is fine)."""
    page.goto(url, wait_until="load")
    page.wait_for_function("[...document.images].every(i => i.complete)", timeout=30_000)
    facts = page.evaluate(_PAGE_FACTS)
    page.screenshot(path=str(shot), full_page=True)
    problems = [f"image did not load: {i['src']}" for i in facts["images"] if not i["ok"]]
    if not facts["images"]:
        problems.append("the page shows no image at all")
    problems += [f"page shows '{m}'" for m in TRACEBACK_MARKERS if m in facts["text"]]
    for kind, expected in expected_launch_urls(chapter).items():
        if expected not in facts["links"]:
            found = [link for link in facts["links"] if kind in link]
            problems.append(f"no {kind} button to {expected} (found {found})")
    return problems


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    args = sys.argv[1:] if argv is None else argv
    html_root = Path(args[0] if args else "_build/html")
    shots = Path(args[1] if len(args) > 1 else "_build/screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    names = chapters(html_root)
    if not names:
        print(f"no chapter pages under {html_root}/notebooks: build the book first")
        return 1
    server = _serve(html_root)
    failures = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for name in names:
                url = f"http://127.0.0.1:{server.server_port}/notebooks/{name}.html"
                problems = check_page(page, url, name, shots / f"{name}.png")
                print(f"{'FAIL' if problems else 'ok  '} {name}: screenshot {shots / name}.png")
                for problem in problems:
                    print(f"     - {problem}")
                if problems:
                    failures[name] = problems
            browser.close()
    finally:
        server.shutdown()
    print(f"{len(names) - len(failures)} of {len(names)} chapter pages passed the browser check")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
