-- The target of incremental_load: one row per order, as of its last change in the source.
-- A template: {{ params.target_table }} is the run's target_table param.
CREATE TABLE IF NOT EXISTS {{ params.target_table }} (
    order_id   INTEGER        PRIMARY KEY,
    customer   TEXT           NOT NULL,
    amount     NUMERIC(10, 2) NOT NULL,
    status     TEXT           NOT NULL,
    updated_at TIMESTAMPTZ    NOT NULL,  -- when the order last changed in the source
    loaded_at  TIMESTAMPTZ    NOT NULL   -- when incremental_load last wrote the row
);
