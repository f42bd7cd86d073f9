"""What eqinfo-generate tells its user when it cannot go on, and the name it says it under."""

PROG = "eqinfo-generate"   # the prefix of the command's notes and errors


class GenerateError(ValueError):
    """A run directory, method or model that cannot be generated from (the CLI prints it)."""
