"""Terminal output: colour only on a TTY and never with NO_COLOR (rich handles both)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.text import Text


def stdout() -> Console:
    return Console(file=sys.stdout, highlight=False, soft_wrap=True, emoji=False)


def stderr() -> Console:
    return Console(file=sys.stderr, highlight=False, soft_wrap=True, emoji=False)


def print_lines(lines: Iterable[tuple[str, str | None]], err: bool = False) -> None:
    console = stderr() if err else stdout()
    for line, style in lines:
        console.print(Text(line, style=style or ""))


@contextmanager
def progress(total: int, label: str) -> Iterator:
    """A progress bar on stderr when it is a TTY; otherwise a no-op callback."""
    console = stderr()
    if not console.is_terminal or total < 2:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(label, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)
