# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Name what a refused checkpoint would have imported, without unpickling it.

`torch.load(weights_only=True)` is what refuses unsafe checkpoints; this module only reads the pickle's opcodes
(`pickletools.genops`, which executes nothing) so that the refusal can say which Python global (``posix.system``,
``argparse.Namespace``, ...) the file asked for. It follows the usual encodings (GLOBAL, INST, STACK_GLOBAL with its
two strings pushed directly or through the memo); a deliberately obfuscated pickle may hide the name, never run.
"""

from __future__ import annotations

import io
import pickletools
import zipfile
from pathlib import Path

_STRING_OPCODES = {
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "BINUNICODE8",
    "UNICODE",
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
}
_MAX_PICKLES = 4
"""Pickles read one after the other (a legacy torch file holds magic number, protocol, system info, then the data)."""


def pickled_globals(path: str | Path) -> list[str]:
    """``module.name`` of every global the pickle(s) in ``path`` reference, in order of first appearance.

    ``path`` is a raw pickle, a legacy torch file, or a torch zip checkpoint (its ``*.pkl`` members are read).
    Unparseable bytes end the scan quietly: the result is what could be read.
    """
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            streams = [archive.read(name) for name in archive.namelist() if name.endswith(".pkl")]
    else:
        streams = [path.read_bytes()]
    found: dict[str, None] = {}
    for data in streams:
        stream = io.BytesIO(data)
        for _ in range(_MAX_PICKLES):
            if stream.tell() >= len(data):
                break
            try:
                found.update(dict.fromkeys(_globals_of_one_pickle(stream)))
            except Exception:  # pickletools raises ValueError, EOFError, UnicodeDecodeError... on bytes it cannot parse
                break
    return list(found)


def _globals_of_one_pickle(stream: io.BytesIO) -> list[str]:
    """Globals of the pickle starting at the stream position; the stream ends after its STOP opcode."""
    names: list[str] = []
    strings: list[str] = []  # every string pushed, in order (STACK_GLOBAL takes the last two)
    memo: dict[int, str | None] = {}
    top: str | None = None  # the object on top of the stack when it is a string
    for opcode, argument, _ in pickletools.genops(stream):
        name = opcode.name
        if name in _STRING_OPCODES:
            top = argument if isinstance(argument, str) else argument.decode("latin-1")
            strings.append(top)
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[argument] = top
        elif name == "MEMOIZE":
            memo[len(memo)] = top
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            top = memo.get(argument)
            if top is not None:
                strings.append(top)
        else:
            if name in ("GLOBAL", "INST"):
                names.append(argument.replace(" ", ".", 1))
            elif name == "STACK_GLOBAL" and len(strings) >= 2:
                names.append(f"{strings[-2]}.{strings[-1]}")
            top = None
    return names
