"""The kernel's bitmap text formats (topology/cpulist.py).

Checked against modern lib/bitmap-str.c (bitmap_parselist, bitmap_parse) and
lib/vsprintf.c (bitmap_list_string ``%*pbl``, bitmap_string ``%*pb``).
"""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topology.cpulist import MaskParseError, format_hex, format_list, parse_hex, parselist


def bits_of(*cpus: int) -> int:
    out = 0
    for cpu in cpus:
        out |= 1 << cpu
    return out


def errno_of_parselist(text: str, nbits: int | None = None) -> int:
    with pytest.raises(MaskParseError) as info:
        parselist(text, nbits)
    return info.value.errno


def errno_of_parse_hex(text: str, nbits: int | None = None) -> int:
    with pytest.raises(MaskParseError) as info:
        parse_hex(text, nbits)
    return info.value.errno


# -- bitmap_parselist: the grammar ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", bits_of(3)),
        ("0-3", bits_of(0, 1, 2, 3)),
        ("0-3,8,10-11", bits_of(0, 1, 2, 3, 8, 10, 11)),
        ("5-5", bits_of(5)),
        ("3,1,2", bits_of(1, 2, 3)),
        ("0-3,2-5", bits_of(0, 1, 2, 3, 4, 5)),
        ("", 0),
    ],
)
def test_parselist_reads_numbers_ranges_and_lists(text: str, expected: int) -> None:
    assert parselist(text, 64) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The kernel-doc example of bitmap_parselist.
        ("0-1023:2/256", bits_of(0, 1, 256, 257, 512, 513, 768, 769)),
        # The last group is cut at the end of the range.
        ("0-9:3/4", bits_of(0, 1, 2, 4, 5, 6, 8, 9)),
        ("9-38:4/10", bits_of(9, 10, 11, 12, 19, 20, 21, 22, 29, 30, 31, 32)),
        ("0-7:0/2", 0),
        ("0-7:2/2", bits_of(*range(8))),
    ],
)
def test_parselist_stride_form_sets_used_bits_of_every_group(text: str, expected: int) -> None:
    assert parselist(text, 1024) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("N", bits_of(7)),
        ("N-N", bits_of(7)),
        ("4-N", bits_of(4, 5, 6, 7)),
        ("0-N:1/2", bits_of(0, 2, 4, 6)),
        ("all", bits_of(*range(8))),
        ("ALL", bits_of(*range(8))),
        ("All:1/4", bits_of(0, 4)),
        ("all,3", bits_of(*range(8))),
    ],
)
def test_parselist_n_is_the_last_bit_and_all_is_every_bit(text: str, expected: int) -> None:
    assert parselist(text, 8) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" 0 , 2\t3 ", bits_of(0, 2, 3)),
        (",,1,,", bits_of(1)),
        ("\t\v\f\r1", bits_of(1)),
        ("0-3\n", bits_of(0, 1, 2, 3)),
        # A newline right after a plain region ends the list: the rest is not read.
        ("0-3\ngarbage", bits_of(0, 1, 2, 3)),
        # Between regions a newline is just whitespace (bitmap_find_region uses isspace).
        ("0,\n1", bits_of(0, 1)),
        ("\n5", bits_of(5)),
        # After a stride region the kernel does not check for the end of the string.
        ("0-7:1/2\n9", bits_of(0, 2, 4, 6, 9)),
        # NUL always ends the text.
        ("1\x002", bits_of(1)),
        (" \n", 0),
    ],
)
def test_parselist_tolerates_the_whitespace_the_kernel_tolerates(text: str, expected: int) -> None:
    assert parselist(text, 16) == expected


@pytest.mark.parametrize(
    "text",
    [
        "3-1",  # start > end
        "a",
        "1-",
        "-1",
        "1 - 3",  # '-' starts a region of its own
        "0-3:3/0",  # group 0
        "0-3:5/4",  # used > group
        "0-3:1",  # no '/group'
        "0-3:1/",
        "0-3/1",
        "1:2/4",  # a pattern needs a range (or all) before it
        "1.5",
        "0x3",
        "0-3;4",
        "Nx",
        "allx",
        "1\xa02",  # U+00A0 is UTF-8 C2 A0 for the kernel: not isspace()
        "\u0661",  # ARABIC-INDIC DIGIT ONE is no digit to the kernel
        "4294967295",  # end + 1 wraps to group_len 0: EINVAL before ERANGE
    ],
)
def test_parselist_malformed_text_is_einval(text: str) -> None:
    assert errno_of_parselist(text, 64) == errno.EINVAL


