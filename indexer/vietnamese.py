"""Vietnamese text normalisation, diacritic folding and word segmentation.

The same word reaches us in several byte forms: NFC or NFD, with the tone mark on either vowel
("hoà"/"hòa", "thuỷ"/"thủy"), with NBSP and zero-width characters from CMS editors. Search and
de-duplication only work if every form is reduced to one, so ``normalize`` runs on every text
before it is indexed or queried. ``underthesea.text_normalize`` knows the tone rules too, but it
re-tokenises the text (spaces around punctuation, newlines lost) and costs ~0.7 ms/KB, so the
rules are implemented here as a table and underthesea serves only as a cross-check in the tests.

Tone placement is the traditional one most of the press uses: an open syllable with two plain
vowels takes the mark on the first ("hòa", "thủy", "khỏe"), a vowel with a quality mark
(ă â ê ô ơ ư) always carries it ("thuở", "người"), a closed syllable puts it on the last vowel
("hoàng", "huỳnh"), and "qu"/"gi" count as initials ("quý", "già", but "gì").
"""

from __future__ import annotations

import functools
import re
import unicodedata

from indexer.segmentation import tokenize

__all__ = ["fold", "normalize", "segment"]

_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")
_QUALITY_VOWELS = frozenset("ăâêôơư")
_VOWELS = frozenset("aăâeêioôơuưy")

_INITIALS = "ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|b|c|d|đ|g|h|k|l|m|n|p|r|s|t|v|x"
_NUCLEI = (
    "iêu|yêu|oai|oay|oao|oeo|uây|uôi|uya|uyê|uyu|ươi|ươu|"
    "ai|ao|au|ay|âu|ây|eo|êu|ia|iu|iê|oa|oă|oe|oi|ôi|ơi|oo|ua|uâ|uê|ui|uô|uơ|uy|ưa|ưi|ưu|ươ|yê|"
    "a|ă|â|e|ê|i|o|ô|ơ|u|ư|y"
)
_FINALS = "ch|ng|nh|c|k|m|n|p|t"
_SYLLABLE = re.compile(f"(?:{_INITIALS})?({_NUCLEI})(?:{_FINALS})?")

# Only words with a non-ASCII letter or a combining mark can need a tone moved; URLs are
# matched first so that their path segments are never touched. A word starts where a run of
# ASCII letters starts: retrying inside the run made "é-xxxx…" quadratic (20,000 x: 3 s).
_CANDIDATE = re.compile(
    r"(?P<url>(?:https?|ftp)://\S+|www\.\S+)"
    r"|(?P<word>(?<![A-Za-z])[A-Za-z]*"
    r"(?:[^\x00-\x7f\W\d_]|[\u0300-\u036f])(?:[^\W\d_]|[\u0300-\u036f])*)"
)
_STRAY_MARKS = re.compile(r"(?:^|(?<=\s))[\u0300-\u036f]+")
_ANY_MARK = re.compile(r"[\u0300-\u036f]")
_SPACE_RUN = re.compile(r" {2,}")
_TOKEN = re.compile(r"\S+")
_SPACE_AROUND_NEWLINE = re.compile(r" *\n *")
_BLANK_LINES = re.compile(r"\n{3,}")

_HORIZONTAL_SPACES = "\t\u00a0\u1680\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))
_LINE_BREAKS = "\r\v\f\u0085\u2028\u2029"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_WHITESPACE_TABLE = str.maketrans(
    {
        **{c: " " for c in _HORIZONTAL_SPACES},
        **{c: "\n" for c in _LINE_BREAKS},
        **{c: None for c in _INVISIBLE},
    }
)
_ODD_WHITESPACE = re.compile(f"[{re.escape(_HORIZONTAL_SPACES + _LINE_BREAKS + _INVISIBLE)}]")

# Letters that lucene's ASCIIFoldingFilter folds but that have no Unicode decomposition.
_FOLD_TABLE = str.maketrans(
    {
        "đ": "d",
        "ð": "d",
        "ø": "o",
        "ł": "l",
        "ı": "i",
        "ħ": "h",
        "ŀ": "l",
        "æ": "ae",
        "œ": "oe",
        "ß": "ss",
        "þ": "th",
        **{chr(c): None for c in range(0x300, 0x370)},
        **{chr(c): None for c in range(0x1AB0, 0x1B00)},
        **{chr(c): None for c in range(0x1DC0, 0x1E00)},
        **{chr(c): None for c in range(0x20D0, 0x2100)},
        **{chr(c): None for c in range(0xFE20, 0xFE30)},
    }
)
_ETH = str.maketrans({"ð": "đ", "Ð": "Đ"})


