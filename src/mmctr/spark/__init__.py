"""The data stages on Apache Spark: session, contract, features, similarity, factors.

A library below the stages (like :mod:`mmctr.engine` and :mod:`mmctr.data`): the
``spark_features`` and ``spark_similarity`` stages wire it, the ``spark`` environment runs
them. PySpark is an extra (``pip install -e ".[spark]"``) and needs Java 17; nothing here
imports it until a Spark stage runs. The numeric kernels are :mod:`mmctr.data.kernels`'
own, applied to Arrow batches on the executors (``mapInArrow``).
"""
