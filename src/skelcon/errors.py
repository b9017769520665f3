"""User-facing errors.

Anything a user can get wrong (a bad flag, a missing directory, a malformed file)
raises :class:`SkelconError`; the CLI prints its message on one line and exits 2.
Programming errors stay ordinary exceptions with tracebacks.
"""

from __future__ import annotations


class SkelconError(Exception):
    """A mistake in user input, reported as one line without a traceback.

    ``param`` names the Python parameter the message is about (``"test_fraction"``): a
    library message says ``test_fraction must be ...``, and the command line, which knows
    which flag set that parameter, says ``--test-fraction must be ...`` instead (see
    :func:`skelcon.cli.common.error_line`). ``None``: the message needs no translation.
    """

    def __init__(self, *args: object, param: str | None = None):
        super().__init__(*args)
        self.param = param


class DataFormatError(SkelconError):
    """A raw or prepared data file that does not follow its format.

    ``path`` and ``line`` (1-based, when known) say where.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        self.reason = message
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f":{line}"
            where += ": "
        super().__init__(where + message)


class Interrupted(BaseException):
    """A run stopped by SIGINT or SIGTERM (a ``BaseException``, like ``KeyboardInterrupt``,
    so ``except Exception`` never swallows it).

    ``str()`` is the one line the CLI prints (what was kept, how to go on);
    ``exit_code`` is the shell convention ``128 + signal`` (130 SIGINT, 143 SIGTERM).
    """

    def __init__(self, message: str, signum: int):
        self.signum = int(signum)
        self.exit_code = 128 + self.signum
        super().__init__(message)


def choices_message(what: str, value: object, valid) -> str:
    """``unknown representation 'foo' (valid: seq, img, stg)``."""
    return f"unknown {what} {value!r} (valid: {', '.join(str(v) for v in valid)})"
