"""Coverage of the phase-dating intervals measured by the calibration suite (written by
``benchmarks/bench_calibration.py --coverage``; quoted next to each interval in the phase verdict)."""

RUN_DATE = "2026-12-06"
COVERAGE: dict[str, float] = {
    'takeoff': 0.967,
    'takeoff_census': 0.967,
    'quality': 0.982,
    'quality_census': 0.982,
    'takeoff_gradual': 0.850,
}
