"""Face-level capabilities built on the vision primitives: pipeline, verification."""
