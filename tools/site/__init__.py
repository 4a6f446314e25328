"""The course as a static website, read without running it: ``python -m tools.site [--out build/site]``.

Every chapter is exported with nbconvert's JupyterLab HTML template from its committed notebook, outputs
included (plots, tables, saved widget state, the Mermaid diagram rendered in the browser by mermaid.js), with
a bar to the previous and next chapter, links between chapters pointing at their pages, and a box on how to
run the chapter (its Binder link and the README's two commands). ``index.html`` lists the chapters.

>>> from pathlib import Path
>>> page_name(Path("notebooks/02-n-plus-one.ipynb"))
'02-n-plus-one.html'
>>> local_links('<a href="01-measure-first.ipynb#why">', {"01-measure-first.ipynb"}, "https://x/blob/main/notebooks/")
'<a href="01-measure-first.html#why">'
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "perflab-site"
# The JavaScript the pages need, from npm (pinned, integrity-checked, fetched once into build/site-cache with
# `npm pack`): mermaid.js draws chapter 00's diagram; html-manager's embed.js draws the saved widgets (built-in
# ipywidgets only, no require.js). Each: (tarball integrity, files of the package copied to assets/).
ASSETS = {
    "mermaid@11.10.0": (
        "sha512-oQsFzPBy9xlpnGxUqLbVY8pvknLlsNIJ0NWwi8SUJjhbP1IT0E0o1lfhU4iYV3ubpy+xkzkaOyDUQMn06vQElQ==",
        r"dist/mermaid\.min\.js",
    ),
    "@jupyter-widgets/html-manager@1.0.15": (
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        r"dist/(embed\.js|embed\.js\.LICENSE\.txt|[0-9a-f]{20}\.(woff2?|ttf|eot|svg))",  # embed.js loads its fonts
    ),
}
COMMANDS = ("git clone {repo} && cd {name}\n"
            "python3 tasks.py course   # set up .venv, build the dataset, open the course in JupyterLab\n"
            "python3 tasks.py test     # every test, notebooks included")
HREF = re.compile(r'(<a\s[^>]*?href=")([^"#:]+)((?:#[^"]*)?")')


def repo_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The repository's URL: ``Source`` under ``[project.urls]`` in pyproject.toml."""
    match = re.search(r'^Source\s*=\s*"([^"]+)"', pyproject.read_text(encoding="utf-8"), re.MULTILINE)
    if not match:
        raise SystemExit(f"no Source = \"https://github.com/OWNER/NAME\" under [project.urls] in {pyproject}")
    return match.group(1).rstrip("/")


def binder_url(repo: str, notebook: str, branch: str = "main") -> str:
    """The mybinder.org link that opens ``notebooks/<notebook>`` of a GitHub repository.

    >>> binder_url("https://github.com/perflab/perflab", "00-welcome.ipynb")
    'https://mybinder.org/v2/gh/perflab/perflab/main?urlpath=lab/tree/notebooks/00-welcome.ipynb'
    """
    owner_name = repo.removeprefix("https://github.com/")
    return f"https://mybinder.org/v2/gh/{owner_name}/{branch}?urlpath=lab/tree/notebooks/{notebook}"


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch_assets(assets: Path, cache: Path) -> None:
    """Copy the pages' JavaScript into ``assets``, from npm tarballs kept in ``cache`` (``npm pack`` fetches them)."""
    cache.mkdir(parents=True, exist_ok=True)
    assets.mkdir(parents=True, exist_ok=True)
    for spec, (integrity, wanted) in ASSETS.items():
        name, version = spec.rsplit("@", 1)
        tarball = cache / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
        if not tarball.exists():
            npm = shutil.which("npm")
            if npm is None:
                raise SystemExit(f"the site needs {spec} from npm once, and there is no npm on PATH — install "
                                 "Node.js and npm (Debian/Ubuntu: apt-get install -y nodejs npm), then run again")
            subprocess.run([npm, "pack", "--silent", spec, "--pack-destination", str(cache)], check=True,
                           stdout=subprocess.DEVNULL)
        if _integrity(tarball.read_bytes()) != integrity:
            tarball.unlink()
            raise SystemExit(f"{tarball.name} does not match its pinned integrity: deleted it; run again")
        pattern = re.compile(f"package/{wanted}")
        with tarfile.open(tarball) as tar:
            for member in tar.getmembers():
                if member.isfile() and pattern.fullmatch(member.name):
                    source = tar.extractfile(member)
                    assert source is not None
                    (assets / Path(member.name).name).write_bytes(source.read())


