"""The detection benchmark behind ``tools/bench_detect.py`` (see its docstring)."""
