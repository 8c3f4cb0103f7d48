"""The ``st-glot`` command line: ``main`` dispatches, ``args`` holds shared options, one file per command."""
