"""Identity (KYC) vendors behind one protocol (`protocol.py`), each with a fake of its documented
API under `fakes/` for the tests and the demo."""
