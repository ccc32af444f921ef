"""Text repair, page-chrome removal and sentence spans.

The cleaned text is what the store keeps, what users read and what every citation offset points
into, so cleaning happens once, before anything is stored or chunked.
"""

from __future__ import annotations

import re
import sys
import unicodedata

import ftfy

# Mojibake of the invisible operators U+2061..U+2064 (UTF-8 bytes E2 81 A1..A4). A single-byte
# code page dropped the 0x81 byte and showed "â" plus the cp1250 glyph of A1..A4; where a
# no-break space followed, the bytes E2 Ax A0 were read again as UTF-8 and became one Braille or
# arrow character standing for "invisible operator + space". ftfy cannot undo either because
# the 0x81 byte is lost.
_INVISIBLE_MOJIBAKE_SPACED = re.compile("[\u2860\u28a0\u28e0\u2920]")
_INVISIBLE_MOJIBAKE = re.compile("\u00e2[\u02c7\u02d8\u0141\u00a4]")


# Conservative ftfy: repair encodings, but keep typographic quotes and other real punctuation.
# Terminal escapes stay (their control character goes): web text has none, and removing them
# would make a visible "[0m" vanish.
_FTFY_CONFIG = ftfy.TextFixerConfig(
    uncurl_quotes=False,
    remove_terminal_escapes=False,
    normalization="NFKC",
    explain=False,
)

# Whole lines that are page furniture rather than article text (matched case-insensitively).
_CHROME_LINES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^(home|start)\s*[»›>].*$",  # breadcrumbs: "Home » Blog » Title"
        r"^(leave|write|post) a (reply|comment)\b.*$",
        r"^your email address will not be published\b.*$",
        r"^required fields are marked\b.*$",
        r"^(follow|like|subscribe to)\b.*\b(facebook|twitter|instagram|linkedin|youtube|telegram"
        r"|whatsapp|tiktok|x)\b.*$",
        r"^share (this|on)\b.*$",
        r"^\d+\s*min(ute)?s?\s+read$",
        r"^(picture|photo|image)\s+(credit|courtesy)s?\s*:.*$",
    )
]
# "[iv] Retrieved from" with the link stripped: a reference stub that points nowhere.
_REFERENCE_STUB = re.compile(r"^\[([ivxlcdm]+|\d+)\]\s*retrieved from\s*:?\s*$", re.IGNORECASE)

_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_BLANK_LINE_RUN = re.compile(r"\n(?:[ \t\r]*+\n){2,}+")

# Abbreviations whose trailing period does not end a sentence.
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "ft",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "u.s",
        "u.k",
        "u.n",
        "a.m",
        "p.m",
        "no",
        "nos",
        "fig",
        "figs",
        "al",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "est",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "cmdr",
        "rep",
        "sen",
        "gov",
        "pres",
        "rev",
        "approx",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "vol",
        "pp",
        "ed",
        "eds",
    ]
)
# A run of sentence-end marks and the closing quotes or brackets after it. Linear time: the
# look-behind starts a match only at the first mark of a run and the possessive quantifiers
# never give back, so a run of 40,000 dots is scanned once, not once per dot.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_SENTENCE_END = re.compile(
    r"(?<![.!?。])"
    # Chinese and Japanese end a sentence with 。 (or ! and ?, full-width ones once NFKC has
    # made them ASCII, right after a CJK character), with no space after: group "cjk".
    rf"(?:(?P<cjk>。|(?<=[{_CJK}])[.!?])[.!?。]*+|[.!?]++)"
    r"[\"'”’)\]」』》】]*+"
)
# CJK scripts have no case: any of their characters can start a sentence.
_SENTENCE_START = re.compile(rf"\s+[\"'“‘(\[「『]?[A-Z0-9{_CJK}]")


def repair_text(raw: str) -> str:
    """Repair encoding damage and normalise Unicode and whitespace (NFKC, no invisible chars)."""
    text = _INVISIBLE_MOJIBAKE_SPACED.sub(" ", raw)
    text = _INVISIBLE_MOJIBAKE.sub("", text)
    # ftfy works line by line at about 10 us a line: runs of blank lines, which end up as one
    # blank line anyway, go first (a million newlines took 14 s).
    text = _BLANK_LINE_RUN.sub("\n\n", text)
    text = ftfy.fix_text(text, _FTFY_CONFIG)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.replace("\u2029", "\n\n")
    # Format characters (zero-width spaces, joiners, BOMs, soft hyphens) are invisible noise;
    # a lone surrogate (possible in JSON, never valid Unicode) cannot even be stored.
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cf", "Cs"})
    return normalise_whitespace(text)


