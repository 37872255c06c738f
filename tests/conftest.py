"""Settings for every test: hypothesis has no per-example time limit and no health check on how
fast examples are generated, since a loaded CI machine would fail tests that are right (what the
examples check is their values). A test that names its own health checks names this one too. And
no test touches the user's own cache."""

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("llmobs", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("llmobs")


@pytest.fixture(autouse=True)
def _own_cache_directory(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's llmobs runs (in-process and the commands it starts) keep their cache in a
    folder of the test session's, never in the user's ~/.cache."""
    monkeypatch.setenv("LLMOBS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "llmobs-cache"))
