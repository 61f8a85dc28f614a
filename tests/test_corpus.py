"""Corpus: bundled sources, user files (and their errors), shard packing, the pretraining
loader (determinism, resume, rank sharding) and SFT rows."""

import json

import numpy as np
import pytest
import torch

from nanoseek.data.corpus import (
    IGNORE_INDEX, CorpusError, CorpusWarning, SFTDataset, TokenLoader, chatterbot_dialogues,
    dialogue_to_chat, gutenberg_docs, pack_shards, pretraining_mixture, sft_conversations,
    sft_example, task_conversations, user_records,
)
from nanoseek.data.identity import identity_conversations
from nanoseek.tokenizer import EOS, THINK, extract_boxed, render_chat, train_tokenizer

LANGS = ("en", "es", "zh")


@pytest.fixture(scope="module")
def tok():
    texts = [render_chat(c) for lang in LANGS for c in identity_conversations(lang)]
    return train_tokenizer(texts, vocab_size=512)


def write_shards(directory, arrays, dtype="uint16"):
    """Shards of known content, so windows can be told apart by value."""
    shards = []
    for i, a in enumerate(arrays):
        np.asarray(a, dtype=dtype).tofile(directory / f"shard_{i:05d}.bin")
        shards.append({"file": f"shard_{i:05d}.bin", "tokens": len(a)})
    index = {"dtype": dtype, "shards": shards, "tokens": sum(len(a) for a in arrays)}
    (directory / "index.json").write_text(json.dumps(index))
    return directory


@pytest.fixture
def shard_dir(tmp_path):
    return write_shards(tmp_path, [np.arange(0, 1000), np.arange(1000, 1650)])


# ---------------------------------------------------------------------------- sources

@pytest.mark.parametrize("lang", LANGS)
def test_chatterbot_dialogues(lang):
    dialogues = chatterbot_dialogues(lang)
    assert len(dialogues) > 50 and all(len(d) >= 2 and all(isinstance(t, str) for t in d) for d in dialogues)


def test_dialogue_to_chat_alternates_and_ends_with_assistant():
    chat = dialogue_to_chat(["a", "b", "c"])
    assert chat == [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]


@pytest.mark.parametrize("lang", LANGS)
def test_identity_conversations(lang):
    chats = identity_conversations(lang)
    assert len(chats) >= 30 and len({c[0]["content"] for c in chats}) >= 20
    assert sum("nanoseek" in c[1]["content"] for c in chats) >= 10
    assert identity_conversations(lang, seed=1) != chats and sorted(map(str, identity_conversations(lang, 1))) == sorted(map(str, chats))


def test_gutenberg_without_license_boilerplate():
    docs = gutenberg_docs()
    assert len(docs) > 5 and not any("Project Gutenberg" in d.text for d in docs)


@pytest.mark.parametrize("lang, phrase", [("en", "The answer is"), ("es", "La respuesta es"), ("zh", "答案是")])
def test_task_conversations(lang, phrase):
    chats = task_conversations(lang, per_family=2, seed=0)
    assert len(chats) >= 2 * 6
    for user, assistant in chats:
        assert phrase in assistant["content"] and assistant["reasoning_content"]
        assert extract_boxed(assistant["content"]) is not None


def test_sft_mixture_has_every_kind():
    chats = sft_conversations(tasks_per_family=1, langs=("es",))
    replies = [c[-1] for c in chats]
    assert any("nanoseek" in r["content"] for r in replies)                  # identity
    assert any("\\boxed{" in r["content"] for r in replies)                  # tasks
    assert sum(not r.get("reasoning_content") for r in replies) > 50          # chatterbot
    assert all(c[-1]["role"] == "assistant" for c in chats)
    assert sft_conversations(tasks_per_family=1, langs=("es",)) == chats      # deterministic


def test_pretraining_mixture_deterministic_by_seed():
    kw = dict(tasks_per_family=0, codeio_limit=5, langs=("en", "zh"))
    docs = pretraining_mixture(**kw)
    assert docs == pretraining_mixture(**kw) and docs != pretraining_mixture(seed=1, **kw)
    assert {d.source for d in docs} == {"chatterbot", "identity", "gutenberg", "codeio"}
    assert {d.lang for d in docs} == {"en", "zh", "code"}


# ---------------------------------------------------------------------------- user files

