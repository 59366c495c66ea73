"""The JSONPath subset of Amazon States Language and the data-flow steps built on it.

Supported: `$`, `$$` (the context object), `.name`, `['name']` / `["name"]`, `[n]` and `[-n]`.
Wildcards, recursive descent, slices and filters are refused: a path here always names one node.
A quoted name is read as AWS reads it: a backslash keeps the next character from closing the
quote, and stays in the name (`$['a\\'b']` names `a\\'b`).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .errors import RESULT_PATH_MATCH_FAILURE, RUNTIME, StatesError

_NAME = re.compile(r"\.([^.\[\]'\"*\s]+)")
_QUOTED = re.compile(r"\[(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\")\]")
_INDEX = re.compile(r"\[(-?\d+)\]")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class PathSyntaxError(ValueError):
    """The text is not a path of the supported JSONPath subset."""


@dataclass(frozen=True)
class Path:
    """A parsed path: `root` is "$" (the data), "$$" (the context object) or "$name" (the
    workflow variable `name`)."""

    text: str
    root: str
    steps: tuple[str | int, ...]

    @property
    def is_context(self) -> bool:
        return self.root == "$$"

    @property
    def variable(self) -> str | None:
        return self.root[1:] if self.root not in ("$", "$$") else None


def parse_path(text: str, *, variables: bool = False) -> Path:
    """Parse `text`; raises PathSyntaxError unless it is a single-node path of the subset.

    With `variables`, a path may start at a workflow variable (`$name.field`).
    """
    if not isinstance(text, str):
        raise PathSyntaxError(f"{text!r} is not a JSONPath: it must be a string")
    return _parse_path(text, variables)


@lru_cache(maxsize=1024)
def _parse_path(text: str, variables: bool) -> Path:
    if not text.startswith("$"):
        raise PathSyntaxError(f"'{text}' is not a JSONPath: it must start with '$'")
    root = "$$" if text.startswith("$$") else "$"
    if root == "$" and variables and (named := VARIABLE_NAME.match(text, 1)):
        root = "$" + named.group(0)
    pos, steps = len(root), []
    while pos < len(text):
        for pattern in (_NAME, _QUOTED, _INDEX):
            match = pattern.match(text, pos)
            if match:
                break
        else:
            raise PathSyntaxError(
                f"'{text}' is not a supported JSONPath (at '{text[pos:]}'; wildcards, "
                "recursive descent, slices and filters are not supported)"
            )
        if pattern is _INDEX:
            steps.append(int(match.group(1)))
        elif pattern is _QUOTED:
            steps.append(match.group(1) if match.group(1) is not None else match.group(2))
        else:
            steps.append(match.group(1))
        pos = match.end()
    return Path(text, root, tuple(steps))


def parse_reference_path(text: str) -> Path:
    """Parse a ResultPath: rooted at `$` and made only of field names, so it can be written to."""
    path = parse_path(text)
    if path.is_context or any(isinstance(step, int) for step in path.steps):
        raise PathSyntaxError(f"'{text}' must be a reference path of object fields under '$'")
    return path


def to_json(value: Any) -> str:
    """Compact JSON text, the way history events carry input and output."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def lookup(path: Path, data: Any) -> tuple[bool, Any]:
    """(found, node) for `path`'s steps from `data` (whatever its root)."""
    node = data
    for step in path.steps:
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                return False, None
            node = node[step]
        else:
            if not isinstance(node, dict) or step not in node:
                return False, None
            node = node[step]
    return True, node


def root_of(path: Path, data: Any, context: Any, variables: Mapping | None) -> tuple[bool, Any]:
    """(found, node) for the root `path` starts from: the data, the context object or a variable."""
    if path.variable is not None:
        if variables is None or path.variable not in variables:
            return False, None
        return True, variables[path.variable]
    return True, context if path.is_context else data


def find(path: Path, data: Any, context: Any, variables: Mapping | None = None) -> tuple[bool, Any]:
    """(found, node) for `path` in `data`, `context` (`$$`) or `variables` (`$name`)."""
    found, root = root_of(path, data, context, variables)
    return lookup(path, root) if found else (False, None)


def where_missing(path: Path, data: Any, context: Any, variables: Mapping | None) -> str:
    """How an error names what `path` was looked up in (the input, the context object, ...)."""
    found, root = root_of(path, data, context, variables)
    if path.variable is None:
        where = "the context object" if path.is_context else "the input"
        return f"{where} '{to_json(root)}'"
    if not found:
        return f"the variables (there is no variable '{path.variable}')"
    return f"the variable '{path.variable}' '{to_json(root)}'"


def path_exists(path: Path, data: Any, context: Any, variables: Mapping | None = None) -> bool:
    """Whether `path` names a node of `data` (or of `context` for `$$` paths, or a variable)."""
    return find(path, data, context, variables)[0]


def resolve(
    path: Path | str, data: Any, context: Any, *, field: str, variables: Mapping | None = None
) -> Any:
    """The node `path` names; raises StatesError("States.Runtime") naming `field` if there is none.

    The node is returned as is, not copied: callers must not mutate it.
    """
    if isinstance(path, str):
        path = parse_path(path, variables=True)
    found, value = find(path, data, context, variables)
    if not found:
        raise StatesError(
            RUNTIME,
            f"The JSONPath '{path.text}' specified for the field '{field}' could not be found "
            f"in {where_missing(path, data, context, variables)}",
        )
    return value


def normalized(path: Path) -> str:
    """The path as Jayway JsonPath (which AWS runs) prints it in errors: `$['a'][0]`."""
    return "$" + "".join(
        f"[{step}]" if isinstance(step, int) else f"['{step}']" for step in path.steps
    )


def select(path: Path, data: Any, context: Any) -> Any:
    """InputPath / OutputPath: the node `path` names (in `context` for `$$` paths).

    Raises StatesError("States.Runtime") worded as AWS words it when there is none.
    """
    found, value = find(path, data, context)
    if not found:
        raise StatesError(
            RUNTIME, f"Invalid path '{path.text}' : No results for path: {normalized(path)}"
        )
    return value


def apply_input_path(path: Path | None, raw_input: Any, context: Any = None) -> Any:
    """InputPath: None (JSON null) gives `{}`; otherwise the node the path names (`$$` paths
    name a node of the context object)."""
    if path is None:
        return {}
    return select(path, raw_input, context)


def apply_output_path(path: Path | None, output: Any, context: Any = None) -> Any:
    """OutputPath: None (JSON null) gives `{}`; otherwise the node the path names (`$$` paths
    name a node of the context object)."""
    if path is None:
        return {}
    return select(path, output, context)


def apply_result_path(path: Path | None, raw_input: Any, result: Any) -> Any:
    """ResultPath, applied to the state's raw input; the caller's `raw_input` is never mutated.

    None (JSON null) keeps the input; `$` replaces it with `result`; `$.a.b` writes `result` there,
    creating missing parent objects and overwriting what was there. Writing into something that
    is not an object raises StatesError("States.ResultPathMatchFailure").
    """
    if path is None:
        return raw_input
    if not path.steps:
        return result
    output = copy.deepcopy(raw_input)
    node = output
    for i, step in enumerate(path.steps):
        if not isinstance(node, dict):
            raise StatesError(
                RESULT_PATH_MATCH_FAILURE,
                f"Unable to apply ResultPath \"{path.text}\" to input '{to_json(raw_input)}'",
            )
        if i == len(path.steps) - 1:
            node[step] = result
        else:
            node = node.setdefault(step, {})
    return output
