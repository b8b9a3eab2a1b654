"""Messages of the ``lic`` commands on stderr."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import click


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its class name if it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def warnings_to_stderr() -> Iterator[None]:
    """Show each distinct ``UserWarning`` raised inside as one ``lic: warning: ...`` line on stderr,
    as it happens (a training run takes hours); other warning categories are not shown."""

    def show(message, category, *_):  # noqa: ANN001
        if issubclass(category, UserWarning):
            click.echo(f"lic: warning: {message}", err=True)

    with warnings.catch_warnings():
        warnings.simplefilter("default")  # once per message and place, even if shown before this block
        warnings.showwarning = show
        yield
