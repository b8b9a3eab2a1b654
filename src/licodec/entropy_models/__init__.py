"""Entropy models: the probability the codec assigns to each quantized latent."""

from licodec.entropy_models.factorized import FactorizedDensity
from licodec.entropy_models.gaussian import GaussianConditional, SCALE_TABLE

__all__ = ["FactorizedDensity", "GaussianConditional", "SCALE_TABLE"]
