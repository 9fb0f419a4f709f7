"""The one exception loaders raise: a file or mapping cannot be used as given; the message names the file, the key
or column at fault and the fix."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable


class LoadError(ValueError):
    """A survey file, or the mapping that describes it, cannot be read as given.

    The message names the file (and for mappings the key and the column it refers to) and says how to fix it.
    """


class MappingError(LoadError):
    """A mistake in a mapping file (unknown key, a rename pointing at a column that does not exist, a code map for a
    numeric column, ...). All mistakes found are listed in one message."""

    def __init__(self, path: str, mistakes: Iterable[str]) -> None:
        self.path = str(path)
        self.mistakes = tuple(mistakes)
        head = f"mapping file {self.path}: {len(self.mistakes)} mistake(s)"
        super().__init__(head + "\n" + "\n".join(f"  - {m}" for m in self.mistakes))


def suggest(word: str, candidates: Iterable[str], n: int = 3) -> str:
    """' (did you mean 'x', 'y'?)' for close matches of ``word`` among ``candidates``, else ''."""
    cands = [str(c) for c in candidates]
    close = difflib.get_close_matches(str(word), cands, n=n, cutoff=0.6)
    if not close:
        low = {c.casefold(): c for c in cands}
        close = [low[c] for c in difflib.get_close_matches(str(word).casefold(), list(low), n=n, cutoff=0.6)]
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def as_printed(v: str) -> str:
    """Text as a reader sees it: NFKC-normalised, without format and control characters (zero-width, bidi) and lone
    surrogates."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", v) if unicodedata.category(ch) not in ("Cf", "Cc", "Cs"))


def visible(v: str, escape: str = "\\u{:04x}") -> str:
    """``repr(v)`` with format and control characters, combining marks and unusual spaces written as ``escape`` (of
    the code point), so that strings which print alike differ on the screen: ``'Cafe\\u0301'``. Problem values are
    shown through ``repr`` once more (which would double a backslash): they use ``escape="<U+{:04X}>"``."""
    return "'" + "".join(escape.format(ord(ch)) if unicodedata.category(ch) in _UNSEEN and ch != " "
                         else "\\'" if ch == "'" else repr(ch)[1:-1] for ch in v) + "'"


_UNSEEN = frozenset({"Cf", "Cc", "Mn", "Me", "Zs", "Zl", "Zp"})


def name_key(a: str) -> str:
    """A column name as compared by :func:`same_name`: as printed, trimmed, case-folded."""
    return as_printed(a).strip().casefold()


def same_name(a: str, b: str) -> bool:
    """Whether two column names differ only in case, surrounding spaces or characters a reader cannot see."""
    return a != b and name_key(a) == name_key(b)
