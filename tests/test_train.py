"""The training loop in-process: schedules, optimizer groups, accumulation, NaN handling,
router balancing, metrics, checkpoints (tiny preset, a few steps each)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from nanoseek import Transformer
from nanoseek.config import tiny
from nanoseek.train import TrainConfig, TrainingDiverged, train
from nanoseek.train import checkpoint as ckpt
from nanoseek.train.metrics import read_metrics
from nanoseek.train.optim import param_groups
from nanoseek.train.schedule import Schedule



class Synthetic:
    """A resumable loader of random (inputs, labels) batches: labels = inputs shifted by one."""

    def __init__(self, batch_size=4, seq_len=32, vocab=512, seed=0):
        self.b, self.t, self.vocab, self.seed, self.step = batch_size, seq_len, vocab, seed, 0

    def __iter__(self):
        return self

    def __next__(self):
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.step)
        self.step += 1
        # A learnable stream: each row counts up from a random start (mod vocab).
        start = torch.randint(0, self.vocab, (self.b, 1), generator=g)
        seq = (start + torch.arange(self.t + 1)) % self.vocab
        return seq[:, :-1], seq[:, 1:]

    def state_dict(self):
        return {"step": self.step}

    def load_state_dict(self, s):
        self.step = s["step"]


def _model(seed=0, **changes):
    torch.manual_seed(seed)
    return Transformer(tiny().replace(**changes))


def _cfg(**kw):
    # fp32: these tests hold the loop's arithmetic exact (precisions have tests of their own)
    base = dict(steps=4, lr=3e-3, warmup_steps=1, progress=False, peak_flops=1e10, save_every=0, precision="fp32")
    return TrainConfig(**{**base, **kw})


# ---- schedule and optimizer ------------------------------------------------------------------


def test_wsd_schedule_warms_up_holds_then_decays_to_min():
    s = Schedule("wsd", total_steps=100, warmup_steps=10, decay_frac=0.2, min_ratio=0.1)
    assert [s(i) for i in (0, 4, 9)] == [0.1, 0.5, 1.0]
    assert all(s(i) == 1.0 for i in range(10, 80))
    assert s(80) < 1.0 and math.isclose(s(99), 0.1)
    assert all(s(i) >= s(i + 1) for i in range(80, 99))


def test_cosine_schedule_ends_at_min_ratio():
    s = Schedule("cosine", total_steps=50, warmup_steps=5, min_ratio=0.1)
    assert s(4) == 1.0 and s(5) == 1.0 and math.isclose(s(49), 0.1)
    assert all(s(i) >= s(i + 1) for i in range(5, 49))


def test_unknown_schedule_is_rejected():
    with pytest.raises(ValueError, match="schedule must be one of"):
        TrainConfig(schedule="linear")


def test_weight_decay_on_matrices_only_not_norms_or_embedding():
    model = _model()
    decay, no_decay = param_groups(model, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    decayed = {id(p) for p in decay["params"]}
    names = {n for n, p in model.named_parameters() if id(p) in decayed}
    assert "lm_head.weight" in names and "layers.1.mlp.experts.gate_up_proj" in names
    assert "embed_tokens.weight" not in names
    assert not any("norm" in n for n in names)
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


# ---- the loop --------------------------------------------------------------------------------


def test_loss_decreases_and_router_biases_move():
    model = _model()
    result = train(_cfg(steps=12, lr=1e-2), model, Synthetic())
    assert result.step == 12 and result.skipped == 0
    assert sum(result.losses[-3:]) < sum(result.losses[:3])
    biases = [m.gate.e_score_correction_bias for m in model.moe_layers()]
    assert all(b.abs().max() > 0 for b in biases)
    assert all(m.expert_load.sum() == 0 for m in model.moe_layers())  # counters reset each step


def test_mtp_joins_the_loss_at_mtp_start():
    mtp_before = [p.detach().clone() for p in _model().mtp.parameters()]
    never = _model()
    head_before = never.lm_head.weight.detach().clone()
    train(_cfg(steps=2, mtp_start=1.0, lr=1e-2), never, Synthetic())
    assert all(torch.equal(a, b) for a, b in zip(mtp_before, never.mtp.parameters()))
    assert not torch.equal(head_before, never.lm_head.weight)
    late = _model()
    train(_cfg(steps=2, mtp_start=0.5, lr=1e-2), late, Synthetic())  # step 2 trains MTP
    assert not any(torch.equal(a, b) for a, b in zip(mtp_before, late.mtp.parameters()))


def test_mtp_joining_a_compiled_model_compiles_only_the_mtp_part():
    """The speedrun compiles pretraining and turns MTP on late: the body's graph (embedding,
    layers, cross-entropy) must be the one graph of both phases, not compiled again."""
    graphs = []

    def record(gm, example_inputs):  # a backend that keeps each graph's code and runs it as traced
        graphs.append(gm.code)
        return gm.forward

    model = _model()
    compiled = torch.compile(model, backend=record)
    x, y = next(Synthetic())
    model.mtp_in_loss = False
    assert compiled(x, labels=y).mtp.item() == 0.0
    assert sum("layers_modules_0" in code for code in graphs) == 1
    before = len(graphs)
    model.mtp_in_loss = True
    out = compiled(x, labels=y)
    new = graphs[before:]
    assert len(new) == 1 and "mtp_modules_0" in new[0] and "layers_modules_0" not in new[0]
    assert torch.allclose(out.loss, model(x, labels=y).loss, rtol=1e-6) and out.mtp.item() > 1.0


def test_a_second_compiled_trainer_reuses_the_graphs_of_the_first(monkeypatch):
    """SFT after pretraining in one process (the speedrun): pretraining's batches are views
    sliced from [B, T+1], SFT's rows are contiguous, and both must run the same graphs."""
    import functools

    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))  # tracing only

    class Contiguous(Synthetic):
        def __next__(self):
            return tuple(t.contiguous() for t in super().__next__())

    train(_cfg(steps=1, compile=True), _model(), Synthetic())
    graphs = counters["stats"]["unique_graphs"]
    train(_cfg(steps=1, compile=True), _model(seed=1), Contiguous())
    assert graphs > 0 and counters["stats"]["unique_graphs"] == graphs


