"""The HTML report: self-contained, and it renders its charts in a real (headless) browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from leadgen.report import ReportData, render_report

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
                 if p and Path(p).exists()), None)


def _data(segments: int = 3, days: int = 28) -> ReportData:
    classes = ["healthy", "supply_constrained", "demand_constrained", "unhealthy"]
    supply_demand = [
        {
            "segment_id": f"00000000-0000-0000-0000-{i:012d}", "branch": "schilder", "region_code": f"r{i}",
            "leads_7d": 70 - i, "leads_28d": 280 - i, "demand_leads_per_day_7d": Decimal("10.0"),
            "capacity_partners": 4, "free_capacity": 20 + i, "utilization": Decimal("0.5"),
            "days_of_cover": Decimal("2.0"), "acceptance_rate_28d": Decimal("0.6"),
            "health_class": classes[i % 4],
        }
        for i in range(segments)
    ]
    first = date(2025, 3, 1)
    daily = [
        {"date": first + timedelta(days=d), "generated": 100 + d, "accepted": 50, "rejected": 20,
         "pending": 30 + d, "segments_with_leads": segments}
        for d in range(days)
    ]
    return ReportData(supply_demand, daily, datetime(2025, 3, 29, 3, 0, tzinfo=UTC), "postgresql://x@h:5432/db")


def test_the_report_is_self_contained_and_shows_the_marts_numbers() -> None:
    html = render_report(_data())
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # no CDN, no remote asset
    assert "<link" not in html
    assert html.count('class="bar demand"') == 3 and html.count('class="bar supply"') == 3
    assert 'data-health="supply_constrained"' in html
    assert "2025-03-28 (Fri)" in html  # the 28-day table, newest first
    assert html.index("2025-03-28 (Fri)") < html.index("2025-03-01 (Sat)")


def test_the_report_renders_without_data() -> None:
    html = render_report(_data(segments=0, days=0))
    assert "No statistics in the last 28 days." in html


def _chromium(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--virtual-time-budget=5000",
         f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_the_report_renders_its_charts_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    page.write_text(render_report(_data(segments=12)), encoding="utf-8")
    dom = _chromium("--dump-dom", page.as_uri(), tmp_path=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # the page's own script counts the charts the browser laid out with a non-empty box and bars
    assert 'data-charts-rendered="2"' in dom.stdout, dom.stdout[:500]
    shot = tmp_path / "shot.png"
    result = _chromium(f"--screenshot={shot}", "--window-size=1100,1400", page.as_uri(), tmp_path=tmp_path)
    assert result.returncode == 0 and shot.stat().st_size > 10_000
