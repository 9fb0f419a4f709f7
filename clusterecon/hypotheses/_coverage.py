"""Coverage of the phase-dating intervals measured by the calibration suite (written by
``benchmarks/bench_calibration.py --coverage``; quoted next to each interval in the phase verdict)."""

RUN_DATE = "2026-12-05"
COVERAGE: dict[str, float] = {
    'takeoff': 0.964,
    'takeoff_census': 0.964,
    'quality': 0.981,
    'quality_census': 0.981,
}
