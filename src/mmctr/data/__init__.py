"""The data path's library (numpy and torch, no Kedro), shared by the stages that need it.

* :mod:`.contract` — the raw MicroLens tables' checks and parsing (``feature_engineering``,
  and any other reader of the raw files);
* :mod:`.item_contract` — the optional ``item_feature.parquet``'s checks;
* :mod:`.kernels` — the per-row target–history similarity kernels (``semantic_similarity``);
* :mod:`.recipes`, :mod:`.co_click`, :mod:`.embedding` — the item-embedding recipes
  (``item_embedding``, the ablation's recipe variants, the synthetic generator).
"""
