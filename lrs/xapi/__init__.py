"""The xAPI standard as pure functions: no I/O, no framework."""
