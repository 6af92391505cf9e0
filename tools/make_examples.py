#!/usr/bin/env python3
"""Write fibkit's embedded default TraceSet under examples/.

How to rerun (from the repository root, Python 3.8+, standard library only):

    python3 tools/make_examples.py                # rewrite examples/definitions and examples/workloads
    python3 tools/make_examples.py --check        # verify examples/ is up to date and consistent; exit 1 if not
    python3 tools/make_examples.py --dataset DIR  # contest TraceSet to read workload facts from

What comes from where:
- Definitions (descriptions, axes, tensors, constraints, tags) are the Python dicts in this file; each
  `reference` is the text of tools/examples_refs/<definition>.py, embedded verbatim.
- Workloads are built from facts read out of the contest TraceSet at generation time: for each workload,
  in the contest's order, its var-axis values, its scalar values and which inputs are random, scalar or
  safetensors. Everything else is ours: uuids are uuid5(FIBKIT_NAMESPACE, "<definition>/<index>"), and
  safetensors paths are blob/workloads/<op_type>/<def>/<def>_<uuid>.safetensors (those blobs do not exist;
  fibkit synthesises stand-ins). No contest text is copied into examples/.
- The contest TraceSet is looked up in --dataset, then $FIB_DATASET_PATH, then shared/dataset next to or
  inside the repository. Without it, writing workloads is impossible and --check skips the parts that
  compare with the contest (it says so).

--check verifies: the files on disk equal what this script would write (no stray files); each definition
passes the official schema rules (reference parses and has a top-level `def run` whose parameters are the
inputs in order, constraints parse as expressions, every shape entry names an axis, input and output names
do not overlap); the axis/tensor facts (names, order, const values, shapes, dtypes, optional flags) equal
the contest definitions; the workloads carry the contest's axis values, scalar values and input kinds in
the contest's order; and no description or reference line was taken over from the contest files.
"""

import argparse
import ast
import json
import os
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
REFS = REPO / "tools" / "examples_refs"

# Fixed namespace for the example workload uuids (never change it: uuids name the blob files).
FIBKIT_NAMESPACE = uuid.UUID("6f1b0c3e-5a0d-4c1e-9a57-0f1b4b17e2a1")

DTYPES = {"float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2", "float4_e2m1",
          "int64", "int32", "int16", "int8", "bool"}


def const(value, description):
    return {"type": "const", "value": value, "description": description}


def var(description):
    return {"type": "var", "description": description}


def tensor(shape, dtype, description, optional=False):
    spec = {"shape": shape, "dtype": dtype, "description": description}
    if optional:
        spec["optional"] = True
    return spec


MOE = "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048"
DSA_ATTN = "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64"
DSA_INDEXER = "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64"
GDN_DECODE = "gdn_decode_qk4_v8_d128_k_last"
GDN_PREFILL = "gdn_prefill_qk4_v8_d128_k_last"

