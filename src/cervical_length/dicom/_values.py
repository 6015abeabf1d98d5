"""Numbers and UIDs from DICOM header text.

pydicom keeps an IS (integer string) or DS (decimal string) value it cannot parse as the text it
read, so ``int()`` or ``float()`` on it fails far from the header with a message that names neither
the attribute nor the file. These helpers turn it into a ``ValueError`` that names the attribute,
its tag and its text; the reader decides whether that fails the file or only drops the value.
Also here: attributes holding several values where one belongs, and the identity attributes an
object derived from the image (an SR, a SEG) copies, made usable (:func:`with_identity_type2`).
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from pydicom import config
from pydicom.datadict import dictionary_description
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException
from pydicom.multival import MultiValue
from pydicom.tag import Tag
from pydicom.valuerep import validate_value

from ..errors import HeaderValueWarning

__all__ = ["attribute_name", "header_numbers", "number_of_frames", "is_valid_uid", "several_values", "require_referenceable", "unreferenceable_uids", "with_identity_type2", "header_warnings_said"]

#: A UID (PS3.5 9.1): dot-separated numbers without leading zeros, at most 64 characters.
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
#: What an object derived from an image (an SR, a SEG) must reference it by.
REFERENCE_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID", "SOPInstanceUID")

N = TypeVar("N", int, float)


def attribute_name(keyword: str) -> str:
    """``"(0028,0008) Number of Frames"`` for ``"NumberOfFrames"``."""
    tag = Tag(keyword)
    return f"{tag} {dictionary_description(tag)}"


def header_numbers(ds: Dataset, keyword: str, kind: Callable[[str], N]) -> tuple[N, ...] | None:
    """Every value of attribute ``keyword`` converted by ``kind`` (``int`` or ``float``); None when
    the attribute is absent or empty.

    Raises ValueError naming the attribute and its text when a value is not a number of that kind.
    """
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    values = list(value) if isinstance(value, MultiValue) else [value]
    try:
        return tuple(kind(v) for v in values)
    except (TypeError, ValueError) as err:
        text = "\\".join(str(v) for v in values)  # as the header holds it, values joined by backslashes
        # Header text is hostile: shown short, and with control characters escaped.
        text = text if len(text) <= 64 else text[:61] + "..."
        text = text if text.isprintable() else repr(text)[1:-1]
        expected = "an integer" if kind is int else "a number"
        raise ValueError(f"{attribute_name(keyword)} '{text}' is not {expected}") from err


def number_of_frames(ds: Dataset) -> int:
    """(0028,0008) *Number of Frames*, 1 when absent or empty; ValueError naming it when it is not
    an integer (:func:`header_numbers`)."""
    count = header_numbers(ds, "NumberOfFrames", int)
    return 1 if count is None else count[0]


def several_values(ds: Dataset, keywords: Iterable[str]) -> str | None:
    """The first of ``keywords`` that ``ds`` holds with more than one value, named with their count
    ("(0028,0004) Photometric Interpretation holds 2 values"); None when none does. A stray
    backslash in a damaged header's text splits a value in several."""
    for keyword in keywords:
        if isinstance(value := ds.get(keyword), (MultiValue, list)):  # binary VRs give a list
            return f"{attribute_name(keyword)} holds {len(value)} values"
    return None


def is_valid_uid(text: str) -> bool:
    """True for a valid DICOM UID (PS3.5 9.1), checked without pydicom's warning."""
    return len(text) <= 64 and _UID.fullmatch(text) is not None


def unreferenceable_uids(ds: Dataset) -> list[str]:
    """The names of the attributes of :data:`REFERENCE_UIDS` that ``ds`` lacks or holds as no
    valid UID: an SR or SEG referencing them would be refused by a PACS."""
    with warnings.catch_warnings():
        # pydicom warns quoting an invalid UID as it converts it; the caller names the attribute instead.
        warnings.simplefilter("ignore", UserWarning)
        texts = {k: str(ds.get(k, "") or "") for k in REFERENCE_UIDS}
    return [attribute_name(k) for k, text in texts.items() if not is_valid_uid(text)]


#: The Type 2 attributes of the Patient and General Study modules (PS3.3 C.7.1.1, C.7.2.1): present in
#: every image, though possibly empty; an object derived from the image copies them.
IDENTITY_TYPE2 = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
    "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber",
)


def with_identity_type2(ds: Dataset) -> Dataset:
    """A copy of ``ds`` with each of :data:`IDENTITY_TYPE2` it lacks, or holds with a value its VR
    does not allow (a birth date written 1987-03-14), set empty, as the standard allows them: an
    anonymiser or a scanner that drops or garbles them leaves a header highdicom cannot copy from.
    Warns :class:`~cervical_length.errors.HeaderValueWarning` naming each attribute emptied, never
    its value (it may identify the patient)."""
    completed = copy.deepcopy(ds)
    for keyword in IDENTITY_TYPE2:
        if keyword not in completed:
            setattr(completed, keyword, "")
        elif not _valid(completed, keyword):
            setattr(completed, keyword, "")
            warnings.warn(f"{attribute_name(keyword)} written empty: its value is not valid for its VR (not shown)", HeaderValueWarning, stacklevel=2)
    return completed


@contextmanager
def header_warnings_said() -> Iterator[list[str]]:
    """Hold back every warning raised within (pydicom's quote header values, which may identify the
    patient); the list yielded receives, on leaving, the messages of the
    :class:`~cervical_length.errors.HeaderValueWarning` s among them (:func:`with_identity_type2`'s
    name attributes, never values), for the caller's one line about the object it wrote."""
    said: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield said
        finally:
            said.extend(str(w.message) for w in caught if issubclass(w.category, HeaderValueWarning))


def _valid(ds: Dataset, keyword: str) -> bool:
    """Whether the value of ``keyword`` converts and is valid for its VR (checked quietly)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # pydicom's warnings quote the value
            element = ds[keyword]
            validate_value(element.VR, element.value, config.RAISE)
    except (ValueError, TypeError, NotImplementedError, BytesLengthException, OSError):
        return False
    return True


def require_referenceable(ds: Dataset, what: str) -> None:
    """Raise ValueError naming the attributes of :func:`unreferenceable_uids` when there are any:
    ``what`` (an SR, a SEG) derived from ``ds`` could not reference it."""
    if bad := unreferenceable_uids(ds):
        raise ValueError(f"the source's {', '.join(bad)}: not valid UIDs, which {what} must reference it by")
