"""The model quality loop: outcomes, reports, backtests and calibration."""