DEFINITIONS = [
    {
        "name": MOE,
        "description": (
            "Mixture-of-experts FFN of DeepSeek-V3/R1 as seen by one of 8 expert-parallel ranks, with FP8 "
            "(e4m3) activations and weights carrying one float32 scale per 128x128 block. Every token is "
            "routed over all 256 experts: sigmoid of the logits plus a per-expert bias ranks the experts, "
            "the 8 groups of 32 are ranked by the sum of their best two biased scores, the best 4 groups "
            "survive, and the 8 best experts inside them are chosen. The chosen experts are weighted by their "
            "unbiased sigmoid scores, normalised to sum to one over all 8 and multiplied by "
            "routed_scaling_factor. This rank holds the 32 experts starting at local_expert_offset and adds, "
            "for each token, the weighted SwiGLU expert outputs of the chosen experts it holds; tokens with "
            "none of them get zeros."
        ),
        "op_type": "moe",
        "tags": ["status:verified", "model:deepseek-v3", "model:deepseek-r1", "quantization:float8_e4m3fn"],
        "axes": {
            "seq_len": var("Tokens in the batch (T)."),
            "num_experts": const(256, "Routed experts of the whole model; routing ranks all of them."),
            "num_local_experts": const(32, "Experts whose weights live on this rank."),
            "hidden_size": const(7168, "Model width H."),
            "intermediate_size": const(2048, "Expert FFN width I."),
            "gemm1_out_size": const(4096, "Rows of the first expert matrix: up (I rows) then gate (I rows)."),
            "num_hidden_blocks": const(56, "hidden_size split into 128-wide quantisation blocks."),
            "num_intermediate_blocks": const(16, "intermediate_size split into 128-wide quantisation blocks."),
            "num_gemm1_out_blocks": const(32, "gemm1_out_size split into 128-wide quantisation blocks."),
        },
        "constraints": [
            "gemm1_out_size == 2 * intermediate_size",
            "num_hidden_blocks * 128 == hidden_size",
            "num_intermediate_blocks * 128 == intermediate_size",
            "num_gemm1_out_blocks * 128 == gemm1_out_size",
            "num_experts % 8 == 0",
        ],
        "inputs": {
            "routing_logits": tensor(["seq_len", "num_experts"], "float32",
                                     "Router output per token and global expert, before the sigmoid."),
            "routing_bias": tensor(["num_experts"], "bfloat16",
                                   "Per-expert correction added to the sigmoid scores for selection only; "
                                   "it does not enter the mixing weights."),
            "hidden_states": tensor(["seq_len", "hidden_size"], "float8_e4m3fn",
                                    "Token activations, FP8 before scaling."),
            "hidden_states_scale": tensor(["num_hidden_blocks", "seq_len"], "float32",
                                          "Activation scales, block-major: element [j, t] scales columns "
                                          "128*j .. 128*j+127 of token t."),
            "gemm1_weights": tensor(["num_local_experts", "gemm1_out_size", "hidden_size"], "float8_e4m3fn",
                                    "First matrix of each local expert: rows 0..I-1 project to the up branch, "
                                    "rows I..2I-1 to the gate branch that goes through SiLU."),
            "gemm1_weights_scale": tensor(["num_local_experts", "num_gemm1_out_blocks", "num_hidden_blocks"],
                                          "float32",
                                          "Scale of each 128x128 block of gemm1_weights: [e, row block, "
                                          "column block]."),
            "gemm2_weights": tensor(["num_local_experts", "hidden_size", "intermediate_size"], "float8_e4m3fn",
                                    "Second (down) matrix of each local expert."),
            "gemm2_weights_scale": tensor(["num_local_experts", "num_hidden_blocks", "num_intermediate_blocks"],
                                          "float32",
                                          "Scale of each 128x128 block of gemm2_weights: [e, row block, "
                                          "column block]."),
            "local_expert_offset": tensor(None, "int32",
                                          "Global id of local expert 0; local expert e is global expert "
                                          "local_expert_offset + e."),
            "routed_scaling_factor": tensor(None, "float32",
                                            "Factor applied to the normalised mixing weights."),
        },
        "outputs": {
            "output": tensor(["seq_len", "hidden_size"], "bfloat16",
                             "Sum over this rank's chosen experts of mixing weight times expert output."),
        },
    },
    {
        "name": DSA_ATTN,
        "description": (
            "Sparse multi-head latent attention of DeepSeek-V3.2 for decode, 16 heads per GPU (TP=8). Each "
            "query token attends only to the cache rows listed in its sparse_indices row (up to 2048, -1 for "
            "unused entries). A row's key is its 512-wide latent vector followed by its 64-wide rotary part; "
            "its value is the latent vector alone. Scores are scaled by sm_scale and softmaxed over the listed "
            "rows. Besides the attention output, the log-sum-exp of the scaled scores is returned in base 2."
        ),
        "op_type": "dsa_paged",
        "tags": ["status:verified", "model:deepseek-v3.2", "sparse:topk"],
        "axes": {
            "num_tokens": var("Query tokens in the batch."),
            "num_qo_heads": const(16, "Attention heads on this GPU."),
            "head_dim_ckv": const(512, "Width of the compressed latent (no positional encoding) part."),
            "head_dim_kpe": const(64, "Width of the rotary positional part of the key."),
            "page_size": const(64, "Cache rows per page."),
            "topk": const(2048, "Entries per row of sparse_indices."),
            "num_pages": var("Pages in the KV cache."),
        },
        "constraints": [
            "sparse_indices.shape[0] == num_tokens",
            "sparse_indices.shape[-1] == topk",
            "ckv_cache.shape[1] == page_size",
        ],
        "inputs": {
            "q_nope": tensor(["num_tokens", "num_qo_heads", "head_dim_ckv"], "bfloat16",
                             "Query in latent space (already absorbed through the key up-projection)."),
            "q_pe": tensor(["num_tokens", "num_qo_heads", "head_dim_kpe"], "bfloat16",
                           "Rotary part of the query."),
            "ckv_cache": tensor(["num_pages", "page_size", "head_dim_ckv"], "bfloat16",
                                "Paged latent cache; serves as key part and as value."),
            "kpe_cache": tensor(["num_pages", "page_size", "head_dim_kpe"], "bfloat16",
                                "Paged rotary key cache."),
            "sparse_indices": tensor(["num_tokens", "topk"], "int32",
                                     "Cache rows each token attends to, as page * page_size + offset; -1 marks "
                                     "an unused entry (valid entries come first)."),
            "sm_scale": tensor(None, "float32", "Multiplier applied to the raw query-key scores."),
        },
        "outputs": {
            "output": tensor(["num_tokens", "num_qo_heads", "head_dim_ckv"], "bfloat16",
                             "Softmax-weighted sum of the latent vectors of the selected rows."),
            "lse": tensor(["num_tokens", "num_qo_heads"], "float32",
                          "log2 of the sum of exp of the scaled scores (natural log-sum-exp / ln 2)."),
        },
    },
    {
        "name": DSA_INDEXER,
        "description": (
            "Lightning indexer of DeepSeek-V3.2 sparse attention for decode. For each request it scores every "
            "cached token of its sequence with 64 FP8 index heads: the score is the sum over heads of "
            "weights[b, h] * relu(q[b, h] . k_token), where k_token is the FP8 key times its per-token float32 "
            "scale. It returns the cache slots (page * 64 + offset) of the 2048 best-scoring tokens, best "
            "first; a sequence shorter than 2048 returns all of its tokens and fills the rest with -1."
        ),
        "op_type": "dsa_paged",
        "tags": ["stage:indexer", "status:verified", "model:deepseek-v3.2", "sparse:topk", "quant:fp8"],
        "axes": {
            "batch_size": var("Requests being decoded."),
            "num_index_heads": const(64, "Indexer heads."),
            "index_head_dim": const(128, "Width of an indexer head."),
            "page_size": const(64, "Tokens per cache page."),
            "topk": const(2048, "Slots returned per request."),
            "max_num_pages": var("Columns of block_table."),
            "num_pages": var("Pages in the index key cache."),
            "kv_cache_num_heads": const(1, "Key heads in the cache (one, shared by all index heads)."),
            "head_dim_with_scale": const(132, "Bytes per token in the cache: 128 FP8 key bytes plus a 4-byte "
                                              "float32 scale."),
        },
        "constraints": ["topk <= max_num_pages * page_size"],
        "inputs": {
            "q_index_fp8": tensor(["batch_size", "num_index_heads", "index_head_dim"], "float8_e4m3fn",
                                  "Index queries, used without a scale."),
            "k_index_cache_fp8": tensor(["num_pages", "page_size", "kv_cache_num_heads", "head_dim_with_scale"],
                                        "int8",
                                        "Raw bytes of the paged FP8 key cache. The shape is only a view: each "
                                        "page holds the 64 tokens' 128-byte FP8 keys back to back (8192 bytes), "
                                        "followed by their 64 float32 scales (256 bytes)."),
            "weights": tensor(["batch_size", "num_index_heads"], "float32",
                              "Per-request, per-head weight of the relu'd head scores."),
            "seq_lens": tensor(["batch_size"], "int32", "Cached tokens of each request."),
            "block_table": tensor(["batch_size", "max_num_pages"], "int32",
                                  "Cache page of each 64-token block of each request, in sequence order."),
        },
        "outputs": {
            "topk_indices": tensor(["batch_size", "topk"], "int32",
                                   "Cache slots (page * page_size + offset) of the best tokens in descending "
                                   "score order; -1 past the end."),
        },
    },
    {
        "name": GDN_DECODE,
        "description": (
            "Gated DeltaNet recurrence for one new token per sequence (decode), as in the linear-attention "
            "layers of Qwen3-Next split over 4 GPUs: 4 query/key heads shared by 8 value heads (value head h "
            "uses query/key head h // 2). Each value head keeps a 128x128 float32 memory stored value-major, "
            "key index fastest. The step decays the memory by exp(-exp(A_log) * softplus(a + dt_bias)), reads "
            "it with the key, moves the read towards v by sigmoid(b) (delta rule), writes the difference back "
            "along the key, and reads the updated memory with the query times scale."
        ),
        "op_type": "gdn",
        "tags": ["stage:decode", "status:verified", "model:qwen3-next", "layout:k-last"],
        "axes": {
            "batch_size": var("Sequences decoded together."),
            "seq_len": const(1, "New tokens per sequence (decode: one)."),
            "num_q_heads": const(4, "Query heads."),
            "num_k_heads": const(4, "Key heads (as many as query heads)."),
            "num_v_heads": const(8, "Value heads; each memory belongs to one."),
            "head_size": const(128, "Width of every head (key and value)."),
        },
        "constraints": [
            "num_v_heads >= num_q_heads",
            "num_v_heads % num_q_heads == 0",
            "num_k_heads == num_q_heads",
        ],
        "inputs": {
            "q": tensor(["batch_size", "seq_len", "num_q_heads", "head_size"], "bfloat16", "Queries."),
            "k": tensor(["batch_size", "seq_len", "num_k_heads", "head_size"], "bfloat16", "Keys."),
            "v": tensor(["batch_size", "seq_len", "num_v_heads", "head_size"], "bfloat16", "Values."),
            "state": tensor(["batch_size", "num_v_heads", "head_size", "head_size"], "float32",
                            "Memory before this token, indexed [sequence, value head, value dim, key dim]; "
                            "all zeros when absent.", optional=True),
            "A_log": tensor(["num_v_heads"], "float32", "Log of the per-head decay rate."),
            "a": tensor(["batch_size", "seq_len", "num_v_heads"], "bfloat16",
                        "Per-token decay input, added to dt_bias before softplus."),
            "dt_bias": tensor(["num_v_heads"], "float32", "Per-head bias of the decay input."),
            "b": tensor(["batch_size", "seq_len", "num_v_heads"], "bfloat16",
                        "Per-token write-strength logit (beta = sigmoid(b))."),
            "scale": tensor(None, "float32", "Output scale; 0 means 1/sqrt(head_size)."),
        },
        "outputs": {
            "output": tensor(["batch_size", "seq_len", "num_v_heads", "head_size"], "bfloat16",
                             "Updated memory read with the query, times scale."),
            "new_state": tensor(["batch_size", "num_v_heads", "head_size", "head_size"], "float32",
                                "Memory after this token, same layout as state."),
        },
    },
    {
        "name": GDN_PREFILL,
        "description": (
            "Gated DeltaNet recurrence over whole prompts (prefill), same layer and head layout as the decode "
            "definition: 4 query/key heads shared by 8 value heads (value head h uses query/key head h // 2), "
            "one 128x128 float32 memory per sequence and value head, value-major with the key index fastest. "
            "Sequences are packed one after another; sequence i covers tokens cu_seqlens[i] .. "
            "cu_seqlens[i+1]-1 and starts from state[i]. Tokens are processed in order with the decode step "
            "(decay, delta-rule write, read with the updated memory times scale); new_state[i] is the memory "
            "after the sequence's last token, and stays zero for an empty sequence."
        ),
        "op_type": "gdn",
        "tags": ["stage:prefill", "status:verified", "model:qwen3-next", "layout:k-last"],
        "axes": {
            "total_seq_len": var("Tokens of all sequences together."),
            "num_seqs": var("Sequences in the batch."),
            "num_q_heads": const(4, "Query heads."),
            "num_k_heads": const(4, "Key heads (as many as query heads)."),
            "num_v_heads": const(8, "Value heads; each memory belongs to one."),
            "head_size": const(128, "Width of every head (key and value)."),
            "len_cu_seqlens": var("Entries of cu_seqlens (num_seqs + 1)."),
        },
        "constraints": [
            "len_cu_seqlens == num_seqs + 1",
            "total_seq_len == cu_seqlens[-1].item()",
        ],
        "inputs": {
            "q": tensor(["total_seq_len", "num_q_heads", "head_size"], "bfloat16", "Queries."),
            "k": tensor(["total_seq_len", "num_k_heads", "head_size"], "bfloat16", "Keys."),
            "v": tensor(["total_seq_len", "num_v_heads", "head_size"], "bfloat16", "Values."),
            "state": tensor(["num_seqs", "num_v_heads", "head_size", "head_size"], "float32",
                            "Memory before each sequence, indexed [sequence, value head, value dim, key dim]; "
                            "all zeros when absent.", optional=True),
            "A_log": tensor(["num_v_heads"], "float32", "Log of the per-head decay rate."),
            "a": tensor(["total_seq_len", "num_v_heads"], "bfloat16",
                        "Per-token decay input, added to dt_bias before softplus."),
            "dt_bias": tensor(["num_v_heads"], "float32", "Per-head bias of the decay input."),
            "b": tensor(["total_seq_len", "num_v_heads"], "bfloat16",
                        "Per-token write-strength logit (beta = sigmoid(b))."),
            "cu_seqlens": tensor(["len_cu_seqlens"], "int64",
                                 "Start offset of each sequence in the packed tokens, then the total."),
            "scale": tensor(None, "float32", "Output scale; 0 means 1/sqrt(head_size)."),
        },
        "outputs": {
            "output": tensor(["total_seq_len", "num_v_heads", "head_size"], "bfloat16",
                             "Per token: updated memory read with the query, times scale."),
            "new_state": tensor(["num_seqs", "num_v_heads", "head_size", "head_size"], "float32",
                                "Memory after each sequence's last token, same layout as state."),
        },
    },
]

