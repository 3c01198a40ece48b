"""The committed region and branch seeds: they resolve every real PC4 exactly as the data says."""

from __future__ import annotations

import bisect
import csv
import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
from leadgen.config import PROJECT_ROOT

SEEDS = PROJECT_ROOT / "seeds"
REGIONS = SEEDS / "regions"
DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA_DIR / "nl_pc4.csv").exists(), reason=f"reference data not present in {DATA_DIR}"
)


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def ranges() -> list[tuple[int, int, str]]:
    return sorted((int(r["pc4_from"]), int(r["pc4_to"]), r["municipality_code"])
                  for r in read(REGIONS / "region_pc4_ranges.csv"))


@pytest.fixture(scope="module")
def municipalities() -> dict[str, dict[str, str]]:
    return {m["municipality_code"]: m for m in read(REGIONS / "region_municipalities.csv")}


def matching(ranges: list[tuple[int, int, str]], pc4: int) -> list[str]:
    return [code for lo, hi, code in ranges if lo <= pc4 <= hi]


Ranges = list[tuple[int, int, str]]


def resolve(ranges: Ranges, munis: dict[str, dict[str, str]], pc4: int) -> tuple[str, str]:
    (code,) = matching(ranges, pc4)
    return munis[code]["municipality_name"], munis[code]["province_code"]


@pytest.mark.parametrize(
    ("pc4", "municipality", "province"),
    [
        (1011, "Amsterdam", "noord-holland"),
        (3011, "Rotterdam", "zuid-holland"),
        (5011, "Tilburg", "noord-brabant"),
        (5038, "Tilburg", "noord-brabant"),
        (5049, "Tilburg", "noord-brabant"),
        (6211, "Maastricht", "limburg"),
        (9711, "Groningen", "groningen"),
    ],
)
def test_readme_spot_checks(ranges, municipalities, pc4, municipality, province) -> None:
    assert resolve(ranges, municipalities, pc4) == (municipality, province)


@pytest.mark.parametrize(("pc4", "province"), [(8301, "flevoland"), (9401, "drenthe")])
def test_readme_province_spot_checks(ranges, municipalities, pc4, province) -> None:
    assert resolve(ranges, municipalities, pc4)[1] == province


def test_all_of_tilburg_5011_to_5049_that_exists_is_tilburg(ranges, municipalities) -> None:
    found = {pc4: matching(ranges, pc4) for pc4 in range(5011, 5050)}
    assert {tuple(v) for v in found.values() if v} == {("tilburg",)}
    assert sum(1 for v in found.values() if v) >= 20


@pytest.mark.parametrize("pc4", [0, 1000, 1010, 1020, 10000])
def test_nonexistent_pc4_resolves_to_nothing(ranges, pc4) -> None:
    assert matching(ranges, pc4) == []


def test_ranges_are_disjoint_and_ordered(ranges) -> None:
    for (lo1, hi1, _), (lo2, _hi2, _) in itertools.pairwise(ranges):
        assert lo1 <= hi1 < lo2


@needs_data
def test_every_pc4_of_the_data_resolves_to_its_municipality(ranges, municipalities) -> None:
    data = read(DATA_DIR / "nl_pc4.csv")
    assert len(data) == 4086
    starts = [lo for lo, _, _ in ranges]
    covered = sum(hi - lo + 1 for lo, hi, _ in ranges)
    assert covered == len(data), "ranges cover PC4 codes that do not exist"
    for row in data:
        pc4 = int(row["pc4"])
        i = bisect.bisect_right(starts, pc4) - 1
        lo, hi, code = ranges[i]
        assert lo <= pc4 <= hi, f"{pc4} is not covered"
        muni = municipalities[code]
        assert (muni["gemeente_code"], muni["municipality_name"]) == (row["gemeente_code"], row["gemeente"])


def test_counts_and_code_namespace(municipalities) -> None:
    provinces = read(REGIONS / "region_provinces.csv")
    assert len(provinces) == 12
    assert len(municipalities) == 342
    muni_rows = read(REGIONS / "region_municipalities.csv")
    assert len({m["municipality_code"] for m in muni_rows}) == len(muni_rows)
    assert len({m["gemeente_code"] for m in muni_rows}) == len(muni_rows)
    province_codes = {p["province_code"] for p in provinces}
    assert not province_codes & set(municipalities), "province and municipality codes collide"
    assert {m["province_code"] for m in muni_rows} == province_codes
    assert municipalities["groningen-gemeente"]["province_code"] == "groningen"
    assert municipalities["utrecht-gemeente"]["province_code"] == "utrecht"
    assert {p["province_code"]: (p["cbs_code"], p["iso_code"]) for p in provinces}["noord-brabant"] == (
        "PV30", "NL-NB")


def test_province_aliases_cover_the_usual_spellings() -> None:
    aliases = {(a["alias"], a["province_code"]) for a in read(REGIONS / "region_province_aliases.csv")}
    expected = [("Noord-Brabant", "noord-brabant"), ("n-brabant", "noord-brabant"), ("nb", "noord-brabant"),
                ("fryslân", "friesland"), ("Friesland", "friesland"), ("zh", "zuid-holland")]
    for alias, code in expected:
        assert (alias, code) in aliases


def _loose_key(text: str) -> str:
    # Only to detect ambiguity in the seed file; the matching rule itself is the dbt macro.
    return re.sub(r"[\s.\-_']", "", text.lower())


@pytest.mark.parametrize(
    ("path", "target"),
    [(SEEDS / "branch_aliases.csv", "branch"), (REGIONS / "region_province_aliases.csv", "province_code")],
)
def test_no_alias_points_at_two_targets(path, target) -> None:
    seen: dict[str, str] = {}
    for row in read(path):
        key = _loose_key(row["alias"])
        assert seen.setdefault(key, row[target]) == row[target], f"{row['alias']!r} is ambiguous"


def test_branch_aliases_list_every_slug_and_the_production_spellings() -> None:
    rows = read(SEEDS / "branch_aliases.csv")
    branches = {r["branch"] for r in rows}
    assert len(branches) >= 12
    assert branches <= {r["alias"] for r in rows}, "every slug is also an alias"
    mapping = {r["alias"]: r["branch"] for r in rows}
    for alias, branch in [("Schilderwerken", "schilder"), ("Schildersbedrijf", "schilder"),
                          ("Loodgietersbedrijf", "loodgieter"), ("Dakwerken", "dakdekker"),
                          ("Elektrotechniek", "elektricien"), ("CV-monteur", "installateur")]:
        assert mapping[alias] == branch


@needs_data
def test_derivation_is_deterministic_and_matches_the_committed_seeds(tmp_path) -> None:
    script = PROJECT_ROOT / "scripts" / "derive_region_seeds.py"
    result = subprocess.run([sys.executable, str(script), str(DATA_DIR), "--out", str(tmp_path)],
                            capture_output=True, text=True, check=True)
    assert "342 municipalities" in result.stdout
    for committed in sorted(REGIONS.glob("*.csv")):
        assert (tmp_path / committed.name).read_bytes() == committed.read_bytes(), committed.name
