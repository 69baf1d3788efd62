"""The video engine: camera configs, detection/tracking stages, zones, per-track
recognition, the plug-in registry for analysers and frame filters (`analysers`),
the annotator, the per-camera pipeline, a camera manager and the Ray engine.

Apps provide further analysers and filters by registering them in
`stream.analysers`; `clearsight.apps.compose` loads them and builds pipelines.
"""

from .config import CameraConfig, CameraConfigError, load_camera, parse_camera

__all__ = ["CameraConfig", "CameraConfigError", "load_camera", "parse_camera"]
