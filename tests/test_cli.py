"""`nanoseek pretrain|sft` at the edge: bad input is one line on stderr, a non-zero exit,
and nothing written or overwritten."""

from __future__ import annotations

import pytest

from nanoseek.cli import EXIT_USAGE, build_parser, main
from train_fixtures import make_shards

TINY = ["--preset", "tiny", "--steps", "2", "--batch-size", "2", "--seq-len", "16", "--warmup-steps", "1",
        "--no-progress", "--threads", "1"]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return make_shards(tmp_path_factory.mktemp("shards"))


@pytest.fixture(scope="module")
def finished_run(shards, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "base"
    assert main(["pretrain", "--data", str(shards), "--out", str(out), *TINY]) == 0
    return out


def _snapshot(directory):
    return {p.relative_to(directory): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def test_every_subcommand_has_help():
    parser = build_parser()
    for command in ("pretrain", "sft"):
        with pytest.raises(SystemExit) as e:
            parser.parse_args([command, "--help"])
        assert e.value.code == 0


def test_pretrain_writes_an_hf_checkpoint(finished_run):
    from nanoseek import Transformer

    for name in ("config.json", "model.safetensors", "generation_config.json", "tokenizer.json",
                 "tokenizer_config.json", "metrics.jsonl", "run.json"):
        assert (finished_run / name).is_file(), name
    assert Transformer.from_pretrained(finished_run).config.vocab_size == 300


def test_unknown_preset(shards, tmp_path, capsys):
    assert main(["pretrain", "--data", str(shards), "--out", str(tmp_path / "x"), *TINY, "--preset", "huge"]) == EXIT_USAGE
    _one_line_error(capsys, "unknown preset 'huge'", "speedrun")
    assert not (tmp_path / "x").exists()


def test_missing_data_directory(tmp_path, capsys):
    assert main(["pretrain", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "x"), *TINY]) == EXIT_USAGE
    _one_line_error(capsys, "nope")
    assert not (tmp_path / "x").exists()


def test_output_directory_holding_another_run_is_not_overwritten(shards, finished_run, capsys):
    before = _snapshot(finished_run)
    assert main(["pretrain", "--data", str(shards), "--out", str(finished_run), *TINY]) == EXIT_USAGE
    _one_line_error(capsys, "already holds a run", "--resume")
    assert _snapshot(finished_run) == before


def test_resume_of_a_different_run_is_refused(shards, finished_run, capsys):
    before = _snapshot(finished_run)
    args = ["pretrain", "--data", str(shards), "--out", str(finished_run), *TINY, "--seq-len", "32", "--resume"]
    assert main(args) == EXIT_USAGE
    _one_line_error(capsys, "different run", "seq_len")
    assert _snapshot(finished_run) == before


def test_non_empty_directory_without_a_run_is_refused(shards, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["pretrain", "--data", str(shards), "--out", str(tmp_path), *TINY]) == EXIT_USAGE
    _one_line_error(capsys, "not an empty directory")
    assert _snapshot(tmp_path) == {tmp_path.joinpath("notes.txt").relative_to(tmp_path): b"mine"}


def test_resume_with_nothing_to_resume(shards, tmp_path, capsys):
    assert main(["pretrain", "--data", str(shards), "--out", str(tmp_path / "empty"), *TINY, "--resume"]) == EXIT_USAGE
    _one_line_error(capsys, "nothing to resume")
    assert not (tmp_path / "empty").exists()


def test_sft_needs_a_checkpoint_directory(tmp_path, capsys):
    assert main(["sft", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "x"), *TINY[2:]]) == EXIT_USAGE
    _one_line_error(capsys, "not a checkpoint directory")
    assert not (tmp_path / "x").exists()


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["pretrain", "--out", "x"])
    assert e.value.code == EXIT_USAGE
    _one_line_error(capsys, "--data")


@pytest.mark.parametrize("origin", ["https://app.example/chat", "app.example", "ftp://app.example"])
def test_serve_takes_only_origins_to_allow(tmp_path, capsys, origin):
    assert main(["serve", "--model", str(tmp_path), "--allow-origin", origin]) == EXIT_USAGE
    _one_line_error(capsys, "--allow-origin takes an origin", repr(origin))
