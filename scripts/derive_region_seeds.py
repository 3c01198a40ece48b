#!/usr/bin/env python3
"""Derive the region seeds (seeds/regions/*.csv) from the reference data in ../shared/data/.

Source: nl_pc4.csv and nl_province_aliases.csv, built from the GeoNames postal-code dump
(GeoNames, geonames.org, CC BY 4.0). Usage:

    python scripts/derive_region_seeds.py [DATA_DIR] [--out SEEDS_REGIONS_DIR]

The output is deterministic (sorted, fixed line endings). Before writing, the script checks
that the PC4 ranges resolve every PC4 of the data to its municipality and nothing else, and
that there are 12 provinces and 342 municipalities; it fails loudly otherwise.

The codes it makes are slugs (lower case, ASCII, words joined by '-'): they are identifiers of
the controlled vocabulary, not the rule that matches messy input (that is the dbt macro
``normalize_key``).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
DEFAULT_OUT_DIR = PROJECT_ROOT / "seeds" / "regions"

EXPECTED_PC4 = 4086
EXPECTED_PROVINCES = 12
EXPECTED_MUNICIPALITIES = 342


def slug(name: str) -> str:
    """'Noord-Brabant' -> 'noord-brabant', "'s-Hertogenbosch" -> 's-hertogenbosch',
    'Bergen (NH.)' -> 'bergen-nh', 'Súdwest-Fryslân' -> 'sudwest-fryslan'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


@dataclass(frozen=True)
class Pc4Row:
    pc4: int
    province_name: str
    gemeente_code: str
    municipality_name: str


@dataclass(frozen=True)
class Seeds:
    provinces: list[dict[str, str]]
    province_aliases: list[dict[str, str]]
    municipalities: list[dict[str, str]]
    pc4_ranges: list[dict[str, int | str]]


def read_pc4(data_dir: Path) -> list[Pc4Row]:
    with (data_dir / "nl_pc4.csv").open(newline="", encoding="utf-8") as fh:
        return [
            Pc4Row(int(r["pc4"]), r["provincie"].strip(), r["gemeente_code"].strip(), r["gemeente"].strip())
            for r in csv.DictReader(fh)
        ]


