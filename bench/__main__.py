"""``python -m bench``: run every goal benchmark and print the summary (see ``bench.run_all``)."""

from bench.run_all import main

main()
