"""dbt's `exceptions` context for the sqlfluff Jinja templater (see ../.sqlfluff):
raise_compiler_error stops the rendering, as it stops dbt's compilation."""


class CompilationError(Exception):
    """A macro called exceptions.raise_compiler_error."""


def raise_compiler_error(msg: str, node: object = None) -> None:
    raise CompilationError(msg)


def warn(msg: str, node: object = None) -> str:
    return ""
