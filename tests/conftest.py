"""Session-wide test settings: the audit key lives in the test's temporary tree, never in ~."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline.registry.audit_key import KEY_FILE_ENV


@pytest.fixture(scope="session", autouse=True)
def audit_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point ``$SEALAUDIT_AUDIT_KEY_FILE`` at a per-session key (created on first decision)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_FILE_ENV, str(tmp_path_factory.mktemp("audit-key") / "audit.key"))
        yield
