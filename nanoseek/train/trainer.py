"""The training loop, shared by pretraining, SFT and GRPO: one function, `train`.

Per optimizer step: `grad_accum` micro-batches forward/backward (DDP syncs gradients only on
the last), clip the gradient norm, skip the update if the loss or gradient is NaN/inf, AdamW
step at the scheduled lr, then the MoE router-bias update from the expert loads the step saw.
That optimizer step is `Trainer.apply_gradients`, which GRPO (a `Trainer` whose step is a
rollout and its policy updates) calls on the losses it computes itself.
Checkpoints every `save_every` steps and when SIGINT/SIGTERM arrives (at the next step
boundary), so a killed run resumes where it stopped: with `resume=True` the loss sequence
equals the uninterrupted run's bit for bit (eager mode, one process). With `max_seconds` the
run trains the steps that fit that wall time, planned from its measured speed (budget.py).

Loss convention: each micro-batch's loss is a mean over its tokens; a step's loss is the mean
of its micro-batches (and of the ranks'): so 2 ranks x 1 micro-batch and 1 rank x 2
micro-batches compute the same update.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions, get_model_state_dict, get_optimizer_state_dict, set_state_dict,
)

from nanoseek.train import checkpoint as ckpt
from nanoseek.train import budget, distributed, int8
from nanoseek.train.metrics import MetricsLog, ProgressDisplay, StepMetrics, expert_stats, measure_peak_flops
from nanoseek.train.optim import build_optimizer
from nanoseek.train.precision import PRECISIONS, autocast, matmul_dtype, resolve_precision
from nanoseek.train.schedule import Schedule

Batch = Any  # what the loader yields; the default loss_fn takes (input_ids [B, T], labels [B, T])
LossFn = Callable[[nn.Module, Batch], Any]  # -> an object with .loss (and optionally .ce, .mtp, .balance)


@dataclass
class TrainConfig:
    steps: int = 200  # optimizer steps in the whole run
    grad_accum: int = 1  # micro-batches per optimizer step (per rank)
    lr: float = 3e-3  # peak learning rate
    schedule: str = "wsd"  # "wsd" | "cosine" | "constant"
    warmup_steps: int = 20
    decay_frac: float = 0.2  # WSD: final share of steps spent decaying
    min_lr_ratio: float = 0.1  # lr at the last step = min_lr_ratio * lr
    weight_decay: float = 0.1  # matrices only (see optim.py)
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    grad_clip: float = 1.0  # max global grad norm; 0 = no clipping
    router_bias_gamma: float = 1e-3  # aux-loss-free balancing step (V3: 0.001); 0 = frozen biases
    compile: bool = False  # torch.compile the forward/backward
    parallel: str = "ddp"  # under torchrun: "ddp" | "fsdp"
    save_every: int = 100  # checkpoint period in steps; 0 = only at the end and on signals
    keep_last: int = 3  # checkpoints kept
    max_bad_steps: int = 5  # consecutive NaN/inf steps before giving up
    log_every: int = 10  # plain-text log period when no progress bar is shown; 0 = no lines
    progress: bool | None = None  # rich bar; None = when stderr is a terminal
    peak_flops: float | None = None  # MFU denominator per process; None = measure at start
    mtp_start: float = 0.0  # share of the steps before the MTP modules join the loss (skipped until then)
    precision: str = "auto"  # "fp32" | "bf16" | "int8" | "auto": bf16 where the device has bf16 units (precision.py)
    max_seconds: float | None = None  # wall-time budget over resumes: fewer steps where they do not fit (budget.py)
    reserve_steps: float = 0.0  # of max_seconds, this many measured steps' time is left for what runs after

    def __post_init__(self) -> None:
        self.betas = tuple(self.betas)
        Schedule(self.schedule, max(1, self.steps))  # validates the kind
        checks = {
            "steps": self.steps >= 1, "grad_accum": self.grad_accum >= 1, "lr": self.lr > 0,
            "warmup_steps": self.warmup_steps >= 0, "decay_frac": 0 <= self.decay_frac <= 1,
            "min_lr_ratio": 0 <= self.min_lr_ratio <= 1, "weight_decay": self.weight_decay >= 0,
            "grad_clip": self.grad_clip >= 0, "router_bias_gamma": self.router_bias_gamma >= 0,
            "save_every": self.save_every >= 0, "keep_last": self.keep_last >= 1,
            "max_bad_steps": self.max_bad_steps >= 1, "log_every": self.log_every >= 0,
            "mtp_start": 0 <= self.mtp_start <= 1, "max_seconds": self.max_seconds is None or self.max_seconds > 0,
            "reserve_steps": self.reserve_steps >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"TrainConfig.{name} is out of range: {getattr(self, name)!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"TrainConfig.precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.parallel not in distributed.PARALLEL_MODES:
            raise ValueError(f"TrainConfig.parallel must be one of {distributed.PARALLEL_MODES}, got {self.parallel!r}")

    def schedule_fn(self, steps: int | None = None) -> Schedule:
        """The lr schedule of a run of `steps` (default: `self.steps`; a budget may plan fewer)."""
        return Schedule(self.schedule, steps or self.steps, self.warmup_steps, self.decay_frac, self.min_lr_ratio)


@dataclass
class TrainResult:
    step: int  # optimizer steps completed, counting any before a resume
    tokens: int  # tokens trained on in this session (all ranks)
    seconds: float  # wall time of this session's steps
    losses: list[float] = field(default_factory=list)  # per step of this session
    skipped: int = 0  # steps whose update was skipped (NaN/inf)
    interrupted: int | None = None  # the signal number that stopped the run early, if any
    checkpoint: Path | None = None  # the last checkpoint written

    def summary(self) -> str:
        last = f"{self.losses[-1]:.4f}" if self.losses else "n/a"
        tps = self.tokens / self.seconds if self.seconds > 0 else 0.0
        state = f"interrupted by signal {self.interrupted}" if self.interrupted else "done"
        return (f"{state}: step {self.step}, final loss {last}, {self.tokens:,} tokens in "
                f"{self.seconds:.1f}s ({tps:,.0f} tok/s), {self.skipped} skipped steps")


class TrainingDiverged(RuntimeError):
    """Too many consecutive steps with a NaN/inf loss or gradient."""


def default_loss_fn(model: nn.Module, batch: Batch):
    input_ids, labels = batch
    return model(input_ids, labels=labels)


def train(
    config: TrainConfig,
    model: nn.Module,
    loader: Iterator[Batch],
    *,
    out_dir: str | Path | None = None,
    tokenizer=None,
    resume: bool = False,
    loss_fn: LossFn = default_loss_fn,
) -> TrainResult:
    """Train `model` (a Transformer, not yet wrapped) for `config.steps` optimizer steps on
    batches from `loader`, checkpointing into `out_dir` (None: no files at all).

    `loader` yields batches of this rank's data; to resume it needs `state_dict()` and
    `load_state_dict()`. Call `distributed.init_distributed()` first under torchrun and shard
    the loader by rank. With `resume=True` the newest checkpoint in `out_dir` is loaded (the
    caller checks there is one). Returns when done or after a signal (see `interrupted`);
    raises TrainingDiverged after `config.max_bad_steps` NaN/inf steps in a row."""
    if resume and (out_dir is None or ckpt.latest_checkpoint(Path(out_dir)) is None):
        raise ckpt.RunError(f"resume: nothing to resume in {out_dir} (no checkpoint there)")
    return Trainer(config, model, loader, out_dir=out_dir, tokenizer=tokenizer, loss_fn=loss_fn).run(resume)


class Trainer:
    """The loop's state, for callers that drive it a step at a time (the throughput benchmark
    times `train_step()`; GRPOTrainer overrides it with a rollout and its policy updates). `run()`
    is what `train` calls."""

    def __init__(self, config: TrainConfig, model: nn.Module, loader: Iterator[Batch], *,
                 out_dir: str | Path | None = None, tokenizer=None, loss_fn: LossFn = default_loss_fn):
        self.config, self.loader, self.tokenizer, self.loss_fn = config, loader, tokenizer, loss_fn
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.info = distributed.current()
        self.model = model.to(self.info.device)
        self.model.train()
        log = print if self.info.is_main else (lambda line: None)
        self.precision = resolve_precision(config.precision, self.info.device, log)
        if self.precision == "int8":
            int8.quantize_linears(self.model)
        # Parameters that get no gradient while MTP waits would stall DDP's reducer.
        self.wrapped = distributed.wrap(self.model, config.parallel, self.info, unused_params=config.mtp_start > 0)
        self.runner = torch.compile(self.wrapped) if config.compile else self.wrapped
        self.optimizer = build_optimizer(self.wrapped, config.lr, config.weight_decay, config.betas, config.eps)
        self.steps = config.steps  # this run's step count: config.steps, or fewer where max_seconds is shorter
        self.schedule = config.schedule_fn()
        self.seconds_before = 0.0  # wall time of the sessions before a resume (the budget counts them)
        self.session_start = budget.now()
        # What a step with MTP costs over one without, by FLOPs: the plan counts the MTP steps
        # ahead at it (they have not run when the plan is made).
        context = model.config.max_position_embeddings
        self.mtp_cost = model.flops_per_token(context) / model.flops_per_token(context, mtp=False)
        self.params = [p for p in self.wrapped.parameters() if p.requires_grad]
        self.step = 0
        self.bad_steps = 0
        self.stop_signal: int | None = None
        self.compile_mtp_ahead = False  # run() decides
        fp32_peak = config.peak_flops or measure_peak_flops(self.info.device)
        self.peak_flops = {"fp32": fp32_peak, "matmul": fp32_peak if config.peak_flops or self.precision == "fp32"
                           else measure_peak_flops(self.info.device, matmul_dtype(self.precision))}

    # ---- the loop -----------------------------------------------------------------------

    def run(self, resume: bool) -> TrainResult:
        cfg, main = self.config, self.info.is_main
        if resume:
            self._resume()
        log = None
        if main and self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            ckpt.remove_stale_temporaries(self.out_dir)
            log = MetricsLog(self.out_dir / ckpt.METRICS_FILE, self.step if resume else None)
        display = ProgressDisplay(self.steps, self.step, cfg.progress if main else False, cfg.log_every) if main else None
        result = TrainResult(step=self.step, tokens=0, seconds=0.0)
        # A budgeted compiled run whose MTP joins later compiles MTP's graph in its first step, so
        # that its compile time (tens of seconds) is spent before the plan is fixed, which counts it.
        self.compile_mtp_ahead = (cfg.compile and cfg.max_seconds is not None and 0 < cfg.mtp_start < 1
                                  and self.step < cfg.mtp_start * self.steps)
        start = time.perf_counter()
        self.session_start, first_step_end = budget.now(), None
        try:
            with self._signals_caught():
                while not self._finished():
                    t0 = time.perf_counter()
                    m = self.train_step()
                    if cfg.max_seconds is not None:
                        first_step_end = budget.now() if first_step_end is None else first_step_end
                        self._plan(len(result.losses) + 1, first_step_end)
                    m.elapsed = round(time.perf_counter() - start, 3)
                    result.seconds += time.perf_counter() - t0
                    result.tokens += m.tokens
                    result.losses.append(m.loss)
                    result.skipped += m.skipped
                    if log:
                        log.write(m)
                    if display:
                        display.update(m, self.steps)
                    stop = self._stop_requested()
                    periodic = cfg.save_every and self.step % cfg.save_every == 0
                    if self.out_dir is not None and (stop or periodic or self._finished()):
                        result.checkpoint = self._save()
                    if stop:
                        result.interrupted = self.stop_signal or signal.SIGTERM
                        break
        finally:
            if display:
                display.close()
            if log:
                log.close()
        result.step = self.step
        if self.out_dir is not None and not result.interrupted:
            self._publish()
        return result

    def train_step(self) -> StepMetrics:
        """One optimizer step (grad_accum micro-batches) and its metrics; writes no files."""
        cfg = self.config
        lr = self.start_step()
        with_mtp = self.step >= cfg.mtp_start * self.steps
        distributed.unwrap(self.wrapped).mtp_in_loss = with_mtp
        t0 = time.perf_counter()
        parts = torch.zeros(4, device=self.info.device)  # loss, ce, mtp, balance summed over micro-batches
        tokens = 0
        for micro in range(cfg.grad_accum):
            batch = _to_device(next(self.loader), self.info.device)
            if self.compile_mtp_ahead:
                self._compile_mtp(batch)
            tokens += batch[0].numel()
            with self._no_sync(micro < cfg.grad_accum - 1):
                with self._autocast():
                    out = self.loss_fn(self.runner, batch)
                (out.loss / cfg.grad_accum).backward()
            parts += torch.stack([out.loss.detach().float()] + [
                getattr(out, name, out.loss.new_zeros(())).detach().float() for name in ("ce", "mtp", "balance")
            ])
        parts /= cfg.grad_accum
        distributed.all_reduce(parts, "avg")
        grad_norm, finite, stats = self.apply_gradients(parts[0])
        self.step += 1
        if self.info.device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        tokens *= self.info.world_size
        seq_len = batch[0].shape[-1]
        flops = distributed.unwrap(self.wrapped).flops_per_token(seq_len, with_mtp) * tokens / seconds
        loss, ce, mtp, balance = parts.tolist()
        return StepMetrics(
            step=self.step, loss=loss, ce=ce, mtp=mtp, balance=balance, lr=lr, grad_norm=grad_norm,
            tokens=tokens, tokens_per_s=tokens / seconds,
            mfu=flops / (self.peak_flops["matmul"] * self.info.world_size),
            mfu_fp32=flops / (self.peak_flops["fp32"] * self.info.world_size),
            elapsed=0.0, skipped=not finite, **stats,
        )

    def _compile_mtp(self, batch: Batch) -> None:
        """Run the loss with MTP in it once on `batch` and discard everything it left (gradients,
        expert loads): only the compiled graph stays."""
        model = distributed.unwrap(self.wrapped)
        model.mtp_in_loss = True
        with self._no_sync(True):
            with self._autocast():
                loss = self.loss_fn(self.runner, batch).loss
            loss.backward()
        model.mtp_in_loss, self.compile_mtp_ahead = False, False
        self.optimizer.zero_grad(set_to_none=True)
        for moe in model.moe_layers():
            moe.expert_load.zero_()

    def _finished(self) -> bool:
        return self.step >= self.steps

    # ---- the time budget ----------------------------------------------------------------

    def _seconds(self) -> float:
        """Wall time this run has spent, earlier sessions included."""
        return self.seconds_before + budget.now() - self.session_start

    def _plan(self, session_steps: int, first_step_end: float) -> None:
        """Re-plan `self.steps` to what fits `max_seconds` at the speed measured so far (the
        mean step of this session after its first, which compiles), unless the next step's lr
        or MTP already depends on the plan (budget.py). Every rank plans from the slowest."""
        cfg = self.config
        if self.step >= min(self.schedule.fixed_prefix(), cfg.mtp_start * self.steps if cfg.mtp_start else math.inf):
            return
        after_first = session_steps - 1
        per_step = (budget.now() - first_step_end) / after_first if after_first else budget.now() - self.session_start
        spent, per_step = distributed.all_reduce(
            torch.tensor([self._seconds(), per_step], dtype=torch.float64, device=self.info.device), "max").tolist()
        # After the first step only, `per_step` is mostly compiling: no measure to reserve steps by yet.
        reserve = cfg.reserve_steps * per_step if after_first else 0.0
        seconds_left = cfg.max_seconds - spent - reserve
        steps = budget.planned_steps(cfg.steps, self.step, seconds_left, per_step, cfg.mtp_start, self.mtp_cost)
        if steps != self.steps:
            self._set_steps(steps)

    def _set_steps(self, steps: int) -> None:
        """Make `steps` the run's length: the lr schedule's, and a loader's whose curriculum reads
        progress against it (`set_run_length`, in micro-batches)."""
        self.steps, self.schedule = steps, self.config.schedule_fn(steps)
        if hasattr(self.loader, "set_run_length"):
            self.loader.set_run_length(steps * self.config.grad_accum)

    # ---- the optimizer step every trainer shares ----------------------------------------

    def start_step(self) -> float:
        """Set the scheduled learning rate of step `self.step` and return it."""
        lr = self.config.lr * self.schedule(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def apply_gradients(self, loss: torch.Tensor) -> tuple[float, bool, dict]:
        """The optimizer step on the gradients the caller's backward passes left: average them
        over ranks (replicate mode; DDP and FSDP did it in the backward), clip, skip the update
        if `loss` (the ranks' mean) or the gradient norm is NaN/inf (TrainingDiverged after
        max_bad_steps in a row), AdamW step, router-bias update from the expert loads seen,
        loads reset, gradients cleared. Returns (grad norm before clipping, whether the update
        was applied, expert stats); advancing `self.step` is the caller's."""
        cfg = self.config
        if cfg.parallel == "replicate":
            distributed.all_reduce_grads(self.params)
        grad_norm = self._clip()
        finite = bool(torch.isfinite(loss)) and math.isfinite(grad_norm)
        stats = self._moe_stats()
        if finite:
            self.optimizer.step()
            if cfg.router_bias_gamma > 0:
                distributed.unwrap(self.wrapped).update_router_bias(cfg.router_bias_gamma)
            self.bad_steps = 0
        else:
            self.bad_steps += 1
            self._warn_bad(loss.item(), grad_norm)
        for moe in distributed.unwrap(self.wrapped).moe_layers():
            moe.expert_load.zero_()  # (a no-op after a bias update; a skipped step forgets its loads)
        self.optimizer.zero_grad(set_to_none=True)
        return grad_norm, finite, stats

    def _autocast(self):
        return autocast(self.precision, self.info.device)

    def _clip(self) -> float:
        max_norm = self.config.grad_clip if self.config.grad_clip > 0 else float("inf")
        norm = torch.nn.utils.clip_grad_norm_(self.params, max_norm)
        if hasattr(norm, "full_tensor"):  # FSDP2: a DTensor
            norm = norm.full_tensor()
        return float(norm)

    def _moe_stats(self) -> dict:
        moes = distributed.unwrap(self.wrapped).moe_layers()
        if not moes:
            return {}
        loads = torch.stack([m.expert_load for m in moes]).clone()  # [L, E]
        distributed.all_reduce(loads)
        # Bias ranges after this step's update would need the update first; these are the
        # biases the step routed with.
        return expert_stats(loads, [m.gate.e_score_correction_bias for m in moes])

    def _warn_bad(self, loss: float, grad_norm: float) -> None:
        what = f"loss {loss}, grad norm {grad_norm}"
        if self.bad_steps >= self.config.max_bad_steps:
            raise TrainingDiverged(
                f"training diverged: {self.bad_steps} steps in a row with a NaN/inf loss or gradient "
                f"(last: {what}) at step {self.step + 1}; lower --lr or resume from an earlier checkpoint")
        if self.info.is_main:
            warnings.warn(f"step {self.step + 1}: skipped the update ({what}); "
                          f"{self.bad_steps}/{self.config.max_bad_steps} in a row", RuntimeWarning, stacklevel=2)

    def _no_sync(self, skip: bool):
        if skip and hasattr(self.wrapped, "no_sync"):  # DDP: sync gradients on the last micro-batch only
            return self.wrapped.no_sync()
        if skip and hasattr(self.wrapped, "set_requires_gradient_sync"):  # FSDP2
            self.wrapped.set_requires_gradient_sync(False)
        elif hasattr(self.wrapped, "set_requires_gradient_sync"):
            self.wrapped.set_requires_gradient_sync(True)
        return contextlib.nullcontext()

    # ---- signals --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _signals_caught(self):
        """SIGINT/SIGTERM finish the current step, checkpoint, and return; a second SIGINT
        stops at once."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            if self.stop_signal is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.stop_signal = signum
            if self.info.is_main:
                print(f"\nsignal {signal.Signals(signum).name}: saving a checkpoint after this step",
                      file=sys.stderr, flush=True)

        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    def _stop_requested(self) -> bool:
        """True on every rank when any rank got a signal (they must checkpoint together)."""
        flag = torch.tensor([float(self.stop_signal or 0)], device=self.info.device)
        distributed.all_reduce(flag, "max")
        if flag.item() and self.stop_signal is None:
            self.stop_signal = int(flag.item())
        return bool(flag.item())

    # ---- checkpoints ----------------------------------------------------------------------

    def _options(self) -> StateDictOptions:
        return StateDictOptions(full_state_dict=True, cpu_offload=self.info.distributed)

    def _save(self) -> Path | None:
        model = self._full_model()
        optim = get_optimizer_state_dict(self.wrapped, self.optimizer, options=self._options())
        path = None
        if self.info.is_main:
            path = ckpt.save_checkpoint(self.out_dir, self.step, model, self._state(optim), self.tokenizer,
                                        self.config.keep_last)
        distributed.barrier()
        return path

    def _state(self, optim: dict) -> dict:
        """What a checkpoint holds beside the weights (GRPO adds its reference model)."""
        return {
            "step": self.step,
            "optimizer": optim,
            "loader": self.loader.state_dict() if hasattr(self.loader, "state_dict") else None,
            "rng": ckpt.rng_state(),
            "bad_steps": self.bad_steps,
            "steps": self.steps,
            "seconds": self._seconds(),
        }

    def _publish(self) -> None:
        model = self._full_model()
        if self.info.is_main:
            ckpt.publish_model(self.out_dir, model, self.tokenizer)
        distributed.barrier()

    def _full_model(self) -> nn.Module:
        """A plain Transformer holding all the weights, for saving (gathers them under FSDP)."""
        model = distributed.unwrap(self.wrapped)
        if self.config.parallel != "fsdp" or not self.info.distributed:
            return model
        full = get_model_state_dict(self.wrapped, options=self._options())
        with torch.device("meta"):
            plain = type(model)(model.config)
        if self.info.is_main:
            plain.load_state_dict(full, assign=True)
        return plain

    def _resume(self) -> None:
        """Load the newest checkpoint that reads intact (a corrupted newest one is skipped
        with a warning: the run redoes its steps rather than failing)."""
        from nanoseek.model.transformer import Transformer

        def read(path: Path) -> tuple[dict, dict]:
            return ckpt.load_state(path), Transformer.from_pretrained(path).state_dict()

        for _, (state, weights) in ckpt.intact_checkpoints(self.out_dir, read):
            self._load(state, weights)
            return
        raise ckpt.RunError(f"resume: no checkpoint in {self.out_dir / ckpt.CHECKPOINTS} can be read")

    def _load(self, state: dict, weights: dict) -> None:
        set_state_dict(self.wrapped, self.optimizer, model_state_dict=weights,
                       optim_state_dict=state["optimizer"], options=StateDictOptions(full_state_dict=True))
        if state["loader"] is not None:
            self.loader.load_state_dict(state["loader"])
        ckpt.set_rng_state(state["rng"])
        self.step, self.bad_steps = state["step"], state["bad_steps"]
        self.seconds_before = state.get("seconds", 0.0)
        if self.config.max_seconds is not None and "steps" in state:  # the plan a budget made
            self._set_steps(min(self.config.steps, state["steps"]))


def _to_device(batch: Batch, device: torch.device) -> Batch:
    """The batch on the device, each tensor contiguous: loaders that slice inputs and labels
    out of one [B, T+1] tensor give strided views, and a compiled step guards on strides, so
    SFT (contiguous rows) would compile pretraining's graphs again."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True).contiguous()
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(b, device) for b in batch)
    return batch
