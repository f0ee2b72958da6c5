"""Values from reviewed YAML and evidence JSON as a reader sees them: by type, never a repr."""

from __future__ import annotations

import datetime

import yaml

from pipeline.dossier.formatting import fmt_value, humanize


def test_headings_keep_acronyms_and_proper_names() -> None:
    assert humanize("auroc") == "AUROC"
    assert humanize("auroc_cross_validation") == "AUROC cross validation"
    assert humanize("ai_act_application_date_assumed") == "AI Act application date assumed"
    assert humanize("cramers_v") == "Cramér's V"
    assert humanize("ewma_upper") == "EWMA upper"
    assert humanize("cusum_h_sd") == "CUSUM h SD"
    assert humanize("false_reject_rate") == "False reject rate"


def test_dates_and_numbers_as_keys_stay_as_written() -> None:
    assert humanize("2024-03-01") == "2024-03-01"
    assert humanize(datetime.date(2024, 3, 1)) == "2024-03-01"
    assert humanize("0.25") == "0.25"


def test_a_mapping_is_a_table_and_never_a_python_dict() -> None:
    raw = yaml.safe_load("- Traceability section: lineage chain <and> audit log")
    html = fmt_value(raw[0])
    assert "{'" not in html and "<table" in html
    assert "<th>Traceability section</th><td>lineage chain &lt;and&gt; audit log</td>" in html


def test_a_mapping_of_like_mappings_is_a_grid_with_dates_as_dates() -> None:
    counts = yaml.safe_load(
        "test: {2024-03-01: {defective: 38, normal: 30}, 2024-03-02: {defective: 36, normal: 36}}"
    )
    html = fmt_value(counts)
    assert "<th>Defective</th><th>Normal</th>" in html
    assert '<tr><th>2024-03-01</th><td class="num">38</td><td class="num">30</td></tr>' in html
    assert "2024 03" not in html


def test_lists_short_inline_long_as_bullets_and_floats_at_four_significant_digits() -> None:
    assert fmt_value([0.25, 0.75]) == "0.25, 0.75"
    assert fmt_value(list(range(8))).startswith('<ul class="cell"><li>0</li>')
    assert fmt_value(0.660833333) == "0.6608" and fmt_value(0.00045542) == "0.0004554"
    assert fmt_value(datetime.date(2027, 8, 2)) == "2027-08-02"
    assert fmt_value(None) == "not recorded" and fmt_value({}) == "none"
