"""Where decisions go besides Kafka: ClickHouse (history) and Redis (enforcement)."""
