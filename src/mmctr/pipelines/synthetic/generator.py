"""The generative model behind the synthetic MicroLens-like data (docs/DATA_CONTRACT.md).

Every row's true click probability is known, so the oracle AUC bounds what a model can do.

* **Items** (ids 1..n_items; id 0 is padding) belong to one of ``n_topics`` topics (topic
  sizes Dirichlet-skewed). Each has a unit latent vector ``z = normalise(c_topic + spread·ε)``
  (``latent_dim``), a log-normal popularity, a latent quality ``q ~ N(0, 1)`` and a per-item
  effect ``e ~ N(0, 1)`` that nothing observable reveals (learnable only through an id
  embedding). A random ``cold_item_fraction`` of items is never a train target.
* **Tags**: 1..5 distinct tags per item, each drawn from the item's topic pool with
  probability ``tag_topic_prob`` (skewed towards the pool's first tags), else uniformly;
  sorted, left-padded with 0.
* **Embedding** ``item_emb_d128``: a noisy non-linear view of ``z``,
  ``tanh(z·A1·gain)·A2 + emb_noise·ε`` (random A1 ``latent_dim×emb_hidden``, A2
  ``emb_hidden×128``), then rotated onto its principal axes (PCA, decreasing variance) and
  scaled so the first component has unit standard deviation.
* **Users** have long-term interests (``fav_topics`` topics with Dirichlet weights), a
  log-normal activity (how often they appear as a row) and a small hidden bias.
* **Rows**: a user, a history length ``L`` (rounded log-normal with median
  ``history_median`` and mean ``history_mean``, clipped to 0..100), and a *recent topic*
  (a favourite, or with probability ``drift_prob`` a random topic: the drift). History item
  at age ``a`` (0 = newest) comes from the recent topic with probability
  ``recent_prob·exp(-a/drift_span)``, else from a random topic with probability
  ``explore_prob``, else from a favourite; items within a topic follow popularity. The
  target comes with probability ``target_interest_prob`` from the user's interests (the
  recent topic or a favourite, half each), else from a random topic.
* **Levels**: ``likes_level = clip(round(5 + 2(q + level_noise·ε)), 0, 10)``; views the
  same with ``(q + popularity_z)/√2``: noisy quantised views of the quality.
* **Click**: ``logit = bias + w_semantic·S + w_tags·G + w_quality·q + w_item·e + w_user·b_u``
  where ``S`` is the recency-weighted mean (weights ``exp(-age/recency_decay)``) of
  ``cos(z_target, z_history)``, ``G`` the same mean of the fraction of the target's tags
  found among the history item's tags (S = G = 0 for an empty history); ``bias`` is solved
  on a calibration sample so that the train click rate is ``click_rate``;
  ``label ~ Bernoulli(sigmoid(logit))``.
* **Co-consumption** (off when ``group_prob`` and ``w_group`` are 0: then no draw of it is
  made and the world is exactly the one without it): items also belong to one of
  ``n_items // group_size`` *groups* drawn independently of topic, tags and embedding (a
  series, a creator, a community). Each user follows ``user_groups`` groups; a history item
  comes with probability ``group_prob`` from one of them, and so does the target. The click
  logit gains ``w_group·C``, ``C`` the recency-weighted share of history items in the
  target's group: only which items users consume together reveals it.
* **Raw multimodal features** (``item_feature.parquet``, :func:`raw_item_views`): a text
  (768) and an image (1024) view of ``z``, each seeing a different random subset of its
  dimensions plus nuisance factors of its own, so that fusing both beats either alone.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mmctr.pipelines.synthetic.config import Sizes, SyntheticConfig

__all__ = [
    "EMB_DIM",
    "IMAGE_DIM",
    "SEQ_WIDTH",
    "TAG_WIDTH",
    "TEXT_DIM",
    "RawViewConfig",
    "World",
    "build_world",
    "raw_item_views",
    "sample_rows",
]

logger = logging.getLogger(__name__)

SEQ_WIDTH = 100  # item_seq width (docs/DATA_CONTRACT.md)
TAG_WIDTH = 5  # item_tags width
EMB_DIM = 128  # item_emb_d128 width


@dataclasses.dataclass
class _TopicSampler:
    """Draws items of given topics in proportion to their popularity (vectorised)."""

    order: np.ndarray  # (n_items,) int32 item ids sorted by topic
    cum: np.ndarray  # (n_items,) float64 cumulative weight along ``order``
    start: np.ndarray  # (K,) float64 cumulative weight before each topic
    mass: np.ndarray  # (K,) float64 weight of each topic

    @classmethod
    def build(cls, topic: np.ndarray, weight: np.ndarray, n_topics: int) -> _TopicSampler:
        order = np.argsort(topic, kind="stable")
        cum = np.cumsum(weight[order], dtype=np.float64)
        mass = np.bincount(topic, weights=weight, minlength=n_topics)
        start = np.concatenate([[0.0], np.cumsum(mass)[:-1]])
        return cls((order + 1).astype(np.int32), cum, start, mass)

    def sample(self, topics: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        u = rng.random(len(topics))
        mass = self.mass[topics]  # a topic without weight falls back to all topics
        x = np.where(mass > 0, self.start[topics] + u * mass, u * self.cum[-1])
        idx = np.searchsorted(self.cum, x, side="right")
        return self.order[np.minimum(idx, len(self.order) - 1)]


@dataclasses.dataclass
class World:
    """Everything fixed before rows are drawn; item arrays have row 0 = padding item."""

    cfg: SyntheticConfig
    sizes: Sizes
    z: np.ndarray  # (V, d) float32 unit latent vectors
    quality: np.ndarray  # (V,) float32
    popularity_z: np.ndarray  # (V,) float32 standardised log popularity
    effect: np.ndarray  # (V,) float32 hidden per-item effect
    tags: np.ndarray  # (V, 5) int32, left-padded
    emb: np.ndarray  # (V, 128) float32
    cold: np.ndarray  # (V,) bool, never a train target
    all_items: _TopicSampler
    warm_items: _TopicSampler
    topic_prob: np.ndarray  # (K,) float64 popularity share of each topic
    user_cum: np.ndarray  # (U,) float64 cumulative activity
    user_fav: np.ndarray  # (U, F) int32 favourite topics
    user_fav_cum: np.ndarray  # (U, F) float32 cumulative favourite weights
    user_bias: np.ndarray  # (U,) float32
    bias: float = 0.0
    groups: _Groups | None = None  # co-consumption groups (None: off)


@dataclasses.dataclass
class _Groups:
    """Co-consumption groups: unseen by the embedding and the tags (drawn apart from topics)."""

    group: np.ndarray  # (V,) int64 group of each item; -1 for the padding item
    all_items: _TopicSampler  # draws items of given groups by popularity
    warm_items: _TopicSampler  # the same without cold items (train targets)
    user_groups: np.ndarray  # (U, G) int64 groups each user follows

    @classmethod
    def draw(cls, cfg: SyntheticConfig, n_users: int, weight: np.ndarray,
             cold: np.ndarray) -> _Groups:
        """Groups of items and users from their own random stream ([seed, 6])."""
        rng = np.random.default_rng([cfg.seed, 6])
        n_groups = max(1, len(weight) // cfg.group_size)
        group = rng.integers(0, n_groups, len(weight))
        share = np.bincount(group, weights=weight, minlength=n_groups)
        return cls(
            group=np.concatenate([[-1], group]),
            all_items=_TopicSampler.build(group, weight, n_groups),
            warm_items=_TopicSampler.build(group, np.where(cold, 0.0, weight), n_groups),
            user_groups=rng.choice(n_groups, (n_users, cfg.user_groups), p=share / share.sum()),
        )

    def sample(self, users: np.ndarray, rng: np.random.Generator, warm: bool) -> np.ndarray:
        """One item per user from one of the user's groups (uniformly among them)."""
        pick = self.user_groups[users, rng.integers(0, self.user_groups.shape[1], len(users))]
        return (self.warm_items if warm else self.all_items).sample(pick, rng)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _item_tags(
    cfg: SyntheticConfig, s: Sizes, topic: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(n_items, 5) int32 distinct tag ids, ascending and left-padded with 0."""
    n = len(topic)
    tag_topic = rng.permutation(s.n_tags) % s.n_topics  # every topic gets a pool if possible
    pool = np.argsort(tag_topic, kind="stable") + 1  # tag ids grouped by topic
    count = np.bincount(tag_topic, minlength=s.n_topics)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    t = topic[:, None]
    pick = start[t] + np.floor(count[t] * rng.random((n, TAG_WIDTH)) ** 2).astype(np.int64)
    from_pool = (rng.random((n, TAG_WIDTH)) < cfg.tag_topic_prob) & (count[t] > 0)
    tags = np.where(from_pool, pool[np.minimum(pick, s.n_tags - 1)],
                    rng.integers(1, s.n_tags + 1, (n, TAG_WIDTH)))
    n_tags = 1 + rng.binomial(TAG_WIDTH - 1, cfg.tag_count_p, n)
    tags[np.arange(TAG_WIDTH)[None, :] >= n_tags[:, None]] = 0
    tags.sort(axis=1)
    tags[:, 1:][tags[:, 1:] == tags[:, :-1]] = 0  # drop duplicates
    tags.sort(axis=1)  # zeros move to the left
    return tags.astype(np.int32)


def _embedding(cfg: SyntheticConfig, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n_items, 128) float32 noisy non-linear view of ``z`` on its principal axes."""
    a1 = rng.standard_normal((cfg.latent_dim, cfg.emb_hidden)) * cfg.emb_gain
    a2 = rng.standard_normal((cfg.emb_hidden, EMB_DIM)) / math.sqrt(cfg.emb_hidden)
    x = np.tanh(z @ a1) @ a2
    x += cfg.emb_noise * x.std() * rng.standard_normal(x.shape)
    x -= x.mean(axis=0)
    _, vecs = np.linalg.eigh(x.T @ x)  # principal axes, ascending variance
    vecs = vecs[:, ::-1]
    vecs *= np.sign(vecs[np.abs(vecs).argmax(axis=0), np.arange(EMB_DIM)])  # fixed signs
    pcs = x @ vecs
    return (pcs / max(float(pcs[:, 0].std()), 1e-12)).astype(np.float32)


def build_world(cfg: SyntheticConfig) -> World:
    """Draw items, tags, embeddings, users; solve the click bias. Deterministic in ``cfg.seed``."""
    s = cfg.sizes
    rng = np.random.default_rng([cfg.seed, 0])
    k, n = s.n_topics, s.n_items
    centres = _unit(rng.standard_normal((k, cfg.latent_dim)))
    topic = rng.choice(k, n, p=rng.dirichlet(np.full(k, cfg.topic_concentration)))
    noise = rng.standard_normal((n, cfg.latent_dim)) / math.sqrt(cfg.latent_dim)
    z = _unit(centres[topic] + cfg.topic_spread * noise)
    log_pop = rng.standard_normal(n) * cfg.item_popularity_sigma
    weight = np.exp(log_pop)
    cold = np.zeros(n, dtype=bool)
    cold[rng.choice(n, round(cfg.cold_item_fraction * n), replace=False)] = True

    def pad(a: np.ndarray) -> np.ndarray:  # prepend the all-zero padding item (id 0)
        return np.concatenate([np.zeros((1, *a.shape[1:]), a.dtype), a])

    all_items = _TopicSampler.build(topic, weight, k)
    user_act = np.exp(rng.standard_normal(s.n_users) * cfg.user_activity_sigma)
    world = World(
        cfg=cfg,
        sizes=s,
        z=pad(z),
        quality=pad(rng.standard_normal(n).astype(np.float32)),
        popularity_z=pad((log_pop / max(cfg.item_popularity_sigma, 1e-6)).astype(np.float32)),
        effect=pad(rng.standard_normal(n).astype(np.float32)),
        tags=pad(_item_tags(cfg, s, topic, rng)),
        emb=pad(_embedding(cfg, z, rng)),
        cold=pad(cold),
        all_items=all_items,
        warm_items=_TopicSampler.build(topic, np.where(cold, 0.0, weight), k),
        topic_prob=all_items.mass / all_items.mass.sum(),
        user_cum=np.cumsum(user_act),
        user_fav=rng.choice(k, (s.n_users, cfg.fav_topics), p=all_items.mass / all_items.mass.sum())
        .astype(np.int32),
        user_fav_cum=np.cumsum(rng.dirichlet(np.ones(cfg.fav_topics), s.n_users), axis=1)
        .astype(np.float32),
        user_bias=rng.standard_normal(s.n_users).astype(np.float32),
    )
    if cfg.group_prob > 0 or cfg.w_group != 0:
        world.groups = _Groups.draw(cfg, s.n_users, weight, cold)
    calib = sample_rows(world, cfg.calibration_rows, np.random.default_rng([cfg.seed, 1]), True)
    world.bias = _solve_bias(calib["score"], cfg.click_rate)
    logger.info("Synthetic world: %d items (%d cold), %d tags, %d topics, %d users, bias %.3f",
                n, cold.sum(), s.n_tags, k, s.n_users, world.bias)
    return world


def _solve_bias(score: np.ndarray, rate: float) -> float:
    """The bias b with mean(sigmoid(b + score)) = rate (bisection)."""
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(mid + score)))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _favourite(world: World, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    idx = (rng.random(len(users))[:, None] > world.user_fav_cum[users]).sum(axis=1)
    return world.user_fav[users, np.minimum(idx, world.cfg.fav_topics - 1)]


def _random_topic(world: World, n: int, rng: np.random.Generator) -> np.ndarray:
    cum = np.cumsum(world.topic_prob)
    return np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), len(cum) - 1)


