"""How the engine compiles its decode steps: torch.compile plus one graph pass of ours.

At batch 1 a decode step is a chain of matrix-vector products, bound by reading the weights.
The BLAS behind `aten.mm` runs a one-row product on one core (about 12 GB/s from DRAM on the
2-core machine we design for), so half the machine's memory bandwidth sits idle. Written as a
multiply and a sum, the same product becomes a reduction that inductor generates itself and
splits across every thread (about 34 GB/s there: the 8192 x 256 output head went from 720 to
244 us). `MatvecAsReduction` does that rewrite, only where the row count is statically small.
"""

from __future__ import annotations

import itertools
import types

import torch
from torch._inductor.custom_graph_pass import CustomGraphPass, get_hash_for_files

aten = torch.ops.aten
# Batch 1: plain (1 row) or verifying a draft (2 rows). Larger batches share a dynamic graph,
# where the row count is symbolic and the matmuls stay with the BLAS.
MATVEC_MAX_ROWS = 2


class MatvecAsReduction(CustomGraphPass):
    """Post-grad pass: `mm(a [M, K], b [K, N])` with M <= MATVEC_MAX_ROWS known at compile time
    becomes `cat([(b.T * a[i]).sum(1)[None] for i in range(M)])`: one parallel reduction."""

    def __call__(self, graph: torch.fx.Graph) -> None:
        for node in list(graph.find_nodes(op="call_function", target=aten.mm.default)):
            a, b = node.args
            rows = a.meta["val"].shape[0]
            if not isinstance(rows, int) or rows > MATVEC_MAX_ROWS:  # symbolic: batch size varies
                continue
            # One reduction per row over the same [N, K] space: inductor fuses them into one loop
            # that reads each weight row once for all rows (a single [M, N, K] reduction reads the
            # whole matrix M times, or picks the M axis to vectorise).
            with graph.inserting_before(node):
                weights = graph.call_function(aten.permute.default, (b, [1, 0]))  # [N, K]
                sums = []
                for i in range(rows):
                    row = graph.call_function(aten.select.int, (a, 0, i))  # [K]
                    product = graph.call_function(aten.mul.Tensor, (weights, row))  # [N, K]
                    total = graph.call_function(aten.sum.dim_IntList, (product, [1]))  # [N]
                    sums.append(graph.call_function(aten.unsqueeze.default, (total, 0)))  # [1, N]
                out = graph.call_function(aten.cat.default, (sums,))  # [M, N], row-major like mm's
            node.replace_all_uses_with(out)
            graph.erase_node(node)

    def uuid(self) -> bytes:
        # Inductor caches compiled graphs keyed on this: any edit to this file is a new pass.
        return get_hash_for_files((__file__,))


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
        "post_grad_custom_pre_pass": MatvecAsReduction(),
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
