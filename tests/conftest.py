import os

import pytest
import torch

# Two cores on the reference machine: keep each test process to one thread unless a test asks.
torch.set_num_threads(int(os.environ.get("LICODEC_TEST_THREADS", "1")))


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(1234)
