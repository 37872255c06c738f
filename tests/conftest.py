"""Settings for every test: hypothesis has no per-example time limit and no health check on how
fast examples are generated, since a loaded CI machine would fail tests that are right (what the
examples check is their values). A test that names its own health checks names this one too."""

from hypothesis import HealthCheck, settings

settings.register_profile("llmobs", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("llmobs")
