import torch


@torch.no_grad()
def run(q_index_fp8, k_index_cache_fp8, weights, seq_lens, block_table):
    batch, heads, dim = q_index_fp8.shape
    n_pages, page, _, row_bytes = k_index_cache_fp8.shape
    top = 2048
    dev = q_index_fp8.device

    # Each page is page * row_bytes contiguous bytes: first all page * dim fp8 key bytes
    # (token-major), then page float32 scales, one per token.
    raw = k_index_cache_fp8.contiguous().view(torch.uint8).reshape(n_pages, page * row_bytes)
    key_bytes = raw[:, : page * dim].contiguous()
    scale_bytes = raw[:, page * dim :].contiguous()
    keys = key_bytes.view(torch.float8_e4m3fn).to(torch.float32).reshape(n_pages, page, dim)
    key_scale = scale_bytes.view(torch.float32).reshape(n_pages, page, 1)
    keys = keys * key_scale                                   # [n_pages, page, dim]

    result = torch.full((batch, top), -1, dtype=torch.int32, device=dev)
    for b in range(batch):
        length = int(seq_lens[b])
        if length <= 0:
            continue
        used = (length + page - 1) // page
        pages = block_table[b, :used].to(torch.int64)
        k_seq = keys[pages].reshape(used * page, dim)[:length]            # [L, dim]
        logits = q_index_fp8[b].to(torch.float32) @ k_seq.t()           # [heads, L]
        score = (torch.relu(logits) * weights[b].to(torch.float32).unsqueeze(1)).sum(dim=0)
        take = min(top, length)
        pos = torch.topk(score, take, largest=True, sorted=True).indices  # positions in the sequence
        slot = pages[pos // page] * page + pos % page
        result[b, :take] = slot.to(torch.int32)

    return result
