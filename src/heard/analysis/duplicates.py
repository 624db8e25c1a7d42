"""Exact copies, near-verbatim copies and campaigns (form letters with personal edits).

How it works
------------
1. Every text is normalised (:func:`heard.analysis.text.normalise_text`); texts with the
   same normalised form are exact copies and are handled once, with a weight (their count).
2. Short texts (fewer than ``min_words`` whitespace-separated words) are only ever grouped
   as exact copies: "I agree" and "I agree." are one group, "I agree" and "I disagree"
   never are. Empty texts are never grouped.
3. The other unique texts get a MinHash signature (rensa) over shingles: 5-character
   shingles for texts under ``char_shingles_below`` words, 3-word shingles above.
   Shingles are hashed with numpy, not Python strings, so 100k texts take seconds.
4. Candidates come from LSH band buckets. Inside each bucket every member is compared
   with one representative only (the member with the fewest shingles, which for a form
   letter is the bare template), never with every other member, so a 15k-copy campaign
   costs 15k comparisons per band, not 15k². A pair becomes an edge when its estimated
   Jaccard is at least ``threshold`` (near copy), or when the estimated containment of the
   shorter text in the longer is at least ``containment`` with at least ``min_shared``
   shared shingles (template plus personal text; long texts only).
5. Edges are joined into connected components (scipy's csgraph, a union-find over the
   band edges; no pairs beyond those edges are ever formed).
6. Chaining is undone by a star check: in each component the weighted medoid under the
   estimated Jaccard becomes the canonical member, and only members that are themselves
   similar to it (same test as step 4) stay; the rest are regrouped the same way in later
   rounds (at most ``max_rounds`` per component, then left as singletons or exact groups).
   A group whose members passed only through containment keeps them only when it reaches
   ``min_campaign_size`` responses; smaller ones keep their near copies only.
7. Kind: "exact" when all members share one normalised text; "campaign" when the group
   has at least ``min_campaign_size`` responses and some member is not a near copy of the
   canonical (Jaccard below ``threshold``); otherwise "near".

Memory: the signatures (``n_unique × num_perm × 4`` bytes: 256 MB for 1M texts at 64
permutations), one chunk of shingles at a time (about ``_CHUNK_CHARS`` characters), and
the normalised texts themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TypeVar

import numpy as np
import rensa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from heard.analysis.text import content_hash, normalise_text

T = TypeVar("T")

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_PRIME = _U64(0x100000001B3)
_TOKEN_BITS = 44  # bits of a shingle hash kept; the rest hold the row in a chunk
_TOKEN_MASK = _U64((1 << _TOKEN_BITS) - 1)
_CHUNK_CHARS = 4_000_000  # characters of text hashed at once (bounds peak memory)


@dataclass
class Group:
    """A set of responses that say the same thing (indices into the input list)."""

    key: str
    kind: str  # "exact" | "near" | "campaign"
    canonical: int
    members: list[int]

    @property
    def size(self) -> int:
        """Number of responses in the group, canonical included."""
        return len(self.members)


# --- hashing helpers (vectorised, uint64 arithmetic wraps on purpose) ---------------


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a good 64-bit mix of each element."""
    with np.errstate(over="ignore"):
        x = x.astype(_U64) + _GOLDEN
        x = (x ^ (x >> _U64(30))) * _M1
        x = (x ^ (x >> _U64(27))) * _M2
        return x ^ (x >> _U64(31))


