"""The diagnostic stress test: the text generator (``data``) and the comparison run (``run``)."""
