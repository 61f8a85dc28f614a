"""How the engine compiles its steps: torch.compile plus one graph pass of ours.

A decode step is a chain of skinny matmuls, `[rows, K] @ W.T` with rows = tokens in the step,
bound by reading the weights W. The BLAS torch calls for `aten.mm` (MKL) does this badly here:
it reads a one-row product's weights on one core (about 12 GB/s from DRAM on the 2-core machine
we design for, half its bandwidth), and for 2-32 rows it is 1.5-4x slower than oneDNN on the
same CPU. `SkinnyMatmuls` rewrites every weight matmul of a compiled step:

- rows known to be <= MATVEC_MAX_ROWS (batch 1): a multiply and a sum per row, one reduction
  that inductor generates and splits across all threads (about 34 GB/s: the 8192 x 256 output
  head went from 720 to 244 us);
- rows symbolic (larger batches, prompt chunks): `packed_linear`, oneDNN's linear on a copy of W
  prepacked once (repacked when W changes in place): 8 streams +30-40%, 32 streams +20-40%.
"""

from __future__ import annotations

import itertools
import types
import weakref

import torch
from torch._inductor.custom_graph_pass import CustomGraphPass, get_hash_for_files

aten = torch.ops.aten
# Batch 1: plain (1 row) or verifying a draft (2 rows). Larger batches share a dynamic graph.
MATVEC_MAX_ROWS = 2
PACK_BATCH_HINT = 16  # oneDNN lays the packed weights out for about this many rows


class SkinnyMatmuls(CustomGraphPass):
    """Post-grad pass over `mm(a [M, K], b [K, N])`. M <= MATVEC_MAX_ROWS known at compile time:
    `cat([(b.T * a[i]).sum(1)[None] for i])`. M symbolic and b a graph input transposed (a weight,
    as F.linear passes it): `packed_linear(a, b.T)`, where oneDNN is available."""

    def __call__(self, graph: torch.fx.Graph) -> None:
        for node in list(graph.find_nodes(op="call_function", target=aten.mm.default)):
            a, b = node.args
            rows = a.meta["val"].shape[0]
            if isinstance(rows, int) and rows <= MATVEC_MAX_ROWS:
                _replace(graph, node, lambda: _rows_as_reductions(graph, a, b, rows))
            elif not isinstance(rows, int) and _transposed_input(b) and torch.backends.mkldnn.is_available():
                linear = torch.ops.nanoseek.packed_linear.default
                _replace(graph, node, lambda: graph.call_function(linear, (a, b.args[0])))

    def uuid(self) -> bytes:
        # Inductor caches compiled graphs keyed on this: any edit to this file is a new pass.
        return get_hash_for_files((__file__,))


def _replace(graph: torch.fx.Graph, node: torch.fx.Node, build) -> None:
    with graph.inserting_before(node):
        out = build()
    node.replace_all_uses_with(out)
    graph.erase_node(node)


def _transposed_input(b: torch.fx.Node) -> bool:
    """b is W.T for a graph input W [N, K] (a weight, as F.linear writes it)."""
    if b.target == aten.t.default or (b.target == aten.permute.default and list(b.args[1]) == [1, 0]):
        return b.args[0].op == "placeholder"
    return False


def _rows_as_reductions(graph: torch.fx.Graph, a: torch.fx.Node, b: torch.fx.Node, rows: int) -> torch.fx.Node:
    # One reduction per row over the same [N, K] space: inductor fuses them into one loop that
    # reads each weight row once for all rows (a single [M, N, K] reduction reads the whole
    # matrix M times, or picks the M axis to vectorise).
    weights = graph.call_function(aten.permute.default, (b, [1, 0]))  # [N, K]
    sums = []
    for i in range(rows):
        row = graph.call_function(aten.select.int, (a, 0, i))  # [K]
        product = graph.call_function(aten.mul.Tensor, (weights, row))  # [N, K]
        total = graph.call_function(aten.sum.dim_IntList, (product, [1]))  # [N]
        sums.append(graph.call_function(aten.unsqueeze.default, (total, 0)))  # [1, N]
    return graph.call_function(aten.cat.default, (sums,))  # [M, N], row-major like mm's


@torch.library.custom_op("nanoseek::packed_linear", mutates_args=())
def packed_linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x [M, K] @ weight [N, K].T -> [M, N] through oneDNN, on weight prepacked once."""
    return torch.ops.mkldnn._linear_pointwise(x.contiguous(), packed(weight), None, "none", [], "")


@packed_linear.register_fake
def _(x, weight):
    return x.new_empty(x.shape[0], weight.shape[0])


# id(weight) -> (weakref to it, its version when packed, packed copy). Keyed by id, checked by
# reference: tensors compare elementwise, so they cannot be dict keys themselves.
_PACKED: dict[int, tuple[weakref.ref, int, torch.Tensor]] = {}


def packed(weight: torch.Tensor) -> torch.Tensor:
    """weight [N, K] in oneDNN's opaque blocked layout for linear layers, packed on first use and
    again after an in-place change: bf16/fp32 for `_linear_pointwise`, int8 for `qlinear_pointwise`."""
    ref, version, copy = _PACKED.get(id(weight), (None, -1, None))
    if ref is None or ref() is not weight or version != weight._version:  # new, or changed in place
        if weight.dtype == torch.int8:
            copy = torch.ops.onednn.qlinear_prepack(weight, [PACK_BATCH_HINT, weight.shape[1]])
        else:
            copy = torch.ops.mkldnn._reorder_linear_weight(weight, PACK_BATCH_HINT)
        if ref is None or ref() is not weight:
            weakref.finalize(weight, _PACKED.pop, id(weight), None)  # the copy dies with its weight
        _PACKED[id(weight)] = (weakref.ref(weight), weight._version, copy)
    return copy


def packed_bytes(weight: torch.Tensor) -> int:
    """Bytes held by weight's packed copy, 0 if it has none."""
    ref, _, copy = _PACKED.get(id(weight), (None, -1, None))
    return copy.numel() * copy.element_size() if ref is not None and ref() is weight else 0


def compile_step(method, mode: str | None = None):
    """torch.compile a bound decode-step method for the engine (dynamic shapes, one graph).

    Each call compiles a private copy of the method's code: Dynamo caches graphs per code
    object and we skip its guards on modules (the weights never change under an engine;
    checking them costs about 0.5 ms per step at these sizes), so two engines over different
    models must never share a graph."""
    fn = method.__func__
    code = fn.__code__.replace(co_name=f"{fn.__name__}_{next(_step_ids)}")
    private = types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)
    options = {
        "guard_filter_fn": torch.compiler.skip_guard_on_all_nn_modules_unsafe,
        "post_grad_custom_pre_pass": SkinnyMatmuls(),
        # The graph's kernels are called from generated C++ instead of Python: 13% more tokens/s
        # at batch 1 (reference preset), where a step is only ~0.7 ms of work.
        "cpp_wrapper": True,
    }
    # dynamic: batch size and span change from step to step; one graph serves them all (batch 1
    # gets its own: Dynamo specialises sizes 0 and 1, which is what lets the pass see one row).
    compiled = torch.compile(types.MethodType(private, method.__self__), mode=mode, dynamic=True, fullgraph=True,
                             options=options)
    # With dynamic=True Dynamo would also make every float the model holds (norm eps, softmax
    # scale) a graph input, converted to a tensor on each call: ~60 us of a ~600 us step. They
    # never change, so every trace of this step specialises them (the patch costs ~4 us a call).
    return torch._dynamo.config.patch(specialize_float=True)(compiled)


_step_ids = itertools.count()
