"""Coverage of the phase-dating intervals measured by the calibration suite (written by
``benchmarks/bench_calibration.py``; quoted next to each interval in the phase verdict)."""

RUN_DATE = "not yet measured"
COVERAGE: dict[str, float] = {}
