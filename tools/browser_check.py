"""Open the built book's pages in headless Chromium, offline, and check what a reader sees.

Every request not to the local server is aborted, as in a classroom without internet. On every
chapter page (``notebooks/NN-*.html``) and every ``book/`` page (the intro's Shapley primer
first): every ``<img>`` loaded (non-zero natural size), no Python traceback is shown, and the math
rendered (no raw ``\\(``, ``\\)``, ``\\[`` or ``$$`` in the visible text, MathJax output in
every formula). On chapter pages also: at least one image, and the Colab and Binder launch buttons
point at the chapter's paired ``.ipynb`` on the branch that ``_config.yml`` names. One full-page
screenshot per page is saved.

With ``--notebooks DIR``, each paired ``.ipynb`` of ``DIR`` is also rendered the way a student
opens it in Jupyter, unexecuted (nbconvert's ``lab`` template), and opened offline: no MyST
markup may show as text, and no solution may be shown open (they are folded in ``<details>``);
one screenshot each (``notebook-NAME.png``). Usage::

    python tools/browser_check.py _build/html _build/screenshots --notebooks notebooks
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
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RAW_TEX = ("\\(", "\\)", "\\[", "$$")  # what MathJax would have replaced
MYST_MARKERS = (":::", "{doc}`", "{cite}`", "{term}`", ":class:", ":label:", "```{")
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
    return sorted(p.stem for p in (html_root / "notebooks").glob("*.html"))


def book_pages(html_root: Path) -> list[str]:
    """Built pages of ``book/`` without ``.html``, ``book/intro`` (the Shapley primer) first."""
    found = sorted(f"book/{p.stem}" for p in (html_root / "book").glob("*.html"))
    return sorted(found, key=lambda name: name != "book/intro")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


def _serve(html_root: Path):
    handler = functools.partial(_QuietHandler, directory=str(html_root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Offline:
    """A ``page.route`` handler: every request not to ``origin`` is aborted, as with no internet.

    Parameters
    ----------
    origin : str
        The local server's URL prefix, e.g. ``http://127.0.0.1:8000/``.
    """

    def __init__(self, origin: str):
        self.origin = origin
        self.blocked: list[str] = []

    def __call__(self, route):
        url = route.request.url
        if url.startswith(self.origin):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")


_PAGE_FACTS = """() => ({
    images: [...document.images].map(i => ({src: i.getAttribute('src'), ok: i.complete
             && i.naturalWidth > 0 && i.naturalHeight > 0})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    text: document.body.innerText,
})"""

# After MathJax's first typeset (when it loaded): the visible text outside code and typeset math,
# the formulas Sphinx marked (class "math") and how many hold MathJax output.
_MATH_FACTS = """async () => {
    const startup = window.MathJax && window.MathJax.startup;
    if (startup && startup.promise) await startup.promise.catch(() => null);
    const skip = 'pre, code, script, style, textarea, mjx-container';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const text = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement;
        if (parent && !parent.closest(skip) && parent.checkVisibility()) text.push(node.data);
    }
    const formulas = [...document.querySelectorAll('.math')];
    return {prose: text.join('\\n'), formulas: formulas.length,
            typeset: document.querySelectorAll('mjx-container').length,
            untypeset: formulas.filter(f => !f.querySelector('mjx-container')).length};
}"""


def math_problems(facts: dict) -> list[str]:
    """Math a reader would see unrendered: raw TeX delimiters, formulas without MathJax output.

    Parameters
    ----------
    facts : dict
        ``prose``, ``formulas``, ``typeset`` and ``untypeset`` as ``_MATH_FACTS`` returns them.

    Returns
    -------
    list of str
        The problems (empty when the math rendered or there is none).
    """
    prose = facts["prose"]
    raw = [delimiter for delimiter in RAW_TEX if delimiter in prose]
    problems = []
    if raw:
        at = min(prose.index(delimiter) for delimiter in raw)
        shown = " ".join(prose[max(at - 30, 0) : at + 50].split())
        problems.append(f"raw TeX {' '.join(raw)} in the visible text: '{shown}'")
    if (raw or facts["formulas"]) and not facts["typeset"]:
        problems.append(
            "math but no MathJax output (no mjx-container) with the network off: is MathJax "
            "served from _static/mathjax (sphinx-mathjax-offline in _config.yml)?"
        )
    elif facts["untypeset"]:
        problems.append(f"{facts['untypeset']} of {facts['formulas']} formulas not typeset")
    return problems


def check_page(page, url: str, chapter: str | None, shot: Path) -> list[str]:
    """Problems found on one page (empty when it is fine); ``chapter`` None for a book page."""
    page.goto(url, wait_until="load")
    page.wait_for_function("[...document.images].every(i => i.complete)", timeout=30_000)
    problems = math_problems(page.evaluate(_MATH_FACTS))
    facts = page.evaluate(_PAGE_FACTS)
    page.screenshot(path=str(shot), full_page=True)
    problems += [f"image did not load: {i['src']}" for i in facts["images"] if not i["ok"]]
    problems += [f"page shows '{m}'" for m in TRACEBACK_MARKERS if m in facts["text"]]
    if chapter is None:
        return problems
    if not facts["images"]:
        problems.append("the page shows no image at all")
    for kind, expected in expected_launch_urls(chapter).items():
        if expected not in facts["links"]:
            found = [link for link in facts["links"] if kind in link]
            problems.append(f"no {kind} button to {expected} (found {found})")
    return problems


def _check_pages(page, origin: str, names: list[str], shots: Path) -> int:
    """Check each page (``notebooks/NN-slug`` or ``book/...``), print its report; failures."""
    offline = Offline(origin)
    page.route("**/*", offline)
    failures = 0
    for name in names:
        chapter = name.split("/", 1)[1] if name.startswith("notebooks/") else None
        shot = shots / f"{chapter or name.replace('/', '-')}.png"
        offline.blocked.clear()
        problems = check_page(page, f"{origin}{name}.html", chapter, shot)
        print(f"{'FAIL' if problems else 'ok  '} {chapter or name}: screenshot {shot}")
        for problem in problems:
            print(f"     - {problem}")
        for url in offline.blocked:
            print(f"     (blocked, offline: {url})")
        failures += bool(problems)
    return failures


def render_notebooks(folder: Path, out: Path) -> list[str]:
    """Render each ``.ipynb`` of ``folder`` unexecuted, as Jupyter shows it, into ``out``.

    Returns
    -------
    list of str
        The notebook names (``out / f"{name}.html"`` written for each).
    """
    import nbformat
    from nbconvert import HTMLExporter

    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    names = []
    for path in sorted(Path(folder).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            # JupyterLab folds an input marked source_hidden (Colab: cellView form); the
            # static template ignores the mark, so fold it here as the student sees it
            if cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"):
                cell.metadata["transient"] = {"remove_source": True}
        body, _ = exporter.from_notebook_node(notebook)
        (out / f"{path.stem}.html").write_text(body)
        names.append(path.stem)
    return names


_VIEW_FACTS = """() => ({
    text: document.body.innerText,
    folded: document.querySelectorAll('details').length,
    open: document.querySelectorAll('details[open]').length,
    solutions: [...document.querySelectorAll('h4')]
        .filter(h => h.textContent.trim().startsWith('Solution')).length,
})"""


def notebook_view_problems(facts: dict) -> list[str]:
    """What a student would see wrong in a rendered notebook (empty when fine).

    Parameters
    ----------
    facts : dict
        ``text`` (the visible text), ``folded`` and ``open`` (``<details>`` elements, all and
        open) and ``solutions`` ("Solution" headings), as ``_VIEW_FACTS`` returns them.
    """
    problems = [f"MyST markup shown as text: {m!r}" for m in MYST_MARKERS if m in facts["text"]]
    if "@title Solution" in facts["text"]:
        problems.append("a solution's code is shown, not folded (source_hidden)")
    if facts["open"]:
        problems.append(f"{facts['open']} folded block(s) shown open")
    if facts["solutions"] and not facts["folded"]:
        problems.append(f"{facts['solutions']} solution(s) and none folded in <details>")
    return problems


def _check_notebook_views(browser, folder: Path, shots: Path) -> tuple[int, int]:
    """Render and check every notebook of ``folder``; (how many, how many failed)."""
    names = render_notebooks(folder, shots / "notebook-views")
    server = _serve(shots / "notebook-views")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    origin = f"http://127.0.0.1:{server.server_port}/"
    page.route("**/*", Offline(origin))
    failures = 0
    try:
        for name in names:
            page.goto(f"{origin}{name}.html", wait_until="load")
            problems = notebook_view_problems(page.evaluate(_VIEW_FACTS))
            shot = shots / f"notebook-{name}.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"{'FAIL' if problems else 'ok  '} {name}.ipynb as Jupyter shows it: {shot}")
            for problem in problems:
                print(f"     - {problem}")
            failures += bool(problems)
    finally:
        page.close()
        server.shutdown()
    return len(names), failures


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--which-browser"]:
        return which_browser()
    notebooks = None
    if "--notebooks" in args:
        at = args.index("--notebooks")
        notebooks = Path(args[at + 1])
        del args[at : at + 2]
    html_root = Path(args[0] if args else "_build/html")
    shots = Path(args[1] if len(args) > 1 else "_build/screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    names = [f"notebooks/{name}" for name in chapters(html_root)]
    if not names:
        print(f"no chapter pages under {html_root}/notebooks: build the book first")
        return 1
    names += book_pages(html_root)
    server = _serve(html_root)
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            origin = f"http://127.0.0.1:{server.server_port}/"
            failures = _check_pages(page, origin, names, shots)
            total = len(names)
            if notebooks is not None:
                views, view_failures = _check_notebook_views(browser, notebooks, shots)
                total, failures = total + views, failures + view_failures
            browser.close()
    except BrowserMissing as missing:
        print(missing, file=sys.stderr)
        return 1
    finally:
        server.shutdown()
    print(f"{total - failures} of {total} pages passed the browser check (offline)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
