"""``python -m tuner.benchmarks``: see `tuner.benchmarks._cli`."""

import sys

from tuner.benchmarks._cli import main

sys.exit(main())
