"""Turn one raw spreadsheet cell into a typed value, the Vietnamese way.

python-calamine hands us ``''`` for an empty cell, ``float`` for every .xlsx number, ``int`` for whole
.xls numbers, ``str``, ``bool`` and ``datetime.date``/``datetime.datetime``.  The returns come from
2007 offices, so the text side carries vi-VN number conventions (``1.234,5``), day-first dates,
written-out dates (``ngày 15 tháng 10 năm 2007``), NFD "tổ hợp" Unicode and the two legacy 8-bit font
encodings TCVN3 (ABC, ``.VnTime``) and VNI (``VNI-Times``) that Excel delivers as cp1252 look-alikes.
See domain-brief §4 and reliability-notes §6.3.

Every parser returns a :class:`Parsed`: the typed value, whether it parsed, and stable *note keys* the
caller turns into warnings.  The functions are pure and stdlib-only; the reader calls them about two
million times a run, so the common cases (a float, ``''``, plain ASCII) cost a couple of type checks.

Note keys emitted (stable; the reader maps them to messages):

==========================  ===================================================================
``not_a_number``            text (or a date) that is not a number; also NaN/inf
``bool_as_number``          a TRUE/FALSE cell where a number is asked
``us_format``               text used ',' as the thousands separator (``1,234,567`` or ``1,234.5``)
``ambiguous``               ``1,500``: read as the vi-VN decimal 1.5; ``detail`` gives 1500
``unexpected_percent``      ``85%`` where a plain number is asked (not ok)
``fraction_as_percent``     a percent field held 0 < v < 1; scaled to v*100
``ambiguous_percent``       a percent field held exactly 1: 1 % or 100 %? kept as 1
``placeholder``             ``-``, ``x``, ``không``, ``chưa có``… read as 0 (or rejected)
``not_integer``             integer=True and the value has a fraction (not ok)
``grouped_thousands``       a whole number or a year typed as 2.003 into a program that took the dot for a decimal
                            point: read as 2003, the Vietnamese way; ``detail`` = the number as it was (2.003)
``not_a_bool``              not a recognised yes/no spelling
``serial``                  a date came as an Excel serial number
``two_digit_year``          ``15/10/07``: the century was guessed (00–29 → 20xx, 30–99 → 19xx)
``year_only``               a date field held just a year such as 2007 (not ok)
``not_a_date``              not a date, or an impossible one (31/02/2007)
``not_a_year``              not a single four-digit year
``from_date``               a year field held a full date; its year was taken
``tcvn3`` / ``vni``         text was converted from that legacy encoding; ``detail`` = original
``nfc``                     text was in decomposed (NFD) form and was composed
``eth_lookalike``           Icelandic Ð/ð replaced by Vietnamese Đ/đ
``control_chars``           control or zero-width characters were removed
``coerced``                 a non-text cell (number, date, bool) was turned into text
==========================  ===================================================================
"""

from __future__ import annotations

import contextlib
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

__all__ = [
    "Parsed",
    "clean_text",
    "detect_legacy",
    "is_blank",
    "normalize_key",
    "parse_bool",
    "parse_date",
    "parse_number",
    "parse_year",
    "tcvn3_to_unicode",
    "unicode_to_tcvn3",
    "unicode_to_vni",
    "vni_to_unicode",
]


@dataclass(frozen=True, slots=True)
class Parsed:
    """Result of parsing one cell.

    ``value`` is None when the cell is empty or could not be parsed; ``ok`` is False only in the
    second case, so "empty" and "wrong" stay distinguishable.  ``notes`` are stable keys (see the
    module docstring); ``detail`` is a short human string for the first note that needs one.
    """

    value: object
    ok: bool
    notes: tuple[str, ...] = ()
    detail: str = ""


_EMPTY = Parsed(None, True)


# ---------------------------------------------------------------------------------------------------
# Vietnamese letters and the two legacy encodings
# ---------------------------------------------------------------------------------------------------

# Tone order used by both legacy tables: none, huyền, hỏi, ngã, sắc, nặng.
_TONE_MARKS = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")
_TONE_MARK_SET = frozenset(_TONE_MARKS[1:])


def _toned(base: str, tone: int) -> str:
    """The precomposed letter for ``base`` with tone number ``tone`` (0 = none)."""
    return unicodedata.normalize("NFC", base + _TONE_MARKS[tone])


# TCVN 5712:1993 VN3.  One row per base vowel: the code for the bare vowel, then huyền, hỏi, ngã,
# sắc, nặng.  Codes are the cp1252 characters Excel shows for the byte values.  U+00AD (soft
# hyphen, byte 0xAD) is the letter ư, which is why nothing may strip it before detection.
_TCVN3_ROWS: dict[str, str] = {
    "a": "aµ¶·¸¹",
    "ă": "¨»¼½¾Æ",
    "â": "©ÇÈÉÊË",
    "e": "eÌÎÏÐÑ",
    "ê": "ªÒÓÔÕÖ",
    "i": "i×ØÜÝÞ",
    "o": "oßáâãä",
    "ô": "«åæçèé",
    "ơ": "¬êëìíî",
    "u": "uïñòóô",
    "ư": "\u00adõö÷øù",
    "y": "yúûüýþ",
}
# đ and the seven capitals TCVN3 has (capitals with tone marks do not exist: see .VnTimeH below).
_TCVN3_SINGLES: dict[str, str] = {
    "đ": "®",
    "Ă": "¡",
    "Â": "¢",
    "Ê": "£",
    "Ô": "¤",
    "Ơ": "¥",
    "Ư": "¦",
    "Đ": "§",
}


