"""The LLM-gateway call-sentiment recipe's Python script, read from the vendor's published page at run time.

The page (``shared/reference``, beside the checkout) prints the script as a numbered Quickstart block
whose indentation collapsed to one space; ``recipe_script`` strips the numbers and restores the
indentation (a block opened by ``:`` indents what follows; ``elif``/``else`` return to their ``if``;
a line at the margin closes every block), so the repository holds none of the vendor's code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

_CHECKOUT = Path(__file__).resolve().parents[2]
_PAGE = Path("reference") / "002_d51a22a1dac3312c.txt"
_PLACES = (_CHECKOUT.parent / "shared" / _PAGE, _CHECKOUT / "shared" / _PAGE)
"""The shared reference beside the checkout (where this project keeps it), or inside it."""
_DEDENTERS = ("elif ", "else:", "except", "finally:")


def recipe_script() -> str:
    reference = next((p for p in _PLACES if p.is_file()), None)
    if reference is None:
        pytest.skip(f"the vendor's recipe page is not beside this checkout ({_PLACES[0]})")
    lines = reference.read_text(encoding="utf-8").splitlines()
    start = lines.index("1import requests")  # the first numbered block: the Quickstart
    numbered: list[str] = []
    for line in lines[start:]:
        match = re.match(rf"{len(numbered) + 1}(.*)\Z", line)
        if match is None:
            break
        numbered.append(match.group(1))
    return "\n".join(_reindent(numbered)) + "\n"


def _reindent(lines: list[str]) -> list[str]:
    """Indentation for the recipe's own style: ``for``/``while``/``with``/``def`` bodies run to the next line
    at the margin; an ``if``/``elif``/``else`` body is one statement (every branch in the recipe is); a
    bracket's lines sit one level in from the line that opened it, its closing line level with it."""
    out: list[str] = []
    blocks: list[tuple[int, str]] = []  # (level of the opening line, keyword) of each open block
    level = 0
    open_brackets: list[int] = []  # the level of the line that opened each bracket still open
    in_string = False
    for raw in lines:
        if in_string:
            out.append(raw)
            in_string = raw.count('"""') % 2 == 0
            continue
        text = raw[1:] if raw.startswith(" ") else raw
        if not text.strip():
            out.append("")
            continue
        keyword = text.split(" ", 1)[0].rstrip(":")
        if open_brackets:
            closing = text[0] in ")]}"
            out.append("    " * (open_brackets[-1] + (0 if closing else 1)) + text)
            line_level = open_brackets[-1] + (0 if closing else 1)
        else:
            if not raw.startswith(" "):
                blocks, level = [], 0
            elif keyword in ("elif", "else", "except", "finally"):
                while blocks and blocks[-1][1] not in ("if", "elif", "try", "except"):
                    blocks.pop()
                level = blocks.pop()[0] if blocks else 0
            elif blocks and blocks[-1][1] in ("if", "elif", "else") and out and not out[-1].rstrip().endswith(":"):
                level = blocks.pop()[0]  # the one-statement branch before it is done
            out.append("    " * level + text)
            line_level = level
            if text.rstrip().endswith(":") and not text.startswith("#"):
                blocks.append((level, keyword))
                level += 1
        code = re.sub(r"(\"[^\"]*\"|'[^']*')", "", text)
        for char in code:
            if char in "([{":
                open_brackets.append(line_level)
            elif char in ")]}" and open_brackets:
                open_brackets.pop()
        in_string = text.count('"""') % 2 == 1
    return out
