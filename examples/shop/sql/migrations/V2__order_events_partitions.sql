-- Monthly partitions; a default partition catches rows that arrive before their month exists.

CREATE TABLE order_events_2024_11 PARTITION OF order_events
    FOR VALUES FROM ('2024-11-01') TO ('2024-12-01');
CREATE TABLE order_events_2024_12 PARTITION OF order_events
    FOR VALUES FROM ('2024-12-01') TO ('2025-01-01');
CREATE TABLE order_events_2025_01 PARTITION OF order_events
    FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
CREATE TABLE order_events_default PARTITION OF order_events DEFAULT;

CREATE INDEX order_events_order_id_occurred_at_idx ON order_events (order_id, occurred_at DESC);
CREATE INDEX order_events_occurred_at_brin ON order_events USING brin (occurred_at);
