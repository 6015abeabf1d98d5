"""``report.html``: a self-contained gallery, one card per exam, sortable and filterable.

Opens from disk with no network: images are embedded as data URIs, the script is inline. Every
text that comes from a file (accession numbers, UIDs, paths, reasons) is HTML-escaped.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from html import escape
from pathlib import Path

import cv2
import numpy as np

from .engine import ExamRow
from .measure import SMALL_FUNNEL_MM
from .outputs import overlay_name, printable
from .rules import DISCLAIMER, NEAR_THRESHOLD_MM, SHORT_CERVIX_MM

__all__ = ["MAX_IMAGES", "MAX_PROBLEMS", "cards_with_images", "render_report", "report_image", "thumbnail_data_uri"]

#: Images embedded in one report: about 45 KB each, so a report of a large archive stays a page a
#: browser opens (a 10,000-exam report with every image would be some 450 MB).
MAX_IMAGES = 1000
#: Problems of the export listed in the report; the rest are counted (all are in problems.txt).
MAX_PROBLEMS = 50

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;background:#f4f5f7;color:#1d232a}
header p{margin:.2rem 0}.disclaimer{color:#8a1c1c;font-weight:600}
.problems{background:#fff4e5;border-left:4px solid #d97706;padding:.3rem .8rem;margin:.6rem 0}.problems h2{font-size:1rem;margin:.2rem 0}
.controls{margin:1rem 0;display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap}
#cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:1rem}
.card{background:#fff;border-radius:8px;padding:.8rem;box-shadow:0 1px 3px #0002}
.card img{width:100%;border-radius:4px;background:#000}.cl{font-size:1.6rem;font-weight:700}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:1rem;font-size:.8rem;margin-right:.3rem;color:#fff}
.short{background:#c0392b}.near{background:#b9770e}.funnel{background:#8e44ad}.unmeasurable{background:#7f8c8d}
.rules li{margin:.2rem 0}.meta{color:#555;font-size:.85rem;word-break:break-all}
"""

_SCRIPT = """
const cards=[...document.querySelectorAll('.card')];
function refresh(){
  const shortOnly=document.getElementById('f-short').checked;
  const unmeasurableOnly=document.getElementById('f-unmeasurable').checked;
  const nearOnly=document.getElementById('f-near').checked;
  const smallOnly=document.getElementById('f-small-funnel').checked;
  const key=document.getElementById('sort').value;
  const value=c=>key==='id'?c.dataset.id:(c.dataset.cl===''?null:parseFloat(c.dataset.cl));
  const order=(x,y)=>x<y?-1:x>y?1:0;
  cards.sort((a,b)=>{const x=value(a),y=value(b);
    if(x===null||y===null)return (x===null)-(y===null);  // not measurable: always last
    return key==='cl-desc'?order(y,x):order(x,y);});
  const box=document.getElementById('cards');
  for(const c of cards){
    const show=(!shortOnly||c.dataset.short==='1')&&(!unmeasurableOnly||c.dataset.measured==='0')&&(!nearOnly||c.dataset.near==='1')&&(!smallOnly||c.dataset.smallFunnel==='1');
    c.hidden=!show;box.appendChild(c);
  }
  document.getElementById('shown').textContent=cards.filter(c=>!c.hidden).length;
}
for(const id of ['f-short','f-unmeasurable','f-near','f-small-funnel','sort'])document.getElementById(id).addEventListener('change',refresh);
refresh();
"""


