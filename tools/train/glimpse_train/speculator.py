"""Arctic speculators (arXiv 2404.19124; Snowflake ArcticInference "arctic-speculator", after IBM's MLPSpeculator).

Head i sees a running state (the target's last hidden state for i = 0) and the embedding of the last token
(the target's token for i = 0, the previous head's argmax after that). Both are projected and added with the
paper's weighting, which keeps the state's contribution near constant as the chain gets longer:
    state_weight = 0.5 ** (0.5 / n_predict)
    emb_weight   = sqrt((1 - state_weight**2) * (inner_dim / 2))
    x_i = state_weight * proj_i(state) + emb_weight * emb_i(token)
MLP:  state = GELU(LayerNorm_i(x_i))
LSTM: gates f, i, o, g = split(gate_i(x_i));  c = sigmoid(f) * c_prev + sigmoid(i) * tanh(g)  (c_prev = 0 at head 0)
      state = sigmoid(o) * GELU(LayerNorm_i(c))  -- the cell carries information across heads
Each head has its own LM head: logits_i = head_i(state). Training uses teacher forcing (the true next tokens);
inference (and the ONNX graph) chains argmaxes.

tie_weights (ArcticInference's and IBM fms-extras' option of that name): all heads share one token embedding,
one LM head and one layer norm, and heads 1.. share one state projection (head 0's input is the target's
hidden state, so its projection stays separate; LSTM gates stay per head). The LM heads dominate both size and
run time (n_predict x inner_dim x vocab weights read per call), so tying cuts a call's cost about n_predict-fold
on a CPU, where a small speculator is memory-bound.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class ArcticSpeculator(nn.Module):
    def __init__(self, d_model: int, inner_dim: int, vocab: int, n_predict: int = 3, method: str = "mlp",
                 tie_weights: bool = False):
        super().__init__()
        assert method in ("mlp", "lstm")
        self.d_model, self.inner_dim, self.vocab, self.n_predict, self.method = d_model, inner_dim, vocab, n_predict, method
        self.tie_weights = tie_weights
        self.state_weight = 0.5 ** (0.5 / n_predict)
        self.emb_weight = math.sqrt((1 - self.state_weight ** 2) * (inner_dim / 2))

        def per_head(make, first=None):
            """n_predict modules, or (tied) the same module repeated; `first` gives head 0 its own."""
            if not tie_weights:
                return nn.ModuleList([first() if first and i == 0 else make() for i in range(n_predict)])
            shared = make()
            return nn.ModuleList([first() if first and i == 0 else shared for i in range(n_predict)] if first
                                 else [shared] * n_predict)

        self.emb = per_head(lambda: nn.Embedding(vocab, inner_dim))
        self.proj = per_head(lambda: nn.Linear(inner_dim, inner_dim, bias=False), lambda: nn.Linear(d_model, inner_dim, bias=False))
        self.ln = per_head(lambda: nn.LayerNorm(inner_dim))
        self.head = per_head(lambda: nn.Linear(inner_dim, vocab, bias=False))
        if method == "lstm":
            self.gate = nn.ModuleList([nn.Linear(inner_dim, 4 * inner_dim) for _ in range(n_predict)])
        for e in set(self.emb):
            nn.init.normal_(e.weight, std=1.0 / math.sqrt(inner_dim))  # as in the reference implementation
        for m in set(self.proj) | set(self.head):
            nn.init.normal_(m.weight, std=1.0 / math.sqrt(m.in_features))

    def step(self, i: int, state, token, cell):
        x = self.state_weight * self.proj[i](state) + self.emb_weight * self.emb[i](token)
        if self.method == "mlp":
            state = F.gelu(self.ln[i](x))
        else:
            f, ig, o, g = self.gate[i](x).chunk(4, dim=-1)
            cell = torch.sigmoid(ig) * torch.tanh(g) if cell is None else torch.sigmoid(f) * cell + torch.sigmoid(ig) * torch.tanh(g)
            state = torch.sigmoid(o) * F.gelu(self.ln[i](cell))
        return self.head[i](state), state, cell

    def forward_teacher(self, hidden, tokens):
        """hidden [B, d]; tokens [B, n_predict]: tokens[:, i] is head i's input token. Returns logits [B, n, V]."""
        state, cell, out = hidden, None, []
        for i in range(self.n_predict):
            logits, state, cell = self.step(i, state, tokens[:, i], cell)
            out.append(logits)
        return torch.stack(out, 1)

    def forward(self, hidden_state, last_token):
        """Greedy chain (the exported graph): returns token_ids [B, n] int64 and probs [B, n] float32."""
        state, cell, tok = hidden_state, None, last_token
        ids, probs = [], []
        for i in range(self.n_predict):
            logits, state, cell = self.step(i, state, tok, cell)
            p = torch.softmax(logits, dim=-1)
            pmax, tok = p.max(dim=-1)
            ids.append(tok)
            probs.append(pmax)
        return torch.stack(ids, 1), torch.stack(probs, 1)

    def config(self) -> dict:
        return {
            "architectures": ["ArcticSpeculator"],
            "model_type": "arctic_speculator",
            "method": self.method,
            "n_predict": self.n_predict,
            "inner_dim": self.inner_dim,
            "tie_weights": self.tie_weights,
            "hidden_size": self.d_model,
            "vocab_size": self.vocab,
            "state_weight": self.state_weight,
            "emb_weight": self.emb_weight,
            "activation": "gelu",
            "norm": "layernorm",
            "inputs": {"hidden_state": "[batch, hidden_size] float32: target last_hidden_state (after final norm) at the last accepted position",
                       "last_token": "[batch] int64: the token the target produced from that hidden state"},
            "outputs": {"token_ids": "[batch, n_predict] int64: greedy draft tokens, in order",
                        "probs": "[batch, n_predict] float32: speculator probability of each draft token"},
        }
