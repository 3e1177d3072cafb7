import sys

from vrag.cli import main

sys.exit(main())
