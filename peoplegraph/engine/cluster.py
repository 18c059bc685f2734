"""Graph-based clustering of face embeddings: a k-NN similarity graph, Chinese whispers at a strict
threshold, then average-linkage merging of the pieces and attachment of lone faces.

One threshold, `similarity` (s), drives every step: the graph holds candidate links from s - 0.10, the
pieces are made from links of at least s + 0.05, pieces merge while their average link is at least s, and
a face left alone joins the cluster of its nearest face when that link is at least s and its average link
to the cluster at least s - 0.10.

Algorithm
---------
1. **k-NN graph, in bulk.** Embeddings are L2-normalised, so cosine similarity is a dot product. Rows are
   taken in chunks (at most `chunk_rows`, default 4096, and fewer when n is large so that one chunk's
   similarity block stays under `_BLOCK_BYTES`); each chunk is one BLAS matrix product against all n
   faces. In a block, only entries at or above `similarity` can become edges: rows with at most k such
   entries keep all of them (a cheap mask + nonzero, the common case for a large library), rows with more
   keep their k best (by sorting their candidates when these are few compared to n, as for people with
   hundreds of faces; by `np.argpartition` of the whole row when the threshold is far too low). Memory is bounded by chunk x n; there is never one query
   per face. The directed k-NN edges are made undirected (an edge exists when either end has the other
   among its k neighbours), weighted by the cosine similarity.
2. **Chinese whispers** (Biemann 2006; dlib's `chinese_whispers`) with weighted edges. Every face starts
   with its own label; in each iteration the faces, in a seeded random order, adopt the label with the
   largest summed edge weight among their neighbours (ties broken by a seeded random draw). dlib updates
   one node at a time; here the seeded order is cut into `_BATCHES_PER_ITERATION` batches, each updated
   at once with numpy (sort by (node, label), segment sums), then the next batch sees the new labels.
   This semi-synchronous order keeps the behaviour of the sequential algorithm (a fully synchronous update
   can make two linked faces swap labels forever) at numpy speed. It stops after `iterations` passes or
   when a pass changes no label.

3. **Average-linkage merging.** Whispers at the strict threshold split people into pieces but rarely put
   two people together. Pieces linked in the candidate graph merge, best pair first, while the mean
   cosine over all their cross pairs (from per-piece sums: one dot product a pair) is at least s. A small
   look-alike group next to a large one (Jeb and George W. Bush on LFW) stays apart: each Jeb face is close
   to some Bush faces but not to Bush on average, while whispers alone let the larger group outvote it.
4. **Lone faces.** A face still alone joins the cluster of its most similar face when that link is at
   least s and its mean cosine to the cluster is at least s - 0.10 (decided against the clusters of step
   3, so the order of faces does not matter).

On lfw-devtrain's 11,705 SFace faces at s = 0.50 (bench/cluster_compare.py), whispers alone at 0.50 gave
BCubed F 0.990 and pairwise F 0.980 (the Bush brothers merged); these steps give 0.992 and 0.997.

Why not connected components of the thresholded graph: one chain of borderline pairs (a -> b -> c, with a
and c far apart) merges two people, and in a large library such chains always exist. Chinese whispers
lets a densely linked group outvote a thin bridge: a face between two groups joins the one it is most
strongly tied to, so two people joined by a few look-alike faces stay two clusters. It needs no number of
clusters and, like the threshold itself, only one per-model parameter.

Output: labels 0..K-1 by decreasing cluster size (ties: the cluster whose first face comes first), -1 for
faces in clusters smaller than `min_cluster_size`. Deterministic for a given input and seed.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

UNCLUSTERED = -1

# Largest similarity block (chunk rows x n float32) computed at once.
_BLOCK_BYTES = 256 * 1024 * 1024
_BATCHES_PER_ITERATION = 16
# Offsets from the one `similarity` threshold (module docstring): where candidate links start, how much
# stricter the links that make pieces are, how much lower a lone face's mean link to a cluster may be.
CANDIDATE_MARGIN = 0.10
# Up to this many faces the k-NN graph is exact (O(n^2) BLAS, about 40 s at 100k on 2 cores); above, an
# IVF index compares each face with a few percent of the others.
EXACT_LIMIT = 150_000
IVF_PROBES = 16  # lists searched per face, of about 4 sqrt(n)
IVF_TRAINING_PER_LIST = 40  # faces sampled per list to train the k-means
IVF_QUERY_ROWS = 65_536  # faces searched per call (bounds the result arrays)
PAIR_ROWS = 65_536  # faces whose edges `_group_pairs` reads at a time
PAIRS_PER_BLOCK = 16_384  # group pairs whose average link is computed at once (two 8 MB gathers at 128-D)
SPLIT_MARGIN = 0.05
ATTACH_MARGIN = 0.10


class GraphClusterer:
    """Cluster L2-normalised embeddings (scikit-learn estimator shape: `fit_predict`, `labels_`)."""

    def __init__(
        self,
        similarity: float,
        min_cluster_size: int = 2,
        neighbors: int = 30,
        seed: int = 0,
        iterations: int = 50,
        chunk_rows: int = 4096,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        if not -1.0 <= float(similarity) <= 1.0:
            raise ValueError(f"similarity must be in [-1, 1], got {similarity}")
        if min_cluster_size < 1:
            raise ValueError(f"min_cluster_size must be >= 1, got {min_cluster_size}")
        if neighbors < 1:
            raise ValueError(f"neighbors must be >= 1, got {neighbors}")
        if iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {iterations}")
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        self.similarity = float(similarity)
        self.min_cluster_size = int(min_cluster_size)
        self.neighbors = int(neighbors)
        self.seed = int(seed)
        self.iterations = int(iterations)
        self.chunk_rows = int(chunk_rows)
        self.progress = progress  # (faces whose neighbours are found, faces): the k-NN graph is most of the time
        self.labels_: np.ndarray | None = None
        self.graph_: sp.csr_matrix | None = None
        self.n_iter_: int = 0

    def get_params(self, deep: bool = True) -> dict:
        return {
            "similarity": self.similarity, "min_cluster_size": self.min_cluster_size, "neighbors": self.neighbors,
            "seed": self.seed, "iterations": self.iterations, "chunk_rows": self.chunk_rows,
        }

    def fit(self, embeddings: np.ndarray) -> GraphClusterer:
        self.fit_predict(embeddings)
        return self

    def fit_predict(self, embeddings: np.ndarray) -> np.ndarray:
        x = validate_embeddings(embeddings)
        n = x.shape[0]
        if n == 0:
            self.labels_ = np.zeros(0, dtype=np.int64)
            self.graph_ = sp.csr_matrix((0, 0), dtype=np.float32)
            return self.labels_
        s = self.similarity
        graph = knn_graph(x, self.neighbors, max(-1.0, s - CANDIDATE_MARGIN), self.chunk_rows,
                          progress=self.progress)
        pieces, self.n_iter_ = chinese_whispers(at_least(graph, min(1.0, s + SPLIT_MARGIN)), self.iterations,
                                                self.seed)
        merged = merge_by_average_linkage(x, pieces, graph, s)
        joined = attach_lone_faces(x, merged, graph, s, s - ATTACH_MARGIN)
        self.graph_ = graph
        self.labels_ = relabel_by_size(joined, self.min_cluster_size)
        return self.labels_


def validate_embeddings(embeddings: np.ndarray) -> np.ndarray:
    x = np.asarray(embeddings)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array (n, d), got shape {x.shape}")
    if x.shape[0] and x.shape[1] == 0:
        raise ValueError("embeddings have zero dimensions")
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"embeddings must be numeric, got {x.dtype}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.size and not np.isfinite(x).all():
        raise ValueError("embeddings contain NaN or infinite values")
    return x


def knn_graph(x: np.ndarray, neighbors: int, similarity: float, chunk_rows: int = 4096,
              exact_limit: int | None = None, progress: Callable[[int, int], None] | None = None) -> sp.csr_matrix:
    """Symmetric sparse graph: i-j linked (weight = cosine) when one is among the other's `neighbors` most
    similar faces and the similarity is >= `similarity`. No self loops. Exact up to `exact_limit` faces,
    approximate (faiss IVF) above. `progress(done, n)` after each block of faces."""
    progress = progress or (lambda done, total: None)
    n = x.shape[0]
    k = min(neighbors, n - 1)
    if k <= 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    if n > (EXACT_LIMIT if exact_limit is None else exact_limit):
        directed = _approximate_neighbours(x, k, similarity, progress)
    else:
        rows, cols, sims = _exact_neighbours(x, k, similarity, chunk_rows, progress)
        directed = sp.csr_matrix((sims, (rows, cols)), shape=(n, n), dtype=np.float32)
        del rows, cols, sims
    graph = directed.maximum(directed.T).tocsr()  # either direction; cosine is symmetric
    graph.sum_duplicates()
    graph.sort_indices()
    return graph


def _approximate_neighbours(x: np.ndarray, k: int, similarity: float,
                            progress: Callable[[int, int], None]) -> sp.csr_matrix:
    """The k nearest of every face by an inverted-file index (faiss IVF-Flat, inner product): the faces are
    split into about 4 sqrt(n) lists by k-means, and each face is compared with the faces of the
    `IVF_PROBES` lists nearest to it, not with all n. Pairs under `similarity` are dropped. Written as the
    rows of a sparse matrix block by block (32-bit columns, no row array: at a million faces the pairs as
    64-bit arrays took 0.3 GB more while the index, itself a copy of every embedding, was alive)."""
    try:
        import faiss
    except ImportError:
        raise RuntimeError(f"clustering {len(x)} faces needs faiss for its k-NN graph: pip install faiss-cpu") from None
    n, dim = x.shape
    lists = int(4 * np.sqrt(n))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(n, min(n, lists * IVF_TRAINING_PER_LIST), replace=False)
    index.train(x[np.sort(sample)])
    index.add(x)
    index.nprobe = IVF_PROBES
    counts = np.zeros(n, np.int64)
    cols_out, sims_out = [], []
    for start in range(0, n, IVF_QUERY_ROWS):
        found_sims, found = index.search(x[start:start + IVF_QUERY_ROWS], k + 1)  # +1: the face itself
        own = np.arange(start, start + len(found))[:, None]
        keep = (found >= 0) & (found != own) & (found_sims >= similarity)
        counts[start:start + len(found)] = keep.sum(axis=1)
        cols_out.append(found[keep].astype(np.int32))  # row by row, in each row best first
        sims_out.append(found_sims[keep])
        progress(start + len(found), n)
    del index, quantizer  # a copy of every embedding: gone before the graph is built
    indptr = np.concatenate([[0], np.cumsum(counts)])
    cols, sims = np.concatenate(cols_out), np.concatenate(sims_out)
    del cols_out, sims_out
    directed = sp.csr_matrix((sims, cols, indptr), shape=(n, n))
    directed.sort_indices()  # in place: each row's columns in order, as the sparse operations after expect
    return directed


def _exact_neighbours(x: np.ndarray, k: int, similarity: float, chunk_rows: int,
                      progress: Callable[[int, int], None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k nearest of every face above `similarity`, exactly: one BLAS product per chunk of rows."""
    n = x.shape[0]
    chunk = max(1, min(chunk_rows, _BLOCK_BYTES // (4 * n)))
    threshold = np.float32(similarity)
    # Buffers reused across chunks: fresh 100+ MB arrays per chunk cost as much in page faults as the product.
    block_buf = np.empty((chunk, n), dtype=np.float32)
    mask_buf = np.zeros(-(-chunk * n // 8) * 8, dtype=np.uint8)  # whole 8-byte words, for the word scan
    rows_out, cols_out, sims_out = [], [], []
    for start in range(0, n, chunk):
        progress(start, n)
        stop = min(n, start + chunk)
        c = stop - start
        block = block_buf[:c]
        np.matmul(x[start:stop], x.T, out=block)  # (c, n) cosine similarities, BLAS
        local = np.arange(c)
        block[local, start + local] = -np.inf  # no self edges
        mask_buf[c * n:] = 0
        np.greater_equal(block, threshold, out=mask_buf[: c * n].reshape(c, n).view(np.bool_))
        # entries above the threshold are few: find the non-zero 8-byte words first, then the bytes in them
        words = np.flatnonzero(mask_buf.view(np.uint64))
        word_i, byte_j = np.nonzero(mask_buf.reshape(-1, 8)[words])
        flat = words[word_i] * 8 + byte_j
        r, col = np.divmod(flat, n)
        sims = block.reshape(-1)[flat]
        counts = np.bincount(r, minlength=c)
        heavy_rows = counts > k
        if not heavy_rows.any():
            rows_out.append(r + start)
            cols_out.append(col)
            sims_out.append(sims)
            continue
        heavy = np.flatnonzero(heavy_rows)
        in_heavy = heavy_rows[r]
        rows_out.append(r[~in_heavy] + start)
        cols_out.append(col[~in_heavy])
        sims_out.append(sims[~in_heavy])
        # rows with more than k candidates keep their k best: sort the candidates when they are a small part
        # of those rows (people with hundreds of faces), else argpartition whole rows (a too-low threshold)
        if int(counts[heavy].sum()) * 16 <= heavy.size * n:
            hr, hc, hs = r[in_heavy], col[in_heavy], sims[in_heavy]
            order = np.argsort(hr * 4.0 - hs)  # by row, then decreasing similarity (|hs| <= 1)
            hr, hc, hs = hr[order], hc[order], hs[order]
            first = np.searchsorted(hr, hr, side="left")
            keep = np.arange(hr.size) - first < k
            rows_out.append(hr[keep] + start)
            cols_out.append(hc[keep])
            sims_out.append(hs[keep])
        else:
            sub = block[heavy]
            top = np.argpartition(sub, n - k, axis=1)[:, -k:]
            rows_out.append(np.repeat(heavy + start, k))
            cols_out.append(top.ravel())
            sims_out.append(np.take_along_axis(sub, top, axis=1).ravel())  # all >= threshold
    del block_buf, mask_buf
    progress(n, n)
    return (np.concatenate(rows_out).astype(np.int64), np.concatenate(cols_out).astype(np.int64),
            np.concatenate(sims_out).astype(np.float32))


def at_least(graph: sp.csr_matrix, similarity: float) -> sp.csr_matrix:
    """The edges of `graph` with weight >= `similarity` (a k-NN graph at a higher threshold: the k nearest do
    not depend on the threshold)."""
    kept = graph.copy()
    kept.data[kept.data < np.float32(similarity)] = 0
    kept.eliminate_zeros()
    return kept


def merge_by_average_linkage(x: np.ndarray, labels: np.ndarray, graph: sp.csr_matrix, threshold: float) -> np.ndarray:
    """Merge groups of faces linked in `graph`, best pair first, while their average link (mean cosine over
    all cross pairs) is at least `threshold`. Returns a group id per face (not compacted).

    Memory follows the merges, not the graph (a million faces): the links between groups are kept as one
    sparse matrix and become a set only for the groups that merge (their neighbours' sets are read from it
    when they merge in turn: a set for every neighbour took 0.4 GB at a million faces), and the queue starts
    with the pairs at or above `threshold` only (a pair below it is never merged before something above it,
    and a merge computes its new pairs afresh)."""
    _, group = np.unique(labels, return_inverse=True)
    group = group.ravel()
    count = int(group.max()) + 1 if group.size else 0
    sums = _group_sums(x, group, count)
    sizes = np.bincount(group, minlength=count).astype(np.float64)
    keys = _group_pairs(graph, group, count)
    first, second = (keys // count).astype(np.int32), (keys % count).astype(np.int32)
    links = sp.csr_matrix((np.ones(2 * keys.size, np.int8), (np.concatenate([first, second]),
                                                             np.concatenate([second, first]))), shape=(count, count))
    parent = np.arange(count)
    version = np.zeros(count, np.int64)

    def root(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = int(parent[g])
        return g

    touched: dict[int, set[int]] = {}

    def neighbours(g: int) -> set[int]:
        """The groups now linked to group `g` (a root)."""
        found = touched.get(g)
        if found is None:
            found = {root(int(t)) for t in links.indices[links.indptr[g]:links.indptr[g + 1]]} - {g}
            touched[g] = found
        return found

    def average(i: int, j: int) -> float:
        return float(sums[i] @ sums[j] / (sizes[i] * sizes[j]))

    # The pairs linked from the start, best first, as arrays (16 bytes a pair: as heap tuples they took about
    # 220, half a gigabyte at a million faces); the pairs merges make go into a heap beside them, and each
    # step takes the better of the two heads, so the order is the one a single heap gives.
    initial = [], [], []
    for start in range(0, keys.size, PAIRS_PER_BLOCK):
        i, j = first[start:start + PAIRS_PER_BLOCK], second[start:start + PAIRS_PER_BLOCK]
        linked = np.einsum("ij,ij->i", sums[i], sums[j]) / (sizes[i] * sizes[j])
        above = linked >= threshold
        for column, values in zip(initial, (-linked[above], i[above], j[above])):
            column.append(values)
    del keys, first, second
    negatives, lows, highs = (np.concatenate(c) if c else np.zeros(0) for c in initial)
    order = np.lexsort((highs, lows, negatives))
    negatives, lows, highs = negatives[order], lows[order], highs[order]
    del initial, order
    heap: list[tuple[float, int, int, int, int]] = []
    at = 0
    while at < negatives.size or heap:
        head = (float(negatives[at]), int(lows[at]), int(highs[at]), 0, 0) if at < negatives.size else None
        if head is not None and (not heap or head < heap[0]):
            negative, i, j, seen_i, seen_j = head
            at += 1
        else:
            negative, i, j, seen_i, seen_j = heapq.heappop(heap)
        if -negative < threshold:
            break
        if parent[i] != i or parent[j] != j or version[i] != seen_i or version[j] != seen_j:
            continue  # a stale entry: one side has merged or grown since
        around = (neighbours(i) | neighbours(j)) - {i, j}
        parent[j] = i
        sums[i] += sums[j]
        sizes[i] += sizes[j]
        version[i] += 1
        touched.pop(j, None)
        touched[i] = around
        for t in around:
            theirs = touched.get(t)  # a group not yet read from `links` reads j as i through `root` later
            if theirs is not None:
                theirs.discard(j)
                theirs.add(i)
            low, high = min(i, t), max(i, t)
            heapq.heappush(heap, (-average(low, high), low, high, version[low], version[high]))
    return _roots(parent)[group]


def _group_pairs(graph: sp.csr_matrix, group: np.ndarray, count: int) -> np.ndarray:
    """The pairs of groups (lower * count + higher, sorted, each once) the graph's edges join, read a block of
    rows at a time: the edges of a million faces at once, as int64 pairs, took about 0.5 GB more."""
    blocks = []
    for start in range(0, graph.shape[0], PAIR_ROWS):
        rows = graph[start:start + PAIR_ROWS]
        a = np.repeat(group[start:start + rows.shape[0]], np.diff(rows.indptr)).astype(np.int64)
        b = group[rows.indices]
        forward = a < b
        blocks.append(np.unique(a[forward] * count + b[forward]))
    return np.unique(np.concatenate(blocks)) if blocks else np.zeros(0, np.int64)


def attach_lone_faces(x: np.ndarray, labels: np.ndarray, graph: sp.csr_matrix, link: float,
                      average: float) -> np.ndarray:
    """A face alone in its group joins the group of its most similar face when that link is >= `link` and
    its mean cosine to that group is >= `average`; decided against the groups as given."""
    labels = np.asarray(labels, np.int64)
    _, group = np.unique(labels, return_inverse=True)
    group = group.ravel()
    sizes = np.bincount(group)
    sums = _group_sums(x, group, sizes.size)
    out = labels.copy()
    for face in np.flatnonzero(sizes[group] == 1):
        start, stop = graph.indptr[face], graph.indptr[face + 1]
        if start == stop:
            continue
        best = start + int(np.argmax(graph.data[start:stop]))
        target = group[graph.indices[best]]
        if graph.data[best] >= link and sizes[target] >= 2 and x[face] @ sums[target] / sizes[target] >= average:
            out[face] = labels[graph.indices[best]]
    return out


def assign_to_clusters(new: np.ndarray, clustered: np.ndarray, labels: np.ndarray, link: float, average: float,
                       chunk_rows: int = 4096) -> np.ndarray:
    """For faces `new`, the label of the existing cluster each joins, or -1: a face joins the cluster of its
    most similar clustered face when that link is >= `link` and its mean cosine to that cluster is >=
    `average` (the lone-face rule of `attach_lone_faces`, against clusters that already exist)."""
    labels = np.asarray(labels, np.int64)
    out = np.full(len(new), UNCLUSTERED, np.int64)
    if not len(new) or not len(clustered):
        return out
    _, group = np.unique(labels, return_inverse=True)
    group = group.ravel()
    sizes = np.bincount(group)
    sums = _group_sums(clustered, group, sizes.size)
    for start in range(0, len(new), chunk_rows):
        block = new[start:start + chunk_rows] @ clustered.T
        nearest = np.argmax(block, axis=1)
        best = block[np.arange(len(block)), nearest]
        target = group[nearest]
        mean = np.einsum("ij,ij->i", new[start:start + chunk_rows], sums[target]) / sizes[target]
        joins = (best >= link) & (mean >= average)
        out[start:start + len(block)][joins] = labels[nearest[joins]]
    return out


def _group_sums(x: np.ndarray, group: np.ndarray, count: int) -> np.ndarray:
    """The sum of the rows of each group, as one sparse product (no copy of x) in float32: for a million
    faces half the memory of float64, and the mean cosines made from these sums differ by about 1e-6."""
    members = sp.csr_matrix((np.ones(len(group), np.float32), (group, np.arange(len(group)))),
                            shape=(count, len(group)))
    return np.asarray(members @ x, dtype=np.float32)


def _roots(parent: np.ndarray) -> np.ndarray:
    """The union-find root of every element (pointer jumping until nothing changes)."""
    roots = parent.copy()
    while True:
        nxt = roots[roots]
        if np.array_equal(nxt, roots):
            return roots
        roots = nxt


def chinese_whispers(graph: sp.csr_matrix, iterations: int = 50, seed: int = 0) -> tuple[np.ndarray, int]:
    """Weighted Chinese whispers on a symmetric CSR graph; returns (raw labels, passes run)."""
    n = graph.shape[0]
    labels = np.arange(n, dtype=np.int64)
    indptr = graph.indptr.astype(np.int64)
    indices = graph.indices.astype(np.int64)
    weights = graph.data.astype(np.float64)
    degree = np.diff(indptr)
    active = np.flatnonzero(degree > 0)
    if active.size == 0:
        return labels, 0
    rng = np.random.default_rng(seed)
    batch = max(1, -(-active.size // _BATCHES_PER_ITERATION))
    passes = 0
    for _ in range(iterations):
        passes += 1
        order = rng.permutation(active)
        changed = 0
        for b0 in range(0, order.size, batch):
            nodes = order[b0:b0 + batch]
            changed += _update(nodes, labels, indptr, indices, weights, degree, rng)
        if changed == 0:
            break
    return labels, passes


def _update(nodes, labels, indptr, indices, weights, degree, rng) -> int:
    """Give every node in `nodes` the label of heaviest total edge weight among its neighbours."""
    lens = degree[nodes]
    total = int(lens.sum())
    owner = np.repeat(np.arange(nodes.size, dtype=np.int64), lens)
    offsets = np.cumsum(lens) - lens
    edge = np.arange(total, dtype=np.int64) - np.repeat(offsets, lens) + np.repeat(indptr[nodes], lens)
    nb_labels = labels[indices[edge]]
    n_labels = labels.size
    key = owner * n_labels + nb_labels
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sums = np.add.reduceat(weights[edge][order], starts)
    group_owner = key[starts] // n_labels
    group_label = key[starts] % n_labels
    # per owner: the largest sum, ties broken by a seeded random draw
    pick = np.lexsort((rng.random(starts.size), -sums, group_owner))
    first = np.r_[True, group_owner[pick][1:] != group_owner[pick][:-1]]
    chosen = pick[first]
    new = group_label[chosen]
    targets = nodes[group_owner[chosen]]
    changed = int(np.count_nonzero(labels[targets] != new))
    labels[targets] = new
    return changed


def relabel_by_size(raw: np.ndarray, min_cluster_size: int) -> np.ndarray:
    """0..K-1 by decreasing size (ties: earliest first member), -1 for clusters under `min_cluster_size`."""
    n = raw.size
    out = np.full(n, UNCLUSTERED, dtype=np.int64)
    if n == 0:
        return out
    uniq, first, inverse, counts = np.unique(raw, return_index=True, return_inverse=True, return_counts=True)
    keep = counts >= min_cluster_size
    order = np.lexsort((first, -counts))
    order = order[keep[order]]
    new_id = np.full(uniq.size, UNCLUSTERED, dtype=np.int64)
    new_id[order] = np.arange(order.size, dtype=np.int64)
    out[:] = new_id[inverse.ravel()]
    return out


def relabel_keeping_unclustered(labels: np.ndarray) -> np.ndarray:
    """relabel_by_size for labels that already mark faces as unclustered (-1): those stay -1."""
    labels = np.asarray(labels, np.int64)
    out = np.full(labels.shape, UNCLUSTERED, np.int64)
    assigned = labels != UNCLUSTERED
    if assigned.any():
        out[assigned] = relabel_by_size(labels[assigned], 1)
    return out


def keep_seeded(labels: np.ndarray, may_seed: np.ndarray) -> np.ndarray:
    """Faces below the seeding bar (small, poor quality) may join a cluster but never start one: a cluster
    with no face that may seed is dissolved (its faces become -1). Kept clusters are renumbered by size."""
    labels = np.asarray(labels, dtype=np.int64)
    may_seed = np.asarray(may_seed, dtype=bool)
    if labels.shape != may_seed.shape:
        raise ValueError(f"may_seed: shape {may_seed.shape} differs from labels {labels.shape}")
    clustered = labels != UNCLUSTERED
    keep = clustered & np.isin(labels, np.unique(labels[clustered & may_seed]))
    out = np.full(labels.shape, UNCLUSTERED, dtype=np.int64)
    if keep.any():
        out[keep] = relabel_by_size(labels[keep], 1)
    return out
