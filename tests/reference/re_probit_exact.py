"""Independent computation of the random-effects probit MLE for tests/reference/re_probit.json.

The likelihood of each firm, integral over u of prod_t Phi(q_it (x_it'b + u)) * phi(u / s) / s, is integrated
by scipy.integrate.quad (adaptive Gauss-Kronrod, relative tolerance 1e-12) on u in [-12 s, 12 s] -- no Gauss-Hermite
quadrature and no clusterecon code -- and maximised by scipy BFGS, then polished by Nelder-Mead-free Newton steps
on a statsmodels numerical Hessian. Run: python tests/reference/re_probit_exact.py (about a minute).
"""

import json
from pathlib import Path

import numpy as np
from scipy import integrate, optimize, stats


def simulate(seed: int = 20240611, n_firms: int = 120, T: int = 5):
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_firms), T)
    year = np.tile(np.arange(2001, 2001 + T), n_firms)
    x1 = rng.normal(size=n_firms * T)
    d = (rng.uniform(size=n_firms * T) < 0.4).astype(float)
    u = np.repeat(rng.normal(scale=1.0, size=n_firms), T)
    y = (-0.3 + 0.8 * x1 + 0.5 * d + u + rng.normal(size=n_firms * T) > 0).astype(float)
    return firm, year, x1, d, y


def exact_loglik(theta, firm, X, y):
    k = X.shape[1]
    b, s = theta[:k], np.exp(theta[k] / 2)
    q = 2 * y - 1
    total = 0.0
    for i in np.unique(firm):
        rows = firm == i
        xb, qi = X[rows] @ b, q[rows]

        def f(u, xb=xb, qi=qi):
            return np.prod(stats.norm.cdf(qi * (xb + u))) * stats.norm.pdf(u / s) / s

        val, _ = integrate.quad(f, -12 * s, 12 * s, epsabs=0, epsrel=1e-12, limit=400, points=[0.0])
        total += np.log(val)
    return total


def main():
    from statsmodels.tools.numdiff import approx_fprime, approx_hess

    firm, year, x1, d, y = simulate()
    X = np.column_stack([np.ones_like(x1), x1, d])
    nll = lambda t: -exact_loglik(t, firm, X, y)  # noqa: E731
    res = optimize.minimize(nll, np.r_[-0.3, 0.8, 0.5, 0.0], method="BFGS", options={"gtol": 1e-7})
    theta = res.x
    for _ in range(3):  # Newton polish on the exact likelihood
        g = approx_fprime(theta, nll, centered=True)
        H = approx_hess(theta, nll)
        theta = theta - np.linalg.solve(H, g)
    H = approx_hess(theta, nll)
    se = np.sqrt(np.diag(np.linalg.inv(H)))
    out = {
        "source": "Independent computation (no published xtprobit example has public data offline): simulated panel "
                  "from tests/reference/re_probit_exact.py simulate(seed=20240611, 120 firms x 5 years; true b = "
                  "(-0.3, 0.8, 0.5), sigma_u = 1). Exact ML by scipy.integrate.quad (epsrel 1e-12) of each firm's "
                  "likelihood, maximised by BFGS + Newton polish; SEs from the inverse numerical Hessian "
                  "(statsmodels approx_hess). No Gauss-Hermite quadrature and no clusterecon code involved.",
        "formula": "y ~ x1 + d",
        "names": ["Intercept", "x1", "d", "lnsig2u"],
        "coef": theta.tolist(),
        "se": se.tolist(),
        "loglik": -float(nll(theta)),
        "tolerance": {"coef_points_32": 1e-6, "se_points_32": 1e-4, "loglik_points_32": 1e-7,
                      "coef_points_12": 2e-3, "loglik_points_12": 1e-3},
        "scipy_message": res.message,
    }
    path = Path(__file__).with_name("re_probit.json")
    path.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
