"""Every write to the operator's data goes through these modules."""
