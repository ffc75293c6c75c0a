"""``python -m dynaorm.cli``: the ``dynaorm`` command."""

import sys

from dynaorm.cli import main

if __name__ == "__main__":
    sys.exit(main())
