"""Pure domain logic: no I/O, no processes, imports nothing else from iocjail but errors."""
