-- One shop's events of a period, one row per message_id (a retried delivery archives a row twice).
-- The copies of a message share its type and event, so they are in the partition: a query's filter on
-- them is applied before the dedup (DuckDB and Trino push filters on partition keys below a window).
SELECT
  d.shop_id, d.dt, d.message_id, d.type, d.event, d.customer_id, d.user_id, d.anonymous_id, d.ts,
  d.received_at, d.source, d.product_id, d.category, d.order_id, d.revenue, d.currency,
  d.ref_message_id, d.products, d.properties, d.traits
FROM (
  SELECT
    p.*, ROW_NUMBER() OVER (PARTITION BY p.message_id, p.type, p.event ORDER BY p.received_at) AS copy
  FROM period_events AS p
) AS d
WHERE d.copy = 1
