"""Admin uploads: eSIM inventory batches and CDR files."""
