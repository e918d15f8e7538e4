"""HDBSCAN on an embedding of the IDF-weighted trait and target tokens (the alternative method)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from attrib.cluster._graph import idf

__all__: list[str] = []


def token_matrix(o: pd.DataFrame, weights: dict[str, float], account_weight: float,
                 cap: int) -> sparse.csr_matrix:  # fmt: skip
    """Rows = origins, columns = ``trait=value`` / ``acct=name`` tokens, IDF-weighted."""
    rows, toks, vals = [], [], []
    n = len(o)
    for c, w in weights.items():
        if c not in o:
            continue
        v = o[c].reset_index(drop=True)
        m = v.notna()
        rows.append(np.flatnonzero(m.to_numpy()))
        toks.append((c + "=" + v[m].astype(str)).to_numpy())
        vals.append(np.full(int(m.sum()), w))
    if "accounts" in o and account_weight > 0:
        s = o["accounts"].reset_index(drop=True).dropna().astype(str).str.split(";").explode()
        rows.append(s.index.to_numpy())
        toks.append(("acct=" + s).to_numpy())
        per = s.groupby(level=0).transform("size").to_numpy(dtype=float)
        vals.append(account_weight / np.sqrt(per))  # the target set counts as one trait
    if not rows:
        return sparse.csr_matrix((n, 0))
    r, tk, wv = np.concatenate(rows), np.concatenate(toks), np.concatenate(vals)
    codes, uniq = pd.factorize(tk)
    df = np.bincount(codes, minlength=len(uniq)).astype(float)
    q = idf(df[codes], n) * wv
    q[(df[codes] < 2) | (df[codes] > cap)] = 0.0
    mat = sparse.csr_matrix((q, (r, codes)), shape=(n, len(uniq)))
    mat.eliminate_zeros()
    return mat


def embed_and_hdbscan(o: pd.DataFrame, weights: dict[str, float], account_weight: float,
                      cap: int, min_cluster_size: int, seed: int | None,
                      epsilon: float = 0.0) -> np.ndarray:  # fmt: skip
    """Labels from HDBSCAN on a truncated-SVD embedding (L2-normalised) of the token matrix."""
    from sklearn.cluster import HDBSCAN
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    mat = token_matrix(o, weights, account_weight, cap)
    labels = np.full(len(o), -1, dtype=np.int64)
    rows = np.flatnonzero(np.asarray(mat.getnnz(axis=1)) > 0)
    if len(rows) < max(min_cluster_size, 3) or mat.shape[1] < 2:
        return labels
    sub = mat[rows]
    k = max(1, min(32, sub.shape[1] - 1, len(rows) - 1))
    emb = TruncatedSVD(n_components=k, random_state=seed).fit_transform(sub)
    emb = normalize(emb)
    # min_samples=2 with excess-of-mass selection: leaf/min_samples=1 shatters campaigns
    hd = HDBSCAN(
        min_cluster_size=max(3, min_cluster_size),
        min_samples=2,
        cluster_selection_epsilon=epsilon,
        copy=True,
    )
    labels[rows] = hd.fit_predict(emb)
    return labels
