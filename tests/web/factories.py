"""The detector of English left on a portal page in another language (docs/languages.md): the
walk of tests/web/test_portal_in_spanish.py and the pages of test_portal_in_spanish_forms.py
use it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.core.factories import catalogue

# Words that are English and never Spanish: two in one text, or one in a text of three words or
# more, and the text is English ("a", "no", "en", "son", "come" are Spanish too: not here).
_WORDS = (
    "the your you and of to with is are this that for was were be been has have will can "
    "could should would it its at from by or yet not which when what where our we they "
    "them there here please into than then only once until"
)
ENGLISH = frozenset(_WORDS.split(" "))
SHOWN_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")

# Texts still written in English by Python code the catalogue does not reach yet, by where they
# come from (docs/languages.md, "Not translated yet"). Each must match a whole text; anything
# else in English fails the walk. Shrink this list, never grow it.
KNOWN_LEFT: list[str] = []


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value:
                self.texts.append(value)
            if tag == "input" and name == "value" and dict(attrs).get("type") == "submit":
                self.texts.append(value or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(data)


def shown_texts(html: str) -> list[str]:
    parser = _Texts()
    parser.feed(html)
    return [" ".join(t.split()) for t in parser.texts if t.strip()]


def english_left(html: str, data: list[str]) -> list[str]:
    """The texts of a page that are English: a catalogue entry whose Spanish differs, or a text
    made of English words. `data` is what the test made; it is removed from the texts."""
    translated = {
        str(e["msgid"]) for e in catalogue("es") if e.get("msgstr") and e["msgstr"] != e["msgid"]
    }
    found = []
    for text in shown_texts(html):
        for made in sorted(data, key=len, reverse=True):
            text = text.replace(made, " ")
        text = " ".join(text.split())
        if any(re.fullmatch(known, text) for known in KNOWN_LEFT):
            continue
        if text in translated:
            found.append(text)
            continue
        # Whole words only: a generated password such as "-Jf5t2IT1ffW" holds no word ("IT").
        words = re.findall(r"(?<![\w-])[A-Za-z]+(?![\w-])", text)
        english = [w for w in words if w.lower() in ENGLISH]
        if len(english) >= 2 or (english and len(words) >= 3):
            found.append(text)
    return found
