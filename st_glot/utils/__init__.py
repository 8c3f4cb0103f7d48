"""Small helpers shared by every layer: argument checks, atomic file writes, process rank."""
