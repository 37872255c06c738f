"""OpenTelemetry both ways: OTLP/JSON in (`decode`), OTLP/JSON and OTLP/HTTP out (`encode`, `send`)."""
