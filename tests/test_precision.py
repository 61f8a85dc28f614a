"""Training precision: the choice of fp32 / bf16 / int8, and V3's block-scaled int8 GEMMs."""

import copy

import pytest
import torch
from torch import nn

from nanoseek import Transformer
from nanoseek.config import tiny
from nanoseek.model.moe import grouped_matmul
from nanoseek.train import TrainConfig, int8, precision, train
from tests.test_train import Synthetic

# ---- choosing the precision ------------------------------------------------------------------


def test_auto_is_bf16_where_the_hardware_has_bf16_units(monkeypatch):
    monkeypatch.setattr(precision, "has_bf16_units", lambda device: True)
    lines = []
    assert precision.resolve_precision("auto", torch.device("cpu"), lines.append) == "bf16"
    assert lines == []


def test_auto_falls_back_to_fp32_in_one_line_without_bf16_units(monkeypatch):
    monkeypatch.setattr(precision, "has_bf16_units", lambda device: False)
    lines = []
    assert precision.resolve_precision("auto", torch.device("cpu"), lines.append) == "fp32"
    assert len(lines) == 1 and lines[0].startswith("precision: fp32") and "no bf16 units" in lines[0]


def test_a_named_precision_is_kept_and_an_unknown_one_refused():
    assert precision.resolve_precision("int8", torch.device("cpu")) == "int8"
    with pytest.raises(ValueError, match="TrainConfig.precision must be one of"):
        TrainConfig(precision="fp16")


# ---- the block quantizer ---------------------------------------------------------------------


def test_tiles_have_one_scale_per_128_columns_and_round_trip_within_half_a_step():
    torch.manual_seed(0)
    x = torch.randn(3, 300)
    x[1, 130] = 50.0  # an outlier: only its own tile's scale grows
    q, scale = int8.quantize_tiles(x)
    assert q.dtype == torch.int8 and q.shape == (3, 300) and scale.shape == (3, 3)
    tiles = [x[:, :128], x[:, 128:256], x[:, 256:]]
    expected = torch.stack([t.abs().amax(-1) for t in tiles], dim=1) / 127
    torch.testing.assert_close(scale, expected, rtol=0, atol=0)
    assert scale[1, 1] == 50.0 / 127 and scale[1, 0] < 0.05 and scale[1, 2] < 0.05
    per_column = scale.repeat_interleave(128, 1)[:, :300]
    assert ((q.float() * per_column - x).abs() <= per_column / 2 + 1e-6).all()
    assert q.abs().amax() == 127


def test_blocks_have_one_scale_per_128x128_block_including_partial_edges():
    torch.manual_seed(0)
    w = torch.rand(200, 260) * 2 - 1  # |w| < 1, then each block scaled to its own size
    sizes = torch.tensor([[1.0, 2, 3], [4, 5, 6]])
    for i, rows in enumerate([slice(0, 128), slice(128, 200)]):
        for j, cols in enumerate([slice(0, 128), slice(128, 256), slice(256, 260)]):
            w[rows, cols] *= sizes[i, j]
            w[rows.start, cols.start] = -sizes[i, j]  # the block's largest magnitude
    q, scale = int8.quantize_blocks(w)
    assert q.shape == (200, 260) and scale.shape == (2, 3)
    torch.testing.assert_close(scale, sizes / 127, rtol=0, atol=0)
    per_element = scale.repeat_interleave(128, 0)[:200].repeat_interleave(128, 1)[:, :260]
    assert ((q.float() * per_element - w).abs() <= per_element / 2 + 1e-6).all()


