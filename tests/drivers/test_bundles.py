import numpy as np
import pandas as pd
import pytest

from fireform.drivers import bundles, data_root, load_gfed_regions
from fireform.drivers.regions import GFED_REGION_LABELS
from fireform.exceptions import DataNotFoundError, UnknownNameError


def test_data_root_unset_or_missing_is_clear(monkeypatch, tmp_path):
    monkeypatch.delenv("FIREFORM_DATA", raising=False)
    with pytest.raises(DataNotFoundError, match="FIREFORM_DATA is not set"):
        data_root()
    monkeypatch.setenv("FIREFORM_DATA", str(tmp_path / "nope"))
    with pytest.raises(DataNotFoundError, match="nope"):
        bundles.load_isimip3a_ar6()


def test_isimip_ar6_shapes_and_sanity_figures(data_dir):
    d = bundles.load_isimip3a_ar6(data_dir)
    assert isinstance(d.obs.index, pd.DatetimeIndex) and d.obs.index[0] == pd.Timestamp("1997-01-01")
    assert d.obs.index.dtype == "datetime64[ns]"
    assert d.models.index[0] == pd.Timestamp("1901-01-01") and d.models.index[-1] == pd.Timestamp("2019-12-01")
    assert d.obs.columns.names == ["region", "source"]
    assert len(d.regions) == 44 and d.regions[-1] == bundles.GLOBAL
    assert d.obs_sources == ["FireCCI5.1", "GFED5"] and len(d.model_sources) == 7
    ann = d.annual("obs").loc["2001":"2020"]
    # README sanity figures: GFED5 ~776 Mha/yr, FireCCI5.1 ~455 Mha/yr (2001-2020).
    assert ann[(bundles.GLOBAL, "GFED5")].mean() == pytest.approx(776, abs=1.0)
    assert ann[(bundles.GLOBAL, "FireCCI5.1")].mean() == pytest.approx(455, abs=1.0)
    mods = d.annual("models").loc["2001":"2019"].xs(bundles.GLOBAL, axis=1, level="region").mean()
    assert 400 < mods.min() < 410 and 670 < mods.max() < 680
    # FireCCI starts in 2001: the global sum is NaN before, never a false zero.
    assert d.series("FireCCI5.1").loc["1997":"2000"].isna().all()
    with pytest.raises(UnknownNameError, match="GFED5"):
        d.series("GFED6")


def test_gfed_regions_on_half_and_two_degree_grids(data_dir):
    lat = np.arange(-89.75, 90, 0.5)
    lon = np.arange(-179.75, 180, 0.5)
    rs = load_gfed_regions(lat, lon, data_dir=data_dir)
    assert rs.labels == ["global", *GFED_REGION_LABELS]
    n = sum(int(rs.mask(k).sum()) for k in rs.labels[1:])
    assert n == 50850  # every 0.5 degree land cell of the list, exactly once
    cells = pd.read_csv(data_dir / "gfed_regions" / "gridlist_pan_gfed_ISO3_UN.csv")
    for _, row in cells.sample(200, random_state=0).iterrows():
        j, i = np.searchsorted(lat, row["Lat"]), np.searchsorted(lon, row["Lon"])
        assert rs.mask(GFED_REGION_LABELS[int(row["GFED-region"]) - 1])[j, i]
    lat2 = np.arange(-89.0, 90, 2.0)
    lon2 = np.arange(-179.0, 180, 2.0)
    rs2 = load_gfed_regions(lat2, lon2, data_dir=data_dir)
    j, i = np.searchsorted(lat2, -11.0), np.searchsorted(lon2, 25.0)
    assert rs2.mask("SHAF")[j, i]
    labelled = sum(rs2.mask(k) for k in rs2.labels[1:])
    assert labelled.max() == 1  # no cell in two regions


def test_biomes(data_dir):
    b = bundles.load_biomes(data_dir)
    assert b.dims == ("lat", "lon") and b.shape == (360, 720)
    assert b["lat"].values[0] < b["lat"].values[-1]
    codes = set(np.unique(b.values[np.isfinite(b.values)]).astype(int))
    assert codes == set(range(1, 15)) | {98, 99}
    # Amazon (-5, -60) is tropical moist broadleaf forest (code 1).
    assert int(b.sel(lat=-4.75, lon=-60.25).item()) == 1