@pytest.mark.parametrize("text", ["N", "all", "0-N"])
def test_parselist_n_and_all_without_a_width_are_einval(text: str) -> None:
    assert errno_of_parselist(text) == errno.EINVAL


@pytest.mark.parametrize("text", ["8", "0-8", "7,8", "0-100:1/50"])
def test_parselist_bit_beyond_the_width_is_erange(text: str) -> None:
    assert errno_of_parselist(text, 8) == errno.ERANGE


@pytest.mark.parametrize(
    "text", ["4294967296", "0-99999999999999999999", "0-3:4294967296/8", "0-3:1/4294967296"]
)
def test_parselist_number_beyond_unsigned_int_is_eoverflow(text: str) -> None:
    assert errno_of_parselist(text, 64) == errno.EOVERFLOW


def test_parselist_checks_regions_in_order_so_the_first_bad_one_decides() -> None:
    assert (errno_of_parselist("9,x", 8), errno_of_parselist("x,9", 8)) == (
        errno.ERANGE,
        errno.EINVAL,
    )


def test_parselist_error_message_names_the_text_and_the_offending_region() -> None:
    with pytest.raises(MaskParseError) as info:
        parselist("0-3,5-2,7", 8)
    assert str(info.value) == "invalid range in cpulist '0-3,5-2,7' at '5-2,'"


def test_mask_parse_error_is_a_value_error() -> None:
    assert issubclass(MaskParseError, ValueError)


def test_parselist_without_width_accepts_any_bit() -> None:
    assert parselist("4095,100000") == bits_of(4095, 100000)


# -- bitmap_parse: the hex form ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00000000,00000003", 3),
        ("f", 0xF),
        ("F", 0xF),
        ("ff,00000000", 0xFF << 32),
        # Grouping the kernel-doc allows: "1,,5", ",44", "," and "".
        ("1,,5", (1 << 32) | 5),
        (",44", 0x44),
        (",", 0),
        ("", 0),
        # Leading, embedded and trailing whitespace.
        (" 1 2 ", (1 << 32) | 2),
        ("3\n", 3),
        ("3\nzz", 3),
        ("3\x00zz", 3),
        # Short chunks get leading zero bits.
        ("1,1", (1 << 32) | 1),
    ],
)
def test_parse_hex_reads_32_bit_chunks_most_significant_first(text: str, expected: int) -> None:
    assert parse_hex(text, 64) == expected


@pytest.mark.parametrize("text", ["g", "0x3", "1\x1c2", "12 3g"])
def test_parse_hex_non_hex_character_is_einval(text: str) -> None:
    assert errno_of_parse_hex(text, 64) == errno.EINVAL


@pytest.mark.parametrize(
    ("text", "nbits"),
    [
        ("123456789", 64),  # a chunk wider than 32 bits
        ("1,00000000", 32),  # more chunks than 32 bits hold
        ("1ff", 8),  # bits beyond the width in the last chunk
        ("1", 0),
    ],
)
def test_parse_hex_too_wide_is_eoverflow(text: str, nbits: int) -> None:
    assert errno_of_parse_hex(text, nbits) == errno.EOVERFLOW


def test_parse_hex_reads_from_the_end_so_the_rightmost_fault_decides() -> None:
    assert (errno_of_parse_hex("zz,123456789", 64), errno_of_parse_hex("123456789,zz", 64)) == (
        errno.EOVERFLOW,
        errno.EINVAL,
    )


def test_parse_hex_skips_the_character_before_a_full_chunk_like_the_kernel() -> None:
    # bitmap_get_x32_reverse only tests that character for being a hex digit.
    assert (parse_hex("x0000000f", 64), parse_hex("1g0000000f", 64)) == (0xF, (1 << 32) | 0xF)


