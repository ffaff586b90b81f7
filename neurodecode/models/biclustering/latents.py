"""Joint draw of whole latent trajectories from a block-tridiagonal Gaussian posterior.

The posterior of a linear-Gaussian state space (given Pólya-Gamma variables,
loadings and the switching states) has a block-tridiagonal precision. We write
it in LAPACK lower band storage and draw all time steps at once with a banded
Cholesky factorisation: O(T d^3) work and no Python loop over time. Several
independent sequences (one per neuron cluster) are stacked into one band.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve_banded, cholesky_banded
from scipy.linalg.lapack import dtbtrs

__all__ = ["blocks_to_banded", "banded_to_dense", "equilibrated_band_cholesky",
           "banded_gaussian_logpdf", "sample_banded_gaussian",
           "dynamics_precision", "stacked_band", "sample_band_gaussian_t", "sample_latents",
           "sample_slds_prior"]


def blocks_to_banded(diag: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Lower band storage of a block-tridiagonal symmetric matrix.

    Parameters
    ----------
    diag : ndarray, shape (n, d, d)
        Diagonal blocks ``Λ[m, m]``.
    lower : ndarray, shape (n - 1, d, d)
        Sub-diagonal blocks ``Λ[m + 1, m]``.

    Returns
    -------
    ndarray, shape (2 d, n d)
        ``ab[i - j, j] = Λ[i, j]`` for ``i >= j`` (scipy ``cholesky_banded(lower=True)``).
    """
    n, d, _ = diag.shape
    ab = np.zeros((2 * d, n * d))
    cols = np.arange(n) * d
    for a in range(d):
        for b in range(a + 1):
            ab[a - b, cols + b] = diag[:, a, b]
    if n > 1:
        for a in range(d):
            for b in range(d):
                ab[d + a - b, cols[:-1] + b] = lower[:, a, b]
    return ab


def banded_to_dense(ab: np.ndarray) -> np.ndarray:
    """Dense symmetric matrix from lower band storage (for tests and small problems)."""
    bands, n = ab.shape
    M = np.zeros((n, n))
    for k in range(bands):
        idx = np.arange(n - k)
        M[idx + k, idx] = ab[k, : n - k]
        M[idx, idx + k] = ab[k, : n - k]
    return M


def equilibrated_band_cholesky(ab: np.ndarray):
    """Banded Cholesky factor of the equilibrated precision ``S Λ S``, ``S = diag(Λ)^{-1/2}``.

    The equilibration is an exact change of variables (``u = S⁻¹ x``) that keeps the
    factorisation stable when some innovation variances are tiny.

    Parameters
    ----------
    ab : ndarray, shape (u + 1, n)
        Lower band storage of the precision ``Λ``.

    Returns
    -------
    chol : ndarray, shape (u + 1, n)
        Lower band storage of ``L`` with ``L Lᵀ = S Λ S``.
    scale : ndarray, shape (n,)
        The diagonal of ``S``.

    Examples
    --------
    >>> chol, scale = equilibrated_band_cholesky(np.array([[4.0, 4.0], [-1.0, 0.0]]))
    >>> np.round(scale, 3)
    array([0.5, 0.5])
    """
    n = ab.shape[1]
    scale = 1.0 / np.sqrt(ab[0])
    scaled = ab.copy()
    for k in range(1, min(ab.shape[0], n)):
        scaled[k, : n - k] *= scale[k:] * scale[: n - k]
    scaled[0] = 1.0
    return cholesky_banded(scaled, lower=True, check_finite=False), scale


def banded_gaussian_logpdf(x, chol, mean) -> float:
    """``log N(x; mean, (L Lᵀ)⁻¹)`` with ``L`` in lower band storage (``chol[k, j] = L[j+k, j]``).

    Examples
    --------
    >>> from scipy.linalg import cholesky_banded
    >>> chol = cholesky_banded(np.array([[2.0, 2.0], [-1.0, 0.0]]), lower=True)
    >>> round(banded_gaussian_logpdf(np.zeros(2), chol, np.zeros(2)), 6)
    -1.288571
    """
    diff = np.asarray(x, float).reshape(-1) - mean
    n = len(diff)
    proj = chol[0] * diff  # Lᵀ diff: (Lᵀ v)_j = Σ_k L[j+k, j] v[j+k]
    for k in range(1, chol.shape[0]):
        proj[: n - k] += chol[k, : n - k] * diff[k:]
    return float(np.log(chol[0]).sum() - 0.5 * proj @ proj - 0.5 * n * np.log(2 * np.pi))


