"""Backbones (loading, decoders, the embedded defaults) and whole models built from a backbone and a pooler."""
