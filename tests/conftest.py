"""Session-wide test settings: the audit key lives in the test's temporary tree, never in ~;
``@pytest.mark.assures(...)`` reaches the JUnit XML the dossier reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline.dossier.junit import ASSURES
from pipeline.registry.audit_key import KEY_FILE_ENV


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each ``assures`` marker argument becomes a ``<property name="assures">`` of the test's
    JUnit record (``pytest --junitxml``), so the dossier names tests from the run itself."""
    for item in items:
        for marker in item.iter_markers(ASSURES):
            item.user_properties.extend((ASSURES, str(arg)) for arg in marker.args)


@pytest.fixture(scope="session", autouse=True)
def audit_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point ``$SEALAUDIT_AUDIT_KEY_FILE`` at a per-session key (created on first decision)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_FILE_ENV, str(tmp_path_factory.mktemp("audit-key") / "audit.key"))
        yield
