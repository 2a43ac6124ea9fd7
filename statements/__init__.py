"""Press statements (thông cáo báo chí): drafting, strategy, versions and export."""