def _level(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(5 + 2 * x), 0, 10).astype(np.int64)


def sample_rows(world: World, n: int, rng: np.random.Generator, warm_targets: bool) -> dict:
    """Draw ``n`` rows.

    Returns:
        dict of ``user_id`` (n,) int64 (1-based), ``item_id`` (n,) int64, ``likes_level``,
        ``views_level`` (n,) int64, ``length`` (n,) int64, ``history`` (sum(length),) int32
        (concatenated histories, oldest first), ``score`` (n,) float64 (logit without bias),
        ``group_score`` (n,) float64 (its co-consumption term, 0 when off).
    """
    cfg = world.cfg
    users = np.searchsorted(world.user_cum, rng.random(n) * world.user_cum[-1], side="right")
    users = np.minimum(users, len(world.user_cum) - 1)
    sigma = math.sqrt(2 * math.log(cfg.history_mean / cfg.history_median))
    length = np.clip(np.rint(cfg.history_median * np.exp(sigma * rng.standard_normal(n))),
                     0, SEQ_WIDTH).astype(np.int64)
    drift = rng.random(n) < cfg.drift_prob
    recent = np.where(drift, _random_topic(world, n, rng), _favourite(world, users, rng))

    row = np.repeat(np.arange(n), length)  # (m,) row of each history item
    age = (np.cumsum(length)[row] - 1 - np.arange(len(row))).astype(np.float32)  # 0 = newest
    u = rng.random(len(row))
    h_topic = np.where(u < cfg.recent_prob * np.exp(-age / cfg.drift_span), recent[row],
                       np.where(rng.random(len(row)) < cfg.explore_prob,
                                _random_topic(world, len(row), rng), _favourite(world, users[row], rng)))
    history = world.all_items.sample(h_topic, rng)

    interest = np.where(rng.random(n) < 0.5, recent, _favourite(world, users, rng))
    t_topic = np.where(rng.random(n) < cfg.target_interest_prob, interest, _random_topic(world, n, rng))
    item = (world.warm_items if warm_targets else world.all_items).sample(t_topic, rng)

    if world.groups is not None:  # co-consumption: items of the user's groups
        history, item = _group_draws(world, users, row, history, item, rng, warm_targets)

    w = np.exp(-age / cfg.recency_decay)
    cos = np.einsum("ij,ij->i", world.z[item][row], world.z[history])
    t_tags = world.tags[item][row]  # (m, 5) the target's tags beside each history item
    hit = (t_tags[:, :, None] == world.tags[history][:, None, :]).any(axis=2) & (t_tags > 0)
    tag_frac = hit.sum(axis=1) / np.maximum((t_tags > 0).sum(axis=1), 1)
    w_sum = np.bincount(row, weights=w, minlength=n)
    denom = np.maximum(w_sum, 1e-12)
    semantic = np.bincount(row, weights=w * cos, minlength=n) / denom
    tag_overlap = np.bincount(row, weights=w * tag_frac, minlength=n) / denom

    group_score = np.zeros(n)
    if world.groups is not None:
        g = world.groups.group
        same = (g[item][row] == g[history]).astype(np.float64)
        group_score = cfg.w_group * np.bincount(row, weights=w * same, minlength=n) / denom

    q = world.quality[item]
    views_x = (q + world.popularity_z[item]) / math.sqrt(2)
    score = (cfg.w_semantic * semantic + cfg.w_tags * tag_overlap + cfg.w_quality * q
             + cfg.w_item * world.effect[item] + cfg.w_user * world.user_bias[users]
             + group_score)
    return {
        "user_id": users.astype(np.int64) + 1,
        "item_id": item.astype(np.int64),
        "likes_level": _level(q + cfg.level_noise * rng.standard_normal(n)),
        "views_level": _level(views_x + cfg.level_noise * rng.standard_normal(n)),
        "length": length,
        "history": history,
        "score": score,
        "group_score": group_score,
    }


