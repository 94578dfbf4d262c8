"""Rules' customer texts: every built-in rule speaks plain English and Chinese to customers;
a rule file's `customer_text` is checked like a summary, with file:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.evaluation.signals import customer_texts
from rules.loader import RuleLoadError, check_rules, load_rules

JARGON = ("SMART", "RAID", "sector", "I/O", "NVMe", "IPMI", "BMC", "{{ labels", "inode", "CRC")


def test_every_builtin_rule_has_plain_customer_text_in_english_and_chinese() -> None:
    rules = load_rules([], include_builtin=True).rules
    assert len(rules) > 50
    for compiled in rules:
        text = compiled.rule.customer_text
        assert text is not None and set(text) == {"en", "zh"}, compiled.name
        assert compiled.customer_text is not None
        for words in text.values():
            assert not any(term in words for term in JARGON), (compiled.name, words)
            assert words != compiled.rule.summary


def test_a_customer_text_renders_in_each_language_with_the_summarys_variables() -> None:
    compiled = load_rules([], include_builtin=True).get("SmartPendingSectors")
    assert compiled is not None
    context = {"host": "acme-db1", "labels": {"device": "/dev/sda"}, "value": 8}
    texts = customer_texts(compiled.customer_text, context)
    assert texts["customer_text.en"].startswith("A disk in server acme-db1 has trouble reading")
    assert "pages may load slowly" in texts["customer_text.en"]
    assert texts["customer_text.zh"].startswith("服务器 acme-db1 有一块磁盘")
    assert customer_texts(None, context) == {}, "no customer text: nothing rendered"


RULE = """\
group: mine
rules:
  - name: DiskSlow
    priority: P3
    metric: disk_busy_ratio
    above: 0.9
    summary: "I/O saturation on {{ labels.device }}"
"""


@pytest.mark.parametrize(
    ("customer_text", "expected"),
    [
        ('    customer_text: {zh: "磁盘很慢"}\n', "rules.yaml:3: rules[0]: `customer_text` needs"),
        (
            '    customer_text:\n      en: "{{ host "\n',
            "rules.yaml:8: rules[0].customer_text: customer_text (en): template error",
        ),
    ],
    ids=["no-english", "bad-template"],
)
def test_a_bad_customer_text_is_refused_naming_file_and_line(
    tmp_path: Path, customer_text: str, expected: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULE + customer_text)
    with pytest.raises(RuleLoadError) as caught:
        load_rules([path], include_builtin=False)
    assert expected in str(caught.value)


def test_a_customer_text_reading_an_unknown_variable_is_warned_about_with_its_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULE + "    customer_text: {en: 'Server {{ hots }} is slow'}\n")
    warnings = [str(w) for w in check_rules([path], include_builtin=False).warnings]
    expected = ":8: rules[0].customer_text.en: customer_text uses unknown variable `hots`"
    assert any(expected in w and "did you mean `host`?" in w for w in warnings)
