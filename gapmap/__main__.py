import sys

from gapmap.cli import main

sys.exit(main())
