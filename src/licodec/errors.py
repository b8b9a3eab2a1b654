"""Exceptions raised by licodec.

Every error a user can cause (bad image, bad ``.lic`` file, wrong weights, impossible option)
raises a subclass of :class:`LicError`. The CLI turns these into a one-line message and exit
code 2. ``LicError`` derives from ``ValueError`` so generic input checks still catch it.
"""

from __future__ import annotations


class LicError(ValueError):
    """Base class of all licodec user-facing errors."""


class ImageReadError(LicError):
    """The input image could not be read or has an unsupported layout."""


class FormatError(LicError):
    """A ``.lic`` file could not be parsed."""


class NotLicFileError(FormatError):
    """The data does not start with the ``.lic`` magic bytes."""


class UnsupportedVersionError(FormatError):
    """The file was written by a newer (or unknown) version of the container format."""


class TruncatedFileError(FormatError):
    """The file ends before the lengths in its header say it should."""


class CorruptFileError(FormatError):
    """The file's checksum does not match its contents."""


class WeightsMismatchError(LicError):
    """The file was encoded with weights other than the ones available for decoding."""


class UnknownModelError(LicError):
    """No model of that name is registered."""


class WeightsError(LicError):
    """A weights file is unreadable, not safetensors, or does not fit the architecture."""


class InvalidOptionError(LicError):
    """An option value is outside what the model or command supports."""


class TargetUnreachableError(LicError):
    """A rate-control target (size, bpp, PSNR) cannot be met by any quality setting."""
