"""The regex harness: every regular expression in the product, timed on hostile input.

A pattern that backtracks exponentially (ReDoS) or quadratically freezes the server on
one message, because matching holds the GIL. This harness finds every pattern without
a hand-kept list:

- compiled ``re.Pattern`` objects reachable from the modules of the given packages
  (module globals, class attributes, and lists, tuples and dicts of them), which covers
  patterns assembled from f-strings;
- literal patterns passed to ``re.compile``/``re.sub``/``re.search``/... inside
  functions, found in the source with ``ast``.

Each pattern is run (``finditer`` to the end, the costliest use) against inputs built
from its own parts: runs of its literal fragments and of characters from its classes,
behind its first literal and without its closing delimiter, plus long runs of letters,
digits, spaces and dots. Matching is interrupted after ``cap_s`` (``_sre`` checks for
signals), so a catastrophic pattern is reported instead of hanging the run.
``python -m evaluation.regex_safety`` prints the slowest patterns.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

PACKAGES = ("assistant", "ingest")
LIMIT_MS = 50.0
# the longest question /api/chat accepts (Settings.max_message_chars)
DEFAULT_LENGTH = 4000

_RE_FUNCTIONS = {"compile", "sub", "subn", "search", "match", "fullmatch", "findall", "finditer"}
_RE_FUNCTIONS |= {"split"}
_GENERIC_RUNS = ("a", "A", "1", " ", ".", "-", "aa ", "a.", "a-", "1 ", "1.", "a1", "\n", "é")


@dataclass(frozen=True)
class FoundPattern:
    """A pattern and where it was found (``module.NAME`` or ``path:line``)."""

    where: str
    pattern: re.Pattern


@dataclass(frozen=True)
class Timing:
    """The slowest input found for one pattern."""

    where: str
    pattern: str
    worst_ms: float
    worst_input: str

    @property
    def interrupted(self) -> bool:
        return self.worst_input.startswith("(interrupted)")


def find_patterns(packages: Iterable[str] = PACKAGES) -> list[FoundPattern]:
    """Every pattern of the packages, each (source, flags) once."""
    found: dict[tuple[str | bytes, int], FoundPattern] = {}
    for module in _modules(packages):
        for where, pattern in _reachable_patterns(module):
            found.setdefault((pattern.pattern, pattern.flags), FoundPattern(where, pattern))
        source = inspect.getsourcefile(module)
        if source:
            for where, pattern in _literal_patterns(Path(source)):
                found.setdefault((pattern.pattern, pattern.flags), FoundPattern(where, pattern))
    return list(found.values())


def hostile_inputs(pattern: re.Pattern, length: int = DEFAULT_LENGTH) -> list[str]:
    """Inputs of about ``length`` characters built from the pattern's own parts."""
    if not isinstance(pattern.pattern, str):
        return []
    tree = sre_parse.parse(pattern.pattern, pattern.flags)
    parts = _Parts()
    whole = parts.sample(list(tree))
    class_chars = _class_characters(tree)
    fragments = [*parts.fragments, *_literals(tree), *class_chars, *_GENERIC_RUNS]
    fragments += [a + b for a in class_chars[:6] for b in class_chars[:6] if a != b]
    fragments = [f for f in dict.fromkeys(fragments) if f]
    leads = [lead for lead in dict.fromkeys([parts.lead(list(tree)), whole[:-1]]) if lead]
    inputs = []
    for fragment in [*fragments, *(f + " " for f in fragments[:20])]:
        run = (fragment * (length // len(fragment) + 1))[:length]
        inputs += [run, run[: length - 1] + "!"]
        inputs += [(lead + run)[:length] for lead in leads if lead != fragment]
    return list(dict.fromkeys(inputs))


def time_pattern(found: FoundPattern, length: int = DEFAULT_LENGTH, cap_s: float = 0.5) -> Timing:
    """The pattern's slowest hostile input (the better of two tries, to discount noise)."""
    worst_ms, worst_input = 0.0, ""
    for text in hostile_inputs(found.pattern, length):
        elapsed = _run_once(found.pattern, text, cap_s)
        if elapsed is not None and elapsed > LIMIT_MS:
            second = _run_once(found.pattern, text, cap_s)
            elapsed = None if second is None else min(elapsed, second)
        if elapsed is None:
            return Timing(found.where, found.pattern.pattern, cap_s * 1000, "(interrupted) " + text)
        if elapsed > worst_ms:
            worst_ms, worst_input = elapsed, text
    return Timing(found.where, found.pattern.pattern, worst_ms, worst_input)


def time_all(
    packages: Iterable[str] = PACKAGES, length: int = DEFAULT_LENGTH, cap_s: float = 0.5
) -> list[Timing]:
    """Timings of every pattern, slowest first."""
    timings = [time_pattern(found, length, cap_s) for found in find_patterns(packages)]
    return sorted(timings, key=lambda t: t.worst_ms, reverse=True)


class _TooSlow(Exception):
    pass


def _interrupt(signum: int, frame: object) -> None:
    raise _TooSlow


def _run_once(pattern: re.Pattern, text: str, cap_s: float) -> float | None:
    """Milliseconds for ``finditer`` over the whole text; None when interrupted."""
    previous = signal.signal(signal.SIGALRM, _interrupt)
    start = time.perf_counter()
    try:
        signal.setitimer(signal.ITIMER_REAL, cap_s)
        for _ in pattern.finditer(text):
            pass
        return (time.perf_counter() - start) * 1000
    except _TooSlow:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _modules(packages: Iterable[str]) -> Iterator[object]:
    for name in packages:
        package = importlib.import_module(name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            yield importlib.import_module(info.name)


def _reachable_patterns(module: object) -> Iterator[tuple[str, re.Pattern]]:
    """Patterns in the module's globals and in its own classes, lists, tuples and dicts."""
    seen: set[int] = set()

    def walk(value: object, where: str, depth: int) -> Iterator[tuple[str, re.Pattern]]:
        if id(value) in seen or depth > 4:
            return
        seen.add(id(value))
        if isinstance(value, re.Pattern):
            yield where, value
        elif isinstance(value, list | tuple | set | frozenset):
            for index, item in enumerate(value):
                yield from walk(item, f"{where}[{index}]", depth + 1)
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from walk(item, f"{where}[{key!r}]", depth + 1)
        elif inspect.isclass(value) and value.__module__ == module.__name__:  # type: ignore[attr-defined]
            for key, item in vars(value).items():
                yield from walk(item, f"{where}.{key}", depth + 1)

    for name, value in vars(module).items():
        yield from walk(value, f"{module.__name__}.{name}", 0)  # type: ignore[attr-defined]


def _literal_patterns(path: Path) -> Iterator[tuple[str, re.Pattern]]:
    """``re.<function>("literal", ...)`` calls in a source file, with their flags."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.func.attr in _RE_FUNCTIONS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            continue
        flags = _flags(node)
        try:
            yield f"{path.name}:{node.lineno}", re.compile(node.args[0].value, flags)
        except re.error:
            continue


def _flags(call: ast.Call) -> int:
    """The flags of a ``re`` call when they are written as ``re.X | re.Y``, else 0."""
    nodes = [kw.value for kw in call.keywords if kw.arg == "flags"]
    position = {"compile": 1, "search": 2, "match": 2, "fullmatch": 2, "findall": 2}
    position |= {"finditer": 2, "split": 3, "sub": 4, "subn": 4}
    index = position.get(call.func.attr, 99)  # type: ignore[attr-defined]
    if len(call.args) > index:
        nodes.append(call.args[index])
    flags = 0
    for node in nodes:
        for part in ast.walk(node):
            if isinstance(part, ast.Attribute) and isinstance(part.value, ast.Name):
                flags |= int(getattr(re, part.attr, 0))
    return flags


class _Parts:
    """Builds a short matching sample of each part of a parsed pattern and keeps the
    samples of its groups, alternatives and repeated bodies as fragments."""

    def __init__(self) -> None:
        self.fragments: list[str] = []

    def lead(self, items: list) -> str:
        """A sample of what comes before the pattern's first repetition."""
        for index, (op, _) in enumerate(items):
            if op in _REPEATS:
                return self.sample(items[:index], keep=False)
        return ""

    def sample(self, items: Iterable, keep: bool = True) -> str:
        return "".join(self._node(op, av, keep) for op, av in items)

    def _node(self, op: object, av: object, keep: bool) -> str:
        c = sre_constants
        if op is c.LITERAL:
            return chr(av)  # type: ignore[arg-type]
        if op is c.NOT_LITERAL:
            return "b" if av == ord("a") else "a"
        if op is c.ANY:
            return "a"
        if op is c.IN:
            return _class_sample(av)  # type: ignore[arg-type]
        if op is c.BRANCH:
            samples = [self.sample(branch, keep) for branch in av[1]]  # type: ignore[index]
            self._keep(samples, keep)
            return samples[0]
        if op is c.SUBPATTERN:
            text = self.sample(av[3], keep)  # type: ignore[index]
            self._keep([text], keep)
            return text
        if op is c.ATOMIC_GROUP:
            return self.sample(av, keep)  # type: ignore[arg-type]
        if op in _REPEATS:
            low, high, body = av  # type: ignore[misc]
            text = self.sample(body, keep)
            self._keep([text], keep)
            return text * min(max(low, 1), high, 10)
        return ""  # anchors, look-arounds, back-references

    def _keep(self, samples: list[str], keep: bool) -> None:
        if keep:
            self.fragments += samples


_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)
_CANDIDATES = "a1 .-xZ_é"


def _class_sample(items: list) -> str:
    """A character the class matches: its first member, or one outside a negated class."""
    c = sre_constants
    if items and items[0][0] is c.NEGATE:
        for candidate in _CANDIDATES:
            if not _in_class(candidate, items[1:]):
                return candidate
        return "a"
    for kind, value in items:
        if kind is c.LITERAL:
            return chr(value)
        if kind is c.RANGE:
            return chr(value[0])
        if kind is c.CATEGORY:
            return _CATEGORY_SAMPLES.get(value, "a")
    return "a"


def _in_class(char: str, items: list) -> bool:
    c = sre_constants
    for kind, value in items:
        if kind is c.LITERAL and chr(value) == char:
            return True
        if kind is c.RANGE and value[0] <= ord(char) <= value[1]:
            return True
        if kind is c.CATEGORY and re.fullmatch(_CATEGORY_CLASSES.get(value, "(?!)"), char):
            return True
    return False


_CATEGORY_SAMPLES = {
    sre_constants.CATEGORY_DIGIT: "1",
    sre_constants.CATEGORY_WORD: "a",
    sre_constants.CATEGORY_SPACE: " ",
    sre_constants.CATEGORY_NOT_DIGIT: "a",
    sre_constants.CATEGORY_NOT_WORD: " ",
    sre_constants.CATEGORY_NOT_SPACE: "a",
}
_CATEGORY_CLASSES = {
    sre_constants.CATEGORY_DIGIT: r"\d",
    sre_constants.CATEGORY_WORD: r"\w",
    sre_constants.CATEGORY_SPACE: r"\s",
    sre_constants.CATEGORY_NOT_DIGIT: r"\D",
    sre_constants.CATEGORY_NOT_WORD: r"\W",
    sre_constants.CATEGORY_NOT_SPACE: r"\S",
}


def _literals(tree: sre_parse.SubPattern) -> list[str]:
    """Runs of literal characters anywhere in the pattern, in order."""
    runs: list[str] = []

    def walk(items: Iterable) -> None:
        current = ""
        for op, av in items:
            if op is sre_constants.LITERAL:
                current += chr(av)
                continue
            if current:
                runs.append(current)
                current = ""
            for sub in _subpatterns(op, av):
                walk(sub)
        if current:
            runs.append(current)

    walk(tree)
    return list(dict.fromkeys(runs))


def _class_characters(tree: sre_parse.SubPattern) -> list[str]:
    """One character for each class, category and range the pattern uses."""
    chars: list[str] = []

    def walk(items: Iterable) -> None:
        for op, av in items:
            if op is sre_constants.IN:
                for kind, value in av:
                    if kind is sre_constants.LITERAL:
                        chars.append(chr(value))
                    elif kind is sre_constants.RANGE:
                        chars.append(chr(value[0]))
                    elif kind is sre_constants.CATEGORY and value in _CATEGORY_SAMPLES:
                        chars.append(_CATEGORY_SAMPLES[value])
            elif op is sre_constants.ANY:
                chars.append("a")
            for sub in _subpatterns(op, av):
                walk(sub)

    walk(tree)
    return list(dict.fromkeys(chars))


def _subpatterns(op: object, av: object) -> list:
    """The nested sub-patterns of one parsed node."""
    if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT):
        return [av[2]]  # type: ignore[index]
    if op is sre_constants.SUBPATTERN:
        return [av[3]]  # type: ignore[index]
    if op is sre_constants.BRANCH:
        return list(av[1])  # type: ignore[index]
    if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
        return [av[1]]  # type: ignore[index]
    if op is sre_constants.ATOMIC_GROUP:
        return [av]
    if op is sre_constants.GROUPREF_EXISTS:
        return [branch for branch in av[1:] if branch]  # type: ignore[index]
    return []


def main() -> None:
    """Print the number of patterns and the five slowest."""
    timings = time_all()
    slow = [t for t in timings if t.worst_ms > LIMIT_MS]
    print(f"regex harness: {len(timings)} patterns, {DEFAULT_LENGTH}-character hostile inputs")
    print(f"  slowest: {timings[0].worst_ms:.2f} ms ({timings[0].where})")
    for timing in timings[1:5]:
        print(f"           {timing.worst_ms:.2f} ms ({timing.where})")
    print(f"  over {LIMIT_MS:.0f} ms: {len(slow)}")
    if slow:
        sys.exit(1)


if __name__ == "__main__":
    main()
