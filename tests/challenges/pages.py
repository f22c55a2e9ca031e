"""Reading the challenge pages in tests."""

from __future__ import annotations

import re


def bar(page: str, key: str) -> tuple[str, ...]:
    """A progress bar's value and max, and the words beside it."""
    found = re.search(
        rf'<li data-bar="{key}">.*?<progress value="([^"]+)" max="([^"]+)"'
        r'.*?<span class="bar-words"[^>]*>([^<]*)</span>',
        page,
        re.S,
    )
    assert found, f"the page shows the {key} bar"
    return found.groups()
