"""What the translation tests share: reading a language's catalogue (.po) as text."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.conf import settings

LOCALE = Path(settings.LOCALE_PATHS[0])


def catalogue(code: str) -> list[dict[str, object]]:
    return read_po(LOCALE / code / "LC_MESSAGES" / "django.po")


def read_po(path: Path) -> list[dict[str, object]]:
    """The entries of a .po, as text: msgid, msgstr and whether it is fuzzy."""
    entries: list[dict[str, object]] = []
    current: dict[str, object] = {}
    key = ""
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("#,") and "fuzzy" in line:
            current = {"fuzzy": True}
        found = re.match(r"(msgctxt|msgid_plural|msgid|msgstr(?:\[\d\])?) (\".*\")$", line)
        if found:
            key = found.group(1)
            if key in ("msgid", "msgctxt") and _translated(current):
                entries.append(current)
                current = {}
            current[key] = ast.literal_eval(found.group(2))
        elif line.startswith('"') and key:
            current[key] = str(current[key]) + ast.literal_eval(line)
        elif not line.strip() and _translated(current):
            entries.append(current)
            current, key = {}, ""
    if _translated(current):
        entries.append(current)
    return [e for e in entries if e.get("msgid")]


def _translated(entry: dict[str, object]) -> bool:
    return any(key.startswith("msgstr") for key in entry)
