"""Compile an open complaint into the query that recognises stories about it.

A story is about a complaint when it names the place AND something that identifies the matter.
Two shapes are accepted:

- the commune (old or new name; a name shared with another province only next to its district
  or province) with a party's full name, a project or site, the respondent, an alias, a short
  form of a party's name ("ông Hùng", "N.V.H.") next to a grievance word, or — when the case
  names no project — the subject itself (two subject terms and a grievance word);
- the old district with a project or an alias, or with a party's full name or the respondent
  next to the subject: stories about past events often name only the district.

A surname, a province or a subject word alone never links a story. Names are compared as written
and, in stories typed without diacritics, folded: "Nguyen Van Hung" finds "Nguyễn Văn Hùng", an
accented "Nguyễn Văn Hưng" does not. Places, projects and subject words are compared folded.

The stored percolator query (`percolator_query`) differs from the search form in two ways, both
for speed. It reads one field, ``body``, because `complaints.links` percolates each article with
title, lead and body as three values of that field (a third of the clauses per query). And it
requires one of the complaint's place keys among the places spotted in the article
(``entities.locations.text``, see `complaints.variants.PlaceSpotter`), with the full query next
to a clause the percolator cannot analyse: the percolator then preselects candidates by place
alone, instead of by the common words every story has (which made every stored query a
candidate for every story, and percolation time grow with the number of open cases).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from complaints.variants import (
    Gazetteer,
    key,
    name_key,
    person_variants,
    place_key,
    project_variants,
    province_phrases,
    resolve_location,
    respondent_variants,
)
from indexer.models import Complaint
from indexer.vietnamese import fold, normalize

TEXT_FIELDS = ("title", "lead", "body")
PERCOLATE_FIELDS = ("body",)
PLACE_KEY_FIELD = "entities.locations.text.folded"
PLACE_NAME_FIELD = "entities.locations.text"
NAME_SLOP = 1
TERM_SLOP = 2
MAX_PARTIES = 12


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(";") if w.strip())


# Subject vocabulary per field of the register (domain.md §3).
SUBJECT_LEXICON: dict[str, tuple[str, ...]] = {
    "land": _words(
        "thu hồi đất; bồi thường; giải phóng mặt bằng; tái định cư; cưỡng chế; đền bù; giá đất;"
        "đất nông nghiệp; bàn giao mặt bằng; tranh chấp đất; lấn chiếm; đất dịch vụ; sổ đỏ;"
        "giấy chứng nhận quyền sử dụng đất; GPMB"
    ),
    "housing": _words(
        "quy hoạch; xây dựng trái phép; giấy phép xây dựng; trật tự xây dựng; chung cư; sổ hồng;"
        "phá dỡ; cưỡng chế; căn hộ; vi phạm xây dựng; chủ đầu tư; bàn giao nhà"
    ),
    "environment": _words(
        "ô nhiễm; xả thải; nước thải; khí thải; mùi hôi; rác thải; bãi rác; quan trắc; cá chết;"
        "khói bụi; tiếng ồn; môi trường"
    ),
    "social_policy": _words(
        "chế độ chính sách; người có công; trợ cấp; hộ nghèo; liệt sĩ; thương binh;"
        "bảo trợ xã hội; chất độc da cam; chính sách"
    ),
    "labour": _words(
        "nợ lương; chậm lương; tiền lương; bảo hiểm xã hội; BHXH; sa thải; ngừng việc;"
        "đình công; công nhân; người lao động; trợ cấp thôi việc"
    ),
    "conduct": _words(
        "nhũng nhiễu; hách dịch; tiêu cực; nhận tiền; sai phạm; kỷ luật; lạm quyền; tham nhũng;"
        "làm khó; vòi tiền"
    ),
    "justice": _words(
        "thi hành án; bản án; kê biên; cưỡng chế thi hành án; chấp hành viên; bán đấu giá;"
        "tòa án; tài sản"
    ),
    "other": (),
}
# Folded spellings of the register's subject fields, English and Vietnamese.
_FIELD_ALIASES = {
    "datdai": "land", "dat": "land", "nhao": "housing", "quyhoach": "housing",
    "xaydung": "housing", "nhaoquyhoach": "housing", "moitruong": "environment",
    "chinhsachxahoi": "social_policy", "socialpolicy": "social_policy",
    "nguoicocong": "social_policy", "laodong": "labour", "laodongtienluong": "labour",
    "labor": "labour", "canbo": "conduct", "canbocongchuc": "conduct", "officials": "conduct",
    "tuphap": "justice", "thihanhan": "justice", "khac": "other",
}  # fmt: skip
GRIEVANCE_WORDS = _words(
    "khiếu nại; tố cáo; kiến nghị; phản ánh; bức xúc; khiếu kiện; đơn thư; phản đối; gửi đơn;"
    "kêu cứu; tranh chấp"
)
# ASCII syllables that never occur in text written with diacritics: when the exact field holds
# one, the story was typed without diacritics and folded names may be trusted.
UNACCENTED_MARKERS = _words(
    "nguoi; duoc; khong; nhieu; viec; mot; cac; tren; duong; truong; huyen; phuong; thuoc; dia"
)
# "bà Mai" (Đặng Thị Mai) is not the start of "bà Mai Thu Nhung": when a given name is also a
# surname, the title and given name followed by a middle name begin someone else's name.
SURNAMES = frozenset(
    _words(
        "nguyễn; trần; lê; phạm; hoàng; huỳnh; phan; vũ; võ; đặng; bùi; đỗ; hồ; ngô; dương; lý;"
        "đinh; mai; tạ; trịnh; lương; đào; cao; hà; lâm; kiều; chu; châu; thái; tô; lưu; quách;"
        "đoàn; triệu; mạc; tăng; phùng; kim; khúc; lã; la; giang; hứa; tôn; thân; doãn; vương;"
        "âu; lục; nông; ma; lò; hầu; diệp; tiêu; từ; khổng; bạch; ninh"
    )
)
MIDDLE_NAMES = _words(
    "văn; thị; đức; minh; quang; hữu; thanh; công; xuân; đình; ngọc; quốc; thu; hồng; kim; bích;"
    "mạnh; trọng; duy; tiến; bá; huy; khắc; phương; thúy; mỹ; hoàng; anh; gia; hải; trung; tuấn;"
    "việt; như; diệu; thái; nhật; thế; hoài; tấn"
)
_TITLES = frozenset({"ông", "bà", "anh", "chị"})
# Weights of the clause groups in a link's score: what identifies the case counts most.
SCORE_WEIGHTS = {
    "party": 3.0, "project": 3.0, "alias": 3.0, "respondent": 2.0, "party_short": 1.5,
    "place": 1.0, "region": 0.5, "subject": 0.5, "grievance": 0.25,
}  # fmt: skip


def subject_terms(subject_field: str) -> tuple[str, ...]:
    name = key(subject_field)
    canonical = _FIELD_ALIASES.get(name, subject_field.strip().lower().replace(" ", "_"))
    return SUBJECT_LEXICON.get(canonical, ())


@dataclass
class _Terms:
    """The phrases of one complaint, grouped by the role they play in the query."""

    communes: list[str] = field(default_factory=list)
    bare_communes: list[str] = field(default_factory=list)
    shared_communes: list[str] = field(default_factory=list)
    districts: list[str] = field(default_factory=list)
    shared_districts: list[str] = field(default_factory=list)
    provinces: list[str] = field(default_factory=list)
    province_values: list[str] = field(default_factory=list)
    party: list[str] = field(default_factory=list)
    party_short: list[str] = field(default_factory=list)
    project: list[str] = field(default_factory=list)
    respondent: list[str] = field(default_factory=list)
    alias: list[str] = field(default_factory=list)
    subject: list[str] = field(default_factory=list)

    @property
    def unit_keys(self) -> list[str]:
        units = self.communes + self.shared_communes + self.districts + self.shared_districts
        return sorted({place_key(p) for p in units})

    @property
    def name_keys(self) -> list[str]:
        return sorted({name_key(p) for p in self.bare_communes})

    def candidate_filter(self) -> dict[str, Any] | None:
        """Places one of which a story must name (see `complaints.variants.PlaceSpotter`)."""
        return _any(
            [
                {"terms": {PLACE_KEY_FIELD: self.unit_keys}} if self.unit_keys else None,
                {"terms": {PLACE_NAME_FIELD: self.name_keys}} if self.name_keys else None,
            ]
        )

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "place": self.communes + self.bare_communes + self.shared_communes,
            "region": self.districts + self.shared_districts + self.provinces,
            "party": self.party,
            "party_short": self.party_short,
            "project": self.project,
            "respondent": self.respondent,
            "alias": self.alias,
            "subject": self.subject,
        }


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for item in items:
        text = normalize(item).strip(" ,.;:")
        if text and text.lower() not in seen:
            seen[text.lower()] = text
    return list(seen.values())


def _collect(complaint: Complaint, gazetteer: Gazetteer | None = None) -> _Terms:
    gaz = gazetteer or Gazetteer.load()
    place = resolve_location(complaint.location, gaz)
    terms = _Terms()
    for unit in place.communes:
        shared = gaz.commune_is_ambiguous(unit.name)
        if not shared and gaz.name_is_unique(unit.name) and len(unit.name.split()) >= 2:
            terms.bare_communes.append(unit.name)
        (terms.shared_communes if shared else terms.communes).extend(unit.phrases())
    for unit in place.districts:
        shared = gaz.district_is_ambiguous(unit.name)
        (terms.shared_districts if shared else terms.districts).extend(unit.phrases())
    for province in place.provinces:
        terms.provinces.extend(province_phrases(province))
    people = sorted(complaint.complainants, key=lambda p: not p.is_representative)
    for person in people[:MAX_PARTIES]:
        full, short = person_variants(person)
        terms.party.extend(full)
        terms.party_short.extend(short)
    for project in complaint.projects:
        terms.project.extend(project_variants(project))
    terms.respondent = respondent_variants(complaint.respondent)
    terms.alias = list(complaint.aliases)
    terms.subject = [*complaint.keywords, *subject_terms(complaint.subject_field)]
    for name in vars(terms):
        setattr(terms, name, _unique(getattr(terms, name)))
    terms.province_values = _unique(place.provinces)
    return terms


def _any(clauses: Iterable[dict[str, Any] | None], at_least: int = 1) -> dict[str, Any] | None:
    present = [c for c in clauses if c is not None]
    if len(present) < at_least:
        return None
    if len(present) == 1:
        return present[0]
    return {"bool": {"should": present, "minimum_should_match": at_least}}


def _all(*clauses: dict[str, Any] | None) -> dict[str, Any] | None:
    if any(c is None for c in clauses):
        return None
    return {"bool": {"must": list(clauses)}}


MATCH_NONE: dict[str, Any] = {"match_none": {}}
# Never true for an article (articles have no case number), and a clause the percolator's query
# analysis cannot extract terms from: beside it, the full query is left out of the analysis,
# which then preselects candidates by the place filter alone (see `percolator_query`).
_OPAQUE: dict[str, Any] = {"exists": {"field": "case_number"}}


class _Clauses:
    """Builds the clauses of one query over a given set of text fields."""

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = tuple(fields)
        self.folded = tuple(f"{f}.folded" for f in fields)
        self.unaccented = _any({"terms": {f: list(UNACCENTED_MARKERS)}} for f in self.fields)

    @staticmethod
    def _phrase(text: str, fields: Sequence[str], slop: int, group: str) -> dict[str, Any]:
        name = f"{group}:{text.lower()}"
        if len(fields) == 1:
            return {"match_phrase": {fields[0]: {"query": text, "slop": slop, "_name": name}}}
        return {
            "multi_match": {
                "query": text,
                "type": "phrase",
                "fields": list(fields),
                "slop": slop,
                "_name": name,
            }
        }

    def folded_phrases(
        self, group: str, texts: Sequence[str], slop: int = NAME_SLOP, at_least: int = 1
    ) -> dict[str, Any] | None:
        """``at_least`` of ``texts``, diacritics optional (places, projects, subject words)."""
        return _any((self._phrase(t, self.folded, slop, group) for t in texts), at_least)

    def exact_phrases(
        self, group: str, texts: Sequence[str], slop: int = NAME_SLOP, folded: bool = True
    ) -> dict[str, Any] | None:
        """``texts`` as written; folded only in a story typed without diacritics.

        Names need this: "Nguyễn Văn Hưng" is not "Nguyễn Văn Hùng", and a bare place name
        folded collides with ordinary words ("Bình Đa", "Bình đã"). A text typed without
        diacritics can only be compared folded.
        """
        plain = [t for t in texts if t.lower() == fold(t)]
        marked = [t for t in texts if t not in plain]
        clauses = [self._phrase(t, self.folded, slop, group) for t in plain]
        clauses += [self._phrase(t, self.fields, slop, group) for t in marked]
        if folded and marked:
            loose = _any(self._phrase(t, self.folded, slop, group) for t in marked)
            clauses.append(_all(loose, self.unaccented) or MATCH_NONE)
        return _any(clauses)

    @staticmethod
    def _title_span(field: str, words: Sequence[str], middles: Sequence[str], name: str) -> Any:
        terms = [{"span_term": {field: w}} for w in words]
        return {
            "span_not": {
                "include": {"span_near": {"clauses": terms, "slop": 0, "in_order": True}},
                "exclude": {"span_or": {"clauses": [{"span_term": {field: m}} for m in middles]}},
                "post": 1,
                "_name": name,
            }
        }

    def short_names(self, texts: Sequence[str]) -> dict[str, Any] | None:
        """Short forms of names; "bà Mai" not where it begins another name ("bà Mai Thu …")."""
        clauses: list[dict[str, Any] | None] = []
        phrases: list[str] = []
        folded_middles = sorted({fold(m) for m in MIDDLE_NAMES})
        for text in texts:
            words = normalize(text).lower().split()
            if len(words) != 2 or words[0] not in _TITLES or words[1] not in SURNAMES:
                phrases.append(text)
                continue
            name = f"party_short:{text.lower()}"
            plain = [fold(w) for w in words]
            exact = _any(self._title_span(f, words, MIDDLE_NAMES, name) for f in self.fields)
            loose = _any(self._title_span(f, plain, folded_middles, name) for f in self.folded)
            clauses += [exact, _all(loose, self.unaccented)]
        return _any([*clauses, self.exact_phrases("party_short", phrases, 0)])


def _compile(terms: _Terms, fields: Sequence[str]) -> dict[str, Any]:
    q = _Clauses(fields)
    outlet = {"terms": {"province": terms.province_values, "_name": "region:outlet"}}
    qualifier = _any(
        [
            q.folded_phrases("region", terms.districts + terms.shared_districts + terms.provinces),
            outlet if terms.province_values else None,
        ]
    )
    place = _any(
        [
            q.folded_phrases("place", terms.communes),
            q.exact_phrases("place", terms.bare_communes, folded=False),
            _all(q.folded_phrases("place", terms.shared_communes), qualifier),
        ]
    )
    if place is None:
        return MATCH_NONE

    grievance = q.folded_phrases("grievance", GRIEVANCE_WORDS, TERM_SLOP)
    subject = q.folded_phrases("subject", terms.subject, TERM_SLOP, at_least=2)
    party = q.exact_phrases("party", terms.party)
    respondent = q.folded_phrases("respondent", terms.respondent, TERM_SLOP)
    named = _any([party, respondent])
    identifying = _any(
        [q.folded_phrases("project", terms.project), q.folded_phrases("alias", terms.alias)]
    )
    region = _any(
        [
            q.folded_phrases("region", terms.districts),
            _all(
                q.folded_phrases("region", terms.shared_districts),
                q.folded_phrases("region", terms.provinces),
            ),
        ]
    )
    # Under a grievance word: "ông Hùng" next to the commune (another Hùng may be quoted in any
    # story about it), or two subject words next to the commune — only when the case names no
    # project, since a project is what tells one land matter of a commune from another — or
    # next to the district and a party or the respondent. Each part is written once: every
    # copy is parsed again for each candidate story.
    grievance_cases = _any(
        [
            _all(place, q.short_names(terms.party_short)),
            _all(
                subject,
                _any([None if terms.project else place, _all(region, named)]),
            ),
        ]
    )
    return (
        _any(
            [
                _all(place, _any([named, identifying])),
                _all(region, identifying),
                _all(grievance, grievance_cases),
            ]
        )
        or MATCH_NONE
    )


@dataclass(frozen=True)
class Compiled:
    """One complaint compiled once: its queries, its phrases and its place keys."""

    terms: _Terms

    def query(self, fields: Sequence[str] = TEXT_FIELDS) -> dict[str, Any]:
        """The query over the article ``fields``, to search stored articles."""
        return _compile(self.terms, fields)

    def percolator_query(self) -> dict[str, Any]:
        """The stored form: candidates by place key, then the full query (module docstring)."""
        query = _compile(self.terms, PERCOLATE_FIELDS)
        candidates = self.terms.candidate_filter()
        if query is MATCH_NONE or candidates is None:
            return MATCH_NONE
        opaque = {"bool": {"should": [query, _OPAQUE]}}
        return {"bool": {"filter": [candidates], "must": [opaque]}}

    @property
    def match_terms(self) -> dict[str, list[str]]:
        """The phrases behind the query, by role: stored with the complaint, used to explain."""
        return self.terms.as_dict()

    @property
    def place_keys(self) -> frozenset[str]:
        """The keys `complaints.variants.PlaceSpotter` must find in a story for it to match."""
        return frozenset(self.terms.unit_keys + self.terms.name_keys)


def compile_complaint(complaint: Complaint) -> Compiled:
    return Compiled(_collect(complaint))


def compile_query(complaint: Complaint, fields: Sequence[str] = TEXT_FIELDS) -> dict[str, Any]:
    """The query of ``complaint`` over the article ``fields``, to search stored articles."""
    return compile_complaint(complaint).query(fields)


def percolator_query(complaint: Complaint) -> dict[str, Any]:
    return compile_complaint(complaint).percolator_query()


def match_terms(complaint: Complaint) -> dict[str, list[str]]:
    return compile_complaint(complaint).match_terms


def compile_for_register(complaint: Complaint) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``(stored query, match terms)``: the ``compile_query`` hook of
    `complaints.register.ComplaintRegister`."""
    compiled = compile_complaint(complaint)
    return compiled.percolator_query(), compiled.match_terms


