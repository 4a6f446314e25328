"""The package as a learner and pip see it: what ``perflab.`` offers, a light import, and what the wheel holds."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import perflab

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sqlalchemy", "numpy", "pandas", "IPython", "matplotlib", "ipywidgets")


def test_all_is_sorted_unique_and_every_name_resolves() -> None:
    assert perflab.__all__ == sorted(set(perflab.__all__))
    for name in perflab.__all__:
        assert getattr(perflab, name) is not None, name
        assert name in dir(perflab)


def test_every_perflab_name_a_notebook_uses_is_exported_or_a_module() -> None:
    used: set[str] = set()
    for path in [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("notebooks/solutions/*.ipynb")]:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                used |= set(re.findall(r"\bperflab\.([A-Za-z_]\w*)", "".join(cell["source"])))
    assert used, "no notebook uses perflab.<name>"
    package = ROOT / "perflab"
    for name in sorted(used):
        is_module = (package / f"{name}.py").exists() or (package / name / "__init__.py").exists()
        assert name in perflab.__all__ or is_module, f"notebooks use perflab.{name}: add it to __all__"


def test_an_internal_name_is_not_offered_at_the_top() -> None:
    assert "make_engine" not in perflab.__all__
    with pytest.raises(AttributeError, match="has no attribute 'make_engine'"):
        perflab.make_engine  # type: ignore[attr-defined]  # noqa: B018  (internals: from perflab.db import ...)


def test_import_perflab_loads_no_heavy_library() -> None:
    code = f"import sys, perflab; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_the_wheel_holds_the_package_typed_and_licensed_and_no_maintainer_tooling(tmp_path: Path) -> None:
    source = tmp_path / "src"  # a copy, so the build leaves no build/ or .egg-info in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "LICENSE-content"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("perflab", "tools", "tests"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(source), "-w", str(out)],
                   check=True, capture_output=True)
    (wheel,) = out.glob("perflab-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"perflab"}, tops
    assert "perflab/py.typed" in names and "perflab/exercises/__init__.py" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    metadata = next(zipfile.ZipFile(wheel).read(n) for n in names if n.endswith(".dist-info/METADATA")).decode()
    assert "License-Expression: MIT" in metadata and "Requires-Python: >=3.10" in metadata
