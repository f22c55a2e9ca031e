"""Reading one request's parameters as Stripe checks them: a required one missing is
`parameter_missing`, a number that is not one `parameter_invalid_integer`, a name Stripe does
not know `parameter_unknown`, each naming the parameter in `param` by its bracket path
(https://docs.stripe.com/error-codes)."""

from __future__ import annotations

from typing import Any

from propdesk.wallet.providers.fakes.stripe.errors import invalid, missing_param

MAX_AMOUNT = 99999999  # Stripe's largest amount (8 digits) in most currencies


class Params:
    def __init__(self, data: Any, path: str = "") -> None:
        if not isinstance(data, dict):
            raise invalid(f"Invalid object: {path or 'body'}", param=path)
        self.data = data
        self.path = path

    def name(self, key: str) -> str:
        return f"{self.path}[{key}]" if self.path else key

    def only(self, *known: str) -> None:
        for key in self.data:
            if key not in known and key != "expand":
                raise invalid(
                    f"Received unknown parameter: {self.name(key)}",
                    param=self.name(key),
                    code="parameter_unknown",
                )

    def text(self, key: str, *, required: bool = False, limit: int = 5000) -> str:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise missing_param(self.name(key))
            return ""
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {self.name(key)}", param=self.name(key))
        if len(value) > limit:
            raise invalid(
                f"Invalid {self.name(key)}: must be at most {limit} characters",
                param=self.name(key),
                code="string_length_exceeds_maximum",
            )
        return value

    def integer(
        self, key: str, *, required: bool = False, minimum: int = 0, amount: bool = False
    ) -> int | None:
        """A whole number; an `amount` (in the currency's smallest unit) is also at most
        Stripe's largest, eight digits (a timestamp or a count is not)."""
        value = self.text(key, required=required, limit=40)
        if not value:
            return None
        if not (value.isdigit() or (value.startswith("-") and value[1:].isdigit())):
            raise invalid(
                f"Invalid integer: {value}",
                param=self.name(key),
                code="parameter_invalid_integer",
            )
        number = int(value)
        if number < minimum:
            raise invalid(
                f"Invalid {self.name(key)}: must be at least {minimum}",
                param=self.name(key),
                code="parameter_invalid_integer",
            )
        if amount and number > MAX_AMOUNT:
            raise invalid(
                "Amount must be no more than 999,999.99",
                param=self.name(key),
                code="amount_too_large",
            )
        return number

    def child(self, key: str, *, required: bool = False) -> Params | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise missing_param(self.name(key))
            return None
        return Params(value, self.name(key))

    def items(self, key: str, *, required: bool = False) -> list[Params]:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise missing_param(self.name(key))
            return []
        if not isinstance(value, list):
            raise invalid(f"Invalid array: {self.name(key)}", param=self.name(key))
        return [Params(item, f"{self.name(key)}[{i}]") for i, item in enumerate(value)]

    def strings(self, key: str) -> list[str]:
        value = self.data.get(key)
        if value in (None, ""):
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(f"Invalid array: {self.name(key)}", param=self.name(key))
        return list(value)

    def metadata(self, key: str = "metadata") -> dict[str, str]:
        """https://docs.stripe.com/api/metadata: up to 50 keys, keys up to 40 characters and
        values up to 500."""
        value = self.data.get(key)
        if value in (None, ""):
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise invalid(f"Invalid hash: {self.name(key)}", param=self.name(key))
        if len(value) > 50:
            raise invalid("Metadata can have at most 50 keys.", param=self.name(key))
        for k, v in value.items():
            if len(k) > 40:
                raise invalid(
                    "Metadata keys can be at most 40 characters.", param=f"{self.name(key)}[{k}]"
                )
            if len(v) > 500:
                raise invalid(
                    "Metadata values can be at most 500 characters.",
                    param=f"{self.name(key)}[{k}]",
                )
        return dict(value)