# -- %*pbl and %*pb ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bits", "expected"),
    [
        (0, ""),
        (bits_of(5), "5"),
        (bits_of(1, 2), "1-2"),
        (bits_of(0, 1, 2, 3, 8, 10, 11), "0-3,8,10-11"),
        (bits_of(0, 2, 4), "0,2,4"),
        (bits_of(63, 64, 65, 4095), "63-65,4095"),
    ],
)
def test_format_list_prints_ranges_like_bitmap_list_string(bits: int, expected: str) -> None:
    assert format_list(bits) == expected


@pytest.mark.parametrize(
    ("bits", "nbits", "expected"),
    [
        (0xF, 4, "f"),
        (3, 8, "03"),
        (3, 64, "00000000,00000003"),
        (3, 32, "00000003"),
        (1 << 32, 33, "1,00000000"),
        (1, 36, "0,00000001"),
        (0, 0, ""),
        (3, None, "00000003"),
        (1 << 40, None, "00000100,00000000"),
    ],
)
def test_format_hex_first_chunk_is_as_wide_as_its_bits(
    bits: int, nbits: int | None, expected: str
) -> None:
    assert format_hex(bits, nbits) == expected


def test_format_hex_refuses_bits_beyond_the_width() -> None:
    with pytest.raises(ValueError, match="beyond the width 4"):
        format_hex(0x10, 4)


# -- properties -----------------------------------------------------------------------

bit_sets = st.frozensets(st.integers(0, 600), max_size=40)


@given(bit_sets)
def test_parselist_reads_back_what_format_list_prints(cpus: frozenset[int]) -> None:
    bits = bits_of(*cpus)
    assert parselist(format_list(bits), 601) == bits


@given(bit_sets, st.integers(0, 100))
def test_parse_hex_reads_back_what_format_hex_prints(cpus: frozenset[int], extra: int) -> None:
    bits = bits_of(*cpus)
    nbits = 601 + extra
    assert parse_hex(format_hex(bits, nbits), nbits) == bits


@given(
    st.lists(st.integers(0, 200), min_size=1, max_size=20),
    st.lists(st.sampled_from([",", " ", "\t", ", ", ",,", "\n,"]), min_size=20, max_size=20),
)
def test_parselist_any_separator_mix_names_the_same_bits(cpus: list[int], seps: list[str]) -> None:
    text = "".join(f"{sep}{cpu}" for cpu, sep in zip(cpus, seps, strict=False))
    # A newline straight after a number would end the list; the separators put a
    # comma after each newline, which keeps every number.
    assert parselist(text.replace("\n,", ",\n"), 201) == bits_of(*cpus)


@given(st.integers(0, 300), st.integers(0, 300), st.integers(0, 40), st.integers(1, 40))
def test_parselist_stride_matches_the_kernel_loop(
    start: int, length: int, used: int, group: int
) -> None:
    end = start + length
    text = f"{start}-{end}:{used}/{group}"
    if used > group:
        assert errno_of_parselist(text, 1024) == errno.EINVAL
        return
    expected: set[int] = set()
    for base in range(start, end + 1, group):  # bitmap_set_region
        expected.update(range(base, base + min(end - base + 1, used)))
    assert parselist(text, 1024) == bits_of(*expected)


def outcome(parse: Callable[[str, int], int], text: str, nbits: int) -> str:
    """ "ok" for bits within the width, else the errno's name; any other exception escapes."""
    try:
        bits = parse(text, nbits)
    except MaskParseError as exc:
        return errno.errorcode[exc.errno]
    return "ok" if bits >> nbits == 0 else "bits beyond the width"


@given(st.text(alphabet=st.sampled_from("0123456789-:/,N al\n\t"), max_size=30))
def test_parselist_any_text_gives_bits_or_a_kernel_errno(text: str) -> None:
    assert outcome(parselist, text, 64) in {"ok", "EINVAL", "ERANGE", "EOVERFLOW"}


@given(st.text(alphabet=st.sampled_from("0123456789abcdefxg, \n"), max_size=40))
def test_parse_hex_any_text_gives_bits_or_a_kernel_errno(text: str) -> None:
    assert outcome(parse_hex, text, 96) in {"ok", "EINVAL", "EOVERFLOW"}