KEY_ORDER = ["name", "description", "op_type", "tags", "axes", "constraints", "inputs", "outputs", "reference"]


# ----------------------------------------------------------------------------------------------------------
# Rendering


def render_definition(spec):
    d = dict(spec)
    d["reference"] = (REFS / (spec["name"] + ".py")).read_text(encoding="utf-8")
    d = {k: d[k] for k in KEY_ORDER}
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"


def workload_uuid(definition, index):
    return str(uuid.uuid5(FIBKIT_NAMESPACE, f"{definition}/{index}"))


def blob_path(op_type, definition, wl_uuid):
    return f"blob/workloads/{op_type}/{definition}/{definition}_{wl_uuid}.safetensors"


def contest_rows(dataset, spec):
    path = dataset / "workloads" / spec["op_type"] / (spec["name"] + ".jsonl")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def workload_facts(row, spec):
    """The facts of one contest workload: var-axis values and, per input, its kind (+ scalar value)."""
    w = row["workload"]
    axes = {name: w["axes"][name] for name in spec["axes"] if name in w["axes"]}
    extra = set(w["axes"]) - set(axes)
    if extra:
        raise SystemExit(f"{spec['name']}: contest workload {w['uuid']} has unknown axes {sorted(extra)}")
    inputs = {}
    for name in spec["inputs"]:
        if name not in w["inputs"]:
            continue  # absent inputs stay absent (generated as random by the framework)
        kind = w["inputs"][name].get("type", "random")
        inputs[name] = ("scalar", w["inputs"][name]["value"]) if kind == "scalar" else (kind,)
    extra = set(w["inputs"]) - set(spec["inputs"])
    if extra:
        raise SystemExit(f"{spec['name']}: contest workload {w['uuid']} has unknown inputs {sorted(extra)}")
    return axes, inputs


