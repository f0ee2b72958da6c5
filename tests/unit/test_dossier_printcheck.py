"""The print checks on hand-made pages: each passes a clean page and fails its broken twin."""

from __future__ import annotations

from pipeline.dossier import printcheck as pc

A4 = (595.28, 841.89)
LEFT = 17 * pc.MM
TOP = 24 * pc.MM


def line(text: str, y: float, x: float = LEFT + 2, width: float = 200, block: int = 0) -> pc.Line:
    return pc.Line(text, x, y, x + width, y + 9, block)


def page(number: int, *lines: pc.Line, size: tuple[float, float] = A4) -> pc.Page:
    return pc.Page(number, size[0], size[1], tuple(lines))


def full(number: int, *lines: pc.Line) -> pc.Page:
    """A page whose text reaches the foot of its content area."""
    return page(number, *lines, line("last line of a full page", 760, block=99))


def test_text_inside_the_margins_passes_and_text_past_the_right_margin_fails() -> None:
    inside = page(1, line("fits", TOP + 10, width=A4[0] - 2 * LEFT - 4))
    beyond = page(2, line("0.550 [0.475, 0.618]", TOP + 10, x=490, width=82))
    assert pc.text_outside_box([inside]) == []
    (finding,) = pc.text_outside_box([beyond])
    assert finding.startswith("page 2: text outside the printable box") and "0.550" in finding


def test_landscape_pages_use_their_own_margins() -> None:
    size = (A4[1], A4[0])
    wide = page(1, line("landscape row", 70, x=15 * pc.MM, width=size[0] - 30 * pc.MM), size=size)
    assert pc.text_outside_box([wide]) == []


def test_a_mostly_blank_page_fails_unless_a_section_ends_there() -> None:
    short = page(1, line("a few lines", TOP + 10))
    next_plain = full(2, line("more of the same section", TOP + 5))
    next_section = full(2, line("6 Development", TOP + 5))
    assert pc.fill_ratio(short) < 0.1 and pc.fill_ratio(next_plain) > 0.9
    (finding,) = pc.sparse_pages([short, next_plain, full(3)], ["Development"])
    assert finding.startswith("page 1:") and "no section ends there" in finding
    assert pc.sparse_pages([short, next_section, full(3)], ["Development"]) == []


def test_a_wrapped_section_heading_or_the_contents_page_ends_a_section() -> None:
    short = page(1, line("a few lines", TOP + 10))
    title = "Annexes: evidence, test log, CSA assurance records, glossary"
    wrapped = full(2, line("18 Annexes: evidence, test log, CSA assurance", TOP + 5))
    contents = full(2, line("Contents", TOP + 5))
    assert pc.sparse_pages([short, wrapped, full(3)], [title]) == []
    assert pc.sparse_pages([short, contents, full(3)], [title]) == []
    # a first line that merely shares a short prefix with a title is no heading
    (finding,) = pc.sparse_pages([short, full(2, line("18 Anne", TOP + 5)), full(3)], [title])
    assert "no section ends there" in finding


def test_a_caption_left_at_the_foot_of_its_page_fails() -> None:
    kept = full(
        1, line("Table 9. Images per capture date", 600, block=3), line("Split", 615, block=4)
    )
    orphan = page(
        1,
        line("text above", 500, block=2),
        line("Table 9. Images per capture date and", 760, block=3),
        line("split (wrapped caption)", 770, block=3),
    )
    assert pc.orphaned_captions([kept]) == []
    (finding,) = pc.orphaned_captions([orphan])
    assert "'Table 9.'" in finding and finding.startswith("page 1:")


def test_raw_dicts_and_none_in_the_text_fail() -> None:
    clean = page(1, line("Verified by: Traceability section (lineage)", 100))
    raw = page(
        2,
        line("{'Traceability section': 'lineage'}", 100),
        line('{"a": 1}', 120),
        line("Mitigation: None", 140),
    )
    assert pc.forbidden_tokens([clean]) == []
    findings = pc.forbidden_tokens([raw])
    assert [f.split(": ")[1] for f in findings] == [
        "a Python dict in the text",
        "a JSON object in the text",
        "Python's None in the text",
    ]
    assert pc.forbidden_tokens([page(1, line("Nonetheless", 100))]) == []


def test_a_figure_nobody_refers_to_fails() -> None:
    figures = page(
        1,
        line("Figures 1–2 show the loss curves; Figure 4 the ROC.", 100),
        line("Figure 1. Loss of model a.", 200),
        line("Figure 2. Loss of model b.", 300),
        line("Figure 3. Loss of model c; compare Figure 3 of the paper.", 400),
        line("Figure 4. ROC.", 500),
    )
    assert pc.unreferenced_figures([figures]) == [
        "page 1: Figure 3 is never referred to in the text"
    ]


def test_bbox_xhtml_is_read_into_pages_and_lines() -> None:
    xhtml = (
        '<html xmlns="http://www.w3.org/1999/xhtml"><body><doc>'
        '<page width="595.28" height="841.89"><flow><block xMin="1" yMin="2" xMax="3" yMax="4">'
        '<line xMin="48" yMin="70" xMax="120" yMax="80"><word xMin="48" yMin="70" xMax="80" '
        'yMax="80">Table</word><word xMin="82" yMin="70" xMax="120" yMax="80">9.</word></line>'
        "</block></flow></page></doc></body></html>"
    )
    (only,) = pc.parse_bbox_xhtml(xhtml)
    assert only.number == 1 and only.lines == (pc.Line("Table 9.", 48, 70, 120, 80, 0),)
