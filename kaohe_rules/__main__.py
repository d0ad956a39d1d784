"""``python -m kaohe_rules`` runs the ``kaohe`` command line."""

import sys

from .cli import main

sys.exit(main())
