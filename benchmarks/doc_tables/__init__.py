"""The generated tables and figures of README.md and benchmarks/README.md; ``benchmarks/tables.py`` runs it."""