def render_workloads(spec, rows):
    lines = []
    for index, row in enumerate(rows):
        axes, facts = workload_facts(row, spec)
        wl_uuid = workload_uuid(spec["name"], index)
        inputs = {}
        for name, fact in facts.items():
            if fact[0] == "random":
                inputs[name] = {"type": "random"}
            elif fact[0] == "scalar":
                inputs[name] = {"type": "scalar", "value": fact[1]}
            elif fact[0] == "safetensors":
                inputs[name] = {"type": "safetensors",
                                "path": blob_path(spec["op_type"], spec["name"], wl_uuid),
                                "tensor_key": name}
            else:
                raise SystemExit(f"{spec['name']}: unknown input kind {fact[0]!r}")
        trace = {"definition": spec["name"],
                 "workload": {"axes": axes, "inputs": inputs, "uuid": wl_uuid},
                 "solution": None, "evaluation": None}
        lines.append(json.dumps(trace, separators=(",", ":"), ensure_ascii=False))
    return "\n".join(lines) + "\n"


def expected_files(dataset):
    """Map relative path -> content; workloads only when the contest dataset is available."""
    files = {}
    for spec in DEFINITIONS:
        files[f"definitions/{spec['op_type']}/{spec['name']}.json"] = render_definition(spec)
        if dataset is not None:
            files[f"workloads/{spec['op_type']}/{spec['name']}.jsonl"] = render_workloads(
                spec, contest_rows(dataset, spec))
    return files