def thumbnail_data_uri(image_path: str | os.PathLike[str] | None, *, width: int = 520) -> str:
    """A JPEG data URI of an overlay PNG, scaled to ``width`` pixels; '' when there is no such file."""
    # Checked first: OpenCV logs a warning to stderr for every missing file (runs with --no-overlays).
    image = cv2.imread(str(image_path)) if image_path is not None and os.path.isfile(image_path) else None
    if image is None:
        return ""
    scale = width / image.shape[1]
    small = cv2.resize(image, (width, max(1, round(image.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 82])
    return "data:image/jpeg;base64," + base64.b64encode(np.asarray(data).tobytes()).decode() if ok else ""


def _how_chosen(row: ExamRow) -> str:
    """How the exam's cervical length was chosen from its frames, or why it has none (plain text)."""
    if row.cl_mm is not None:
        if row.spread_mm is None:
            return f"one measurable frame ({row.frames} in all): no second length to check it against"
        return f"shortest of the best {len(row.frames_used.split(';'))} of {row.valid_frames} measurable frames ({row.frames} in all), spread {row.spread_mm:.1f} mm"
    if row.status == "not_combined":
        return f"not combined: {row.reasons}"
    if row.frames == 1:
        return f"declined: {row.reasons}"
    return f"no measurable frame among {row.frames}; the first declined: {row.reasons}"


def _card(row: ExamRow, image_uri: str | None) -> str:
    short = row.cl_mm is not None and row.cl_mm <= SHORT_CERVIX_MM
    badges = []
    if row.cl_mm is None:
        badges.append(f'<span class="badge unmeasurable">{row.status.replace("_", " ")}</span>')
    if short:
        badges.append(f'<span class="badge short">CL &le; {SHORT_CERVIX_MM:g} mm</span>')
    if row.near_25_mm:
        badges.append(f'<span class="badge near">within {NEAR_THRESHOLD_MM:g} mm of {SHORT_CERVIX_MM:g} mm: confirm</span>')
    if row.funnel:
        badges.append('<span class="badge funnel">funnelling</span>')
    if row.small_funnel:
        badges.append(f'<span class="badge near">funnel under {SMALL_FUNNEL_MM:g} mm: confirm</span>')
    value = f"{row.cl_mm:.1f} mm" if row.cl_mm is not None else "&mdash;"
    detail = _how_chosen(row)
    if row.funnel_length_mm is not None:
        detail += f"; funnel {row.funnel_length_mm:.1f} mm long (chosen frame)"
    if row.auca_deg is not None:
        detail += f"; anterior uterocervical angle {row.auca_deg:.0f} degrees (chosen frame)"
    rules = ""
    if row.assessment is not None:
        applied = [*row.assessment.findings, *row.assessment.suggestions, *row.assessment.contraindications]
        items = "".join(f"<li><b>{escape(r.id)}</b>: {escape(r.statement)} <i>({escape(r.citation)})</i></li>" for r in applied)
        rules = f'<ul class="rules">{items or "<li>no rule applies</li>"}</ul>'
    if image_uri is None:
        image = "<p>(image left out of this report, which embeds the shortest cervixes' first: see overlays/)</p>"
    elif image_uri:
        image = f'<img alt="overlay of the chosen frame" src="{image_uri}">'
    else:
        image = "<p>(no overlay)</p>"
    label = row.accession_number or row.study_instance_uid
    return (
        f'<article class="card" data-id="{escape(label)}" data-cl="{"" if row.cl_mm is None else f"{row.cl_mm:.2f}"}" '
        f'data-short="{int(short)}" data-near="{int(bool(row.near_25_mm))}" data-small-funnel="{int(bool(row.small_funnel))}" '
        f'data-measured="{int(row.cl_mm is not None)}">'
        f"<h2>{escape(label)}</h2>{image}<p class=\"cl\">CL {value}</p><p>{''.join(badges)}</p>"
        f"<p>{escape(detail)}</p>{rules}<p class=\"meta\">Study {escape(row.study_instance_uid)}</p></article>"
    )


def cards_with_images(rows: Sequence[ExamRow], limit: int = MAX_IMAGES) -> list[int]:
    """Indices of the ``limit`` exams whose cards get an image: the shortest cervical lengths first,
    then the exams not measured (their images say why), in row order on ties."""
    order = sorted(range(len(rows)), key=lambda i: (rows[i].cl_mm is None, rows[i].cl_mm or 0.0))
    return sorted(order[:limit])


def render_report(rows: Sequence[ExamRow], images: Sequence[str | None], problems: Sequence[str] = ()) -> str:
    """The report's HTML: one card per exam row with its image, ``images[i]`` for ``rows[i]``: a
    data URI, '' when the exam has no overlay, None when it was left out (:func:`cards_with_images`);
    the export's ``problems`` (lines of ``problems.txt``) listed above the cards."""
    cards = "\n".join(_card(row, uri) for row, uri in zip(rows, images, strict=True))
    listed = "".join(f"<li>{escape(printable(p))}</li>" for p in problems[:MAX_PROBLEMS])  # as problems.txt has them
    more = f"<li>and {len(problems) - MAX_PROBLEMS} more in problems.txt</li>" if len(problems) > MAX_PROBLEMS else ""
    problems_html = f'<section class="problems"><h2>{len(problems)} problems of this export (also in problems.txt)</h2><ul>{listed}{more}</ul></section>' if problems else ""
    left_out = sum(uri is None for uri in images)
    note = (
        f" Images are embedded for the {len(rows) - left_out} exams with the shortest cervical length (then those "
        f"not measured); the images of the other {left_out} are in overlays/." if left_out else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Cervical length report</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<style>{_STYLE}</style></head>
<body><header><h1>Cervical length report</h1>
<p class="disclaimer">{escape(DISCLAIMER)}</p>
<p>{len(rows)} exams. Each card shows the frame the exam's cervical length comes from.{note}</p>{problems_html}</header>
<div class="controls">
<label>Sort <select id="sort"><option value="cl-asc">CL, shortest first</option><option value="cl-desc">CL, longest first</option><option value="id">exam</option></select></label>
<label><input type="checkbox" id="f-short"> short cervix only</label>
<label><input type="checkbox" id="f-unmeasurable"> not measurable only</label>
<label><input type="checkbox" id="f-near"> near {SHORT_CERVIX_MM:g} mm only (confirm with calipers)</label>
<label><input type="checkbox" id="f-small-funnel"> funnel under {SMALL_FUNNEL_MM:g} mm only (confirm on the image)</label>
<span><span id="shown">{len(rows)}</span> shown</span></div>
<main id="cards">
{cards}
</main>
<script>{_SCRIPT}</script>
</body></html>
"""


def report_image(overlays: Path, row: ExamRow, first_frames: dict[str, tuple[str, int]]) -> Path | None:
    """The overlay of an exam's card: its chosen frame's (or, when none was measurable, its first
    frame's); None when the exam has no frame. Pass it to :func:`thumbnail_data_uri`."""
    if row.chosen_sop_instance_uid and row.chosen_frame:
        sop, frame = row.chosen_sop_instance_uid, row.chosen_frame
    elif row.study_instance_uid in first_frames:
        sop, frame = first_frames[row.study_instance_uid]
    else:
        return None
    return overlays / overlay_name(sop, frame)