@pytest.mark.parametrize("kernel", ["int8", "fp32 fallback"])  # the fallback: shapes CUDA's kernel refuses
@pytest.mark.parametrize("rows", [64, 5])
def test_chunked_int8_products_accumulate_exactly(rows, kernel, monkeypatch):
    if kernel == "fp32 fallback":
        monkeypatch.setattr(int8, "int_mm_takes", lambda a, b: False)
    torch.manual_seed(0)
    a = torch.randint(-127, 128, (rows, 256), dtype=torch.int8)
    b = torch.randint(-127, 128, (256, 40), dtype=torch.int8)
    ones_a, ones_b = torch.ones(rows, 2), torch.ones(2, 40)
    exact = a.double() @ b.double()
    assert torch.equal(int8.tiled_int8_matmul(a, ones_a, b, ones_b).double(), exact)
    # With scales: each 128-chunk's exact integer product times its two scales, summed in fp32.
    sa, sb = torch.rand(rows, 2) + 0.5, torch.rand(2, 40) + 0.5
    chunks = [(a[:, c].double() @ b[c].double()) * sa[:, i : i + 1].double() * sb[i].double()
              for i, c in enumerate([slice(0, 128), slice(128, 256)])]
    error = (int8.tiled_int8_matmul(a, sa, b, sb).double() - (chunks[0] + chunks[1])).abs()
    assert (error <= 3e-7 * (chunks[0].abs() + chunks[1].abs())).all()  # fp32 rounding of each scaled chunk


# ---- int8 linears against fp32 ---------------------------------------------------------------


def _relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.detach() - b.detach()).norm() / b.detach().norm())


def test_int8_linear_forward_and_both_gradients_follow_fp32():
    torch.manual_seed(0)
    x = torch.randn(300, 200, requires_grad=True)
    w = torch.randn(136, 200, requires_grad=True)
    grad = torch.randn(300, 136)
    y = int8.int8_linear(x, w)
    y.backward(grad)
    x_ref, w_ref = x.detach().clone().requires_grad_(), w.detach().clone().requires_grad_()
    y_ref = x_ref @ w_ref.t()
    y_ref.backward(grad)
    # 7-bit operands: about 1% relative error in each GEMM (a transposed or misplaced scale is ~100%).
    assert _relative_error(y, y_ref) < 0.02
    assert _relative_error(x.grad, x_ref.grad) < 0.02
    assert _relative_error(w.grad, w_ref.grad) < 0.02


def test_int8_grouped_matmul_is_one_int8_linear_per_expert():
    torch.manual_seed(0)
    x = torch.randn(100, 64, requires_grad=True)
    w = torch.randn(4, 48, 64, requires_grad=True)
    offsets = torch.tensor([10, 10, 60, 100], dtype=torch.int32)  # expert 1 gets no rows
    y = int8.int8_grouped_matmul(x, w, offsets)
    grad = torch.randn_like(y)
    y.backward(grad)
    for e, rows in [(0, slice(0, 10)), (2, slice(10, 60)), (3, slice(60, 100))]:
        xe, we = x.detach()[rows].clone().requires_grad_(), w.detach()[e].clone().requires_grad_()
        ye = int8.int8_linear(xe, we)
        ye.backward(grad[rows])
        assert torch.equal(y[rows], ye) and torch.equal(x.grad[rows], xe.grad) and torch.equal(w.grad[e], we.grad)
    assert torch.equal(w.grad[1], torch.zeros(48, 64))
    reference = grouped_matmul(x.detach(), w.detach(), offsets)
    assert _relative_error(y.detach(), reference) < 0.02


def test_quantize_linears_keeps_the_head_and_every_parameter():
    torch.manual_seed(0)
    model = Transformer(tiny())
    keys, params = list(model.state_dict()), [id(p) for p in model.parameters()]
    int8.quantize_linears(model)
    assert type(model.lm_head) is nn.Linear
    assert all(type(m) is int8.Int8Linear for n, m in model.named_modules()
               if isinstance(m, nn.Linear) and n != "lm_head")
    assert all(type(m.experts) is int8.Int8RoutedExperts for m in model.moe_layers())
    assert list(model.state_dict()) == keys and [id(p) for p in model.parameters()] == params
    copy.deepcopy(model)  # GRPO copies its policy for the reference model


def test_int8_training_follows_fp32_training():
    def run(name):
        torch.manual_seed(0)
        model = Transformer(tiny())
        config = TrainConfig(steps=12, lr=3e-3, warmup_steps=1, progress=False, peak_flops=1e10, save_every=0,
                             precision=name)
        return train(config, model, Synthetic()).losses, model

    fp32, _ = run("fp32")
    quantized, model = run("int8")
    assert quantized[-1] < quantized[0] - 0.3  # it learns
    assert max(abs(a - b) / b for a, b in zip(quantized, fp32)) < 0.01  # and follows fp32 within 1%
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay fp32