def _build_tcvn3() -> tuple[dict[int, str], dict[int, str]]:
    """Decode table (code → letter) and encode table (letter → code) for str.translate."""
    decode: dict[int, str] = {}
    encode: dict[int, str] = {}
    for base, codes in _TCVN3_ROWS.items():
        for tone, code in enumerate(codes):
            letter = _toned(base, tone)
            if code != letter:
                decode[ord(code)] = letter
                encode[ord(letter)] = code
            upper = letter.upper()
            # TCVN3 has no toned capitals; a typist would have used the lower-case code in an
            # all-capitals font, so that is the (lossy) best encoding.
            if ord(upper) not in encode and upper != letter and not upper.isascii():
                encode[ord(upper)] = code
    for letter, code in _TCVN3_SINGLES.items():
        decode[ord(code)] = letter
        encode[ord(letter)] = code
    return decode, encode


_TCVN3_DECODE, _TCVN3_ENCODE = _build_tcvn3()
_TCVN3_CODES = frozenset(chr(c) for c in _TCVN3_DECODE)
# Codes that never occur in correct Unicode Vietnamese nor commonly in English/French text.
_TCVN3_STRONG = frozenset("µ¸¶·¹¨©ª«¬®§ÜÞËÖ")
_TCVN3_LOWER_CODES = frozenset(chr(c) for c, letter in _TCVN3_DECODE.items() if letter.islower())
_MICRO_UNIT = re.compile("µ[mgslMLV]")
# Other TCVN3 codes that are not Unicode Vietnamese letters (but occur in French, German, Nordic
# words): two words carrying them, with every word valid, also count as evidence ("Thuû lîi").
_TCVN3_MEDIUM = _TCVN3_CODES - _TCVN3_STRONG - frozenset("àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ\u00ad")

# VNI-Windows: a base letter followed by a mark byte; ơ ư đ and the toned i are single bytes.
_VNI_TONE = ("øûõùï", "ØÛÕÙÏ")  # huyền hỏi ngã sắc nặng after a, e, o, u, y, ơ, ư
_VNI_CIRC = ("âàåãáä", "ÂÀÅÃÁÄ")  # â ê ô, then with each tone
_VNI_BREVE = ("êèúüéë", "ÊÈÚÜÉË")  # ă, then with each tone
_VNI_I = ("iìæóíò", "IÌÆÓÍÒ")  # i and its toned forms are single bytes


def _build_vni() -> tuple[dict[int, str], dict[str, str], dict[str, str]]:
    """Encode table (letter → VNI string) and strict and lenient decode tables (VNI → letter)."""
    encode: dict[int, str] = {}
    for case in (0, 1):
        up = (lambda s: s.upper()) if case else (lambda s: s)
        tone, circ, breve, ivow = _VNI_TONE[case], _VNI_CIRC[case], _VNI_BREVE[case], _VNI_I[case]
        o_horn, u_horn = ("Ô", "Ö") if case else ("ô", "ö")
        plain_bases = {"a": up("a"), "e": up("e"), "o": up("o"), "u": up("u"), "y": up("y"),
                       "ơ": o_horn, "ư": u_horn}
        for vowel, vni_base in plain_bases.items():
            for t in range(6):
                encode[ord(up(_toned(vowel, t)))] = vni_base + (tone[t - 1] if t else "")
        for vowel, vni_base in (("â", up("a")), ("ê", up("e")), ("ô", up("o"))):
            for t in range(6):
                encode[ord(up(_toned(vowel, t)))] = vni_base + circ[t]
        for t in range(6):
            encode[ord(up(_toned("ă", t)))] = up("a") + breve[t]
            letter = up(_toned("i", t))
            if letter != ivow[t]:
                encode[ord(letter)] = ivow[t]
        encode[ord(up("đ"))] = "Ñ" if case else "ñ"
    for key in [k for k, v in encode.items() if chr(k) == v]:
        del encode[key]
    strict = {v: chr(k) for k, v in encode.items()}
    # When converting, accept a mark byte of the other case too (Caps Lock and shift-typing mix
    # them; the base letter decides the case).  Detection uses only the strict, case-matched table:
    # TCVN3 "Thuû" (Thuỷ) must not pass for VNI "Thủ".
    lenient = dict(strict)
    for seq, letter in strict.items():
        if len(seq) == 2:
            lenient.setdefault(seq[0] + seq[1].swapcase(), letter)
    return encode, strict, lenient


def _alternation(keys: dict[str, str]) -> re.Pattern[str]:
    """Regex matching any key, two-character keys first."""
    return re.compile("|".join(re.escape(k) for k in sorted(keys, key=lambda k: (-len(k), k))))


_VNI_ENCODE, _VNI_STRICT, _VNI_DECODE = _build_vni()
_VNI_PATTERN = _alternation(_VNI_DECODE)
_VNI_STRICT_PATTERN = _alternation(_VNI_STRICT)
# Evidence of VNI that correct Unicode Vietnamese can never produce: mark bytes that are not
# Vietnamese letters, and base+mark pairs other than o + à/á/ã (which spell "hoà", "hoá", "hoãn").
_VNI_STRONG_BYTES = "øûïåäëüæöñØÛÏÅÄËÜÆÖÑ"
_VNI_STRONG = re.compile(
    "["
    + re.escape(_VNI_STRONG_BYTES)
    + "]|"
    + "|".join(
        re.escape(k)
        for k in sorted(_VNI_STRICT)
        if len(k) == 2 and not (k[0] in "oO" and k[1] in "àáãÀÁÃ")
    )
)

# Code points that only correct Unicode Vietnamese produces: a cp1252 byte string (what a legacy
# font's text arrives as) cannot contain them.  Combining marks mean NFD Unicode.
_REAL_VN = re.compile("[\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169\u01a0\u01a1\u01af\u01b0\u0300-\u036f\u1ea0-\u1ef9]")
_TOKEN = re.compile("[A-Za-z\u00a1-\u024f]+")

# A Vietnamese syllable, tone marks removed: onset, then either a nucleus that may take a final
# consonant, or one that ends in a glide and may not.  Used to check that a tentative legacy
# conversion produced Vietnamese rather than mangled French or German.
_ONSETS = "ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx]"
_CLOSABLE = ("uyê", "iê", "yê", "oa", "oă", "oe", "oo", "uâ", "uê", "uô", "uy", "ươ",
             "a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y")
