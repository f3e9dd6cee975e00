"""Open every chapter page of the built book in headless Chromium and check what a reader sees.

For each page: every ``<img>`` loaded (non-zero natural size), no Python traceback is shown, and
the Colab and Binder launch buttons point at the chapter's paired ``.ipynb`` on the branch that
``_config.yml`` names. One full-page screenshot per chapter is saved. Usage::

    python tools/browser_check.py _build/html _build/screenshots
    python tools/browser_check.py --which-browser   # the Chromium it would use, or how to get one

The browser is a system Chromium found on ``PATH`` (one of ``BROWSERS``), else Playwright's own
(``.venv/bin/playwright install chromium``, no root needed); without either it stops with an error
naming that command.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import threading
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
INSTALL_HINT = ".venv/bin/playwright install chromium"
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


class BrowserMissing(RuntimeError):
    """No Chromium to run the check in; the message names the command that installs one."""


def system_browser(path: str | None = None) -> str | None:
    """The first of ``BROWSERS`` on ``PATH``, or None.

    Parameters
    ----------
    path : str, optional
        A ``PATH``-like search list; the environment's ``PATH`` when None.

    Returns
    -------
    str or None
        The executable's full path.
    """
    for name in BROWSERS:
        found = shutil.which(name, path=path)
        if found:
            return found
    return None


def pick_browser(bundled: str, path: str | None = None) -> str | None:
    """The ``executable_path`` to launch: a system Chromium, else None for Playwright's own.

    Parameters
    ----------
    bundled : str
        Where Playwright's own Chromium lives (``playwright.chromium.executable_path``).
    path : str, optional
        A ``PATH``-like search list; the environment's ``PATH`` when None.

    Raises
    ------
    BrowserMissing
        When there is neither; the message names ``INSTALL_HINT``.
    """
    found = system_browser(path)
    if found or Path(bundled).exists():
        return found
    raise BrowserMissing(
        f"no Chromium for the browser check: none of {', '.join(BROWSERS)} is on PATH and "
        f"Playwright's own is not installed ({bundled}). Run `{INSTALL_HINT}` "
        "(no root needed) or `make browser-deps`."
    )


def launch(playwright):
    """Launch headless Chromium (see ``pick_browser``); a missing browser is ``BrowserMissing``."""
    from playwright.sync_api import Error

    executable = pick_browser(playwright.chromium.executable_path)
    try:
        return playwright.chromium.launch(executable_path=executable, args=FLAGS)
    except Error as error:
        if executable is None and "Executable doesn't exist" in str(error):
            message = f"Playwright's Chromium is incomplete: run `{INSTALL_HINT}`"
            raise BrowserMissing(message) from None
        raise


def which_browser() -> int:
    """Print the Chromium the check would use (exit status 0), or how to install one (1)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        bundled = playwright.chromium.executable_path
        try:
            print(pick_browser(bundled) or f"Playwright's own: {bundled}")
        except BrowserMissing as missing:
            print(missing, file=sys.stderr)
            return 1
    return 0


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
    if args[:1] == ["--which-browser"]:
        return which_browser()
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
            browser = launch(playwright)
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
    except BrowserMissing as missing:
        print(missing, file=sys.stderr)
        return 1
    finally:
        server.shutdown()
    print(f"{len(names) - len(failures)} of {len(names)} chapter pages passed the browser check")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
