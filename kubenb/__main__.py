import sys

from kubenb.cli import main

sys.exit(main())