# ----------------------------------------------------------------------------------------------------------
# Checks


def check_schema(d, where):
    """The official Definition validators, plus fibkit's own expectations."""
    errs = []
    if list(d.keys()) != KEY_ORDER:
        errs.append(f"{where}: key order {list(d.keys())}")
    for name, ax in d["axes"].items():
        if ax["type"] == "const":
            if not isinstance(ax["value"], int) or ax["value"] < 0:
                errs.append(f"{where}: axes.{name}: bad const value")
        elif ax["type"] != "var":
            errs.append(f"{where}: axes.{name}: bad type")
        if not ax.get("description"):
            errs.append(f"{where}: axes.{name}: no description")
    for section in ("inputs", "outputs"):
        for name, t in d[section].items():
            if t["dtype"] not in DTYPES:
                errs.append(f"{where}: {section}.{name}: bad dtype {t['dtype']}")
            if not t.get("description"):
                errs.append(f"{where}: {section}.{name}: no description")
            for axis in t["shape"] or []:
                if axis not in d["axes"]:
                    errs.append(f"{where}: {section}.{name}: shape names unknown axis {axis!r}")
    overlap = set(d["inputs"]) & set(d["outputs"])
    if overlap:
        errs.append(f"{where}: names both input and output: {sorted(overlap)}")
    for c in d["constraints"]:
        try:
            ast.parse(c, mode="eval")
        except SyntaxError as e:
            errs.append(f"{where}: constraint {c!r}: {e}")
    try:
        tree = ast.parse(d["reference"])
    except SyntaxError as e:
        errs.append(f"{where}: reference: {e}")
    else:
        runs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run"]
        if not runs:
            errs.append(f"{where}: reference has no top-level def run")
        else:
            params = [a.arg for a in runs[0].args.args]
            if params != list(d["inputs"]):
                errs.append(f"{where}: run{tuple(params)} does not take the inputs in order {list(d['inputs'])}")
    # Every var axis must be inferable from some input shape (the framework needs that to size outputs).
    seen = {a for t in d["inputs"].values() for a in (t["shape"] or [])}
    for name, ax in d["axes"].items():
        if ax["type"] == "var" and name not in seen:
            errs.append(f"{where}: var axis {name} appears in no input shape")
    return errs


