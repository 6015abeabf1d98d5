"""Reading frames: every photometric interpretation, multi-frame, real exports, and every bad input."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydicom import dcmread, dcmwrite
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.pixels import apply_color_lut, convert_color_space, pixel_array
from pydicom.uid import UID

from cervical_length.dicom import (
    RegionSpec,
    colour_graphics,
    iter_dicom_paths,
    iter_frames,
    read_frames,
    read_source,
    to_grey_and_rgb,
)
from cervical_length.errors import (
    CorruptDicomError,
    DicomReadError,
    HeaderValueWarning,
    MissingPixelDataError,
    NonUltrasoundWarning,
    NotDicomError,
    RegionBoundsClippedWarning,
    UnreadableFileError,
    UnsupportedImageError,
    UnsupportedTransferSyntaxError,
)
from cervical_length.phantom import generate, with_calipers

from .conftest import gradient_rgb, sha256, with_raw_value

SAMPLES = Path(__file__).resolve().parents[1] / "sample_dicoms"


class TestPhotometricInterpretations:
    @pytest.mark.parametrize(
        "photometric,compression",
        [
            ("MONOCHROME2", "none"),
            ("RGB", "none"),
            ("YBR_FULL", "none"),
            ("RGB", "rle"),
            ("MONOCHROME2", "jpeg2000"),
            ("RGB", "jpeg2000"),
        ],
    )
    def test_lossless_round_trip_is_exact(self, make_dicom, photometric, compression):
        image = gradient_rgb()
        (frame,) = read_frames(make_dicom(frames_rgb=image, photometric=photometric, compression=compression))
        assert frame.grey.shape == (120, 160) and frame.grey.dtype == np.uint8
        assert frame.rgb.shape == (120, 160, 3) and frame.rgb.dtype == np.uint8
        np.testing.assert_array_equal(frame.grey, image[0, :, :, 0])
        np.testing.assert_array_equal(frame.rgb, image[0])

    @pytest.mark.parametrize(
        "photometric,compression",
        [("MONOCHROME2", "none"), ("MONOCHROME1", "none"), ("RGB", "none"), ("YBR_FULL", "none"), ("PALETTE COLOR", "none"), ("YBR_FULL_422", "jpeg_baseline")],
    )
    def test_frames_are_read_only(self, make_dicom, photometric, compression):
        # Native frames are views of the bytes read; none of any kind may be changed by a later stage.
        frames = list(read_frames(make_dicom(frames_rgb=gradient_rgb(frames=2), photometric=photometric, compression=compression)))
        assert len(frames) == 2
        for frame in frames:
            for image in (frame.grey, frame.rgb):
                with pytest.raises(ValueError, match="read-only"):
                    image[0, 0] = 1

    def test_monochrome1_is_inverted_so_bright_is_echogenic(self, make_dicom):
        image = gradient_rgb()
        path = make_dicom(frames_rgb=image, photometric="MONOCHROME1")
        assert dcmread(path).pixel_array[0, 5] == 255 - image[0, 0, 5, 0]
        (frame,) = read_frames(path)
        np.testing.assert_array_equal(frame.grey, image[0, :, :, 0])

    def test_ybr_full_422_jpeg_baseline_close_to_source(self, make_dicom):
        image = gradient_rgb()
        path = make_dicom(frames_rgb=image, photometric="YBR_FULL_422", compression="jpeg_baseline")
        assert read_source(path).transfer_syntax_uid == "1.2.840.10008.1.2.4.50"
        (frame,) = read_frames(path)
        error = np.abs(frame.grey.astype(int) - image[0, :, :, 0])
        assert error.mean() < 2.0 and error.max() <= 40  # lossy, but the anatomy stays

    def test_palette_colour_applies_the_lut(self, make_dicom):
        image = gradient_rgb()
        (frame,) = read_frames(make_dicom(frames_rgb=image, photometric="PALETTE COLOR"))
        grey_in = image[0, :, :, 0].astype(np.float64)
        # The writer's warm LUT: red = i, green = 0.92 i, blue = 0.8 i (16-bit entries scaled to 8).
        np.testing.assert_array_equal(frame.rgb[..., 0], image[0, :, :, 0])
        np.testing.assert_allclose(frame.rgb[..., 2], np.rint(grey_in * 0.8), atol=1)
        expected_luma = 0.299 * grey_in + 0.587 * 0.92 * grey_in + 0.114 * 0.8 * grey_in
        np.testing.assert_allclose(frame.grey, expected_luma, atol=1.01)


class TestToGreyAndRgb:
    def test_sixteen_bit_monochrome_scaled_to_eight(self, make_dicom):
        ds = dcmread(make_dicom(photometric="MONOCHROME2"))
        ds.BitsStored = 12
        arr = np.array([[0, 4095], [2048, 1]], dtype=np.uint16)
        grey, rgb = to_grey_and_rgb(arr, ds)
        np.testing.assert_array_equal(grey, [[0, 255], [128, 0]])
        np.testing.assert_array_equal(rgb[..., 1], grey)

    def test_signed_samples_shifted(self, make_dicom):
        ds = dcmread(make_dicom(photometric="MONOCHROME2"))
        ds.BitsStored, ds.PixelRepresentation = 16, 1
        grey, _ = to_grey_and_rgb(np.array([[-32768, 32767]], dtype=np.int16), ds)
        np.testing.assert_array_equal(grey, [[0, 255]])

    @pytest.mark.parametrize(("bits", "dtype"), [(8, np.uint8), (12, np.uint16)])
    def test_palette_lookup_equals_pydicoms(self, bits, dtype):
        # 8-bit indices take OpenCV's lookup, wider ones np.take: both must equal pydicom's LUT.
        entries = 2**bits
        ds = Dataset()
        ds.PhotometricInterpretation, ds.BitsStored, ds.PixelRepresentation = "PALETTE COLOR", bits, 0
        ramp = np.linspace(0, 65535, entries)
        for colour, gain in (("Red", 1.0), ("Green", 0.6), ("Blue", 0.3)):
            setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [entries % 65536, 0, 16])
            setattr(ds, f"{colour}PaletteColorLookupTableData", np.rint(ramp * gain).astype("<u2").tobytes())
        arr = np.random.default_rng(0).integers(0, entries, size=(7, 9), dtype=dtype)
        grey, rgb = to_grey_and_rgb(arr, ds)
        expected = np.rint(apply_color_lut(arr, ds) * (255.0 / 65535)).astype(np.uint8)
        np.testing.assert_array_equal(rgb, expected)
        np.testing.assert_array_equal(grey, cv2.cvtColor(expected, cv2.COLOR_RGB2GRAY))

    @pytest.mark.parametrize("photometric", ["YBR_FULL", "YBR_FULL_422"])
    def test_ybr_conversion_within_one_level_of_pydicoms(self, photometric):
        # Y, Cb, Cr over the whole cube (a grid of about 385,000 triplets), out-of-gamut corners included.
        y, cb, cr = np.meshgrid(np.arange(0, 256, 5), np.arange(0, 256, 3), np.arange(0, 256, 3), indexing="ij")
        ybr = np.stack([y, cb, cr], axis=-1).reshape(-1, 86, 3).astype(np.uint8)
        ds = Dataset()
        ds.PhotometricInterpretation, ds.BitsStored, ds.PixelRepresentation = photometric, 8, 0
        grey, rgb = to_grey_and_rgb(ybr, ds)
        expected = convert_color_space(ybr.copy(), "YBR_FULL", "RGB")
        assert np.abs(rgb.astype(int) - expected).max() == 1
        np.testing.assert_array_equal(grey, cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))

    def test_input_not_modified(self, make_dicom):
        ds = dcmread(make_dicom(photometric="MONOCHROME1"))
        arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
        before = arr.copy()
        to_grey_and_rgb(arr, ds)
        np.testing.assert_array_equal(arr, before)


class TestColourGraphics:
    """Marks drawn in colour (the examiner's calipers) are found by their colour, and nothing else is."""

    @pytest.mark.parametrize("look", ["train", "shifted"])
    def test_a_grey_or_tinted_map_has_no_marks(self, look):
        rgb = generate(3, appearance=look, case="normal").rgb  # shifted: a warm tint, grey text beside the fan
        assert not colour_graphics(rgb).any()

    @pytest.mark.parametrize("look", ["train", "shifted"])
    def test_calipers_are_found_where_they_are_drawn(self, look):
        plain = generate(3, appearance=look, case="normal")
        saved = with_calipers(plain).rgb
        drawn = np.any(saved != plain.rgb, axis=2)
        marks = colour_graphics(saved)
        assert not (marks & ~drawn).any()
        # Every pixel drawn in the caliper's own colour is found; anti-aliased edges only where
        # they depart from the grey map by more than GRAPHICS_CHROMA.
        full = np.all(saved == {"train": (255, 255, 0), "shifted": (90, 255, 120)}[look], axis=2)
        assert full.sum() > 100 and not (full & ~marks).any()

    def test_only_the_box_asked_for_is_looked_in(self):
        saved = with_calipers(generate(3, case="normal")).rgb
        everywhere = colour_graphics(saved)
        box = (200, 300, 420, 520)
        inside = np.zeros(everywhere.shape, bool)
        inside[200:420, 300:520] = True
        np.testing.assert_array_equal(colour_graphics(saved, within=box), everywhere & inside)
        assert (everywhere & inside).any() and (everywhere & ~inside).any()
        assert not colour_graphics(saved, within=(-5, -5, 0, 0)).any()  # wholly outside the image

    def test_calipers_read_from_a_jpeg_export_are_found(self, make_dicom):
        # YBR_FULL_422: the chroma the marks are found by is subsampled and compressed.
        plain = generate(3, appearance="shifted", case="normal")
        saved = with_calipers(plain).rgb
        rows, cols = saved.shape[:2]
        path = make_dicom(frames_rgb=saved[None], photometric="YBR_FULL_422", compression="jpeg_baseline", regions=[RegionSpec((0, 0, cols - 1, rows - 1), 0.01, 0.01)])
        (frame,) = read_frames(path)
        drawn = np.any(saved != plain.rgb, axis=2)
        marks = colour_graphics(frame.rgb)
        within_2px = np.ones((5, 5), np.uint8)
        assert not (marks & ~cv2.dilate(drawn.view(np.uint8), within_2px).astype(bool)).any()
        assert (drawn & ~cv2.dilate(marks.view(np.uint8), within_2px).astype(bool)).sum() < 0.03 * drawn.sum()


class TestFrames:
    def test_multiframe_cine_numbers_and_identity(self, make_dicom):
        image = gradient_rgb(frames=12)
        path = make_dicom(frames_rgb=image, photometric="MONOCHROME2", frame_time_ms=40.0, study_uid="1.2.3", sop_uid="1.2.3.4")
        frames = list(read_frames(path))
        assert [f.frame_number for f in frames] == list(range(1, 13))
        for f, expected in zip(frames, image):
            np.testing.assert_array_equal(f.grey, expected[..., 0])
        source = frames[0].source
        assert (source.number_of_frames, source.frame_time_ms) == (12, 40.0)
        assert (source.sop_instance_uid, source.study_instance_uid, source.path) == ("1.2.3.4", "1.2.3", path)
        assert dcmread(path).SOPClassUID == "1.2.840.10008.5.1.4.1.1.3.1"

    def test_single_frame_is_us_image_storage(self, make_dicom):
        path = make_dicom()
        assert dcmread(path).SOPClassUID == "1.2.840.10008.5.1.4.1.1.6.1"
        (frame,) = read_frames(path)
        assert frame.frame_number == 1 and frame.source.frame_time_ms is None

    def test_source_has_no_patient_identifiers(self, make_dicom):
        source = read_source(make_dicom(patient_name="Doe^Jane", patient_id="MRN123"))
        assert "Doe" not in repr(source) and "MRN123" not in repr(source)

    def test_file_not_modified_by_reading(self, make_dicom):
        path = make_dicom(photometric="YBR_FULL_422", compression="jpeg_baseline", frames_rgb=gradient_rgb(frames=3))
        before = sha256(path)
        list(read_frames(path))
        assert sha256(path) == before


class TestPydicomExports:
    def test_ybr_full_422_jpeg_multiframe_us(self):
        with pytest.warns(RegionBoundsClippedWarning):
            frames = list(read_frames(get_testdata_file("examples_ybr_color.dcm")))
        assert len(frames) == 30
        assert frames[0].grey.shape == (240, 320) and frames[0].rgb.shape == (240, 320, 3)
        assert frames[0].source.frame_time_ms == pytest.approx(33.333)
        assert frames[0].source.photometric_interpretation == "YBR_FULL_422"
        # The colour as pydicom converts it (as_rgb) from the same decoder's samples, within one level.
        expected = pixel_array(get_testdata_file("examples_ybr_color.dcm"), index=0, decoding_plugin="pillow")
        assert np.abs(frames[0].rgb.astype(int) - expected).max() <= 1

    def test_palette_us(self):
        with pytest.warns(RegionBoundsClippedWarning):
            (frame,) = read_frames(get_testdata_file("examples_palette.dcm"))
        assert frame.rgb.shape == (350, 800, 3)
        # Palette colour ultrasound keeps its tint in rgb and gives luma in grey.
        assert not np.array_equal(frame.rgb[..., 0], frame.rgb[..., 2])

    def test_rgb_us_without_calibration(self):
        (frame,) = read_frames(get_testdata_file("examples_rgb_color.dcm"))
        assert frame.source.modality == "US" and not frame.calibration.calibrated

    def test_big_endian_rgb_exact_pixels(self):
        # A secondary capture whose 33.3 mm Pixel Spacing is no ultrasound scale: ignored, and said so.
        with pytest.warns(NonUltrasoundWarning), pytest.warns(HeaderValueWarning, match=r"Pixel Spacing '33.3333\\33.3333'"):
            (frame,) = read_frames(get_testdata_file("SC_rgb_small_odd_big_endian.dcm"))
        assert not frame.calibration.calibrated
        assert frame.rgb[:, 0].tolist() == [[166, 141, 52], [63, 87, 176], [158, 158, 158]]
        # BT.601 luma of (166, 141, 52) is 138.3
        assert frame.grey[0, 0] == 138

    def test_jpeg2000_colour(self):
        with pytest.warns(NonUltrasoundWarning, match="Modality is missing"):
            (frame,) = read_frames(get_testdata_file("GDCMJ2K_TextGBR.dcm"))
        assert frame.rgb.shape == (400, 400, 3)

    def test_deflated_data_set_exact_pixels(self):
        # Deflated Explicit VR Little Endian: the whole data set one zlib stream, pixels included.
        path = get_testdata_file("image_dfl.dcm")
        with pytest.warns(NonUltrasoundWarning):
            (frame,) = read_frames(path)
        assert np.array_equal(frame.grey, dcmread(path).pixel_array)

    def test_rle_two_frames(self):
        with pytest.warns(NonUltrasoundWarning):
            frames = list(read_frames(get_testdata_file("SC_rgb_rle_2frame.dcm")))
        assert [f.frame_number for f in frames] == [1, 2]


class TestBadInput:
    def test_text_file(self, tmp_path):
        path = tmp_path / "notes.txt"
        path.write_text("patient seen, CL 24 mm\n")
        with pytest.raises(NotDicomError, match="notes.txt: not a DICOM file"):
            read_source(path)

    def test_empty_file(self, tmp_path):
        path = tmp_path / "empty.dcm"
        path.write_bytes(b"")
        with pytest.raises(NotDicomError, match="empty.dcm"):
            read_source(path)

    @pytest.mark.filterwarnings("ignore:Invalid value for VR:UserWarning")  # pydicom on the malformed value, as meant
    def test_number_of_frames_not_an_integer(self, make_dicom):
        path = with_raw_value(make_dicom(frames_rgb=gradient_rgb(frames=2)), "NumberOfFrames", b"ab")
        with pytest.raises(CorruptDicomError, match=rf"{path.name}: \(0028,0008\) Number of Frames 'ab' is not an integer: its frames cannot be counted"):
            read_source(path)

    def test_frame_time_not_a_number_is_ignored_with_a_warning(self, make_dicom):
        path = with_raw_value(make_dicom(frames_rgb=gradient_rgb(frames=2), frame_time_ms=40.0), "FrameTime", b"fast")
        with pytest.warns(HeaderValueWarning, match=rf"{path.name}: \(0018,1063\) Frame Time 'fast' is not a number: ignored"):
            source = read_source(path)
        assert (source.frame_time_ms, source.number_of_frames) == (None, 2)
        assert [frame.frame_number for frame in iter_frames(source)] == [1, 2]

    @pytest.mark.filterwarnings("ignore:Invalid value for VR:UserWarning")  # pydicom on the malformed value, as meant
    def test_control_characters_of_a_bad_value_are_escaped(self, make_dicom):
        path = with_raw_value(make_dicom(frames_rgb=gradient_rgb(frames=2)), "NumberOfFrames", b"2\n<b>")
        with pytest.raises(CorruptDicomError) as caught:
            read_source(path)
        assert "Number of Frames '2\\n<b>' is not an integer" in str(caught.value) and "\n" not in str(caught.value)

    def test_an_element_of_a_vr_no_standard_has_is_a_damaged_header(self, make_dicom):
        path = make_dicom(photometric="YBR_FULL_422", compression="jpeg_baseline")  # explicit VR: the VR is in the file
        data = path.read_bytes()
        at = data.index(b"\x28\x00\x04\x00CS")  # (0028,0004) Photometric Interpretation
        path.write_bytes(data[: at + 4] + b"QQ" + data[at + 6 :])  # pydicom converts it only when it is read
        said = "the DICOM header is damaged (NotImplementedError: Unknown Value Representation 'QQ' in tag (0028,0004))"
        with pytest.raises(CorruptDicomError, match=re.escape(f"{path}: {said}")):
            read_source(path)

    def test_several_values_where_one_belongs_is_a_damaged_header(self, make_dicom):
        path = with_raw_value(make_dicom(), "PhotometricInterpretation", b"RGB\\MONOCHROME2 ")
        said = "(0028,0004) Photometric Interpretation holds 2 values where the standard has one: the header is damaged"
        with pytest.raises(CorruptDicomError, match=re.escape(f"{path}: {said}")):
            read_source(path)

    @pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.dcm")), ids=lambda p: p.stem)
    @pytest.mark.filterwarnings("ignore")  # damaged values warn in many ways; the reader's outcome is what is checked
    def test_randomly_damaged_headers_read_or_fail_with_a_named_error(self, sample, tmp_path):
        rng = np.random.default_rng(int(sample.stem[:2]))
        data = sample.read_bytes()
        for copy in range(25):
            damaged = bytearray(data)
            for at in rng.integers(132, min(len(data), 3000), size=rng.choice([1, 2, 4, 8])):
                damaged[at] = rng.integers(256)
            path = tmp_path / f"{copy}.dcm"
            path.write_bytes(bytes(damaged))
            try:
                for frame in read_frames(path):
                    assert frame.grey.shape == (frame.source.rows, frame.source.cols)
            except DicomReadError as err:  # any other exception fails the test
                assert str(err).startswith(f"{path}: ")

    def test_more_pixel_data_than_the_header_describes_is_said(self, make_dicom):
        path = make_dicom(frames_rgb=gradient_rgb(frames=2), photometric="MONOCHROME2")
        ds = dcmread(path)
        del ds.NumberOfFrames  # an exporter that drops it: two frames' bytes, described as one
        ds.save_as(path)
        held, one = len(ds.PixelData), ds.Rows * ds.Columns
        said = f"{path}: Pixel Data (7FE0,0010) holds {held} bytes, 2.00 times the {one} its Rows, Columns, Samples per Pixel, Bits Allocated"
        with pytest.warns(HeaderValueWarning, match=re.escape(said)):
            frames = list(read_frames(path))
        assert len(frames) == 1

    def test_pixel_data_padded_to_an_even_length_is_not_excess(self, make_dicom, recwarn):
        odd = np.zeros((1, 5, 7, 3), np.uint8)  # 35 grey bytes, padded to 36
        path = make_dicom(frames_rgb=odd, photometric="MONOCHROME2", regions=[])
        assert len(dcmread(path).PixelData) == 36 and len(list(read_frames(path))) == 1
        assert not [w for w in recwarn if "Pixel Data" in str(w.message)]

    def test_a_backslash_in_an_identifying_text_is_kept_with_a_warning(self, make_dicom):
        path = with_raw_value(make_dicom(accession_number="A1"), "AccessionNumber", b"RIS\\4471")
        with pytest.warns(HeaderValueWarning, match=re.escape(f"{path}: (0008,0050) Accession Number holds 2 values where the standard has one: read as one text")):
            source = read_source(path)
        assert source.accession_number == "RIS\\4471" and len(list(iter_frames(source))) == 1

    @pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
    def test_truncated_jpeg_multiframe(self, make_dicom, fraction):
        path = make_dicom(frames_rgb=gradient_rgb(frames=6), photometric="YBR_FULL_422", compression="jpeg_baseline")
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(CorruptDicomError, match=f"{path.name}: .*truncated"):
            list(read_frames(path))

    def test_truncated_native_pixels_names_the_frame(self, make_dicom):
        path = make_dicom(frames_rgb=gradient_rgb(frames=4), photometric="MONOCHROME2")
        data = path.read_bytes()
        path.write_bytes(data[:-5000])
        with pytest.raises(CorruptDicomError, match="truncated"):
            list(read_frames(path))

    def test_damaged_jpeg_stream(self, make_dicom):
        path = make_dicom(photometric="YBR_FULL_422", compression="jpeg_baseline")
        ds = dcmread(path)
        data = bytearray(ds.PixelData)
        start = data.index(b"\xff\xd8")
        data[start + 2 : start + 400] = b"\x00" * 398  # wipe the JPEG header tables
        ds.PixelData = bytes(data)
        ds.save_as(path)
        with pytest.raises(CorruptDicomError, match="frame 1: pixel data cannot be decoded"):
            list(read_frames(path))

    @pytest.mark.parametrize("implicit", [True, False])
    def test_a_file_meta_without_its_transfer_syntax_is_read_as_its_data_set_is_written(self, make_dicom, implicit):
        path = make_dicom(photometric="MONOCHROME2")
        ds = dcmread(path)
        expected = ds.pixel_array
        del ds.file_meta.TransferSyntaxUID
        with open(path, "wb") as handle:
            dcmwrite(handle, ds, enforce_file_format=False, implicit_vr=implicit, little_endian=True)
        name = "Implicit" if implicit else "Explicit"
        with pytest.warns(HeaderValueWarning, match=re.escape(f"{path}: no Transfer Syntax UID (0002,0010): read as {name} VR Little Endian")):
            (frame,) = read_frames(path)
        assert np.array_equal(frame.grey, expected)

    def test_compressed_pixels_without_a_transfer_syntax_are_refused(self, make_dicom):
        path = make_dicom(photometric="YBR_FULL_422", compression="jpeg_baseline")
        ds = dcmread(path)
        del ds.file_meta.TransferSyntaxUID
        with open(path, "wb") as handle:
            dcmwrite(handle, ds, enforce_file_format=False, implicit_vr=False, little_endian=True)
        with pytest.raises(UnsupportedTransferSyntaxError, match="the file meta has no Transfer Syntax UID"):
            read_source(path)

    def test_missing_pixel_data(self, make_dicom):
        path = make_dicom()
        ds = dcmread(path)
        del ds.PixelData
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.88.11")  # Basic Text SR
        ds.save_as(path)
        with pytest.raises(MissingPixelDataError, match="no Pixel Data .*not an image"):
            read_source(path)

    def test_image_object_cut_before_its_pixels(self, make_dicom):
        path = make_dicom()
        ds = dcmread(path)
        del ds.PixelData
        ds.save_as(path)
        with pytest.raises(CorruptDicomError, match="Ultrasound Image Storage object without Pixel Data.*truncated"):
            read_source(path)

    def test_unsupported_transfer_syntax(self, make_dicom):
        path = make_dicom(photometric="MONOCHROME2")
        ds = dcmread(path)
        ds.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.102")  # MPEG-4 AVC/H.264
        ds.PixelData = encapsulate([b"\x00\x00\x00\x01" * 16])  # a video stream: one fragment
        ds.save_as(path)
        with pytest.raises(UnsupportedTransferSyntaxError, match="MPEG-4.*no pixel-data decoder"):
            read_source(path)

    @pytest.mark.parametrize(
        "attribute,value,message",
        [
            ("Rows", 0, "zero or absurd"),
            ("Columns", 60000, "zero or absurd"),
            ("NumberOfFrames", 0, "outside 1-"),
            ("SamplesPerPixel", 4, "expected 1 or 3 samples"),
            ("PhotometricInterpretation", "CMYK", "'CMYK' is not supported"),
        ],
    )
    def test_absurd_image_module(self, make_dicom, attribute, value, message):
        path = make_dicom(photometric="MONOCHROME2")
        ds = dcmread(path)
        setattr(ds, attribute, value)
        ds.save_as(path)
        with pytest.raises(UnsupportedImageError, match=message):
            read_source(path)

    def test_non_us_modality_warns_and_needs_calibration(self, make_dicom):
        bare = make_dicom(regions=[], modality="CT")
        with pytest.warns(NonUltrasoundWarning, match="Modality is CT"):
            assert not read_source(bare).calibration.calibrated
        spaced = make_dicom(regions=[], modality="OT", pixel_spacing_mm=(0.2, 0.2))
        with pytest.warns(NonUltrasoundWarning):
            assert read_source(spaced).calibration.source == "pixel_spacing"

    def test_a_pipe_is_refused_not_waited_on(self, tmp_path):
        os.mkfifo(tmp_path / "pipe.dcm")  # nothing ever writes to it: opening it to read would block
        with pytest.raises(UnreadableFileError, match="pipe.dcm: not a regular file"):
            read_source(tmp_path / "pipe.dcm")
        assert list(iter_dicom_paths([tmp_path])) == [tmp_path / "pipe.dcm"]  # listed, so reported as failed

    def test_folder_is_not_a_file(self, tmp_path):
        with pytest.raises(UnreadableFileError, match="cannot be opened: Is a directory"):
            read_source(tmp_path)


class TestIterDicomPaths:
    def test_recursive_sorted_any_suffix(self, tmp_path):
        for rel in ["b/IM0002", "a/IM0001.dcm", "a/deeper/x", ".hidden", "a/DICOMDIR", ".git/objects/y"]:
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_bytes(b"")
        found = [p.relative_to(tmp_path).as_posix() for p in iter_dicom_paths([tmp_path])]
        assert found == ["a/IM0001.dcm", "a/deeper/x", "b/IM0002"]

    def test_single_file_and_missing_path(self, tmp_path):
        f = tmp_path / "one"
        f.write_bytes(b"")
        assert list(iter_dicom_paths([f])) == [f]
        with pytest.raises(FileNotFoundError, match="no such file"):
            list(iter_dicom_paths([tmp_path / "nope"]))


class TestIgnoreFile:
    def test_patterns_apply_to_the_folder_tree(self, tmp_path):
        for rel in ["a.dcm", "notes.csv", "sub/b.dcm", "sub/c.csv", "other.txt"]:
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_bytes(b"")
        (tmp_path / ".cervical-length-ignore").write_text("# companions\n*.csv\n\n")
        found = [p.relative_to(tmp_path).as_posix() for p in iter_dicom_paths([tmp_path])]
        assert found == ["a.dcm", "other.txt", "sub/b.dcm"]
