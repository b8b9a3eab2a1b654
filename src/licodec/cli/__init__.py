"""The ``lic`` command line.

Each command group lives in its own module and is registered here:
``codec`` (compress, decompress, info, models), ``theory`` (codes, entropy, analyze),
``evaluate`` (eval, bdrate), ``training`` (train), ``convert`` (import-compressai).
Every :class:`~licodec.errors.LicError` (and ``ValueError``/``OSError`` from input handling)
becomes a one-line ``lic: error: ...`` message on stderr and exit code 2, with no traceback.
"""

from __future__ import annotations

import importlib
import sys

import click

from licodec import __version__
from licodec.cli.console import one_line
from licodec.errors import LicError

_COMMAND_MODULES = ("codec", "theory", "evaluate", "training", "convert")


class _Group(click.Group):
    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (LicError, ValueError, OSError) as exc:  # user errors: one line, exit 2
            click.echo(f"lic: error: {one_line(exc)}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lic")
def main() -> None:
    """licodec: learned image compression (.lic files), theory tools, training and evaluation."""


def _register() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"licodec.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"licodec.cli.{name}":
                continue
            raise
        for command in getattr(module, "COMMANDS", ()):
            main.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
