"""The smoke test is safe (issue 13 item 8): `eqinfo-experiment --scale tiny` writes only under
its --out unless --docs / --results-dir are given; a published scale keeps the repository's docs
as its default; a missing corpus is one line naming --data."""
import argparse
import os
from pathlib import Path

import pytest

from eqinfo.experiment import run as R
from eqinfo.experiment.scales import SCALES, get_scale
from test_experiment_e2e import synthetic_shards

METHODS = ["bytes", "equalinfo-b16-v256"]


def _tree(root: Path, skip: Path) -> dict:
    """Every file under root except those under skip: path -> (size, mtime)."""
    out = {}
    for dirpath, _, files in os.walk(root):
        if Path(dirpath).is_relative_to(skip):
            continue
        for f in files:
            st = (Path(dirpath) / f).stat()
            out[str(Path(dirpath) / f)] = (st.st_size, st.st_mtime_ns)
    return out


def test_tiny_writes_only_under_out(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "docs" / "results").mkdir(parents=True)
    (repo / "docs" / "results.md").write_text("the committed report\n")
    monkeypatch.setattr(R, "REPO_ROOT", repo)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    shards, out = tmp_path / "shards", tmp_path / "exp"
    synthetic_shards(shards, methods=METHODS)
    before = _tree(tmp_path, out)
    argv = ["--scale", "tiny", "--shards", str(shards), "--out", str(out), "--jobs", "0",
            "--methods", ",".join(METHODS), "--stability-sentences", "0"]
    assert R.main(argv) == 0
    assert _tree(tmp_path, out) == before           # nothing outside --out changed, nothing added
    assert (repo / "docs" / "results.md").read_text() == "the committed report\n"
    assert (out / "docs" / "results.md").exists() and (out / "docs" / "results_tiny_fig3.png").exists()
    assert (out / "results" / "results.json").exists()   # the kept copy, under --out too
    # --docs given: the report goes there (the kept runs stay under --out)
    docs = tmp_path / "elsewhere"
    assert R.main(argv + ["--docs", str(docs)]) == 0
    assert (docs / "results.md").exists() and not (repo / "docs" / "results_tiny_fig3.png").exists()


def test_published_scales_default_to_the_repository_docs(monkeypatch, tmp_path):
    monkeypatch.setattr(R, "REPO_ROOT", tmp_path)
    a = R.build_parser().parse_args(["--scale", "small"])
    out, docs, kept = R.output_dirs(a, get_scale("small"))
    assert (out, docs, kept) == (tmp_path / "runs/experiment/small", tmp_path / "docs",
                                 tmp_path / "docs/results/small")
    a = R.build_parser().parse_args(["--scale", "tiny", "--out", str(tmp_path / "o")])
    assert R.output_dirs(a, get_scale("tiny")) == (tmp_path / "o", tmp_path / "o/docs", tmp_path / "o/results")
    a = R.build_parser().parse_args(["--scale", "tiny", "--results-dir", ""])
    assert R.output_dirs(a, get_scale("tiny"))[2] is None
    assert [n for n, s in SCALES.items() if not s.publish] == ["tiny"]


def test_a_missing_corpus_names_data(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        R.main(["--scale", "tiny", "--out", str(tmp_path / "o"), "--methods", "bytes",
                "--data", str(tmp_path / "missing.jsonl.gz")])
    msg = str(e.value.code)
    assert msg.startswith("eqinfo-experiment: error: corpus ") and "pass --data PATH" in msg
    assert "\n" not in msg
    with pytest.raises(SystemExit) as e:
        R.main(["--scale", "tiny", "--out", str(tmp_path / "o"), "--train", str(tmp_path)])
    assert e.value.code == 2 and "--train and --validation go together" in capsys.readouterr().err


# ----------------------------------------------------------------------------- readable plots

def _small_results():
    import json
    return json.loads((Path(__file__).resolve().parents[2] / "docs" / "results" / "small" / "results.json").read_text())


def test_fig10_is_a_grid_readable_at_page_width(tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image
    from eqinfo.experiment import report
    results = _small_results()
    windowed = [n for n, r in results["methods"].items()
                if (r.get("window_tokens") or 0) > 1 and r.get("positions_curve")]
    assert len(windowed) == 8
    fig = report.fig10_figure(results)
    plots = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.lines]
    assert len(plots) == 2 * len(windowed)
    columns = {round(ax.get_position().x0, 3) for ax in plots}
    assert len(columns) == report.FIG10_COLUMNS          # 4 columns, 2 rows of methods
    assert {ax.get_title().split("\n")[0] for ax in plots if ax.get_title()} == \
        {results["methods"][n]["label"] for n in windowed}
    report.plot_fig10(results, tmp_path / "f10.png")
    w, h = Image.open(tmp_path / "f10.png").size
    assert w <= 1000 and 0.6 < h / w < 1.2               # was 2816 x 605: 8 panels in a row
    # every text is >= 7 pt, i.e. >= ~5.6 px when the 1000 px figure is shown 800 px wide
    sizes = [t.get_fontsize() for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels()]
    assert min(sizes) >= 7


def test_fig3_has_a_legend_naming_the_papers_points(tmp_path):
    pytest.importorskip("matplotlib")
    from eqinfo.experiment import report
    results = _small_results()
    pts = report.paper_points(results)
    assert [p["n"] for p in pts] == list(range(1, len(pts) + 1)) and len(pts) == 13
    assert pts[0]["label"] == "Bytes" and pts[0]["bpb"] == 1.29
    fig = report.fig3_figure(results)
    texts = [t.get_text() for ax in fig.axes for lg in ([ax.get_legend()] + [a for a in ax.artists])
             if lg is not None and hasattr(lg, "get_texts") for t in lg.get_texts()]
    for p in pts:   # each numbered hollow point is named, with the paper's bits/byte
        assert any(t.split() and t.split()[0] == str(p["n"]) and p["label"] in t and f"{p['bpb']:.2f}" in t
                   for t in texts), p
    assert "paper (M2 25m, C4)" in texts and "ours, v65k" in texts
    numbers = {t.get_text() for t in fig.axes[0].texts}
    assert {str(p["n"]) for p in pts} <= numbers          # the numbers beside the points
    report.plot_fig3(results, tmp_path / "f3.png")
    assert (tmp_path / "f3.png").stat().st_size > 10_000
