"""Retention: what the law lets us keep, and nothing longer.

A consent that expired or was withdrawn is deleted (its grant and withdrawal stay
in the audit log). An identity left without any valid consent loses its
templates, stored images and index entries: without a legal basis the biometric
must go, while the identity record stays so a renewed consent can re-enrol it.
With `template_retention_days`, templates older than that are purged too.

This module decides *when* (the cutoffs, from the settings); the gallery's public
`apply_retention` does the deleting, with the consent policy deciding *whom*.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..settings import GallerySettings
from .records import PurgeReport
from .store import utcnow

if TYPE_CHECKING:
    from .gallery import Gallery


@dataclass(frozen=True, slots=True)
class RetentionCutoff:
    """`now`: consents lapsed by then go; `templates_before`: older templates go (None: kept while consented)."""

    now: datetime
    templates_before: datetime | None = None


def cutoff(settings: GallerySettings, now: datetime) -> RetentionCutoff:
    days = settings.template_retention_days
    return RetentionCutoff(now, None if days is None else now - timedelta(days=days))


def purge(g: Gallery, actor: str) -> PurgeReport:
    return g.apply_retention(cutoff(g.settings.gallery, utcnow()), actor)
