"""Who may see a complainant's personal data, and the redacted copies everyone else gets.

Personal Data Protection Law 91/2025/QH15 (domain.md §4): access by role and need, and the press
side never needs ID numbers or phones. A denouncer's identity is confidential by law (Law on
Denunciations 25/2018/QH14, Art. 56), so for a denunciation only an admin sees it, and a hidden
value is also scrubbed from the free text where officers tend to repeat it ("ông Nguyễn Văn An
trình bày ..."). Scrubbing matches with and without diacritics, so "Nguyen Van An" goes too.

Reading data through `redact` is pure; `complaints.audit.disclose` adds the audit entry.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum

from indexer.models import Complainant, Complaint, ComplaintKind
from indexer.vietnamese import fold, normalize

REDACTED = "[đã ẩn]"


class Role(StrEnum):
    """Roles of the people using diemnong (the web app reuses this enum)."""

    VIEWER = "viewer"
    PRESS_OFFICER = "press_officer"
    SPOKESPERSON = "spokesperson"
    ADMIN = "admin"


class PersonalField(StrEnum):
    """The personal fields of a `Complainant`."""

    NAME = "name"
    ADDRESS = "address"
    ID_NUMBER = "id_number"
    PHONE = "phone"


_ALL = frozenset(PersonalField)
_VISIBLE: Mapping[Role, frozenset[PersonalField]] = {
    Role.ADMIN: _ALL,
    Role.SPOKESPERSON: _ALL,
    Role.PRESS_OFFICER: frozenset({PersonalField.NAME, PersonalField.ADDRESS}),
    Role.VIEWER: frozenset(),
}
_HONORIFICS = ("ong", "ba", "anh", "chi", "co", "chu", "bac", "cu", "em")
_TEXT_FIELDS = ("respondent", "summary", "request", "notes")
_LIST_FIELDS = ("aliases", "keywords", "projects")


def visible_fields(role: Role, kind: ComplaintKind) -> frozenset[PersonalField]:
    """The personal fields ``role`` may see on a case of ``kind``."""
    if kind is ComplaintKind.DENUNCIATION and role is not Role.ADMIN:
        return frozenset()
    return _VISIBLE[role]


def disclosed_fields(complaint: Complaint, role: Role) -> list[PersonalField]:
    """Personal fields ``role`` sees with a value in them: what an audit entry must name."""
    visible = visible_fields(role, complaint.kind)
    return [
        field
        for field in PersonalField
        if field in visible and any(getattr(c, field.value) for c in complaint.complainants)
    ]


def redact(complaint: Complaint, role: Role) -> Complaint:
    """A copy of ``complaint`` with what ``role`` may not see replaced by ``REDACTED``."""
    hidden = _ALL - visible_fields(role, complaint.kind)
    if not hidden:
        return complaint.model_copy(deep=True)
    secrets = _secrets(complaint.complainants, hidden)
    scrubbed = _scrub_complaint(complaint, secrets, REDACTED)
    masked = [_mask(person, hidden, REDACTED) for person in complaint.complainants]
    return scrubbed.model_copy(update={"complainants": masked})


def matching_view(complaint: Complaint) -> Complaint:
    """What the press side (matching, alerts) may use: no ID numbers or phones, ever, and no
    trace of a denouncer. Hidden values are removed from text rather than replaced, so no
    placeholder turns into a search term."""
    hidden = frozenset({PersonalField.ID_NUMBER, PersonalField.PHONE})
    if complaint.kind is ComplaintKind.DENUNCIATION:
        hidden = _ALL
    secrets = _secrets(complaint.complainants, hidden)
    scrubbed = _scrub_complaint(complaint, secrets, "")
    kept = [] if PersonalField.NAME in hidden else complaint.complainants
    masked = [_mask(person, hidden, None) for person in kept]
    return scrubbed.model_copy(update={"complainants": masked})


def _mask(
    person: Complainant, hidden: frozenset[PersonalField], placeholder: str | None
) -> Complainant:
    update: dict[str, str | None] = {}
    for field in hidden:
        value = getattr(person, field.value)
        if field is PersonalField.NAME:
            update["name"] = placeholder or ""
        elif value:
            update[field.value] = placeholder
    return person.model_copy(update=update)


def _secrets(people: Iterable[Complainant], hidden: frozenset[PersonalField]) -> list[str]:
    found: list[str] = []
    for person in people:
        for field in hidden:
            value = getattr(person, field.value)
            if not value or value == REDACTED:
                continue
            found.append(value)
            if field is PersonalField.ADDRESS:
                street = value.split(",")[0]
                if street != value and any(ch.isdigit() for ch in street):
                    found.append(street)
    return found


def _scrub_complaint(complaint: Complaint, secrets: list[str], placeholder: str) -> Complaint:
    if not secrets:
        return complaint.model_copy(deep=True)
    patterns = [_pattern(secret) for secret in secrets]
    update: dict[str, object] = {
        name: scrub(getattr(complaint, name), patterns, placeholder) for name in _TEXT_FIELDS
    }
    if complaint.outcome is not None:
        update["outcome"] = scrub(complaint.outcome, patterns, placeholder)
    for name in _LIST_FIELDS:
        update[name] = [scrub(item, patterns, placeholder) for item in getattr(complaint, name)]
    update["location"] = complaint.location.model_copy(
        update={"address_text": scrub(complaint.location.address_text, patterns, placeholder)}
    )
    return complaint.model_copy(deep=True, update=update)


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    return fold(char)


def _folded(text: str) -> tuple[str, list[int]]:
    """``text`` folded character by character, with the original index of each folded char."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = _fold_char(char)
        out.append(folded)
        origin.extend([index] * len(folded))
    return "".join(out), origin