def check_facts(d, official, where):
    """Axis/tensor facts equal the contest definition's; descriptions and reference are not the contest's."""
    errs = []
    for key in ("name", "op_type"):
        if d[key] != official[key]:
            errs.append(f"{where}: {key} {d[key]!r} != contest {official[key]!r}")
    strip = lambda ax: {k: v for k, v in ax.items() if k != "description"}  # noqa: E731
    if [(n, strip(a)) for n, a in d["axes"].items()] != [(n, strip(a)) for n, a in official["axes"].items()]:
        errs.append(f"{where}: axes differ from the contest's (names, order, type or value)")
    for section in ("inputs", "outputs"):
        ours = [(n, t["shape"], t["dtype"], bool(t.get("optional"))) for n, t in d[section].items()]
        theirs = [(n, t["shape"], t["dtype"], bool(t.get("optional"))) for n, t in official[section].items()]
        if ours != theirs:
            errs.append(f"{where}: {section} differ from the contest's:\n  ours   {ours}\n  contest {theirs}")
    # Copy guard: prose and code must be our own writing.
    texts = [("description", d.get("description"), official.get("description"))]
    for n in d["axes"]:
        texts.append((f"axes.{n}", d["axes"][n].get("description"), official["axes"].get(n, {}).get("description")))
    for section in ("inputs", "outputs"):
        for n in d[section]:
            texts.append((f"{section}.{n}", d[section][n].get("description"),
                          official[section].get(n, {}).get("description")))
    for what, ours, theirs in texts:
        if ours and theirs and ours.strip().lower() == theirs.strip().lower():
            errs.append(f"{where}: {what}: description is the contest's text")
    theirs_lines = {ln.strip() for ln in official["reference"].splitlines() if len(ln.strip()) >= 40}
    for lineno, ln in enumerate(d["reference"].splitlines(), 1):
        if ln.strip().startswith("def run("):
            continue  # the signature is the interface (input names in order), necessarily the same
        if ln.strip() in theirs_lines:
            errs.append(f"{where}: reference line {lineno} appears verbatim in the contest reference")
    return errs


