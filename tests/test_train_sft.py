"""SFT: the loader's sharding and resume position, and a short fine-tune from a checkpoint."""

from __future__ import annotations

import pytest
import torch

from nanoseek import Transformer
from nanoseek.config import tiny
from nanoseek.data.corpus import SFTDataset
from nanoseek.train import DataConfig, SFTLoader, TrainConfig, sft
from nanoseek.train.checkpoint import write_model_dir
from train_fixtures import chats, make_shards



@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """An untrained tiny checkpoint with a tokenizer (what `nanoseek pretrain` would leave)."""
    from nanoseek.tokenizer import Tokenizer

    shards = make_shards(tmp_path_factory.mktemp("shards"))
    tokenizer = Tokenizer.load(shards)
    torch.manual_seed(0)
    model = Transformer(tiny().replace(vocab_size=tokenizer.vocab_size))
    out = tmp_path_factory.mktemp("base")
    write_model_dir(out, model, tokenizer)
    return out, tokenizer


def test_sft_loader_shards_ranks_and_resumes(base):
    _, tokenizer = base
    dataset = SFTDataset(chats(40), tokenizer, seq_len=64, pack=False)
    whole = SFTLoader(dataset, batch_size=4, seed=0)
    ranks = [SFTLoader(dataset, batch_size=2, seed=0, rank=r, world_size=2) for r in range(2)]
    for _ in range(12):  # past an epoch boundary (40 rows / 4 = 10 steps)
        x, _ = next(whole)
        torch.testing.assert_close(torch.cat([next(r)[0] for r in ranks]), x)
    resumed = SFTLoader(dataset, batch_size=4, seed=0)
    resumed.load_state_dict(whole.state_dict())
    torch.testing.assert_close(next(resumed)[0], next(whole)[0])


def test_sft_trains_on_assistant_tokens_and_writes_a_checkpoint(base, tmp_path):
    model_dir, tokenizer = base
    dataset = SFTDataset(chats(40), tokenizer, seq_len=64)
    x, y = dataset[0]
    assert (y == -100).any() and (y != -100).any()  # labels only on the assistant's tokens
    config = TrainConfig(steps=8, lr=1e-2, warmup_steps=1, progress=False, peak_flops=1e10, save_every=4)
    result = sft(model_dir, tmp_path / "sft", train_config=config, data=DataConfig(batch_size=4, seq_len=64),
                 chats=chats(40))
    assert result.step == 8 and result.losses[-1] < result.losses[0]
    tuned = Transformer.from_pretrained(tmp_path / "sft")
    assert (tmp_path / "sft" / "tokenizer_config.json").is_file()
    original = Transformer.from_pretrained(model_dir)
    assert not torch.equal(tuned.lm_head.weight, original.lm_head.weight)


def test_rows_without_assistant_tokens_are_skipped_not_nan(base):
    _, tokenizer = base
    long_question = [{"role": "user", "content": "word " * 200}, {"role": "assistant", "content": "ok"}]
    dataset = SFTDataset(chats(8) + [long_question], tokenizer, seq_len=64, pack=False)
    with pytest.warns(RuntimeWarning, match="1 of 9 SFT rows"):
        loader = SFTLoader(dataset, batch_size=1, seed=0)
    assert len(loader.rows) == 8
    assert all((next(loader)[1] != -100).any() for _ in range(16))
