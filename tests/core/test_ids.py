"""Bulk random characters and public ids (apps.core.ids)."""

import collections
import re

from apps.core.ids import ordered_public_ids, random_chars, random_public_ids


def test_random_characters_cover_the_alphabet_evenly():
    text = random_chars("ABC", 30_000)
    counts = collections.Counter(text)
    assert set(counts) == {"A", "B", "C"}
    # rejection sampling: no character is favoured (each ~10,000; 5 sigma is about 400)
    assert all(9_400 < n < 10_600 for n in counts.values()), counts


def test_public_ids_in_bulk_look_like_single_ones():
    ids = random_public_ids("v", 1_000)
    assert len(set(ids)) == 1_000
    assert all(re.fullmatch(r"v_[A-Za-z0-9]{24}", public_id) for public_id in ids)


def test_ordered_public_ids_sort_by_time_and_stay_unguessable():
    first = ordered_public_ids("v", 1_000, now=1_800_000_000.000)
    later = ordered_public_ids("v", 1_000, now=1_800_000_000.001)
    assert first == sorted(first) and len(set(first)) == 1_000
    assert max(first) < min(later)  # a later batch lands after an earlier one in the index
    assert all(len(public_id) == len("v_") + 24 for public_id in first + later)
    # 16 random characters follow the time stamp: no two ids share them
    assert len({public_id[-16:] for public_id in first + later}) == 2_000
