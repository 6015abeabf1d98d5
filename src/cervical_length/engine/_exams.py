"""Exam-level rows: a study's frames gathered, its cervical length chosen (FMF / ISUOG practice)
and, with a clinical context, the guideline rules applied."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from ..measure import Measurement, exam_result, is_small_funnel
from ..outputs import round_mm
from ..rules import Assessment, ClinicalContext, assess, near_short_cervix_threshold
from ._rows import FrameResult

__all__ = ["ExamRow", "ExamCollector"]


@dataclass(frozen=True)
class ExamRow:
    """One row of ``exams.csv``: a study's exam-level cervical length (FMF / ISUOG: the shortest of
    the best three measurable frames) and how it was chosen. Lengths in mm."""

    study_instance_uid: str  #: a file's SOP Instance UID when it has none: an exam of its own
    accession_number: str
    files: int
    frames: int
    valid_frames: int
    #: 'measured', 'not_measurable', or 'not_combined' when the study's files carry different accession
    #: numbers (``accession_number`` lists them, '; '-separated; ``reasons`` says so)
    status: str
    cl_mm: float | None
    cl_straight_mm: float | None
    chosen_sop_instance_uid: str
    chosen_frame: int | None
    frames_used: str  #: 'SOP:frame' of the best frames, ';'-separated, best first
    spread_mm: float | None  #: of the best frames' lengths; None from one measurable frame
    #: when no frame is measurable, why the exam's first frame (the one its report card shows) was
    #: declined, '; '-separated as in ``measurements.csv``; why a 'not_combined' study's frames were
    #: not combined; empty for a measured exam
    reasons: str = ""
    funnel: int | None = None  #: of the chosen frame
    funnel_length_mm: float | None = None  #: of the chosen frame's funnel; None without one
    #: 1 when the chosen frame's funnel is shorter than 5 mm (:data:`~cervical_length.measure.SMALL_FUNNEL_MM`),
    #: near the length the tool counts funnels from, where most of its false funnels lie (confirm it
    #: on the image); 0 without a funnel or with a longer one; None when not measured
    small_funnel: int | None = None
    auca_deg: float | None = None  #: of the chosen frame, degrees
    #: 1 when ``cl_mm`` lies within 2.5 mm of 25 mm, where the tool's error can put it on either side
    #: of the short-cervix threshold (confirm with calipers; the NEAR-25 rule's range); None when not measured
    near_25_mm: int | None = None
    clinical_context: str = ""  #: 'matched' when a clinical CSV row joined this study
    profile: str = ""
    rule_findings: str = ""  #: rule ids, ';'-separated
    rule_suggestions: str = ""
    rule_contraindications: str = ""
    rule_withheld: str = ""
    assessment: Assessment | None = field(default=None, repr=False, compare=False)


class ExamCollector:
    """Gathers measured frames by study and gives each study's :class:`ExamRow`.

    A study whose files carry different accession numbers gets no exam-level length: one Study
    Instance UID over several orders is most often two patients' studies under a UID a scanner or
    an anonymiser reused, and the shortest of their frames would mix them. Its row names the
    numbers; every frame stays in ``measurements.csv``.

    An image in several files (one SOP Instance UID: an archive holding a copy of a folder) counts
    once: its copies' frames would fill the best three with one frame and make the spread 0. Each
    frame is counted from the first file that gave it, so a copy cut short loses no frame the
    whole one has.
    """

    def __init__(self) -> None:
        self._studies: dict[str, dict] = {}
        self._files_of: dict[str, dict[str, None]] = {}  # SOP Instance UID -> the files holding it, in order
        self._counted_from: dict[tuple[str, int], str] = {}  # (SOP Instance UID, frame) -> its file

    def add(self, r: FrameResult, measurement: Measurement | None) -> None:
        if r.status == "failed" or measurement is None or r.frame is None:
            return
        self._files_of.setdefault(r.sop_instance_uid, {})[r.file] = None
        if self._counted_from.setdefault((r.sop_instance_uid, r.frame), r.file) != r.file:
            return  # this frame of the image, counted already from another file
        study = self._studies.setdefault(r.study_instance_uid or r.sop_instance_uid, {"accessions": {}, "files": set(), "frames": []})
        if r.accession_number:  # a file without one neither names nor contradicts the study's
            study["accessions"][r.accession_number] = None
        study["files"].add(r.file)
        study["frames"].append(((r.sop_instance_uid, r.frame), measurement))

    def copies(self) -> dict[str, list[str]]:
        """SOP Instance UID -> the files holding that image, in the order they were added, for every
        image found in more than one file."""
        return {sop: list(files) for sop, files in self._files_of.items() if len(files) > 1}

    def rows(self, contexts: dict[tuple[str, str], ClinicalContext] | None = None, *, profile: str = "smfm-acog") -> Iterator[ExamRow]:
        """Each study's row; with ``contexts`` (keyed as :func:`~cervical_length.clinical.read_clinical_csv`
        keys them), the rules of ``profile`` applied to the exam's length and context."""
        for uid, study in self._studies.items():
            accessions = list(study["accessions"])
            exam = exam_result(study["frames"])
            reasons = "" if exam.cl_mm is not None else "; ".join(study["frames"][0][1].reasons)
            status = "measured" if exam.cl_mm is not None else "not_measurable"
            if len(accessions) > 1:
                status = "not_combined"
                exam = replace(exam, cl_mm=None, cl_straight_mm=None, frames_used=(), chosen=None, spread_mm=None)
                reasons = (
                    f"its files carry {len(accessions)} accession numbers ({', '.join(accessions)}): not combined into one "
                    "exam, as one Study Instance UID may hold different patients' images (check the archive)"
                )
            chosen = dict(study["frames"]).get(exam.chosen) if exam.chosen else None
            found = None if chosen is None else chosen.funnel  # the chosen frame's funnel
            funnel = None if chosen is None else found is not None
            context = None
            if contexts is not None:
                # An accession number shared with another study's files says nothing of whose images these are.
                by_accession = contexts.get(("accession_number", accessions[0])) if len(accessions) == 1 else None
                context = contexts.get(("study_instance_uid", uid)) or by_accession
            # Judged on the length the row carries (0.01 mm), so that a rule and the row's value never
            # fall on two sides of a threshold (24.996 mm is the 25.00 mm every output shows).
            cl_mm = round_mm(exam.cl_mm)
            assessment = assess(context, cl_mm=cl_mm, funnel=funnel, profile=profile) if context is not None else None
            ids = {} if assessment is None else {
                "rule_findings": ";".join(r.id for r in assessment.findings),
                "rule_suggestions": ";".join(r.id for r in assessment.suggestions),
                "rule_contraindications": ";".join(r.id for r in assessment.contraindications),
                "rule_withheld": ";".join(r.id for r in assessment.withheld),
            }
            yield ExamRow(
                study_instance_uid=uid,
                accession_number="; ".join(accessions),
                files=len(study["files"]),
                frames=exam.total_frames,
                valid_frames=exam.valid_frames,
                status=status,
                cl_mm=cl_mm,
                cl_straight_mm=round_mm(exam.cl_straight_mm),
                chosen_sop_instance_uid=exam.chosen[0] if exam.chosen else "",
                chosen_frame=exam.chosen[1] if exam.chosen else None,
                frames_used=";".join(f"{sop}:{frame}" for sop, frame in exam.frames_used),
                spread_mm=round_mm(exam.spread_mm),
                reasons=reasons,
                funnel=None if funnel is None else int(funnel),
                funnel_length_mm=round_mm(found.length_mm) if found else None,
                small_funnel=None if chosen is None else int(found is not None and is_small_funnel(found.length_mm)),
                auca_deg=round(chosen.auca.angle_deg, 1) if chosen is not None and chosen.auca else None,
                near_25_mm=None if cl_mm is None else int(near_short_cervix_threshold(cl_mm)),
                clinical_context="matched" if context is not None else "",
                profile=profile if context is not None else "",
                assessment=assessment,
                **ids,
            )