def test_a_budgeted_compiled_run_compiles_mtp_in_its_first_step(monkeypatch):
    """MTP's graph compiles in the first step, before the budget's plan is fixed (so the plan
    counts its time), and compiling it there leaves no trace in the run's numbers."""
    import functools

    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))  # tracing only
    graphs_at_draw = []

    class Counting(Synthetic):
        def __next__(self):
            graphs_at_draw.append(counters["stats"]["unique_graphs"])
            return super().__next__()

    budgeted = train(_cfg(steps=4, mtp_start=0.5, compile=True, max_seconds=3600), _model(), Counting())
    assert graphs_at_draw[0] < graphs_at_draw[1] == counters["stats"]["unique_graphs"]  # none after step 1
    plain = train(_cfg(steps=4, mtp_start=0.5, compile=True), _model(), Synthetic())  # compiles MTP at step 3
    assert budgeted.losses == plain.losses and budgeted.step == 4


def test_metrics_report_no_mtp_loss_before_mtp_start(tmp_path):
    train(_cfg(steps=4, mtp_start=0.5, save_every=0), _model(), Synthetic(), out_dir=tmp_path)
    mtp = [m["mtp"] for m in read_metrics(tmp_path / ckpt.METRICS_FILE)]
    assert mtp[:2] == [0.0, 0.0] and all(x > 1.0 for x in mtp[2:])


def test_router_bias_gamma_zero_freezes_biases():
    model = _model()
    train(_cfg(steps=2, router_bias_gamma=0.0), model, Synthetic())
    assert all(m.gate.e_score_correction_bias.abs().max() == 0 for m in model.moe_layers())


def test_grad_accumulation_matches_one_big_batch():
    a = train(_cfg(steps=3, grad_accum=2), _model(), Synthetic(batch_size=2))
    big = _BigBatches(Synthetic(batch_size=2))
    b = train(_cfg(steps=3), _model(), big)
    torch.testing.assert_close(torch.tensor(a.losses), torch.tensor(b.losses), rtol=1e-5, atol=1e-6)