def sample_banded_gaussian(ab: np.ndarray, h: np.ndarray, rng: np.random.Generator,
                           size: int | None = None):
    """Draw ``x ~ N(Λ^{-1} h, Λ^{-1})`` with ``Λ`` given in lower band storage.

    Parameters
    ----------
    ab : ndarray, shape (u + 1, n)
        Lower band storage of the precision ``Λ``.
    h : ndarray, shape (n,)
        Information vector.
    size : int, optional
        Number of independent draws (extra leading axis); default one draw.

    Returns
    -------
    x : ndarray, shape (n,) or (size, n)
    mean : ndarray, shape (n,)

    Examples
    --------
    >>> ab = np.array([[2.0, 2.0, 2.0], [-1.0, -1.0, 0.0]])
    >>> x, mean = sample_banded_gaussian(ab, np.ones(3), np.random.default_rng(0))
    >>> np.round(mean, 6)
    array([1.5, 2. , 1.5])
    """
    n = ab.shape[1]
    chol, scale = equilibrated_band_cholesky(ab)
    mean = scale * cho_solve_banded((chol, True), scale * h, check_finite=False)
    z = rng.standard_normal((n, 1 if size is None else size))
    noise, info = dtbtrs(chol, z, uplo="L", trans="T")
    if info != 0:  # pragma: no cover - cholesky_banded already raised for non-PD input
        raise np.linalg.LinAlgError(f"banded triangular solve failed (info={info})")
    x = mean[:, None] + scale[:, None] * noise
    return (x[:, 0] if size is None else x.T), mean


def _transition_terms(A, b, Q):
    """Per-(cluster, state) pieces of the transition log-density's quadratic form.

    ``J = Q⁻¹``, ``JA``, ``AᵀJA``, ``Jb``, ``AᵀJb``, each shaped like ``A``/``b``.
    """
    J = np.linalg.inv(Q)
    JA = J @ A
    Jb = np.einsum("ksab,ksb->ksa", J, b)
    return J, JA, np.swapaxes(A, -1, -2) @ JA, Jb, np.einsum("ksba,ksb->ksa", A, Jb)


def dynamics_precision(states, A, b, Q, prior_precision):
    """Block-tridiagonal precision and information of switching linear dynamics.

    ``x_0 ~ N(0, prior_precision^{-1})`` and ``x_t = A_s x_{t-1} + b_s + N(0, Q_s)``
    with ``s = states[t]`` for ``t >= 1`` (``states[0]`` governs nothing).

    Parameters
    ----------
    states : ndarray of int, shape (T,)
    A : ndarray, shape (K, S, d, d)
    b : ndarray, shape (K, S, d)
    Q : ndarray, shape (K, S, d, d)
    prior_precision : ndarray, shape (d, d)

    Returns
    -------
    diag : (K, T, d, d), lower : (K, T - 1, d, d) (``Λ[t, t-1]``), h : (K, T, d)
    """
    K, _, d, _ = A.shape
    T = len(states)
    J, JA, AtJA, Jb, AtJb = _transition_terms(A, b, Q)
    s = np.asarray(states[1:])
    diag = np.zeros((K, T, d, d))
    h = np.zeros((K, T, d))
    diag[:, 0] += prior_precision
    diag[:, 1:] += J[:, s]
    diag[:, :-1] += AtJA[:, s]
    lower = -JA[:, s]
    h[:, 1:] += Jb[:, s]
    h[:, :-1] -= AtJb[:, s]
    return diag, lower, h


def _sample_stacked(diag, lower, h, rng):
    """Reference path: stack per-cluster blocks, then :func:`blocks_to_banded` (tests only)."""
    K, T, d, _ = diag.shape
    lower_all = np.zeros((K, T, d, d))
    lower_all[:, : T - 1] = lower  # block T-1 of each sequence couples to the next: zero
    ab = blocks_to_banded(diag.reshape(K * T, d, d), lower_all.reshape(K * T, d, d)[:-1])
    x, _ = sample_banded_gaussian(ab, h.reshape(-1), rng)
    return x.reshape(K, T, d)


