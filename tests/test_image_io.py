"""Reading images as viewers show them: EXIF orientation and embedded ICC profiles."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest
from PIL import Image, ImageCms

from licodec.image_io import ConversionWarning, load_image, save_image_atomic, to_rgb_array

# red top-left, green top-right, blue bottom-right, black bottom-left
PICTURE = np.zeros((24, 40, 3), np.uint8)
PICTURE[:12, :20] = (255, 0, 0)
PICTURE[:12, 20:] = (0, 200, 0)
PICTURE[12:, 20:] = (0, 0, 255)


def _with_orientation(tag: int) -> Image.Image:
    image = Image.fromarray(PICTURE)
    exif = image.getexif()
    exif[0x0112] = tag
    image.info["exif"] = exif.tobytes()
    return image


# EXIF orientation tag -> the picture a viewer shows (tag 1 is upright)
SHOWN = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: np.rot90(a, 2),
    4: lambda a: a[::-1],
    5: lambda a: np.rot90(a[:, ::-1], 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a[:, ::-1], -1),
    8: lambda a: np.rot90(a, 1),
}


@pytest.mark.parametrize("tag", sorted(SHOWN))
def test_exif_orientation_is_applied(tmp_path, tag):
    path = tmp_path / f"o{tag}.png"
    image = _with_orientation(tag)
    image.save(path, exif=image.info["exif"])
    arr, channels = load_image(path)
    assert channels == 3
    assert np.array_equal(arr, SHOWN[tag](PICTURE))
    # the API's PIL path turns it too
    assert np.array_equal(to_rgb_array(Image.open(path))[0], SHOWN[tag](PICTURE))


def _swapped_profile() -> bytes:
    """An RGB profile whose red and green primaries are sRGB's green and red."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    tags = {bytes(data[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(struct.unpack(">I", data[128:132])[0])}
    r, g = tags[b"rXYZ"], tags[b"gXYZ"]
    data[r + 4 : r + 12], data[g + 4 : g + 12] = data[g + 4 : g + 12], data[r + 4 : r + 12]
    name = "sRGB built-in".encode("utf-16-be")
    at = data.index(name)
    data[at : at + len(name)] = "Swap built-in".encode("utf-16-be")
    return bytes(data)


def test_icc_profile_is_converted_to_srgb(tmp_path):
    path = tmp_path / "swap.png"
    Image.fromarray(PICTURE).save(path, icc_profile=_swapped_profile())
    with pytest.warns(ConversionWarning, match="converted to sRGB from the embedded ICC profile 'Swap built-in'"):
        arr, _ = load_image(path)
    assert tuple(arr[0, 0]) == (0, 255, 0)  # the file's red is sRGB's green
    assert tuple(arr[0, 30]) == (200, 0, 0)
    assert tuple(arr[20, 30]) == (0, 0, 255)


def test_srgb_profile_and_untagged_images_are_read_as_they_are(tmp_path):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for name, kwargs in (("srgb.png", {"icc_profile": srgb}), ("plain.png", {})):
        Image.fromarray(PICTURE).save(tmp_path / name, **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            arr, _ = load_image(tmp_path / name)
        assert np.array_equal(arr, PICTURE)


def test_broken_icc_profile_is_ignored_with_a_warning(tmp_path):
    path = tmp_path / "broken.png"
    Image.fromarray(PICTURE).save(path, icc_profile=b"\0" * 200)
    with pytest.warns(ConversionWarning, match="ICC profile ignored"):
        arr, _ = load_image(path)
    assert np.array_equal(arr, PICTURE)


def test_decoded_pictures_are_not_degraded_by_the_output_format(tmp_path):
    rng = np.random.default_rng(0)
    picture = np.clip(rng.normal(128, 40, (48, 64, 3)), 0, 255).astype(np.uint8)
    save_image_atomic(Image.fromarray(picture), tmp_path / "out.webp")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.webp").convert("RGB")), picture)  # lossless
    save_image_atomic(Image.fromarray(picture), tmp_path / "out.jpg")
    save_image_atomic(Image.fromarray(picture), tmp_path / "out.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), picture)
    with Image.open(tmp_path / "out.jpg") as jpeg:
        from PIL import JpegImagePlugin

        assert JpegImagePlugin.get_sampling(jpeg) == 0  # 4:4:4
        error = np.abs(np.asarray(jpeg, dtype=float) - picture).mean()
    default = tmp_path / "default.jpg"
    Image.fromarray(picture).save(default)  # Pillow's own default: quality 75, 4:2:0
    assert error < 0.6 * np.abs(np.asarray(Image.open(default), dtype=float) - picture).mean()


def test_icc_conversion_keeps_alpha_for_the_alpha_warning():
    rgba = Image.fromarray(np.concatenate([PICTURE, np.full((24, 40, 1), 100, np.uint8)], 2), "RGBA")
    rgba.info["icc_profile"] = _swapped_profile()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arr, channels = to_rgb_array(rgba)
    messages = " | ".join(str(w.message) for w in caught)
    assert "converted to sRGB" in messages and "alpha channel dropped" in messages
    assert channels == 3 and tuple(arr[0, 0]) == (0, 255, 0)
