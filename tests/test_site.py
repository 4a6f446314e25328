"""tools.site: the static site's pages, links between chapters, and the box that says how to run a chapter.

The JavaScript assets (npm tarballs) are left out here; the browser test (``python3 tasks.py browser``) checks
the real site in Chromium.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import nbformat.v4 as v4
import pytest
from bs4 import BeautifulSoup

import tools.site as site


def write_chapter(folder: Path, name: str, *cells: object) -> None:
    nb = v4.new_notebook(cells=list(cells), metadata={"language_info": {"name": "python"}})
    (folder / name).write_text(nbformat.writes(nb))


def links(page: Path) -> dict[str, str]:
    """The page's links: rel (or class, or text) -> href."""
    soup = BeautifulSoup(page.read_text(), "html.parser")
    found = {}
    for a in soup.find_all("a", href=True):
        key = " ".join(a.get("rel") or a.get("class") or [a.get_text(strip=True)])
        found.setdefault(key, str(a["href"]))
    return found


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(site, "ASSETS", {})
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    diagram = "```mermaid\nerDiagram\n  a ||--o{ b : has\n```"
    write_chapter(notebooks, "00-welcome.ipynb", v4.new_markdown_cell(f"# Welcome and setup\n\n## Tables\n\n{diagram}"),
                  v4.new_markdown_cell("Next: [the first chapter](01-measure-first.ipynb#Why), "
                                       "[a solution](solutions/ch00_welcome.py)"))
    write_chapter(notebooks, "01-measure-first.ipynb", v4.new_markdown_cell("# Measure first\n\n## Why"),
                  v4.new_code_cell("1 + 1", outputs=[v4.new_output("execute_result", {"text/plain": "2"},
                                                                    execution_count=1)], execution_count=1))
    out = tmp_path / "site"
    pages = site.build_site(out, notebooks, repo="https://github.com/owner/course", cache=tmp_path / "cache")
    assert [p.name for p in pages] == ["index.html", "00-welcome.html", "01-measure-first.html"]
    return out


def test_the_contents_page_lists_the_chapters_and_the_planned_ones(built: Path) -> None:
    index = (built / "index.html").read_text()
    assert 'href="00-welcome.html"' in index and 'href="01-measure-first.html"' in index
    assert "(coming soon)" in index  # chapters that do not exist yet are listed, unlinked


def test_a_chapter_links_its_neighbours_and_says_how_to_run_it(built: Path) -> None:
    found = links(built / "00-welcome.html")
    assert found["next"] == "01-measure-first.html" and found["prev"] == "index.html"
    assert found["perflab-home"] == "index.html"
    binder = "https://mybinder.org/v2/gh/owner/course/main?urlpath=lab/tree/notebooks/00-welcome.ipynb"
    assert found["perflab-binder"] == binder
    page = (built / "00-welcome.html").read_text()
    assert "python3 tasks.py course" in page and "python3 tasks.py test" in page
    assert "prev" not in links(built / "index.html")
    assert links(built / "01-measure-first.html")["prev"] == "00-welcome.html"


def test_links_to_chapters_point_at_pages_and_other_files_at_the_repository(built: Path) -> None:
    found = links(built / "00-welcome.html")
    assert found["the first chapter"] == "01-measure-first.html#Why"
    assert found["a solution"] == "https://github.com/owner/course/blob/main/notebooks/solutions/ch00_welcome.py"
    assert not [h for h in found.values() if h.endswith(".ipynb") and not h.startswith("https://")]


def test_only_pages_with_a_diagram_load_mermaid_and_nothing_comes_from_a_cdn(built: Path) -> None:
    welcome, measure = (built / "00-welcome.html").read_text(), (built / "01-measure-first.html").read_text()
    assert re.search(r'<script[^>]+src="assets/mermaid.min.js"', welcome) and 'class="jp-Mermaid"' in welcome
    assert "mermaid.min.js" not in measure
    for page in (welcome, measure):
        assert not re.search(r'<script[^>]+src="https?://', page), "scripts load from the site, not a CDN"


def test_a_tarball_that_does_not_match_its_pin_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site, "ASSETS", {"left-pad@1.3.0": ("sha512-not-this", r"index\.js")})
    (tmp_path / "left-pad-1.3.0.tgz").write_bytes(b"tampered")
    with pytest.raises(SystemExit, match="does not match its pinned integrity"):
        site.fetch_assets(tmp_path / "assets", tmp_path)
    assert not (tmp_path / "left-pad-1.3.0.tgz").exists()


def test_a_folder_that_is_not_a_built_site_is_never_emptied(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not a site this command built"):
        site.build_site(tmp_path, tmp_path / "notebooks", repo="https://github.com/owner/course")
    assert (tmp_path / "notes.txt").read_text() == "keep me"
