"""Start and stop as data: plans of steps with undo, run by one journaling engine."""
