"""The face pipeline: detect -> landmarks -> align -> quality -> embed -> compare.

One object owns the chosen detector and embedder so the Python API, the CLI, the
service and the video engine all run exactly the same steps with the same
settings. Models load lazily and once.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

import numpy as np

from ..config import get_settings
from ..settings import FaceSettings
from ..errors import NoFaceError
from ..io import ImageInput, load_image
from ..types import BBox, Embedding, Face, QualityReport, Verification
from ..vision.face_detection import FaceDetector, create_detector
from ..vision.face_embedding import FaceEmbedder, create_embedder, embed_faces
from ..vision.landmarks import FaceMesh
from ..vision.quality import assess_quality
from .verification import verify_embeddings, verify_gated


@dataclass(frozen=True)
class FaceTemplate:
    """A face with its template and quality: what enrolment and search consume."""

    face: Face
    embedding: Embedding
    quality: QualityReport


class FacePipeline:
    def __init__(
        self,
        detector: str | None = None,
        embedder: str | None = None,
        *,
        fallback_detector: str | None = "centerface",
        settings: FaceSettings | None = None,
        threads: int | None = None,
    ) -> None:
        """`threads`: onnxruntime threads of each call into the models that take the option
        (None: the settings' `threads`). A caller that runs one call per core in parallel
        (the photo import) asks for 1: two 2-thread calls on 2 cores only contend."""
        self.settings = settings or get_settings().face
        self.threads = threads
        self.detector_name = detector or self.settings.detector
        self.embedder_name = embedder or self.settings.embedder
        self.fallback_name = fallback_detector if fallback_detector != self.detector_name else None
        self._detector: FaceDetector | None = None
        self._fallback: FaceDetector | None = None
        self._embedder: FaceEmbedder | None = None
        self._mesh: FaceMesh | None = None
        self._lock = threading.Lock()

    # -- lazily built parts -------------------------------------------------
    @property
    def detector(self) -> FaceDetector:
        with self._lock:
            if self._detector is None:
                self._detector = create_detector(self.detector_name, threads=self.threads,
                                                 min_score=self.settings.min_detection_score)
            return self._detector

    @property
    def fallback(self) -> FaceDetector | None:
        if self.fallback_name is None:
            return None
        with self._lock:
            if self._fallback is None:
                self._fallback = create_detector(self.fallback_name, threads=self.threads,
                                                 min_score=self.settings.min_detection_score)
            return self._fallback

    @property
    def embedder(self) -> FaceEmbedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = create_embedder(self.embedder_name, threads=self.threads)
            return self._embedder

    @property
    def mesh_model(self) -> FaceMesh:
        with self._lock:
            if self._mesh is None:
                self._mesh = FaceMesh(max_faces=8, static=True)
            return self._mesh

    # -- steps ---------------------------------------------------------------
    def detect(self, image: ImageInput, *, mesh: bool = False) -> list[Face]:
        """Faces, best first. A second detector runs only when the first finds none:
        BlazeFace misses faces under ~1/15 of the frame, CenterFace does not."""
        rgb = load_image(image)
        faces = self.detector.detect(rgb)
        if not faces and self.fallback is not None:
            faces = self.fallback.detect(rgb)
        if mesh and faces:
            faces = self._attach_mesh(rgb, faces)
        return faces

    def _attach_mesh(self, rgb: np.ndarray, faces: list[Face]) -> list[Face]:
        meshes = self.mesh_model.process(rgb)
        out = []
        for face in faces:
            best, best_iou = None, 0.1
            for m in meshes:
                xy = m.xy()
                iou = face.box.iou(BBox(*xy.min(axis=0), *xy.max(axis=0)))
                if iou > best_iou:
                    best, best_iou = m, iou
            out.append(dataclasses.replace(face, mesh=best))
        return out

    def quality(self, image: ImageInput, face: Face) -> QualityReport:
        return assess_quality(load_image(image), face, self.settings)

    def templates(self, image: ImageInput, faces: list[Face] | None = None) -> list[FaceTemplate]:
        """Every face in the image with its template and quality report (one network batch)."""
        rgb = load_image(image)
        faces = self.detect(rgb) if faces is None else faces
        embs = embed_faces(self.embedder, rgb, faces)
        return [FaceTemplate(f, e, assess_quality(rgb, f, self.settings)) for f, e in zip(faces, embs)]

    def primary_template(self, image: ImageInput) -> FaceTemplate:
        """The largest face: the subject of a selfie, an ID photo or an enrolment picture."""
        rgb = load_image(image)
        faces = self.detect(rgb)
        if not faces:
            raise NoFaceError("no face found in the image")
        face = max(faces, key=lambda f: f.box.area)
        return self.templates(rgb, [face])[0]

    def embed(self, image: ImageInput) -> Embedding:
        return self.primary_template(image).embedding

    def verify(self, a: ImageInput, b: ImageInput, operating_point: str | None = None, *,
               id_photo: bool = False) -> Verification:
        """Same person? Photos go through the quality gate (`verify_gated`: inconclusive
        when a face fails it); `id_photo`: `b` is a document portrait. Templates handed in
        directly carry no face to gate: the caller vouches for them."""
        op = operating_point or self.settings.operating_point
        if isinstance(a, Embedding) or isinstance(b, Embedding):
            ea = a if isinstance(a, Embedding) else self.embed(a)
            eb = b if isinstance(b, Embedding) else self.embed(b)
            return verify_embeddings(ea, eb, op)
        ta, tb = self.primary_template(a), self.primary_template(b)
        return verify_gated(ta.embedding, ta.quality, tb.embedding, tb.quality, op, id_photo=id_photo,
                            settings=self.settings)


_default: FacePipeline | None = None
_default_lock = threading.Lock()


def default_pipeline() -> FacePipeline:
    global _default
    with _default_lock:
        if _default is None:
            _default = FacePipeline()
        return _default
