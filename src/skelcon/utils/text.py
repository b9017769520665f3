"""Reading the text files users hand over: one tolerant decoder, one field parser.

Every text reader of skelcon (label files, split lists, missing-sample lists, class
names, NW-UCLA json, YAML configs, skeleton text files) goes through
:func:`decode_text` / :func:`read_text`, so all of them accept a UTF-8 (or UTF-16)
byte-order mark and any line ending (``\\n``, ``\\r\\n``, ``\\r``). Numeric fields go
through :func:`parse_int` / :func:`parse_float`, whose errors all read
``file:line: <what> <value> is not ..., expected ...``
(:class:`~skelcon.errors.DataFormatError`).
"""

from __future__ import annotations

import codecs
import gzip
import lzma
import math
import os
import re
from collections.abc import Callable
from pathlib import Path

from ..errors import DataFormatError, SkelconError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_FIELD_SEP = re.compile(r"[,;\s]+")


def strip_bom(data: bytes) -> bytes:
    """``data`` without a leading UTF-8 byte-order mark (for byte-level parsers)."""
    return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data


def decode_text(data: bytes) -> str:
    """Bytes of a text file -> ``str`` with ``\\n`` line ends and no byte-order mark.

    The encoding is the one a BOM names, else UTF-8; undecodable bytes become U+FFFD
    (a field holding one is then reported by the parser that reads it).
    """
    encoding = "utf-8"
    for bom, enc in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom) :], enc
            break
    text = data.decode(encoding, errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_text(path: str | os.PathLike[str], what: str = "file") -> str:
    """Read a text file (plain, ``.xz`` or ``.gz``) through :func:`decode_text`.

    Raises :class:`DataFormatError` (``path: cannot read <what>: <reason>``).
    """
    p = Path(path)
    try:
        if p.name.endswith(".xz"):
            with lzma.open(p, "rb") as f:
                data = f.read()
        elif p.name.endswith(".gz"):
            with gzip.open(p, "rb") as f:
                data = f.read()
        else:
            data = p.read_bytes()
    except (lzma.LZMAError, EOFError, gzip.BadGzipFile) as e:
        kind = "xz" if p.name.endswith(".xz") else "gzip"
        raise DataFormatError(f"corrupt {kind} stream ({e or 'truncated'})", str(p)) from None
    except OSError as e:
        raise DataFormatError(f"cannot read {what}: {e.strerror or e}", str(p)) from None
    return decode_text(data)


def text_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, stripped line)`` of the non-blank lines (1-based numbers)."""
    return [(i, s.strip()) for i, s in enumerate(text.split("\n"), 1) if s.strip()]


def split_fields(line: str) -> list[str]:
    """Fields separated by commas, semicolons, tabs or spaces (any mix, any number).

    A trailing separator (``18,377,423,2,``) adds no empty field.
    """
    return [f for f in _FIELD_SEP.split(line.strip()) if f]


def parse_int(
    token: str, what: str = "value", path: str | None = None, line: int | None = None
) -> int:
    """An integer field: ``"12"``, ``"+12"`` or an integral float such as ``"12.0"``/``"1.2e1"``.

    Raises :class:`DataFormatError` (``path:line: <what> '<token>' is not an integer``).
    """
    s = token.strip()
    try:
        return int(s)
    except ValueError:
        pass
    try:
        v = float(s)
    except ValueError:
        v = math.nan
    if math.isfinite(v) and v == int(v):
        return int(v)
    raise DataFormatError(f"{what} {token!r} is not an integer", path, line)


def parse_float(
    token: str,
    what: str = "value",
    path: str | None = None,
    line: int | None = None,
    *,
    finite: bool = True,
) -> float:
    """A float field, anything Python's ``float()`` reads (``1e-4``, ``5E-2``, ``.5``).

    With ``finite`` (the default) NaN and infinities are refused. Raises
    :class:`DataFormatError` (``path:line: <what> '<token>' is not a (finite) number``).
    """
    try:
        v = float(token.strip())
    except ValueError:
        raise DataFormatError(f"{what} {token!r} is not a number", path, line) from None
    if finite and not math.isfinite(v):
        raise DataFormatError(f"{what} {token!r} is not a finite number", path, line)
    return v


def number_list(text: str, bad: Callable[[str], str], param: str | None = None) -> list[float]:
    """``"0.6,0.6,0.4"`` -> ``[0.6, 0.6, 0.4]``: the comma-separated numbers of a flag.
    An entry that is not a number raises :class:`~skelcon.errors.SkelconError` with the
    message ``bad(entry)`` (and ``param``, the parameter the command line names)."""
    out = []
    for part in text.split(","):
        try:
            out.append(float(part))
        except ValueError:
            raise SkelconError(bad(part.strip()), param=param) from None
    return out


def yaml_error_message(what: str, path: str | os.PathLike[str], error: BaseException) -> str:
    """One line for a YAML file that does not parse, naming where:
    ``layout file rig.yaml:3:6 is not valid YAML: expected ',' or ']', but got ':'
    (while parsing a flow sequence from 2:9)``. ``error`` is what ``yaml.safe_load`` of
    the file's :func:`read_text` raised (a ``yaml.YAMLError``, or ``ValueError`` /
    ``RecursionError`` for over-long integers / deep nesting, which have no position)."""
    if isinstance(error, RecursionError):
        return f"{what} {os.fspath(path)} is not valid YAML: nested too deeply"
    mark = getattr(error, "problem_mark", None)
    where = os.fspath(path)
    if mark is not None:
        where += f":{mark.line + 1}:{mark.column + 1}"
    problem = getattr(error, "problem", None)
    if problem is None:  # not a MarkedYAMLError: its own text, first line
        text = str(error).splitlines()
        problem = text[0] if text and text[0] else type(error).__name__
    context = getattr(error, "context", None)
    if context:
        cmark = getattr(error, "context_mark", None)
        if cmark is not None:
            context += f" from {cmark.line + 1}:{cmark.column + 1}"
        problem += f" ({context})"
    return f"{what} {where} is not valid YAML: {problem}"
