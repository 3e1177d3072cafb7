"""One exception hierarchy for vrag.

Every error vrag raises on purpose is a :class:`VragError`; the CLI prints its
message as one line and exits non-zero. Backend errors are translated at the
seam and keep the original exception as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "VragError",
    "ConfigError",
    "MissingDependencyError",
    "BackendError",
    "MediaError",
    "UnsupportedMediaError",
    "StoreError",
    "ModelMismatchError",
    "StoreWriteError",
    "StoreUnreachableError",
    "DiscoveryError",
    "StageError",
]


class VragError(Exception):
    """Base of every error vrag raises on purpose."""


class ConfigError(VragError):
    """A setting has a bad value or an unknown name."""


class MissingDependencyError(VragError):
    """An optional package needed for the requested feature is not installed."""

    def __init__(self, feature: str, module: str, extra: str):
        self.feature, self.module, self.extra = feature, module, extra
        super().__init__(
            f"{feature} needs the Python module '{module}', which is not installed: "
            f"pip install 'vrag[{extra}]'"
        )


class BackendError(VragError):
    """A model backend failed to load or to run."""


class MediaError(VragError):
    """A media file cannot be read or decoded."""

    def __init__(self, path: object, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: {reason}")


class UnsupportedMediaError(MediaError):
    """The file is not a kind of media vrag indexes (extension, codec, no streams)."""


class DiscoveryError(MediaError):
    """A path given to index cannot be walked (missing, no permission, loop)."""


class StageError(VragError):
    """An indexing stage failed on one video: ``stage`` names it (its records stay as they were)."""

    def __init__(self, stage: str, message: str):
        self.stage, self.message = stage, message
        super().__init__(message)


class StoreError(VragError):
    """The knowledge-base store cannot be opened or written."""


class ModelMismatchError(StoreError):
    """The store was built with another model than the one configured."""


class StoreWriteError(StoreError):
    """The knowledge base cannot be written at all (disk full, read-only, deleted): the run stops;
    what was committed before stays."""


class StoreUnreachableError(StoreError):
    """The object store holding the knowledge base cannot be reached, or refuses access: the run
    stops; what was committed before stays."""
