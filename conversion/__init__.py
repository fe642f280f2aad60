# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Checkpoints → verified safetensors folders → model cards → the Hugging Face Hub.

Command-line tools (each has `--help`):

- `python -m conversion.from_training_checkpoint`: this project's training checkpoint → `OceanSARModel` folder;
- `python -m conversion.from_oceansar1_dino`: the original OceanSAR-1 DINO `.pth.tar` → `OceanSARModel` folder;
- `python -m conversion.from_released`: the released transformers ResNet folders → OceanSAR folders;
- `python -m conversion.to_transformers`: an OceanSAR backbone folder → plain transformers `ResNetModel` /
  `ViTModel` folder (no remote code);
- `python -m conversion.model_card`: probe results → `README.md` model card;
- `python -m conversion.push_to_hub`: checks and uploads a folder, either form (or writes a `--dry-run` preview).

Every conversion compares the source and the converted model on the same seeded input and writes nothing unless
the outputs agree (`conversion.verify`).
"""
