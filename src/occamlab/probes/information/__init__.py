"""The information plane: I(X;T) and I(T;Y) of each layer's representation T.

* :mod:`.estimators` — binning (Shwartz-Ziv & Tishby 2017, arXiv 1703.00810), the
  pairwise-distance kernel-density bounds (Kolchinsky & Tracey 2017, arXiv 1706.02419; Saxe et
  al. 2018, arXiv 1804.08274) and HSIC / nHSIC (Ma et al. 2019, arXiv 1908.01580).
* :mod:`.monitor` — a training callback recording every layer's plane coordinates.
* :mod:`.probe` — :func:`~occamlab.probes.information.probe.information_probe`, the probe behind
  ``occam probe information``.
* :mod:`.plot` — the information-plane figure.
* :mod:`.bottleneck` — the HSIC bottleneck (Ma et al. 2019) as a layer-local training objective
  of :func:`occamlab.train.fit`, and its format step.
"""
