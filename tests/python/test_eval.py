"""faceid.eval runs the library's protocols (k-fold verification, 1:N open-set identification) and
gives exactly the figures the CLI prints for the same files."""
import json
import subprocess
from pathlib import Path

import pytest

import faceid
import faceid.eval

from conftest import PEOPLE, photos_of

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


def test_kfold_verification_matches_the_cli(lfw):
    # 60 pairs spread over the 5 folds of lfw_dev: both classes in every fold.
    report = faceid.eval.verify(lfw / "pairs.txt", limit=60, cache=False)
    (result,) = report["results"]
    assert result["pairs"] == 60 and result["genuine"] == 30 and result["impostor"] == 30
    assert len(result["accuracy"]["folds"]) == 5
    assert result["accuracy"]["mean"] >= 0.9, result["accuracy"]

    (cli,) = [line for line in cli_json("eval", "verify", "--pairs", str(lfw / "pairs.txt"), "--limit", "60",
                                        "--no-cache") if "failure" not in line]
    for key in ("pairs", "failed_genuine", "failed_impostor", "auc", "eer", "eer_threshold", "metric", "norm"):
        assert result[key] == pytest.approx(cli[key]), key
    assert [f["threshold"] for f in result["accuracy"]["folds"]] == pytest.approx(
        [f["threshold"] for f in cli["accuracy"]["folds"]])
    assert result["accuracy"]["mean"] == pytest.approx(cli["accuracy"]["mean"])


def test_open_set_identification_matches_the_cli(lfw, tmp_path):
    # Three photos of each sample person enrolled, their next photo a known probe, and LFW people
    # with a single photo as never-enrolled probes.
    rows = ["path\tidentity\trole"]
    for person in PEOPLE:
        photos = photos_of(lfw, person)
        rows += [f"{p}\t{person}\tgallery" for p in photos[:3]]
        rows += [f"{p}\t{person}\tprobe_known" for p in photos[3:6]]
    strangers = ("AJ_Cook", "Aaron_Patterson", "Aaron_Sorkin")
    for person in strangers:
        rows.append(f"{photos_of(lfw, person)[0]}\t{person}\tprobe_unknown")
    protocol = tmp_path / "protocol.tsv"
    protocol.write_text("\n".join(rows) + "\n")

    report = faceid.eval.identify(protocol, gallery_sizes=[1, 0], cache=False)
    assert [r["gallery_size"] for r in report["results"]] == ["1", "all"]
    full = report["results"][1]
    assert full["enrolled_people"] == len(PEOPLE) and full["enrolled_faces"] == 3 * len(PEOPLE)
    assert full["known_probes"] == 3 * len(PEOPLE) and full["unknown_probes"] == len(strangers)
    assert full["rank1"] == 1.0

    cli = [line for line in cli_json("eval", "identify", "--protocol", str(protocol), "--gallery-sizes", "1,all",
                                     "--no-cache") if "failure" not in line]
    assert len(cli) == 2
    for ours, theirs in zip(report["results"], cli):
        for key in ("gallery_size", "enrolled_faces", "rank1", "rank5", "failed_known", "failed_unknown"):
            assert ours[key] == pytest.approx(theirs[key]), key
        assert [p["fnir"] for p in ours["fnir_at_fpir"]] == pytest.approx([p["fnir"] for p in theirs["fnir_at_fpir"]])


def test_bad_paths_and_sizes_are_bad_requests(tmp_path):
    with pytest.raises(faceid.BadRequestError):
        faceid.eval.verify([], cache=False)
    with pytest.raises(faceid.BadRequestError):
        faceid.eval.identify([tmp_path / "a.tsv", tmp_path / "b.tsv"], cache=False)
    protocol = tmp_path / "protocol.tsv"
    protocol.write_text("path\tidentity\trole\na.jpg\ta\tgallery\nb.jpg\ta\tprobe_known\n")
    with pytest.raises(faceid.BadRequestError):
        faceid.eval.identify(protocol, gallery_sizes=[], cache=False)
