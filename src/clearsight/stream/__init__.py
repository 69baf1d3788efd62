"""The video engine: camera configs, detection/tracking stages, zones, per-track
recognition, the per-camera pipeline, a camera manager and the Ray engine."""

from .config import CameraConfig, CameraConfigError, load_camera, parse_camera

__all__ = ["CameraConfig", "CameraConfigError", "load_camera", "parse_camera"]
