"""One declaration per setting: every knob has one home, one default and one help text."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

import training
from oceansar_hf import OceanSARImageProcessor
from training.config import PRETRAIN_GROUPS, DataArguments, parse_config
from training.data.write_archive import WRITE_ARCHIVE_GROUPS
from training.embed import EMBED_GROUPS
from training.probes.cli import PROBE_GROUPS
from training.search.cli import SEARCH_GROUPS

CLI_GROUPS = (*PRETRAIN_GROUPS, *PROBE_GROUPS, *WRITE_ARCHIVE_GROUPS, *EMBED_GROUPS, *SEARCH_GROUPS.values())
PREFIXES = ("synthetic_", "pruning_", "knn_")
DISTINCT_MEANINGS = {
    "seed": "the run's seed and a synthetic archive's seed are different streams (both default 0)",
    "batch_size": "images per training step vs per embedding pass",
    "output": "a probe's results folder (optional) vs the embed job's shard folder (required)",
    "warmup_epochs": "DINO's learning-rate warm-up vs pruning's T_w (epochs before the first round)",
}


def _project_config_classes() -> list[type]:
    """Every dataclass of the training package with documented (help) fields: the argument groups and the building
    blocks' configs."""
    found = {}
    for module_info in pkgutil.walk_packages(training.__path__, "training."):
        if module_info.name.endswith(("__main__", ".probe")):
            continue
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            documented = dataclasses.is_dataclass(cls) and any("help" in f.metadata for f in dataclasses.fields(cls))
            if documented and cls.__module__ == module.__name__:
                found[cls.__qualname__] = cls
    return list(found.values())


def _default(f: dataclasses.Field) -> object:
    value = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    return list(value) if isinstance(value, tuple) else value


def _knob(name: str) -> str:
    for prefix in PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def test_every_config_class_is_exposed_by_a_cli():
    exposed = {group.cls for group in CLI_GROUPS}
    unexposed = [cls.__qualname__ for cls in _project_config_classes() if cls not in exposed]
    assert not unexposed, f"config classes no CLI parses (a parallel copy?): {unexposed}"


def test_no_knob_is_declared_twice_with_another_default():
    seen: dict[str, tuple[str, object]] = {}
    clashes = []
    for cls in _project_config_classes():
        for f in dataclasses.fields(cls):
            if "help" not in f.metadata:
                continue
            knob = _knob(f.name)
            if knob in seen and seen[knob][1] != _default(f) and knob not in DISTINCT_MEANINGS:
                clashes.append(f"{knob}: {seen[knob][0]}={seen[knob][1]!r} vs {cls.__qualname__}={_default(f)!r}")
            seen.setdefault(knob, (cls.__qualname__, _default(f)))
    assert not clashes, clashes


def test_a_flag_means_the_same_in_every_cli():
    """The same flag in the pretraining and probe CLIs has one default and one help text."""
    flags: dict[str, tuple[object, str]] = {}
    for group in CLI_GROUPS:
        for f in group.exposed():
            flag, value = group.flag(f.name), (_default(f), f.metadata["help"])
            if flag in flags and flags[flag] != value and flag not in DISTINCT_MEANINGS:
                pytest.fail(f"--{flag}: {flags[flag]} vs {value}")
            flags.setdefault(flag, value)


def test_processor_settings_default_to_the_processor():
    """DataArguments' processor fields either default to None (= the processor's own default) or have no other
    home: the processor's defaults are declared once, in its __init__."""
    parameters = inspect.signature(OceanSARImageProcessor.__init__).parameters
    for f in dataclasses.fields(DataArguments):
        if f.name in parameters and f.name not in ("image_mean", "image_std"):
            assert f.default is None, f"DataArguments.{f.name} repeats the processor's default"


def test_shipped_configs_parse_without_warnings(caplog):
    for name in ("demo", "resnet50", "vit_small_patch16", "vit_small_patch8", "vit_base_patch8", "pruning_experiment"):
        parse_config(["--config", name])
    assert "is now called" not in caplog.text
