"""The fused, chunked head + cross-entropy against the plain logits-then-cross-entropy."""

import pytest
import torch
import torch.nn.functional as F

from nanoseek.model.loss import IGNORE_INDEX, linear_cross_entropy


def _plain(h, weight, labels):
    logits = (h @ weight.t()).float()
    total = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX, reduction="sum")
    return total / (labels != IGNORE_INDEX).sum().clamp(min=1)


def _case(seed=0):
    torch.manual_seed(seed)
    h = torch.randn(3, 70, 32, requires_grad=True)
    weight = torch.randn(500, 32, requires_grad=True)
    labels = torch.randint(0, 500, (3, 70))
    labels[0, :40] = IGNORE_INDEX  # a prompt
    labels[2, 65:] = IGNORE_INDEX
    return h, weight, labels


def _grads(fn, h, weight, labels):
    h, weight = h.detach().clone().requires_grad_(), weight.detach().clone().requires_grad_()
    loss = fn(h, weight, labels)
    loss.backward()
    return loss.detach(), h.grad, weight.grad


@pytest.mark.parametrize("chunk", [1024, 64, 7])  # one chunk; chunks that do not divide the 210 rows
def test_fused_loss_and_gradients_equal_the_plain_ones_in_fp32(chunk):
    h, weight, labels = _case()
    fused = _grads(lambda *a: linear_cross_entropy(*a, chunk=chunk), h, weight, labels)
    plain = _grads(_plain, h, weight, labels)
    for a, b in zip(fused, plain):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_under_bf16_autocast_the_matmuls_are_bf16_and_the_result_follows_the_plain_path():
    h, weight, labels = _case(1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fused = _grads(lambda *a: linear_cross_entropy(*a, chunk=64), h, weight, labels)
        plain = _grads(_plain, h, weight, labels)  # autocast makes its matmul bf16 too
    assert fused[0].dtype == torch.float32 and fused[1].dtype == torch.float32
    torch.testing.assert_close(fused[0], plain[0], rtol=1e-3, atol=0)
    for a, b in zip(fused[1:], plain[1:]):
        assert float((a - b).norm() / b.norm()) < 0.02


def test_no_labelled_token_gives_zero_loss_and_zero_gradients():
    h, weight, labels = _case()
    loss, grad_h, grad_w = _grads(linear_cross_entropy, h, weight, torch.full_like(labels, IGNORE_INDEX))
    assert loss.item() == 0.0 and not grad_h.any() and not grad_w.any()


def test_without_gradients_nothing_is_kept():
    h, weight, labels = _case()
    with torch.no_grad():
        loss = linear_cross_entropy(h, weight, labels)
    torch.testing.assert_close(loss, _plain(h, weight, labels).detach(), rtol=1e-5, atol=1e-6)
