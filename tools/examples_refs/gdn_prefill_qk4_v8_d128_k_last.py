import math

import torch
import torch.nn.functional as F


@torch.no_grad()
def run(q, k, v, state, A_log, a, dt_bias, b, cu_seqlens, scale):
    total, qk_heads, dk = q.shape
    v_heads, dv = v.shape[1], v.shape[2]
    n_seqs = cu_seqlens.shape[0] - 1
    group = v_heads // qk_heads                    # value head h reads q/k head h // group
    dev = q.device
    if scale is None or float(scale) == 0.0:
        scale = 1.0 / math.sqrt(dk)
    scale = float(scale)

    qf = q.to(torch.float32).repeat_interleave(group, dim=1)         # [T, Hv, K]
    kf = k.to(torch.float32).repeat_interleave(group, dim=1)         # [T, Hv, K]
    vf = v.to(torch.float32)                                         # [T, Hv, V]
    decay = torch.exp(
        -torch.exp(A_log.to(torch.float32)) * F.softplus(a.to(torch.float32) + dt_bias.to(torch.float32))
    )                                                                # [T, Hv]
    beta = torch.sigmoid(b.to(torch.float32))                        # [T, Hv]

    out = torch.zeros(total, v_heads, dv, dtype=torch.float32, device=dev)
    final = torch.zeros(n_seqs, v_heads, dv, dk, dtype=torch.float32, device=dev)
    bounds = [int(x) for x in cu_seqlens.tolist()]
    for s in range(n_seqs):
        start, stop = bounds[s], bounds[s + 1]
        if stop <= start:
            continue                                                 # empty sequence: state stays zero
        if state is None:
            mem = torch.zeros(v_heads, dv, dk, dtype=torch.float32, device=dev)
        else:
            mem = state[s].to(torch.float32).clone()                 # [Hv, V, K] (k-last)
        for t in range(start, stop):
            mem = mem * decay[t][:, None, None]
            recalled = torch.einsum("hvk,hk->hv", mem, kf[t])
            target = beta[t][:, None] * vf[t] + (1.0 - beta[t][:, None]) * recalled
            mem = mem + torch.einsum("hv,hk->hvk", target - recalled, kf[t])
            out[t] = scale * torch.einsum("hvk,hk->hv", mem, qf[t])
        final[s] = mem

    return out.to(torch.bfloat16), final
