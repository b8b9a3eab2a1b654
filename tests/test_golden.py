"""Files coded on another machine decode to the same latents here.

``tests/fixtures/golden`` holds one small ``.lic`` file per model, the weights it was coded with
and the SHA-256 of the latents ŷ it decoded to where it was made (``make_golden.py``). The path
from the coded symbols to the entropy parameters is exact fixed-point arithmetic, so every CPU,
thread count and convolution backend must decode the same ŷ; a float in that path would show up
here as soon as the tests run on a machine unlike the one that made the files.
"""

import json
from pathlib import Path

import pytest
import torch

import licodec
from exactness import decoded_latents, latents_digest
from licodec import models

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
DIGESTS = json.loads((GOLDEN / "digests.json").read_text())
# fixed-width networks, too large for fixtures even at N=8 (make_golden.py)
NOT_COVERED = {"ms2020", "elic2022"}


def test_every_model_has_a_golden_file():
    assert set(DIGESTS) == set(models.available()) - NOT_COVERED


@pytest.mark.parametrize("name", sorted(DIGESTS))
def test_golden_file_decodes_to_the_same_latents(name):
    weights = GOLDEN / f"{name}.safetensors"
    data = (GOLDEN / f"{name}.lic").read_bytes()
    y_hat = decoded_latents(models.load(weights), data)
    assert len(torch.unique(y_hat)) >= 10  # real symbols, not a latent of zeros
    assert latents_digest(y_hat) == DIGESTS[name]
    assert licodec.decompress(data, weights=weights).size == (96, 64)  # the file as a user decodes it