def check_workloads(text, spec, rows, where):
    """Workload facts equal the contest's (count, order, axes, scalars, input kinds); uuids/paths are ours."""
    errs = []
    ours = [json.loads(line) for line in text.splitlines() if line.strip()]
    if len(ours) != len(rows):
        return [f"{where}: {len(ours)} workloads, contest has {len(rows)}"]
    contest_uuids = {r["workload"]["uuid"].replace("-", "") for r in rows}
    for i, (o, r) in enumerate(zip(ours, rows)):
        w, cw = o["workload"], r["workload"]
        if w["axes"] != cw["axes"]:
            errs.append(f"{where}:{i + 1}: axes {w['axes']} != contest {cw['axes']}")
        if set(w["inputs"]) != set(cw["inputs"]):
            errs.append(f"{where}:{i + 1}: input names differ from the contest's")
        for n, s in w["inputs"].items():
            c = cw["inputs"].get(n, {})
            if s["type"] != c.get("type", "random"):
                errs.append(f"{where}:{i + 1}: {n}: kind {s['type']} != contest {c.get('type')}")
            if s["type"] == "scalar" and (s["value"] != c.get("value") or type(s["value"]) is not type(c.get("value"))):
                errs.append(f"{where}:{i + 1}: {n}: value {s['value']!r} != contest {c.get('value')!r}")
            if s["type"] == "safetensors" and s["path"] != blob_path(spec["op_type"], spec["name"], w["uuid"]):
                errs.append(f"{where}:{i + 1}: {n}: unexpected blob path")
        if w["uuid"].replace("-", "") in contest_uuids:
            errs.append(f"{where}:{i + 1}: uuid is a contest uuid")
        if o["definition"] != spec["name"] or o["solution"] is not None or o["evaluation"] is not None:
            errs.append(f"{where}:{i + 1}: not a workload-only trace of {spec['name']}")
    return errs


