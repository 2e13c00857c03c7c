"""``segrules clusters``: the profile of each cluster of a clusters model as of now, computed in the
database (the same ``cluster('m')`` expression the rules use, grouped): size, share, the mean of
each numeric feature, the most common value of each string feature, and what distinguishes the
cluster (the features whose mean is furthest from the overall mean, in standard deviations)."""

from __future__ import annotations

from typing import Any

import segrules

from .config import MODELS, Kind
from .frames import POPULATION, frame
from .score import current_artifact


def cluster_profiles(spec, con, name: str, *, as_of=None) -> dict[str, Any]:
    import ibis

    from .scoring import to_ibis

    config = spec.section(MODELS) or {}
    if name not in config or config[name].kind is not Kind.clusters:
        names = [n for n, m in config.items() if m.kind is Kind.clusters]
        raise segrules.SpecError(f"the spec has no clusters model {name!r}", code="SR320",
                                 hint="clusters models: " + (", ".join(names) or "none"))
    ctx = spec.section_context(con, MODELS, as_of=as_of)
    artifact = current_artifact(ctx, name)
    table = frame(ctx, name, population=False)
    if POPULATION in table.columns:
        table = table.filter(table[POPULATION])
    features = artifact["features"]
    numeric = [f["name"] for f in features if f["kind"] == "numeric"]
    categorical = [f["name"] for f in features if f["kind"] == "categorical"]
    scored = table.mutate(_cluster=to_ibis(artifact["model"], {f["name"]: table[f["name"]] for f in features},
                                           "cluster"))
    per = scored.group_by("_cluster").aggregate(
        size=scored.count(), **{f"mean_{c}": scored[c].mean() for c in numeric}).order_by("_cluster")
    overall = scored.aggregate(n=scored.count(), **{f"mean_{c}": scored[c].mean() for c in numeric},
                               **{f"std_{c}": scored[c].std(how="pop") for c in numeric})
    rows = per.to_pyarrow().to_pylist()
    total = overall.to_pyarrow().to_pylist()[0]
    tops: dict[str, dict[int, str]] = {}
    for c in categorical:
        counts = scored.group_by(["_cluster", c]).aggregate(n=scored.count())
        best = counts.mutate(rank=ibis.row_number().over(group_by="_cluster", order_by=[ibis.desc("n"), c]))
        tops[c] = {r["_cluster"]: r[c] for r in best.filter(best.rank == 0).to_pyarrow().to_pylist()}
    profiles = []
    for row in rows:
        k = row["_cluster"]
        z = {}
        for c in numeric:
            std = total[f"std_{c}"] or 1.0
            if row[f"mean_{c}"] is not None and total[f"mean_{c}"] is not None:
                z[c] = (row[f"mean_{c}"] - total[f"mean_{c}"]) / std
        ranked = sorted(z, key=lambda c: -abs(z[c]))
        profiles.append({"cluster": k, "size": row["size"], "share": row["size"] / total["n"] if total["n"] else None,
                         "means": {c: row[f"mean_{c}"] for c in numeric},
                         "top": {c: tops[c].get(k) for c in categorical},
                         "distinguished_by": [f"{'high' if z[c] > 0 else 'low'} {c} ({z[c]:+.1f} sd)"
                                              for c in ranked[:2] if abs(z[c]) >= 0.25]})
    return {"spec": spec.name, "model": name, "version": artifact["version"], "as_of": f"{ctx.now:%Y-%m-%d %H:%M:%S}",
            "entities": total["n"], "numeric": numeric, "categorical": categorical, "profiles": profiles}
