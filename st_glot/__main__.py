"""``python -m st_glot`` runs the ``st-glot`` command line."""

import sys

from st_glot.cli import main

sys.exit(main())