def read_provinces(data_dir: Path) -> list[dict[str, str]]:
    with (data_dir / "nl_province_aliases.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)  # header: provincie, cbs_code, iso_3166_2, aliases (';'-separated)
        return [
            {"name": name.strip(), "cbs": cbs.strip(), "iso": iso.strip(), "aliases": aliases}
            for name, cbs, iso, aliases in reader
        ]


def derive(data_dir: Path) -> Seeds:
    pc4_rows = sorted(read_pc4(data_dir), key=lambda r: r.pc4)
    province_rows = read_provinces(data_dir)

    provinces = sorted(
        (
            {
                "province_code": slug(p["name"]),
                "province_name": p["name"],
                "cbs_code": p["cbs"],
                "iso_code": p["iso"],
            }
            for p in province_rows
        ),
        key=lambda p: p["province_code"],
    )
    province_by_name = {p["province_name"]: p["province_code"] for p in provinces}

    aliases: set[tuple[str, str]] = set()
    for p in province_rows:
        code = province_by_name[p["name"]]
        for alias in [p["name"], p["cbs"], p["iso"], *p["aliases"].split(";")]:
            if alias.strip():
                aliases.add((alias.strip(), code))
    province_aliases = [{"alias": a, "province_code": c} for a, c in sorted(aliases)]

    municipalities_by_gm: dict[str, dict[str, str]] = {}
    for r in pc4_rows:
        code = slug(r.municipality_name)
        if code in province_by_name.values():
            code = f"{code}-gemeente"  # one namespace for province and municipality codes
        entry = {
            "municipality_code": code,
            "municipality_name": r.municipality_name,
            "gemeente_code": r.gemeente_code,
            "province_code": province_by_name[r.province_name],
        }
        known = municipalities_by_gm.setdefault(r.gemeente_code, entry)
        if known != entry:
            raise ValueError(f"{r.gemeente_code} is listed with two names or provinces: {known} / {entry}")
    municipalities = sorted(municipalities_by_gm.values(), key=lambda m: m["municipality_code"])
    code_by_gm = {m["gemeente_code"]: m["municipality_code"] for m in municipalities}

    # Contiguous runs of consecutive existing PC4 codes with the same municipality. A gap in the
    # numbering ends a run, so a PC4 that does not exist never falls inside a range.
    ranges: list[dict[str, int | str]] = []
    for r in pc4_rows:
        code = code_by_gm[r.gemeente_code]
        last = ranges[-1] if ranges else None
        if last and last["municipality_code"] == code and last["pc4_to"] == r.pc4 - 1:
            last["pc4_to"] = r.pc4
        else:
            ranges.append({"pc4_from": r.pc4, "pc4_to": r.pc4, "municipality_code": code})

    seeds = Seeds(provinces, province_aliases, municipalities, ranges)
    verify(seeds, pc4_rows)
    return seeds


def verify(seeds: Seeds, pc4_rows: list[Pc4Row]) -> None:
    """Fail unless the seeds reproduce the data exactly."""

    def check(condition: bool, message: str) -> None:
        if not condition:
            raise AssertionError(message)

    check(len(pc4_rows) == EXPECTED_PC4, f"expected {EXPECTED_PC4} PC4 rows, found {len(pc4_rows)}")
    check(len({r.pc4 for r in pc4_rows}) == len(pc4_rows), "a PC4 appears twice in the data")
    check(len(seeds.provinces) == EXPECTED_PROVINCES, f"expected 12 provinces, found {len(seeds.provinces)}")
    check(
        len(seeds.municipalities) == EXPECTED_MUNICIPALITIES,
        f"expected 342 municipalities, found {len(seeds.municipalities)}",
    )
    province_codes = {p["province_code"] for p in seeds.provinces}
    municipality_codes = [m["municipality_code"] for m in seeds.municipalities]
    check(len(set(municipality_codes)) == len(municipality_codes), "two municipalities share a code")
    check(not province_codes & set(municipality_codes), "a municipality code equals a province code")
    check(
        all(m["province_code"] in province_codes for m in seeds.municipalities),
        "a municipality has an unknown province",
    )
    alias_targets = {a["alias"]: a["province_code"] for a in seeds.province_aliases}
    check(len(alias_targets) == len(seeds.province_aliases), "an alias points at two provinces")

    # Every PC4 resolves to exactly one range, with its own municipality; nothing else resolves.
    code_by_gm = {m["gemeente_code"]: m["municipality_code"] for m in seeds.municipalities}
    resolved: dict[int, str] = {}
    previous_to = -1
    for rng in seeds.pc4_ranges:
        lo, hi = int(rng["pc4_from"]), int(rng["pc4_to"])
        check(previous_to < lo <= hi, f"ranges overlap or are out of order at {rng}")
        previous_to = hi
        for pc4 in range(lo, hi + 1):
            resolved[pc4] = str(rng["municipality_code"])
    expected = {r.pc4: code_by_gm[r.gemeente_code] for r in pc4_rows}
    check(resolved == expected, "the PC4 ranges do not resolve the PC4 codes exactly as the data says")


Rows = list[dict[str, str]] | list[dict[str, int | str]]


def write_csv(path: Path, rows: Rows, columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)

    seeds = derive(args.data_dir)
    write_csv(args.out / "region_provinces.csv", seeds.provinces,
              ["province_code", "province_name", "cbs_code", "iso_code"])
    write_csv(args.out / "region_province_aliases.csv", seeds.province_aliases, ["alias", "province_code"])
    write_csv(args.out / "region_municipalities.csv", seeds.municipalities,
              ["municipality_code", "municipality_name", "gemeente_code", "province_code"])
    write_csv(args.out / "region_pc4_ranges.csv", seeds.pc4_ranges,
              ["pc4_from", "pc4_to", "municipality_code"])
    print(
        f"region seeds written to {args.out}: {len(seeds.provinces)} provinces, "
        f"{len(seeds.province_aliases)} province aliases, {len(seeds.municipalities)} municipalities, "
        f"{len(seeds.pc4_ranges)} PC4 ranges covering {EXPECTED_PC4} PC4 codes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
