"""``python -m jeex_cache.cli``: the ``jeex-cache`` command."""

import sys

from jeex_cache.cli import main

sys.exit(main())
