"""Voucher codes: the code config, its code space, and fast cryptographically random codes.

A code config is Voucherify's `code_config`:

    {"length": 8, "charset": "ABC…", "prefix": "SPRING-", "postfix": "", "pattern": "##-##"}

`pattern` (each `#` is one random character) wins over `length`. The charset may be given as a
preset name (alphanumeric, alphabetic, numbers, upper, lower, alphanumeric_upper) or as the
characters themselves (custom). In projects whose codes ignore case, "a" and "A" are one
character of the code space.

Random characters come from `secrets.token_bytes`, mapped onto the charset with rejection
sampling by `bytes.translate` (no modulo bias, no Python loop per character): a million codes
take a fraction of a second.
"""

import string
from dataclasses import dataclass

from apps.core.errors import ApplicationError
from apps.core.ids import random_chars

PRESETS = {
    "alphanumeric": string.digits + string.ascii_uppercase + string.ascii_lowercase,
    "alphanumeric_upper": string.digits + string.ascii_uppercase,
    "alphabetic": string.ascii_uppercase + string.ascii_lowercase,
    "numbers": string.digits,
    "upper": string.ascii_uppercase,
    "lower": string.ascii_lowercase,
}
DEFAULT_CONFIG = {"length": 8, "charset": "alphanumeric_upper", "prefix": "", "postfix": ""}
MAX_CODE_LENGTH = 100
MAX_FILL = 0.10  # a campaign may use at most 10 % of its code space
ALLOWED = frozenset(string.ascii_letters + string.digits + "-_.!$%&*+=:@")


@dataclass(frozen=True)
class CodeSpace:
    """What a code config can hold: `capacity` distinct codes; with `live` codes in it, a new
    random code collides with probability `collision_odds`, and a guess hits a live code with
    probability `guess_odds`."""

    alphabet: str
    slots: int
    capacity: int
    live: int = 0
    requested: int = 0

    @property
    def fill(self) -> float:
        return (self.live + self.requested) / self.capacity if self.capacity else 1.0

    @property
    def collision_odds(self) -> float:
        """The chance that the last code generated collides with one already there."""
        return min(1.0, self.fill)

    @property
    def guess_odds(self) -> float:
        return min(1.0, (self.live + self.requested) / self.capacity) if self.capacity else 1.0

    @property
    def fits(self) -> bool:
        return self.live + self.requested <= self.capacity * MAX_FILL


class CodeConfig:
    def __init__(self, config: dict | None, *, case_sensitive: bool):
        config = {**DEFAULT_CONFIG, **(config or {})}
        self.raw = config
        self.case_sensitive = case_sensitive
        self.prefix = str(config.get("prefix") or "")
        self.postfix = str(config.get("postfix") or "")
        self.pattern = str(config.get("pattern") or "")
        charset = str(config.get("charset") or DEFAULT_CONFIG["charset"])
        self.charset = PRESETS.get(charset, charset)
        try:
            self.length = int(config.get("length") or 0)
        except (TypeError, ValueError):
            raise ApplicationError(
                "code_config.length must be a whole number.", details="code_config.length"
            ) from None
        self._check()
        self.alphabet = self._alphabet()
        self.slots = self.pattern.count("#") if self.pattern else self.length
        # str.format template of a code: the fixed parts (never braces, see ALLOWED) around
        # one {} per random character
        fixed = self.pattern if self.pattern else "#" * self.length
        self.template = self.prefix + fixed.replace("#", "{}") + self.postfix

    def _check(self) -> None:
        for name, text in (("prefix", self.prefix), ("postfix", self.postfix)):
            bad = sorted(set(text) - ALLOWED)
            if bad:
                raise ApplicationError(
                    f"code_config.{name} may not contain {' '.join(bad)!r}",
                    details=f"code_config.{name}",
                )
        bad = sorted(set(self.pattern) - ALLOWED - {"#"})
        if bad:
            raise ApplicationError(
                f"code_config.pattern may not contain {' '.join(bad)!r}",
                details="code_config.pattern",
            )
        bad = sorted(set(self.charset) - ALLOWED)
        if bad:
            raise ApplicationError(
                "code_config.charset: use letters, digits and - _ . ! $ % & * + = : @ "
                f"(not {' '.join(bad)!r})",
                details="code_config.charset",
            )
        if self.pattern and "#" not in self.pattern:
            raise ApplicationError(
                "code_config.pattern needs at least one # for a random character.",
                details="code_config.pattern",
            )
        if not self.pattern and not 1 <= self.length <= MAX_CODE_LENGTH:
            raise ApplicationError(
                f"code_config.length must be between 1 and {MAX_CODE_LENGTH}.",
                details="code_config.length",
            )
        total = len(self.prefix) + len(self.postfix) + (len(self.pattern) or self.length)
        if total > MAX_CODE_LENGTH:
            raise ApplicationError(
                f"Codes would be {total} characters long; the limit is {MAX_CODE_LENGTH}.",
                details="code_config",
            )

    def _alphabet(self) -> str:
        seen, alphabet = set(), []
        for char in self.charset:
            key = char if self.case_sensitive else char.upper()
            if key not in seen:
                seen.add(key)
                alphabet.append(char)
        if len(alphabet) < 2:
            raise ApplicationError(
                "code_config.charset needs at least two different characters"
                + ("" if self.case_sensitive else " (codes ignore case in this project)")
                + ".",
                details="code_config.charset",
            )
        return "".join(alphabet)

    def space(self, *, live: int = 0, requested: int = 0) -> CodeSpace:
        return CodeSpace(
            alphabet=self.alphabet,
            slots=self.slots,
            capacity=len(self.alphabet) ** self.slots,
            live=live,
            requested=requested,
        )

    def check_room(self, *, live: int, requested: int) -> CodeSpace:
        space = self.space(live=live, requested=requested)
        if not space.fits:
            room = max(0, int(space.capacity * MAX_FILL) - live)
            raise ApplicationError(
                f"This code format has room for {space.capacity:,} codes; "
                f"{live + requested:,} would make random codes easy to guess and slow to "
                f"generate. At most {room:,} more can be generated: make the codes longer or "
                "use more characters.",
                key="code_config_too_small",
                details="code_config",
            )
        return space

    def key(self, code: str) -> str:
        return code_key(code, case_sensitive=self.case_sensitive)

    def random_codes(self, count: int) -> list[str]:
        """`count` random codes (they may repeat; the unique constraint decides)."""
        chars = random_chars(self.alphabet, count * self.slots)
        slots, template = self.slots, self.template
        if template == "{}" * slots:
            return [chars[i : i + slots] for i in range(0, len(chars), slots)]
        return [template.format(*chars[i : i + slots]) for i in range(0, len(chars), slots)]

    def samples(self, count: int = 5) -> list[str]:
        return self.random_codes(count)


def code_key(code: str, *, case_sensitive: bool) -> str:
    return code if case_sensitive else code.upper()
