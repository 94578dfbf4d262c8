"""`watchkeeper report health`: HTML, CSV and PDF (Chinese, checked with pdftotext) from a
database of daily aggregates, hosts chosen by customer or glob, and operator errors."""

from __future__ import annotations

import csv
import io
import subprocess
import zipfile
from pathlib import Path

import pytest

from collector.reports.cli import report_command
from collector.store.database import migrate, open_database
from tests.collector.reports.health_scenario import NOW, write_quarter
from tests.collector.reports.test_cli import poppler

INVENTORY = """\
hosts:
  db-1:
    model: Dell PowerEdge R740
    serial: 7XK2M03
    purchased: 2023-12-04
    warranty_end: 2026-12-04
  web-2:
    model: HPE DL360 Gen9
    serial: CZJ61203
    support_end: 2026-05-01
    customer: globex
"""


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'wk.db'}"
    engine = open_database(url)
    migrate(engine)
    write_quarter(engine)
    engine.dispose()
    return url


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY)
    return path


def run(database: str, out: Path, inventory: Path, *extra: str) -> int:
    argv = ["health", "--quarter", "2026-Q3", "--timezone", "Asia/Shanghai"]
    argv += ["--inventory", str(inventory), "--database", database, "-o", str(out), *extra]
    return report_command(argv, lambda: NOW)


def test_html_has_every_section_charts_and_the_recommendations(
    database: str, inventory: Path, tmp_path: Path
) -> None:
    out = tmp_path / "health.html"
    assert run(database, out, inventory) == 0
    html = out.read_text()
    titles = [
        "Recommendations",
        "Resource baselines and trends",
        "Filesystem growth",
        "Network errors",
        "Disk health (SMART risk)",
        "Arrays and controllers",
        "BMC sensor extremes",
        "BMC event log of the quarter",
        "Hardware inventory",
        "Warranty and support ending",
    ]
    for title in titles:
        assert f"<h2>{title}</h2>" in html, title
    assert html.count("<svg") == 3  # busy CPUs, days until full, SMART risk
    assert "will be full in about 42 days" in html and "<td>740</td>" in html


def test_csv_table_and_a_customers_hosts_from_the_inventory(
    database: str, inventory: Path, tmp_path: Path
) -> None:
    out = tmp_path / "health.zip"
    assert run(database, out, inventory, "--format", "csv", "--customer", "globex") == 0
    with zipfile.ZipFile(out) as archive:
        assert "disks.csv" in archive.namelist()
        text = archive.read("disks.csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[:2] for r in rows[1:]] == [["web-2", "sdb"]]  # db-1 is not globex's
    one = tmp_path / "fs.csv"
    assert run(database, one, inventory, "--format", "csv", "--table", "filesystems") == 0
    lines = one.read_text(encoding="utf-8-sig").splitlines()
    assert lines[1:] == ["db-1,/data,1000.0,87.3,3.00,42", "web-2,/,500.0,50.0,0.00,"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--quarter", "2026-Q5"], "quarter must look like 2026-Q3"),
        (["--customer", "nobody"], "--customer nobody: no hosts known for it"),
        (["--table", "disks"], "--table goes with --format csv"),
    ],
    ids=["bad-quarter", "unknown-customer", "table-without-csv"],
)
def test_operator_errors_say_what_to_fix(
    database: str, inventory: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    extra: list[str], message: str,
) -> None:  # fmt: skip
    assert run(database, tmp_path / "x", inventory, *extra) == 1
    assert message in capsys.readouterr().err


def test_chinese_pdf_has_the_section_titles_and_figures(
    database: str, inventory: Path, tmp_path: Path
) -> None:
    pdftotext, pdftoppm, pdfinfo = poppler("pdftotext"), poppler("pdftoppm"), poppler("pdfinfo")
    out = tmp_path / "health.pdf"
    assert run(database, out, inventory, "--format", "pdf", "--language", "zh") == 0
    assert out.read_bytes().startswith(b"%PDF-")
    info = subprocess.run([pdfinfo, str(out)], capture_output=True, text=True, check=True)
    assert "Pages:           3" in info.stdout
    text = subprocess.run(
        [pdftotext, "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    titles = [
        "季度健康检查报告",
        "建议",
        "资源基线与趋势",
        "文件系统增长",
        "网络错误",
        "磁盘健康",
        "阵列与控制器",
        "BMC 传感器极值",
        "本季度 BMC 事件日志",
        "硬件清单",
        "保修与支持到期",
    ]
    for title in titles:
        assert title in text, title
    assert "约 42 天后写满" in text and "740" in text and "1020" in text and "7XK2M03" in text
    artefacts = tmp_path / "artefacts"  # page images for a person to look at
    artefacts.mkdir()
    subprocess.run([pdftoppm, "-png", "-r", "60", str(out), str(artefacts / "health")], check=True)
    assert len(list(artefacts.glob("health-*.png"))) == 3
