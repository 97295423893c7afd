"Careless inputs to the viz layer: saving figures, the attention, geometry and gradient figures, and the three widgets."
import plotly.graph_objects as go
import polars as pl
import torch

from research_kit.viz import (AttentionWidget, EmbeddingWidget, GradientWidget, allocation_figure, attention_data,
                              attention_figure, dpo_figure, embedding_figure, flow_figure, geometry_metrics, gradient_figure,
                              heads_figure, neighbours, project, rollout_figure, save_figure)

from . import Case

G = torch.Generator().manual_seed(0)
A = torch.softmax(torch.randn(3, 2, 5, 5, generator=G), -1)  # [layers, heads, T, T]
A_NAN = A.clone(); A_NAN[1, 0, 2, 3] = float("nan")
TOKENS = ["the", "cat", "sat", "on", "it"]
X = torch.randn(20, 8, generator=G)  # 20 embeddings of 8 dimensions
TEXTS = [f"text {i}" for i in range(20)]
HEADS = pl.DataFrame({"layer": [0, 0, 1, 1], "head": [0, 1, 0, 1], "score": [0.1, float("nan"), 0.3, 0.4]})
FIG = go.Figure(go.Scatter(x=[0, 1], y=[1, 0]))


def _keep(c):
    "Register the shared tensors as inputs whose content must not change."
    for k, v in {"A": A, "A_NAN": A_NAN, "X": X}.items(): c.keep(f"viz-{k}", v)


def _users_page(c):
    "A page of the user's own (not written by research_kit) where a figure is about to be saved."
    _keep(c)
    (c.root / "figs_user").mkdir(exist_ok=True)
    (c.root / "figs_user" / "plot.html").write_text("<html>the user's own page</html>")


def _other_plotlyjs(c):
    "A folder holding a plotly.min.js that is not plotly's bundled copy (another version, or the user's file)."
    _keep(c)
    (c.root / "figs_js").mkdir(exist_ok=True)
    (c.root / "figs_js" / "plotly.min.js").write_text("/* plotly.js 1.58, kept for old pages */")


CASES = [Case(f"viz:{i}", f, e, a, s, prepare=p) for i, f, e, a, s, p in [
    # saving figures: nothing written, nothing replaced
    ("save_figure unknown suffix", lambda c: save_figure(FIG, c.root / "fig.gif"), ValueError, "path", (".html, .png, .svg, .pdf",), _keep),
    ("save_figure no suffix", lambda c: save_figure(FIG, c.root / "figure"), ValueError, "path", (), _keep),
    ("save_figure over a user's file", lambda c: save_figure(FIG, c.root / "figs_user" / "plot.html"), ValueError, "path",
     ("does not exist yet",), _users_page),
    ("save_figure overwrite=True over a user's file", lambda c: save_figure(FIG, c.root / "figs_user" / "plot.html", overwrite=True),
     ValueError, "path", ("not ours to replace",), _users_page),
    ("save_figure beside a different plotly.min.js", lambda c: save_figure(FIG, c.root / "figs_js" / "new.html"), ValueError, "path",
     ("different",), _other_plotlyjs),
    ("save_figure width 0", lambda c: save_figure(FIG, c.root / "f.png", width=0), ValueError, "width", (), _keep),
    ("save_figure scale nan", lambda c: save_figure(FIG, c.root / "f.png", scale=float("nan")), ValueError, "scale", (), _keep),
    ("save_figure not a figure", lambda c: save_figure({"data": []}, c.root / "f.html"), TypeError, "fig", (), _keep),
    # attention
    ("attention_figure NaN attention", lambda c: attention_figure(A_NAN, TOKENS), ValueError, "attentions", ("finite",), _keep),
    ("attention_figure scores not probabilities", lambda c: attention_figure(A * 4 - 1, TOKENS), ValueError, "attentions", ("[0, 1]",), _keep),
    ("attention_figure 3-d attention", lambda c: attention_figure(A[0], TOKENS), ValueError, "attentions", ("4-d",), _keep),
    ("attention_figure layer out of range", lambda c: attention_figure(A, TOKENS, layer=3), ValueError, "layer", ("[-3, 2]",), _keep),
    ("attention_figure head out of range", lambda c: attention_figure(A, TOKENS, head=-3), ValueError, "head", ("[-2, 1]",), _keep),
    ("attention_figure tokens a string", lambda c: attention_figure(A, "the cat sat on it"), TypeError, "tokens", (), _keep),
    ("rollout_figure unknown method", lambda c: rollout_figure(A, TOKENS, method="gradient"), ValueError, "method", ("'rollout'",), _keep),
    ("flow_figure threshold 1.5", lambda c: flow_figure(A, TOKENS, threshold=1.5), ValueError, "threshold", ("[0, 1)",), _keep),
    ("heads_figure NaN score", lambda c: heads_figure(HEADS), ValueError, "scores", ("finite",), _keep),
    ("heads_figure unknown colour scale", lambda c: heads_figure(HEADS.fill_nan(0.0), colorscale="Viridiss"), ValueError, "colorscale", (), _keep),
    ("attention_data empty prompt", lambda c: attention_data(c.tiny("llama")[0], "", c.tiny("llama")[1]), ValueError, "text", (),
     lambda c: (_keep(c), c.tiny("llama"))),
    # geometry
    ("embedding_figure wrong-rank embeddings", lambda c: embedding_figure(X[None]), ValueError, "embeddings", ("2-d",), _keep),
    ("embedding_figure labels of another length", lambda c: embedding_figure(X, labels=[0, 1]), ValueError, "labels", (), _keep),
    ("geometry_metrics no embeddings", lambda c: geometry_metrics({}), ValueError, "embeddings", (), _keep),
    ("project unknown method", lambda c: project(X, "tsne"), ValueError, "method", ("'pca'",), _keep),
    ("neighbours positive out of range", lambda c: neighbours(X[0], X, positives=[20]), ValueError, "positives", ("[0, 19]",), _keep),
    # gradients
    ("allocation_figure tau nan", lambda c: allocation_figure(tau=float("nan")), ValueError, "tau", (), _keep),
    ("allocation_figure unknown loss", lambda c: allocation_figure(losses=("info_nce", "lse_pairs")), ValueError, "losses", ("'lse_pairs'",), _keep),
    ("dpo_figure label_smoothing 0.5", lambda c: dpo_figure(label_smoothing=0.5), ValueError, "label_smoothing", ("[0, 0.5)",), _keep),
    ("gradient_figure unknown option", lambda c: gradient_figure("allocation", temperature=0.1), TypeError, "temperature", (), _keep),
    # widgets
    ("AttentionWidget layer out of range", lambda c: AttentionWidget(A, TOKENS, layer=5), ValueError, "layer", ("[-3, 2]",), _keep),
    ("AttentionWidget unknown view", lambda c: AttentionWidget(A, TOKENS, view="sankey"), ValueError, "view", (), _keep),
    ("EmbeddingWidget texts of another length", lambda c: EmbeddingWidget(X, TEXTS[:5]), ValueError, "texts", ("20 texts",), _keep),
    ("EmbeddingWidget NaN embeddings", lambda c: EmbeddingWidget({"a": X, "b": X * float("nan")}, TEXTS), ValueError, "embeddings['b']", ("finite",), _keep),
    ("GradientWidget unknown view", lambda c: GradientWidget(view="gradients"), ValueError, "view", (), _keep),
]]
