"""The private files (identity documents) must be where no URL reaches them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def private_media_is_private(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """PRIVATE_MEDIA_ROOT must not lie in (or contain) a folder that is
    served: STATIC_ROOT, a STATICFILES_DIRS entry, or MEDIA_ROOT."""
    private = Path(settings.PRIVATE_MEDIA_ROOT).resolve()
    served: list[str | Path] = [settings.STATIC_ROOT, *settings.STATICFILES_DIRS, settings.MEDIA_ROOT]
    errors = []
    for folder in served:
        if not folder:
            continue
        public = Path(folder).resolve()
        if private == public or public in private.parents or private in public.parents:
            errors.append(
                Error(
                    f"PRIVATE_MEDIA_ROOT ({private}) overlaps a served folder ({public})",
                    hint="Put identity documents in a folder of their own, outside static and media files.",
                    id="accounts.E001",
                )
            )
    return errors
