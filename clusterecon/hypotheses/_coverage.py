"""Coverage of the phase-dating intervals measured by the calibration suite (written by
``benchmarks/bench_calibration.py --coverage``; quoted next to each interval in the phase verdict)."""

RUN_DATE = "2026-12-05"
COVERAGE: dict[str, float] = {
    'takeoff': 0.857,
    'takeoff_census': 0.968,
    'takeoff_survivors': 0.732,
    'quality': 1.000,
    'quality_census': 1.000,
}