@pytest.fixture
def user_dir(tmp_path):
    (tmp_path / "good.txt").write_text("Una historia corta.\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mixed.jsonl").write_text(
        '{"text": "hola"}\n'
        "{not json\n"
        '{"txet": "typo"}\n'
        '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n',
        encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("año".encode("latin-1"))
    (tmp_path / "ignored.csv").write_text("a,b\n")
    return tmp_path


def test_user_files_skip_reports_each_problem(user_dir):
    with pytest.warns(CorpusWarning) as caught:
        records = user_records(user_dir, on_error="skip")
    messages = [str(w.message) for w in caught]
    assert any("latin1.txt" in m and "UTF-8" in m for m in messages)
    assert any("mixed.jsonl:2" in m and "invalid JSON" in m for m in messages)
    assert any("mixed.jsonl:3" in m for m in messages)
    assert len(messages) == 3
    texts = [r for _, r in records]
    assert texts == ["Una historia corta.\n", "hola", [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]]


def test_user_files_raise_names_the_file(user_dir):
    with pytest.raises(CorpusError, match="latin1.txt"):
        user_records(user_dir, on_error="raise")


def test_user_files_in_mixtures(user_dir):
    with pytest.warns(CorpusWarning):
        docs = pretraining_mixture(user_dir, langs=())
    assert sorted(d.text for d in docs)[0].startswith("<｜begin▁of▁sentence｜><｜User｜>q")
    with pytest.warns(CorpusWarning):
        assert sft_conversations(user_dir, langs=()) == [[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]]


def test_empty_mixture_is_an_error(tmp_path):
    (tmp_path / "bad.jsonl").write_text("{oops\n")
    with pytest.warns(CorpusWarning, match="bad.jsonl:1"), pytest.raises(CorpusError, match="empty"):
        pretraining_mixture(tmp_path, langs=())
    with pytest.raises(CorpusError, match="does not exist"):
        user_records(tmp_path / "missing_dir")
    (tmp_path / "bad.jsonl").unlink()
    with pytest.raises(CorpusError, match="no .txt or .jsonl"):
        user_records(tmp_path)


def test_empty_user_file_reported(tmp_path):
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(CorpusError, match="empty.txt: no documents"):
        user_records(tmp_path, on_error="raise")


def test_on_error_validated(tmp_path):
    with pytest.raises(ValueError, match="on_error"):
        user_records(tmp_path, on_error="ignore")


# ---------------------------------------------------------------------------- packing

def test_pack_shards_frames_docs(tok, tmp_path):
    docs = ["hello world", "¿qué tal?", render_chat(identity_conversations("zh")[0])] * 20
    index = pack_shards(docs, tok, tmp_path, shard_tokens=300, batch_docs=7)
    stream = np.concatenate([np.fromfile(tmp_path / s["file"], dtype=index["dtype"]) for s in index["shards"]])
    expected = []
    for d in docs:
        ids = tok.encode(d)
        expected += ([] if ids[0] == tok.bos_id else [tok.bos_id]) + ids + ([] if ids[-1] == tok.eos_id else [tok.eos_id])
    assert stream.tolist() == expected
    assert index["docs"] == 60 and index["tokens"] == len(expected) and index["dtype"] == "uint16"
    assert [s["tokens"] for s in index["shards"]][:-1] == [300] * (len(index["shards"]) - 1)
    assert stream.tolist().count(tok.bos_id) == stream.tolist().count(tok.eos_id) == 60


def test_pack_nothing_is_an_error(tok, tmp_path):
    with pytest.raises(CorpusError, match="no documents"):
        pack_shards([], tok, tmp_path)


# ---------------------------------------------------------------------------- loader

def test_loader_batches(shard_dir):
    x, y = next(TokenLoader(shard_dir, batch_size=4, seq_len=16, seed=0))
    assert x.shape == y.shape == (4, 16) and x.dtype == y.dtype == torch.int64
    assert torch.equal(x[:, 1:], y[:, :-1]) and torch.all(y[:, -1] == x[:, -1] + 1)


def test_loader_deterministic_by_seed(shard_dir):
    a = [next(TokenLoader(shard_dir, 4, 16, seed=s))[0] for s in (0, 0, 1)]
    assert torch.equal(a[0], a[1]) and not torch.equal(a[0], a[2])


def test_loader_resume_exactly(shard_dir):
    loader = TokenLoader(shard_dir, 4, 16, seed=3)
    for _ in range(25):  # crosses the end of epoch 0 (102 windows // 4 = 25 steps)
        next(loader)
    state = json.loads(json.dumps(loader.state_dict()))  # survives a checkpoint file
    expected = [next(loader) for _ in range(3)]
    resumed = TokenLoader(shard_dir, 4, 16, seed=3)
    resumed.load_state_dict(state)
    for (x, y), (rx, ry) in zip(expected, (next(resumed) for _ in range(3))):
        assert torch.equal(x, rx) and torch.equal(y, ry)
    assert state == {"seed": 3, "epoch": 1, "step": 0}


def test_loader_epoch_visits_every_window_once(shard_dir):
    loader = TokenLoader(shard_dir, 2, 16, seed=0)
    starts = [int(x[i, 0]) for _ in range(loader.steps_per_epoch) for x, _ in [next(loader)] for i in range(2)]
    assert len(starts) == len(set(starts)) == (999 // 16 + 649 // 16) // 2 * 2


def test_loader_ranks_disjoint(shard_dir):
    ranks = [TokenLoader(shard_dir, 3, 16, seed=7, rank=r, world_size=3) for r in range(3)]
    for _ in range(5):
        rows = [tuple(row.tolist()) for loader in ranks for row in next(loader)[0]]
        assert len(set(rows)) == 9
    single = TokenLoader(shard_dir, 9, 16, seed=7)
    for _ in range(5):
        next(single)
    assert single.state_dict()["step"] == ranks[0].state_dict()["step"]


def test_loader_windows_never_cross_shards(tmp_path):
    write_shards(tmp_path, [np.full(40, 5), np.full(40, 9)])
    loader = TokenLoader(tmp_path, 1, 8, seed=0)
    for _ in range(2 * loader.steps_per_epoch):
        x, y = next(loader)
        assert len(set(torch.cat([x, y], 1).flatten().tolist())) == 1


def test_loader_too_little_data(tmp_path):
    write_shards(tmp_path, [np.arange(20)])
    with pytest.raises(CorpusError, match="too few"):
        TokenLoader(tmp_path, batch_size=2, seq_len=16, seed=0)


def test_loader_from_packed_corpus(tok, tmp_path):
    docs = [d.text for d in pretraining_mixture(tasks_per_family=0, codeio_limit=0, langs=("es",))]
    assert pack_shards(docs, tok, tmp_path)["docs"] == len(docs)
    x, y = next(TokenLoader(tmp_path, 2, 64, seed=0))
    assert x.shape == (2, 64) and x.max() < tok.vocab_size


# ---------------------------------------------------------------------------- SFT

CHAT = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "\\boxed{4}", "reasoning_content": "2+2=4"}]


