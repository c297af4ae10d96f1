"""Admin for lines, plans, periods, usage, ledger and audit (filled in by the lines issue)."""
