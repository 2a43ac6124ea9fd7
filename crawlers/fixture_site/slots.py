"""Values for the {slots} of story templates: places, fictional people and plausible numbers.

Names are composed from common Vietnamese family, middle and given names, so any match with a
real person is chance; officials get titles of the commune or district the story is set in.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from crawlers.fixture_site.corpus import Place
from crawlers.fixture_site.vntext import vn_number


class SlotMaker:
    def __init__(self, people: dict[str, tuple[str, ...]], rng: random.Random) -> None:
        self.people = people
        self.rng = rng

    def person(self, female: bool | None = None) -> tuple[str, str, str]:
        """(honorific + full name, honorific + given name, honorific)."""
        people, rng = self.people, self.rng
        female = rng.random() < 0.4 if female is None else female
        middle = people["female_middle" if female else "male_middle"]
        given = rng.choice(people["female_given" if female else "male_given"])
        honorific = "bà" if female else "ông"
        full = f"{rng.choice(people['surnames'])} {rng.choice(middle)} {given}"
        return f"{honorific} {full}", f"{honorific} {given}", honorific

    def man(self) -> str:
        return self.person(False)[0].removeprefix("ông ")

    def official_title(self, commune: str, district: str) -> str:
        options = [f"Chủ tịch UBND {commune}", f"Phó Chủ tịch UBND {commune}"]
        if district != commune:
            options += [f"Phó Chủ tịch UBND {district}", f"Chánh Thanh tra {district}"]
        return self.rng.choice(options)

    def slots(self, place: Place, use_new: bool, published_at: datetime) -> dict[str, str]:
        rng, people = self.rng, self.people
        commune = (place.new_commune or place.commune) if use_new else place.commune
        district = commune if use_new else place.district
        province_admin = place.new_province if use_new else place.province_admin
        address = place.new_address if use_new and place.new_address else place.old_address
        years = rng.randint(3, 12)
        recent = published_at - timedelta(days=rng.randint(1, 6))
        slots: dict[str, str] = {
            "place": address,
            "commune": commune,
            "district": district,
            "province": place.province,
            "province_admin": province_admin,
            "prov": place.province_short,
            "city": place.province_short,
            "project": rng.choice(people["projects"]),
            "company": f"{rng.choice(people['company_prefix'])} "
            f"{rng.choice(people['company_names'])}",
            "factory_kind": rng.choice(people["factory_kinds"]),
            "water": rng.choice(people["water_bodies"]),
            "area": f"{vn_number(rng.uniform(1.2, 48.0))} ha",
            "sqm": f"{vn_number(rng.randrange(120, 2400, 10), 0)} m2",
            "amount": f"{vn_number(rng.uniform(15, 900))} tỷ đồng",
            "amount_small": f"{vn_number(rng.uniform(1.5, 25))} tỷ đồng",
            "price_old": f"{rng.randrange(105, 320, 5)}.000 đồng/m2",
            "price_new": f"{rng.randint(18, 75)} triệu đồng/m2",
            "households": str(rng.randint(12, 260)),
            "people": str(rng.randint(20, 150)),
            "reps": str(rng.randint(2, 5)),
            "years": str(years),
            "year_old": str(published_at.year - years),
            "date": f"{recent.day}/{recent.month}",
            "date_old": f"tháng {rng.randint(1, 12)}/{published_at.year - years}",
            "month": str(published_at.month),
            "cases": str(rng.randint(18, 160)),
            "age": str(rng.randint(52, 78)),
            "lawyer": self.man(),
            "day_label": f"ngày {published_at.day}/{published_at.month}",
        }
        slots.update(self._people(commune, district))
        slots.update(self._filler(published_at))
        slots.update({k[0].upper() + k[1:]: v[0].upper() + v[1:] for k, v in slots.items()})
        return slots

    def _people(self, commune: str, district: str) -> dict[str, str]:
        citizen, citizen_short, pron = self.person()
        citizen2 = self.person()[0]
        official, official_short, official_pron = self.person()
        official2, official2_short, _ = self.person()
        title = self.official_title(commune, district)
        title2 = next(
            t for t in iter(lambda: self.official_title(commune, district), None) if t != title
        )
        return {
            "citizen": citizen,
            "citizen_short": citizen_short,
            "citizen_pron": pron,
            "citizen2": citizen2,
            "official": official,
            "official_short": official_short,
            "official_pron": official_pron,
            "official_title": title,
            "official2": official2,
            "official2_short": official2_short,
            "official2_title": title2,
        }

    def _filler(self, published_at: datetime) -> dict[str, str]:
        rng, people = self.rng, self.people
        club1, club2 = rng.sample(people["clubs"], 2)
        s1 = rng.randint(1, 4)
        temp = rng.randint(36, 41)
        period = rng.choice(
            ("quý I", "hai tháng đầu năm", f"tháng {published_at.month}", "5 tháng đầu năm")
        )
        return {
            "temp": str(temp),
            "temp_range": f"{temp - 3}-{temp}",
            "temp_low": str(rng.randint(7, 15)),
            "rain": str(rng.randint(60, 190)),
            "club1": club1,
            "club2": club2,
            "s1": str(s1),
            "s2": str(rng.randint(0, s1 - 1)),
            "stadium": rng.choice(people["stadiums"]),
            "round": str(rng.randint(1, 26)),
            "player": self.man(),
            "player2": self.man(),
            "coach": self.man(),
            "minute": str(rng.randint(50, 89)),
            "minute2": str(rng.randint(5, 30)),
            "rank": str(rng.randint(1, 14)),
            "fans": vn_number(rng.randint(5, 25) * 1000, 0),
            "commodity": rng.choice(people["commodities"]),
            "market": rng.choice(people["markets"]),
            "growth": vn_number(rng.uniform(3, 38)),
            "period": period,
            "export_value": vn_number(rng.uniform(0.3, 6.5), 2),
            "export_month": vn_number(rng.randint(80, 900), 0),
            "gold_world": vn_number(rng.randint(3900, 5200), 0),
            "gold_dir": rng.choice(("tăng", "giảm")),
            "gold_delta": vn_number(rng.randint(2, 15) * 100_000, 0),
            "gold_price": vn_number(rng.uniform(150, 190)),
            "vn_dir": rng.choice(("tăng", "giảm")),
            "points": vn_number(rng.uniform(2, 28), 2),
            "liquidity": vn_number(rng.randint(15_000, 32_000), 0),
            "fdi": vn_number(rng.randint(80, 2400), 0),
            "foreign_sell": vn_number(rng.randint(200, 1800), 0),
            "fx": vn_number(rng.randint(25_050, 25_400), 0),
        }
