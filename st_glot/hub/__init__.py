"""A model's identity outside the process: its name (content hash) and its model card."""
