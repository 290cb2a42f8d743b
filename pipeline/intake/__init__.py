"""Stage 2, intake: one received file → one `Submission`. The preflight guards the bytes before any parser
touches them; the reader finds the form's cells, normalises each value the Vietnamese way and identifies
the agency."""
