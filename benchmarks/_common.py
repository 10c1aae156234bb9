"""What the benchmark scripts share: a deterministic national service list."""

from __future__ import annotations

from pathlib import Path


def england_services(boundaries: Path, out: Path) -> Path:
    """A plausible national service list for the given districts (deterministic)."""
    from gapmap.boundaries import load_boundaries

    return services_for_areas(load_boundaries(boundaries), out)


def services_for_areas(areas, out: Path) -> Path:
    """`england_services` for an areas frame already loaded (e.g. England built in)."""
    import pandas as pd

    points = areas.to_crs(27700).representative_point().to_crs(4326)
    rows = []
    for i, (code, pt) in enumerate(zip(areas["area_code"], points, strict=True)):
        rows.append(
            dict(service_id=f"B-{i:04d}", name=f"IDVA service {code}", service_type="idva", provider="Bench",
                 latitude=round(pt.y, 5), longitude=round(pt.x, 5), serves=code, capacity=2 + i % 5,
                 capacity_unit="fte", hours="office")
        )  # fmt: skip
        if i % 3 == 0:
            rows.append(
                dict(service_id=f"R-{i:04d}", name=f"Refuge {code}", service_type="refuge",
                     provider="Bench", serves=code, capacity=5, capacity_unit="family_spaces",
                     hours="24_7", confidential="true")
            )  # fmt: skip
        if i % 4 == 0:
            rows.append(
                dict(service_id=f"P-{i:04d}", name=f"Schools programme {code}",
                     service_type="school_programme", provider="Bench",
                     latitude=round(pt.y + 0.01, 5), longitude=round(pt.x, 5),
                     capacity=100, capacity_unit="places", hours="office")
            )  # fmt: skip
    rows.append(dict(service_id="H-1", name="National helpline", service_type="helpline", provider="Bench",
                     serves="*", hours="24_7"))  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out, index=False)
    return out
