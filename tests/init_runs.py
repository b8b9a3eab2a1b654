"""A tiny training run started from saved weights (``--init``), then resumed without them."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image

from exactness import test_image
from licodec.train.trainer import TrainConfig, Trainer


def train_then_resume(model: str, init: Path, tmp_path: Path, **model_config) -> tuple[Trainer, Path]:
    """Train ``model`` 2 steps from ``init`` on a one-image folder, then resume the run with
    neither ``init`` nor ``model_config`` (the checkpoint must know them). Returns (resumed
    trainer, run folder)."""
    data = tmp_path / "data"
    data.mkdir()
    Image.fromarray((test_image(96, 96)[0].permute(1, 2, 0).numpy() * 255).astype("uint8")).save(data / "a.png")
    run = tmp_path / "run"
    base = dict(model=model, data=str(data), out=str(run), batch=2, patch=64, warmup=1,
                val_every=0, checkpoint_minutes=60, progress=False, threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Trainer(TrainConfig(steps=2, init=str(init), model_config=model_config, **base)).fit()
        return Trainer(TrainConfig(steps=3, **base), resume=True), run
