"""Evaluation: which channel finds which photo, and does fusion help — measured, per channel and fused.

metrics (MRR, Recall@k, nDCG, bootstrap intervals), queries (query files, known captions),
run (protocols → per-query results), tune (fusion weights by cross-validation), report
(Markdown + HTML with plots, JSON, comparing two runs).
"""
