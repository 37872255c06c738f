"""Output forms. Each module formats result models and computes nothing."""
