"""Fakes of the payment vendors' documented APIs, for the tests and the demo. Each plays the
vendor: standard library only, no Django."""
