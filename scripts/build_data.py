#!/usr/bin/env python
"""Build attrib's bundled enrichment data (``data/``) from the public upstreams.

See :mod:`attrib.enrich.build`. Usage::

    python scripts/build_data.py                # npm pack into a temp dir -> data/
    python scripts/build_data.py --src DIR      # reuse unpacked npm tarballs in DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attrib.enrich.build import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
