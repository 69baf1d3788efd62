"""The embedder a gallery is bound to, resolved on first use.

Why: every part of the gallery (enrolment, search, the index's dimension) needs the
model id, but opening a gallery must not load a face model it may never run (a CLI
listing identities, an erasure). One lazy binding is shared by all the parts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..face.pipeline import FacePipeline


class FaceModel:
    def __init__(self, pipeline: FacePipeline | None = None, model_id: str | None = None) -> None:
        self._pipeline = pipeline
        self._model_id = model_id

    @property
    def pipeline(self) -> FacePipeline:
        if self._pipeline is None:
            from ..face.pipeline import default_pipeline

            self._pipeline = default_pipeline()
        return self._pipeline

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            self._model_id = self.pipeline.embedder.model_id
        return self._model_id

    def dim_hint(self) -> int | None:
        """The embedder's dimension when known without loading a model the caller did not ask for."""
        if self._pipeline is not None or self._model_id is None:
            return int(self.pipeline.embedder.dim)
        return None