def _combine(h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Order-dependent combination of two hash arrays."""
    with np.errstate(over="ignore"):
        return _mix(h * _PRIME + x)


def _codepoints(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the texts, concatenated, and the row of each code point."""
    cps = np.frombuffer("".join(texts).encode("utf-32-le", errors="replace"), dtype=np.uint32)
    row = np.repeat(np.arange(len(texts)), [len(t) for t in texts])
    return cps.astype(_U64), row


def _is_word_char(cps: np.ndarray) -> np.ndarray:
    """Letters and digits (ASCII exactly; non-ASCII minus common punctuation blocks)."""
    ascii_word = (
        ((cps >= 48) & (cps <= 57)) | ((cps >= 97) & (cps <= 122)) | ((cps >= 65) & (cps <= 90))
    )
    punct = ((cps >= 0x2000) & (cps <= 0x206F)) | ((cps >= 0x3000) & (cps <= 0x303F))
    other = (cps > 127) & ~punct & (cps != 0xA0) & (cps != 0xAB) & (cps != 0xBB)
    return ascii_word | other


def _word_tokens(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """One hash per word (runs of letters/digits) and the row of each word."""
    joined = "\n".join(texts)  # the separator is not a word character
    cps = np.frombuffer(joined.encode("utf-32-le", errors="replace"), dtype=np.uint32)
    word = _is_word_char(cps)
    edge = np.diff(word.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    first = np.flatnonzero(edge == 1)
    if first.size == 0:
        return np.zeros(0, _U64), np.zeros(0, np.int64)
    last = np.flatnonzero(edge == -1)
    lengths = last - first
    pos = np.flatnonzero(word)
    # position of each character inside its word
    offset = np.arange(pos.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    with np.errstate(over="ignore"):
        vals = _mix(cps[pos].astype(_U64) ^ (offset.astype(_U64) << _U64(32)))
        hashes = _mix(np.add.reduceat(vals, np.cumsum(lengths) - lengths))
    text_starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]])
    return hashes, np.searchsorted(text_starts, first, side="right") - 1


def _char_tokens(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """One hash per character, punctuation and spaces folded to single spaces."""
    cps, row = _codepoints(texts)
    word = _is_word_char(cps)
    cps = np.where(word, cps, _U64(32))
    prev_space = np.concatenate(([True], ~word[:-1]))
    prev_row = np.concatenate(([-1], row[:-1]))
    keep = word | ~prev_space | (row != prev_row)
    return _mix(cps[keep]), row[keep]


def _shingles(h: np.ndarray, row: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of k consecutive tokens within a row."""
    if h.size < k:
        return np.zeros(0, _U64), np.zeros(0, np.int64)
    n = h.size - k + 1
    out = h[:n].copy()
    for j in range(1, k):
        out = _combine(out, h[j : j + n])
    valid = row[:n] == row[k - 1 : k - 1 + n]
    return out[valid], row[:n][valid]


def _signatures(
    texts: Sequence[str], use_chars: np.ndarray, *, num_perm: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures (m, num_perm) uint32 and the number of distinct shingles per text."""
    m = len(texts)
    sigs = np.empty((m, num_perm), dtype=np.uint32)
    counts = np.zeros(m, dtype=np.int64)
    start = 0
    while start < m:
        # a chunk of rows holding about _CHUNK_CHARS characters
        end, chars = start, 0
        while end < m and (chars < _CHUNK_CHARS or end == start):
            chars += len(texts[end]) + 1
            end += 1
        local = np.arange(end - start)
        tokens, rows = [], []
        chars_rows = local[use_chars[start:end]]
        words_rows = local[~use_chars[start:end]]
        for sel, tokenise, k in ((chars_rows, _char_tokens, 5), (words_rows, _word_tokens, 3)):
            if sel.size == 0:
                continue
            h, r = tokenise([texts[start + i] for i in sel])
            sh, sr = _shingles(h, r, k)
            tokens.append(sh)
            rows.append(sel[sr])
        h = np.concatenate(tokens)
        r = np.concatenate(rows).astype(_U64)
        keys = np.sort((r << _U64(_TOKEN_BITS)) | (h & _TOKEN_MASK))
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]  # distinct per row
        key_rows = (keys >> _U64(_TOKEN_BITS)).astype(np.int64)
        per_row = np.bincount(key_rows, minlength=end - start)
        if np.any(per_row == 0):  # cannot happen for texts of min_words or more
            raise ValueError("a text selected for MinHash produced no shingles")
        offsets = np.concatenate(([0], np.cumsum(per_row))).astype(_U64)
        matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
            keys & _TOKEN_MASK, offsets, num_perm, seed
        )
        flat = np.fromiter(
            chain.from_iterable(matrix.to_rows()),
            dtype=np.uint32,
            count=(end - start) * num_perm,
        )
        sigs[start:end] = flat.reshape(end - start, num_perm)
        counts[start:end] = per_row
        start = end
    return sigs, counts


SignFn = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]


