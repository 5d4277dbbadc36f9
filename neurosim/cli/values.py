"""Checked option values for the command line: each function is an argparse ``type=`` that turns
the typed string into a value or raises ``ArgumentTypeError`` with one sentence, so a value the
user typed is never ignored or read as "not given" (``--T 0``, ``--chips ""``, ``--T ""``).

The parser reports the sentence as ``neurosim COMMAND: error: argument --T: must be an integer
of at least 1, got '0'`` and exits with code 2, before any work starts or any file is written.
"""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path


def _fail(message: str):
    return argparse.ArgumentTypeError(message)


def integer(minimum: int | None = None, maximum: int | None = None):
    """An integer in ``[minimum, maximum]`` (either bound optional)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise _fail(f"must be an integer, got {text!r}") from None
        if minimum is not None and value < minimum:
            raise _fail(f"must be an integer of at least {minimum}, got {text!r}")
        if maximum is not None and value > maximum:
            raise _fail(f"must be an integer of at most {maximum}, got {text!r}")
        return value

    parse.__name__ = "integer"
    return parse


#: counts (timesteps, images, epochs, workers, spike limits): 1 or more
count = integer(minimum=1)
#: seeds: 0 or more (numpy refuses negative seeds)
seed = integer(minimum=0)


def count_or_all(text: str):
    """A count (an integer of at least 1), or ``all``."""
    if text.strip() == "all":
        return "all"
    return count(text)


def positive_float(text: str) -> float:
    """A finite number > 0 (a time step, a duration)."""
    try:
        value = float(text)
    except ValueError:
        raise _fail(f"must be a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise _fail(f"must be a finite number greater than 0, got {text!r}")
    return value


def _items(text: str, what: str) -> list[str]:
    items = [v.strip() for v in text.split(",")]
    if text.strip() == "":
        raise _fail(f"must be a comma-separated list of {what}, got an empty value")
    if any(v == "" for v in items):
        raise _fail(f"must be a comma-separated list of {what} without empty items, got {text!r}")
    seen = set()
    for v in items:
        if v in seen:
            raise _fail(f"lists {v!r} twice in {text!r}")
        seen.add(v)
    return items


def integer_list(minimum: int = 1, maximum: int | None = None):
    """A non-empty comma-separated list of distinct integers in ``[minimum, maximum]``."""
    one = integer(minimum, maximum)

    def parse(text: str) -> list[int]:
        items = _items(text, "integers")
        values = []
        for v in items:
            try:
                values.append(one(v))
            except argparse.ArgumentTypeError as exc:
                raise _fail(f"item {v!r} of {text!r} {exc}") from None
        if len(set(values)) != len(values):
            raise _fail(f"lists a value twice in {text!r}")
        return values

    parse.__name__ = "integer list"
    return parse


def name(text: str) -> str:
    """A non-empty name (a hardware profile, a key)."""
    if not text.strip():
        raise _fail("must be a name, got an empty value")
    return text.strip()


def name_list(what: str = "names"):
    """A non-empty comma-separated list of distinct names."""

    def parse(text: str) -> list[str]:
        return _items(text, what)

    parse.__name__ = "name list"
    return parse


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable(directory: Path, text: str):
    """The directory that will hold the writes, or its nearest existing ancestor, is a writable directory."""
    parent = _nearest_existing(directory)
    if not parent.is_dir():
        raise _fail(f"{text!r} lies under {str(parent)!r}, which is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _fail(f"{text!r} cannot be written: {str(parent)!r} is not writable")


def out_dir(text: str) -> str:
    """A directory to write into: absent (created later) or a directory, never a file; writable."""
    if not text.strip():
        raise _fail("must name a directory, got an empty value")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise _fail(f"{text!r} is an existing file, not a directory")
    _writable(path, text)
    return text


def out_file(text: str) -> str:
    """A file to write: absent or a file, never a directory; its directory writable."""
    if not text.strip():
        raise _fail("must name a file, got an empty value")
    path = Path(text)
    if path.is_dir():
        raise _fail(f"{text!r} is a directory, not a file")
    _writable(path.parent, text)
    return text


def in_file(text: str) -> str:
    """An existing file to read."""
    path = Path(text)
    if path.is_dir():
        raise _fail(f"{text!r} is a directory, not a file")
    if not path.is_file():
        raise _fail(f"{text!r} does not exist")
    return text


def in_dir(text: str) -> str:
    """An existing directory to read."""
    path = Path(text)
    if path.is_file():
        raise _fail(f"{text!r} is a file, not a directory")
    if not path.is_dir():
        raise _fail(f"{text!r} does not exist")
    return text
