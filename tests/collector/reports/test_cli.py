"""`watchkeeper report sla`: HTML, CSV and PDF files from a database, and operator errors."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from agent.cli import main
from collector.reports.cli import report_command
from collector.store.database import migrate, open_database
from tests.collector.reports.scenario import MONTH, write_month
from tests.peers import REQUIRE_PEERS

NOW = MONTH.end + 86400.0


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'wk.db'}"
    engine = open_database(url)
    migrate(engine)
    write_month(engine)
    engine.dispose()
    return url


def run(database: str, out: Path, *extra: str) -> int:
    argv = ["sla", "--month", "2026-10", "--timezone", "Asia/Shanghai", "--team", "db"]
    return report_command([*argv, "--database", database, "-o", str(out), *extra], lambda: NOW)


def test_html_has_every_section_the_figures_and_inline_charts(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sla.html"
    assert run(database, out, "--format", "html") == 0
    assert f"wrote {out}" in capsys.readouterr().out
    html = out.read_text()
    for title in (
        "Tickets by priority",
        "Time to acknowledge (MTTA)",
        "Time to first update",
        "SLA attainment",
        "SLA breaches",
        "Availability",
        "Noise: where to tune",
    ):
        assert f"<h2>{title}</h2>" in html
    assert html.count("<svg") == 4  # tickets, MTTR, attainment, downtime of db-1
    assert "<td>99.708</td>" in html and "<td>44.6</td>" in html  # db-1, allowed minutes
    assert "Asia/Shanghai" in html


def test_csv_zip_holds_one_file_per_table_and_table_picks_one(
    database: str, tmp_path: Path
) -> None:
    archive = tmp_path / "sla.zip"
    assert run(database, archive, "--format", "csv") == 0
    with zipfile.ZipFile(archive) as zipped:
        assert "mtta.csv" in zipped.namelist() and "availability.csv" in zipped.namelist()
        rows = list(csv.reader(io.StringIO(zipped.read("mttr.csv").decode("utf-8-sig"))))
    assert rows == [
        ["Priority", "Count", "Mean (min)", "Median (min)", "p90 (min)"],
        ["P1", "2", "65.0", "65.0", "90.0"],
        ["P3", "2", "810.0", "810.0", "1500.0"],
    ]
    single = tmp_path / "availability.csv"
    assert run(database, single, "--format", "csv", "--table", "availability") == 0
    lines = single.read_text(encoding="utf-8-sig").splitlines()
    assert lines[1] == "db-1,99.708,99.9,44.6,130.0,60.0,no"
    breaches = tmp_path / "breaches.csv"
    assert run(database, breaches, "--format", "csv", "--table", "breaches") == 0
    assert "INC-2026-000006,P1,ack,2026-10-10 16:10,5.0,1,disk sdb failed in the array" in (
        breaches.read_text(encoding="utf-8-sig")
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "csv", "--table", "nope"], "--table: no table 'nope'; the tables are:"),
        (["--format", "html", "--table", "mttr"], "--table goes with --format csv"),
        (["--commitment", "120"], "--commitment must be a percentage in (0, 100]; got 120"),
    ],
    ids=["unknown-table", "table-without-csv", "commitment"],
)
def test_operator_errors_name_the_option(
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    assert run(database, tmp_path / "x", *extra) == 1
    assert message in capsys.readouterr().err


def test_missing_sqlite_file_and_bad_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert (
        report_command(
            ["sla", "--month", "2026-10", "--database", missing, "-o", str(tmp_path / "x")]
        )
        == 1
    )
    assert "no SQLite database at" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()
    assert (
        report_command(
            ["sla", "--month", "10/2026", "--database", missing, "-o", str(tmp_path / "x")]
        )
        == 1
    )
    assert "month must look like 2026-10 (YYYY-MM); got '10/2026'" in capsys.readouterr().err


def test_config_file_gives_the_database(database: str, tmp_path: Path) -> None:
    config = tmp_path / "collector.yaml"
    config.write_text(f"database: {database}\n")
    out = tmp_path / "sla.html"
    argv = ["sla", "--month", "2026-10", "--config", str(config), "-o", str(out)]
    assert report_command(argv, lambda: NOW) == 0
    assert "Monthly SLA report" in out.read_text()


def test_registered_as_watchkeeper_report(database: str, tmp_path: Path) -> None:
    out = tmp_path / "sla.csv"
    argv = [
        "report",
        "sla",
        "--month",
        "2026-10",
        "--database",
        database,
        "--format",
        "csv",
        "--table",
        "volume_priority",
        "-o",
        str(out),
    ]
    assert main(argv) == 0
    assert out.read_text(encoding="utf-8-sig").startswith("Priority,This month")


def poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        if REQUIRE_PEERS:
            pytest.fail(f"{tool} is missing: apt-get install poppler-utils")
        pytest.skip(f"{tool} is missing (apt-get install poppler-utils)")
    return found


def test_chinese_pdf_has_the_section_titles_and_figures(database: str, tmp_path: Path) -> None:
    pdftotext, pdftoppm, pdfinfo = poppler("pdftotext"), poppler("pdftoppm"), poppler("pdfinfo")
    out = tmp_path / "sla.pdf"
    assert run(database, out, "--format", "pdf", "--language", "zh") == 0
    assert out.read_bytes().startswith(b"%PDF-")
    info = subprocess.run([pdfinfo, str(out)], capture_output=True, text=True, check=True)
    assert "Pages:           3" in info.stdout
    text = subprocess.run(
        [pdftotext, "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    for title in (
        "月度服务水平报告",
        "按优先级统计的工单",
        "平均确认时间",
        "首次进展通报时间",
        "平均解决时间",
        "服务水平达成率",
        "服务水平违约",
        "按故障类别统计的工单",
        "根本原因",
        "可用性",
        "告警噪音",
    ):
        assert title in text, title
    assert "99.708" in text and "44.6" in text and "130.0" in text
    artefacts = tmp_path / "artefacts"  # page images for a person to look at
    artefacts.mkdir()
    subprocess.run([pdftoppm, "-png", "-r", "60", str(out), str(artefacts / "sla")], check=True)
    assert len(list(artefacts.glob("sla-*.png"))) == 3
