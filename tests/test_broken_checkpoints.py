"""Broken checkpoints: each kind is one line naming the file and the problem, exit 2, before
anything large is allocated (`nanoseek serve` loads the model and tokenizer first)."""

from __future__ import annotations

import json
import shutil

import pytest

from nanoseek import Transformer
from nanoseek.cli import EXIT_USAGE, main
from nanoseek.config import tiny
from nanoseek.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "ckpt"
    tokenizer = train_tokenizer(["hello world, 12 + 30 = 42"] * 20, 300)
    Transformer(tiny().replace(vocab_size=320, num_hidden_layers=2, num_nextn_predict_layers=0)).save_pretrained(path)
    tokenizer.save(path)
    return path


def config_set(**changes):
    def apply(path):
        config = json.loads((path / "config.json").read_text())
        (path / "config.json").write_text(json.dumps(config | changes))
    return apply


def write(name: str, content: bytes | str):
    def apply(path):
        target = path / name
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    return apply


def truncate(name: str, keep: int):
    def apply(path):
        target = path / name
        target.write_bytes(target.read_bytes()[:keep])
    return apply


def remove(name: str):
    return lambda path: (path / name).unlink()


def sharded_with_a_missing_shard(path):
    (path / "model.safetensors").rename(path / "model-00001-of-00002.safetensors")
    index = {"metadata": {}, "weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                                            "lm_head.weight": "model-00002-of-00002.safetensors"}}
    (path / "model.safetensors.index.json").write_text(json.dumps(index))


CASES = {
    "config is a list": (write("config.json", "[1, 2]"), "config.json: must hold a JSON object, got a list"),
    "config is not JSON": (write("config.json", "{vocab"), "config.json: not valid JSON"),
    "config missing": (remove("config.json"), "not a checkpoint directory (no config.json)"),
    "vocab_size 1e12": (config_set(vocab_size=1e12), "vocab_size must be a positive integer, got 1000000000000.0"),
    "vocab_size 10^12": (config_set(vocab_size=10**12), "vocab_size must be at most 2,097,152"),
    "positions 2^31": (config_set(max_position_embeddings=2**31), "max_position_embeddings must be at most"),
    "hidden_size a string": (config_set(hidden_size="big"), "hidden_size must be a positive integer, got 'big'"),
    "negative layers": (config_set(num_hidden_layers=-1), "num_hidden_layers must be a positive integer"),
    "unknown scoring": (config_set(scoring_func="softmax"), "scoring_func must be 'sigmoid'"),
    "weights missing": (remove("model.safetensors"), "no model.safetensors or model.safetensors.index.json"),
    "weights torn in the header": (truncate("model.safetensors", 100), "model.safetensors: not a readable safetensors"),
    "weights torn in the data": (truncate("model.safetensors", 60_000), "model.safetensors: not a readable safetensors"),
    "weights empty": (write("model.safetensors", b""), "model.safetensors: not a readable safetensors"),
    "weights garbage": (write("model.safetensors", b"\xff" * 64), "model.safetensors: not a readable safetensors"),
    "weights of another shape": (config_set(hidden_size=96),
                                 "model.safetensors: tensor model.embed_tokens.weight has shape (320, 64), config.json "
                                 "makes it (320, 96)"),
    "weights of another model": (config_set(num_hidden_layers=3), "checkpoint does not match the config: missing"),
    "index not JSON": (write("model.safetensors.index.json", "nope"), "model.safetensors.index.json: not valid JSON"),
    "index without weight_map": (write("model.safetensors.index.json", "{}"), "needs a \"weight_map\" object"),
    "index names a missing shard": (sharded_with_a_missing_shard, "names model-00002-of-00002.safetensors, which is not in"),
    "tokenizer missing": (remove("tokenizer.json"), "no tokenizer.json"),
    "tokenizer not JSON": (write("tokenizer.json", "{"), "tokenizer.json: not a readable tokenizer"),
    "tokenizer of another shape": (write("tokenizer.json", '{"model": 3}'), "tokenizer.json: not a readable tokenizer"),
}


@pytest.mark.parametrize("kind", CASES)
def test_a_broken_checkpoint_is_one_line_naming_the_problem(good, tmp_path, capsys, kind):
    breaks, message = CASES[kind]
    broken = tmp_path / "ckpt"
    shutil.copytree(good, broken)
    breaks(broken)
    assert main(["serve", "--model", str(broken), "--no-compile"]) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("nanoseek serve: error: "), err
    assert message in err, err
