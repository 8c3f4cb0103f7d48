"""``python -m st_glot`` runs the ``st-glot`` command line."""

import sys

from st_glot.cli.main import main

sys.exit(main())