class _BigBatches:
    """Two consecutive micro-batches of `inner` as one batch of twice the rows."""

    def __init__(self, inner):
        self.inner = inner

    def __iter__(self):
        return self

    def __next__(self):
        (x1, y1), (x2, y2) = next(self.inner), next(self.inner)
        return torch.cat([x1, x2]), torch.cat([y1, y2])


def _nan_loss_from(step_at: int):
    calls = {"n": 0}

    def loss_fn(model, batch):
        out = model(batch[0], labels=batch[1])
        calls["n"] += 1
        if calls["n"] > step_at:
            out.loss = out.loss * float("nan")
        return out

    return loss_fn


def test_nan_step_is_skipped_with_a_warning_and_weights_unchanged():
    model = _model()
    with pytest.warns(RuntimeWarning, match="skipped the update"):
        result = train(_cfg(steps=3, max_bad_steps=5), model, Synthetic(), loss_fn=_nan_loss_from(2))
    assert result.skipped == 1 and result.step == 3
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_consecutive_nan_steps_abort_with_a_clear_message():
    with pytest.raises(TrainingDiverged, match="3 steps in a row"), pytest.warns(RuntimeWarning):
        train(_cfg(steps=10, max_bad_steps=3), _model(), Synthetic(), loss_fn=_nan_loss_from(1))


# ---- outputs ---------------------------------------------------------------------------------


def test_mfu_is_taken_against_the_peak_of_the_precision_in_use(tmp_path, monkeypatch):
    from nanoseek.train import trainer

    peaks = {torch.float32: 1e10, torch.bfloat16: 4e10}  # a CPU whose bf16 units do 4x fp32
    monkeypatch.setattr(trainer, "measure_peak_flops", lambda device, dtype=torch.float32: peaks[dtype])
    train(_cfg(steps=2, peak_flops=None, precision="bf16"), _model(), Synthetic(), out_dir=tmp_path)
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert all(math.isclose(r["mfu_fp32"], 4 * r["mfu"], rel_tol=1e-12) and r["mfu"] > 0 for r in rows)


def test_metrics_jsonl_has_every_field_per_step(tmp_path):
    train(_cfg(steps=3), _model(), Synthetic(), out_dir=tmp_path)
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3]
    for key in ("loss", "ce", "mtp", "balance", "lr", "grad_norm", "tokens_per_s", "mfu", "mfu_fp32"):
        assert all(math.isfinite(r[key]) for r in rows), key
    assert all(r["mfu"] == r["mfu_fp32"] for r in rows)  # fp32 matmuls: one roof
    n_moe = len(_model().moe_layers())
    assert all(len(r["expert_imbalance"]) == n_moe and min(r["expert_imbalance"]) >= 1.0 for r in rows)
    assert all(len(r["router_bias_min"]) == n_moe for r in rows)
    first = rows[0]
    cfg = tiny()
    assert math.isclose(first["loss"], first["ce"] + cfg.mtp_loss_weight * first["mtp"]
                        + cfg.balance_loss_alpha * first["balance"], rel_tol=1e-5)


def test_checkpoints_keep_last_k_and_final_model_loads(tmp_path):
    model = _model()
    train(_cfg(steps=6, save_every=2, keep_last=2), model, Synthetic(), out_dir=tmp_path)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["step_000004", "step_000006"]
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.name.startswith(".tmp")]
    loaded = Transformer.from_pretrained(tmp_path)
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name  # router biases included


def test_final_checkpoint_loads_in_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    model = _model()
    train(_cfg(steps=2), model, Synthetic(), out_dir=tmp_path)
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    x = torch.randint(0, 512, (1, 16))
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(hf(x).logits, model(x), rtol=1e-4, atol=1e-4)


def test_resume_in_process_is_bit_exact(tmp_path):
    full = train(_cfg(steps=6), _model(), Synthetic())
    first = train(_cfg(steps=6, save_every=3), _model(), _StopAfter(Synthetic(), 3), out_dir=tmp_path)
    assert first.step == 4 and first.interrupted  # the signal came during step 4: it finished, then saved
    rest = train(_cfg(steps=6, save_every=3), _model(seed=123), Synthetic(), out_dir=tmp_path, resume=True)
    assert first.losses + rest.losses == full.losses


