"""The evaluation command end to end on one real GRID test clip: real renders, real face mesh."""
import json

import pytest


@pytest.fixture(scope="module")
def report(shared_data, tmp_path_factory):
    from lab.evaluate import main

    out = tmp_path_factory.mktemp("evaluation") / "report"
    arguments = ["--splits", "grid-test", "--limit", "1", "--drivers", "static,memory", "--out", str(out)]
    assert main(arguments) == 0
    return json.loads(out.with_suffix(".json").read_text()), out.with_suffix(".md").read_text()


def test_recording_is_its_own_upper_bound(report):
    row = report[0]["splits"]["grid-test"]["real"]
    assert row["open_corr"] == pytest.approx(1.0) and row["lmd"] == pytest.approx(0.0)


def test_static_is_the_photo_unchanged(report):
    row = report[0]["splits"]["grid-test"]["static"]
    assert row["amplitude"] < 0.05 and row["detect"] == 1.0
    assert row["outside_diff"] == 0 and row["silence_flicker"] == 0


def test_renderer_with_the_real_lips_is_closer_to_the_real_mouth_than_the_photo(report):
    """Once each frame's mouth is cut in its own face frame, the real head's motion no longer
    counts, and the real lips' geometry must bring the pixels nearer the recording."""
    rows = report[0]["splits"]["grid-test"]
    assert rows["real"]["aligned_psnr"] == 100
    assert rows["real-lips"]["aligned_psnr"] > rows["static"]["aligned_psnr"]
    assert rows["real-lips"]["aligned_ssim"] > rows["static"]["aligned_ssim"]


def test_shipped_memory_follows_the_real_lips(report):
    rows = report[0]["splits"]["grid-test"]
    assert rows["memory"]["open_corr"] > 0.7 > rows["static"]["open_corr"]
    assert rows["memory"]["lmd"] < rows["static"]["lmd"] and abs(rows["memory"]["best_lag"]) <= 1


def test_small_splits_get_a_per_clip_table(report):
    assert "| clip | static | memory | real-lips |" in report[1]
    assert "`memory` minus each driver" not in report[1]  # one clip: no interval to give


def test_unknown_driver_is_refused_with_one_line(capsys):
    from lab.evaluate import main

    assert main(["--drivers", "static,lipsync9000"]) == 2
    assert capsys.readouterr().err.strip() == "error: unknown driver(s) lipsync9000"


@pytest.mark.parametrize("option, message", [(["--splits", "grid-test,nope"], "error: unknown split nope"),
                                             (["--renderers", "v2,v7"], "error: unknown renderer(s) v7")])
def test_unknown_split_or_renderer_is_refused_with_one_line(capsys, option, message):
    from lab.evaluate import main

    assert main(option) == 2
    assert capsys.readouterr().err.strip() == message
