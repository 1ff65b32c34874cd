"""Grid reading, ILAMB 2.x grid composition and nearest neighbour, conservative remapping:
hand-computed small cases and conservation."""

from __future__ import annotations

import numpy as np
import pytest

from fireform.exceptions import ScoringError
from fireform.scoring.conservative import lat_overlap, lon_overlap, remap_conservative, total
from fireform.scoring.regrid import Grid, bounds_from_centres, compose, nearest, read_grid, rebuilt, take


def _grid(lat_edges, lon_edges) -> Grid:
    la, lo = np.asarray(lat_edges, float), np.asarray(lon_edges, float)
    lb, ob = np.stack([la[:-1], la[1:]], 1), np.stack([lo[:-1], lo[1:]], 1)
    return Grid(lb.mean(1), ob.mean(1), lb, ob)


# -- reading ----------------------------------------------------------------------------------
def test_bounds_from_centres_midpoints_and_half_steps():
    b = bounds_from_centres(np.array([0.5, 1.5, 3.0]))
    np.testing.assert_array_equal(b, [[0.0, 1.0], [1.0, 2.25], [2.25, 3.75]])


def test_read_grid_flips_north_to_south_and_moves_0_360():
    lat = np.array([45.0, 15.0, -15.0, -45.0])
    lon = np.array([0.0, 90.0, 180.0, 270.0])
    g = read_grid(lat, lon)
    np.testing.assert_array_equal(g.grid.lat, [-45, -15, 15, 45])
    np.testing.assert_array_equal(g.grid.lon, [-90, 0, 90, 180])
    np.testing.assert_array_equal(g.lat_order, [3, 2, 1, 0])
    np.testing.assert_array_equal(g.lon_order, [3, 0, 1, 2])
    data = np.arange(16.0).reshape(4, 4)  # data[i, j] = 4 i + j in file order
    put = g.put(data)
    assert put[0, 0] == data[3, 3] and put[3, 1] == data[0, 0]
    # bounds at mid-points, the outer half a step out, then clipped to [-180, 180] (2.x)
    np.testing.assert_array_equal(g.grid.lon_bnds, [[-135, -45], [-45, 45], [45, 135], [135, 180]])
    np.testing.assert_array_equal(g.grid.lat_bnds, [[-60, -30], [-30, 0], [0, 30], [30, 60]])


def test_read_grid_uses_file_bounds_north_to_south_and_0_360():
    lat = np.array([10.0, 0.0])
    lat_b = np.array([[20.0, 5.0], [5.0, -10.0]])  # north-to-south rows, as such files write them
    lon = np.array([350.0, 10.0])
    lon_b = np.array([[340.0, 360.0], [0.0, 20.0]])
    g = read_grid(lat, lon, lat_b, lon_b).grid
    np.testing.assert_array_equal(g.lat, [0, 10])
    np.testing.assert_array_equal(g.lat_bnds, [[-10, 5], [5, 20]])  # uneven: the file's, not mid-points
    np.testing.assert_array_equal(g.lon, [-10, 10])
    np.testing.assert_array_equal(g.lon_bnds, [[-20, 0], [0, 20]])


@pytest.mark.parametrize("lat, lon, match", [
    (np.zeros((2, 2)), np.arange(2.0), "1-D"),
    (np.array([0.0]), np.arange(2.0), "at least 2"),
    (np.array([0.0, 1.0, 0.5]), np.arange(2.0), "not monotonic"),
    (np.arange(2.0), np.array([10.0, 370.0]), "not strictly increasing"),
])
def test_read_grid_errors_name_the_file(lat, lon, match):
    with pytest.raises(ScoringError, match=match) as e:
        read_grid(lat, lon, label="'f.nc' 'burntArea'")
    assert "'f.nc' 'burntArea'" in str(e.value)


# -- composition, hand-computed ---------------------------------------------------------------
def test_compose_union_of_boundaries():
    a = _grid([0, 1, 2], [10, 12, 14])
    b = _grid([0, 0.5, 2], [9, 11, 13, 15])
    g = compose(a, b)
    np.testing.assert_array_equal(g.lat_bnds, [[0, 0.5], [0.5, 1], [1, 2]])
    np.testing.assert_array_equal(g.lat, [0.25, 0.75, 1.5])
    np.testing.assert_array_equal(g.lon_bnds[:, 0], [9, 10, 11, 12, 13, 14])
    np.testing.assert_array_equal(g.lon, [9.5, 10.5, 11.5, 12.5, 13.5, 14.5])


def test_compose_one_degree_with_two_and_a_half():
    """Boundaries every 1 and every 2.5 degrees: composed cells of 0.5 and 1 degree."""
    a = _grid(np.arange(0, 6.0), np.arange(0, 6.0))
    b = _grid([0, 2.5, 5], [0, 2.5, 5])
    g = compose(a, b)
    np.testing.assert_array_equal(g.lat_bnds[:, 0], [0, 1, 2, 2.5, 3, 4])
    np.testing.assert_array_equal(g.lat_bnds[:, 1] - g.lat_bnds[:, 0], [1, 1, 0.5, 0.5, 1, 1])


