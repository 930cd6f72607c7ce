"""Code configs: the code space, its refusal, and the random characters."""

import re

import pytest

from apps.campaigns.codes import CodeConfig
from apps.core.errors import ApplicationError


def config(case_sensitive=False, **kwargs) -> CodeConfig:
    return CodeConfig(kwargs, case_sensitive=case_sensitive)


def test_length_and_charset_presets_make_the_code_space():
    assert config(length=6, charset="numbers").space().capacity == 10**6
    assert config(length=8, charset="alphanumeric_upper").space().capacity == 36**8
    # mixed case is one character per letter when codes ignore case…
    assert config(length=4, charset="alphanumeric").space().capacity == 36**4
    # …and two when they do not
    assert config(True, length=4, charset="alphanumeric").space().capacity == 62**4


def test_patterns_prefixes_and_postfixes_shape_every_code():
    codes = config(pattern="SPRING-##-##", charset="numbers", postfix="!").random_codes(200)
    assert all(re.fullmatch(r"SPRING-\d\d-\d\d!", code) for code in codes)
    assert config(pattern="##-##", charset="numbers").space().capacity == 10**4
    custom = config(length=5, charset="AB", prefix="X").random_codes(50)
    assert all(re.fullmatch(r"X[AB]{5}", code) for code in custom)


def test_the_code_space_refuses_a_count_it_cannot_hold_safely():
    small = config(length=3, charset="numbers")
    assert small.check_room(live=0, requested=100).fits
    with pytest.raises(ApplicationError, match="room for 1,000 codes") as error:
        small.check_room(live=50, requested=60)
    assert error.value.key == "code_config_too_small"
    assert "At most 50 more" in error.value.message
    space = config(length=8, charset="alphanumeric_upper").space(live=1_000, requested=1_000_000)
    assert space.fits and space.guess_odds < 1e-6


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"length": 0}, "length must be between 1 and 100"),
        ({"length": "x"}, "length must be a whole number"),
        ({"pattern": "ABC"}, "needs at least one #"),
        ({"pattern": "A B#"}, "pattern may not contain"),
        ({"charset": "aA"}, "at least two different characters (codes ignore case"),
        ({"charset": "ab c"}, "charset: use letters"),
        ({"prefix": "é"}, "prefix may not contain"),
        ({"length": 90, "prefix": "X" * 20}, "110 characters long"),
    ],
)
def test_bad_code_configs_are_refused_with_the_field(kwargs, message):
    with pytest.raises(ApplicationError, match=re.escape(message)):
        config(**kwargs)
