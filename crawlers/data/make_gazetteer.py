"""Build ``gazetteer.json``: the 2025 units with their codes and the old names that map to them.

Run ``python -m crawlers.data.make_gazetteer`` after upgrading ``vietnam-provinces`` or
``underthesea``. New units (34 provinces, 3,321 communes, wards and special zones) come from
``vietnam-provinces``; old provinces, districts and communes come from the table behind
``underthesea.convert_address`` (``underthesea/address/data/mapping.json``, 10,602 rows of old
commune -> new commune). Names are stored normalised (indexer.vietnamese.normalize) and without
their unit word; new communes are joined to the mapping by province and folded name.

Output (about 0.6 MB): ``provinces`` {code: [name, unit]}, ``communes`` {code: [name, unit,
province]}, ``old_provinces`` [[name, unit, new province]], ``old_districts`` [[name, unit,
new province, [new commune codes]]], ``old_communes`` [[name, unit, district index, new commune
code]] (the default new commune when the old one was split).
"""

from __future__ import annotations

import json
import re
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from indexer.vietnamese import fold, normalize

OUT = Path(__file__).with_name("gazetteer.json")
UNIT_WORDS = ("thành phố", "thị trấn", "thị xã", "đặc khu", "phường", "huyện", "quận", "tỉnh", "xã")
_SPACES = re.compile(r"\s+")
# Names the press uses that the two packages do not list: Thừa Thiên Huế became "thành phố Huế"
# in January 2025 (so the mapping knows only that name), and common spellings and short forms.
ALIASES = [
    ["Thừa Thiên Huế", "tỉnh", "46"],
    ["Thừa Thiên - Huế", "tỉnh", "46"],
    ["Đắc Lắc", "tỉnh", "66"],
    ["Đăk Lăk", "tỉnh", "66"],
    ["Đắk Lăk", "tỉnh", "66"],
    ["Đăk Nông", "tỉnh", "68"],
    ["Đắc Nông", "tỉnh", "68"],
    ["Bà Rịa Vũng Tàu", "tỉnh", "79"],
    ["BR-VT", "tỉnh", "79"],
    ["HCM", "thành phố", "79"],
    ["TPHCM", "thành phố", "79"],
    ["TP.HCM", "thành phố", "79"],
    ["Sài Gòn", "thành phố", "79"],
]


def split_unit(full: str) -> tuple[str, str]:
    """("Huyện Thanh Trì") -> ("huyện", "Thanh Trì"); names without a unit word get ""."""
    text = _SPACES.sub(" ", normalize(full)).strip()
    lower = text.lower()
    for word in UNIT_WORDS:
        if lower.startswith(word + " "):
            return word, text[len(word) + 1 :]
    return "", text


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(normalize(name)))


def new_units() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    from vietnam_provinces import Province, Ward

    provinces: dict[str, list[str]] = {}
    for province in Province.iter_all():
        unit, name = split_unit(province.name)
        provinces[f"{province.code.value:02d}"] = [name, unit or "tỉnh"]
    communes: dict[str, list[str]] = {}
    for ward in Ward.iter_all():
        unit, name = split_unit(ward.name)
        communes[f"{ward.code.value:05d}"] = [name, unit, f"{ward.province_code.value:02d}"]
    return provinces, communes


def old_units(communes: dict[str, list[str]]) -> dict[str, Any]:
    table = resources.files("underthesea.address") / "data" / "mapping.json"
    data = json.loads(table.read_text("utf-8"))
    province_code = {k: v["code"] for k, v in data["province_names"].items()}
    by_name = {(c[2], _key(c[1] + c[0])): code for code, c in communes.items()}
    old_provinces = []
    for key, info in sorted(data["old_province_names"].items(), key=lambda kv: kv[1]["code"]):
        unit, name = split_unit(info["name"])
        old_provinces.append([name, unit, province_code[data["province_mapping"][key]]])
    old_provinces += ALIASES
    districts: dict[tuple[str, str], int] = {}
    old_districts: list[list[Any]] = []
    old_communes: dict[tuple[int, str, str], list[Any]] = {}
    unmatched = 0
    for row in data["ward_mapping"]:
        province = province_code[row["new_province_key"]]
        code = by_name.get((province, _key(row["new_ward"])))
        if code is None:
            unmatched += 1
            continue
        district_id = (row["old_province_key"], row["old_district"])
        if district_id not in districts:
            unit, name = split_unit(row["old_district"])
            districts[district_id] = len(old_districts)
            old_districts.append([name, unit, province, []])
        index = districts[district_id]
        if code not in old_districts[index][3]:
            old_districts[index][3].append(code)
        if not row["old_ward"].strip():
            continue
        unit, name = split_unit(row["old_ward"])
        slot = (index, unit, name)
        if slot not in old_communes or row.get("is_default"):
            old_communes[slot] = [name, unit, index, code]
    for district in old_districts:
        district[3].sort()
    print(f"{unmatched} mapping rows whose new commune is not in vietnam-provinces: skipped")
    return {
        "old_provinces": old_provinces,
        "old_districts": old_districts,
        "old_communes": sorted(old_communes.values(), key=lambda c: (c[2], c[1], c[0])),
    }


def build() -> dict[str, Any]:
    provinces, communes = new_units()
    return {
        "sources": {
            "vietnam-provinces": metadata.version("vietnam-provinces"),
            "underthesea": metadata.version("underthesea"),
        },
        "provinces": provinces,
        "communes": communes,
        **old_units(communes),
    }


def main() -> None:
    data = build()
    OUT.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8")
    sizes = {k: len(v) for k, v in data.items() if k != "sources"}
    print(f"{OUT} ({OUT.stat().st_size // 1024} KB): {sizes}")


if __name__ == "__main__":
    main()