def test_resume_falls_back_past_a_corrupted_checkpoint_and_a_torn_metrics_line(tmp_path):
    full = train(_cfg(steps=6), _model(), Synthetic())
    train(_cfg(steps=4, save_every=2, keep_last=3), _model(), Synthetic(), out_dir=tmp_path)
    newest = ckpt.checkpoint_dir(tmp_path, 4) / "model.safetensors"
    newest.write_bytes(newest.read_bytes()[:100])  # torn by a disk fault
    metrics = tmp_path / ckpt.METRICS_FILE
    metrics.write_text(metrics.read_text() + '{"step": 5, "lo')  # a kill in the middle of a line
    with pytest.warns(RuntimeWarning, match="step_000004 cannot be read"):
        rest = train(_cfg(steps=6, save_every=2, keep_last=3), _model(seed=9), Synthetic(), out_dir=tmp_path,
                     resume=True)
    assert rest.losses == full.losses[2:]  # steps 3-6 redone from step 2's checkpoint
    assert [r["step"] for r in read_metrics(metrics)] == [1, 2, 3, 4, 5, 6]
    assert Transformer.from_pretrained(ckpt.checkpoint_dir(tmp_path, 4)) is not None  # rewritten whole


def test_a_damaged_metrics_line_before_the_last_is_an_error(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"st\n{"step": 3}\n')
    with pytest.raises(ValueError, match="metrics.jsonl: line 2 is not JSON"):
        read_metrics(path)


def test_an_output_directory_that_cannot_be_written_is_refused_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ckpt.RunError, match="file/run cannot be written"):
        ckpt.check_out_dir(blocker / "run", {"seed": 0}, resume=False)
    with pytest.raises(ckpt.RunError, match="cannot be written"):
        ckpt.check_writable(blocker)
    ckpt.check_out_dir(tmp_path / "new" / "run", {"seed": 0}, resume=False)  # made later, by the trainer
    assert not (tmp_path / "new").exists()


# ---- the time budget --------------------------------------------------------------------------


def test_planned_steps_fit_the_seconds_left_with_mtp_steps_costing_more():
    from nanoseek.train.budget import planned_steps

    assert planned_steps(100, 0, 30.0, 1.0) == 30
    assert planned_steps(100, 10, 20.0, 1.0) == 30  # the steps done count toward the total
    assert planned_steps(20, 0, 30.0, 1.0) == 20  # never more than configured
    assert planned_steps(100, 7, -5.0, 1.0) == 7  # spent: stop now
    # half the steps without MTP at 1 s, half with it at 2 s: 0.5 N + 2 * 0.5 N <= 30
    assert planned_steps(100, 0, 30.0, 1.0, mtp_start=0.5, mtp_cost=2.0) == 20
    assert planned_steps(100, 0, 30.0, 1.0, mtp_start=0.0, mtp_cost=2.0) == 30  # MTP in the measured steps


def test_schedules_say_which_first_steps_do_not_depend_on_the_total():
    assert Schedule("wsd", 100, warmup_steps=10, decay_frac=0.2).fixed_prefix() == 80
    assert Schedule("cosine", 100, warmup_steps=10).fixed_prefix() == 10
    assert Schedule("constant", 100, warmup_steps=10).fixed_prefix() == math.inf


class _Clock:
    """The budget's clock, advanced by hand: each batch drawn costs `per_batch` seconds (the
    first `first_batch`, where given: a step that compiles)."""

    def __init__(self):
        self.t = 0.0

    def ticking(self, loader, per_batch=1.0, first_batch=None):
        clock, costs = self, iter([first_batch] if first_batch is not None else [])

        class Ticking:
            def __iter__(self):
                return self

            def __next__(self):
                clock.t += next(costs, per_batch)
                return next(loader)

            def state_dict(self):
                return loader.state_dict()

            def load_state_dict(self, s):
                loader.load_state_dict(s)

            def set_run_length(self, steps):  # a curriculum's length, as MixtureStream has
                loader.run_length = steps

        return Ticking()


