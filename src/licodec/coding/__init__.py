"""Entropy coding of integer symbols to bytes (ANS via constriction) and the ``.lic`` container."""

from licodec.coding.ans import SymbolDecoder, SymbolEncoder

__all__ = ["SymbolEncoder", "SymbolDecoder"]
