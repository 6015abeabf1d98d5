"""report.html: escaped, self-contained, and working in a real headless Chromium."""

from __future__ import annotations

import base64
import dataclasses
import shutil
from html.parser import HTMLParser

import cv2
import numpy as np
import pytest

from cervical_length.engine import ExamRow
from cervical_length.report import MAX_PROBLEMS, cards_with_images, render_report, thumbnail_data_uri

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _row(accession: str, cl: float | None, funnel: int | None = None, auca: float | None = None) -> ExamRow:
    return ExamRow(
        study_instance_uid=f"1.2.{len(accession)}",
        accession_number=accession,
        files=1,
        frames=3,
        valid_frames=0 if cl is None else 3,
        status="measured" if cl is not None else "not_measurable",
        cl_mm=cl,
        cl_straight_mm=cl,
        chosen_sop_instance_uid="1.2.3" if cl is not None else "",
        chosen_frame=2 if cl is not None else None,
        frames_used="1.2.3:2;1.2.3:1;1.2.3:3" if cl is not None else "",
        spread_mm=0.8 if cl is not None else None,
        reasons="" if cl is not None else "os not found: the lips do not meet along a canal",
        funnel=funnel,
        auca_deg=auca,
    )


ROWS = [
    _row("A-LONG", 38.2, auca=104.0),
    dataclasses.replace(_row("<script>alert(1)</script>", 22.4, funnel=1), funnel_length_mm=4.2, small_funnel=1),
    _row("A-NONE", None),
    dataclasses.replace(_row("A-NEAR", 26.1), near_25_mm=1),
]
PIXEL = "data:image/png;base64," + base64.b64encode(cv2.imencode(".png", np.full((8, 8, 3), 128, np.uint8))[1].tobytes()).decode()