def _group_draws(
    world: World, users: np.ndarray, row: np.ndarray, history: np.ndarray, item: np.ndarray,
    rng: np.random.Generator, warm_targets: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Replace a ``group_prob`` share of history items and targets by items of the user's
    groups; returns new ``(history, item)`` arrays."""
    groups, p = world.groups, world.cfg.group_prob
    history, item = history.copy(), item.copy()
    h_sel = np.flatnonzero(rng.random(len(history)) < p)
    history[h_sel] = groups.sample(users[row[h_sel]], rng, warm=False)
    t_sel = np.flatnonzero(rng.random(len(item)) < p)
    item[t_sel] = groups.sample(users[t_sel], rng, warm=warm_targets)
    return history, item


# --- raw multimodal item features (item_feature.parquet) ----------------------------------
#
# Drawn from their own random stream ([seed, 5]), after the world, so ``item_emb_d128`` and
# every split stay exactly what they are without these views.

TEXT_DIM = 768  # txt_emb_BERT width
IMAGE_DIM = 1024  # img_emb_CLIPRN50 width


@dataclasses.dataclass(frozen=True)
class RawViewConfig:
    """``params:synthetic.raw_features``: the text and image views of each item's ``z``.

    Each view sees its own random subset of ``round(seen_fraction · latent_dim)`` latent
    dimensions (text the first ones of a random permutation, image the last ones: with
    ``seen_fraction ≥ 0.5`` both together see all of ``z``, each alone misses some),
    mixed with ``nuisance_dim`` per-item factors of its own that no click depends on
    (style, colour), through ``tanh(u·B1·gain)·B2``, plus independent noise
    (``noise`` × the signal's std), then an arbitrary per-column scale and offset.
    """

    seen_fraction: float = 0.7
    hidden: int = 64
    gain: float = 1.5
    noise: float = 0.3
    nuisance_dim: int = 8
    nuisance_scale: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.seen_fraction <= 1 or self.hidden < 1 or self.nuisance_dim < 0:
            raise ValueError(
                "synthetic.raw_features: seen_fraction in (0, 1], hidden >= 1, nuisance_dim >= 0"
            )


def _view(
    z: np.ndarray, dims: np.ndarray, width: int, rv: RawViewConfig, rng: np.random.Generator
) -> np.ndarray:
    """(n, width) float32 noisy non-linear view of ``z[:, dims]`` plus its own nuisance."""
    n = len(z)
    nuisance = rng.standard_normal((n, rv.nuisance_dim), dtype=np.float32)
    nuisance *= rv.nuisance_scale / math.sqrt(max(rv.nuisance_dim, 1))
    u = np.concatenate([z[:, dims] * math.sqrt(z.shape[1] / len(dims)), nuisance], axis=1)
    b1 = rng.standard_normal((u.shape[1], rv.hidden), dtype=np.float32) * rv.gain
    b2 = rng.standard_normal((rv.hidden, width), dtype=np.float32) / math.sqrt(rv.hidden)
    x = np.tanh(u.astype(np.float32) @ b1) @ b2
    x += rng.standard_normal(x.shape, dtype=np.float32) * np.float32(rv.noise * x.std())
    x *= np.exp(0.5 * rng.standard_normal(width, dtype=np.float32))  # arbitrary column scales
    x += rng.standard_normal(width, dtype=np.float32)  # and offsets
    return x


def raw_item_views(world: World, rv: RawViewConfig) -> dict[str, np.ndarray]:
    """The text (768) and image (1024) views of items 1..n_items (no padding row).

    Deterministic in ``world.cfg.seed``; draws nothing from the world's streams.

    Returns:
        ``{"text": float32 (n_items, 768), "image": float32 (n_items, 1024)}``.
    """
    rng = np.random.default_rng([world.cfg.seed, 5])
    z = world.z[1:]
    d = z.shape[1]
    seen = max(1, round(rv.seen_fraction * d))
    perm = rng.permutation(d)
    return {
        "text": _view(z, np.sort(perm[:seen]), TEXT_DIM, rv, rng),
        "image": _view(z, np.sort(perm[d - seen :]), IMAGE_DIM, rv, rng),
    }