def test_sft_example_labels_only_assistant(tok):
    ids, labels = sft_example(tok, CHAT)
    full, mask = tok.encode_chat(CHAT)
    assert ids == full[:-1] and len(labels) == len(ids)
    trained = [y for y in labels if y != IGNORE_INDEX]
    assert tok.decode(trained) == f"{THINK}\n2+2=4\n</think>\n\n\\boxed{{4}}{EOS}"
    assert labels[: mask.index(1) - 1] == [IGNORE_INDEX] * (mask.index(1) - 1)


def test_sft_rows_fixed_length_and_packed(tok):
    chats = [CHAT] * 10
    one = len(sft_example(tok, CHAT)[0])
    data = SFTDataset(chats, tok, seq_len=3 * one + 1)
    assert len(data) == 4 and data.truncated == 0  # 3 + 3 + 3 + 1 chats
    x, y = data[3]
    assert x.shape == y.shape == (3 * one + 1,)
    assert (x[one:] == tok.pad_id).all() and (y[one:] == IGNORE_INDEX).all()
    assert len(SFTDataset(chats, tok, seq_len=3 * one, pack=False)) == 10


def test_sft_truncates_long_chats(tok):
    data = SFTDataset([CHAT, CHAT], tok, seq_len=5)
    assert data.truncated == 2 and all(len(r[0]) == 5 for r in data.rows)


def test_sft_batches_deterministic(tok):
    chats = [[{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}] for i in range(20)]
    data = SFTDataset(chats, tok, seq_len=64, pack=False)
    a, b, c = (list(data.batches(4, seed=s)) for s in (0, 0, 1))
    assert len(a) == 5 and all(torch.equal(p[0], q[0]) for p, q in zip(a, b))
    assert not all(torch.equal(p[0], q[0]) for p, q in zip(a, c))
    assert torch.equal(list(data.batches(4, seed=0, start=3))[0][0], a[3][0])
