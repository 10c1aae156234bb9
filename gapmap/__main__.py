import sys

from gapmap.cli import batch_process, main

batch_process()
sys.exit(main())
