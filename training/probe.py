# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""`python -m training.probe`: the probe CLI (kept under this name; the code is `training.probes.cli`)."""

import sys

from .probes.cli import main

if __name__ == "__main__":
    sys.exit(main())
