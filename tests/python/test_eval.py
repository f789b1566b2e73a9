"""faceid.eval runs the library's protocols (k-fold verification, 1:N open-set identification) and
gives exactly the figures the CLI prints for the same files."""
import json
import subprocess
from pathlib import Path

import pytest

import faceid
import faceid.eval

from conftest import PEOPLE, photos_of, shared_dataset

# The faceid executable of the build this package comes from (<build>/python/faceid/ -> <build>/faceid).
FACEID_CLI = Path(faceid.__file__).resolve().parents[2] / "faceid"


def cli_json(*args):
    if not FACEID_CLI.is_file():
        pytest.skip(f"no faceid executable next to the Python package ({FACEID_CLI})")
    run = subprocess.run([str(FACEID_CLI), "--format", "json", *args], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


def test_bad_pairs_file_is_a_bad_request(tmp_path):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("only-one-path\n")
    with pytest.raises(faceid.BadRequestError):
        faceid.eval.verify(pairs, cache=False)


def test_unknown_configuration_key_is_refused(tmp_path):
    with pytest.raises(faceid.BadRequestError):
        faceid.eval.verify(tmp_path / "pairs.txt", no_such_key=1)


def expect_verify_matches_the_cli(pairs_file, limit, pairs, folds, min_accuracy):
    report = faceid.eval.verify(pairs_file, limit=limit, cache=False)
    (result,) = report["results"]
    assert result["pairs"] == pairs and result["genuine"] + result["impostor"] == pairs
    assert len(result["accuracy"]["folds"]) == folds
    assert result["accuracy"]["mean"] >= min_accuracy, result["accuracy"]

    (cli,) = [line for line in cli_json("eval", "verify", "--pairs", str(pairs_file), "--limit", str(limit),
                                        "--no-cache") if "failure" not in line]
    for key in ("pairs", "failed_genuine", "failed_impostor", "auc", "eer", "eer_threshold", "metric", "norm"):
        assert result[key] == pytest.approx(cli[key]), key
    assert [f["threshold"] for f in result["accuracy"]["folds"]] == pytest.approx(
        [f["threshold"] for f in cli["accuracy"]["folds"]])
    assert result["accuracy"]["mean"] == pytest.approx(cli["accuracy"]["mean"])
    return result


def test_kfold_verification_matches_the_cli(sample_pairs, tmp_path):
    """The sample pairs always, lfw_dev's where present."""
    # Two folds, each with both classes: every second genuine pair and every second impostor.
    rows = [f"{a} {b} {int(same)} {k % 2}" for k, (a, b, same) in enumerate(p for p in sample_pairs if p[2])]
    rows += [f"{a} {b} {int(same)} {k % 2}" for k, (a, b, same) in enumerate(p for p in sample_pairs if not p[2])]
    pairs_file = tmp_path / "pairs.txt"
    pairs_file.write_text("\n".join(rows) + "\n")
    # Genuine 0.70-0.73, impostors at most 0.15 (test_engine.py): perfectly apart in each fold.
    result = expect_verify_matches_the_cli(pairs_file, len(rows), len(rows), 2, 1.0)
    assert result["genuine"] == 4 and result["auc"] == 1.0

    lfw = shared_dataset("lfw_dev")
    if lfw:
        # 60 pairs spread over the 5 folds of lfw_dev: both classes in every fold.
        result = expect_verify_matches_the_cli(lfw / "pairs.txt", 60, 60, 5, 0.9)
        assert result["genuine"] == 30


def expect_identify_matches_the_cli(protocol, people, faces, known, unknown):
    report = faceid.eval.identify(protocol, gallery_sizes=[1, 0], cache=False)
    assert [r["gallery_size"] for r in report["results"]] == ["1", "all"]
    full = report["results"][1]
    assert full["enrolled_people"] == people and full["enrolled_faces"] == faces
    assert full["known_probes"] == known and full["unknown_probes"] == unknown
    assert full["rank1"] == 1.0

    cli = [line for line in cli_json("eval", "identify", "--protocol", str(protocol), "--gallery-sizes", "1,all",
                                     "--no-cache") if "failure" not in line]
    assert len(cli) == 2
    for ours, theirs in zip(report["results"], cli):
        for key in ("gallery_size", "enrolled_faces", "rank1", "rank5", "failed_known", "failed_unknown"):
            assert ours[key] == pytest.approx(theirs[key]), key
        assert [p["fnir"] for p in ours["fnir_at_fpir"]] == pytest.approx([p["fnir"] for p in theirs["fnir_at_fpir"]])
    return full


def write_protocol(path, rows):
    path.write_text("\n".join(["path\tidentity\trole"] + [f"{p}\t{who}\t{role}" for p, who, role in rows]) + "\n")
    return path


def test_open_set_identification_matches_the_cli(sample_faces, tmp_path):
    """The sample people always, LFW's where present."""
    # alice enrolled from sample1.jpg and its mirror image, bea from sample4.jpg; alice's other photo
    # (and its mirror image) the known probes, the five strangers of sample5.jpg the unknown ones.
    alice, bea = sample_faces["alice"], sample_faces["bea"]
    rows = [(p, "alice", "gallery") for p in alice[:2]] + [(bea[0], "bea", "gallery")]
    rows += [(p, "alice", "probe_known") for p in alice[2:]]
    rows += [(p, f"stranger{k}", "probe_unknown") for k, p in enumerate(sample_faces["stranger"])]
    expect_identify_matches_the_cli(write_protocol(tmp_path / "samples.tsv", rows), 2, 3, 2, 5)

    lfw = shared_dataset("lfw_dev")
    if not lfw:
        return
    # Three photos of each LFW person enrolled, their next photos known probes, and LFW people
    # with a single photo as never-enrolled probes.
    rows = []
    for person in PEOPLE:
        photos = photos_of(lfw, person)
        rows += [(p, person, "gallery") for p in photos[:3]]
        rows += [(p, person, "probe_known") for p in photos[3:6]]
    strangers = ("AJ_Cook", "Aaron_Patterson", "Aaron_Sorkin")
    rows += [(photos_of(lfw, person)[0], person, "probe_unknown") for person in strangers]
    expect_identify_matches_the_cli(write_protocol(tmp_path / "lfw.tsv", rows), len(PEOPLE), 3 * len(PEOPLE),
                                    3 * len(PEOPLE), len(strangers))


def test_bad_paths_and_sizes_are_bad_requests(tmp_path):
    with pytest.raises(faceid.BadRequestError):
        faceid.eval.verify([], cache=False)
    with pytest.raises(faceid.BadRequestError):
        faceid.eval.identify([tmp_path / "a.tsv", tmp_path / "b.tsv"], cache=False)
    protocol = tmp_path / "protocol.tsv"
    protocol.write_text("path\tidentity\trole\na.jpg\ta\tgallery\nb.jpg\ta\tprobe_known\n")
    with pytest.raises(faceid.BadRequestError):
        faceid.eval.identify(protocol, gallery_sizes=[], cache=False)
