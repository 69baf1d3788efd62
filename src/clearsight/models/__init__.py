"""Model registry and runtime adapters."""

from .registry import ModelSpec, ModelStatus, all_specs, get_spec, locate, register, resolve, status

__all__ = ["ModelSpec", "ModelStatus", "all_specs", "get_spec", "locate", "register", "resolve", "status"]
