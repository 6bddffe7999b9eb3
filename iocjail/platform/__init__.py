"""Adapters to the outside world; the only code that starts processes (through shell.py)."""
