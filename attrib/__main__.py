"""``python -m attrib``."""

import sys

from attrib.cli import main

sys.exit(main())
