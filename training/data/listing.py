# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Folder listing that counts what it cannot see: unreadable sub-folders, symlink loops and dangling symlinks.

`scan_files` walks a folder (following symlinked folders, each loop cut once and counted) and returns the matching files
with a `ListingReport`. The readers keep the report as ``dataset.listing_report`` and log its summary once, so that a
sub-folder the run could not enter is a number in the log and in the metrics, not a silent gap in the archive.
"""

from __future__ import annotations

import errno
import fnmatch
import logging
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

NAMES_SHOWN = 3
"""How many names of each problem kind a summary shows."""


@dataclass
class ListingReport:
    """What one folder listing found and what it could not read.

    Attributes:
        root: the listed folder.
        files: number of matching files listed.
        unreadable_dirs: sub-folders (or other entries) that could not be opened, as ``"path (reason)"``.
        symlink_loops: symlinks that lead back to one of their own parent folders (or to themselves); not followed.
        dangling_links: symlinks whose target does not exist.
    """

    root: str
    files: int = 0
    unreadable_dirs: list[str] = field(default_factory=list)
    symlink_loops: list[str] = field(default_factory=list)
    dangling_links: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        """Entries the listing could not follow (0 for a clean folder)."""
        return len(self.unreadable_dirs) + len(self.symlink_loops) + len(self.dangling_links)

    def counts(self) -> dict[str, int]:
        """Flat counts for a run's metrics: ``listed_files``, ``unreadable_dirs``, ``symlink_loops``,
        ``dangling_links``."""
        return {
            "listed_files": self.files,
            "unreadable_dirs": len(self.unreadable_dirs),
            "symlink_loops": len(self.symlink_loops),
            "dangling_links": len(self.dangling_links),
        }

    def summary(self) -> str:
        """One line: the counts, with the first `NAMES_SHOWN` names of each kind of problem."""
        parts = [f"listed {self.files} files under {self.root}"]
        for label, names in (
            ("unreadable sub-folders", self.unreadable_dirs),
            ("symlink loops not followed", self.symlink_loops),
            ("dangling symlinks", self.dangling_links),
        ):
            if names:
                more = f", ... ({len(names) - NAMES_SHOWN} more)" if len(names) > NAMES_SHOWN else ""
                parts.append(f"{len(names)} {label} ({', '.join(names[:NAMES_SHOWN])}{more})")
        return "; ".join(parts)

    def log(self) -> None:
        """Log the summary: a warning when something could not be listed, info otherwise."""
        logger.log(logging.WARNING if self.problems else logging.INFO, "%s", self.summary())


def matches(relative_path: str, pattern: str) -> bool:
    """Whether a ``/``-separated path relative to the listed root matches a glob pattern.

    The pattern language of `pathlib.Path.glob`: ``**`` is any number of folders (none included), ``*``, ``?`` and
    ``[...]`` match within one path component, case-sensitively; ``**/*.tif*`` matches ``a.tif`` and ``x/y/a.tiff``.
    """
    return _match(relative_path.split("/"), [part for part in pattern.split("/") if part not in ("", ".")])


def _match(parts: list[str], pattern: list[str]) -> bool:
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match(parts[i:], rest) for i in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], head) and _match(parts[1:], rest)


def scan_files(root: str | Path, patterns: str | Sequence[str]) -> tuple[list[Path], ListingReport]:
    """Sorted files under ``root`` matching any glob pattern (see `matches`), and the `ListingReport` of the walk.

    Symlinked files and folders are followed; a folder link that leads back to one of its own ancestors is a counted
    loop, not followed again. Raises ``ValueError`` naming the root and the patterns when ``root`` is not a readable
    folder or nothing matches (the report's problems are in that message too).
    """
    root = Path(root)
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    if not root.is_dir():
        raise ValueError(f"{root} is not a directory (looked for files matching {patterns})")
    report = ListingReport(str(root))
    files: list[Path] = []
    root_stat = root.stat()
    stack = [(root, "", frozenset({(root_stat.st_dev, root_stat.st_ino)}))]
    while stack:
        directory, relative, ancestors = stack.pop()
        try:
            with os.scandir(directory) as iterator:
                entries = list(iterator)
        except OSError as error:
            if directory == root:
                raise ValueError(f"{root}: cannot list the folder ({error.strerror})") from error
            report.unreadable_dirs.append(f"{directory} ({error.strerror})")
            continue
        for entry in entries:
            path, name = Path(entry.path), f"{relative}{entry.name}"
            try:
                target = os.stat(entry.path)  # follows symlinks
            except OSError as error:
                if entry.is_symlink() and error.errno == errno.ELOOP:
                    report.symlink_loops.append(str(path))
                elif entry.is_symlink() and error.errno in (errno.ENOENT, errno.ENOTDIR):
                    report.dangling_links.append(str(path))
                else:
                    report.unreadable_dirs.append(f"{path} ({error.strerror})")
                continue
            if stat.S_ISDIR(target.st_mode):
                key = (target.st_dev, target.st_ino)
                if key in ancestors:
                    report.symlink_loops.append(str(path))
                else:
                    stack.append((path, name + "/", ancestors | {key}))
            elif stat.S_ISREG(target.st_mode) and any(matches(name, pattern) for pattern in patterns):
                files.append(path)
    files.sort()
    report.files = len(files)
    for names in (report.unreadable_dirs, report.symlink_loops, report.dangling_links):
        names.sort()
    if not files:
        problems = f" ({report.summary()})" if report.problems else ""
        raise ValueError(f"no files matching {patterns} under {root}{problems}")
    return files, report
