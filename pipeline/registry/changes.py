"""The registry writes of one decision, undone newest first when a later step fails.

A decision changes the registry first (alias, version tags, the log-head anchor) and appends
its audit entry last. Should any step fail (a locked store, a server error, a full disk under
the log), what was already changed is put back, so neither record shows a decision the other
lacks. Each undo is registered *before* its write: a write that fails after the store applied
it is still put back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)


class RegistryChanges:
    """Writes to one registered model, each with the call that restores what it replaced."""

    def __init__(self, client: MlflowClient, model_name: str) -> None:
        self.client = client
        self.model_name = model_name
        self._undo: list[tuple[str, Callable[[], None]]] = []

    def set_alias(self, alias: str, version: str, previous: str | None) -> None:
        """Point ``alias`` at ``version``; undo restores ``previous`` (None: no alias)."""
        name = self.model_name
        if previous is None:
            restore = lambda: self.client.delete_registered_model_alias(name, alias)  # noqa: E731
        else:
            restore = lambda: self.client.set_registered_model_alias(name, alias, previous)  # noqa: E731
        self._undo.append((f"alias @{alias}", restore))
        self.client.set_registered_model_alias(name, alias, version)

    def set_version_tags(self, version: str, tags: dict[str, str]) -> None:
        """Set ``tags`` on ``version``; undo restores each old value or removes the tag."""
        before = dict(self.client.get_model_version(self.model_name, version).tags or {})
        for key, value in tags.items():
            restore = self._version_tag_undo(version, key, before)
            self._undo.append((f"v{version} tag {key}", restore))
            self.client.set_model_version_tag(self.model_name, version, key, value)

    def set_model_tag(self, key: str, value: str) -> None:
        """Set a tag on the registered model; undo restores the old value or removes it."""
        before = dict(self.client.get_registered_model(self.model_name).tags or {})
        name = self.model_name
        if key in before:
            restore = lambda: self.client.set_registered_model_tag(name, key, before[key])  # noqa: E731
        else:
            restore = lambda: self.client.delete_registered_model_tag(name, key)  # noqa: E731
        self._undo.append((f"model tag {key}", restore))
        self.client.set_registered_model_tag(name, key, value)

    def _version_tag_undo(
        self, version: str, key: str, before: dict[str, str]
    ) -> Callable[[], None]:
        name = self.model_name
        if key in before:
            return lambda: self.client.set_model_version_tag(name, version, key, before[key])
        return lambda: self.client.delete_model_version_tag(name, version, key)

    def undo(self) -> list[str]:
        """Restore everything written, newest first; return what could not be restored."""
        failed = []
        for what, restore in reversed(self._undo):
            try:
                restore()
            except Exception as error:  # keep restoring the rest; the caller reports all
                log.debug("could not restore %s", what, exc_info=True)
                failed.append(f"{what} ({str(error).splitlines()[0][:200]})")
        self._undo.clear()
        return failed
