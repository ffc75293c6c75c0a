"""dynaorm benchmarks (``make bench``)."""