def normalize(text: str) -> str:
    """Return ``text`` in NFC with one tone placement and clean whitespace.

    Newlines are kept (paragraphs matter for leads and snippets); runs of spaces and tabs become
    one space, spaces at line ends go, and more than one blank line becomes one. Words that are not
    Vietnamese syllables (English, URLs, numbers, names like "café") are left as they are.

    Each step first checks whether it has anything to do: most text reaching this function
    is already clean (extracted pages, then the same text again at indexing), and the checks
    are scans in C where the rewrites were Python callbacks per word.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if _ODD_WHITESPACE.search(text):
        text = text.translate(_WHITESPACE_TABLE)
    text = unicodedata.normalize("NFC", text)
    if _ANY_MARK.search(text):
        text = _STRAY_MARKS.sub("", text)
    if "  " in text:
        text = _SPACE_RUN.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return _retone(text.strip(" \n"))


def _retone(text: str) -> str:
    """Tone placement word by word. A candidate never spans whitespace, so each distinct
    whitespace-separated token is normalised once (and remembered); the text is rebuilt only
    when some token changes."""
    changed: dict[str, str] = {}
    for token in set(text.split()):
        if not token.isascii() and (new := _normalize_token(token)) != token:
            changed[token] = new
    if not changed:
        return text
    return _TOKEN.sub(lambda match: changed.get(match[0], match[0]), text)


@functools.lru_cache(maxsize=1 << 17)
def _normalize_token(token: str) -> str:
    return _CANDIDATE.sub(_normalize_match, token)


def _normalize_match(match: re.Match[str]) -> str:
    word = match.group("word")
    return match.group() if word is None else _normalize_syllable(word)


@functools.lru_cache(maxsize=1 << 16)
def _normalize_syllable(word: str) -> str:
    """Move the tone mark of one NFC word to its traditional place; other words pass unchanged."""
    clusters: list[str] = []
    tones: list[str] = []
    for char in unicodedata.normalize("NFD", word):
        if char in _TONES:
            tones.append(char)
        elif unicodedata.combining(char) and clusters:
            clusters[-1] += char
        elif not unicodedata.combining(char):
            clusters.append(char)
    letters = [unicodedata.normalize("NFC", cluster) for cluster in clusters]
    has_eth = any(letter in "ðÐ" for letter in letters)
    if not tones and not has_eth:
        return word
    if has_eth:
        letters = [letter.translate(_ETH) for letter in letters]
    lower = [letter.lower() for letter in letters]
    if any(len(letter) != 1 for letter in lower):
        return word
    match = _SYLLABLE.fullmatch("".join(lower))
    if match is None or len(set(tones)) > 1:
        return word
    if tones:
        position = _tone_position(match.group(1), match.start(1), match.end(1) < len(lower))
        letters[position] = unicodedata.normalize("NFC", letters[position] + tones[0])
    return "".join(letters)


def _tone_position(nucleus: str, start: int, closed: bool) -> int:
    """Index of the vowel that carries the tone, given the nucleus and where it starts."""
    marked = [i for i, vowel in enumerate(nucleus) if vowel in _QUALITY_VOWELS]
    if marked:
        return start + marked[-1]
    if closed:
        return start + len(nucleus) - 1
    if len(nucleus) == 3:
        return start + 1
    return start


def fold(text: str) -> str:
    """Lowercase and strip every diacritic ("Đất Đai" -> "dat dai").

    The Python twin of the engine's ``lowercase`` + ``asciifolding`` analyzer, so that name
    variants built here match what the engine stores.
    """
    folded = unicodedata.normalize("NFD", text.lower()).translate(_FOLD_TABLE)
    return unicodedata.normalize("NFC", folded)


def segment(text: str, max_chars: int | None = None, *, normalized: bool = False) -> str:
    """Normalise ``text`` and join the syllables of compound words with "_" ("nhân_dân").

    Spacing and punctuation stay as in the normalised text: pyvi's own output puts spaces
    around every punctuation mark, so only its "_" joins are carried over. Segmentation
    (`indexer.segmentation`, pyvi's model) costs about 1 ms per KB; with ``max_chars`` only the
    first ``max_chars`` characters (cut back to a space) are segmented and the rest is returned
    normalised but unsegmented. ``normalized`` skips normalising again text that already went
    through `normalize`.
    """
    if not normalized:
        text = normalize(text)
    head, tail = text, ""
    if max_chars is not None and len(text) > max_chars:
        cut = max(text.rfind(" ", 0, max_chars + 1), text.rfind("\n", 0, max_chars + 1))
        cut = cut if cut > 0 else max_chars
        head, tail = text[:cut], text[cut:]
    if not head.strip():
        return text
    return _align(head, tokenize(head)) + tail


def _align(original: str, tokenized: str) -> str:
    """Copy pyvi's "_" joins onto ``original`` without taking its re-spacing of punctuation.

    pyvi only inserts spaces, turns a single space inside a compound into "_" and surrounds
    newlines with spaces, so walking both strings token by token is enough. If the two ever
    disagree on a letter the unsegmented text is returned rather than a corrupted one.
    """
    out: list[str] = []
    i = 0
    size = len(original)
    for token in tokenized.split(" "):
        if not token or token.isspace():
            continue
        while i < size and original[i].isspace():
            out.append(original[i])
            i += 1
        if original.startswith(token, i):
            out.append(token)
            i += len(token)
            continue
        spaced = token.replace("_", " ")
        if original.startswith(spaced, i):
            out.append(token)
            i += len(token)
            continue
        for char in token:
            if i < size and original[i] == char:
                out.append(char)
                i += 1
            elif char == "_" and i < size and original[i] == " ":
                out.append("_")
                i += 1
            elif char != "_":
                return original
    out.append(original[i:])
    return "".join(out)
