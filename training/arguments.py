# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Command-line and YAML parsing of argument groups, on top of transformers' `HfArgumentParser`.

Each setting is declared once, in the dataclass of the building block that uses it (`MultiCropConfig` in
`augment.py`, `DINOConfig` in `dino/config.py`, `SelectionConfig` in `pruning/sampling.py`, ...). An `ArgumentGroup`
exposes such a dataclass on the command line, optionally with a prefix (`SyntheticArchiveConfig.num_samples` is
`--synthetic_num_samples`); the parsed values are turned back into the block's own dataclass, so no field is copied.

`--config NAME_OR_PATH` (also `--config=...`) reads a YAML file of flat `flag: value` defaults first: a path, or the
name of a config shipped with the package (`--config demo` is `training/configs/demo.yaml`). Command-line flags
override it. Unknown keys, unreadable files and unknown names are errors, never silently ignored.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from transformers import HfArgumentParser

from .configs import resolve_config_path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArgumentGroup:
    """A dataclass exposed on the command line.

    Attributes:
        cls: the building block's config dataclass (fields with `metadata["help"]`).
        prefix: prepended to every field name to form its flag (a field named like the prefix itself keeps its name:
            `PruningConfig.pruning` is `--pruning`); "" for none.
        exclude: fields not exposed (the caller sets them); they keep their defaults.
    """

    cls: type
    prefix: str = ""
    exclude: tuple[str, ...] = ()

    def flag(self, name: str) -> str:
        """The flag (and YAML key) of field `name`."""
        return name if not self.prefix or name == self.prefix.rstrip("_") else f"{self.prefix}{name}"

    def exposed(self) -> list[dataclasses.Field]:
        return [f for f in dataclasses.fields(self.cls) if f.init and f.name not in self.exclude]

    def parser_class(self) -> type:
        """A dataclass HfArgumentParser can read: the exposed fields under their flags, tuples as lists."""
        if not self.prefix and not self.exclude:
            return self.cls
        hints = typing.get_type_hints(self.cls)
        specs = []
        for f in self.exposed():
            if f.default_factory is not dataclasses.MISSING:
                default = {"default_factory": f.default_factory}
            elif isinstance(f.default, tuple):  # HfArgumentParser takes list defaults from a factory only
                default = {"default_factory": lambda value=f.default: list(value)}
            else:
                default = {"default": f.default}
            specs.append(
                (self.flag(f.name), _parseable(hints[f.name]), dataclasses.field(metadata=f.metadata, **default))
            )
        return dataclasses.make_dataclass(f"{self.cls.__name__}Arguments", specs)

    def build(self, parsed: Any) -> Any:
        """The block's own dataclass from the parsed flag values."""
        if not self.prefix and not self.exclude:
            return parsed
        values = {f.name: getattr(parsed, self.flag(f.name)) for f in self.exposed()}
        hints = typing.get_type_hints(self.cls)
        for name, value in values.items():
            if value is not None and typing.get_origin(hints[name]) is tuple:
                values[name] = tuple(value)
        return self.cls(**values)


def _parseable(annotation: Any) -> Any:
    """`tuple[X, ...]` → `list[X]` (also inside `| None`); HfArgumentParser reads lists, not tuples."""
    origin = typing.get_origin(annotation)
    if origin is tuple:
        return list[typing.get_args(annotation)[0]]
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if type(None) in args and len(args) == 2:
            inner = next(a for a in args if a is not type(None))
            return _parseable(inner) | None
    return annotation


def _split_config_flag(argv: list[str]) -> tuple[str | None, list[str]]:
    """Take `--config X` / `--config=X` out of `argv` (at most once)."""
    found: list[str] = []
    rest: list[str] = []
    position = 0
    while position < len(argv):
        token = argv[position]
        if token == "--config":
            if position + 1 >= len(argv):
                raise ValueError("--config needs a value: a YAML file or the name of a shipped config")
            found.append(argv[position + 1])
            position += 2
            continue
        if token.startswith("--config="):
            found.append(token.split("=", 1)[1])
        else:
            rest.append(token)
        position += 1
    if len(found) > 1:
        raise ValueError(f"--config given {len(found)} times ({found}); give one config file")
    return (found[0] if found else None), rest


def _rename(key: str, renamed: dict[str, str], where: str) -> str:
    if key in renamed:
        logger.warning("%s: %r is now called %r; please rename it", where, key, renamed[key])
        return renamed[key]
    return key


def parse_groups(
    groups: Sequence[ArgumentGroup],
    argv: Sequence[str],
    prog: str,
    description: str,
    renamed: dict[str, str] | None = None,
) -> list[Any]:
    """Parse `argv` (with an optional `--config`) into one instance of each group's dataclass, in order.

    `renamed` maps old flag names to current ones (accepted with a warning, in YAML and on the command line).
    """
    renamed = renamed or {}
    classes = [group.parser_class() for group in groups]
    parser = HfArgumentParser(classes, prog=prog, description=description)
    parser.add_argument(
        "--config",
        type=str,
        default=None,
        help="YAML file of flat `flag: value` defaults, or the name of a shipped config (e.g. demo); flags override.",
    )
    for action in parser._actions:  # argparse %-formats help texts: a literal % (e.g. "10 %") must be escaped
        if action.help:
            action.help = re.sub(r"%(?!\()", "%%", action.help)
    config, rest = _split_config_flag(list(argv))
    rest = [_rename_flag(token, renamed) for token in rest]
    if config is not None:
        path = resolve_config_path(config)
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise ValueError(f"{path}: cannot read the config ({error})") from error
        if not isinstance(values, dict):
            raise ValueError(f"{path}: a config is a mapping of flag: value, got {type(values).__name__}")
        values = {_rename(key, renamed, str(path)): value for key, value in values.items()}
        known = {f.name for cls in classes for f in dataclasses.fields(cls)}
        if unknown := sorted(set(values) - known):
            raise ValueError(f"{path}: unknown keys {unknown}; valid keys are {sorted(known)}")
        parser.set_defaults(**values)
    parsed = parser.parse_args_into_dataclasses(args=rest, look_for_args_file=False)
    return [group.build(value) for group, value in zip(groups, parsed[: len(groups)], strict=True)]


def _rename_flag(token: str, renamed: dict[str, str]) -> str:
    if not token.startswith("--"):
        return token
    name, sep, value = token[2:].partition("=")
    key = name.replace("-", "_")
    return f"--{_rename(key, renamed, 'command line')}{sep}{value}" if key in renamed else token


def group_defaults(groups: Sequence[ArgumentGroup]) -> dict[str, Any]:
    """Flat `{flag: default}` of the groups' exposed fields (fields without a default are left out)."""
    flat: dict[str, Any] = {}
    for group in groups:
        for f in group.exposed():
            if f.default_factory is not dataclasses.MISSING:
                value = f.default_factory()
            elif f.default is not dataclasses.MISSING:
                value = f.default
            else:
                continue
            flat[group.flag(f.name)] = list(value) if isinstance(value, tuple) else value
    return flat


def group_values(groups: Sequence[ArgumentGroup], instances: Sequence[Any]) -> dict[str, Any]:
    """Flat `{flag: value}` of parsed groups: the YAML format `parse_groups` reads back (tuples as lists)."""
    flat: dict[str, Any] = {}
    for group, instance in zip(groups, instances, strict=True):
        for f in group.exposed():
            value = getattr(instance, f.name)
            flat[group.flag(f.name)] = list(value) if isinstance(value, tuple) else value
    return flat