def minhash_signatures(
    texts: Sequence[str], *, seed: int = 0, num_perm: int = 64, char_shingles_below: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures (m, num_perm) uint32 and distinct shingle counts of normalised texts.

    Each row depends on its own text only, so a list may be signed in chunks anywhere and
    the rows joined in order. Every text needs at least one shingle (``min_words`` or more).
    """
    use_chars = np.array([t.count(" ") + 1 < char_shingles_below for t in texts], dtype=bool)
    return _signatures(texts, use_chars, num_perm=num_perm, seed=seed)


# --- similarity tests ---------------------------------------------------------------


@dataclass(frozen=True)
class _Rules:
    threshold: float
    containment: float
    min_shared: int


def _jaccard(sigs: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Estimated Jaccard for index pairs (share of equal MinHash values)."""
    out = np.empty(a.size, dtype=np.float64)
    for s in range(0, a.size, chunk):
        sa, sb = a[s : s + chunk], b[s : s + chunk]
        out[s : s + chunk] = (sigs[sa] == sigs[sb]).mean(axis=1)
    return out


def _passes(
    j: np.ndarray, na: np.ndarray, nb: np.ndarray, long_pair: np.ndarray, rules: _Rules
) -> tuple[np.ndarray, np.ndarray]:
    """(near, contained): near copy by Jaccard; template contained by shingle containment."""
    near = j >= rules.threshold
    inter = j * (na + nb) / (1.0 + j)  # |A∩B| from J and the set sizes
    cont = inter / np.minimum(na, nb)
    contained = long_pair & (cont >= rules.containment) & (inter >= rules.min_shared)
    return near, contained


def _band_edges(
    sigs: np.ndarray, counts: np.ndarray, long_text: np.ndarray, rows: int, rules: _Rules
) -> tuple[np.ndarray, np.ndarray]:
    """Verified edges (a, b) from LSH band buckets, each member against one representative."""
    m, num_perm = sigs.shape
    ids = np.arange(m)
    edges_a, edges_b = [], []
    for band in range(num_perm // rows):
        block = sigs[:, band * rows : (band + 1) * rows].astype(_U64)
        key = _mix(block[:, 0])
        for c in range(1, rows):
            key = _combine(key, block[:, c])
        order = np.lexsort((ids, counts, key))
        sk = key[order]
        new = np.concatenate(([True], sk[1:] != sk[:-1]))
        head = np.maximum.accumulate(np.where(new, np.arange(m), 0))
        rep = order[head]
        cand = rep != order
        a, b = order[cand], rep[cand]
        if a.size == 0:
            continue
        j = _jaccard(sigs, a, b)
        near, contained = _passes(j, counts[a], counts[b], long_text[a] & long_text[b], rules)
        ok = near | contained
        edges_a.append(a[ok])
        edges_b.append(b[ok])
    if not edges_a:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(edges_a), np.concatenate(edges_b)


def _weighted_medoid(sigs: np.ndarray, members: np.ndarray, weights: np.ndarray) -> int:
    """Member maximising the weighted sum of estimated Jaccard to all members."""
    score = np.zeros(members.size, dtype=np.float64)
    sub = sigs[members]
    for c in range(sub.shape[1]):
        _, inv = np.unique(sub[:, c], return_inverse=True)
        score += np.bincount(inv, weights=weights)[inv]
    return int(members[int(np.argmax(score))])  # ties: lowest position, members are sorted


def _split_component(
    comp: np.ndarray,
    sigs: np.ndarray,
    counts: np.ndarray,
    long_text: np.ndarray,
    weights: np.ndarray,
    rules: _Rules,
    min_campaign_size: int,
    max_rounds: int,
) -> list[tuple[int, np.ndarray, bool]]:
    """Star groups (canonical, members, has_non_near_member) inside one component."""
    out: list[tuple[int, np.ndarray, bool]] = []
    remaining = np.sort(comp)
    for _ in range(max_rounds):
        if remaining.size == 0:
            break
        canon = _weighted_medoid(sigs, remaining, weights[remaining])
        cvec = np.full(remaining.size, canon)
        j = _jaccard(sigs, remaining, cvec)
        near, contained = _passes(
            j, counts[remaining], counts[cvec], long_text[remaining] & long_text[canon], rules
        )
        near |= remaining == canon
        take = near | contained
        if weights[remaining[take]].sum() < min_campaign_size:
            take = near
        members = remaining[take]
        if weights[members].sum() >= 2:
            out.append((canon, members, bool(np.any(~near[take]))))
        remaining = remaining[~take]
    for u in remaining:  # past the round limit: exact copies only
        if weights[u] >= 2:
            out.append((int(u), np.array([u]), False))
    return out


# --- public API ----------------------------------------------------------------------


def find_groups(
    texts: Sequence[str],
    *,
    seed: int = 0,
    threshold: float = 0.7,
    containment: float = 0.7,
    min_shared: int = 25,
    num_perm: int = 64,
    rows_per_band: int = 3,
    min_words: int = 10,
    char_shingles_below: int = 30,
    min_campaign_size: int = 5,
    campaign_min_size: int = 10,
    campaign_min_words: int = 15,
    max_rounds: int = 50,
    sign: SignFn | None = None,
) -> list[Group]:
    """Exact, near-verbatim and campaign groups of two or more responses.

    ``threshold`` is the estimated Jaccard for a near copy; ``containment`` the share of the
    shorter text's shingles found in the longer (with at least ``min_shared`` shared) for a
    campaign member. Texts under ``min_words`` words are grouped only as exact copies.
    Groups are sorted by size (largest first), then canonical index; members are sorted.
    ``sign(normalised_texts) -> (signatures, shingle counts)`` replaces the in-process
    MinHash (e.g. to spread it over workers); it must return what
    :func:`minhash_signatures` returns for the same ``seed``, ``num_perm`` and
    ``char_shingles_below``.

    ``min_campaign_size`` is the smallest group the loose (personal edits) rule may form.
    A group is a **campaign** (an organised form letter) when it has at least
    ``campaign_min_size`` members and its canonical text at least ``campaign_min_words``
    words: copies sent verbatim, near-verbatim, or with personal sentences added. Repeated
    short answers ("Yes", "No comment", "I agree") stay exact or near groups: they are
    counted once each for analysis, but they are not campaigns.
    """
    if not 1 <= rows_per_band <= num_perm:
        raise ValueError("rows_per_band must be between 1 and num_perm")
    rules = _Rules(threshold, containment, min_shared)

    # exact copies: one unique entry per normalised text
    norm_index: dict[str, int] = {}
    uniq_texts: list[str] = []
    uniq_members: list[list[int]] = []
    raw_norm: dict[str, str] = {}  # normalise each distinct raw text once
    for i, text in enumerate(texts):
        norm = raw_norm.get(text)
        if norm is None:
            norm = raw_norm[text] = normalise_text(text)
        if not norm:
            continue
        u = norm_index.get(norm)
        if u is None:
            norm_index[norm] = len(uniq_texts)
            uniq_texts.append(norm)
            uniq_members.append([i])
        else:
            uniq_members[u].append(i)
    n_uniq = len(uniq_texts)
    weights = np.array([len(m) for m in uniq_members], dtype=np.float64)
    n_words = np.array([t.count(" ") + 1 for t in uniq_texts], dtype=np.int64)

    # near copies and campaigns among texts long enough for MinHash
    eligible = np.flatnonzero(n_words >= min_words)
    star_groups: list[tuple[int, np.ndarray, bool]] = []
    grouped = np.zeros(n_uniq, dtype=bool)
    if eligible.size >= 2:
        sub_texts = [uniq_texts[u] for u in eligible]
        use_chars = n_words[eligible] < char_shingles_below
        if sign is None:
            sigs, counts = _signatures(sub_texts, use_chars, num_perm=num_perm, seed=seed)
        else:
            sigs, counts = sign(sub_texts)
            if sigs.shape != (len(sub_texts), num_perm) or counts.shape != (len(sub_texts),):
                raise ValueError(
                    f"sign returned signatures of shape {sigs.shape} for {len(sub_texts)} "
                    f"texts and {num_perm} permutations"
                )
        long_text = ~use_chars
        a, b = _band_edges(sigs, counts, long_text, rows_per_band, rules)
        m = eligible.size
        graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(m, m))
        _, comp_of = connected_components(graph, directed=False)
        order = np.argsort(comp_of, kind="stable")
        bounds = np.flatnonzero(np.diff(comp_of[order])) + 1
        sub_weights = weights[eligible]
        for comp in np.split(order, bounds):
            if comp.size < 2:
                continue
            for canon, members, loose in _split_component(
                comp, sigs, counts, long_text, sub_weights, rules, min_campaign_size, max_rounds
            ):
                star_groups.append((int(eligible[canon]), eligible[members], loose))
                grouped[eligible[members]] = True

    # exact copies not in a near group or campaign
    for u in np.flatnonzero(~grouped & (weights >= 2)):
        star_groups.append((int(u), np.array([u]), False))

    groups: list[Group] = []
    for canon_u, members_u, _loose in star_groups:
        members = sorted(i for u in members_u for i in uniq_members[int(u)])
        canonical = uniq_members[canon_u][0]
        if len(members) >= campaign_min_size and n_words[canon_u] >= campaign_min_words:
            kind = "campaign"
        elif members_u.size == 1:
            kind = "exact"
        else:
            kind = "near"
        key = content_hash(uniq_texts[canon_u])[:16]
        groups.append(Group(key=key, kind=kind, canonical=canonical, members=members))
    groups.sort(key=lambda g: (-g.size, g.canonical))
    return groups


def summarise_groups(groups: Sequence[Group], n_texts: int) -> dict[str, int | float]:
    """Counts of groups and members by kind, and the share of texts that sit in a group."""
    summary: dict[str, int | float] = {"n_texts": n_texts, "n_groups": len(groups)}
    for kind in ("exact", "near", "campaign"):
        of_kind = [g for g in groups if g.kind == kind]
        summary[f"{kind}_groups"] = len(of_kind)
        summary[f"{kind}_members"] = sum(g.size for g in of_kind)
    in_groups = sum(g.size for g in groups)
    summary["texts_in_groups"] = in_groups
    summary["share_in_groups"] = in_groups / n_texts if n_texts else 0.0
    summary["n_representatives"] = n_texts - in_groups + len(groups)
    summary["largest_group"] = max((g.size for g in groups), default=0)
    return summary


def _owner(groups: Sequence[Group], n: int) -> np.ndarray:
    """For each index, the index of its representative (itself when a singleton)."""
    owner = np.arange(n)
    seen = np.zeros(n, dtype=bool)
    for g in groups:
        idx = np.asarray(g.members, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"group {g.key} has an index outside 0..{n - 1}")
        if g.canonical not in g.members:
            raise ValueError(f"group {g.key}: canonical {g.canonical} is not a member")
        if seen[idx].any() or np.unique(idx).size != idx.size:
            raise ValueError(f"group {g.key} overlaps another group")
        seen[idx] = True
        owner[idx] = g.canonical
    return owner


def representatives(groups: Sequence[Group], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices theme discovery should see (canonicals and singletons, ascending) and weights.

    The weight of a canonical is its group's size; a singleton weighs 1. Weights sum to n.
    """
    owner = _owner(groups, n)
    weights = np.bincount(owner, minlength=n)
    indices = np.flatnonzero(weights)
    return indices, weights[indices].astype(np.float64)


def expand(labels_of_representatives: Sequence[T], groups: Sequence[Group], n: int) -> list[T]:
    """Give every one of the n texts the label of its representative.

    ``labels_of_representatives`` is aligned with the indices from :func:`representatives`.
    """
    owner = _owner(groups, n)
    indices = np.flatnonzero(np.bincount(owner, minlength=n))
    if len(labels_of_representatives) != indices.size:
        raise ValueError(
            f"expected {indices.size} labels (one per representative), "
            f"got {len(labels_of_representatives)}"
        )
    position = np.empty(n, dtype=np.int64)
    position[indices] = np.arange(indices.size)
    return [labels_of_representatives[int(position[o])] for o in owner]
