"""``python -m ml_action``: the same as the ``ml-action`` console script."""

import sys

from ml_action.cli import main

sys.exit(main())
