# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
from .cli import main

raise SystemExit(main())
