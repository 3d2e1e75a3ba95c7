"""Evaluation: text metrics (metrics.py), RAG metrics (rag_metrics.py), LLM-as-judge (judge.py),
evaluation runs and comparisons (runner.py), HTML reports (report.py)."""