class _Cards(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cards, self.scripts, self.external = [], 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "article":
            self.cards.append(attrs)
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            if attrs.get(key) and not attrs[key].startswith("data:"):
                self.external.append(attrs[key])


def test_thumbnail_of_an_overlay(tmp_path):
    cv2.imwrite(str(tmp_path / "o.png"), np.zeros((300, 400, 3), np.uint8))
    uri = thumbnail_data_uri(tmp_path / "o.png", width=200)
    image = cv2.imdecode(np.frombuffer(base64.b64decode(uri.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
    assert uri.startswith("data:image/jpeg;base64,") and image.shape == (150, 200, 3)
    assert thumbnail_data_uri(tmp_path / "missing.png") == ""


def test_cards_escaped_and_self_contained():
    html = render_report(ROWS, [PIXEL, PIXEL, "", PIXEL])
    parser = _Cards()
    parser.feed(html)
    assert [c["data-cl"] for c in parser.cards] == ["38.20", "22.40", "", "26.10"]
    assert [c["data-short"] for c in parser.cards] == ["0", "1", "0", "0"]
    assert [c["data-near"] for c in parser.cards] == ["0", "0", "0", "1"]
    assert [c["data-small-funnel"] for c in parser.cards] == ["0", "1", "0", "0"]
    assert parser.scripts == 1 and parser.external == []  # only the report's own inline script
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "not a diagnosis" in html
    assert html.count("anterior uterocervical angle") == 1 and "angle 104 degrees (chosen frame)" in html
    assert html.count("no measurable frame among 3; the first declined: os not found: the lips do not meet along a canal") == 1


def test_the_export_s_problems_are_listed_escaped_above_the_cards():
    html = render_report([_row("A", 30.0)], [""], ["clinical row matches no study: accession_number <script>x</script>"])
    assert "1 problems of this export (also in problems.txt)" in html
    assert "<li>clinical row matches no study: accession_number &lt;script&gt;x&lt;/script&gt;</li>" in html
    assert html.index('class="problems"') < html.index('id="cards"')
    assert 'class="problems"' not in render_report([_row("A", 30.0)], [""])
    many = render_report([_row("A", 30.0)], [""], [f"study has no clinical row: S{k}" for k in range(MAX_PROBLEMS + 7)])
    assert many.count("<li>study has no clinical row") == MAX_PROBLEMS and "<li>and 7 more in problems.txt</li>" in many


def test_a_single_frame_exam_not_measured_says_why():
    html = render_report([dataclasses.replace(_row("A", None), frames=1)], [""])
    assert "declined: os not found: the lips do not meet along a canal" in html and "no measurable frame among" not in html


def test_an_exam_measured_on_one_frame_shows_no_spread():
    one = dataclasses.replace(_row("A", 27.5), valid_frames=1, frames_used="1.2.3:2", spread_mm=None)
    html = render_report([one, _row("B", 30.0)], ["", ""])
    assert "one measurable frame (3 in all): no second length to check it against" in html
    assert html.count("spread") == 1 and "shortest of the best 3 of 3 measurable frames (3 in all), spread 0.8 mm" in html


def test_a_study_not_combined_says_why():
    row = dataclasses.replace(_row("A1; A2", None), status="not_combined", reasons="its files carry 2 accession numbers (A1, A2)")
    html = render_report([row], [""])
    assert '<span class="badge unmeasurable">not combined</span>' in html and "not combined: its files carry 2 accession numbers (A1, A2)" in html
    assert "declined" not in html


@pytest.mark.parametrize("near", [1, 0, None])
def test_a_length_near_25_mm_gets_a_badge(near):
    row = dataclasses.replace(_row("A", 26.1 if near else 30.0 if near == 0 else None), near_25_mm=near)
    html = render_report([row], [""])
    assert ('<span class="badge near">within 2.5 mm of 25 mm: confirm</span>' in html) is bool(near)


@pytest.mark.parametrize("length,small", [(4.2, 1), (19.5, 0)])
def test_a_small_funnel_gets_a_badge_and_every_funnel_its_length(length, small):
    row = dataclasses.replace(_row("A", 30.0, funnel=1), funnel_length_mm=length, small_funnel=small)
    html = render_report([row], [""])
    assert ('<span class="badge near">funnel under 5 mm: confirm</span>' in html) is bool(small)
    assert f"funnel {length:.1f} mm long (chosen frame)" in html


def test_images_go_to_the_shortest_cervixes_first_then_the_unmeasured():
    rows = [_row("A", 38.2), _row("B", None), _row("C", 22.4), _row("D", 30.0), _row("E", None)]
    assert cards_with_images(rows, limit=2) == [2, 3]  # 22.4 and 30.0 mm, in row order
    assert cards_with_images(rows, limit=4) == [0, 1, 2, 3]  # then the first unmeasured exam
    assert cards_with_images(rows) == [0, 1, 2, 3, 4]


def test_a_card_left_without_its_image_says_so():
    html = render_report(ROWS, [PIXEL, None, "", PIXEL])
    assert html.count("<img ") == 2
    assert "image left out of this report" in html and "(no overlay)" in html
    assert "Images are embedded for the 3 exams with the shortest cervical length (then those not measured); the images of the other 1 are in overlays/." in html
    assert "Images are embedded" not in render_report(ROWS, [PIXEL, PIXEL, "", PIXEL])


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is installed by .ci/run (Debian package chromium)")
def test_filters_and_sorting_in_headless_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    page_path = tmp_path / "report.html"
    page_path.write_text(render_report(ROWS, [PIXEL, PIXEL, "", PIXEL]), encoding="utf-8")
    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags)
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(page_path.as_uri())
        visible = lambda: page.eval_on_selector_all("article.card:not([hidden]) h2", "els => els.map(e => e.textContent)")  # noqa: E731
        assert visible() == ["<script>alert(1)</script>", "A-NEAR", "A-LONG", "A-NONE"]  # shortest first, unmeasured last
        page.check("#f-short")
        assert visible() == ["<script>alert(1)</script>"] and page.text_content("#shown") == "1"
        page.uncheck("#f-short")
        page.check("#f-unmeasurable")
        assert visible() == ["A-NONE"]
        page.uncheck("#f-unmeasurable")
        page.check("#f-near")
        assert visible() == ["A-NEAR"] and page.text_content("#shown") == "1"
        page.uncheck("#f-near")
        page.check("#f-small-funnel")
        assert visible() == ["<script>alert(1)</script>"] and page.text_content("#shown") == "1"
        page.uncheck("#f-small-funnel")
        page.select_option("#sort", "cl-desc")
        assert visible()[0] == "A-LONG"
        assert page.eval_on_selector_all("article.card img", "els => els.every(e => e.complete && e.naturalWidth > 0)")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert dialogs == []  # the hostile accession number never ran
    assert (tmp_path / "report.png").stat().st_size > 1000
