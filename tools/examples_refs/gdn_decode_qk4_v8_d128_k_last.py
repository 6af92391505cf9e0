import math

import torch
import torch.nn.functional as F


@torch.no_grad()
def run(q, k, v, state, A_log, a, dt_bias, b, scale):
    batch, _, qk_heads, dk = q.shape
    v_heads, dv = v.shape[2], v.shape[3]
    group = v_heads // qk_heads                    # value head h reads q/k head h // group
    dev = q.device
    if scale is None or float(scale) == 0.0:
        scale = 1.0 / math.sqrt(dk)
    scale = float(scale)

    qf = q[:, 0].to(torch.float32).repeat_interleave(group, dim=1)   # [B, Hv, K]
    kf = k[:, 0].to(torch.float32).repeat_interleave(group, dim=1)   # [B, Hv, K]
    vf = v[:, 0].to(torch.float32)                                   # [B, Hv, V]

    # Per-head decay and write strength.
    decay = torch.exp(
        -torch.exp(A_log.to(torch.float32)) * F.softplus(a[:, 0].to(torch.float32) + dt_bias.to(torch.float32))
    )                                                                # [B, Hv]
    beta = torch.sigmoid(b[:, 0].to(torch.float32))                  # [B, Hv]

    if state is None:
        mem = torch.zeros(batch, v_heads, dv, dk, dtype=torch.float32, device=dev)
    else:
        mem = state.to(torch.float32)                                # [B, Hv, V, K] (k-last)

    mem = mem * decay[:, :, None, None]
    recalled = torch.einsum("bhvk,bhk->bhv", mem, kf)                # what the memory returns for k
    target = beta[:, :, None] * vf + (1.0 - beta[:, :, None]) * recalled
    mem = mem + torch.einsum("bhv,bhk->bhvk", target - recalled, kf)  # delta rule write
    out = scale * torch.einsum("bhvk,bhk->bhv", mem, qf)             # read with the updated memory

    return out.unsqueeze(1).to(torch.bfloat16), mem
