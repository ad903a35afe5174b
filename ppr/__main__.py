import sys

from ppr.cli import main

sys.exit(main())
