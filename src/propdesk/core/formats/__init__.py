"""The firm's own number and date formats per language (settings.FORMAT_MODULE_PATH), over
Django's: only what differs is written here (docs/languages.md)."""
