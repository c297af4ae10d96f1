"""The project's per-test resets (the cache, the active language), which
pytest applies only under tests/ unless a conftest here names them."""

from tests.conftest import _default_language, _empty_cache

__all__ = ["_default_language", "_empty_cache"]
