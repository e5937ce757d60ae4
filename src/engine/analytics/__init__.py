"""Analytics over ClickHouse: the one query catalog shared by the engine API and the cockpit."""