# -- explaining a match ------------------------------------------------------------------
_TOKEN = re.compile(r"[^\W_]+(?:[.'][^\W_]+)*")


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def _contains(haystack: Sequence[str], needle: Sequence[str], slop: int) -> bool:
    """Whether ``needle`` occurs in order with at most ``slop`` extra tokens in between."""
    if not needle:
        return False
    for start, token in enumerate(haystack):
        if token != needle[0]:
            continue
        position, spare = start, slop
        for wanted in needle[1:]:
            window = haystack[position + 1 : position + 2 + spare]
            if wanted not in window:
                break
            step = window.index(wanted)
            spare -= step
            position += step + 1
        else:
            return True
    return False


def explain(terms: Mapping[str, Sequence[str]], doc: Mapping[str, Any]) -> list[str]:
    """Names of the clauses ("party:nguyễn văn hùng") whose phrase occurs in ``doc``, whose
    text fields are normalised as indexed (a list of values counts as one text).

    The engine decided the match; this says why, in the clause names the query carries, since
    OpenSearch reports no named queries for percolated documents.
    """
    values = [doc.get(f) or "" for f in TEXT_FIELDS]
    exact = _tokens("\n".join(v if isinstance(v, str) else "\n".join(v) for v in values))
    folded = [fold(t) for t in exact]
    present = set(folded)
    unaccented = not present.isdisjoint(UNACCENTED_MARKERS)
    found: list[str] = []
    for group, phrases in {**terms, "grievance": GRIEVANCE_WORDS}.items():
        slop = TERM_SLOP if group in ("subject", "grievance", "respondent") else NAME_SLOP
        loose = unaccented or not group.startswith("party")
        for phrase in phrases:
            words = _tokens(normalize(phrase))
            plain = [fold(w) for w in words]
            if not plain or plain[0] not in present:
                continue
            if _contains(exact, words, slop) or (loose and _contains(folded, plain, slop)):
                found.append(f"{group}:{phrase.lower()}")
    return found


def link_score(clauses: Iterable[str]) -> float:
    """How strongly the matched clauses tie a story to the case (weights by group)."""
    per_group: dict[str, int] = {}
    for clause in clauses:
        group = clause.split(":", 1)[0]
        per_group[group] = per_group.get(group, 0) + 1
    return round(sum(SCORE_WEIGHTS.get(g, 0.0) * min(n, 3) for g, n in per_group.items()), 2)
