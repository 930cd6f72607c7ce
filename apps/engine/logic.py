"""Validation rules' `logic`: a boolean expression over rule numbers, parsed safely (never eval).

    parse_logic("(1 and 2) or 3", known={"1", "2", "3"})   -> an expression tree
    evaluate(tree, {"1": True, "2": False, "3": True})      -> True
    failing(tree, results)                                  -> the rule numbers that made it false

Grammar (case-insensitive keywords, as Voucherify's documents show both cases):

    expr   := term ("or" term)*
    term   := factor ("and" factor)*
    factor := NUMBER | "(" expr ")"

`and` binds tighter than `or`. There is no `not`: Voucherify's logic has none.
"""

import re
from dataclasses import dataclass

MAX_LENGTH = 1_000
MAX_DEPTH = 20
_TOKEN = re.compile(r"\s*(?:(\d+)|(\()|(\))|([A-Za-z]+))")


class LogicError(ValueError):
    """The expression cannot be parsed; `position` is the character it failed at."""

    def __init__(self, message: str, position: int):
        super().__init__(f"{message} (at character {position + 1})")
        self.message = message
        self.position = position


@dataclass(frozen=True)
class Rule:
    number: str


@dataclass(frozen=True)
class AllOf:
    parts: tuple


@dataclass(frozen=True)
class AnyOf:
    parts: tuple


Node = Rule | AllOf | AnyOf


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            start = len(text) - len(text[position:].lstrip())
            raise LogicError(f"unexpected “{text[start]}”", start)
        number, opening, closing, word = match.groups()
        start = match.start(match.lastindex)
        if number is not None:
            tokens.append(("number", number, start))
        elif opening:
            tokens.append(("(", "(", start))
        elif closing:
            tokens.append((")", ")", start))
        elif word.lower() in ("and", "or"):
            tokens.append((word.lower(), word, start))
        else:
            raise LogicError(f"unknown word “{word}” (use and, or, brackets, rule numbers)", start)
        position = match.end()
    return tokens


def parse_logic(text: str, *, known: set[str] | None = None) -> Node:
    """The expression tree; LogicError says what is wrong and where. With `known`, every rule
    number must be one of them."""
    if not isinstance(text, str) or not text.strip():
        raise LogicError("the logic is empty", 0)
    if len(text) > MAX_LENGTH:
        raise LogicError(f"the logic is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    tokens = _tokens(text)
    parser = _Parser(tokens, len(text), known)
    tree = parser.expression(depth=0)
    if parser.index < len(tokens):
        _, value, position = tokens[parser.index]
        raise LogicError(f"unexpected “{value}”", position)
    return tree


class _Parser:
    def __init__(self, tokens, length: int, known):
        self.tokens, self.length, self.known, self.index = tokens, length, known, 0

    def _peek(self) -> str | None:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else None

    def _position(self) -> int:
        return self.tokens[self.index][2] if self.index < len(self.tokens) else self.length

    def expression(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise LogicError(f"brackets nest deeper than {MAX_DEPTH}", self._position())
        parts = [self.term(depth)]
        while self._peek() == "or":
            self.index += 1
            parts.append(self.term(depth))
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def term(self, depth: int) -> Node:
        parts = [self.factor(depth)]
        while self._peek() == "and":
            self.index += 1
            parts.append(self.factor(depth))
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def factor(self, depth: int) -> Node:
        kind = self._peek()
        position = self._position()
        if kind == "number":
            number = self.tokens[self.index][1]
            self.index += 1
            if self.known is not None and number not in self.known:
                raise LogicError(f"there is no rule {number}", position)
            return Rule(number)
        if kind == "(":
            self.index += 1
            inner = self.expression(depth + 1)
            if self._peek() != ")":
                raise LogicError("a bracket is not closed", self._position())
            self.index += 1
            return inner
        if kind is None:
            raise LogicError("the logic ends too early: a rule number is missing", position)
        raise LogicError(f"expected a rule number, not “{self.tokens[self.index][1]}”", position)


def evaluate(tree: Node, results: dict[str, bool]) -> bool:
    if isinstance(tree, Rule):
        return bool(results[tree.number])
    if isinstance(tree, AllOf):
        return all(evaluate(part, results) for part in tree.parts)
    return any(evaluate(part, results) for part in tree.parts)


def failing(tree: Node, results: dict[str, bool]) -> list[str]:
    """The rules to blame when the expression is false: for "and", the failed parts; for "or",
    every part (none of them held). Empty when the expression is true."""
    if evaluate(tree, results):
        return []
    if isinstance(tree, Rule):
        return [tree.number]
    blamed: list[str] = []
    for part in tree.parts:
        for number in failing(part, results):
            if number not in blamed:
                blamed.append(number)
    return blamed


def rule_numbers(tree: Node) -> list[str]:
    if isinstance(tree, Rule):
        return [tree.number]
    return [number for part in tree.parts for number in rule_numbers(part)]


def default_logic(numbers: list[str]) -> str:
    """Voucherify's default when `logic` is missing: every rule must hold."""
    return " and ".join(sorted(numbers, key=int))
