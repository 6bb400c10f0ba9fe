"""What each customer will buy next, and when (functions/recommend only).

Importing this package is cheap and numpy-free, so that `kaeri.predictions.store` can be read by
any function; the numpy-backed modules (bgnbd, gamma_gamma, recommender, nightly, evaluation)
are imported explicitly by functions/recommend and the `kaeri eval` commands.
"""
