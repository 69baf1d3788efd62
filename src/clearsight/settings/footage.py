"""Footage search: how recorded video is indexed for a later search by photo.

Indexing runs the stream engine's face detector and tracker over a file, keeps one
best shot per face track (chosen by the face-quality score) and stores its template,
offsets and thumbnail. The defaults were chosen on `bench/footage.py` (composed 720p
videos with exact ground truth): detecting a few times a second finds every
appearance longer than a second while indexing runs faster than real time on 2 cores.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class FootageSettings(BaseModel):
    detector: str = Field(
        "centerface", min_length=1,
        description="Face detector by registry name (as in a camera file's `detect.detector`). CenterFace finds "
        "faces down to ~20 px on the downscaled frame; BlazeFace (`mediapipe`) misses faces under ~1/15 of it.")
    min_score: float = Field(0.5, ge=0, le=1, description="Least detection score of a face kept for a track.")
    max_side: int = Field(
        384, ge=160, le=4096, description="Least longest side frames are downscaled to for detection (boxes and "
        "landmarks are scaled back; best shots are aligned from the full frame). The size used is the larger of "
        "this and the one `detect_face_px` needs, never more than the frame.")
    detect_face_px: float = Field(
        40, gt=0, description="Smallest face (pixels wide, full frame) detection must still find: frames are "
        "detected at a size where such a face is ~20 px, CenterFace's smallest (long side x 20 / detect_face_px: "
        "640 for 720p, 960 for 1080p). At a fixed 384 px bench/footage.py lost 3 of 24 appearances of 70 px "
        "grey faces.")
    detect_fps: float = Field(
        3.0, gt=0, le=60,
        description="Detections per second of video (every N-th frame, N = round(fps / detect_fps)): a face seen "
        "for less than about 2/detect_fps seconds may be missed. On bench/footage.py (640 px detection) 3 a second "
        "found 24/24 appearances at FPIR 0.1 for 0.8 of the CPU time of 4 a second (21/24).")
    decode_ahead: int = Field(
        2, ge=0, le=16, description="Detection frames a reader thread decodes ahead of the detector, so decoding "
        "and detection share the cores (0: decode in the scanning thread).")
    threads: int | None = Field(
        1, ge=1, le=64, description="onnxruntime threads of each detector and embedder call while indexing (None: "
        "the `threads` setting). One: the decode thread (`decode_ahead`) has the other core, and a 2-thread call "
        "only contends with it; on bench/footage.py 1 thread indexed at 5.2x real time where 2 gave 3.6x (load 8).")
    lost_s: float = Field(1.0, gt=0, description="A face track unseen for this many seconds of video has ended.")
    min_detections: int = Field(
        2, ge=1, description="Detections a track needs to be stored: a single-frame detection is more often a "
        "false positive than a person.")
    min_face_px: float = Field(24, ge=0, description="Faces narrower than this (pixels, full frame) are ignored: "
                               "too small to be recognised.")
    best_shots: int = Field(
        3, ge=1, le=10, description="A track's template is the mean of the embeddings of its this many best "
        "detections by face quality (the thumbnail is the best one). One best shot found 0.67 of the appearances "
        "past the candidates threshold on bench/footage.py.")
    thumbnail_px: int = Field(128, ge=32, le=512, description="Longest side of a track's thumbnail (encrypted).")
    checkpoint_s: float = Field(
        10.0, gt=0, description="Seconds of video between two commits of an index run: an interrupted run "
        "resumes from the last one (tracks still open then are found again, never stored twice).")
    candidates_fpir: float | None = Field(
        0.1, gt=0, le=0.5,
        description="FPIR over all indexed tracks at which a footage search marks a hit `above_threshold` (candidates "
        "mode: a ranked list for a person to review, never an automatic action). Looser than the gallery's "
        "`candidates_fpir` (0.01) because a footage search is a lead for review, not an identification: on "
        "bench/footage.py FPIR 0.01 kept 0.71 of the appearances, 0.1 kept more at a few results a probe (see "
        "docs/footage.md). None: the gallery's. The audit records the FPIR and threshold used.")
    top_k: int = Field(20, ge=1, le=1000, description="Candidates a footage search returns by default.")
    index_dir: Path | None = Field(
        None, description="Where the footage vector index lives (sealed files). None: <data_dir>/footage-index.")
