"""The Docker action's entry point: run ml-action and exit with its code."""

import sys

from ml_action.cli import main

sys.exit(main())