_OPEN = ("iêu", "oai", "oay", "oao", "oeo", "uây", "uôi", "uya", "uyu", "ươi", "ươu", "yêu",
         "ai", "ao", "au", "ay", "âu", "ây", "eo", "êu", "ia", "iu", "oi", "ôi", "ơi", "ua", "ui",
         "uơ", "ưa", "ưi", "ưu")
_SYLLABLE = re.compile(
    f"(?:{_ONSETS})?(?:(?:{'|'.join(_CLOSABLE)})(?:ch|ng|nh|[cmnpt])?|(?P<open>{'|'.join(_OPEN)}))"
)
_DROP_TONES = {ord(m): None for m in _TONE_MARK_SET}
# Abbreviations such as QĐ, NĐ, ĐVT, HĐND: consonant capitals around a Đ.
_ABBREV_D = re.compile("[BCDFGHKLMNPQRSTVX]*Đ[BCDFGHKLMNPQRSTVXĐ]*")


def _is_syllable(token: str) -> bool:
    """True when ``token`` is one well-formed Vietnamese syllable.

    At most one tone mark, and not on the closing glide of an open nucleus ("hai" takes its tone on
    the a, never "haỉ"; "thuở" is the one exception).  That rule tells VNI "HAØ" (HÀ) from the same
    bytes read as TCVN3.
    """
    lower = token.lower()
    toned = [i for i, ch in enumerate(lower)
             if ch > "\x7f" and not _TONE_MARK_SET.isdisjoint(unicodedata.normalize("NFD", ch))]
    if len(toned) > 1:
        return False
    plain = unicodedata.normalize("NFC", unicodedata.normalize("NFD", lower).translate(_DROP_TONES))
    m = _SYLLABLE.fullmatch(plain)
    if m is None:
        return False
    if toned and m.group("open") and m.group("open") != "uơ":
        return toned[0] != m.end("open") - 1
    return True


def _is_vn_word(converted: str) -> bool:
    """A converted token counts as Vietnamese if it is a syllable or a Đ-abbreviation (QĐ, ĐVT)."""
    if _is_syllable(converted):
        return True
    return 2 <= len(converted) <= 6 and _ABBREV_D.fullmatch(converted) is not None


def _tcvn3_strong_token(token: str) -> bool:
    """Does ``token`` carry a TCVN3 marker that plain Unicode text would not?

    Single characters (© alone, a · separator) and micro units (µm, µg) are no evidence.  Õ is also
    a Unicode Vietnamese capital (VÕ, NGÕ), so it counts only after a lower-case ASCII letter
    (tÕ = tế, thÕ = thế); the soft hyphen (= ư) counts inside a word.
    """
    if len(token) < 2 or _MICRO_UNIT.fullmatch(token):
        return False
    if not _TCVN3_STRONG.isdisjoint(token) or "\u00ad" in token:
        return True
    i = token.find("Õ")
    return i > 0 and any("a" <= ch <= "z" for ch in token[:i])


def _score_tcvn3(tokens: list[str]) -> tuple[int, int, int, int]:
    """(valid, invalid, strong, medium) counts of non-ASCII tokens read as TCVN3.

    strong and medium count valid tokens only.
    """
    valid = invalid = strong = medium = 0
    for tok in tokens:
        if any(ch > "\x7f" and ch not in _TCVN3_CODES for ch in tok):
            invalid += 1  # holds a character TCVN3 cannot produce (à, Á, ð…)
            continue
        if _is_vn_word(tok.translate(_TCVN3_DECODE)):
            valid += 1
            strong += _tcvn3_strong_token(tok)
            medium += not _TCVN3_MEDIUM.isdisjoint(tok)
        else:
            invalid += 1
    return valid, invalid, strong, medium


def _score_vni(tokens: list[str]) -> tuple[int, int, int]:
    """(valid, invalid, strong) counts of non-ASCII tokens read as (case-matched) VNI.

    Tokens that decoding leaves alone still count, valid ("chính") or not ("lîi").
    """
    valid = invalid = strong = 0
    for tok in tokens:
        conv = _VNI_STRICT_PATTERN.sub(lambda m: _VNI_STRICT[m.group()], tok)
        if _is_vn_word(conv):
            valid += 1
            # A bare vowel ("où" → "ó") is too little to go on.
            strong += conv != tok and len(conv) >= 2 and _VNI_STRONG.search(tok) is not None
        else:
            invalid += 1
    return valid, invalid, strong


def detect_legacy(s: str) -> str | None:
    """Return ``"tcvn3"``, ``"vni"`` or None for text that looks legacy-encoded.

    Why a heuristic rather than a lookup: the bytes of both encodings are ordinary cp1252 letters, so
    the only evidence is statistical.  Rules (domain brief §4.3 c):

    * ASCII-only text and text holding any code point only real Unicode Vietnamese has (ă ĩ ũ ơ ư đ,
      U+1EA0–U+1EF9, combining marks) are never legacy.
    * Each non-ASCII word is converted tentatively and checked against Vietnamese syllable
      structure.  An encoding is chosen when at least one converted word carries *strong* evidence
      (a TCVN3 marker such as µ ¸ ¨ © ª « ¬ ® §, a soft hyphen inside a word; or a VNI mark byte
      after a vowel that Unicode Vietnamese cannot spell) and valid words outnumber invalid ones.
      TCVN3 is also accepted when every word is valid and two carry codes such as û î ñ that are not
      Unicode Vietnamese letters ("Thuû lîi" = Thuỷ lợi).  If both encodings qualify, the one with
      more valid words wins, then the one with more strong evidence, then TCVN3 (the more common
      in northern offices).
      This keeps "Noël", "naïve", "Müller", "España", "© 2007" and "Hoàn thành" out.
    """
    if s.isascii() or _REAL_VN.search(s):
        return None
    return _detect_by_words(s)


