r"""Text people type, made fit to store and to show to others.

Names, titles, comments and answers are normalised to NFC (the same letters always stored the
same way) and lose every invisible formatting character (except a zero-width joiner or
non-joiner between two letters of a script that spells with it: Persian, Devanagari,
Sinhala, emoji sequences): Unicode's "format" category (Cf), which
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


_JOINERS = frozenset("\u200c\u200d")  # zero width non-joiner and joiner
# Scripts write with the joiners: Persian (a ZWNJ between letters), Devanagari and Sinhala (a
# joiner after a virama picks the half form), emoji sequences. There they are spelling, and
# between two such characters they cannot make a Latin name pass for another.
_JOINING = frozenset({"Lo", "Lm", "Mn", "Mc", "So"})


def _spelling_joiner(text: str, at: int) -> bool:
    """The joiner at `at` stands between two characters of a script that writes with it."""
    if text[at] not in _JOINERS or at == 0 or at + 1 >= len(text):
        return False
    before, after = text[at - 1], text[at + 1]
    return all(not ch.isascii() and unicodedata.category(ch) in _JOINING for ch in (before, after))


def _visible(text: str) -> str:
    return "".join(
        ch for i, ch in enumerate(text) if not is_invisible(ch) or _spelling_joiner(text, i)
    )


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
    # Stripped first, then normalised: a mark once kept apart by an invisible character joins
    # its letter, and the result is NFC.
    text = unicodedata.normalize("NFC", _visible(unicodedata.normalize("NFC", text)))
    if multiline:
        return text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return _SPACES.sub(" ", text).strip()


def email_key(text: str) -> str:
    """An email address as an identifier: NFKC, without invisible characters, lowercased."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not is_invisible(ch)).strip().lower()


def in_sentence(label: str) -> str:
    """A title-cased name as it reads inside a sentence: "Trader Registration" is "trader
    registration", "Prop Trading Participation" "prop trading participation"; an acronym (KYC,
    IB) stays as it is."""
    return " ".join(w.lower() if w[1:].islower() or len(w) == 1 else w for w in label.split(" "))


def plural(count: object, word: str, many: str = "") -> str:
    """`count` and the noun that goes with it: "1 trading day", "3 trading days"."""
    return f"{count} {word if count == 1 else many or word + 's'}"
