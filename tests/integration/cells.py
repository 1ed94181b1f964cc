"""Display cells of receipt text, counted by Python's unicodedata, apart
from the daemon's libunistring: a combining mark takes none, an East Asian
wide or fullwidth character two, any other one. Stdlib only (the browser
tests use it under /usr/bin/python3 too)."""

import unicodedata


def cells(line):
    n = 0
    for ch in line:
        if unicodedata.combining(ch):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


def too_wide(text, width):
    """The lines of text (each ending in a newline) wider than width, with
    their widths; a last line without its newline counts as wrong too."""
    bad = []
    if text and not text.endswith("\n"):
        bad.append(("(no final newline)", -1))
    for line in text.split("\n"):
        if cells(line) > width:
            bad.append((line, cells(line)))
    return bad


def flat(text):
    """The receipt's lines joined with single spaces (indents dropped), to
    find a phrase whatever the width."""
    return " ".join(l.strip() for l in text.split("\n") if l.strip())