@pytest.fixture
def clock(monkeypatch):
    from nanoseek.train import budget

    c = _Clock()
    monkeypatch.setattr(budget, "now", lambda: c.t)
    return c


def test_a_budget_plans_fewer_steps_and_still_ends_with_the_decay(clock, tmp_path):
    cfg = _cfg(steps=100, warmup_steps=2, max_seconds=30.0, grad_accum=2)
    loader = Synthetic()
    result = train(cfg, _model(), clock.ticking(loader, per_batch=0.5), out_dir=tmp_path)
    assert result.step == 30  # 1 s a step
    assert loader.run_length == 60  # the loader's curriculum follows the plan, in micro-batches
    planned = Schedule("wsd", 30, 2, cfg.decay_frac, cfg.min_lr_ratio)
    lrs = [r["lr"] for r in read_metrics(tmp_path / "metrics.jsonl")]
    assert lrs == pytest.approx([cfg.lr * planned(i) for i in range(30)], rel=1e-12)
    assert lrs[-1] == pytest.approx(cfg.lr * cfg.min_lr_ratio)


def test_a_budget_keeps_reserved_steps_time_for_the_stages_after(clock):
    cfg = _cfg(steps=100, warmup_steps=2, max_seconds=40.0, reserve_steps=12)
    assert train(cfg, _model(), clock.ticking(Synthetic())).step == 28  # 1 s a step: 40 - 12
    assert train(cfg, _model(), clock.ticking(Synthetic(), per_batch=0.5)).step == 68  # 40 s / 0.5 - 12
    # a first step that compiles is no step's measure: 5 s of it, then 40 - 5 - 12 s of 1 s steps
    assert train(cfg, _model(), clock.ticking(Synthetic(), first_batch=5.0)).step == 24
    with pytest.raises(ValueError, match="reserve_steps"):
        _cfg(reserve_steps=-1)


def test_a_budget_counts_mtp_steps_at_their_flops(clock):
    model = _model()
    cost = model.flops_per_token(model.config.max_position_embeddings) / model.flops_per_token(
        model.config.max_position_embeddings, mtp=False)
    result = train(_cfg(steps=100, warmup_steps=2, max_seconds=30.0, mtp_start=0.5), model,
                   clock.ticking(Synthetic()))
    assert cost > 1.2 and result.step == math.floor(30 / (0.5 + 0.5 * cost))


def test_a_budget_run_resumed_keeps_its_plan_and_its_time(clock, tmp_path):
    cfg = _cfg(steps=100, warmup_steps=2, max_seconds=30.0, save_every=5)
    full = train(cfg, _model(), clock.ticking(Synthetic()))
    clock.t = 0.0
    first = train(cfg, _model(), clock.ticking(_StopAfter(Synthetic(), 25)), out_dir=tmp_path)
    assert first.interrupted and first.step == 26  # in the decay: the plan (30 steps) is fixed
    clock.t = 1000.0  # a later session: only the time the run spent counts
    loader = Synthetic()
    rest = train(cfg, _model(seed=5), clock.ticking(loader), out_dir=tmp_path, resume=True)
    assert rest.step == 30 and first.losses + rest.losses == full.losses
    assert loader.run_length == 30  # told the plan on resuming


def test_a_constant_schedule_under_a_budget_stops_before_passing_it(clock):
    result = train(_cfg(steps=100, schedule="constant", max_seconds=10.5), _model(),
                   clock.ticking(Synthetic(), per_batch=2.0))
    assert result.step == 5  # a sixth 2 s step would end at 12 s


class _StopAfter:
    """Delivers `n` batches, then sends this process SIGTERM while fetching the next (a kill mid-run)."""

    def __init__(self, inner, n):
        self.inner, self.n, self.given = inner, n, 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.given == self.n:
            import os
            import signal

            os.kill(os.getpid(), signal.SIGTERM)  # handled: stop after this step
        self.given += 1
        return next(self.inner)

    def state_dict(self):
        return self.inner.state_dict()

    def load_state_dict(self, s):
        self.inner.load_state_dict(s)
