"""Speed and memory measurements that print tables; run each as `python -m benchmarks.<name>`."""