def test_compose_drops_boundaries_beyond_the_poles_and_dateline():
    a = _grid([-90, 0, 90], [-180, 0, 180])
    b = _grid([-95, -45, 45, 95], [-190, 90, 190])
    g = compose(a, b)
    np.testing.assert_array_equal(g.lat_bnds[:, 0], [-90, -45, 0, 45])
    assert g.lat_bnds[-1, 1] == 90 and g.lon_bnds[0, 0] == -180 and g.lon_bnds[-1, 1] == 180
    np.testing.assert_array_equal(g.lon, [-90, 45, 135])


def test_nearest_by_centre_first_on_ties_no_wrap():
    src = _grid([0, 2, 4], [-180, 0, 180])  # centres lat 1, 3; lon -90, 90
    dst = _grid([0, 1, 2, 3, 4], [-180, -179, 179, 180])  # lat 0.5 1.5 2.5 3.5; lon -179.5 0 179.5
    rows, cols = nearest(src, dst)
    np.testing.assert_array_equal(rows, [0, 0, 1, 1])
    np.testing.assert_array_equal(cols, [0, 0, 1])  # 0 is as near to -90 as to 90: the first
    data = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(take(data, rows, cols), [[1, 1, 2], [1, 1, 2], [3, 3, 4], [3, 3, 4]])


def test_nearest_repeats_edge_cells_outside_the_source():
    src = _grid([0, 1, 2], [0, 1, 2])
    dst = _grid([-2, -1, 0, 1, 2, 3], [0, 1, 2])
    rows, _ = nearest(src, dst)
    np.testing.assert_array_equal(rows, [0, 0, 0, 1, 1])


def test_rebuilt_bounds_on_a_composed_grid():
    """2.x's maps keep the centres only: bounds at their mid-points (unequal widths move)."""
    g = compose(_grid(np.arange(0, 6.0), [0, 1, 2]), _grid([0, 2.5, 5], [0, 1, 2]))
    r = rebuilt(g)
    np.testing.assert_allclose(r.lat_bnds[:, 0], [0, 1, 1.875, 2.5, 3.125, 4])
    assert not np.allclose(r.area(), g.area())
    same = _grid(np.arange(0, 6.0), np.arange(0, 4.0))
    np.testing.assert_allclose(rebuilt(same).area(), same.area(), rtol=1e-14)


def test_area_is_the_exact_spherical_area():
    g = _grid([-90, 0, 90], [-180, 180])
    np.testing.assert_allclose(g.area().sum(), 4 * np.pi * 6_371_000.0**2, rtol=1e-14)


# -- conservative remapping ---------------------------------------------------------------------
def test_overlaps_hand_computed():
    s = np.array([[0.0, 30.0], [30.0, 90.0]])
    d = np.array([[0.0, 60.0]])
    w = lat_overlap(s, d)
    np.testing.assert_allclose(w, [[0.5, np.sin(np.pi / 3) - 0.5]])
    lon_s = np.array([[170.0, 180.0], [-180.0, -170.0]])
    lon_d = np.array([[175.0, 185.0]])  # straddles the dateline
    np.testing.assert_allclose(np.rad2deg(lon_overlap(lon_s, lon_d)), [[5.0, 5.0]])


def _global(step):
    return _grid(np.arange(-90, 90.001, step), np.arange(-180, 180.001, step))


@pytest.mark.parametrize("src_step, dst_step, shift", [(0.5, 1.0, 0.0), (1.0, 2.5, 0.0), (2.5, 1.0, 0.0),
                                                       (1.0, 1.0, 0.5)])
def test_conservative_conserves_the_global_total(src_step, dst_step, shift):
    src = _global(src_step)
    dst = _global(dst_step)
    if shift:
        dst = Grid(dst.lat, dst.lon + shift, dst.lat_bnds, dst.lon_bnds + shift)
    rng = np.random.default_rng(0)
    x = rng.random((3,) + src.shape) ** 4 * 0.1
    x[:, rng.random(src.shape) < 0.3] = np.nan  # oceans
    out = remap_conservative(x, src, dst)
    before, after = total(x, src), total(out.values, dst, out.coverage)
    np.testing.assert_allclose(after, before, rtol=1e-6)
    assert np.nanmax(np.abs(after / before - 1)) < 1e-12  # measured: rounding only


def test_conservative_keeps_a_constant_and_is_identity_on_the_same_grid():
    src, dst = _global(2.0), _global(5.0)
    out = remap_conservative(np.full(src.shape, 0.25), src, dst)
    np.testing.assert_allclose(out.values, 0.25, rtol=1e-12)
    np.testing.assert_allclose(out.coverage, 1.0, rtol=1e-12)
    x = np.random.default_rng(1).random(src.shape)
    np.testing.assert_allclose(remap_conservative(x, src, src).values, x, rtol=1e-12)


def test_conservative_leaves_uncovered_cells_missing():
    src = _grid([0, 10], [0, 10])
    dst = _grid([0, 10, 20], [0, 10, 20])
    out = remap_conservative(np.array([[[0.5]]]), src, dst)
    assert out.values[0, 0, 0] == 0.5 and np.isnan(out.values[0, 1:, :]).all() and np.isnan(out.values[0, 0, 1])
    np.testing.assert_array_equal(out.coverage, [[1, 0], [0, 0]])