@lru_cache(maxsize=8192)
def _detect_by_words(s: str) -> str | None:
    """The word-by-word vote behind detect_legacy (cached: the same labels recur in every file)."""
    tokens = [t for t in _TOKEN.findall(s) if not t.isascii()]
    if not tokens:
        return None
    t_valid, t_invalid, t_strong, t_medium = _score_tcvn3(tokens)
    v_valid, v_invalid, v_strong = _score_vni(tokens)
    tcvn3 = (t_strong > 0 or (t_medium >= 2 and t_invalid == 0)) and t_valid > t_invalid
    vni = v_strong > 0 and v_valid > v_invalid
    if tcvn3 and vni:
        return "tcvn3" if (t_valid, t_strong) >= (v_valid, v_strong) else "vni"
    return "tcvn3" if tcvn3 else "vni" if vni else None


def tcvn3_to_unicode(s: str, *, upper: bool = False) -> str:
    """Convert TCVN3 (ABC) text to Unicode.

    ``upper=True`` is for cells in a capitals font (``.VnTimeH``, ``.VnArialH``…): TCVN3 has no toned
    capitals, so those fonts draw the lower-case codes as capitals and the text must be upper-cased
    after conversion ("CéNG HOµ" → "CỘNG HOÀ").
    """
    out = s.translate(_TCVN3_DECODE)
    return out.upper() if upper else out


def unicode_to_tcvn3(s: str, *, upper: bool = False) -> str:
    """Encode Unicode Vietnamese as TCVN3 (for tests and sample workbooks).

    Toned capitals cannot be encoded; they get the lower-case code, exactly what ``upper=True`` (a
    ``.VnTimeH`` cell) expects.  With ``upper=True`` the whole text is lower-cased first, so
    ``tcvn3_to_unicode(unicode_to_tcvn3(s, upper=True), upper=True) == s.upper()``.
    """
    s = unicodedata.normalize("NFC", s)
    if upper:
        s = s.lower()
    return s.translate(_TCVN3_ENCODE)


def vni_to_unicode(s: str) -> str:
    """Convert VNI-Windows text (base letter + mark byte) to precomposed Unicode."""
    return _VNI_PATTERN.sub(lambda m: _VNI_DECODE[m.group()], s)


def unicode_to_vni(s: str) -> str:
    """Encode Unicode Vietnamese as VNI-Windows (for tests and sample workbooks)."""
    return unicodedata.normalize("NFC", s).translate(_VNI_ENCODE)


# ---------------------------------------------------------------------------------------------------
# Text hygiene
# ---------------------------------------------------------------------------------------------------

# Zero-width and bidi formatting characters, C0/C1 controls except \t and \n (\r is folded first).
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
)
_ASCII_CTRL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
# Every Unicode space separator becomes a plain space; line/paragraph separators become newlines.
_SPACE_MAP = {c: " " for c in (0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)}
_SPACE_MAP |= {0x2028: "\n", 0x2029: "\n"}
# The same characters as a class: one C-level search decides whether the (slow, per-character)
# translate is needed at all; almost no text holds any of them.
_ODD_SPACE = re.compile("[" + "".join(map(chr, _SPACE_MAP)) + "]")
_ETH_MAP = {0xD0: "Đ", 0xF0: "đ"}
_MULTI_SPACE = re.compile(" {2,}")
_SPACE_AROUND_NL = re.compile(" *\n *")
_VN_FONT_TCVN3 = re.compile(r"\.vn", re.IGNORECASE)
_VN_FONT_CAPS = re.compile(r"\.Vn.*H")
_VN_FONT_VNI = re.compile(r"vni[- ]", re.IGNORECASE)


def _tidy_spaces(s: str) -> str:
    """Collapse runs of spaces (not newlines or tabs), trim lines and the whole text."""
    if "  " in s:
        s = _MULTI_SPACE.sub(" ", s)
    if "\n" in s:
        s = _SPACE_AROUND_NL.sub("\n", s)
    return s.strip()


def _fold_newlines(s: str) -> str:
    return s.replace("\r\n", "\n").replace("\r", "\n") if "\r" in s else s


def _font_encoding(font: str | None) -> str | None:
    """The legacy encoding a font name implies (.VnTime… → tcvn3, VNI-Times… → vni)."""
    if not font:
        return None
    font = font.strip()
    if _VN_FONT_TCVN3.match(font):
        return "tcvn3"
    if _VN_FONT_VNI.match(font):
        return "vni"
    return None


def _looks_all_caps(s: str) -> bool:
    """Was this TCVN3 text typed in a .Vn…H capitals font?

    Yes when no ASCII letter is lower case and some word mixes two or more ASCII capitals with a
    lower-case code ("CéNG", "HOµ").  One capital before a code ("Sè" = Số) is just a capitalised
    word in an ordinary font.
    """
    if any("a" <= ch <= "z" for ch in s):
        return False
    for tok in _TOKEN.findall(s):
        if sum("A" <= ch <= "Z" for ch in tok) >= 2 and not _TCVN3_LOWER_CODES.isdisjoint(tok):
            return True
    return False


def _coerce_to_text(raw: object) -> tuple[str, str]:
    """Text for a non-string cell in a text field, and the kind for the note detail."""
    if isinstance(raw, bool):
        return ("TRUE" if raw else "FALSE"), "bool"
    if isinstance(raw, int):
        return str(raw), "number"
    if isinstance(raw, float):
        if math.isfinite(raw) and raw.is_integer() and abs(raw) < 1e15:
            return str(int(raw)), "number"
        return repr(raw), "number"
    if isinstance(raw, datetime):
        if raw.time() == datetime.min.time():
            return raw.date().isoformat(), "date"
        return raw.isoformat(sep=" "), "date"
    if isinstance(raw, date):
        return raw.isoformat(), "date"
    return str(raw), type(raw).__name__