def stacked_band(states, A, b, Q, prior_precision, obs_precision=None, obs_info=None):
    """Band of the stacked block-tridiagonal precision, built in one gather (fast path).

    The same matrix and information vector as :func:`dynamics_precision` (plus the
    observation terms) stacked over clusters and written by :func:`blocks_to_banded`,
    with identical floating-point operations, so the result is bit-for-bit the same.
    Every block ``t`` depends only on the pair ``(ξ_t, ξ_{t+1})`` (``ξ_0`` and
    ``ξ_T`` replaced by a sentinel that carries the ``x_0`` prior and no
    successor), so each cluster's blocks are looked up from a table over the
    ``(S + 1)²`` pairs. Blocks are laid out as ``(3 d, d)`` tiles
    ``[Λ[t, t]; Λ[t + 1, t]; 0]``; the band is a strided view of those tiles.

    Parameters
    ----------
    states : ndarray of int, shape (T,)
    A, Q : ndarray, shape (K, S, d, d); b : ndarray, shape (K, S, d)
    prior_precision : ndarray, shape (d, d)
    obs_precision : ndarray, shape (K, T, d, d), optional
    obs_info : ndarray, shape (K, T, d), optional

    Returns
    -------
    ab_t : ndarray, shape (K T d, 2 d)
        Transposed lower band storage (``ab_t.T`` is the Fortran-ordered LAPACK band,
        ``ab_t.T[i - j, j] = Λ[i, j]``).
    h : ndarray, shape (K T d,)

    Examples
    --------
    >>> K, S, d = 1, 2, 2
    >>> A = np.zeros((K, S, d, d)); b = np.zeros((K, S, d))
    >>> Q = np.broadcast_to(np.eye(d), (K, S, d, d))
    >>> ab_t, h = stacked_band(np.array([0, 1, 1]), A, b, Q, np.eye(d))
    >>> ab_t.shape, h.shape
    ((6, 4), (6,))
    """
    K, S, d, _ = A.shape
    s = np.asarray(states)
    table = pair_table(A, b, Q, prior_precision)
    s_in = np.concatenate([[S], s[1:]])
    s_out = np.concatenate([s[1:], [S]])
    tiles = np.take(table, s_in * (S + 1) + s_out, axis=1)
    if obs_precision is not None:
        tiles[:, :, :d] += obs_precision
    h = tiles[:, :, 3 * d].reshape(-1)
    if obs_info is not None:
        h = h + obs_info.reshape(-1)
    return band_from_tiles(tiles), h


def pair_table(A, b, Q, prior_precision) -> np.ndarray:
    """Precision tiles of one time block for every (incoming, outgoing) state pair.

    Returns
    -------
    ndarray, shape (K, (S + 1)², 3 d + 1, d)
        Entry ``[k, i (S + 1) + o]``: rows ``:d`` the diagonal block ``Λ[t, t]``, rows
        ``d:2d`` the sub-diagonal block ``Λ[t + 1, t]``, row ``3 d`` the information, for
        a block entered by state ``i`` and left by state ``o`` (``S``: the sentinel, the
        ``x_0`` prior when incoming, no successor when outgoing).
    """
    K, S, d, _ = A.shape
    J, JA, AtJA, Jb, AtJb = _transition_terms(A, b, Q)
    # "incoming" terms by the state of the step into t (sentinel S: the x_0 prior) and
    # "outgoing" terms by the state of the step out of t (sentinel S: none)
    j_in = np.concatenate([J, np.broadcast_to(prior_precision, (K, 1, d, d))], axis=1)
    jb_in = np.concatenate([Jb, np.zeros((K, 1, d))], axis=1)
    zeros = np.zeros((K, 1, d, d))
    atja_out = np.concatenate([AtJA, zeros], axis=1)
    ja_out = np.concatenate([JA, zeros], axis=1)
    atjb_out = np.concatenate([AtJb, np.zeros((K, 1, d))], axis=1)
    S1 = S + 1
    table = np.zeros((K, S1, S1, 3 * d + 1, d))
    table[:, :, :, :d] = j_in[:, :, None] + atja_out[:, None, :]
    table[:, :, :, d:2 * d] = -ja_out[:, None, :]
    table[:, :, :, 3 * d] = jb_in[:, :, None] - atjb_out[:, None, :]
    return table.reshape(K, S1 * S1, 3 * d + 1, d)


def band_from_tiles(tiles: np.ndarray) -> np.ndarray:
    """Transposed lower band ``(n_blocks d, 2 d)`` from ``(..., 3 d + 1, d)`` tiles in order."""
    d = tiles.shape[-1]
    tiles = np.ascontiguousarray(tiles)
    # band entry (row j of ab_t, offset m) = tile element (m + b, b) of column b of block t
    n_blocks = tiles.size // ((3 * d + 1) * d)
    item = tiles.itemsize
    view = np.lib.stride_tricks.as_strided(
        tiles, shape=(n_blocks, d, 2 * d),
        strides=((3 * d + 1) * d * item, (d + 1) * item, d * item), writeable=False)
    return np.ascontiguousarray(view).reshape(n_blocks * d, 2 * d)


