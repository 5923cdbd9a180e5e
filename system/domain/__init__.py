"""Pure domain logic: no I/O, no adapters."""
