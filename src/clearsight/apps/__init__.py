"""Products built from the core: each app composes perception, analysis and sinks."""
