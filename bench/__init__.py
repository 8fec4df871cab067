"""Herald's benchmarks: one module per measurement (`python -m bench.<name>`).

See docs/BENCHMARKS.md.
"""
