"""The phrases a news story may use for what a complaint names: people, places, projects.

Reporters write "ông Nguyễn Văn Hùng", "ông Hùng" or "ông N.V.H."; they write the commune as it
was before the 2025 merger ("xã Tả Thanh Oai, huyện Thanh Trì") or as it is now ("xã Đại Thanh,
TP Hà Nội"); they shorten "Khu đô thị" to "KĐT". Every variant returned here is normalised with
`indexer.vietnamese.normalize`, like the article text it is matched against.

Places come from underthesea's old→new mapping table (10,600 old communes with their district,
province and new unit), read once: it is the only offline list that knows, for a new commune,
which old communes and districts it was made of. `vietnam_provinces` resolves new codes.
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import util
from pathlib import Path

from indexer.models import Complainant, Location
from indexer.vietnamese import fold, normalize

COMMUNE_KINDS = ("xã", "phường", "thị trấn", "đặc khu")
DISTRICT_KINDS = ("huyện", "quận", "thị xã", "thành phố")
_KIND_PREFIX = re.compile(
    r"^(thành phố|tỉnh|thị trấn|thị xã|đặc khu|huyện|quận|phường|xã|tp\.?|tx\.?|tt\.?)\s+(.+)$",
    re.IGNORECASE,
)
_KIND_ABBREVIATIONS = {"tp": "thành phố", "tx": "thị xã", "tt": "thị trấn"}
_SHORT_KINDS = {"thành phố": "TP", "thị xã": "TX", "thị trấn": "TT"}

# How the press also names some provinces; the mapping table only has official names.
PROVINCE_ALIASES: dict[str, tuple[str, ...]] = {
    "Hồ Chí Minh": ("TP.HCM", "TPHCM", "TP HCM", "Sài Gòn"),
    "Huế": ("Thừa Thiên Huế", "TT-Huế"),
    "Thừa Thiên Huế": ("Huế", "TT-Huế"),
    "Bà Rịa - Vũng Tàu": ("BR-VT", "Bà Rịa"),
}

_TITLES_MALE = ("ông", "anh")
_TITLES_FEMALE = ("bà", "chị")
# "anh Hùng" is also the word "anh hùng" (hero): such pairs are never a person's short name.
_TITLE_COMPOUNDS = frozenset(
    {
        "anh hùng",
        "anh dũng",
        "anh tài",
        "anh minh",
        "anh hào",
        "anh thư",
        "anh linh",
        "anh tuấn",
        "anh kiệt",
        "anh em",
        "anh chị",
        "chị em",
        "bà con",
        "ông bà",
        "ông cha",
    }
)

_PROJECT_ABBREVIATIONS = (
    ("khu đô thị", "KĐT"),
    ("khu công nghiệp", "KCN"),
    ("cụm công nghiệp", "CCN"),
    ("khu dân cư", "KDC"),
    ("khu tái định cư", "KTĐC"),
    ("khu du lịch", "KDL"),
)
_PROJECT_KIND = re.compile(
    r"^(?:khu (?:đô thị|nhà ở|dân cư|công nghiệp|tái định cư|du lịch|xử lý (?:chất|rác) thải"
    r"|liên hợp)(?: mới| sinh thái| cao cấp)?|cụm công nghiệp|nhà máy|bãi rác|trang trại"
    r"|sân golf|chung cư|tòa nhà|đường|cầu|cảng)\s+(.+)$",
    re.IGNORECASE,
)
_COMPANY = re.compile(
    r"^(?:công ty|cty)\s+(?:tnhh một thành viên|tnhh mtv|tnhh|cổ phần|cp)?\s*(.+)$",
    re.IGNORECASE,
)
# Respondents that are the local government or one of its offices name the area, not a party:
# "UBND xã X" is in every story about xã X, so it can never tell two matters apart.
_GOVERNMENT_BODY = re.compile(
    r"^(?:ubnd|ủy ban nhân dân|chủ tịch|phó chủ tịch|hđnd|hội đồng nhân dân|công an|sở|phòng"
    r"|thanh tra|văn phòng|tòa án|viện kiểm sát)\b",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=1 << 15)
def key(text: str) -> str:
    """Lookup key: folded, letters and digits only ("Xã Tả Thanh Oai" -> "xatathanhoai")."""
    return re.sub(r"[^a-z0-9]", "", fold(normalize(text)))


def _underthesea_mapping() -> Path:
    """underthesea's table of old → new units, found without importing the package: its
    ``__init__`` loads every pipeline and one of them calls ``logging.basicConfig``, which made
    every library's debug messages print in the crawl (and cost it ~5% of its CPU)."""
    spec = util.find_spec("underthesea")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("underthesea is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "address" / "data" / "mapping.json"


@dataclass(frozen=True)
class Unit:
    """One administrative unit as the press writes it: "xã" + "Tả Thanh Oai"."""

    kind: str
    name: str

    def phrases(self) -> list[str]:
        found = [f"{self.kind} {self.name}"]
        if self.kind in _SHORT_KINDS:
            found.append(f"{_SHORT_KINDS[self.kind]} {self.name}")
        return found


def split_unit(text: str) -> Unit | None:
    """``"Huyện Thanh Trì"`` -> Unit("huyện", "Thanh Trì"); None without an admin word."""
    match = _KIND_PREFIX.match(normalize(text).strip(" ,."))
    if match is None or not match.group(2).strip():
        return None
    kind = match.group(1).lower().rstrip(".")
    return Unit(_KIND_ABBREVIATIONS.get(kind, kind), match.group(2).strip())


@functools.lru_cache(maxsize=1 << 15)
def bare_name(text: str) -> str:
    unit = split_unit(text)
    return unit.name if unit else normalize(text).strip()


@functools.lru_cache(maxsize=1 << 15)
def _name_key(text: str) -> str:
    """The bare name, lowercased: what two units must share to be confused in a story."""
    return bare_name(text).lower()


def _province_keys(province: str) -> set[str]:
    name = bare_name(province)
    return {key(name), *(key(alias) for alias in PROVINCE_ALIASES.get(name, ()))}


@dataclass
class Place:
    """A complaint's location in every form a story may use, old and new."""

    communes: list[Unit] = field(default_factory=list)
    districts: list[Unit] = field(default_factory=list)
    provinces: list[str] = field(default_factory=list)

    def add(self, other: Place) -> None:
        for mine, theirs in ((self.communes, other.communes), (self.districts, other.districts)):
            mine.extend(u for u in theirs if u not in mine)
        self.provinces.extend(p for p in other.provinces if p not in self.provinces)


@dataclass(frozen=True)
class Row:
    """One line of the old→new table: an old commune and the new commune (part of) it became."""

    old_ward: str
    old_district: str
    old_province: str
    new_ward: str
    new_province: str


def _unit_key(text: str) -> str:
    return key(bare_name(text))


class Gazetteer:
    """Old and new units with their links, and how many units share each name."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self.by_old: dict[str, list[Row]] = defaultdict(list)
        self.by_new: dict[tuple[str, str], list[Row]] = defaultdict(list)
        communes: dict[str, set[str]] = defaultdict(set)
        districts: dict[str, set[str]] = defaultdict(set)
        everything: dict[str, set[str]] = defaultdict(set)
        for row in rows:
            old_province, new_province = _unit_key(row.old_province), _unit_key(row.new_province)
            self.by_old[_unit_key(row.old_ward)].append(row)
            self.by_new[(new_province, _unit_key(row.new_ward))].append(row)
            for text, province, level, index in (
                (row.old_ward, old_province, "c", communes),
                (row.new_ward, new_province, "c", communes),
                (row.old_district, old_province, "d", districts),
            ):
                name = _name_key(text)
                index[name].add(province)
                everything[name].add(level + province)
            for text in (row.old_province, row.new_province):
                everything[_name_key(text)].add("p")
        self._communes = {name: len(v) for name, v in communes.items()}
        self._districts = {name: len(v) for name, v in districts.items()}
        self._everything = {name: len(v) for name, v in everything.items()}

    @classmethod
    @functools.cache
    def load(cls) -> Gazetteer:
        records = json.loads(_underthesea_mapping().read_text("utf-8"))["ward_mapping"]
        fields = ("old_ward", "old_district", "old_province", "new_ward", "new_province")
        return cls(
            Row(*(r[f] for f in fields)) for r in records if r.get("old_ward") and r.get("new_ward")
        )

    def units(self) -> set[Unit]:
        """Every old and new commune and old district."""
        found: set[Unit] = set()
        for rows in self.by_old.values():
            for row in rows:
                for text in (row.old_ward, row.new_ward, row.old_district):
                    unit = split_unit(text)
                    if unit is not None:
                        found.add(unit)
        return found

    def commune_is_ambiguous(self, name: str) -> bool:
        """True when another province has a commune of this name (before or after 2025)."""
        return self._communes.get(_name_key(name), 0) != 1

    def district_is_ambiguous(self, name: str) -> bool:
        return self._districts.get(_name_key(name), 0) != 1

    def name_is_unique(self, name: str) -> bool:
        """The bare name means one unit at any level, so it may be matched without "xã"."""
        return self._everything.get(_name_key(name), 0) == 1

    def old_units(self, ward: str, district: str = "", province: str = "") -> list[Row]:
        """Old communes of that name; the district narrows the choice only when it agrees,
        because units moved between districts shortly before the merger."""
        found = self.by_old.get(_unit_key(ward), [])
        if province:
            provinces = _province_keys(province)
            found = [r for r in found if _unit_key(r.old_province) in provinces]
        if district:
            wanted = _unit_key(district)
            found = [r for r in found if _unit_key(r.old_district) == wanted] or found
        return found

    def new_units(self, ward: str, province: str) -> list[Row]:
        """The old communes that went into the new commune ``ward`` of ``province``."""
        return self.by_new.get((_unit_key(province), _unit_key(ward)), [])


def _place_of(rows: Iterable[Row]) -> Place:
    place = Place()
    for row in rows:
        units = [split_unit(row.old_ward), split_unit(row.new_ward)]
        place.add(
            Place(
                communes=[u for u in units if u],
                districts=[u for u in [split_unit(row.old_district)] if u],
                provinces=[bare_name(row.old_province), bare_name(row.new_province)],
            )
        )
    return place


def _new_ward_by_code(code: str) -> tuple[str, str] | None:
    from vietnam_provinces import Province, Ward
    from vietnam_provinces.codes import WardCode

    try:
        ward = Ward.from_code(WardCode(int(code)))
    except ValueError:
        return None
    return ward.name, Province.from_code(ward.province_code).name


def _address_parts(text: str) -> Place:
    """Units written in an address ("thôn 3, xã X, huyện Y, tỉnh Z"), without the gazetteer."""
    place = Place()
    pieces = [p.strip() for p in re.split(r"[,;]", normalize(text)) if p.strip()]
    for index, piece in enumerate(pieces):
        unit = split_unit(piece)
        last = index == len(pieces) - 1
        if unit is None:
            if last and len(piece.split()) >= 2:
                place.provinces.append(piece)
        elif unit.kind in COMMUNE_KINDS:
            place.communes.append(unit)
        elif unit.kind == "tỉnh" or (unit.kind == "thành phố" and last):
            place.provinces.append(unit.name)
        elif unit.kind in DISTRICT_KINDS:
            place.districts.append(unit)
    return place


def resolve_location(location: Location, gazetteer: Gazetteer | None = None) -> Place:
    """Every old and new name of the complaint's commune, its old districts and provinces.

    An old address resolves to that old commune and the new one it went into; a new commune
    (by code or name) to itself and every old commune and district it was made of, because a
    story about past events names one of those.
    """
    from underthesea.address import ConversionStatus, convert_address

    gaz = gazetteer or Gazetteer.load()
    place = Place()
    if location.commune_code:
        found = _new_ward_by_code(location.commune_code)
        if found:
            place.add(_place_of(gaz.new_units(*found)))
            place.add(Place([u for u in [split_unit(found[0])] if u], [], [bare_name(found[1])]))
    if location.address_text:
        written = _address_parts(location.address_text)
        result = convert_address(location.address_text)
        old = result.old
        if result.status == ConversionStatus.SUCCESS and old.ward:
            # A divided commune went into several new ones; a story may use any of them.
            place.add(_place_of(gaz.old_units(old.ward, old.district, old.province)))
        elif written.communes and written.provinces:
            # Not an old address underthesea knows: a new one ("xã Xuân Mai, TP Hà Nội"), or an
            # old one under a renamed province ("tỉnh Thừa Thiên Huế").
            district = written.districts[0].name if written.districts else ""
            province = written.provinces[-1]
            for commune in written.communes:
                rows = gaz.new_units(commune.name, province)
                place.add(_place_of(rows or gaz.old_units(commune.name, district, province)))
        place.add(written)
    if location.commune_name:
        province = location.province_name or (place.provinces[-1] if place.provinces else "")
        rows = gaz.new_units(location.commune_name, province) if province else []
        place.add(_place_of(rows or gaz.old_units(location.commune_name, province=province)[:1]))
        unit = split_unit(location.commune_name)
        if unit and unit.kind in COMMUNE_KINDS:
            place.add(Place([unit]))
    if location.province_name:
        place.add(Place(provinces=[bare_name(location.province_name)]))
    return place


_KEY_WORD = re.compile(r"[^\W_]+")
_KEY_ABBREVIATIONS = {"tp": ("thanh", "pho"), "tx": ("thi", "xa"), "tt": ("thi", "tran")}


def _key_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for word in _KEY_WORD.findall(fold(normalize(text))):
        tokens.extend(_KEY_ABBREVIATIONS.get(word, (word,)))
    return tokens


def place_key(phrase: str) -> str:
    """How a place with its admin word is compared: folded, "TP" spelt out ("thanh pho thu duc")."""
    return " ".join(_key_tokens(phrase))


def name_key(name: str) -> str:
    """How a bare place name is compared: as written, lowercased ("tả thanh oai").

    Folded, bare names collide with ordinary words ("Gia Định", "gia đình").
    """
    return " ".join(_KEY_WORD.findall(normalize(name).lower()))


class _Ngrams:
    """Which of a set of multi-word keys occur in a token sequence."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = frozenset(k for k in keys if len(k.split()) >= 2)
        self.starts = frozenset(k.split()[0] for k in self.keys)
        self.longest = max((len(k.split()) for k in self.keys), default=0)

    def find(self, tokens: Sequence[str], capitalised: bool = False) -> set[str]:
        """Keys in ``tokens``; with ``capitalised``, only where every word is capitalised
        (compared lowercased): "Liên Quan" is a town, "liên quan" is "related"."""
        found: set[str] = set()
        lower = [t.lower() for t in tokens] if capitalised else tokens
        for start, token in enumerate(lower):
            if token not in self.starts:
                continue
            for size in range(2, self.longest + 1):
                words = tokens[start : start + size]
                if capitalised and not words[-1][:1].isupper():
                    break
                candidate = " ".join(lower[start : start + size])
                if candidate in self.keys:
                    found.add(candidate)
        return found


class PlaceSpotter:
    """Finds the places a text names: every commune and district of the gazetteer with its
    admin word (as `place_key`) or alone and capitalised (as `name_key`, two syllables or more), and
    any capitalised name after an admin word ("xã Tân Lập"), so units missing from the
    gazetteer are found too. The percolator's candidate filter compares these keys.
    """

    def __init__(self, units: Iterable[Unit]) -> None:
        units = list(units)
        self._units = _Ngrams(place_key(p) for u in units for p in u.phrases())
        self._names = _Ngrams(name_key(u.name) for u in units)

    @classmethod
    @functools.cache
    def load(cls) -> PlaceSpotter:
        return cls(Gazetteer.load().units())

    def spot(self, text: str) -> set[str]:
        """Keys of the places in ``text`` (normalised with `indexer.vietnamese.normalize`)."""
        units = self._units.find(_key_tokens(text))
        names = self._names.find(_KEY_WORD.findall(text), capitalised=True)
        return units | names | _admin_mentions(text)


_ADMIN_WORD = re.compile(
    r"(?<![^\W\d_])(?i:xã|phường|thị trấn|đặc khu|huyện|quận|thị xã|thành phố|tp\.?|tx\.?|tt\.?)"
    r"\s+"
)


def _admin_mentions(text: str) -> set[str]:
    """Keys of "admin word + capitalised words" (every length up to four words)."""
    found: set[str] = set()
    for match in _ADMIN_WORD.finditer(text):
        words: list[str] = []
        line = text[match.end() :].split("\n", 1)[0]
        for word in line.split(maxsplit=4)[:4]:
            clean = word.strip(",.;:()\"'“”")
            if not clean or not (clean[0].isupper() or (clean.isdigit() and not words)):
                break
            words.append(clean)
            found.add(place_key(f"{match.group().strip()} {' '.join(words)}"))
            if clean != word:
                break
    return found


def province_phrases(province: str) -> list[str]:
    name = normalize(province)
    return [name, *(normalize(a) for a in PROVINCE_ALIASES.get(name, ()))]


def _titles(parts: list[str]) -> tuple[str, ...]:
    middle = {p.lower() for p in parts[1:-1]}
    if "thị" in middle:
        return _TITLES_FEMALE
    if "văn" in middle:
        return _TITLES_MALE
    return _TITLES_MALE + _TITLES_FEMALE


def person_variants(person: Complainant | str) -> tuple[list[str], list[str]]:
    """(full names, short forms) of one person; a surname alone is never a variant.

    Short forms are the title with the given name ("ông Hùng"), with surname and given name
    ("ông Nguyễn Hùng"), the initials ("N.V.H") and the legal-news form "Nguyễn Văn H". They
    identify a person only next to the complaint's commune, which the caller enforces.
    """
    name = normalize(person.name if isinstance(person, Complainant) else person)
    parts = [p for p in re.split(r"\s+", name.strip(" .,")) if p]
    if len(parts) < 2:
        return [], []
    surname, given = parts[0], parts[-1]
    short: list[str] = []
    for title in _titles(parts):
        if f"{title} {given}".lower() not in _TITLE_COMPOUNDS:
            short.append(f"{title} {given}")
        if len(parts) >= 3:
            short.append(f"{title} {surname} {given}")
    if len(parts) >= 3:
        short.append(".".join(fold(p)[0].upper() for p in parts))
        short.append(" ".join([*parts[:-1], given[0].upper()]))
    return [" ".join(parts)], short


def project_variants(project: str) -> list[str]:
    """The name as written, with the usual abbreviations, and "dự án" + its proper name."""
    text = normalize(project).strip(" .,")
    text = re.sub(r"^dự án\s+", "", text, flags=re.IGNORECASE)
    found = [text]
    lower = text.lower()
    for long, short in _PROJECT_ABBREVIATIONS:
        if lower.startswith(long + " "):
            found.append(f"{short} {text[len(long) + 1 :]}")
    match = _PROJECT_KIND.match(text)
    if match and len(match.group(1).split()) >= 2:
        found.append(f"dự án {match.group(1)}")
    return found


def respondent_variants(respondent: str) -> list[str]:
    """A company or named unit complained about; government bodies of the area give nothing."""
    text = normalize(respondent).strip(" .,")
    if not text or _GOVERNMENT_BODY.match(text):
        return []
    match = _COMPANY.match(text)
    if match and len(match.group(1).split()) >= 2:
        return list(dict.fromkeys([text, f"công ty {match.group(1)}"]))
    return [text]