def clean_text(raw: object, *, font: str | None = None) -> Parsed:
    """Clean one text cell: legacy conversion, NFC, Đ look-alikes, invisible characters, spaces.

    Order matters: control and zero-width characters are removed first (they would split words),
    then the legacy encoding is decided on text whose soft hyphens are untouched (U+00AD is the
    TCVN3 letter ư), then NFC, Đ look-alikes and spaces.

    ``font`` is the cell's font name when the reader has it: a ``.Vn…`` font forces TCVN3 and a
    ``VNI-…`` font forces VNI (for non-ASCII text without real Unicode Vietnamese), and a ``.Vn…H``
    capitals font upper-cases the result.  Without a font, TCVN3 text in which no ASCII letter is
    lower case and a word mixes capitals with lower-case codes ("CéNG") is taken as a capitals font.
    Non-text cells are turned into text (note ``coerced``).  Empty results give ``value=None``.
    """
    cls = raw.__class__
    if cls is str:
        s = raw
        notes: list[str] = []
        detail = ""
    elif raw is None:
        return _EMPTY
    else:
        s, kind = _coerce_to_text(raw)
        notes = ["coerced"]
        detail = kind
    if not s:
        return _EMPTY if not notes else Parsed(None, True, tuple(notes), detail)
    if s.isascii():
        s = _fold_newlines(s)
        if _ASCII_CTRL.search(s):
            s = _ASCII_CTRL.sub("", s)
            notes.append("control_chars")
        s = _tidy_spaces(s)
        return Parsed(s or None, True, tuple(notes), detail) if notes else Parsed(s or None, True)
    return _clean_unicode(s, font, notes, detail)


def _clean_unicode(s: str, font: str | None, notes: list[str], detail: str) -> Parsed:
    original = s
    # Controls and zero-width characters go first so they cannot split a legacy word; the soft
    # hyphen is not among them.
    s = _fold_newlines(s)
    if _INVISIBLE.search(s):
        s = _INVISIBLE.sub("", s)
        notes.append("control_chars")
    encoding = None
    if not _REAL_VN.search(s):
        encoding = _font_encoding(font) or detect_legacy(s)
    if encoding == "tcvn3":
        upper = bool(_VN_FONT_CAPS.fullmatch(font.strip())) if font else _looks_all_caps(s)
        s = tcvn3_to_unicode(s, upper=upper)
    elif encoding == "vni":
        s = vni_to_unicode(s)
    if encoding and s != original:
        notes.append(encoding)
        detail = original
    nfc = unicodedata.normalize("NFC", s)
    if nfc != s:
        notes.append("nfc")
        s = nfc
    if "Ð" in s or "ð" in s:
        s = s.translate(_ETH_MAP)
        notes.append("eth_lookalike")
    if _ODD_SPACE.search(s):
        s = s.translate(_SPACE_MAP)
    s = _tidy_spaces(s)
    return Parsed(s or None, True, tuple(notes), detail)


def is_blank(raw: object) -> bool:
    """True for None, ``''`` and strings of only whitespace, NBSP, zero-width or control characters.

    Matches ``clean_text(raw).value is None`` for strings.  A soft hyphen is *not* blank: in TCVN3
    it is the letter ư.
    """
    if raw is None:
        return True
    if raw.__class__ is not str and not isinstance(raw, str):
        return False
    s = raw.strip()
    if not s:
        return True
    if s.isprintable():
        return False
    return not _INVISIBLE.sub("", s).strip()


# Letters with no decomposition: Đ/đ and their look-alikes, and the Latin-1 letters that would
# otherwise survive into a key (and could read as TCVN3 codes if the key were normalised again).
_KEY_LETTERS = {ord("Đ"): "d", ord("đ"): "d", ord("Ð"): "d", ord("ð"): "d", ord("\u00ad"): None,
                ord("Æ"): "ae", ord("æ"): "ae", ord("Ø"): "o", ord("ø"): "o", ord("Þ"): "th", ord("þ"): "th"}
_NON_ALNUM = re.compile(r"[\W_]+")


@lru_cache(maxsize=16384)
def normalize_key(s: str) -> str:
    """Accent-, case- and spacing-insensitive key for matching labels and agency names.

    NFC → drop zero-width characters → legacy conversion if detected → Đ/đ (and look-alikes Ð/ð)
    → d → strip combining marks → casefold → every run of non-alphanumerics becomes one space.
    The decomposition is NFKD rather than NFD so that full-width digits, ligatures and superscripts
    match their plain forms; the few undecomposable Latin-1 letters (æ ø þ) are spelled out, which
    keeps keys stable when normalised twice.  Cached: labels repeat in every file.
    """
    if not s:
        return ""
    if s.isascii():
        return _NON_ALNUM.sub(" ", s.lower()).strip()
    s = _INVISIBLE.sub("", unicodedata.normalize("NFC", s))
    encoding = detect_legacy(s)
    if encoding == "tcvn3":
        s = tcvn3_to_unicode(s)
    elif encoding == "vni":
        s = vni_to_unicode(s)
    s = unicodedata.normalize("NFKD", s.translate(_KEY_LETTERS))
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).casefold()
    return _NON_ALNUM.sub(" ", s.translate(_KEY_LETTERS)).strip()


# ---------------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------------

# Spaces used as digit-group separators, and invisible characters, in numeric text.
_NUM_SPACES = {c: " " for c in (0x09, 0x0A, 0x0D, 0xA0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)}
_NUM_SPACES |= {c: None for c in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)}
_WS_RUN = re.compile(r"\s+")
_DASHES = re.compile("[-\u2013\u2014\u2012\u2212]+")
_MINUS = "-\u2212\u2013"

