"""Stage 1, the form: the spec file and everything derived from it (the cell layout, the hidden `_meta`
sheet, the template and each agency's copy, the rulebook, sample returns), and the registry of agencies
the form goes to."""
