-- Reporting tables, owned by the data team and applied with Flyway after the Alembic head.
-- The application never writes them; a nightly job copies order events in.

CREATE TABLE order_events (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    order_id    bigint NOT NULL,
    event_type  text NOT NULL CHECK (event_type IN ('placed', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded')),
    amount      numeric(12,2),
    occurred_at timestamptz NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

COMMENT ON TABLE order_events IS 'One row per order state change, partitioned by month; partitions older than 24 months are detached and archived.';

CREATE TABLE daily_sales (
    sales_date   date NOT NULL,
    channel      varchar(20) NOT NULL,
    orders_count integer NOT NULL DEFAULT 0 CHECK (orders_count >= 0),
    revenue      numeric(14,2) NOT NULL DEFAULT 0 CHECK (revenue >= 0),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT daily_sales_pkey PRIMARY KEY (sales_date, channel)
);
