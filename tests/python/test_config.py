"""Engine() takes every configuration key as a keyword argument, read by the library's one
parser (the CLI's --key-name flags and `faceid serve --config` files are the same keys), and
`person` is the name of who a face is, with `user_id` a deprecated alias."""
import warnings

import pytest

import faceid
from conftest import sample_photo


def test_every_key_is_listed_with_its_type_and_default():
    keys = {k["name"]: k for k in faceid.config_keys()}
    for name in ("min_face_size", "manifest", "hnsw_m", "ivf_nprobe", "max_image_pixels", "score_norm",
                 "cohort_top_k", "cohort_min", "cohort_gallery", "liveness", "detection_threshold"):
        assert name in keys, name
    assert keys["score_norm"]["choices"] == ["none", "znorm", "tnorm", "snorm", "asnorm"]
    assert keys["min_face_size"]["type"] == "integer" and keys["min_face_size"]["default"] == "20"
    assert keys["hnsw_m"]["min"] == 2 and keys["hnsw_m"]["max"] == 512


def test_keyword_arguments_reach_the_engine():
    engine = faceid.Engine(":memory:", min_face_size=5000, score_norm="asnorm", cohort_top_k=50, cohort_min=30,
                           hnsw_m=16, ivf_nprobe=4, max_image_pixels=50_000_000, model_path=["/nowhere"],
                           threshold=None)
    config = engine.config
    assert config["min_face_size"] == 5000
    assert config["score_norm"] == "asnorm" and config["cohort_top_k"] == 50 and config["cohort_min"] == 30
    assert config["hnsw_m"] == 16 and config["ivf_nprobe"] == 4
    assert config["max_image_pixels"] == 50_000_000
    assert config["model_path"] == ["/nowhere"]
    assert config["threshold"] is None
    # A minimum face size above the photo's size: the detector reports nothing.
    assert engine.detect(sample_photo(1)) == []
    assert faceid.Engine(":memory:").detect(sample_photo(1))


def test_config_round_trips_into_a_new_engine():
    engine = faceid.Engine(":memory:", metric="euclidean_l2", flip=True, candidates=3)
    again = faceid.Engine(**engine.config)
    assert again.config == engine.config
    assert again.metric == "euclidean_l2"


def test_detector_retry_keywords_reach_the_engine():
    """Faces cut out to their own box touch the frame on every side; some are found only on the
    retry's padded copy (tests/detector_test.cpp measures 6 of the 22 in the sample photos)."""
    retry, plain = faceid.Engine(":memory:"), faceid.Engine(":memory:", detect_retry=False)
    assert retry.config["detect_retry"] and retry.config["fallback_detector"] == ""
    assert not plain.config["detect_retry"]
    recovered = 0
    for i in range(1, 7):
        photo = faceid.load_image(sample_photo(i))
        for face in plain.detect(photo):
            x, y, w, h = (int(v) for v in face.box)
            chip = photo[y:y + h, x:x + w].copy()
            if not plain.detect(chip):
                assert len(retry.detect(chip)) == 1
                recovered += 1
    assert recovered >= 3
    with pytest.raises(faceid.NotFoundError, match="no_such_detector"):
        faceid.Engine(":memory:", fallback_detector="no_such_detector")


def test_unknown_keyword_is_refused_by_name():
    with pytest.raises(faceid.BadRequestError, match="unknown configuration key 'min_face'"):
        faceid.Engine(":memory:", min_face=40)


@pytest.mark.parametrize("kwargs, message", [
    ({"metric": "manhattan"}, r"metric: unknown name 'manhattan' \(one of: cosine, euclidean, euclidean_l2\)"),
    ({"min_face_size": -3}, "min_face_size: expected an integer from 0 to"),
    ({"min_face_size": "40"}, "min_face_size: expected an integer"),
    ({"flip": 1}, "flip: expected true or false"),
    ({"detection_threshold": 2.0}, "detection_threshold: expected a number from 0 to 1"),
])
def test_bad_values_name_the_key_and_what_it_accepts(kwargs, message):
    with pytest.raises(faceid.BadRequestError, match=message):
        faceid.Engine(":memory:", **kwargs)


def test_person_is_the_name_and_user_id_a_deprecated_alias(sample_engine):
    faces = sample_engine.identify(sample_photo(3))
    largest = max(faces, key=lambda f: f.box[2] * f.box[3])
    assert largest.person == "alice"
    assert largest.best.person == "alice"
    assert "person='alice'" in repr(largest)
    with pytest.warns(DeprecationWarning, match="use `person`"):
        assert largest.user_id == "alice"
    with pytest.warns(DeprecationWarning):
        assert largest.best.user_id == "alice"
    people = sample_engine.people()
    assert sorted(p.person for p in people) == ["alice", "bea"]
    with pytest.warns(DeprecationWarning):
        assert sorted(p.user_id for p in people) == ["alice", "bea"]


def test_enroll_takes_person_and_the_old_keyword_with_a_warning(engine):
    assert [o.status for o in engine.enroll(person="alice", images=[sample_photo(1)])] == ["enrolled"]
    with pytest.warns(DeprecationWarning):
        outcomes = engine.enroll(user_id="bea", images=[sample_photo(4)])
    assert [o.status for o in outcomes] == ["enrolled"]
    assert sorted(p.person for p in engine.people()) == ["alice", "bea"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new names never warn
        engine.remove_person(person="bea")
        assert [p.person for p in engine.people()] == ["alice"]
