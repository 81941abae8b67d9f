-- Source data for incremental_load: an "orders" table an application keeps up to date,
-- stamping updated_at on every change. Run it once (psql -f), in the database of the
-- example_postgres connection; run it again to start over.
DROP TABLE IF EXISTS example_orders;
CREATE TABLE example_orders (
    order_id   INTEGER        PRIMARY KEY,
    customer   TEXT           NOT NULL,
    amount     NUMERIC(10, 2) NOT NULL,
    status     TEXT           NOT NULL,
    updated_at TIMESTAMPTZ    NOT NULL
);
INSERT INTO example_orders (order_id, customer, amount, status, updated_at) VALUES
    (1, 'ann',   25.00, 'paid',    '2024-01-30 09:00:00+00'),
    (2, 'bob',   12.50, 'new',     '2024-01-30 10:30:00+00'),
    (3, 'chloe', 99.90, 'shipped', '2024-01-30 11:15:00+00'),
    (4, 'dev',    5.25, 'new',     '2024-01-31 08:45:00+00'),
    (5, 'ann',   42.00, 'paid',    '2024-01-31 09:10:00+00');
