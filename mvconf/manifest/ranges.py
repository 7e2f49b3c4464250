"""Ranges of numbers in manifests (SPEC §8): `range: "+14155550100..+14155550199"` stands for
every number from first to last. A range is kept as two integers, so 10,000 numbers in one range
cost one YAML entry and one check of each end, not 10,000 of each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mvconf.manifest.models import MAX_RANGE


@dataclass(frozen=True)
class NumberRange:
    first: str
    last: str

    @property
    def width(self) -> int:
        return len(self.first)

    @property
    def start(self) -> int:
        return int(self.first[1:])

    @property
    def end(self) -> int:
        return int(self.last[1:])

    def __len__(self) -> int:
        return self.end - self.start + 1

    def numbers(self) -> Iterator[str]:
        digits = self.width - 1
        for value in range(self.start, self.end + 1):
            yield f"+{value:0{digits}d}"

    def __contains__(self, number: object) -> bool:
        return (isinstance(number, str) and len(number) == self.width and number[1:].isdigit()
                and self.start <= int(number[1:]) <= self.end)

    def overlaps(self, other: NumberRange) -> bool:
        return (self.width == other.width and self.start <= other.end
                and other.start <= self.end)


def parse_range(text: str) -> tuple[NumberRange | None, str | None]:
    """The range, or why `text` (already of the shape `+N..+N`) is not one."""
    first, _, last = text.partition("..")
    if len(first) != len(last):
        return None, f"range {text}: both ends must have the same number of digits"
    found = NumberRange(first, last)
    if found.start > found.end:
        return None, f"range {text} is reversed: {first} comes after {last}"
    if len(found) > MAX_RANGE:
        return None, f"range {text} has {len(found):,} numbers; a range holds at most " \
                     f"{MAX_RANGE:,}"
    return found, None


def overlapping(ranges: list[tuple[NumberRange, str]]) -> list[tuple[int, int]]:
    """Pairs of indexes into `ranges` that overlap: sorted by start within each length, so
    linear after the sort."""
    pairs = []
    order = sorted(range(len(ranges)), key=lambda i: (ranges[i][0].width, ranges[i][0].start))
    reach: int | None = None  # the range reaching furthest so far, in this length
    for i in order:
        current = ranges[i][0]
        if reach is not None and ranges[reach][0].overlaps(current):
            pairs.append((reach, i))
        if reach is None or ranges[reach][0].width != current.width or \
                current.end > ranges[reach][0].end:
            reach = i
    return pairs
