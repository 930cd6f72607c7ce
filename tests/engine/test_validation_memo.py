"""_left (the order as the redeemables so far left it) built once per memo while nothing has
been taken off the lines, and never served from the memo once something has."""

from apps.engine.snapshot import Item
from apps.engine.totals import Totals
from apps.engine.validation import _left


def test_left_lines_come_from_the_memo_only_while_nothing_is_taken_off_them():
    items = [Item(price=100 * n, quantity=2, amount=200 * n) for n in range(1, 4)]
    memo = {}
    fresh = Totals(amount=1200)
    first = _left(items, fresh, memo)
    assert first == _left(items, fresh)  # the same order as without a memo
    assert _left(items, fresh, memo).lines is first.lines  # built once

    taken = Totals(amount=1200, items={1: 150})
    left = _left(items, taken, memo)
    assert [line.amount for line in left.lines] == [200, 250, 600]

    other = [Item(price=5, quantity=1, amount=5)]  # another cart: other lines
    assert [line.amount for line in _left(other, Totals(amount=5), memo).lines] == [5]
