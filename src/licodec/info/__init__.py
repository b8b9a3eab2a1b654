"""Information theory and reference entropy codes.

Measures (:mod:`licodec.info.measures`): entropy, joint and conditional entropy, mutual
information, cross-entropy and KL divergence, from probability tables or samples, in bits.

Reference codes, each turning symbols into actual bits (a ``str`` of ``'0'``/``'1'``) and back:

* :func:`shannon_code` — lengths ⌈-log2 p⌉, codewords from cumulative probabilities (Shannon 1948);
* :func:`shannon_fano_elias_code` — midpoint of each symbol's interval (Cover & Thomas §5.9);
* :func:`huffman_code` — canonical, optimal, deterministic ties (Huffman 1952);
* :class:`StaticArithmeticCode`, :class:`AdaptiveArithmeticCode` — integer arithmetic coding
  (Witten, Neal & Cleary 1987).

Every code has ``encode(message) -> bits``, ``decode(bits, n) -> message`` and
``report(message) -> CodingResult``, which reports b = mean(L)·N next to N·H::

    >>> from licodec.info import huffman_code, BREAKFAST_WEIGHTS, BREAKFAST_MESSAGE
    >>> print(huffman_code(BREAKFAST_WEIGHTS).report(BREAKFAST_MESSAGE))
    huffman: N=14, b=mean(L)·N=25 bits (mean(L)=1.7857), N·H=24.18 bits, -log2 P=24.18 bits
"""

from __future__ import annotations

from licodec.info.arithmetic import (
    DEFAULT_MAX_TOTAL,
    DEFAULT_PRECISION,
    AdaptiveArithmeticCode,
    AdaptiveModel,
    StaticArithmeticCode,
    StaticModel,
    precision_slack,
)
from licodec.info.bits import check_bits, pack_bits, packed_size, unpack_bits
from licodec.info.examples import BREAKFAST_MESSAGE, BREAKFAST_WEIGHTS
from licodec.info.huffman import canonical_codewords, huffman_code, huffman_lengths
from licodec.info.measures import (
    byte_entropy,
    conditional_entropy,
    conditional_entropy_from_samples,
    cross_entropy,
    cross_entropy_from_samples,
    empirical_distribution,
    entropy,
    entropy_from_samples,
    joint_entropy,
    joint_entropy_from_samples,
    joint_table,
    kl_divergence,
    kl_divergence_from_samples,
    mutual_information,
    mutual_information_from_samples,
    normalize,
)
from licodec.info.prefix import PrefixCode, exact_probabilities
from licodec.info.result import CodingResult, message_entropy_bits
from licodec.info.shannon import binary_expansion, shannon_code, shannon_fano_elias_code

__all__ = [
    # measures
    "normalize",
    "entropy",
    "joint_entropy",
    "conditional_entropy",
    "mutual_information",
    "cross_entropy",
    "kl_divergence",
    "empirical_distribution",
    "joint_table",
    "entropy_from_samples",
    "joint_entropy_from_samples",
    "conditional_entropy_from_samples",
    "mutual_information_from_samples",
    "cross_entropy_from_samples",
    "kl_divergence_from_samples",
    "byte_entropy",
    # codes
    "PrefixCode",
    "exact_probabilities",
    "binary_expansion",
    "shannon_code",
    "shannon_fano_elias_code",
    "huffman_lengths",
    "canonical_codewords",
    "huffman_code",
    "StaticModel",
    "AdaptiveModel",
    "StaticArithmeticCode",
    "AdaptiveArithmeticCode",
    "precision_slack",
    "DEFAULT_PRECISION",
    "DEFAULT_MAX_TOTAL",
    # results and bits
    "CodingResult",
    "message_entropy_bits",
    "check_bits",
    "pack_bits",
    "unpack_bits",
    "packed_size",
    # examples
    "BREAKFAST_WEIGHTS",
    "BREAKFAST_MESSAGE",
]
