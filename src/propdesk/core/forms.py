"""Form fields that read numbers as the rest of the project does (core.numbers), where
Django's own would take Arabic-Indic digits, "1_000" or " 5.0"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from propdesk.core.numbers import NotANumber, read_whole


class WholeNumberField(forms.CharField):
    widget = forms.NumberInput

    def __init__(self, *, low: int = 0, high: int = 10**9, **kwargs: Any) -> None:
        self.low, self.high = low, high
        super().__init__(**kwargs)  # no max_length: its validator would measure the int

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            number = read_whole(text, low=-(10**18), high=10**18)
        except NotANumber:
            raise ValidationError("Enter a whole number.") from None  # Django's words
        if not self.low <= number <= self.high:
            raise ValidationError(f"Enter a whole number from {self.low} to {self.high}.")
        return number
