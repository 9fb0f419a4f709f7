"""Coverage of the phase-dating intervals measured by the calibration suite (written by
``benchmarks/bench_calibration.py --coverage``; quoted next to each interval in the phase verdict)."""

RUN_DATE = "2026-12-06"
COVERAGE: dict[str, float] = {
    'takeoff': 0.958,
    'takeoff_census': 0.958,
    'quality': 0.978,
    'quality_census': 0.978,
    'takeoff_gradual': 0.850,
}
