-- One shop's events of a period, one row per message_id (a retried delivery archives a row twice).
SELECT
  d.shop_id, d.dt, d.message_id, d.type, d.event, d.customer_id, d.user_id, d.anonymous_id, d.ts,
  d.received_at, d.source, d.product_id, d.category, d.order_id, d.revenue, d.currency,
  d.ref_message_id, d.products, d.properties, d.traits
FROM (
  SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.message_id ORDER BY a.received_at) AS copy
  FROM archive_events AS a
  WHERE a.shop_id = :shop_id AND a.dt BETWEEN :since_day AND :until_day AND a.ts BETWEEN :since AND :until
) AS d
WHERE d.copy = 1
