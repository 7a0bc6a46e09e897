"""pogodock firmware: the modules that run on the dock (and, unchanged, in the simulator)."""
