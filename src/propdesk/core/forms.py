"""Form fields that read numbers as the rest of the project does (core.numbers), where
Django's own would take Arabic-Indic digits, "1_000" or " 5.0"; and the amount a person types,
which may group its thousands as the pages show them ("1,000.00")."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from propdesk.core.numbers import NotANumber, plain_typed_number, read_whole


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
        except NotANumber as exc:
            if exc.reason.startswith("must be from"):  # digits, far too many of them
                raise ValidationError(
                    f"Enter a whole number from {self.low} to {self.high}."
                ) from None
            raise ValidationError("Enter a whole number.") from None  # Django's words
        if not self.low <= number <= self.high:
            raise ValidationError(f"Enter a whole number from {self.low} to {self.high}.")
        return number


def typed_amount(value: Any, *, label: str = "Amount") -> Any:
    """An amount typed into a page, for a use case to read: "1,000.00" becomes "1000.00";
    empty and non-text values go on as they are (the use case says what is missing). A
    grouping that is not well formed ("1,00.00", "1.000,00") is a ValidationError naming the
    format, e.g. 'Amount must be a number written like "1000.50" or "1,000.50": ...'."""
    if not isinstance(value, str) or not value.strip():
        return value
    try:
        return plain_typed_number(value)
    except NotANumber as exc:
        raise ValidationError(f"{label} {exc.reason}") from None


class AmountField(forms.CharField):
    """An amount as text, in the plain spelling the use cases read (core.numbers): the person
    may type "1,000.00" as the page shows it. The use case checks the sign, the range and the
    currency's decimals; its messages land on the field."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 30)  # 999,999,999,999.99 is 18; a trillion is the cap
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        text = super().to_python(value) or ""
        if text in self.empty_values:
            return text
        return str(typed_amount(text, label=str(self.label or "Amount")))