def find_dataset(arg):
    if arg:
        candidates = [arg]
    else:
        candidates = [os.environ["FIB_DATASET_PATH"]] if os.environ.get("FIB_DATASET_PATH") else []
        candidates += [REPO / "shared" / "dataset", REPO.parent / "shared" / "dataset"]
    for c in candidates:
        p = Path(c)
        if (p / "definitions").is_dir() and (p / "workloads").is_dir():
            return p
    if arg:
        raise SystemExit(f"--dataset {arg}: not a TraceSet (needs definitions/ and workloads/)")
    return None


def run_check(dataset):
    errs = []
    expected = expected_files(dataset)
    on_disk = {str(p.relative_to(EXAMPLES)): p for sub in ("definitions", "workloads")
               for p in sorted((EXAMPLES / sub).rglob("*")) if p.is_file()}
    for rel, content in expected.items():
        if rel not in on_disk:
            errs.append(f"examples/{rel}: missing")
        elif on_disk[rel].read_text(encoding="utf-8") != content:
            errs.append(f"examples/{rel}: out of date")
    known = set(expected) | {f"workloads/{s['op_type']}/{s['name']}.jsonl" for s in DEFINITIONS}
    for rel in on_disk:
        if rel not in known:
            errs.append(f"examples/{rel}: not written by this script")
    for spec in DEFINITIONS:
        rel = f"definitions/{spec['op_type']}/{spec['name']}.json"
        d = json.loads(expected[rel])
        errs += check_schema(d, f"examples/{rel}")
        if dataset is not None:
            official = json.loads((dataset / rel).read_text(encoding="utf-8"))
            errs += check_facts(d, official, f"examples/{rel}")
            wrel = f"workloads/{spec['op_type']}/{spec['name']}.jsonl"
            errs += check_workloads(expected[wrel], spec, contest_rows(dataset, spec), f"examples/{wrel}")
        elif (EXAMPLES / f"workloads/{spec['op_type']}/{spec['name']}.jsonl").is_file():
            for i, line in enumerate((EXAMPLES / f"workloads/{spec['op_type']}/{spec['name']}.jsonl")
                                     .read_text(encoding="utf-8").splitlines()):
                o = json.loads(line)
                if o["definition"] != spec["name"] or set(o["workload"]["inputs"]) - set(d["inputs"]):
                    errs.append(f"examples/workloads/{spec['op_type']}/{spec['name']}.jsonl:{i + 1}: bad line")
        else:
            errs.append(f"examples/workloads/{spec['op_type']}/{spec['name']}.jsonl: missing")
    for e in errs:
        print(e, file=sys.stderr)
    checked = "definitions and workloads" if dataset is not None else "definitions (no contest dataset: " \
        "workload facts and contest comparison skipped)"
    print(f"make_examples --check: {checked}: {'FAILED, ' + str(len(errs)) + ' problem(s)' if errs else 'ok'}",
          file=sys.stderr)
    return 1 if errs else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="verify examples/ instead of writing it")
    ap.add_argument("--dataset", help="contest TraceSet root (default: $FIB_DATASET_PATH or shared/dataset)")
    args = ap.parse_args()
    dataset = find_dataset(args.dataset)
    if args.check:
        return run_check(dataset)
    if dataset is None:
        raise SystemExit("no contest dataset found (use --dataset or FIB_DATASET_PATH): cannot write workloads")
    for rel, content in sorted(expected_files(dataset).items()):
        path = EXAMPLES / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
            print(f"wrote examples/{rel}", file=sys.stderr)
    return run_check(dataset)


if __name__ == "__main__":
    sys.exit(main())