def normalise_whitespace(text: str) -> str:
    """Collapse runs of spaces, strip every line, keep at most one blank line between blocks."""
    lines = [_HORIZONTAL_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _blank_class_body() -> str:
    """Regex class body of the characters that clean to nothing on their own, over all of
    Unicode (tag characters, U+E0001-E007F, and other astral format characters included).

    Candidates are whitespace, controls (Cc), format characters (Cf) and the invisible-operator
    mojibake; each is kept if repair_text really removes it (ftfy turns most C1 controls into
    the Windows-1252 characters they stood for, so those are not blank). BMP characters are
    written as \\uXXXX escapes, astral ones as themselves: escapes for those differ between
    regex dialects (Python, ECMA-262, Rust), literal characters do not.
    """
    candidates = [
        code
        for code in range(sys.maxunicode + 1)
        if chr(code).isspace() or unicodedata.category(chr(code)) in {"Cc", "Cf"}
    ] + [0x2860, 0x28A0, 0x28E0, 0x2920, 0xFFFC]
    blank = {code for code in candidates if not repair_text(chr(code))}

    def written(code: int) -> str:
        return f"\\u{code:04x}" if code < 0x10000 else chr(code)

    body = ""
    for code in sorted(blank):
        if code - 1 in blank:
            continue  # inside a range already written
        end = code
        while end + 1 in blank:
            end += 1
        body += written(code) + (f"-{written(end)}" if end > code else "")
    return body


# One character that survives cleaning as visible text, and one that does not. The API declares
# query, claim and document text with the first ("contains a visible character"); the engine
# rejects a text that cleans to nothing with a 422 naming the field.
BLANK_CHARACTER_PATTERN = f"[{_blank_class_body()}]"
VISIBLE_CHARACTER_PATTERN = f"[^{BLANK_CHARACTER_PATTERN[1:-1]}]"


def is_chrome_line(line: str) -> bool:
    """Whether a whole line is page furniture (breadcrumbs, comment forms, share prompts...)."""
    stripped = line.strip()
    return any(p.match(stripped) for p in _CHROME_LINES) or bool(_REFERENCE_STUB.match(stripped))


def clean_text(raw: str) -> str:
    """Repair the text and drop page-chrome lines.

    When reference stubs ("[iv] Retrieved from") are dropped, the inline markers that pointed to
    them ("...in 2014[iv].") are dropped too, since they would reference nothing.
    """
    text = repair_text(raw)
    kept: list[str] = []
    dead_markers: set[str] = set()
    for line in text.split("\n"):
        stub = _REFERENCE_STUB.match(line)
        if stub:
            dead_markers.add(stub.group(1).lower())
        elif not is_chrome_line(line):
            kept.append(line)
    text = "\n".join(kept)
    if dead_markers:
        text = re.sub(
            r"\[([ivxlcdm]+|\d+)\]",
            lambda m: "" if m.group(1).lower() in dead_markers else m.group(0),
            text,
            flags=re.IGNORECASE,
        )
    return normalise_whitespace(text)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split text into sentences; return (start, end) character offsets into ``text``.

    Every line break ends a sentence (headings, list items and table rows are units of their own);
    inside a line a sentence ends at . ! or ? followed by space and an upper-case letter or digit,
    unless the period closes a known abbreviation or an initial ("J. Smith"), and at 。 (or ! or
    ? after a CJK character) whatever follows.
    """
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        start = 0
        for match in _SENTENCE_END.finditer(line):
            end = match.end()
            if match.group("cjk") is None and (
                not _SENTENCE_START.match(line, end) or _ends_with_abbreviation(line, start, end)
            ):
                continue
            spans.append(_trimmed(line, start, end, offset))
            start = end
        if line[start:].strip():
            spans.append(_trimmed(line, start, len(line), offset))
        offset += len(line) + 1
    return spans


def _ends_with_abbreviation(line: str, start: int, end: int) -> bool:
    """Whether line[start:end] ends with a known abbreviation or an initial. Only its last word
    is read (walking back from ``end``), so a line of a million initials stays linear."""
    if line[end - 1] != ".":
        return False
    word_start = end
    while word_start > start and not line[word_start - 1].isspace():
        word_start -= 1
    last_word = line[word_start:end].rstrip(".").lower().lstrip("(\"'“‘")
    return last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha())


def _trimmed(line: str, start: int, end: int, offset: int) -> tuple[int, int]:
    while start < end and line[start].isspace():
        start += 1
    while end > start and line[end - 1].isspace():
        end -= 1
    return offset + start, offset + end
