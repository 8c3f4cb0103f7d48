"""The generated tables and figures of README.md and the documentation (docs/); ``benchmarks/tables.py`` runs it."""
