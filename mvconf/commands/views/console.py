"""Terminal output: colour only on a TTY and never with NO_COLOR (rich handles both)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

# rich is imported where it is used: a JSON plan in a pipeline never needs it.


def stdout() -> Console:
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False, soft_wrap=True, emoji=False)


def stderr() -> Console:
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False, soft_wrap=True, emoji=False)


def print_lines(lines: Iterable[tuple[str, str | None]], err: bool = False) -> None:
    """Print styled lines; plain text when the stream is not a terminal (or NO_COLOR is set),
    where rich would print no style anyway, at a fraction of the cost. Control characters in
    the text (an ESC sequence from an API answer, say) are shown as escapes, never sent; so are
    newlines and tabs, since each item is one line (a value cannot start a line of its own)."""
    from mvconf.render.escape import terminal

    lines = [(terminal(line, one_line=True), style) for line, style in lines]
    console = stderr() if err else stdout()
    if console.no_color or not console.is_terminal:
        import click

        click.echo("".join(f"{line}\n" for line, _ in lines), nl=False, err=err)
        return
    from rich.text import Text

    text = Text()
    for line, style in lines:
        text.append(line, style=style or "")
        text.append("\n")
    console.print(text, end="")


def write_chunks(chunks: Iterable[str]) -> None:
    """Write text pieces to stdout in blocks of about 64 KiB (click.echo would flush each one)."""
    import click

    block: list[str] = []
    size = 0
    for chunk in chunks:
        block.append(chunk)
        size += len(chunk)
        if size >= 65536:
            click.echo("".join(block), nl=False)
            block, size = [], 0
    if block:
        click.echo("".join(block), nl=False)


@contextmanager
def progress(total: int, label: str) -> Iterator:
    """A progress bar on stderr when it is a TTY; otherwise a no-op callback."""
    if total < 2 or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(label, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=stderr(), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)
