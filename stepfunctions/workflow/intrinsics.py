"""Intrinsic functions (`"key.$": "States.Format('{}', $.x)"`): parsing on load, evaluation at run.

Arguments are string literals in single quotes (`\\'`, `\\{`, `\\}` and `\\\\` are the only escapes),
numbers, `true` / `false` / `null`, paths (`$...` into the data, `$$...` into the context object)
and nested calls, at most 10 deep. A definition naming an unknown function, giving a function the
wrong number of arguments or writing a malformed call is refused on load. At run time a path that
matches nothing fails with States.Runtime, as on AWS; a function refusing its arguments fails with
States.IntrinsicFailure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn

from .errors import INTRINSIC_FAILURE, RUNTIME, StatesError
from .intrinsic_functions import FUNCTIONS, FunctionArgumentError, format_segments
from .paths import Path, PathSyntaxError, find, parse_path, where_missing

PREFIX = "States."
MAX_NESTING = 10

_NAME = re.compile(r"States\.([A-Za-z0-9]+)\(")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_KEYWORDS = {"true": True, "false": False, "null": None}
_ESCAPABLE = "'{}\\"


class IntrinsicSyntaxError(ValueError):
    """The text is not a well-formed call of a known intrinsic function."""


@dataclass(frozen=True)
class Call:
    """`States.<name>(args...)`, its arguments possibly calls themselves."""

    name: str
    args: tuple[Literal | PathArgument | Call, ...]


@dataclass(frozen=True)
class Literal:
    """A string, number, true, false or null written in the call."""

    value: Any
    # For a string literal: its text split at each unescaped `{}` (States.Format's placeholders).
    segments: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PathArgument:
    """A path into the data (`$.x`), the context object (`$$.x`) or a variable (`$v`)."""

    path: Path


Argument = Literal | PathArgument | Call


def is_intrinsic(text: Any) -> bool:
    return isinstance(text, str) and text.startswith(PREFIX)


@lru_cache(maxsize=1024)
def parse_intrinsic(text: str) -> Call:
    """Parse a call; raises IntrinsicSyntaxError saying what is wrong and where."""
    parser = _Parser(text)
    call = parser.call(depth=1)
    parser.skip_spaces()
    if parser.pos != len(text):
        parser.fail("unexpected text after the call")
    return call


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def fail(self, message: str) -> NoReturn:
        where = self.text[self.pos :] or "the end"
        raise IntrinsicSyntaxError(
            f"'{self.text}' is not a valid intrinsic function: {message} (at '{where}')"
        )

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def call(self, depth: int) -> Call:
        if depth > MAX_NESTING:
            self.fail(f"intrinsic functions nest at most {MAX_NESTING} deep")
        match = _NAME.match(self.text, self.pos)
        if not match:
            self.fail("expected a call such as States.Format(...)")
        name = match.group(1)
        if name not in FUNCTIONS:
            self.fail(f"unknown intrinsic function States.{name}")
        self.pos = match.end()
        args: list[Argument] = []
        self.skip_spaces()
        if self.text.startswith(")", self.pos):
            self.pos += 1
        else:
            while True:
                self.skip_spaces()
                args.append(self.argument(depth))
                self.skip_spaces()
                if self.text.startswith(",", self.pos):
                    self.pos += 1
                elif self.text.startswith(")", self.pos):
                    self.pos += 1
                    break
                else:
                    self.fail("expected ',' or ')'")
        low, high, _ = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            expected = str(low) if low == high else f"{low} to {high if high is not None else 'n'}"
            raise IntrinsicSyntaxError(
                f"States.{name} takes {expected} arguments, not {len(args)} ('{self.text}')"
            )
        if name == "Format" and isinstance(args[0], Literal) and args[0].segments is not None:
            placeholders = len(args[0].segments) - 1
            if placeholders != len(args) - 1:
                raise IntrinsicSyntaxError(
                    f"States.Format has {placeholders} placeholders '{{}}' but "
                    f"{len(args) - 1} values to put in them ('{self.text}')"
                )
        return Call(name, tuple(args))

    def argument(self, depth: int) -> Argument:
        text, pos = self.text, self.pos
        if text.startswith("'", pos):
            return self.string()
        if text.startswith("$", pos):
            return self.path()
        if text.startswith(PREFIX, pos):
            return self.call(depth + 1)
        for word, value in _KEYWORDS.items():
            end = pos + len(word)
            if text.startswith(word, pos) and (end == len(text) or text[end] in " ,)"):
                self.pos = end
                return Literal(value)
        match = _NUMBER.match(text, pos)
        if match:
            self.pos = match.end()
            number = match.group(0)
            return Literal(float(number) if any(c in number for c in ".eE") else int(number))
        self.fail("expected a string, number, true, false, null, path or intrinsic function")

    def string(self) -> Literal:
        self.pos += 1  # the opening quote
        segments, current = [], []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                following = self.text[self.pos + 1 : self.pos + 2]
                if not following or following not in _ESCAPABLE:
                    self.fail("an open escape '\\' (only \\', \\{, \\} and \\\\ are escapes)")
                current.append(following)
                self.pos += 2
                continue
            if char == "'":
                self.pos += 1
                segments.append("".join(current))
                return Literal("{}".join(segments), tuple(segments))
            if self.text.startswith("{}", self.pos):
                segments.append("".join(current))
                current = []
                self.pos += 2
                continue
            current.append(char)
            self.pos += 1
        self.fail("a string literal is not closed")

    def path(self) -> PathArgument:
        start, depth, quote = self.pos, 0, None
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote:
                if char == "\\":
                    self.pos += 1
                elif char == quote:
                    quote = None
            elif char in "'\"" and depth:
                quote = char
            elif char == "[":
                depth += 1
            elif char == "]":
                depth -= 1
            elif char in ",)" and not depth:
                break
            self.pos += 1
        try:
            return PathArgument(parse_path(self.text[start : self.pos].rstrip(), variables=True))
        except PathSyntaxError as exc:
            raise IntrinsicSyntaxError(f"'{self.text}': {exc}") from None


# --- evaluation ----------------------------------------------------------------------------------
def evaluate_intrinsic(text: str, data: Any, context: Any, variables: Mapping | None = None) -> Any:
    """The value of the call `text` (already validated on load) for this input and context.

    Raises StatesError: States.Runtime for a path argument that matches nothing, and
    States.IntrinsicFailure for a function refusing its arguments, each naming the whole call.
    """
    call = parse_intrinsic(text)
    try:
        return _evaluate(call, data, context, variables)
    except FunctionArgumentError as failure:
        raise StatesError(
            INTRINSIC_FAILURE, f"The function '{text}' had the following error: {failure}"
        ) from None
    except _Missing as missing:
        raise StatesError(
            RUNTIME,
            f"The function '{text}' had the following error: The JsonPath argument for the field "
            f"'{missing.path.text}' could not be found in "
            + where_missing(missing.path, data, context, variables),
        ) from None


class _Missing(Exception):
    def __init__(self, path: Path) -> None:
        self.path = path


def _evaluate(node: Argument, data: Any, context: Any, variables: Mapping | None) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, PathArgument):
        found, value = find(node.path, data, context, variables)
        if not found:
            raise _Missing(node.path)
        return value
    args = [_evaluate(arg, data, context, variables) for arg in node.args]
    _, _, function = FUNCTIONS[node.name]
    if node.name == "Format":
        template = node.args[0]
        if isinstance(template, Literal) and template.segments is not None:
            return format_segments(template.segments, args[1:])
    return function(*args)
