"""Evaluation: measure codecs honestly and compare them.

* :mod:`~licodec.eval.metrics` — PSNR on 8-bit RGB, MS-SSIM (Wang et al. 2003).
* :mod:`~licodec.eval.classical` — JPEG 4:4:4/4:2:0, WebP, AVIF 4:4:4, JPEG 2000, JPEG XL;
  :mod:`~licodec.eval.lic` — licodec models through the public API; :mod:`~licodec.eval.codecs`
  parses ``--codecs``.
* :mod:`~licodec.eval.runner` — images x codecs x settings, each point a real file, in parallel.
* :mod:`~licodec.eval.results` — results schema, JSON/CSV, reading curves back.
* :mod:`~licodec.eval.bdrate` — Bjøntegaard BD-rate / BD-PSNR (VCEG-M33, VCEG-AL22).
* :mod:`~licodec.eval.anchors` — published Kodak curves (VTM, BPG, ELIC, ...).
* :mod:`~licodec.eval.plots`, :mod:`~licodec.eval.report` — RD plots and a self-contained HTML report.

Command line: ``lic eval`` and ``lic bdrate`` (``docs/evaluation.md``). Submodules import their
heavy dependencies (matplotlib, scipy, imagecodecs) lazily.
"""
