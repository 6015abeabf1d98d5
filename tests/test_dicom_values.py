"""Numbers and UIDs from header text: malformed values named, UIDs checked as PS3.5 9.1 has them."""

from __future__ import annotations

import warnings

import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from cervical_length.dicom import header_warnings_said, is_valid_uid, number_of_frames, unreferenceable_uids, with_identity_type2
from cervical_length.dicom._values import header_numbers


class TestHeaderNumbers:
    def test_values_of_each_kind(self):
        ds = Dataset()
        ds.NumberOfFrames, ds.PixelSpacing, ds.FrameTime = "12", ["0.15", "0.2"], ""
        assert header_numbers(ds, "NumberOfFrames", int) == (12,)
        assert header_numbers(ds, "PixelSpacing", float) == (0.15, 0.2)
        assert header_numbers(ds, "FrameTime", float) is None  # empty is absent
        assert header_numbers(ds, "ImagerPixelSpacing", float) is None

    @pytest.mark.filterwarnings("ignore:Invalid value for VR:UserWarning")  # pydicom on the malformed value, as meant
    def test_text_where_a_number_belongs_is_named(self):
        ds = Dataset()
        ds[0x00280008] = RawDataElement(Tag(0x00280008), "IS", 4, b"12a ", 0, False, True)  # as read from a file
        with pytest.raises(ValueError, match=r"^\(0028,0008\) Number of Frames '12a' is not an integer$"):
            header_numbers(ds, "NumberOfFrames", int)


@pytest.mark.filterwarnings("ignore:Invalid value for VR:UserWarning")
def test_number_of_frames_is_1_when_absent_and_named_when_not_an_integer():
    ds = Dataset()
    assert number_of_frames(ds) == 1
    ds.NumberOfFrames = ""
    assert number_of_frames(ds) == 1
    ds.NumberOfFrames = "12"
    assert number_of_frames(ds) == 12
    ds[0x00280008] = RawDataElement(Tag(0x00280008), "IS", 4, b"12a ", 0, False, True)
    with pytest.raises(ValueError, match=r"^\(0028,0008\) Number of Frames '12a' is not an integer$"):
        number_of_frames(ds)


@pytest.mark.parametrize(
    "text, valid",
    [("1.2.840.10008.5.1.4.1.1.6.1", True), ("0.1", True), ("1", True), ("1.02.3", False), ("1..2", False), ("1.2.", False),
     ("", False), ("1.2.<b>", False), ("../1.2", False), ("1." + "2" * 63, False)],
)
def test_is_valid_uid(text, valid):
    assert is_valid_uid(text) is valid


def test_unreferenceable_uids_names_each_attribute_without_echoing_the_header():
    ds = Dataset()
    ds.StudyInstanceUID, ds.SOPClassUID = "1.2.3", "1.2.840.10008.5.1.4.1.1.6.1"
    hostile = b"1.2.03\x1b[2J<b>"  # as read from a file: pydicom warns with this text when it converts it
    ds[0x0020000E] = RawDataElement(Tag(0x0020000E), "UI", len(hostile), hostile, 0, False, True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert unreferenceable_uids(ds) == ["(0020,000E) Series Instance UID", "(0008,0018) SOP Instance UID"]


def test_header_warnings_said_keeps_the_tools_words_and_holds_back_pydicoms():
    ds = Dataset()
    written = b"1987-03-14"  # not a DA, as read from a file: pydicom warns quoting it, the tool names the attribute
    ds[0x00100030] = RawDataElement(Tag(0x00100030), "DA", len(written), written, 0, False, True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing escapes the block
        with header_warnings_said() as said:
            warnings.warn("Invalid value for VR DA: '1987-03-14'.", UserWarning, stacklevel=1)  # as highdicom's copy raises
            completed = with_identity_type2(ds)
        assert completed.PatientBirthDate == ""
        assert ds.get_item(0x00100030).value == written  # the source is left as read
    assert said == ["(0010,0030) Patient's Birth Date written empty: its value is not valid for its VR (not shown)"]
