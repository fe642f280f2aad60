"""Declared dependencies match what the code imports: the core list for `oceansar_hf`, the `training` extra for
`training/` and `conversion/` (and the optional extras for the parts that say so)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
IMPORT_TO_DISTRIBUTION = {
    "PIL": "pillow",
    "yaml": "pyyaml",
    "sklearn": "scikit-learn",
    "jinja2": "jinja2",
    "faiss": "faiss-cpu",
}
OPTIONAL = {"tensorboard": "imported only when installed (find_spec), for the Accelerate tracker"}


def _distributions(requirements: list[str]) -> set[str]:
    names = {re.split(r"[<>=\[; ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}
    return {n for n in names if n != "oceansar-hf"}


EXTRA_FOLDERS = {"training/search": "search"}
"""Folders whose imports belong to an extra of their own (checked against it, and excluded from their parent's)."""


def _third_party_imports(folder: str) -> set[str]:
    found = set()
    own = [ROOT / other for other in EXTRA_FOLDERS if other != folder and (ROOT / other).is_relative_to(ROOT / folder)]
    for path in (ROOT / folder).rglob("*.py"):
        if any(path.is_relative_to(other) for other in own):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module.split(".")[0])
    local = {"oceansar_hf", "training", "conversion", "tests"}
    return {name for name in found - local - set(sys.stdlib_module_names) if name not in OPTIONAL}


def _declared(*extras: str) -> set[str]:
    names = _distributions(PROJECT["dependencies"])
    for extra in extras:
        names |= _distributions(PROJECT["optional-dependencies"][extra])
    return names


@pytest.mark.parametrize(
    ("folder", "extras"),
    [
        ("oceansar_hf", ()),
        ("training", ("training",)),
        ("conversion", ("training",)),
        *((folder, ("training", extra)) for folder, extra in EXTRA_FOLDERS.items()),
    ],
)
def test_imports_are_declared(folder, extras):
    declared = _declared(*extras)
    missing = sorted(
        name
        for name in _third_party_imports(folder)
        if IMPORT_TO_DISTRIBUTION.get(name, name).replace("_", "-").lower() not in declared
    )
    assert not missing, f"{folder} imports {missing}, not declared in {['dependencies', *extras]}"


DECODERS = {"imagecodecs": "tifffile's codecs for compressed measurement TIFFs (ZSTD, LZW, deflate): never imported"}
"""Distributions of an extra that the project's code does not import (a library it calls imports them)."""


def test_sar_extra_is_the_training_extra_plus_tiff_decoders():
    """The SAFE reader (`training/data/sentinel1`) imports only what `[training]` declares; `[sar]` adds decoders."""
    sar = _distributions(PROJECT["optional-dependencies"]["sar"])
    assert "oceansar-hf[training]" in [r.replace(" ", "") for r in PROJECT["optional-dependencies"]["sar"]]
    assert sar == set(DECODERS), sar
    assert not set(DECODERS) & _third_party_imports("training/data/sentinel1")
    assert not _third_party_imports("training/data/sentinel1") - _declared("training")