def sample_band_gaussian_t(ab_t: np.ndarray, h: np.ndarray, rng: np.random.Generator):
    """:func:`sample_banded_gaussian` (one draw) on a transposed band, in place, no copies.

    Parameters
    ----------
    ab_t : ndarray, shape (n, u + 1), C-contiguous
        ``ab_t.T`` is the lower band storage of ``Λ``; it is overwritten.
    h : ndarray, shape (n,)

    Returns
    -------
    ndarray, shape (n,)
        The same numbers as ``sample_banded_gaussian(ab_t.T, h, rng)[0]`` with the same
        generator state.
    """
    from scipy.linalg.lapack import dpbtrf, dpbtrs

    n, bands = ab_t.shape
    scale = 1.0 / np.sqrt(ab_t[:, 0])
    band = ab_t.T  # Fortran-ordered (u + 1, n): LAPACK works on it without copying
    # equilibrate exactly as the reference path: entry (k, j) times scale[j + k] * scale[j]
    for k in range(1, min(bands, n)):
        band[k, : n - k] *= scale[k:] * scale[: n - k]
    band[0] = 1.0
    chol, info = dpbtrf(band, lower=1, overwrite_ab=1)
    if info != 0:
        if info > 0:
            raise np.linalg.LinAlgError(f"{info}-th leading minor not positive definite")
        raise ValueError(f"illegal value in {-info}-th argument of internal pbtrf")
    mean, info = dpbtrs(chol, scale * h, lower=1)
    mean *= scale
    z = rng.standard_normal((n, 1))
    noise, info = dtbtrs(chol, z, uplo="L", trans="T", overwrite_b=1)
    if info != 0:  # pragma: no cover - dpbtrf already failed for non-PD input
        raise np.linalg.LinAlgError(f"banded triangular solve failed (info={info})")
    return mean + scale * noise[:, 0]


def sample_latents(states, A, b, Q, prior_precision, obs_precision, obs_info, rng):
    """Joint posterior draw of every cluster's latent trajectory.

    Parameters
    ----------
    states, A, b, Q, prior_precision
        Dynamics, as in :func:`dynamics_precision`.
    obs_precision : ndarray, shape (K, T, d, d)
        Observation precision per cluster and bin (``Σ_i ω_it g_i g_iᵀ``).
    obs_info : ndarray, shape (K, T, d)
        Observation information (``Σ_i g_i (κ_it - ω_it o_it)``).

    Returns
    -------
    ndarray, shape (K, T, d)
    """
    K, T, d = obs_info.shape
    ab_t, h = stacked_band(states, A, b, Q, prior_precision, obs_precision, obs_info)
    return sample_band_gaussian_t(ab_t, h, rng).reshape(K, T, d)


def sample_slds_prior(states, A, b, Q, prior_precision, rng):
    """Draw trajectories from the switching linear dynamics prior alone.

    By the forward recursion ``x_0 = chol(P0⁻¹) z_0``,
    ``x_t = A_{ξ_t} x_{t-1} + b_{ξ_t} + chol(Q_{ξ_t}) z_t``: exact, stable for
    nearly singular ``Q``, and (vectorised over clusters, one small batched
    product per step) 2-4x cheaper than the banded joint draw it replaced, whose
    cost grows with the number of clusters times ``T``.

    Parameters
    ----------
    states : ndarray of int, shape (T,)
    A, Q : ndarray, shape (K, S, d, d); b : ndarray, shape (K, S, d)
    prior_precision : ndarray, shape (d, d)
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (K, T, d)

    Examples
    --------
    >>> A = np.zeros((2, 1, 2, 2)); b = np.ones((2, 1, 2))
    >>> Q = np.broadcast_to(0.01 * np.eye(2), (2, 1, 2, 2))
    >>> x = sample_slds_prior(np.zeros(5, int), A, b, Q, np.eye(2), np.random.default_rng(0))
    >>> x.shape, bool(np.all(np.abs(x[:, 1:] - 1) < 0.5))
    ((2, 5, 2), True)
    """
    K, S, d, _ = A.shape
    s = np.asarray(states)
    T = len(s)
    z = rng.standard_normal((T, K, d))
    chol_Q = np.linalg.cholesky(Q)
    chol0 = np.linalg.cholesky(np.linalg.inv(prior_precision))
    x = np.empty((T, K, d, 1))
    x[0, :, :, 0] = z[0] @ chol0.T
    # innovations b + chol(Q) z for all steps, one contraction per state
    e = np.empty((T, K, d))
    for st in np.unique(s[1:]):
        idx = np.flatnonzero(s[1:] == st) + 1
        e[idx] = np.einsum("kab,tkb->tka", chol_Q[:, st], z[idx]) + b[:, st]
    A_by_state = np.ascontiguousarray(np.swapaxes(A, 0, 1))  # (S, K, d, d)
    matmul = np.matmul
    seq = s.tolist()
    for t in range(1, T):
        matmul(A_by_state[seq[t]], x[t - 1], out=x[t])
        x[t, :, :, 0] += e[t]
    return np.ascontiguousarray(np.swapaxes(x[..., 0], 0, 1))