def has_mermaid(nb: Any) -> bool:
    """Whether a notebook has a Mermaid diagram (a ```mermaid block in markdown, or a text/vnd.mermaid output)."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown" and "```mermaid" in cell.get("source", ""):
            return True
        if any("text/vnd.mermaid" in out.get("data", {}) for out in cell.get("outputs", [])):
            return True
    return False


def page_name(notebook: Path) -> str:
    return notebook.with_suffix(".html").name


def local_links(html: str, chapters: Iterable[str], elsewhere: str) -> str:
    """Point links to chapter notebooks at their pages; other relative links at the file in the repository."""
    known = set(chapters)

    def fix(match: re.Match[str]) -> str:
        target = match.group(2)
        if target in known:
            target = target.removesuffix(".ipynb") + ".html"
        elif not target.endswith(".html"):
            target = elsewhere + target
        return match.group(1) + target + match.group(3)

    return HREF.sub(fix, html)


@dataclass(frozen=True)
class Page:
    notebook: Path | None  # None: the contents page
    href: str
    label: str


def _exporter() -> Any:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name=TEMPLATE, extra_template_basedirs=[str(TEMPLATES)])
    exporter.exclude_input_prompt = False
    return exporter


def _contents_notebook(chapters: list[tuple[int, Path, str]], planned: dict[int, str], repo: str) -> Any:
    import nbformat.v4 as v4

    lines = ["# perflab: a hands-on course on application performance", "",
             "Each chapter measures something slow on a real database, finds out why it is slow, fixes it and "
             "measures again. These pages show the chapters as last run, with their saved outputs; "
             f"to run them, use Binder or a clone of [the repository]({repo}).", "", "## Chapters", ""]
    present = {number for number, _, _ in chapters}
    for number, path, title in chapters:
        lines.append(f"- **{number:02d}** [{title}]({page_name(path)})")
    for number, title in sorted(planned.items()):
        if number not in present:
            lines.append(f"- **{number:02d}** {title} *(coming soon)*")
    return v4.new_notebook(cells=[v4.new_markdown_cell("\n".join(lines))], metadata={"title": "perflab"})


def build_site(out: Path, notebooks: Path = ROOT / "notebooks", repo: str | None = None,
               cache: Path = ROOT / "build" / "site-cache") -> list[Path]:
    """Write the site into ``out`` (emptied first) and return the pages written.

    Parameters: ``out`` the folder; ``notebooks`` the chapters' folder; ``repo`` the GitHub URL (default: pyproject's);
    ``cache`` where the npm tarballs of the JavaScript are kept between builds.
    """
    from tools.nbtools.common import CHAPTERS, read_notebook
    from tools.nbtools.nav import Course

    if out.exists() and any(out.iterdir()):  # emptied below: only ever a site this function built
        built_here = (out / "index.html").exists() and (out / "assets").is_dir()
        if not built_here or out.resolve() in ROOT.resolve().parents:
            raise SystemExit(f"{out} is not empty and not a site this command built — choose another --out")
    repo = repo or repo_url()
    name = repo.rsplit("/", 1)[-1]
    course = Course.scan(notebooks)
    chapters = list(course.chapters)
    if not chapters:
        raise SystemExit(f"no chapters (NN-slug.ipynb) in {notebooks}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    fetch_assets(out / "assets", cache)
    exporter = _exporter()
    files = {path.name for _, path, _ in chapters}
    elsewhere = f"{repo}/blob/main/notebooks/"
    pages = [Page(None, "index.html", "contents")] + [
        Page(path, page_name(path), f"{number:02d} · {title}") for number, path, title in chapters]
    written = []
    for i, page in enumerate(pages):
        prev = pages[i - 1] if i > 0 else None
        nxt = pages[i + 1] if i + 1 < len(pages) else None
        if page.notebook is None:
            nb = _contents_notebook(chapters, {c.number: c.title for c in CHAPTERS}, repo)
            site: dict[str, Any] = {"prev": None, "next": nxt, "mermaid": False}
            resources: dict[str, Any] = {"metadata": {"name": "perflab"}}
        else:
            nb = copy.deepcopy(read_notebook(page.notebook))
            nb.metadata["title"] = f"{page.label} · perflab"
            site = {"prev": prev, "next": nxt, "binder_url": binder_url(repo, page.notebook.name),
                    "mermaid": has_mermaid(nb), "repo_url": repo, "notebook": f"notebooks/{page.notebook.name}",
                    "commands": COMMANDS.format(repo=repo, name=name)}
            resources = {"metadata": {"name": page.notebook.stem, "path": str(notebooks)}}
        resources["site"] = site
        html, _ = exporter.from_notebook_node(nb, resources=resources)
        target = out / page.href
        target.write_text(local_links(html, files, elsewhere), encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.site", description=(__doc__ or "").splitlines()[0],
                                     epilog="Example: python -m tools.site --out build/site")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="the folder (default: build/site)")
    parser.add_argument("--repo", default=None,
                        help="the GitHub URL for the Binder links (default: pyproject's Source)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    pages = build_site(args.out, repo=args.repo)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"==> {len(pages)} pages, {size / 1e6:.1f} MB in {args.out} in {time.monotonic() - started:.1f} s; "
          f"open {pages[0]}")
    return 0
