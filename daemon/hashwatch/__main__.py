"""``python -m hashwatch`` is the same as the ``hashwatch`` command."""

import sys

from .cli import main

sys.exit(main())
