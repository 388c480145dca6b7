"""Benchmarks users compare (``workbench bench <suite>``), with their rows and goals kept as data.

``rows`` reads a suite's rows and goals from ``configs/bench/<suite>.yaml``; ``imitation`` trains and
evaluates them; ``store`` keeps one JSON file per row (commit, config, per-episode results);
``provenance`` says whether a stored result is stale; ``goals`` checks every goal; ``stats`` gives
the confidence intervals; ``render`` makes the markdown table; ``busy`` measures the default training
run idle and beside busy processes (``workbench bench train``).
"""
