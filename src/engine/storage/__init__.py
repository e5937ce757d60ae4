"""ClickHouse storage: connections (server or embedded chDB) and schema migrations."""

from engine.storage.clickhouse import StorageError, connect, parse_url, to_thread

__all__ = ["StorageError", "connect", "parse_url", "to_thread"]
