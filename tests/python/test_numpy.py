"""NumPy in and out: frames as cv2 gives them (and views of them), embeddings back and forth."""
import numpy as np
import pytest

import faceid


def summary(faces):
    return [(f.person, round(f.score, 5), tuple(round(v, 2) for v in f.box)) for f in faces]


@pytest.fixture(scope="module")
def photo(sample_held_out):
    return sample_held_out[0]


def test_load_image_gives_a_bgr_array_like_cv2(photo):
    image = faceid.load_image(photo[1])
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.flags["C_CONTIGUOUS"]
    cv2 = pytest.importorskip("cv2", reason="python3-opencv not installed")
    assert np.array_equal(image, cv2.imread(photo[1]))


def test_arrays_views_and_paths_give_the_same_answer(sample_engine, photo):
    person, path = photo
    image = faceid.load_image(path)
    expected = summary(sample_engine.identify(path))
    assert expected[0][0] == person
    assert summary(sample_engine.identify(image)) == expected
    # A crop view of a larger frame: rows are strided, pixels packed (read in place).
    framed = np.zeros((image.shape[0] + 40, image.shape[1] + 60, 3), np.uint8)
    framed[20:-20, 30:-30] = image
    view = framed[20:-20, 30:-30]
    assert not view.flags["C_CONTIGUOUS"]
    assert summary(sample_engine.identify(view)) == expected
    # Layouts cv::Mat cannot view are copied first.
    assert summary(sample_engine.identify(np.asfortranarray(image))) == expected
    read_only = image.copy()
    read_only.flags.writeable = False
    assert summary(sample_engine.identify(read_only)) == expected


@pytest.mark.parametrize("bad", [np.zeros((64, 64, 3), np.float32), np.zeros((2, 64, 64, 3), np.uint8),
                                 np.zeros((64, 64, 5), np.uint8), np.zeros((64, 64), np.uint8), [[1, 2], [3, 4]]])
def test_arrays_that_are_not_bgr_images_are_refused(engine, bad):
    with pytest.raises(faceid.BadImageError):
        engine.identify(bad)


def test_embeddings_round_trip(sample_engine, sample_held_out):
    (person, path), (other, other_path) = sample_held_out[0], sample_held_out[-1]
    assert person != other
    image = faceid.load_image(path)
    faces = sample_engine.detect(image)
    vectors = sample_engine.embed(image)
    assert vectors.dtype == np.float32 and vectors.shape == (len(faces), 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(sample_engine.embed(image, faces[:1]), vectors[:1], atol=1e-6)
    assert sample_engine.embed(np.full((100, 100, 3), 90, np.uint8)).shape == (0, 0)
    # Same person: similar vectors; the gallery finds the owner from the vector alone.
    same = sample_engine.embed(sample_held_out[1][1])[0]
    different = sample_engine.embed(other_path)[0]
    assert vectors[0] @ same > vectors[0] @ different + 0.2
    match = sample_engine.match(vectors[0])
    assert match.person == person and match.score == pytest.approx(sample_engine.identify(image)[0].score, abs=1e-4)
    assert sample_engine.match((vectors[0] * 3).astype(np.float64)).person == person  # any scale, any float type
    with pytest.raises(faceid.ModelMismatchError):
        sample_engine.match(vectors[0][:128])
    crop = sample_engine.aligned_crop(image, faces[0])
    assert crop.dtype == np.uint8 and crop.shape == (112, 112, 3)


def test_enroll_from_arrays(engine, sample_held_out):
    person, path = sample_held_out[0]
    image = faceid.load_image(path)
    assert [o.status for o in engine.enroll(person, [image, image.copy()])] == ["enrolled", "duplicate"]
    assert engine.enroll(person, [image])[0].source == "array[0]"
    assert engine.identify(sample_held_out[1][1])[0].person == person
