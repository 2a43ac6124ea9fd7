"""Names of post-2025 provinces and communes from their codes, for alert titles and routing."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def province_name(code: str) -> str | None:
    from vietnam_provinces import Province
    from vietnam_provinces.codes import ProvinceCode

    try:
        return str(Province.from_code(ProvinceCode(int(code))).name)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def commune(code: str) -> tuple[str, str] | None:
    """(commune name, its province code) of a commune code."""
    from vietnam_provinces import Ward
    from vietnam_provinces.codes import WardCode

    try:
        ward = Ward.from_code(WardCode(int(code)))
    except ValueError:
        return None
    return str(ward.name), f"{int(ward.province_code):02d}"


def place_label(level: str, code: str) -> str:
    if level == "commune":
        found = commune(code)
        if found:
            province = province_name(found[1])
            return f"{found[0]}, {province}" if province else found[0]
    name = province_name(code) if level == "province" else None
    return name or f"{'xã/phường' if level == 'commune' else 'tỉnh'} mã {code}"
