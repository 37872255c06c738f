"""Settings for every test: hypothesis examples have no time limit, since a loaded CI machine makes
a per-example deadline fail tests that are right (what the examples check is their values)."""

from hypothesis import settings

settings.register_profile("llmobs", deadline=None)
settings.load_profile("llmobs")
