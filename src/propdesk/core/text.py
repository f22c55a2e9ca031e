r"""Text people type, made fit to store and to show to others.

Names, titles, comments and answers are normalised to NFC (the same letters always stored the
same way) and lose every invisible formatting character: Unicode's "format" category (Cf), which
holds the bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), the
zero-width characters (U+200B-U+200D, U+2060, U+FEFF) and the soft hyphen, plus the few letters
that draw nothing (the Hangul fillers, the braille blank). With them a name can be shown
reversed ("\u202eeoD enaJ" reads "Jane Doe") or differ from another one that looks the same, and
so pass for someone else in a queue. Control characters (category Cc) other than the line
breaks and tabs of multi-line text, and lone surrogates, are not stripped but refused: they are
never typed by a person, and NUL is refused by PostgreSQL.

An email is an identifier, not a name: it is normalised to NFKC (the full-width letters
"\uff4a\uff41\uff4e\uff45" are "jane") and lowercased, so that two spellings of one address
cannot be two accounts.
"""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_SPACES = re.compile(r"[^\S\n\t]+")  # runs of spaces of any kind, line breaks and tabs aside


def is_invisible(ch: str) -> bool:
    return ch in _INVISIBLE_LETTERS or unicodedata.category(ch) == "Cf"


def forbidden_character(text: str, *, allowed: str = "") -> str | None:
    """The first control character (other than `allowed`) or lone surrogate in `text`."""
    for ch in text:
        if ch in allowed:
            continue
        if unicodedata.category(ch) in ("Cc", "Cs"):
            return ch
    return None


def tidy(text: str, *, multiline: bool = False) -> str:
    r"""NFC, without invisible characters, trimmed; single-line text has its spaces of every
    kind made one plain space each run ("Jane\u00a0\u00a0Doe" is "Jane Doe")."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if not is_invisible(ch))
    if multiline:
        return text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return _SPACES.sub(" ", text).strip()


def email_key(text: str) -> str:
    """An email address as an identifier: NFKC, without invisible characters, lowercased."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not is_invisible(ch)).strip().lower()
