"""The per-area settings models: pure pydantic, the bottom layer.

Every area imports its own model from here and nothing else of the platform, so the
settings never pull a feature area in (the root `config.py` composes them into one
`Settings`). Each field carries a description: OpenAPI and the console's forms show it.
"""

from .dms import DmsSettings
from .events import EventSettings
from .face import FaceSettings
from .facepay import FacePaySettings, FareTable
from .footage import FootageSettings
from .gallery import GallerySettings
from .images import ImageLimits
from .photos import PhotoSettings
from .kyc import KycSettings, LoginSettings
from .plates import PlateSettings
from .remote import AllowRule, RemoteAccess
from .server import RateLimits, ServerSettings

__all__ = ["AllowRule", "RemoteAccess", "DmsSettings", "EventSettings", "FacePaySettings", "FaceSettings", "FareTable", "FootageSettings", "GallerySettings", "ImageLimits", "KycSettings", "LoginSettings", "PhotoSettings", "PlateSettings", "RateLimits", "ServerSettings"]
