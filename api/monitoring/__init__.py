"""What operators watch: request ids and access logs, Prometheus metrics, the queue backlog."""
