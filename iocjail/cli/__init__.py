"""Command-line interface: one module per command family; parse, call a service, render."""