_SPACE_GROUPED = re.compile(r"[0-9]{1,3}(?: [0-9]{3})+(?:[.,][0-9]+)?")
_DOT_THOUSANDS = re.compile(r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+")
_COMMA_THOUSANDS = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+")
_VN_BOTH = re.compile(r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+,[0-9]+")
_US_BOTH = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+\.[0-9]+")
_DECIMAL_DOT = re.compile(r"[0-9]*\.[0-9]+")
_DECIMAL_COMMA = re.compile(r"[0-9]*,[0-9]+")
_EXPONENT = re.compile(r"[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+")
_HAS_DIGIT = re.compile("[0-9]")


def _spellings(*words: str) -> frozenset[str]:
    """Casefolded spellings of ``words`` in Unicode, TCVN3 (both cases) and VNI (both cases)."""
    out: set[str] = set()
    for w in words:
        for form in (w, w.upper()):
            out.add(form.casefold())
            out.add(unicode_to_tcvn3(form).casefold())
            out.add(unicode_to_vni(form).casefold())
    return frozenset(out)


_PLACEHOLDERS = _spellings("x", "không", "không có", "chưa", "chưa có")
_TRUE_WORDS = _spellings("có", "x", "✓", "✔", "1", "yes", "true", "đã có", "rồi")
_FALSE_WORDS = _spellings("không", "không có", "-", "–", "—", "0", "no", "false", "chưa", "chưa có")

_NOT_A_NUMBER = Parsed(None, False, ("not_a_number",))
_BOOL_AS_NUMBER = Parsed(None, False, ("bool_as_number",))


def _word_key(s: str) -> str:
    """Spelling key for placeholder and yes/no words: NFC, casefold, single spaces."""
    return _WS_RUN.sub(" ", unicodedata.normalize("NFC", s)).strip().casefold()


def _fmt(v: float) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _finish_number(
    v: float, integer: bool, percent: bool, pct_sign: bool = False,
    notes: tuple[str, ...] = (), detail: str = "",
) -> Parsed:
    """Apply the percent and integer rules to a parsed value."""
    if pct_sign:
        if not percent:
            return Parsed(None, False, ("unexpected_percent", *notes), f"{_fmt(v)}%")
    elif percent and 0 < v <= 1:
        if v == 1:
            notes = (*notes, "ambiguous_percent")
        else:
            v = round(v * 100, 10)
            notes = (*notes, "fraction_as_percent")
    if integer and v.__class__ is not int:
        if not v.is_integer():
            return Parsed(None, False, (*notes, "not_integer"), _fmt(v))
        v = int(v)
    if notes or detail:
        return Parsed(v, True, notes, detail)
    return Parsed(v, True)


def parse_number(
    raw: object, *, integer: bool = False, percent: bool = False, placeholders_zero: bool = True
) -> Parsed:
    """Parse a count, an amount or a percentage.

    Real numbers are accepted as they are (NaN/inf are not).  Text follows vi-VN conventions with
    these decisions:

    * both '.' and ',' present: the last one is the decimal separator; ',' grouping adds ``us_format``;
    * ``1.500``, ``1.234.567`` (first group 1–3 digits, not starting with 0): '.' groups thousands;
    * ``12,5``: ',' is the decimal separator;
    * ``1,234,567`` (two or more ',' groups) can only be US grouping → 1234567 + ``us_format``;
    * ``1,500`` (one ',' group of three) is ambiguous.  We take the **vi-VN decimal reading 1.5**,
      because the forms are Vietnamese and a Vietnamese typist writes decimals with ','; the note
      ``ambiguous`` with the US reading in ``detail`` lets a human check.  ``0,500`` is not
      ambiguous (US grouping never starts with 0) → 0.5;
    * ``(1.234)`` → -1234; spaces, NBSP, thin and narrow spaces group digits (``1 200``);
    * with ``percent=True`` values are on the 0–100 scale: ``85%`` → 85; a value 0 < v < 1 without a
      '%' (a %-formatted cell, or text "0,85") is a fraction → v*100 (``fraction_as_percent``);
      exactly 1 stays 1 (``ambiguous_percent``).  A '%' where ``percent=False`` is rejected;
    * placeholders (``-``, ``x``, ``không``, ``chưa có``…) are 0 with ``placeholder``, or rejected
      when ``placeholders_zero=False``.

    Text without a fraction gives an int, text with one a float; ``integer=True`` gives an int or
    rejects the value (``not_integer``).
    """
    cls = raw.__class__
    if cls is float:
        if not math.isfinite(raw):
            return _NOT_A_NUMBER
        if not integer and not percent:
            return Parsed(raw, True)
        if integer and not raw.is_integer():
            grouped = _dot_grouped(raw)
            if grouped is not None:
                return grouped
        return _finish_number(raw, integer, percent)
    if cls is str:
        if not raw:
            return _EMPTY
        return _parse_number_text(raw, integer, percent, placeholders_zero)
    if cls is int:
        if not percent:
            return Parsed(raw, True)
        return _finish_number(raw, integer, percent)
    if raw is None:
        return _EMPTY
    if isinstance(raw, bool):
        return _BOOL_AS_NUMBER
    if isinstance(raw, int):
        return parse_number(int(raw), integer=integer, percent=percent)
    if isinstance(raw, float):
        return parse_number(float(raw), integer=integer, percent=percent)
    if isinstance(raw, str):
        return parse_number(str(raw), integer=integer, percent=percent, placeholders_zero=placeholders_zero)
    if isinstance(raw, date):
        return Parsed(None, False, ("not_a_number",), "a date")
    return _NOT_A_NUMBER


def _dot_grouped(value: float, *, year: bool = False) -> Parsed | None:
    """A fraction where a whole number is asked, read the Vietnamese way: "2.003" typed into a program that
    takes the dot for a decimal point stores 2.003, which a Vietnamese typist meant as 2003 (a dot groups
    thousands). Only a number written with exact groups of three digits after the dot (2.003, 12.345); for
    a year, whose four digits leave no doubt, also one whose trailing zeros the program dropped (2.01 for
    2.010). None when it cannot be read so."""
    written = repr(value)
    if _DOT_THOUSANDS.fullmatch(written):
        return Parsed(int(written.replace(".", "")), True, ("grouped_thousands",), written)
    if year and 1 <= value < 10 and _DECIMAL_DOT.fullmatch(written) and len(written) <= 5:
        return Parsed(round(value * 1000), True, ("grouped_thousands",), written)
    return None


def _parse_number_text(raw: str, integer: bool, percent: bool, placeholders_zero: bool) -> Parsed:
    t = raw.strip()
    if t.isdigit() and t.isascii() and len(t) <= _LONGEST_NUMBER:
        return _finish_number(int(t), integer, percent)
    t = t.translate(_NUM_SPACES).strip()
    if not t:
        return _EMPTY
    if not _HAS_DIGIT.search(t):
        if _DASHES.fullmatch(t) or _word_key(t) in _PLACEHOLDERS:
            if placeholders_zero:
                return Parsed(0, True, ("placeholder",))
            return Parsed(None, False, ("placeholder",))
        return _NOT_A_NUMBER
    pct_sign = neg = False
    if t.endswith("%"):
        pct_sign, t = True, t[:-1].rstrip()
    if len(t) > 2 and t[0] == "(" and t[-1] == ")":
        neg, t = True, t[1:-1].strip()
        if t.endswith("%") and not pct_sign:
            pct_sign, t = True, t[:-1].rstrip()
    elif t and t[0] in _MINUS:
        neg, t = True, t[1:].lstrip()
    elif t.startswith("+"):
        t = t[1:].lstrip()
    if " " in t:
        if not _SPACE_GROUPED.fullmatch(t):
            return _NOT_A_NUMBER
        t = t.replace(" ", "")
    parsed = _parse_separators(t)
    if parsed is None:
        return _NOT_A_NUMBER
    v, notes, detail = parsed
    if neg:
        v = -v
        if detail:
            detail = "-" + detail
    return _finish_number(v, integer, percent, pct_sign, notes, detail)


_LONGEST_NUMBER = 40  # characters: "1.234.567.890.123.456,789" is 25; beyond, int() may even raise (4,300 digits)


def _parse_separators(t: str) -> tuple[float, tuple[str, ...], str] | None:
    """Read an unsigned digit string with '.'/',' separators; None when it is not a number."""
    if not t.isascii() or len(t) > _LONGEST_NUMBER:
        return None
    if t.isdigit():
        return int(t), (), ""
    dot, comma = "." in t, "," in t
    if dot and comma:
        if t.rfind(",") > t.rfind("."):
            if _VN_BOTH.fullmatch(t):
                return float(t.replace(".", "").replace(",", ".")), (), ""
            return None
        if _US_BOTH.fullmatch(t):
            return float(t.replace(",", "")), ("us_format",), ""
        return None
    if dot:
        if _DOT_THOUSANDS.fullmatch(t):
            return int(t.replace(".", "")), (), ""
        if _DECIMAL_DOT.fullmatch(t) or _EXPONENT.fullmatch(t):
            return float(t), (), ""
        return None
    if comma:
        if _COMMA_THOUSANDS.fullmatch(t):
            as_int = int(t.replace(",", ""))
            if t.count(",") >= 2:
                return as_int, ("us_format",), ""
            return float(t.replace(",", ".")), ("ambiguous",), str(as_int)
        if _DECIMAL_COMMA.fullmatch(t):
            return float(t.replace(",", ".")), (), ""
        return None
    if _EXPONENT.fullmatch(t):
        return float(t), (), ""
    return None


# ---------------------------------------------------------------------------------------------------
# Booleans
# ---------------------------------------------------------------------------------------------------

_TRUE = Parsed(True, True)
_FALSE = Parsed(False, True)
_NOT_A_BOOL = Parsed(None, False, ("not_a_bool",))
# Yes/no cells hold a few spellings over and over (the dropdown's "Có", "Không"): each is parsed once.
_BOOL_SEEN: dict[str, Parsed] = {}
_BOOL_SEEN_MAX, _BOOL_SEEN_LEN = 1024, 40  # bounded: a long run over odd files cannot grow it


def parse_bool(raw: object) -> Parsed:
    """Parse a yes/no cell: có, x, ✓, 1, đã có, rồi… → True; không, -, 0, chưa (có)… → False.

    Legacy-encoded spellings (TCVN3 "cã", VNI "coù") are recognised too.  Numbers other than 0/1
    are not booleans.
    """
    if raw is True or raw is False:
        return _TRUE if raw else _FALSE
    if raw is None or raw == "":
        return _EMPTY
    if isinstance(raw, str):
        known = _BOOL_SEEN.get(raw)
        if known is not None:
            return known
        key = _word_key(raw.translate(_NUM_SPACES))
        parsed = _EMPTY if not key else _TRUE if key in _TRUE_WORDS else _FALSE if key in _FALSE_WORDS else _NOT_A_BOOL
        if len(_BOOL_SEEN) < _BOOL_SEEN_MAX and len(raw) <= _BOOL_SEEN_LEN:
            _BOOL_SEEN[raw] = parsed
        return parsed
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if raw == 1:
            return _TRUE
        if raw == 0:
            return _FALSE
    return _NOT_A_BOOL


# ---------------------------------------------------------------------------------------------------
# Dates and years
# ---------------------------------------------------------------------------------------------------

_EPOCH_1900 = date(1899, 12, 30)  # serials >= 61, after Excel's phantom 29/02/1900
_EPOCH_1900_EARLY = date(1899, 12, 31)  # serials 1..59
_EPOCH_1904 = date(1904, 1, 1)
_MAX_SERIAL_1900 = (date(9999, 12, 31) - _EPOCH_1900).days  # 2958465
_MAX_SERIAL_1904 = (date(9999, 12, 31) - _EPOCH_1904).days
_TIME_SUFFIX = r"(?:[ T]+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
_DMY = re.compile(rf"([0-9]{{1,2}})([/.\-])([0-9]{{1,2}})\2([0-9]{{4}}|[0-9]{{2}}){_TIME_SUFFIX}")
_YMD = re.compile(rf"([0-9]{{4}})([/.\-])([0-9]{{1,2}})\2([0-9]{{1,2}}){_TIME_SUFFIX}")
_DMY_IN_TEXT = re.compile(r"(?<![0-9])(?<![0-9][/.\-])([0-9]{1,2})([/.\-])([0-9]{1,2})\2([0-9]{4})(?![0-9]|[/.\-][0-9])")
_WRITTEN = re.compile(r"(?:^| )(?:ngay )?([0-9]{1,2}) thang ([0-9]{1,2}) nam ([0-9]{4})(?= |$)")
_YEAR_TEXT = re.compile(r"(?:nam )?([0-9]{4})")
_NOT_A_DATE = Parsed(None, False, ("not_a_date",))


def _make_date(y: int, m: int, d: int, notes: tuple[str, ...] = ()) -> Parsed:
    """A validated date; when day-first fails but month-first works, say so in ``detail``."""
    try:
        return Parsed(date(y, m, d), True, notes)
    except ValueError:
        pass
    detail = "no such date"
    if d <= 12:
        with contextlib.suppress(ValueError):
            detail = f"no such date day-first; month-first it would be {date(y, d, m).isoformat()}"
    return Parsed(None, False, (*notes, "not_a_date"), detail)


def _from_serial(v: float, epoch1904: bool) -> Parsed:
    """Excel serial day number → date, honouring the 1900 leap-year bug or the 1904 system."""
    if not math.isfinite(v):
        return _NOT_A_DATE
    if v.is_integer() and 1900 <= v <= 2100:
        return Parsed(None, False, ("year_only",), str(int(v)))
    n = math.floor(v)
    if epoch1904:
        if not 0 <= n <= _MAX_SERIAL_1904:
            return Parsed(None, False, ("not_a_date",), f"serial {_fmt(v)} out of range")
        return Parsed(_EPOCH_1904 + timedelta(days=n), True, ("serial",))
    if not 1 <= n <= _MAX_SERIAL_1900:
        return Parsed(None, False, ("not_a_date",), f"serial {_fmt(v)} out of range")
    if n == 60:
        return Parsed(None, False, ("not_a_date",), "serial 60 is 29/02/1900, which does not exist")
    return Parsed((_EPOCH_1900_EARLY if n < 60 else _EPOCH_1900) + timedelta(days=n), True, ("serial",))


def parse_date(raw: object, *, epoch1904: bool = False) -> Parsed:
    """Parse a date cell.  Text is **always day-first** (dd/mm/yyyy, d-m-yyyy, dd.mm.yyyy).

    Also accepted: date/datetime cells, Excel serial numbers (note ``serial``), ISO ``2007-10-15``,
    two-digit years (``two_digit_year``; 00–29 → 20xx as Excel does), the written-out
    ``ngày 15 tháng 10 năm 2007`` anywhere in the text (also without accents or legacy-encoded), and
    one dd/mm/yyyy inside other text ("Hà Tĩnh, 15/10/2007").  A bare year is ``year_only`` (not ok)
    because serial 2007 would silently be 29/06/1905.
    """
    if isinstance(raw, datetime):
        return Parsed(raw.date(), True)
    if isinstance(raw, date):
        return Parsed(raw, True)
    if raw is None or raw == "":
        return _EMPTY
    if isinstance(raw, bool):
        return _NOT_A_DATE
    if isinstance(raw, int | float):
        return _from_serial(float(raw), epoch1904)
    if not isinstance(raw, str):
        return _NOT_A_DATE
    s = _INVISIBLE.sub("", raw.translate(_SPACE_MAP)).strip()
    if not s:
        return _EMPTY
    return _parse_date_text(s)


def _parse_date_text(s: str) -> Parsed:
    m = _DMY.fullmatch(s)
    if m:
        y = int(m.group(4))
        if len(m.group(4)) == 2:
            return _make_date(2000 + y if y < 30 else 1900 + y, int(m.group(3)), int(m.group(1)),
                              ("two_digit_year",))
        return _make_date(y, int(m.group(3)), int(m.group(1)))
    m = _YMD.fullmatch(s)
    if m:
        return _make_date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
    if s.isdigit() and len(s) == 4:
        return Parsed(None, False, ("year_only",), s)
    m = _WRITTEN.search(normalize_key(s))
    if m:
        return _make_date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    found = _DMY_IN_TEXT.findall(s)
    if len(found) == 1:
        d, _, mo, y = found[0]
        return _make_date(int(y), int(mo), int(d))
    if len(found) > 1:
        return Parsed(None, False, ("not_a_date",), "several dates in one cell")
    return _NOT_A_DATE


_NOT_A_YEAR = Parsed(None, False, ("not_a_year",))


def parse_year(raw: object) -> Parsed:
    """A four-digit year from 2008, 2008.0, "2008" or "năm 2008"; a full date gives its year."""
    cls = raw.__class__
    if cls is float and math.isfinite(raw) and not raw.is_integer():
        grouped = _dot_grouped(raw, year=True)
        if grouped is not None and 1000 <= grouped.value <= 9999:  # type: ignore[operator]
            return grouped
    if cls is int or cls is float:
        if (cls is float and not (math.isfinite(raw) and raw.is_integer())) or not 1000 <= raw <= 9999:
            return Parsed(None, False, ("not_a_year",), _fmt(raw) if math.isfinite(raw) else "")
        return Parsed(int(raw), True)
    if raw is None or raw == "":
        return _EMPTY
    if isinstance(raw, datetime | date):
        return Parsed(raw.year, True, ("from_date",))
    if not isinstance(raw, str):
        return _NOT_A_YEAR
    if is_blank(raw):
        return _EMPTY
    text = raw.strip()
    if _DOT_THOUSANDS.fullmatch(text) and len(text) == 5:  # "2.003": a year written with a thousands dot
        return Parsed(int(text.replace(".", "")), True, ("grouped_thousands",), text)
    key = normalize_key(raw)
    m = _YEAR_TEXT.fullmatch(key)
    if m:
        return Parsed(int(m.group(1)), True)
    m = re.fullmatch(r"([0-9]{4}) 0+", key)  # "2008.0", "2008,00"
    if m:
        return Parsed(int(m.group(1)), True)
    return _NOT_A_YEAR
