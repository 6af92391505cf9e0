import math

import torch


@torch.no_grad()
def run(q_nope, q_pe, ckv_cache, kpe_cache, sparse_indices, sm_scale):
    tokens, heads, d_ckv = q_nope.shape
    d_kpe = q_pe.shape[2]
    dev = q_nope.device
    scale = float(sm_scale)

    # Treat the paged caches as one long list of token rows: slot = page * page_size + offset.
    latent = ckv_cache.reshape(-1, d_ckv).to(torch.float32)   # keys (no-PE part) and values
    rope = kpe_cache.reshape(-1, d_kpe).to(torch.float32)     # keys (rotary part)

    out = torch.zeros(tokens, heads, d_ckv, dtype=torch.float32, device=dev)
    lse = torch.full((tokens, heads), float("-inf"), dtype=torch.float32, device=dev)
    for t in range(tokens):
        slots = sparse_indices[t].to(torch.int64)
        slots = slots[slots >= 0]                             # -1 marks an unused entry
        if slots.numel() == 0:
            continue
        k_lat = latent[slots]                                 # [n, d_ckv]
        k_rope = rope[slots]                                  # [n, d_kpe]
        scores = q_nope[t].to(torch.float32) @ k_lat.t()
        scores = scores + q_pe[t].to(torch.float32) @ k_rope.t()
        scores = scores * scale                               # [heads, n]
        lse[t] = torch.logsumexp(scores, dim=1) / math.log(2.0)   # base-2
        out[t] = torch.softmax(scores, dim=1) @ k_lat

    return out.to(torch.bfloat16), lse
