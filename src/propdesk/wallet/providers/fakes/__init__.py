"""Fakes of the payment vendors' documented APIs, for the tests and the demo: each is the
vendor's server, not part of propdesk (standard library only, no Django)."""
