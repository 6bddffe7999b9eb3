"""The operations users name (activate, clean, create, start, ...)."""