@functools.lru_cache(maxsize=1024)
def _pattern(secret: str) -> re.Pattern[str]:
    """A pattern over folded text: words may be split by any spacing, digit groups by . - or
    space ("0912 345 678"), and for a name also "ông/bà ... <given name>"."""
    needle, _ = _folded(normalize(secret))
    digits = re.sub(r"\D", "", needle)
    if digits and len(digits) >= 6 and len(digits) * 2 >= len(needle.replace(" ", "")):
        body = r"[\s.\-]?".join(digits)
        return re.compile(rf"(?<!\d)(?P<hide>{body})(?!\d)")
    words = re.findall(r"\w+", needle)
    if not words:
        return re.compile(r"(?!x)x")
    body = r"[\W_]+".join(re.escape(word) for word in words)
    alternatives = [rf"(?P<hide>{body})"]
    is_name = len(words) >= 2 and not any(ch.isdigit() for ch in needle)
    if is_name:
        given = re.escape(words[-1])
        honorific = "|".join(_HONORIFICS)
        alternatives.append(rf"(?:{honorific})\s+(?P<given>{given})")
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)")


def scrub(text: str, patterns: Iterable[re.Pattern[str]], placeholder: str) -> str:
    """Replace every span of ``text`` the patterns (from hidden values) find."""
    if not text:
        return text
    folded, origin = _folded(text)
    spans: list[tuple[int, int]] = []
    for pattern in patterns:
        for match in pattern.finditer(folded):
            group = "hide" if match.group("hide") is not None else "given"
            start, end = match.span(group)
            if start == end:
                continue
            first = origin[start]
            last = origin[end - 1] + 1
            while last < len(text) and _fold_char(text[last]) == "":
                last += 1
            spans.append((first, last))
    if not spans:
        return text
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[str] = []
    cursor = 0
    for start, end in merged:
        pieces.append(text[cursor:start])
        pieces.append(placeholder)
        cursor = end
    pieces.append(text[cursor:])
    return re.sub(r"  +", " ", "".join(pieces)) if not placeholder else "".join(pieces)
