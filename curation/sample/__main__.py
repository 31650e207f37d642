"""``python -m curation.sample --output DIR [--seed N] [--files N]``."""

import sys

from curation.sample.generate import main

if __name__ == "__main__":
    sys.exit(main())
