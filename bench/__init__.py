"""Benchmarks: scripts that print figures (``python -m bench.NAME``); kubenb never imports them."""
