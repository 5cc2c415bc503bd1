"""``params:synthetic`` as frozen dataclasses (the size presets and the generative-model
knobs), and its check."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mmctr.config import from_params
from mmctr.parameters import as_mapping, check_preset, register

__all__ = ["Sizes", "SyntheticConfig", "synthetic_config"]


@dataclasses.dataclass(frozen=True)
class Sizes:
    """One preset of ``params:synthetic.presets``."""

    n_train: int
    n_valid: int
    n_test: int
    n_items: int  # ids 1..n_items (item_info has n_items + 1 rows)
    n_tags: int  # ids 1..n_tags
    n_users: int
    n_topics: int

    def __post_init__(self) -> None:
        if min(self.n_items, self.n_tags, self.n_users, self.n_topics, self.n_train) < 1:
            raise ValueError("synthetic preset: n_train, n_items, n_tags, n_users, n_topics ≥ 1")
        if min(self.n_valid, self.n_test) < 0:
            raise ValueError("synthetic preset: n_valid, n_test ≥ 0")


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    """``params:synthetic``: a size preset plus the generative-model knobs (module doc)."""

    preset: str = "default"
    seed: int = 2025
    presets: Mapping[str, Mapping[str, int]] = dataclasses.field(default_factory=dict)
    chunk_rows: int = 250_000  # rows generated at once (bounds temporary memory)
    calibration_rows: int = 50_000  # train-like rows the click bias is solved on
    raw_features: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # RawViewConfig
    latent_dim: int = 16
    topic_spread: float = 0.6  # item latent noise around its topic centre
    topic_concentration: float = 1.0  # Dirichlet parameter of topic sizes (small: skewed)
    item_popularity_sigma: float = 1.0  # log-normal popularity of items
    user_activity_sigma: float = 1.0  # log-normal activity of users
    emb_hidden: int = 64
    emb_gain: float = 1.5  # tanh input scale: larger is more non-linear
    emb_noise: float = 0.3
    tag_topic_prob: float = 0.8
    tag_count_p: float = 0.35  # tags per item = 1 + Binomial(4, p)
    fav_topics: int = 3
    history_median: float = 6.0
    history_mean: float = 8.0
    drift_prob: float = 0.3
    recent_prob: float = 0.7
    drift_span: float = 4.0
    explore_prob: float = 0.15
    target_interest_prob: float = 0.5
    recency_decay: float = 4.0
    cold_item_fraction: float = 0.1
    click_rate: float = 0.25
    level_noise: float = 0.35
    w_semantic: float = 4.0
    w_tags: float = 2.0
    w_quality: float = 1.0
    w_item: float = 0.8
    w_user: float = 0.3
    # co-consumption (generator.py): off when group_prob and w_group are both 0
    group_size: int = 25  # items per co-consumption group (groups = n_items // group_size)
    user_groups: int = 2  # groups each user follows
    group_prob: float = 0.0  # share of history items and targets drawn from the user's groups
    w_group: float = 0.0  # click weight of the share of history items in the target's group

    def __post_init__(self) -> None:
        if self.preset not in self.presets:
            raise ValueError(f"synthetic.preset {self.preset!r} not in {sorted(self.presets)}")
        if not 0 < self.click_rate < 1 or not 0 <= self.cold_item_fraction < 1:
            raise ValueError("synthetic: click_rate must be in (0, 1), cold_item_fraction in [0, 1)")
        if not 0 < self.history_median < self.history_mean:
            raise ValueError("synthetic: need 0 < history_median < history_mean")
        if min(self.chunk_rows, self.calibration_rows, self.latent_dim, self.fav_topics,
               self.group_size, self.user_groups) < 1:
            raise ValueError("synthetic: chunk_rows, calibration_rows, latent_dim, fav_topics, "
                             "group_size, user_groups ≥ 1")
        if not 0 <= self.group_prob <= 1:
            raise ValueError("synthetic: group_prob must be in [0, 1]")

    @property
    def sizes(self) -> Sizes:
        """The selected preset's sizes."""
        return from_params(Sizes, self.presets[self.preset], f"params:synthetic.presets.{self.preset}")


def synthetic_config(params: Mapping[str, Any] | None) -> SyntheticConfig:
    """``params:synthetic`` as a :class:`SyntheticConfig` (unknown keys raise)."""
    return from_params(SyntheticConfig, params, "params:synthetic")


@register("synthetic")
def _synthetic(block: Any, params: Mapping[str, Any]) -> None:
    block = as_mapping(block, "params:synthetic")
    check_preset(block, "params:synthetic")
    synthetic_config(block).sizes  # noqa: B018 - builds (and checks) the preset's sizes
