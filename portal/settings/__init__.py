"""Settings, one module per mode: base, dev, production, test."""
