"""Stage 3, validation: the pandera schemas derived from the spec, one validation call per batch of
submissions, and `check` (read + validate, recording nothing)."""
