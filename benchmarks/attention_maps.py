"""Self-attention of an OceanSAR ViT on the real Sentinel-1 WV quicklooks: where the CLS token looks (DINO's figure).

For each quicklook: the image as the model sees it (after `OceanSARImageProcessor`), the last layer's CLS → patch
attention averaged over heads, and each head's map, upsampled (nearest) from the (S/p) × (S/p) patch grid. The
attentions come from `model(..., output_attentions=True)` with `attn_implementation="eager"` (the fused kernels do not
form the attention matrix).

The quicklooks are 8-bit, contrast-stretched display images, not calibrated backscatter: they enter the processor as
amplitude digital numbers (20·log10), so the maps show where the model looks, not calibrated features.

    python benchmarks/attention_maps.py --model outputs/vit-demo/final_model     # a trained OceanSAR ViT folder
    python benchmarks/attention_maps.py                                          # random initialisation (baseline)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from oceansar_hf import OceanSARConfig, OceanSARImageProcessor, OceanSARModel

ROOT = Path(__file__).resolve().parents[1]
QUICKLOOKS = ROOT / "tests" / "data" / "s1-wv-quicklooks"


def load(model_dir: str | None, seed: int) -> tuple[OceanSARModel, OceanSARImageProcessor, str]:
    """The ViT (eager attention), its processor and a one-line description of where the weights come from."""
    if model_dir is None:
        torch.manual_seed(seed)
        config = OceanSARConfig(backbone="vit_tiny_patch8", image_size=64, attn_implementation="eager")
        return OceanSARModel(config).eval(), OceanSARImageProcessor(size=64), f"random initialisation (seed {seed})"
    model = OceanSARModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    if model.config.architecture != "vit":
        raise SystemExit(f"error: {model_dir} holds a {model.config.backbone} backbone; attention maps need a ViT.")
    trained = json.loads((Path(model_dir) / "config.json").read_text()).get("oceansar_training") or {}
    where = f"{model_dir} ({model.config.backbone}"
    if trained:
        where += f", DINO step {trained.get('global_step')} on the {trained.get('dataset')} archive"
    return model, OceanSARImageProcessor.from_pretrained(model_dir), where + ")"


def attention_maps(model: OceanSARModel, pixel_values: torch.Tensor) -> torch.Tensor:
    """(B, heads, S/p, S/p) last-layer attention of the CLS token to every patch (each map sums to ≤ 1)."""
    with torch.no_grad():
        attentions = model(pixel_values, output_attentions=True).attentions[-1]  # (B, heads, 1 + N, 1 + N)
    side = pixel_values.shape[-1] // model.config.patch_size
    return attentions[:, :, 0, 1:].reshape(*attentions.shape[:2], side, side)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="OceanSAR ViT folder (default: a randomly initialised tiny ViT)")
    parser.add_argument("--images", type=Path, default=QUICKLOOKS, help="folder of quicklook PNGs")
    parser.add_argument("--num-images", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "figures" / "attention_maps.png")
    args = parser.parse_args(argv)

    model, processor, where = load(args.model, args.seed)
    paths = sorted(args.images.glob("*.png"))[: args.num_images]
    if not paths:
        raise SystemExit(f"error: no PNG quicklooks in {args.images}")
    images = [Image.open(path).convert("L") for path in paths]
    pixel_values = processor(images, return_tensors="pt")["pixel_values"]  # (B, 1, S, S)
    maps = attention_maps(model, pixel_values)
    heads, scale = maps.shape[1], model.config.patch_size

    columns = 2 + heads
    fig, axes = plt.subplots(len(paths), columns, figsize=(1.9 * columns, 1.9 * len(paths)), squeeze=False)
    for row, path in enumerate(paths):
        panels = [pixel_values[row, 0], maps[row].mean(0), *maps[row]]
        titles = ["model input", "mean of heads", *(f"head {h}" for h in range(heads))]
        for col, (panel, title) in enumerate(zip(panels, titles, strict=True)):
            image = panel.numpy() if col == 0 else np.kron(panel.numpy(), np.ones((scale, scale)))
            axes[row, col].imshow(image, cmap="gray" if col == 0 else "inferno")
            axes[row, col].set_xticks([])
            axes[row, col].set_yticks([])
            if row == 0:
                axes[row, col].set_title(title, fontsize=8)
        axes[row, 0].set_ylabel(path.stem.split("-")[4][:15], fontsize=6)
    fig.suptitle(
        f"Last-layer CLS attention on real S1 WV quicklooks (8-bit, as amplitude DN)\n{where}", fontsize=8, y=0.995
    )
    fig.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=110)
    plt.close(fig)
    print(f"wrote {args.output}: {len(paths)} quicklooks × {heads} heads; weights: {where}")
    return args.output


if __name__ == "__main__":
    main()
