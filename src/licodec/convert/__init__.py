"""Converters that bring weights trained with other libraries into licodec.

* :mod:`licodec.convert.compressai` — CompressAI checkpoints (``lic import-compressai``).
"""

from licodec.convert.compressai import ARCHS, convert_state_dict, import_compressai, read_checkpoint

__all__ = ["ARCHS", "convert_state_dict", "import_compressai", "read_checkpoint"]
