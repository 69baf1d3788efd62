"""Perception primitives, one module each: detection, landmarks, alignment, embedding, quality."""
